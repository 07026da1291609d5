# Signpost build. `make` builds build/signpost, `make check` runs every
# suite, `make demo` starts the example webapp and Signpost on it.
#
# Knobs: CC=clang, WERROR=1 (CI), SANITIZE=1 (ASan+UBSan, builds in
# build-asan/), BUILD=dir.

CC       ?= cc
PYTHON   ?= /usr/bin/python3
PKGS     := libmicrohttpd libcurl jansson yaml-0.1 libsodium sqlite3 libcares
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
$(DEPS_OK): scripts/install-deps.sh scripts/apt-missing.sh
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

# ---- bench: `make bench` measures $(BUILD)/signpost against nginx (and
# sydent, given SYDENT_DIR=/path/to/checkout) with bench/run and prints a
# markdown table; docs/performance.md says what the rows mean. A few
# minutes; never part of `make check`. Installs nginx, its echo module and
# wrk with apt-get when missing (bench/install-deps.sh).
.PHONY: bench
bench: $(BUILD)/signpost
	SIGNPOST_BIN=$(abspath $(BUILD)/signpost) bash bench/run
# ---- end of bench

# ---- js client suite: tests/integration/test_matrix_js_sdk.py drives
# matrix-js-sdk (pinned in tests/js/package.json, Node.js >= 20) against
# the daemon. Its modules are installed once per package-lock.json change,
# so `make check` runs offline after the first time.
JS_STAMP := tests/js/node_modules/.stamp

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "tests/js needs Node.js" \
	    ">= 20 and npm: see scripts/install-deps.sh" >&2; exit 1; }
	npm ci --prefix tests/js --no-audit --no-fund
	@touch $@

check integration: $(JS_STAMP)
# ---- end of js client suite

# ---- fuzzing: fuzz/fuzz_<name>.c is a libFuzzer target for one parser of
# outside input, fuzz/corpus/<name>/ its seeds, fuzz/<name>.dict its
# dictionary. `make check` (or `make fuzz-replay` alone) replays every
# corpus through each target linked with fuzz/replay.c by $(CC) (ASan and
# UBSan with SANITIZE=1).
# `make fuzz FUZZ_TIME=600 FUZZ_TARGETS="config canonical"` builds the
# targets with clang's libFuzzer, ASan and UBSan in build-fuzz/ and runs
# each for FUZZ_TIME seconds (FUZZ_ARGS: more libFuzzer flags): new inputs
# go to build-fuzz/corpus-new/<name>, crashes to build-fuzz/crashes/<name>,
# logs to build-fuzz/logs/. `fuzz/keep.py build-fuzz <name>` then copies
# the finds that reach new code into fuzz/corpus/<name>.
FUZZ_SRC      := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_NAMES    := $(FUZZ_SRC:fuzz/fuzz_%.c=%)
FUZZ_REPLAY   := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay/%)
FUZZ_TIME     ?= 60
FUZZ_TARGETS  ?= $(FUZZ_NAMES)
FUZZ_ARGS     ?=
FUZZ_SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined \
                 -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: fuzz fuzz-build fuzz-replay

$(BUILD)/fuzz/obj/%.o: fuzz/%.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Ifuzz -c -o $@ $<

$(BUILD)/fuzz/replay/%: $(BUILD)/fuzz/obj/fuzz_%.o \
    $(BUILD)/fuzz/obj/replay.o $(BUILD)/libsignpost.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Only in the recursive make below, where CC is clang.
$(BUILD)/fuzz/bin/%: $(BUILD)/fuzz/obj/fuzz_%.o $(BUILD)/libsignpost.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-replay: $(FUZZ_REPLAY)
	@sh fuzz/replay.sh $(BUILD)/fuzz/replay $(FUZZ_NAMES)

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/bin/%)

fuzz:
	@sh fuzz/check-clang.sh
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang SANITIZE= \
	    SANFLAGS="$(FUZZ_SANFLAGS)" FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz-build
	@sh fuzz/run.sh build-fuzz "$(FUZZ_TIME)" "$(FUZZ_ARGS)" $(FUZZ_TARGETS)

# Kept between the two links that use them.
.SECONDARY: $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/obj/%.o) \
    $(BUILD)/fuzz/obj/replay.o

check: $(FUZZ_REPLAY)
-include $(wildcard $(BUILD)/fuzz/obj/*.d)
# ---- end of fuzzing

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

integration: $(BUILD)/signpost $(TOOL_BIN)
	SIGNPOST_BIN=$(abspath $(BUILD)/signpost) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration examples/backend/test_webapp.py

check: $(BUILD)/signpost $(UNIT_BIN) $(TOOL_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)
	@sh fuzz/replay.sh $(BUILD)/fuzz/replay $(FUZZ_NAMES)
	SIGNPOST_BIN=$(abspath $(BUILD)/signpost) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/integration examples/backend/test_webapp.py

demo: $(BUILD)/signpost
	@sh examples/demo.sh $(abspath $(BUILD)/signpost)

clean:
	rm -rf build build-asan

# ---- install: `make install` copies the daemon, its man pages, the
# systemd unit, the sysusers.d entry, an example config and the docs under
# PREFIX (default /usr/local; PREFIX=/usr for a distribution layout), into
# DESTDIR when staging a package. It never writes
# $(SYSCONFDIR)/signpost/signpost.yaml itself, only signpost.yaml.example
# beside it. `make uninstall` removes what install wrote (not the config,
# /var/lib/signpost or the signpost user). `make man` generates
# $(BUILD)/man/signpost.8 and signpost.yaml.5 from man/*.md and
# docs/configuration.md with scripts/md2man.py (python3 only).
#
# The daemon goes to sbin: it is a system service run by systemd or an
# administrator, documented in section 8, like Debian's other daemons.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/signpost
SYSCONFDIR  ?= /etc
# systemd reads /usr/lib/systemd/system (the same folder as Debian's
# /lib/systemd/system on a merged /usr) and /usr/local/lib/systemd/system.
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL     ?= install

MAN_PAGES   := $(BUILD)/man/signpost.8 $(BUILD)/man/signpost.yaml.5
MAN_DEFS    := -D VERSION=$(VERSION) -D SYSCONFDIR=$(SYSCONFDIR) \
               -D DOCDIR=$(DOCDIR) -D UNITDIR=$(UNITDIR)
DOC_FILES   := README.md $(sort $(wildcard docs/*.md))
DOC_EXAMPLES := examples/backend/README.md examples/backend/webapp.py \
                examples/backend/hash_password.py examples/backend/users.json

.PHONY: man install uninstall

man: $(MAN_PAGES)

FORCE:

# The paths written into the pages; rewritten (forcing new pages) only
# when PREFIX and friends change.
$(BUILD)/man/.defs: FORCE
	@mkdir -p $(dir $@)
	@echo '$(MAN_DEFS)' | cmp -s - $@ 2>/dev/null || echo '$(MAN_DEFS)' > $@

$(BUILD)/man/signpost.yaml.5: docs/configuration.md

$(BUILD)/man/%: man/%.md scripts/md2man.py $(BUILD)/man/.defs
	@$(PYTHON) -c '' 2>/dev/null || { echo "make man needs python3:" \
	    "apt-get install python3 (or make PYTHON=/path/to/python3)" >&2; \
	    exit 1; }
	$(PYTHON) scripts/md2man.py $(MAN_DEFS) -o $@ $<

# The unit's paths follow SBINDIR and SYSCONFDIR, so it is written anew
# on every install.
install: $(BUILD)/signpost $(MAN_PAGES)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)/examples/backend
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/signpost
	$(INSTALL) -m 0755 $(BUILD)/signpost $(DESTDIR)$(SBINDIR)/signpost
	$(INSTALL) -m 0644 $(BUILD)/man/signpost.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 $(BUILD)/man/signpost.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    dist/signpost.service.in > $(BUILD)/signpost.service
	$(INSTALL) -m 0644 $(BUILD)/signpost.service $(DESTDIR)$(UNITDIR)/
	$(INSTALL) -m 0644 dist/signpost.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/signpost.conf
	$(INSTALL) -m 0640 dist/signpost.yaml \
	    $(DESTDIR)$(SYSCONFDIR)/signpost/signpost.yaml.example
	$(INSTALL) -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 $(DOC_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/backend/
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
	    echo "systemd-sysusers $(SYSUSERSDIR)/signpost.conf"; \
	    systemd-sysusers $(SYSUSERSDIR)/signpost.conf; fi
	@echo "installed; next: create $(SYSCONFDIR)/signpost/signpost.yaml" \
	    "from signpost.yaml.example, then systemctl daemon-reload &&" \
	    "systemctl enable --now signpost (see deploying.md)"

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/signpost \
	    $(DESTDIR)$(MANDIR)/man8/signpost.8 \
	    $(DESTDIR)$(MANDIR)/man5/signpost.yaml.5 \
	    $(DESTDIR)$(UNITDIR)/signpost.service \
	    $(DESTDIR)$(SYSUSERSDIR)/signpost.conf \
	    $(DESTDIR)$(SYSCONFDIR)/signpost/signpost.yaml.example \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES))) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/examples/backend/,\
	        $(notdir $(DOC_EXAMPLES)))
	@for d in $(DOCDIR)/examples/backend $(DOCDIR)/examples $(DOCDIR) \
	    $(SYSCONFDIR)/signpost; do \
	    rmdir $(DESTDIR)$$d 2>/dev/null || true; done
# ---- end of install

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/src/main.d
