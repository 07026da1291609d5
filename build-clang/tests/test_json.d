build-clang/tests/test_json: tests/unit/test_json.c src/core/json.h \
  src/core/util.h

src/core/json.h:

src/core/util.h:
