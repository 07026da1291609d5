/*
 * POST /_matrix-internal/identity/v1/check_credentials: the Synapse REST
 * password provider's question "is this user's password right?".
 *
 * The module indexes auth.profile unconditionally on success and raises on
 * any non-2xx, so a verdict is always 200 with the full shape, and a store
 * failure is a 502/504 that makes the login fail rather than succeed.
 *
 * Failed attempts are counted per user id and per caller address; once a
 * limit is reached the answer is 429 M_LIMIT_EXCEEDED without asking the
 * webapp, until the window that started with the first failure ends. A
 * success clears the user's count (not the address's: one good password
 * must not buy an attacker a fresh allowance).
 */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mxid.h"
#include "core/util.h"

struct check_ctx {
	struct api *api;
	struct http_request *req;
	char *user_id;
	uint8_t peer[16];
};

/* Whether key has used up its failures; *retry_ms gets the wait. */
static bool
over_limit(struct cache *counts, unsigned limit, const void *key,
    size_t klen, uint64_t now, uint64_t *retry_ms)
{
	uint64_t until = 0;

	if (counts == NULL ||
	    cache_count_get(counts, key, klen, now, &until) < limit)
		return false;
	*retry_ms = until > now ? until - now : 0;
	return true;
}

static void
count_verdict(struct check_ctx *ctx, enum backend_verdict verdict)
{
	struct api *api = ctx->api;
	uint64_t now = now_monotonic_ms();

	if (verdict == BACKEND_NO) {
		if (api->fail_user != NULL)
			cache_count_add(api->fail_user, ctx->user_id,
			    strlen(ctx->user_id), now, api->fail_window_ms);
		if (api->fail_peer != NULL)
			cache_count_add(api->fail_peer, ctx->peer,
			    sizeof(ctx->peer), now, api->fail_window_ms);
	} else if (verdict == BACKEND_YES && api->fail_user != NULL) {
		cache_remove(api->fail_user, ctx->user_id,
		    strlen(ctx->user_id));
	}
}

static json_t *
profile_json(const struct identity_auth_result *res)
{
	json_t *profile = json_object();
	json_t *list = json_array();

	if (res->display_name)
		json_object_set_new(profile, "display_name",
		    json_string(res->display_name));
	for (size_t i = 0; i < res->nthreepids; i++)
		json_array_append_new(list, json_pack("{s:s,s:s}", "medium",
		    res->threepids[i].medium, "address",
		    res->threepids[i].address));
	json_object_set_new(profile, "three_pids", list);
	return profile;
}

static void
on_verdict(const struct identity_auth_result *res, void *arg)
{
	struct check_ctx *ctx = arg;
	struct http_request *req = ctx->req;
	json_t *auth;

	count_verdict(ctx, res->verdict);
	free(ctx->user_id);
	free(ctx);
	switch (res->verdict) {
	case BACKEND_ERROR:
		api_reply_store_failure(req, res->fault);
		return;
	case BACKEND_NO:
		auth = json_pack("{s:b}", "success", 0);
		break;
	case BACKEND_YES:
	default:
		auth = json_pack("{s:b,s:s}", "success", 1, "mxid", res->mxid);
		if (res->display_name)
			json_object_set_new(auth, "display_name",
			    json_string(res->display_name));
		json_object_set_new(auth, "profile", profile_json(res));
		break;
	}
	if (auth == NULL) {
		/* Only a store string that is not UTF-8 gets here, and
		 * jansson's parser already refuses those. */
		api_reply_error(req, 502, "M_UNKNOWN",
		    "The identity store sent an unusable answer");
		return;
	}
	/* mxisd answered under "authentication" before it used "auth";
	 * both keep every version of the module working. */
	api_reply_json(req, 200, json_pack("{s:O,s:o}", "auth", auth,
	    "authentication", auth));
}

json_t *
api_parse_credentials(const char *text, size_t len, const char **user_id,
    const char **password, struct api_error *err)
{
	const json_t *user, *id, *pw;
	json_t *body = api_parse_object(text, len, err);

	if (body == NULL)
		return NULL;
	user = json_object_get(body, "user");
	id = json_object_get(user, "id");
	pw = json_object_get(user, "password");
	if (user != NULL && !json_is_object(user)) {
		api_bad_request(err, "M_BAD_JSON", "user must be an object");
	} else if (user == NULL || id == NULL || pw == NULL) {
		api_bad_request(err, "M_MISSING_PARAMS",
		    "user.id and user.password are required");
	} else if (!json_is_string(id) || !json_is_string(pw)) {
		api_bad_request(err, "M_BAD_JSON",
		    "user.id and user.password must be strings");
	} else if (!mxid_valid(json_string_value(id))) {
		api_bad_request(err, "M_INVALID_PARAM",
		    "user.id is not a valid Matrix user id");
	} else {
		*user_id = json_string_value(id);
		*password = json_string_value(pw);
		return body;
	}
	/* The wiping allocator clears the password with the tree. */
	json_decref(body);
	return NULL;
}

void
api_check_credentials(struct api *api, struct http_request *req)
{
	const char *id, *password, *text;
	struct check_ctx *ctx;
	struct api_error err;
	uint64_t now, retry_ms = 0;
	json_t *body;
	size_t len;

	if (!cidr_list_match(&api->auth_allow, http_req_peer(req))) {
		log_info("check_credentials refused: caller not in auth.allowFrom");
		api_reply_error(req, 403, "M_FORBIDDEN",
		    "This endpoint is for the homeserver only");
		return;
	}
	text = http_req_body(req, &len);
	body = api_parse_credentials(text, len, &id, &password, &err);
	if (body == NULL) {
		api_reply_bad(req, &err);
		return;
	}
	now = now_monotonic_ms();
	if (over_limit(api->fail_user, api->fail_user_max, id, strlen(id), now,
		&retry_ms) ||
	    over_limit(api->fail_peer, api->fail_peer_max, http_req_peer(req),
		16, now, &retry_ms)) {
		log_info("check_credentials: too many failed attempts; refused "
		    "without asking the webapp");
		api_reply_json(req, 429, json_pack("{s:s,s:s,s:I}", "errcode",
		    "M_LIMIT_EXCEEDED", "error", "Too many failed login "
		    "attempts; try again later", "retry_after_ms",
		    (json_int_t)retry_ms));
		json_decref(body);
		return;
	}
	ctx = xmalloc(sizeof(*ctx));
	ctx->api = api;
	ctx->req = req;
	ctx->user_id = xstrdup(id);
	memcpy(ctx->peer, http_req_peer(req), sizeof(ctx->peer));
	if (identity_authenticate(api->identity, id, password, on_verdict,
		ctx) != 0) {
		free(ctx->user_id);
		free(ctx);
		api_reply_error(req, 503, "M_UNKNOWN",
		    "Signpost is shutting down");
	}
	/* The wiping allocator clears the password with the tree. */
	json_decref(body);
}
