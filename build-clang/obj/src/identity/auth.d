build-clang/obj/src/identity/auth.o: src/identity/auth.c src/core/log.h \
  src/core/util.h src/identity/identity.h src/backend/backend.h \
  src/core/mxid.h

src/core/log.h:

src/core/util.h:

src/identity/identity.h:

src/backend/backend.h:

src/core/mxid.h:
