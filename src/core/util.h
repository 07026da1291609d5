/*
 * Small helpers every module uses: allocation that cannot fail (out of
 * memory is fatal, so callers never carry that error path), string
 * building, bounded number parsing and wiping secrets.
 */
#ifndef SIGNPOST_CORE_UTIL_H
#define SIGNPOST_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; never NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Formats a message into a caller's error buffer (err, errlen), for
 * functions that report failure that way. NULL or 0 length: nothing.
 */
void errbuf_printf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Overwrites n bytes in a way the compiler may not elide. NULL is fine. */
void secure_wipe(void *p, size_t n);
/* Wipes a NUL-terminated secret, frees it; NULL is fine. */
void secret_free(char *s);

/*
 * Parses a whole decimal integer in [min, max]. Leading/trailing spaces,
 * signs on unsigned ranges, trailing garbage and overflow are errors.
 * Returns 0 and sets *out, or -1 and leaves *out untouched.
 */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Milliseconds from a monotonic clock, for timeouts and durations. */
uint64_t now_monotonic_ms(void);
/* Milliseconds since the Unix epoch. */
uint64_t now_realtime_ms(void);

#endif
