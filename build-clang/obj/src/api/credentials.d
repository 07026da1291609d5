build-clang/obj/src/api/credentials.o: src/api/credentials.c \
  src/api/internal.h src/api/api.h src/core/cidr.h src/http/server.h \
  src/identity/identity.h src/backend/backend.h src/core/json.h \
  src/core/log.h src/core/mxid.h

src/api/internal.h:

src/api/api.h:

src/core/cidr.h:

src/http/server.h:

src/identity/identity.h:

src/backend/backend.h:

src/core/json.h:

src/core/log.h:

src/core/mxid.h:
