#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"

/* Every answer carries these, so browser clients (Element Web) can call
 * Signpost from another origin. */
static const char *const cors_headers[] = {
	"Access-Control-Allow-Origin", "*",
	"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS",
	"Access-Control-Allow-Headers",
	"Origin, X-Requested-With, Content-Type, Accept, Authorization",
	NULL,
};

void
api_reply_raw(struct http_request *req, unsigned status, char *body,
    size_t len)
{
	http_respond(req, status, body, len, cors_headers);
}

void
api_reply_json(struct http_request *req, unsigned status, json_t *v)
{
	size_t len;
	char *body = json_dump(v, &len);

	json_decref(v);
	http_respond(req, status, body, len, cors_headers);
}

void
api_reply_error(struct http_request *req, unsigned status,
    const char *errcode, const char *message)
{
	api_reply_json(req, status,
	    json_pack("{s:s,s:s}", "errcode", errcode, "error", message));
}

void
api_reply_store_failure(struct http_request *req, enum backend_fault fault)
{
	if (fault == BACKEND_FAULT_TIMEOUT)
		api_reply_error(req, 504, "M_UNKNOWN",
		    "The identity store did not answer in time");
	else
		api_reply_error(req, 502, "M_UNKNOWN",
		    "The identity store failed to answer");
}

void
api_reply_bad(struct http_request *req, const struct api_error *err)
{
	api_reply_error(req, err->status, err->errcode, err->message);
}

void
api_bad_request(struct api_error *err, const char *errcode,
    const char *message)
{
	err->status = 400;
	err->errcode = errcode;
	snprintf(err->message, sizeof(err->message), "%s", message);
}

json_t *
api_parse_object(const char *body, size_t len, struct api_error *err)
{
	const char *why;
	json_t *v = json_parse(body, len, &why);

	if (v == NULL) {
		api_bad_request(err, "M_NOT_JSON", "");
		snprintf(err->message, sizeof(err->message),
		    "Request body is not JSON: %s", why);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		api_bad_request(err, "M_BAD_JSON",
		    "Request body must be a JSON object");
		return NULL;
	}
	return v;
}

json_t *
api_body_object(struct http_request *req)
{
	struct api_error err;
	size_t len;
	const char *body = http_req_body(req, &len);
	json_t *v = api_parse_object(body, len, &err);

	if (v == NULL)
		api_reply_bad(req, &err);
	return v;
}

static void
reply_empty(struct api *api, struct http_request *req)
{
	(void)api;
	api_reply_json(req, 200, json_object());
}

static void
reply_versions(struct api *api, struct http_request *req)
{
	(void)api;
	api_reply_json(req, 200, json_pack("{s:[s,s,s,s,s]}", "versions",
	    "r0.1.0", "r0.2.0", "r0.2.1", "r0.3.0", "v1.1"));
}

typedef void (*route_fn)(struct api *api, struct http_request *req);

struct route {
	const char *method;
	const char *path; /* ending in '/': a prefix */
	route_fn fn;
	const char *name; /* the endpoint label in metrics and logs */
};

static const struct route routes[] = {
	{ "GET", "/_matrix/identity/versions", reply_versions, "versions" },
	{ "GET", "/_matrix/identity/api/v1", reply_empty, "v1" },
	{ "GET", "/_matrix/identity/v2", reply_empty, "v2" },
	{ "POST", "/_matrix-internal/identity/v1/check_credentials",
	    api_check_credentials, "check_credentials" },
	{ "GET", "/_matrix/identity/api/v1/lookup", api_lookup, "v1_lookup" },
	{ "POST", "/_matrix/identity/api/v1/bulk_lookup", api_bulk_lookup,
	    "v1_bulk_lookup" },
	{ "GET", "/_matrix/identity/api/v1/pubkey/", api_pubkey, "pubkey" },
	{ "GET", "/_matrix/identity/v2/pubkey/", api_pubkey, "pubkey" },
	{ "POST", "/_matrix/identity/v2/account/register", api_v2_register,
	    "v2_register" },
	{ "GET", "/_matrix/identity/v2/account", api_v2_account, "v2_account" },
	{ "POST", "/_matrix/identity/v2/account/logout", api_v2_logout,
	    "v2_logout" },
	{ "GET", "/_matrix/identity/v2/terms", api_v2_terms, "v2_terms" },
	{ "POST", "/_matrix/identity/v2/terms", api_v2_terms_accept,
	    "v2_terms" },
	{ "GET", "/_matrix/identity/v2/hash_details", api_v2_hash_details,
	    "v2_hash_details" },
	{ "POST", "/_matrix/identity/v2/lookup", api_v2_lookup, "v2_lookup" },
	/* mxisd's operational endpoints, then Signpost's own. */
	{ "GET", "/status", api_ops_status, "status" },
	{ "GET", "/version", api_ops_version, "version" },
	{ "GET", "/_signpost/ready", api_ops_ready, "ready" },
	{ "GET", "/_signpost/metrics", api_ops_metrics, "metrics" },
};

static bool
route_matches(const struct route *r, const char *path)
{
	size_t len = strlen(r->path);

	if (r->path[len - 1] == '/')
		return strncmp(r->path, path, len) == 0 && path[len] != '\0';
	return strcmp(r->path, path) == 0;
}

void
api_handle(struct http_request *req, void *arg)
{
	struct api *api = arg;
	const char *method = http_req_method(req);
	const char *path = http_req_path(req);
	bool path_known = false;

	if (strcmp(method, "OPTIONS") == 0) {
		/* CORS preflight: any path, the headers say it all. */
		http_req_set_label(req, "options");
		api_reply_json(req, 200, json_object());
		return;
	}
	for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
		if (!route_matches(&routes[i], path))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, method) == 0) {
			http_req_set_label(req, routes[i].name);
			routes[i].fn(api, req);
			return;
		}
	}
	if (path_known)
		api_reply_error(req, 405, "M_UNRECOGNIZED",
		    "Method not allowed on this path");
	else
		api_reply_error(req, 404, "M_UNRECOGNIZED", "Unrecognized request");
}

struct api *
api_new(const struct api_opts *opts)
{
	struct api *api = xcalloc(1, sizeof(*api));

	for (size_t i = 0; i < opts->auth_allow->len; i++)
		cidr_list_add(&api->auth_allow, &opts->auth_allow->items[i]);
	api->token_cache = cache_new(API_TOKEN_CACHE_MAX);
	randombytes_buf(api->token_hkey, sizeof(api->token_hkey));
	api->metrics_enabled = opts->metrics_enabled;
	api->fail_window_ms = (uint64_t)opts->fail_window_s * 1000;
	api->fail_user_max = opts->fail_user_max;
	api->fail_peer_max = opts->fail_peer_max;
	if (opts->fail_user_max > 0 && opts->fail_window_s > 0)
		api->fail_user = cache_new(opts->fail_tracked);
	if (opts->fail_peer_max > 0 && opts->fail_window_s > 0)
		api->fail_peer = cache_new(opts->fail_tracked);
	for (size_t i = 0; opts->metrics_allow && i < opts->metrics_allow->len;
	    i++)
		cidr_list_add(&api->metrics_allow,
		    &opts->metrics_allow->items[i]);
	api->identity = opts->identity;
	api->key = opts->key;
	api->server_name = xstrdup(opts->server_name);
	api->validity_ms = (uint64_t)opts->validity_s * 1000;
	api->max_bulk = opts->max_bulk;
	api->store = opts->store;
	api->fed_engine = opts->fed_engine;
	api->fed_discovery = opts->fed_discovery;
	api->hashing = opts->hashing;
	api->policies = opts->policies;
	api->npolicies = opts->npolicies;
	api->token_lifetime = opts->token_lifetime;
	api->fed_allowed = opts->fed_allowed;
	api->nfed_allowed = opts->nfed_allowed;
	if (opts->signed_cache_max > 0 && opts->signed_reuse_s > 0) {
		api->signed_cache = cache_new(opts->signed_cache_max);
		api->signed_reuse_ms = (uint64_t)opts->signed_reuse_s * 1000;
		/* A reused association still has half its validity left. */
		if (api->signed_reuse_ms > api->validity_ms / 2)
			api->signed_reuse_ms = api->validity_ms / 2;
	}
	return api;
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	cidr_list_free(&api->auth_allow);
	cidr_list_free(&api->metrics_allow);
	cache_free(api->signed_cache);
	cache_free(api->token_cache);
	secure_wipe(api->token_hkey, sizeof(api->token_hkey));
	cache_free(api->fail_user);
	cache_free(api->fail_peer);
	free(api->server_name);
	free(api);
}
