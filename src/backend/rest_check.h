/*
 * The engine of `signpost check-backend`: calls each configured webapp
 * endpoint the way the REST backend does, sorts every answer with the
 * backend's own status rules and parsers (rest_answer_usable and the
 * rest_parse_* functions), so that a check can never disagree with the
 * daemon, and then reads the raw answer again to say what is wrong and how
 * to fix it. The result is a report: one item per call, each PASS, WARN,
 * FAIL or SKIP with lines of explanation.
 */
#ifndef SIGNPOST_BACKEND_REST_CHECK_H
#define SIGNPOST_BACKEND_REST_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "backend/backend.h"
#include "backend/fetch.h"

/* PASS < WARN < FAIL: lines only ever raise an item's status; SKIP is set
 * outright for a check that was not made. */
enum rest_check_status {
	REST_CHECK_PASS = 0,
	REST_CHECK_WARN,
	REST_CHECK_FAIL,
	REST_CHECK_SKIP,
};

enum rest_check_kind {
	REST_CHECK_NOTE,    /* what happened */
	REST_CHECK_WARNING, /* works, but is a mistake waiting to happen */
	REST_CHECK_PROBLEM, /* does not work */
	REST_CHECK_FIX,     /* what to change */
};

struct rest_check_line {
	enum rest_check_kind kind;
	char *text;
};

/* Lines kept per item; a webapp that is wrong in more ways than this
 * gets the first ones, which is where the fixing starts anyway. */
#define REST_CHECK_MAX_LINES 24

struct rest_check_item {
	/* Static: "rest", "auth", "single", "bulk" or "list". */
	const char *endpoint;
	char *title;          /* what was tried */
	char *url;            /* NULL when nothing was called */
	enum rest_check_status status;
	long http_status;     /* 0: no HTTP answer */
	long elapsed_ms;      /* -1: no call */
	struct rest_check_line lines[REST_CHECK_MAX_LINES];
	size_t nlines;
	bool truncated;       /* lines were dropped */
	/* A secret (the probe's password) to blank out of every line added
	 * from now on, whatever the webapp echoed; NULL: none. Borrowed. */
	const char *redact;
};

/* Items per report: rest_check_run makes at most 10, so with room. */
#define REST_CHECK_MAX_ITEMS 16

struct rest_check_report {
	struct rest_check_item items[REST_CHECK_MAX_ITEMS];
	size_t nitems;
	size_t count[REST_CHECK_SKIP + 1]; /* items per status */
};

struct rest_check_opts {
	bool rest_enabled;
	/* Resolved endpoint URLs as in struct cfg; NULL: switched off. */
	const char *url_auth;
	const char *url_single;
	const char *url_bulk;
	const char *url_list;
	const char *rest_host; /* for hints; NULL when unset */
	const char *domain;    /* matrix.domain: localpart ids live there */
	/* Borrowed: the engine every call goes through, and the options it
	 * was started with (timeouts, TLS and headers for hints and for the
	 * header probe; header values are sent, never shown). */
	struct fetch_engine *engine;
	const struct fetch_opts *fetch;
	/* The probe, all optional. With user_localpart and password, a real
	 * login is tried; password is never copied into the report. */
	const char *user_localpart;
	const char *user_domain; /* NULL: domain */
	const char *password;
	const char *email;
	const char *msisdn;
};

/*
 * Runs every check opts allows, one call at a time, and fills *out (which
 * the caller clears with rest_check_report_clear). Blocks until the last
 * call has ended; each is bounded by the engine's timeouts.
 */
void rest_check_run(const struct rest_check_opts *opts,
    struct rest_check_report *out);
void rest_check_report_clear(struct rest_check_report *r);

/* "PASS", "WARN", "FAIL", "SKIP". */
const char *rest_check_status_name(enum rest_check_status s);
/* "note", "warning", "problem", "fix". */
const char *rest_check_kind_name(enum rest_check_kind k);

/*
 * Report building. rest_check_add returns the new item (PASS, no call);
 * more than REST_CHECK_MAX_ITEMS is a bug and fatal. A WARNING line
 * raises the item to at least WARN, a PROBLEM to FAIL (a SKIP stays).
 */
struct rest_check_item *rest_check_add(struct rest_check_report *r,
    const char *endpoint, const char *title_fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rest_check_line(struct rest_check_item *it, enum rest_check_kind kind,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void rest_check_vline(struct rest_check_item *it, enum rest_check_kind kind,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* Sets the status outright (SKIP, or back to PASS); for the caller's own
 * items. */
void rest_check_set_status(struct rest_check_item *it,
    enum rest_check_status s);
/* Recounts r->count; rest_check_run does it before returning. */
void rest_check_tally(struct rest_check_report *r);

/*
 * One answer as the judges below read it: the engine's result, plus what
 * a second, header-only look at the same endpoint found (NULL: unknown).
 */
struct rest_check_answer {
	struct fetch_result fr;
	const char *content_type;
	const char *location; /* where a 3xx points */
};

/* What a lookup check wants for one address. */
enum rest_check_want {
	REST_CHECK_WANT_NONE,  /* a made-up address: a match is a FAIL */
	REST_CHECK_WANT_MATCH, /* the probe's own address: no match is a FAIL */
	REST_CHECK_WANT_SOFT,  /* a case-changed email: no match is a WARN */
};

/*
 * The judges: each reads one answer to a call described by its arguments
 * and adds its verdict and explanation to it (whose url, http_status and
 * elapsed_ms the caller has set). Exported for the unit tests, which feed
 * them answers without a network.
 *
 * mxid: the user the login was for; real: the probe's own password
 * (refusal is a FAIL) rather than a made-up one (acceptance is a FAIL).
 * secret: a string never to be shown (the password), or NULL.
 */
void rest_check_judge_auth(const struct rest_check_opts *o,
    const struct rest_check_answer *a, const char *mxid, bool real,
    const char *secret, struct rest_check_item *it);
void rest_check_judge_single(const struct rest_check_opts *o,
    const struct rest_check_answer *a, const struct backend_threepid *q,
    enum rest_check_want want, struct rest_check_item *it);
void rest_check_judge_bulk(const struct rest_check_opts *o,
    const struct rest_check_answer *a, const struct backend_threepid *q,
    const enum rest_check_want *want, size_t n, struct rest_check_item *it);
/* *next: the page's cursor (malloc'd) when it has one, else NULL. */
void rest_check_judge_list(const struct rest_check_opts *o,
    const struct rest_check_answer *a, const char *after, size_t limit,
    struct rest_check_item *it, char **next);

#endif
