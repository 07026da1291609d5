build-clang/tests/test_rest: tests/unit/test_rest.c src/backend/rest.h \
  src/backend/backend.h src/backend/fetch.h src/core/json.h \
  src/core/util.h

src/backend/rest.h:

src/backend/backend.h:

src/backend/fetch.h:

src/core/json.h:

src/core/util.h:
