build-clang/obj/src/api/api.o: src/api/api.c src/api/api.h \
  src/core/cidr.h src/http/server.h src/identity/identity.h \
  src/backend/backend.h src/api/internal.h src/core/json.h \
  src/core/log.h src/core/util.h

src/api/api.h:

src/core/cidr.h:

src/http/server.h:

src/identity/identity.h:

src/backend/backend.h:

src/api/internal.h:

src/core/json.h:

src/core/log.h:

src/core/util.h:
