build-werr/obj/src/backend/rest.o: src/backend/rest.c src/backend/rest.h \
 src/backend/backend.h src/backend/fetch.h src/core/json.h src/core/log.h \
 src/core/util.h
src/backend/rest.h:
src/backend/backend.h:
src/backend/fetch.h:
src/core/json.h:
src/core/log.h:
src/core/util.h:
