/*
 * GET /v2/hash_details and POST /v2/lookup. Mapping keys are exactly the
 * strings the client sent: Element throws on a key it did not send.
 */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/json.h"
#include "core/jsonout.h"
#include "core/log.h"
#include "core/util.h"
#include "identity/hashing.h"

struct none_ctx {
	struct http_request *req;
	json_t *body;                /* owns the address strings */
	struct backend_threepid *q;
	char **split;                /* "<address> <medium>" copies, cut */
	const char **keys;           /* the strings as sent */
	size_t n;
};

static void
none_ctx_free(struct none_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n; i++)
		free(ctx->split[i]);
	free(ctx->split);
	free(ctx->keys);
	free(ctx->q);
	json_decref(ctx->body);
	free(ctx);
}

void
api_v2_hash_details(struct api *api, struct http_request *req)
{
	char *user = api_v2_authenticate(api, req, true);
	char *pepper;

	if (user == NULL)
		return;
	free(user);
	pepper = hashing_pepper(api->hashing);
	if (hashing_sha256_available(api->hashing))
		api_reply_json(req, 200, json_pack("{s:s,s:[s,s]}",
		    "lookup_pepper", pepper, "algorithms", "sha256", "none"));
	else
		api_reply_json(req, 200, json_pack("{s:s,s:[s]}",
		    "lookup_pepper", pepper, "algorithms", "none"));
	free(pepper);
}

/*
 * {"mappings": {key: mxid, ...}}, written directly: thousands of entries
 * would otherwise cost a jansson tree and hash table first. A key the
 * client sent twice is written once (same key, same answer).
 */
struct mappings {
	struct jsonout out;
	struct jsonout_keys *seen;
	bool first;
};

static struct mappings
mappings_new(size_t expected)
{
	struct mappings m = { .seen = jsonout_keys_new(expected),
	    .first = true };

	jsonout_init(&m.out, 32 + expected * 96);
	jsonout_raw(&m.out, "{\"mappings\":{");
	return m;
}

static void
mappings_add(struct mappings *m, const char *key, const char *mxid)
{
	if (!jsonout_keys_first(m->seen, key))
		return;
	if (!m->first)
		jsonout_raw(&m->out, ",");
	m->first = false;
	jsonout_string(&m->out, key);
	jsonout_raw(&m->out, ":");
	jsonout_string(&m->out, mxid);
}

static void
mappings_reply(struct mappings *m, struct http_request *req)
{
	size_t len;
	char *body;

	jsonout_raw(&m->out, "}}");
	body = jsonout_take(&m->out, &len);
	jsonout_keys_free(m->seen);
	api_reply_raw(req, 200, body, len);
}

static void
on_none(const struct identity_bulk_result *res, void *arg)
{
	struct none_ctx *ctx = arg;
	struct mappings mappings;

	if (res->verdict == BACKEND_ERROR) {
		api_reply_store_failure(ctx->req, res->fault);
		none_ctx_free(ctx);
		return;
	}
	mappings = mappings_new(res->nmatched);
	for (size_t i = 0; i < ctx->n; i++)
		if (res->mxids[i] != NULL)
			mappings_add(&mappings, ctx->keys[i], res->mxids[i]);
	mappings_reply(&mappings, ctx->req);
	none_ctx_free(ctx);
}

/* "<address> <medium>": the medium has no space, the address may. */
int
api_split_none(const char *s, char **copy, struct backend_threepid *out)
{
	char *sp;

	*copy = xstrdup(s);
	sp = strrchr(*copy, ' ');
	if (sp == NULL || sp == *copy || sp[1] == '\0')
		return -1;
	*sp = '\0';
	out->address = *copy;
	out->medium = sp + 1;
	return 0;
}

static void
lookup_none(struct api *api, struct http_request *req, json_t *body,
    const json_t *addresses)
{
	struct none_ctx *ctx = xcalloc(1, sizeof(*ctx));
	const json_t *a;
	size_t i;

	ctx->req = req;
	ctx->body = json_incref(body);
	ctx->n = json_array_size(addresses);
	ctx->q = xcalloc(ctx->n, sizeof(*ctx->q));
	ctx->split = xcalloc(ctx->n, sizeof(*ctx->split));
	ctx->keys = xcalloc(ctx->n, sizeof(*ctx->keys));
	json_array_foreach(addresses, i, a) {
		ctx->keys[i] = json_string_value(a);
		if (api_split_none(ctx->keys[i], &ctx->split[i],
			&ctx->q[i]) != 0) {
			api_reply_error(req, 400, "M_INVALID_PARAM",
			    "Each address must be \"<address> <medium>\"");
			none_ctx_free(ctx);
			return;
		}
	}
	if (ctx->n == 0) {
		api_reply_json(req, 200, json_pack("{s:{}}", "mappings"));
		none_ctx_free(ctx);
	} else if (identity_bulk_lookup(api->identity, ctx->q, ctx->n, on_none,
		       ctx) != 0) {
		none_ctx_free(ctx);
		api_reply_error(req, 503, "M_UNKNOWN", "Signpost is shutting down");
	}
}

static void
lookup_sha256(struct api *api, struct http_request *req,
    const json_t *addresses)
{
	struct hashidx *idx = hashing_index(api->hashing);
	struct mappings mappings = mappings_new(json_array_size(addresses));
	const json_t *a;
	size_t i;

	/* Before the first index is built nobody is known yet; the log
	 * says when it is ready. */
	json_array_foreach(addresses, i, a) {
		const char *mxid = idx ? hashidx_find(idx,
		    json_string_value(a)) : NULL;

		if (mxid != NULL)
			mappings_add(&mappings, json_string_value(a), mxid);
	}
	/* The mxids live in the index: written before it is let go. */
	mappings_reply(&mappings, req);
	hashidx_unref(idx);
}

int
api_parse_v2_lookup(const json_t *body, size_t max, const char **algorithm,
    const char **pepper, const json_t **addresses, struct api_error *err)
{
	const json_t *a;
	size_t i;

	*algorithm = json_string_value(json_object_get(body, "algorithm"));
	*pepper = json_string_value(json_object_get(body, "pepper"));
	*addresses = json_object_get(body, "addresses");
	if (*algorithm == NULL || *pepper == NULL || *addresses == NULL) {
		api_bad_request(err, "M_MISSING_PARAMS",
		    "algorithm, pepper and addresses are required");
		return -1;
	}
	if (!json_is_array(*addresses)) {
		api_bad_request(err, "M_INVALID_PARAM",
		    "addresses must be a list of strings");
		return -1;
	}
	json_array_foreach(*addresses, i, a) {
		if (!json_is_string(a)) {
			api_bad_request(err, "M_INVALID_PARAM",
			    "addresses must be a list of strings");
			return -1;
		}
	}
	if (json_array_size(*addresses) > max) {
		api_bad_request(err, "M_TOO_LARGE",
		    "Too many addresses in one request");
		return -1;
	}
	return 0;
}

void
api_v2_lookup(struct api *api, struct http_request *req)
{
	char *user = api_v2_authenticate(api, req, true);
	const char *algorithm, *pepper;
	const json_t *addresses;
	struct api_error err;
	json_t *body;
	char *current = NULL;

	if (user == NULL)
		return;
	free(user);
	if ((body = api_body_object(req)) == NULL)
		return;
	if (api_parse_v2_lookup(body, api->max_bulk, &algorithm, &pepper,
		&addresses, &err) != 0) {
		api_reply_bad(req, &err);
		goto out;
	}
	if (strcmp(algorithm, "none") != 0 && (strcmp(algorithm, "sha256") != 0 ||
	    !hashing_sha256_available(api->hashing))) {
		api_reply_error(req, 400, "M_INVALID_PARAM",
		    "Unsupported algorithm");
		goto out;
	}
	current = hashing_pepper(api->hashing);
	if (strcmp(pepper, current) != 0) {
		/* Like sydent: the answer carries what to retry with. */
		api_reply_json(req, 400, json_pack("{s:s,s:s,s:s,s:s}",
		    "errcode", "M_INVALID_PEPPER", "error",
		    "Unknown or expired pepper", "algorithm", algorithm,
		    "lookup_pepper", current));
		goto out;
	}
	if (strcmp(algorithm, "none") == 0)
		lookup_none(api, req, body, addresses);
	else
		lookup_sha256(api, req, addresses);
out:
	free(current);
	json_decref(body);
}
