/*
 * The REST backend: the four endpoints (the fourth, list, is optional) an
 * organisation's webapp implements, described in docs/backend-api.md.
 */
#ifndef SIGNPOST_BACKEND_REST_H
#define SIGNPOST_BACKEND_REST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "backend/backend.h"
#include "backend/fetch.h"

struct rest_opts {
	const char *url_auth;   /* NULL: feature off, every login refused */
	const char *url_single; /* NULL: off */
	const char *url_bulk;   /* NULL: off */
	const char *url_list;   /* NULL: off (the default) */
	struct fetch_engine *engine; /* borrowed; outlives the backend */
};

/* Fills *out with a REST backend over opts; the URLs are copied. */
void rest_backend_init(const struct rest_opts *opts, struct backend *out);

struct cfg;

/*
 * The fetch engine options for calls to the webapp, from rest.*: the
 * daemon and check-backend both call the webapp this way, so they cannot
 * drift apart. *headers (from malloc) holds the rest.headers the options
 * point into; free it once the engine has started (the engine copies).
 */
void rest_fetch_opts(const struct cfg *cfg, struct fetch_opts *out,
    struct fetch_header **headers);

/*
 * A parsed auth answer. root holds the JSON the strings point into; free
 * with rest_auth_answer_clear().
 */
struct rest_auth_answer {
	json_t *root;
	bool success;
	struct backend_id id;
	const char *display_name;
	struct backend_threepid *threepids;
	size_t nthreepids;
};

/*
 * Parses a 2xx answer body of the auth endpoint. Returns 0 with *out
 * filled (success true or false), or -1 with *why set to a static reason
 * when the answer does not follow the protocol; nothing to clear then.
 */
int rest_parse_auth_answer(const char *body, size_t len,
    struct rest_auth_answer *out, const char **why);
void rest_auth_answer_clear(struct rest_auth_answer *a);

/*
 * Parses a 2xx answer of the single lookup endpoint. Returns 1 (match,
 * *id set, pointing into *root), 0 (no match) or -1 (malformed, *why set).
 * On 0 and 1 the caller releases *root with json_decref (it may be NULL).
 */
int rest_parse_lookup_answer(const char *body, size_t len, json_t **root,
    struct backend_id *id, const char **why);

/*
 * Parses a 2xx answer of the bulk endpoint and pairs each entry with the
 * query q[0..n) that has the same medium and address (byte for byte; every
 * duplicate query gets the match). Returns 0 with *matches (malloc'd, ids
 * pointing into *root) and *nmatches, or -1 with *why set and nothing to
 * free. Entries that answer no query are dropped.
 */
int rest_parse_bulk_answer(const char *body, size_t len,
    const struct backend_threepid *q, size_t n, json_t **root,
    struct backend_match **matches, size_t *nmatches, const char **why);

/*
 * A parsed page of the list endpoint. root holds the JSON the strings point
 * into; free with rest_list_answer_clear().
 */
struct rest_list_answer {
	json_t *root;
	struct backend_entry *entries;
	size_t nentries;
	const char *next; /* NULL on the last page */
};

/*
 * Parses a 2xx answer of the list endpoint to a request for at most limit
 * entries after the cursor after (NULL for the first page). Every entry
 * needs non-empty medium and address strings and a valid id; more entries
 * than limit, a next that is not a string or null, an empty next, a next
 * over 1024 bytes or one equal to after are malformed too. Returns 0 with
 * *out filled (the page may be empty), or -1 with *why set to a static
 * reason and nothing to clear.
 */
int rest_parse_list_answer(const char *body, size_t len, const char *after,
    size_t limit, struct rest_list_answer *out, const char **why);
void rest_list_answer_clear(struct rest_list_answer *a);

/* Parses an id object {"type":"localpart"|"mxid","value":"…"} (type is
 * case-insensitive). Returns 0 or -1 with *why set. */
int rest_parse_id(const json_t *id, struct backend_id *out, const char **why);

#endif
