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

json_t *
api_body_object(struct http_request *req)
{
	size_t len;
	const char *body = http_req_body(req, &len);
	const char *why;
	json_t *v = json_parse(body, len, &why);

	if (v == NULL) {
		char msg[96];

		snprintf(msg, sizeof(msg), "Request body is not JSON: %s", why);
		api_reply_error(req, 400, "M_NOT_JSON", msg);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		api_reply_error(req, 400, "M_BAD_JSON",
		    "Request body must be a JSON object");
		return NULL;
	}
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
};

static const struct route routes[] = {
	{ "GET", "/_matrix/identity/versions", reply_versions },
	{ "GET", "/_matrix/identity/api/v1", reply_empty },
	{ "GET", "/_matrix/identity/v2", reply_empty },
	{ "POST", "/_matrix-internal/identity/v1/check_credentials",
	    api_check_credentials },
	{ "GET", "/_matrix/identity/api/v1/lookup", api_lookup },
	{ "POST", "/_matrix/identity/api/v1/bulk_lookup", api_bulk_lookup },
	{ "GET", "/_matrix/identity/api/v1/pubkey/", api_pubkey },
	{ "GET", "/_matrix/identity/v2/pubkey/", api_pubkey },
	{ "POST", "/_matrix/identity/v2/account/register", api_v2_register },
	{ "GET", "/_matrix/identity/v2/account", api_v2_account },
	{ "POST", "/_matrix/identity/v2/account/logout", api_v2_logout },
	{ "GET", "/_matrix/identity/v2/terms", api_v2_terms },
	{ "POST", "/_matrix/identity/v2/terms", api_v2_terms_accept },
	{ "GET", "/_matrix/identity/v2/hash_details", api_v2_hash_details },
	{ "POST", "/_matrix/identity/v2/lookup", api_v2_lookup },
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
		api_reply_json(req, 200, json_object());
		return;
	}
	for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
		if (!route_matches(&routes[i], path))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, method) == 0) {
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
	api->identity = opts->identity;
	api->key = opts->key;
	api->server_name = xstrdup(opts->server_name);
	api->validity_ms = (uint64_t)opts->validity_s * 1000;
	api->max_bulk = opts->max_bulk;
	api->store = opts->store;
	api->fed_engine = opts->fed_engine;
	api->hashing = opts->hashing;
	api->policies = opts->policies;
	api->npolicies = opts->npolicies;
	api->token_lifetime = opts->token_lifetime;
	api->fed_allowed = opts->fed_allowed;
	api->nfed_allowed = opts->nfed_allowed;
	return api;
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	cidr_list_free(&api->auth_allow);
	free(api->server_name);
	free(api);
}
