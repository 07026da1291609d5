/*
 * Logging to stderr, one line per event, so journald and container runtimes
 * pick it up without configuration.
 *
 * log_warn() and fatal() append strerror(errno); the *x variants do not.
 * Callers never pass passwords, tokens or keys here: nothing in this module
 * can tell a secret from any other string.
 */
#ifndef SIGNPOST_CORE_LOG_H
#define SIGNPOST_CORE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Sets the threshold; messages above it are not even formatted. */
void log_init(enum log_level level, bool json);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);

#define log_enabled(lvl) ((lvl) <= log_get_level())

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
