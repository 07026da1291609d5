/*
 * Identity Service v2: accounts (OpenID registration), terms, and the
 * lookups clients make today (hash_details, lookup).
 *
 * Tokens come as "Authorization: Bearer" or ?access_token= (Synapse still
 * sends the latter). While terms are configured and not all accepted, every
 * authenticated endpoint but POST /terms, /account and /account/logout
 * answers 403 M_TERMS_NOT_SIGNED.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api/internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mxid.h"
#include "core/util.h"
#include "identity/openid.h"
#include "store/store.h"

/* Longest OpenID token accepted from a client; homeservers issue ~24. */
#define OPENID_TOKEN_MAX 1024

static const char *
request_token(struct http_request *req)
{
	const char *auth = http_req_header(req, "Authorization");

	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		return auth + 7;
	return http_req_query(req, "access_token");
}

/* Whether user accepted every configured policy (any language's url). */
static int
terms_signed(struct api *api, const char *user)
{
	for (size_t i = 0; i < api->npolicies; i++) {
		const struct cfg_policy *p = &api->policies[i];
		bool accepted = false;

		for (size_t j = 0; j < p->nterms && !accepted; j++) {
			int rc = store_terms_accepted(api->store, user,
			    p->terms[j].url);

			if (rc < 0)
				return -1;
			accepted = rc == 1;
		}
		if (!accepted)
			return 0;
	}
	return 1;
}

/*
 * Resolves the caller's token to a user id (caller frees), answering the
 * request itself (401/403/500) and returning NULL when it cannot go on.
 */
/*
 * The token cache's key: a 128-bit SipHash of the token under a random key
 * of this process, so the cache holds nothing a token could be recovered
 * from or matched against offline, at a fraction of SHA-256's cost (this
 * is on every v2 request).
 */
static void
token_key(const struct api *api, const char *token,
    unsigned char key[crypto_shorthash_siphashx24_BYTES])
{
	crypto_shorthash_siphashx24(key, (const unsigned char *)token,
	    strlen(token), api->token_hkey);
}

static void
token_forget(struct api *api, const char *token)
{
	unsigned char key[crypto_shorthash_siphashx24_BYTES];

	token_key(api, token, key);
	cache_remove(api->token_cache, key, sizeof(key));
}

char *
api_v2_authenticate(struct api *api, struct http_request *req, bool need_terms)
{
	const char *token = request_token(req);
	unsigned char key[crypto_shorthash_siphashx24_BYTES];
	char *user = NULL;
	size_t len;
	int rc;

	if (token == NULL || *token == '\0') {
		api_reply_error(req, 401, "M_UNAUTHORIZED",
		    "An access token is required");
		return NULL;
	}
	/* A token seen good a moment ago, with every policy accepted, skips
	 * the database: v2 lookups are the hot path. Keyed by the token's
	 * keyed hash, so the cache holds no usable token. */
	token_key(api, token, key);
	if (cache_get(api->token_cache, key, sizeof(key), now_monotonic_ms(),
		&user, &len) == 1)
		return user;
	rc = store_token_user(api->store, token, &user);
	if (rc == 0) {
		api_reply_error(req, 401, "M_UNAUTHORIZED",
		    "Unrecognised access token");
		return NULL;
	}
	if (rc < 0 || (need_terms && (rc = terms_signed(api, user)) < 0)) {
		free(user);
		api_reply_error(req, 500, "M_UNKNOWN", "Storage failure");
		return NULL;
	}
	if (need_terms && rc == 0) {
		free(user);
		api_reply_error(req, 403, "M_TERMS_NOT_SIGNED",
		    "Terms of service have not been accepted");
		return NULL;
	}
	if (need_terms || api->npolicies == 0)
		cache_put(api->token_cache, key, sizeof(key), user, strlen(user),
		    now_monotonic_ms() + API_TOKEN_CACHE_MS);
	return user;
}

struct register_ctx {
	struct api *api;
	struct http_request *req;
};

static void
on_openid(const struct openid_result *res, void *arg)
{
	struct register_ctx *ctx = arg;
	char *token;

	if (res->verdict == BACKEND_NO) {
		api_reply_error(ctx->req, 401, "M_UNAUTHORIZED",
		    "The homeserver did not accept the OpenID token");
	} else if (res->verdict == BACKEND_ERROR) {
		api_reply_error(ctx->req, res->fault == BACKEND_FAULT_TIMEOUT ?
		    504 : 502, "M_UNKNOWN", "Cannot reach the homeserver");
	} else if ((token = store_token_issue(ctx->api->store, res->user_id,
			ctx->api->token_lifetime)) == NULL) {
		api_reply_error(ctx->req, 500, "M_UNKNOWN", "Storage failure");
	} else {
		log_info("registered an account for %s", res->user_id);
		/* sydent answers both names; clients read "token". */
		api_reply_json(ctx->req, 200, json_pack("{s:s,s:s}", "token",
		    token, "access_token", token));
		secret_free(token);
	}
	free(ctx);
}

static bool
server_allowed(const struct api *api, const char *name)
{
	if (api->nfed_allowed == 0)
		return true;
	for (size_t i = 0; i < api->nfed_allowed; i++)
		if (strcasecmp(api->fed_allowed[i], name) == 0)
			return true;
	return false;
}

int
api_parse_register(const json_t *body, const char **token,
    const char **server, struct api_error *err)
{
	*token = json_string_value(json_object_get(body, "access_token"));
	*server = json_string_value(json_object_get(body, "matrix_server_name"));
	if (*token == NULL || *server == NULL) {
		api_bad_request(err, "M_MISSING_PARAMS",
		    "access_token and matrix_server_name are required");
		return -1;
	}
	if (!mxid_server_name_valid(*server) || **token == '\0' ||
	    strlen(*token) > OPENID_TOKEN_MAX) {
		api_bad_request(err, "M_INVALID_PARAM",
		    "Invalid matrix_server_name or access_token");
		return -1;
	}
	return 0;
}

void
api_v2_register(struct api *api, struct http_request *req)
{
	json_t *body = api_body_object(req);
	const char *token, *server;
	struct register_ctx *ctx;
	struct api_error err;

	if (body == NULL)
		return;
	if (api_parse_register(body, &token, &server, &err) != 0) {
		api_reply_bad(req, &err);
	} else if (!server_allowed(api, server)) {
		api_reply_error(req, 403, "M_FORBIDDEN",
		    "This identity server does not serve that homeserver");
	} else {
		ctx = xmalloc(sizeof(*ctx));
		ctx->api = api;
		ctx->req = req;
		if (openid_verify(api->fed_engine, api->fed_discovery, server,
			token, on_openid, ctx) != 0) {
			free(ctx);
			api_reply_error(req, 503, "M_UNKNOWN",
			    "Signpost is shutting down");
		}
	}
	json_decref(body);
}

void
api_v2_account(struct api *api, struct http_request *req)
{
	char *user = api_v2_authenticate(api, req, false);

	if (user == NULL)
		return;
	api_reply_json(req, 200, json_pack("{s:s}", "user_id", user));
	free(user);
}

void
api_v2_logout(struct api *api, struct http_request *req)
{
	char *user = api_v2_authenticate(api, req, false);

	if (user == NULL)
		return;
	token_forget(api, request_token(req));
	if (store_token_revoke(api->store, request_token(req)) != 0)
		api_reply_error(req, 500, "M_UNKNOWN", "Storage failure");
	else
		api_reply_json(req, 200, json_object());
	free(user);
}

void
api_v2_terms(struct api *api, struct http_request *req)
{
	json_t *policies = json_object();

	for (size_t i = 0; i < api->npolicies; i++) {
		const struct cfg_policy *p = &api->policies[i];
		json_t *pj = json_pack("{s:s}", "version", p->version);

		for (size_t j = 0; j < p->nterms; j++)
			json_object_set_new(pj, p->terms[j].lang,
			    json_pack("{s:s,s:s}", "name", p->terms[j].name,
			    "url", p->terms[j].url));
		json_object_set_new(policies, p->id, pj);
	}
	api_reply_json(req, 200, json_pack("{s:o}", "policies", policies));
}

static bool
policy_url_known(const struct api *api, const char *url)
{
	for (size_t p = 0; p < api->npolicies; p++)
		for (size_t t = 0; t < api->policies[p].nterms; t++)
			if (strcmp(api->policies[p].terms[t].url, url) == 0)
				return true;
	return false;
}

static bool
already_listed(const char *const *urls, size_t n, const char *url)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(urls[i], url) == 0)
			return true;
	return false;
}

int
api_parse_terms_accept(const struct api *api, const json_t *body,
    const char ***out, size_t *nout, struct api_error *err)
{
	const json_t *list = json_object_get(body, "user_accepts"), *item;
	const char **urls;
	size_t i, n = 0;

	if (!json_is_array(list)) {
		api_bad_request(err, list ? "M_INVALID_PARAM" :
		    "M_MISSING_PARAMS", "user_accepts must be a list of urls");
		return -1;
	}
	urls = xcalloc(json_array_size(list), sizeof(*urls));
	json_array_foreach(list, i, item) {
		const char *url = json_string_value(item);

		/* Only urls of configured policies are worth keeping, once
		 * each, so a long list of repeats stays small. */
		if (url != NULL && policy_url_known(api, url) &&
		    !already_listed(urls, n, url))
			urls[n++] = url;
	}
	*out = urls;
	*nout = n;
	return 0;
}

void
api_v2_terms_accept(struct api *api, struct http_request *req)
{
	char *user = api_v2_authenticate(api, req, false);
	struct api_error err;
	const char **urls;
	json_t *body;
	size_t n;

	if (user == NULL)
		return;
	if ((body = api_body_object(req)) == NULL) {
		free(user);
		return;
	}
	if (api_parse_terms_accept(api, body, &urls, &n, &err) != 0) {
		api_reply_bad(req, &err);
		goto out;
	}
	if (n > 0 && store_terms_accept(api->store, user, urls, n) != 0)
		api_reply_error(req, 500, "M_UNKNOWN", "Storage failure");
	else
		api_reply_json(req, 200, json_object());
	free(urls);
out:
	json_decref(body);
	free(user);
}
