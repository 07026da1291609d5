build-clang/obj/src/core/mxid.o: src/core/mxid.c src/core/mxid.h \
  src/backend/backend.h src/core/util.h

src/core/mxid.h:

src/backend/backend.h:

src/core/util.h:
