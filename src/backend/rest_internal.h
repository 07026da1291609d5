/* Shared by the REST backend's files; not for other modules. */
#ifndef SIGNPOST_BACKEND_REST_INTERNAL_H
#define SIGNPOST_BACKEND_REST_INTERNAL_H

#include <stdbool.h>

#include <jansson.h>

#include "backend/backend.h"
#include "backend/fetch.h"

struct rest {
	char *url_auth;
	char *url_single;
	char *url_bulk;
	char *url_list;
	struct fetch_engine *engine;
};

/*
 * Sorts a finished call: returns true when a 2xx answer is there to parse.
 * Otherwise *reason is NULL when the status means "no" (404, or any 4xx
 * when any_4xx_is_no), or a reason (logged here with the endpoint, *fault
 * set) when the call failed. The reason is valid until the next call on
 * this thread.
 */
bool rest_answer_usable(const struct fetch_result *fr, const char *url,
    bool any_4xx_is_no, enum backend_fault *fault, const char **reason);

/* Logs a malformed 2xx answer and sets *fault and *reason likewise. */
/*
 * Counts a finished webapp call in the metrics under endpoint ("auth",
 * "single", "bulk", "list"): "ok" when it gave a usable verdict, else
 * "timeout", "unreachable", "http_error" or "malformed".
 */
void rest_count_call(const char *endpoint, const struct fetch_result *fr,
    bool failed);

void rest_malformed(const struct fetch_result *fr, const char *url,
    const char *why, enum backend_fault *fault, const char **reason);

/*
 * The request bodies of the protocol (docs/backend-api.md), for the
 * backend and for check-backend, which must send exactly the same. NULL
 * when a string is not UTF-8 (rest_post refuses NULL).
 */
json_t *rest_auth_request(const char *mxid, const char *localpart,
    const char *domain, const char *password);
json_t *rest_single_request(const struct backend_threepid *q);
/* after: the cursor of the page wanted; NULL for the first. */
json_t *rest_list_request(const char *after, long limit);

/*
 * POSTs body (stolen; NULL, as json_pack gives for non-UTF-8 input, is a
 * failure) to url as compact JSON; cb gets call when it ends. Returns 0, or
 * -1 without calling cb (the caller still owns call). secret: the body
 * holds a password and is wiped after the call.
 */
int rest_post(struct rest *rest, const char *url, json_t *body, bool secret,
    fetch_cb cb, void *call);

int rest_lookup(void *self, const struct backend_threepid *q,
    backend_lookup_cb cb, void *arg);
int rest_bulk_lookup(void *self, const struct backend_threepid *q, size_t n,
    backend_bulk_cb cb, void *arg);
int rest_list(void *self, const char *after, size_t limit, backend_page_cb cb,
    void *arg);

#endif
