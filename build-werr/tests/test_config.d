build-werr/tests/test_config: tests/unit/test_config.c \
 src/config/config.h src/core/cidr.h src/core/log.h src/core/util.h
src/config/config.h:
src/core/cidr.h:
src/core/log.h:
src/core/util.h:
