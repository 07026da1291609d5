#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level threshold = LOG_LEVEL_INFO;
static bool json_format;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(enum log_level level, bool json)
{
	threshold = level;
	json_format = json;
}

enum log_level
log_get_level(void)
{
	return threshold;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		/* mxisd's files wrote Java's upper-case levels. */
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Writes msg as a JSON string body; control characters are escaped so one
 * event stays one line whatever a caller put in it. */
static void
put_json_string(FILE *f, const char *msg)
{
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
}

static void
vlog(enum log_level level, const char *fmt, va_list ap, const char *suffix)
{
	char msg[2048];
	char stamp[32];
	struct timespec ts;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	/* One fprintf-equivalent under the stdio lock keeps lines from
	 * several threads whole. */
	flockfile(stderr);
	if (json_format) {
		fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"",
		    stamp, ts.tv_nsec / 1000000, level_names[level]);
		put_json_string(stderr, msg);
		if (suffix) {
			fputs(": ", stderr);
			put_json_string(stderr, suffix);
		}
		fputs("\"}\n", stderr);
	} else {
		fprintf(stderr, "%s.%03ldZ %s: %s%s%s\n", stamp,
		    ts.tv_nsec / 1000000, level_names[level], msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	}
	funlockfile(stderr);
}

#define LOG_BODY(level, suffix)                      \
	do {                                         \
		va_list ap;                          \
		if (!log_enabled(level))             \
			return;                      \
		va_start(ap, fmt);                   \
		vlog(level, fmt, ap, suffix);        \
		va_end(ap);                          \
	} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);

	LOG_BODY(LOG_LEVEL_WARN, err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
