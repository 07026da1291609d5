/*
 * Shared by check-backend's judges (rest_check_judge.c) and the
 * explanations they build on (rest_check_explain.c); not for other
 * modules.
 */
#ifndef SIGNPOST_BACKEND_REST_CHECK_INTERNAL_H
#define SIGNPOST_BACKEND_REST_CHECK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "backend/backend.h"
#include "backend/rest_check.h"

/* Bytes of a webapp's string or body shown in one message: enough to
 * recognise it, short enough to keep a line readable. */
#define QUOTE_MAX 64
/* Room for QUOTE_MAX bytes escaped (at most 4 characters each), the
 * quotes and the ellipsis. */
#define QBUF (QUOTE_MAX * 4 + 8)

/* What differs between the endpoints in the explanations. */
struct rest_check_endpoint {
	const char *name;
	const char *key;      /* the config key of its URL */
	const char *negative; /* the documented "no" answer */
};

/* One judgement in progress. */
struct rest_check_ctx {
	const struct rest_check_opts *o;
	const struct rest_check_answer *a;
	const struct rest_check_endpoint *ep;
	struct rest_check_item *it;
	const char *secret; /* never shown, even when the webapp echoes it */
	/* The daemon's parser accepted the answer: a walk over it may only
	 * warn, since a problem it found would contradict the daemon. */
	bool lint;
	bool explained; /* a problem was named */
	const struct backend_threepid *q; /* a bulk call's questions */
	size_t nq;
};

/* Starts a judgement of answer a to the call described by item it. */
void rest_check_judge_start(struct rest_check_ctx *j,
    const struct rest_check_opts *o, const struct rest_check_answer *a,
    struct rest_check_item *it);

/* Adds a line; in lint mode PROBLEM and FIX lines are dropped. */
void rest_check_say(struct rest_check_ctx *j, enum rest_check_kind kind,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define problem(j, ...) rest_check_say((j), REST_CHECK_PROBLEM, __VA_ARGS__)
#define fix(j, ...) rest_check_say((j), REST_CHECK_FIX, __VA_ARGS__)
#define warning(j, ...) rest_check_say((j), REST_CHECK_WARNING, __VA_ARGS__)
#define note(j, ...) rest_check_say((j), REST_CHECK_NOTE, __VA_ARGS__)

/* s quoted and escaped for a message, cut after QUOTE_MAX bytes. */
const char *rest_check_quote(char buf[QBUF], const char *s);
/* A JSON value for a message: a string quoted, anything else compact. */
const char *rest_check_show(char buf[QBUF], const json_t *v);
/* "an object", "a string", ...: what a value is, for "X is a string". */
const char *rest_check_type_name(const json_t *v);
/* The first keys of an object, quoted, for "no X (keys: ...)". */
const char *rest_check_key_list(char buf[QBUF], const json_t *obj);
bool rest_check_has_upper(const char *s);

/* The start of the body, as a note; never the secret. */
void rest_check_note_body(struct rest_check_ctx *j);
/* Fixes that point at rest.headers, or at rest.host and the endpoint. */
void rest_check_headers_hint(struct rest_check_ctx *j);
void rest_check_path_hint(struct rest_check_ctx *j);

/*
 * The daemon's sorting of the outcome (rest_answer_usable). Returns 1
 * when a 2xx body is there to parse, 0 for a status the endpoint reads as
 * "no" (404, or any 4xx with any_4xx_is_no), -1 for a failure, which is
 * explained here.
 */
int rest_check_sort_outcome(struct rest_check_ctx *j, bool any_4xx_is_no);

typedef void (*rest_check_walk_fn)(struct rest_check_ctx *j,
    const json_t *root, const void *arg);

/*
 * A body the daemon's parser refused with why: walk(j, root, arg) names
 * the fault in the webapp author's terms; if it cannot, why stands.
 */
void rest_check_explain_malformed(struct rest_check_ctx *j, const char *why,
    rest_check_walk_fn walk, const void *arg);

/* Explains an id object the parser refused; warns about one it took. */
void rest_check_explain_id(struct rest_check_ctx *j, const json_t *id,
    const char *where);

/*
 * The user id a parsed id maps to on matrix.domain, as the identity layer
 * maps it (malloc'd), or NULL after adding a problem: the daemon would
 * fail the call there.
 */
char *rest_check_mapped_id(struct rest_check_ctx *j,
    const struct backend_id *id, const char *where);

/* Checks every answer gets whatever its verdict: time, Content-Type. */
void rest_check_common(struct rest_check_ctx *j);

#endif
