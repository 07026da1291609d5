build-clang/obj/src/core/util.o: src/core/util.c src/core/util.h \
  src/core/log.h

src/core/util.h:

src/core/log.h:
