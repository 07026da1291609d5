/*
 * Identity Service v1 lookups and the public key endpoints:
 *   GET  /_matrix/identity/api/v1/lookup?medium=&address=
 *   POST /_matrix/identity/api/v1/bulk_lookup
 *   GET  /_matrix/identity/{api/v1,v2}/pubkey/{keyId|isvalid|ephemeral/isvalid}
 * Addresses are answered exactly as the client sent them.
 */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/json.h"
#include "core/jsonout.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/sign.h"

/* Per bulk request: the parsed body owns the strings q points into. */
struct bulk_ctx {
	struct http_request *req;
	json_t *body;
	struct backend_threepid *q;
	size_t n;
};

/* The request context of a single lookup lives until its answer; the
 * query strings belong to the request, which lives as long. */
struct single_ctx {
	struct api *api;
	struct http_request *req;
	const char *medium, *address;
};

/* The signed association for (medium, address, mxid), serialised, or
 * NULL when it cannot be signed. */
static char *
sign_association(struct api *api, const struct single_ctx *ctx,
    const char *mxid, size_t *len)
{
	uint64_t now = now_realtime_ms();
	json_t *assoc;
	char *body;

	assoc = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}",
	    "address", ctx->address, "medium", ctx->medium, "mxid", mxid,
	    "not_before", (json_int_t)now,
	    "not_after", (json_int_t)(now + api->validity_ms),
	    "ts", (json_int_t)now);
	if (assoc == NULL || sig_sign_json(api->key, api->server_name, assoc)) {
		json_decref(assoc);
		return NULL;
	}
	body = json_dump(assoc, len);
	json_decref(assoc);
	return body;
}

/*
 * Signing costs more than the rest of a cached lookup, so a signed answer
 * is kept and served again while it still has most of its validity. The
 * key holds the user id too: a binding that moved is signed anew.
 */
static void
reply_association(struct api *api, const struct single_ctx *ctx,
    const char *mxid)
{
	size_t ml = strlen(ctx->medium), al = strlen(ctx->address);
	size_t xl = strlen(mxid), klen = ml + al + xl + 2, len;
	char *key = NULL, *body = NULL;

	if (api->signed_cache != NULL) {
		key = xmalloc(klen);
		memcpy(key, ctx->medium, ml + 1);
		memcpy(key + ml + 1, ctx->address, al + 1);
		memcpy(key + ml + al + 2, mxid, xl);
		if (cache_get(api->signed_cache, key, klen, now_monotonic_ms(),
			&body, &len) == 1) {
			free(key);
			api_reply_raw(ctx->req, 200, body, len);
			return;
		}
	}
	body = sign_association(api, ctx, mxid, &len);
	if (body == NULL) {
		api_reply_error(ctx->req, 500, "M_UNKNOWN",
		    "Cannot sign the association");
	} else {
		if (key != NULL)
			cache_put(api->signed_cache, key, klen, body, len,
			    now_monotonic_ms() + api->signed_reuse_ms);
		api_reply_raw(ctx->req, 200, body, len);
	}
	free(key);
}

static void
on_single(const struct identity_lookup_result *res, void *arg)
{
	struct single_ctx *ctx = arg;

	if (res->verdict == BACKEND_ERROR)
		api_reply_store_failure(ctx->req, res->fault);
	else if (res->verdict == BACKEND_NO)
		api_reply_raw(ctx->req, 200, xstrdup("{}"), 2);
	else
		reply_association(ctx->api, ctx, res->mxid);
	free(ctx);
}

/* Query arguments are bytes; the webapp call and the signed answer are
 * JSON, which holds only UTF-8 (jansson checks it). */
static bool
is_utf8(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

int
api_parse_lookup_query(const char *medium, const char *address,
    struct api_error *err)
{
	if (medium == NULL || address == NULL) {
		api_bad_request(err, "M_MISSING_PARAMS",
		    "medium and address are required");
		return -1;
	}
	if (!is_utf8(medium) || !is_utf8(address)) {
		api_bad_request(err, "M_INVALID_PARAM",
		    "medium and address must be UTF-8");
		return -1;
	}
	return 0;
}

void
api_lookup(struct api *api, struct http_request *req)
{
	const char *medium = http_req_query(req, "medium");
	const char *address = http_req_query(req, "address");
	struct single_ctx *ctx;
	struct api_error err;

	if (api_parse_lookup_query(medium, address, &err) != 0) {
		api_reply_bad(req, &err);
		return;
	}
	ctx = xmalloc(sizeof(*ctx));
	ctx->api = api;
	ctx->req = req;
	/* libmicrohttpd decoded the query once; these are the client's
	 * strings, '+' and all. */
	ctx->medium = medium;
	ctx->address = address;
	if (identity_lookup(api->identity, medium, address, on_single,
		ctx) != 0) {
		free(ctx);
		api_reply_error(req, 503, "M_UNKNOWN", "Signpost is shutting down");
	}
}

static void
bulk_ctx_free(struct bulk_ctx *ctx)
{
	free(ctx->q);
	json_decref(ctx->body);
	free(ctx);
}

static void
on_bulk(const struct identity_bulk_result *res, void *arg)
{
	struct bulk_ctx *ctx = arg;
	struct jsonout out;
	bool first = true;
	size_t len;
	char *body;

	if (res->verdict == BACKEND_ERROR) {
		api_reply_store_failure(ctx->req, res->fault);
		bulk_ctx_free(ctx);
		return;
	}
	/* Written directly: a jansson tree of thousands of triples would cost
	 * several allocations each. */
	jsonout_init(&out, 32 + res->nmatched * 128);
	jsonout_raw(&out, "{\"threepids\":[");
	for (size_t i = 0; i < ctx->n; i++) {
		if (res->mxids[i] == NULL)
			continue;
		jsonout_raw(&out, first ? "[" : ",[");
		first = false;
		jsonout_string(&out, ctx->q[i].medium);
		jsonout_raw(&out, ",");
		jsonout_string(&out, ctx->q[i].address);
		jsonout_raw(&out, ",");
		jsonout_string(&out, res->mxids[i]);
		jsonout_raw(&out, "]");
	}
	jsonout_raw(&out, "]}");
	body = jsonout_take(&out, &len);
	api_reply_raw(ctx->req, 200, body, len);
	bulk_ctx_free(ctx);
}

/* Checks {"threepids":[[medium,address],…]}. */
int
api_parse_bulk_request(const json_t *body, size_t max,
    struct backend_threepid **out, size_t *nout, struct api_error *err)
{
	const json_t *list = json_object_get(body, "threepids"), *pair;
	struct backend_threepid *q;
	size_t i;

	if (list == NULL) {
		api_bad_request(err, "M_MISSING_PARAMS", "threepids is required");
		return -1;
	}
	if (!json_is_array(list)) {
		api_bad_request(err, "M_INVALID_PARAM",
		    "threepids must be an array");
		return -1;
	}
	if (json_array_size(list) > max) {
		api_bad_request(err, "M_TOO_LARGE",
		    "Too many threepids in one request");
		return -1;
	}
	q = xcalloc(json_array_size(list), sizeof(*q));
	json_array_foreach(list, i, pair) {
		const char *medium = json_string_value(json_array_get(pair, 0));
		const char *address = json_string_value(json_array_get(pair, 1));

		if (!json_is_array(pair) || json_array_size(pair) != 2 ||
		    medium == NULL || address == NULL) {
			api_bad_request(err, "M_INVALID_PARAM",
			    "Each threepid must be [medium, address] strings");
			free(q);
			return -1;
		}
		q[i].medium = medium;
		q[i].address = address;
	}
	*out = q;
	*nout = json_array_size(list);
	return 0;
}

void
api_bulk_lookup(struct api *api, struct http_request *req)
{
	struct bulk_ctx *ctx;
	struct api_error err;
	json_t *body = api_body_object(req);

	if (body == NULL)
		return;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->req = req;
	ctx->body = body;
	if (api_parse_bulk_request(body, api->max_bulk, &ctx->q, &ctx->n,
		&err) != 0) {
		api_reply_bad(req, &err);
		bulk_ctx_free(ctx);
		return;
	}
	if (ctx->n == 0) {
		api_reply_json(req, 200, json_pack("{s:[]}", "threepids"));
		bulk_ctx_free(ctx);
		return;
	}
	if (identity_bulk_lookup(api->identity, ctx->q, ctx->n, on_bulk,
		ctx) != 0) {
		bulk_ctx_free(ctx);
		api_reply_error(req, 503, "M_UNKNOWN", "Signpost is shutting down");
	}
}

/* Everything after ".../pubkey/": a key id, "isvalid" or
 * "ephemeral/isvalid". */
void
api_pubkey(struct api *api, struct http_request *req)
{
	const char *rest = strstr(http_req_path(req), "/pubkey/");
	const char *given = http_req_query(req, "public_key");

	rest += strlen("/pubkey/");
	if (strcmp(rest, "isvalid") != 0 &&
	    strcmp(rest, "ephemeral/isvalid") != 0) {
		if (strcmp(rest, sig_key_id(api->key)) == 0)
			api_reply_json(req, 200, json_pack("{s:s}",
			    "public_key", sig_public_b64(api->key)));
		else
			api_reply_error(req, 404, "M_NOT_FOUND", "No such key");
	} else if (given == NULL) {
		api_reply_error(req, 400, "M_MISSING_PARAMS",
		    "public_key is required");
	} else {
		/* Signpost issues no ephemeral keys (no invites), so none
		 * of those is valid. */
		api_reply_json(req, 200, json_pack("{s:b}", "valid",
		    strcmp(rest, "isvalid") == 0 &&
		    sig_public_key_b64_valid(api->key, given)));
	}
}
