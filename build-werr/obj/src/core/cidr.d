build-werr/obj/src/core/cidr.o: src/core/cidr.c src/core/cidr.h \
 src/core/util.h
src/core/cidr.h:
src/core/util.h:
