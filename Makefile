# Signpost build. `make` builds build/signpost, `make check` runs every
# suite, `make demo` starts the example webapp and Signpost on it.
#
# Knobs: CC=clang, WERROR=1 (CI), SANITIZE=1 (ASan+UBSan, builds in
# build-asan/), BUILD=dir.

CC       ?= cc
PYTHON   ?= /usr/bin/python3
PKGS     := libmicrohttpd libcurl jansson yaml-0.1 libsodium sqlite3
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(SANITIZE),1)
BUILD    ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
else
BUILD    ?= build
SANFLAGS :=
endif

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN     += -Werror
endif

OPT      ?= -O2 -g
CPPFLAGS += -Isrc -D_GNU_SOURCE -DSIGNPOST_VERSION='"$(VERSION)"'
CFLAGS   += -std=c11 $(OPT) $(WARN) $(SANFLAGS) -MMD -MP \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
LDFLAGS  += $(SANFLAGS)

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -name main.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all check unit integration demo clean deps

all: $(BUILD)/signpost

# Installs missing Debian packages once per build directory; the script is
# idempotent and does nothing when everything is present.
$(DEPS_OK): scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@sh scripts/install-deps.sh
	@touch $@

deps: $(DEPS_OK)

$(BUILD)/obj/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libsignpost.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/signpost: $(BUILD)/obj/src/main.o $(BUILD)/libsignpost.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsignpost.a | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libsignpost.a \
	    $(LDFLAGS) $(LDLIBS) -lcmocka

# ---- test tools: tests/tools/<name>.c -> $(BUILD)/tools/<name>, linked with
# the library; the integration tests drive them (e.g. tools/canon compares
# canonical JSON and signatures with Python's canonicaljson and signedjson).
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: tools
tools: $(TOOL_BIN)

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libsignpost.a | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsignpost.a \
	    $(LDFLAGS) $(LDLIBS)
# ---- end of test tools

# ---- benchmarks: bench/<name>.c -> $(BUILD)/bench/<name>, linked with the
# library; run by hand, never by `make check` (e.g. `make
# build/bench/hashindex_mem && build/bench/hashindex_mem` measures the
# memory and build time of a 1,000,000-entry hash index).
$(BUILD)/bench/%: bench/%.c $(BUILD)/libsignpost.a | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libsignpost.a \
	    $(LDFLAGS) $(LDLIBS)
# ---- end of benchmarks

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

integration: $(BUILD)/signpost $(TOOL_BIN)
	SIGNPOST_BIN=$(abspath $(BUILD)/signpost) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration examples/backend/test_webapp.py

check: $(BUILD)/signpost $(UNIT_BIN) $(TOOL_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)
	SIGNPOST_BIN=$(abspath $(BUILD)/signpost) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration examples/backend/test_webapp.py

demo: $(BUILD)/signpost
	@sh examples/demo.sh $(abspath $(BUILD)/signpost)

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/src/main.d
