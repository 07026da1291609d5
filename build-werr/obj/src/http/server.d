build-werr/obj/src/http/server.o: src/http/server.c src/http/server.h \
 src/core/log.h src/core/util.h
src/http/server.h:
src/core/log.h:
src/core/util.h:
