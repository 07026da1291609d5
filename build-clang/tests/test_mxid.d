build-clang/tests/test_mxid: tests/unit/test_mxid.c src/core/mxid.h \
  src/backend/backend.h src/core/util.h

src/core/mxid.h:

src/backend/backend.h:

src/core/util.h:
