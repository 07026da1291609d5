/*
 * The REST backend's lookup endpoints: single and bulk, their request
 * bodies, and strict parsing of their answers. A 404 or an empty answer is
 * "no match"; anything malformed is an error, never "no match", so a
 * broken webapp is noticed instead of silently finding nobody.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/rest.h"
#include "backend/rest_internal.h"
#include "core/json.h"
#include "core/jsonout.h"
#include "core/log.h"
#include "core/util.h"

struct lookup_call {
	struct rest *rest;
	backend_lookup_cb cb;
	void *arg;
};

struct bulk_call {
	struct rest *rest;
	const struct backend_threepid *q;
	size_t n;
	backend_bulk_cb cb;
	void *arg;
};

static int
parse_entry(const json_t *entry, const char **medium, const char **address,
    struct backend_id *id, const char **why)
{
	if (!json_is_object(entry)) {
		*why = "a lookup entry is not an object";
		return -1;
	}
	*medium = json_string_value(json_object_get(entry, "medium"));
	*address = json_string_value(json_object_get(entry, "address"));
	return rest_parse_id(json_object_get(entry, "id"), id, why);
}

int
rest_parse_lookup_answer(const char *body, size_t len, json_t **root,
    struct backend_id *id, const char **why)
{
	const json_t *lookup;
	const char *medium, *address;

	*root = json_parse(body, len, why);
	if (*root == NULL)
		return -1;
	if (!json_is_object(*root)) {
		*why = "the answer is not a JSON object";
		goto fail;
	}
	lookup = json_object_get(*root, "lookup");
	/* An empty list is how a bulk endpoint says "nobody"; webapps that
	 * share code between the two endpoints answer it here too. */
	if (lookup == NULL || json_is_null(lookup) ||
	    (json_is_array(lookup) && json_array_size(lookup) == 0))
		return 0;
	if (parse_entry(lookup, &medium, &address, id, why) != 0)
		goto fail;
	return 1;
fail:
	json_decref(*root);
	*root = NULL;
	return -1;
}

/*
 * Open-addressing index of the queries by (medium, address), so pairing a
 * bulk answer costs O(n) however large the chunk.
 */
struct query_index {
	size_t *slots; /* query index + 1; 0 is empty */
	size_t mask;
	size_t *next_dup; /* next query with the same pair, + 1 */
};

static uint64_t
pair_hash(const char *medium, const char *address)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)medium; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull; /* separator no string contains */
	for (const unsigned char *p = (const unsigned char *)address; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static bool
pair_equal(const struct backend_threepid *t, const char *medium,
    const char *address)
{
	return strcmp(t->medium, medium) == 0 && strcmp(t->address, address) == 0;
}

static void
index_build(struct query_index *ix, const struct backend_threepid *q, size_t n)
{
	size_t size = 16;

	while (size < n * 2)
		size *= 2;
	ix->slots = xcalloc(size, sizeof(*ix->slots));
	ix->next_dup = xcalloc(n, sizeof(*ix->next_dup));
	ix->mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		size_t s = pair_hash(q[i].medium, q[i].address) & ix->mask;

		while (ix->slots[s] != 0) {
			size_t j = ix->slots[s] - 1;

			if (pair_equal(&q[j], q[i].medium, q[i].address)) {
				/* Chain the duplicate behind the first. */
				while (ix->next_dup[j] != 0)
					j = ix->next_dup[j] - 1;
				ix->next_dup[j] = i + 1;
				break;
			}
			s = (s + 1) & ix->mask;
		}
		if (ix->slots[s] == 0)
			ix->slots[s] = i + 1;
	}
}

/* Returns the first query with this pair + 1, or 0. */
static size_t
index_find(const struct query_index *ix, const struct backend_threepid *q,
    const char *medium, const char *address)
{
	size_t s = pair_hash(medium, address) & ix->mask;

	for (; ix->slots[s] != 0; s = (s + 1) & ix->mask)
		if (pair_equal(&q[ix->slots[s] - 1], medium, address))
			return ix->slots[s];
	return 0;
}

static void
index_free(struct query_index *ix)
{
	free(ix->slots);
	free(ix->next_dup);
}

int
rest_parse_bulk_answer(const char *body, size_t len,
    const struct backend_threepid *q, size_t n, json_t **root,
    struct backend_match **matches, size_t *nmatches, const char **why)
{
	const json_t *list, *entry;
	struct query_index ix = { 0 };
	size_t i, cap = 0, count = 0;
	struct backend_match *out = NULL;

	*root = json_parse(body, len, why);
	if (*root == NULL)
		return -1;
	if (!json_is_object(*root)) {
		*why = "the answer is not a JSON object";
		goto fail;
	}
	list = json_object_get(*root, "lookup");
	if (list == NULL || json_is_null(list))
		goto done;
	if (!json_is_array(list)) {
		*why = "lookup is not an array";
		goto fail;
	}
	index_build(&ix, q, n);
	json_array_foreach(list, i, entry) {
		const char *medium, *address;
		struct backend_id id;
		size_t k;

		if (parse_entry(entry, &medium, &address, &id, why) != 0)
			goto fail;
		if (medium == NULL || address == NULL) {
			*why = "a lookup entry lacks medium or address strings";
			goto fail;
		}
		for (k = index_find(&ix, q, medium, address); k != 0;
		     k = ix.next_dup[k - 1]) {
			if (count == cap) {
				cap = cap ? cap * 2 : 16;
				out = xrealloc(out, cap * sizeof(*out));
			}
			out[count].index = k - 1;
			out[count].id = id;
			count++;
		}
	}
done:
	index_free(&ix);
	*matches = out;
	*nmatches = count;
	return 0;
fail:
	index_free(&ix);
	free(out);
	json_decref(*root);
	*root = NULL;
	return -1;
}

static void
on_lookup_answer(const struct fetch_result *fr, void *arg)
{
	struct lookup_call *call = arg;
	struct backend_lookup_result res = { .verdict = BACKEND_NO };
	json_t *root = NULL;
	const char *why;
	int rc;

	if (rest_answer_usable(fr, call->rest->url_single, false, &res.fault,
		&res.reason)) {
		rc = rest_parse_lookup_answer(fr->body, fr->body_len, &root,
		    &res.id, &why);
		if (rc < 0)
			rest_malformed(fr, call->rest->url_single, why,
			    &res.fault, &res.reason);
		res.verdict = rc < 0 ? BACKEND_ERROR : rc ? BACKEND_YES :
							 BACKEND_NO;
	} else if (res.reason != NULL) {
		res.verdict = BACKEND_ERROR;
	}
	rest_count_call("single", fr, res.verdict == BACKEND_ERROR);
	call->cb(&res, call->arg);
	json_decref(root);
	free(call);
}

json_t *
rest_single_request(const struct backend_threepid *q)
{
	return json_pack("{s:{s:s,s:s}}", "lookup", "medium", q->medium,
	    "address", q->address);
}

int
rest_lookup(void *self, const struct backend_threepid *q,
    backend_lookup_cb cb, void *arg)
{
	struct rest *rest = self;
	struct lookup_call *call = xmalloc(sizeof(*call));

	*call = (struct lookup_call){ rest, cb, arg };
	if (rest_post(rest, rest->url_single, rest_single_request(q), false,
	    on_lookup_answer, call) != 0) {
		free(call);
		return -1;
	}
	return 0;
}

static void
on_bulk_answer(const struct fetch_result *fr, void *arg)
{
	struct bulk_call *call = arg;
	struct backend_bulk_result res = { .verdict = BACKEND_YES };
	struct backend_match *matches = NULL;
	json_t *root = NULL;
	const char *why;

	if (rest_answer_usable(fr, call->rest->url_bulk, false, &res.fault,
		&res.reason)) {
		if (rest_parse_bulk_answer(fr->body, fr->body_len, call->q,
			call->n, &root, &matches, &res.nmatches, &why) != 0) {
			rest_malformed(fr, call->rest->url_bulk, why, &res.fault,
			    &res.reason);
			res.verdict = BACKEND_ERROR;
		}
		res.matches = matches;
	} else if (res.reason != NULL) {
		res.verdict = BACKEND_ERROR;
	}
	rest_count_call("bulk", fr, res.verdict == BACKEND_ERROR);
	call->cb(&res, call->arg);
	free(matches);
	json_decref(root);
	free(call);
}

int
rest_bulk_lookup(void *self, const struct backend_threepid *q, size_t n,
    backend_bulk_cb cb, void *arg)
{
	struct rest *rest = self;
	struct bulk_call *call;
	struct jsonout out;
	size_t len;
	char *text;

	/* Written directly: a jansson tree of a thousand entries costs more
	 * than the rest of the call. The strings are UTF-8 already (from
	 * parsed JSON or checked query arguments). */
	jsonout_init(&out, 16 + n * 64);
	jsonout_raw(&out, "{\"lookup\":[");
	for (size_t i = 0; i < n; i++) {
		jsonout_raw(&out, i > 0 ? ",{\"medium\":" : "{\"medium\":");
		jsonout_string(&out, q[i].medium);
		jsonout_raw(&out, ",\"address\":");
		jsonout_string(&out, q[i].address);
		jsonout_raw(&out, "}");
	}
	jsonout_raw(&out, "]}");
	text = jsonout_take(&out, &len);
	call = xmalloc(sizeof(*call));
	*call = (struct bulk_call){ rest, q, n, cb, arg };
	if (fetch_post_json(rest->engine, rest->url_bulk, text, len, false,
		on_bulk_answer, call) != 0) {
		free(call);
		return -1;
	}
	return 0;
}
