build-clang/obj/src/config/config.o: src/config/config.c \
  src/config/config.h src/core/cidr.h src/core/log.h src/core/util.h

src/config/config.h:

src/core/cidr.h:

src/core/log.h:

src/core/util.h:
