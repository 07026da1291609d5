build-werr/obj/src/identity/auth.o: src/identity/auth.c src/core/log.h \
 src/core/util.h src/identity/identity.h src/backend/backend.h \
 src/identity/mxid.h
src/core/log.h:
src/core/util.h:
src/identity/identity.h:
src/backend/backend.h:
src/identity/mxid.h:
