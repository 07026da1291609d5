build-clang/tests/test_util: tests/unit/test_util.c src/core/util.h

src/core/util.h:
