/*
 * Shared by the fuzz targets (fuzz/fuzz_<name>.c). Each target defines
 * LLVMFuzzerTestOneInput and is linked twice: with libFuzzer by `make fuzz`
 * (clang), and with fuzz/replay.c by `make check` (any compiler), which
 * feeds it every file of its seed corpus fuzz/corpus/<name>/.
 *
 * A target fails by aborting: FUZZ_CHECK states an invariant and, unlike
 * assert(), is never compiled out.
 */
#ifndef SIGNPOST_FUZZ_FUZZ_H
#define SIGNPOST_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

/* Once per process: the wiping JSON allocator the daemon uses, and only
 * errors in the log, so that expected warnings do not flood the run. */
static inline void
fuzz_setup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	json_setup();
	log_init(LOG_LEVEL_ERROR, false);
}

/* A NUL-terminated copy of data[0..size) (caller frees); a NUL byte inside
 * the data ends the string early, as it would in C. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	return xstrndup((const char *)data, size);
}

/* Whether s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF): what every string Signpost sends must be. */
static inline bool
fuzz_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = u[i];
		size_t n;
		unsigned lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return false;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (len - i <= n || u[i + 1] < lo || u[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

#endif
