build-werr/obj/src/backend/fetch.o: src/backend/fetch.c \
 src/backend/fetch.h src/core/log.h src/core/util.h
src/backend/fetch.h:
src/core/log.h:
src/core/util.h:
