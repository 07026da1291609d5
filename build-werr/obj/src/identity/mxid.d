build-werr/obj/src/identity/mxid.o: src/identity/mxid.c \
 src/identity/mxid.h src/backend/backend.h src/core/util.h
src/identity/mxid.h:
src/backend/backend.h:
src/core/util.h:
