/*
 * The REST backend's list endpoint: every 3PID binding the webapp has,
 * page by page, so that Signpost can answer hashed (v2 sha256) lookups a
 * webapp cannot answer itself. The answers are parsed strictly: a page the
 * webapp got wrong fails the whole listing, because a listing that quietly
 * lost entries would make Signpost forget users.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/rest.h"
#include "backend/rest_internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"

/*
 * Bounds the entries asked for in one call, so the array a page is read
 * into stays bounded whatever the caller passes. Pages are meant to be
 * about a thousand entries; a hundred times that is a caller's mistake.
 */
#define REST_LIST_MAX_LIMIT 100000

/*
 * Bounds the cursor the webapp hands back, which Signpost keeps and sends
 * back verbatim with the next call. An offset, a key or a signed token all
 * fit; anything longer is not a cursor.
 */
#define REST_LIST_MAX_CURSOR 1024

struct list_call {
	struct rest *rest;
	char *after; /* the cursor sent, NULL for the first page */
	size_t limit;
	backend_page_cb cb;
	void *arg;
};

static int
parse_list_entry(const json_t *item, struct backend_entry *e,
    const char **why)
{
	if (!json_is_object(item)) {
		*why = "a list entry is not an object";
		return -1;
	}
	e->tp.medium = json_string_value(json_object_get(item, "medium"));
	e->tp.address = json_string_value(json_object_get(item, "address"));
	if (e->tp.medium == NULL || e->tp.address == NULL) {
		*why = "a list entry lacks medium or address strings";
		return -1;
	}
	/* An empty medium or address cannot be what any client hashes. */
	if (e->tp.medium[0] == '\0' || e->tp.address[0] == '\0') {
		*why = "a list entry has an empty medium or address";
		return -1;
	}
	return rest_parse_id(json_object_get(item, "id"), &e->id, why);
}

static int
parse_next(const json_t *next, const char *after, const char **out,
    const char **why)
{
	const char *s;
	size_t len;

	*out = NULL;
	if (next == NULL || json_is_null(next))
		return 0;
	if (!json_is_string(next)) {
		*why = "next is neither a string nor null";
		return -1;
	}
	s = json_string_value(next);
	len = json_string_length(next);
	/* "" could mean "the end" or "the start" to different webapps;
	 * either reading could lose entries or loop, so neither is taken. */
	if (len == 0) {
		*why = "next is an empty string (leave it out at the end)";
		return -1;
	}
	if (len > REST_LIST_MAX_CURSOR) {
		*why = "next is longer than 1024 bytes";
		return -1;
	}
	/* Handing back the cursor it was given would page forever. */
	if (after != NULL && strcmp(s, after) == 0) {
		*why = "next repeats the cursor of the request";
		return -1;
	}
	*out = s;
	return 0;
}

int
rest_parse_list_answer(const char *body, size_t len, const char *after,
    size_t limit, struct rest_list_answer *out, const char **why)
{
	const json_t *list, *item;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->root = json_parse(body, len, why);
	if (out->root == NULL)
		goto fail;
	if (!json_is_object(out->root)) {
		*why = "the answer is not a JSON object";
		goto fail;
	}
	/* Unlike a bulk lookup, a missing list is not "nobody": read as an
	 * empty page it would empty the index of a webapp that broke. */
	list = json_object_get(out->root, "list");
	if (!json_is_array(list)) {
		*why = "list is missing or not an array";
		goto fail;
	}
	if (json_array_size(list) > limit) {
		*why = "list has more entries than the limit asked for";
		goto fail;
	}
	if (parse_next(json_object_get(out->root, "next"), after, &out->next,
		why) != 0)
		goto fail;
	out->entries = xcalloc(json_array_size(list) + 1,
	    sizeof(*out->entries));
	json_array_foreach(list, i, item) {
		if (parse_list_entry(item, &out->entries[i], why) != 0)
			goto fail;
	}
	out->nentries = json_array_size(list);
	return 0;
fail:
	rest_list_answer_clear(out);
	return -1;
}

void
rest_list_answer_clear(struct rest_list_answer *a)
{
	free(a->entries);
	json_decref(a->root);
	memset(a, 0, sizeof(*a));
}

static void
on_list_answer(const struct fetch_result *fr, void *arg)
{
	struct list_call *call = arg;
	struct backend_page_result res = { .verdict = BACKEND_YES };
	struct rest_list_answer answer = { 0 };
	const char *url = call->rest->url_list;
	const char *why;

	if (rest_answer_usable(fr, url, false, &res.fault, &res.reason)) {
		if (rest_parse_list_answer(fr->body, fr->body_len, call->after,
			call->limit, &answer, &why) != 0) {
			rest_malformed(fr, url, why, &res.fault, &res.reason);
			res.verdict = BACKEND_ERROR;
		} else {
			res.entries = answer.entries;
			res.nentries = answer.nentries;
			res.next = answer.next;
		}
	} else {
		res.verdict = BACKEND_ERROR;
		/* A lookup reads 404 as "no match"; here "no page" would
		 * empty the index, so it is a failure like any other. */
		if (res.reason == NULL) {
			res.reason = "answered HTTP 404";
			res.fault = BACKEND_FAULT_BAD_GATEWAY;
			log_warnx("webapp %s: %s (%u ms)", url, res.reason,
			    fr->elapsed_ms);
		}
	}
	rest_count_call("list", fr, res.verdict == BACKEND_ERROR);
	call->cb(&res, call->arg);
	rest_list_answer_clear(&answer);
	free(call->after);
	free(call);
}

json_t *
rest_list_request(const char *after, long limit)
{
	if (after != NULL)
		return json_pack("{s:{s:s,s:I}}", "list", "after", after,
		    "limit", (json_int_t)limit);
	return json_pack("{s:{s:I}}", "list", "limit", (json_int_t)limit);
}

int
rest_list(void *self, const char *after, size_t limit, backend_page_cb cb,
    void *arg)
{
	struct rest *rest = self;
	struct list_call *call;
	json_t *body;

	if (limit == 0 || limit > REST_LIST_MAX_LIMIT)
		return -1;
	if (rest->url_list == NULL) {
		/* Not an empty page: callers check BACKEND_CAN_LIST first,
		 * and one that did not must not conclude nobody exists. */
		struct backend_page_result res = {
			.verdict = BACKEND_ERROR,
			.fault = BACKEND_FAULT_BAD_GATEWAY,
			.reason = "the list endpoint is switched off",
		};

		cb(&res, arg);
		return 0;
	}
	body = rest_list_request(after, limit);
	call = xmalloc(sizeof(*call));
	call->rest = rest;
	call->after = after != NULL ? xstrdup(after) : NULL;
	call->limit = limit;
	call->cb = cb;
	call->arg = arg;
	/* A NULL body (after is not UTF-8) fails here too. */
	if (rest_post(rest, rest->url_list, body, false, on_list_answer,
		call) != 0) {
		free(call->after);
		free(call);
		return -1;
	}
	return 0;
}
