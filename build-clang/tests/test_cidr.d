build-clang/tests/test_cidr: tests/unit/test_cidr.c src/core/cidr.h \
  src/core/util.h

src/core/cidr.h:

src/core/util.h:
