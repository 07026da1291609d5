#!/bin/sh
# Tells `make fuzz` whether clang can build a libFuzzer target here, and
# what to install when it cannot (Debian 12: clang 14 and its runtime
# libraries, libclang-rt-14-dev).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/t.c" <<'C'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
C
if ! command -v clang >/dev/null 2>&1; then
	echo "make fuzz needs clang with libFuzzer; on Debian 12:" >&2
	echo "    apt-get install -y clang libclang-rt-14-dev" >&2
	exit 1
fi
if ! clang -fsanitize=fuzzer,address,undefined -o "$tmp/t" "$tmp/t.c" \
    >"$tmp/log" 2>&1; then
	cat "$tmp/log" >&2
	echo "clang cannot link a libFuzzer target (-fsanitize=fuzzer); on" \
	    "Debian 12:" >&2
	echo "    apt-get install -y libclang-rt-14-dev" >&2
	exit 1
fi
