/*
 * POST /_matrix-internal/identity/v1/check_credentials: the Synapse REST
 * password provider's question "is this user's password right?".
 *
 * The module indexes auth.profile unconditionally on success and raises on
 * any non-2xx, so a verdict is always 200 with the full shape, and a store
 * failure is a 502/504 that makes the login fail rather than succeed.
 */
#include <string.h>

#include "api/internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mxid.h"

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
	struct http_request *req = arg;
	json_t *auth;

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

void
api_check_credentials(struct api *api, struct http_request *req)
{
	const json_t *user, *id, *password;
	json_t *body;

	if (!cidr_list_match(&api->auth_allow, http_req_peer(req))) {
		log_info("check_credentials refused: caller not in auth.allowFrom");
		api_reply_error(req, 403, "M_FORBIDDEN",
		    "This endpoint is for the homeserver only");
		return;
	}
	body = api_body_object(req);
	if (body == NULL)
		return;
	user = json_object_get(body, "user");
	id = json_object_get(user, "id");
	password = json_object_get(user, "password");
	if (user != NULL && !json_is_object(user)) {
		api_reply_error(req, 400, "M_BAD_JSON", "user must be an object");
	} else if (user == NULL || id == NULL || password == NULL) {
		api_reply_error(req, 400, "M_MISSING_PARAMS",
		    "user.id and user.password are required");
	} else if (!json_is_string(id) || !json_is_string(password)) {
		api_reply_error(req, 400, "M_BAD_JSON",
		    "user.id and user.password must be strings");
	} else if (!mxid_valid(json_string_value(id))) {
		api_reply_error(req, 400, "M_INVALID_PARAM",
		    "user.id is not a valid Matrix user id");
	} else if (identity_authenticate(api->identity, json_string_value(id),
		       json_string_value(password), on_verdict, req) != 0) {
		api_reply_error(req, 503, "M_UNKNOWN",
		    "Signpost is shutting down");
	}
	/* The wiping allocator clears the password with the tree. */
	json_decref(body);
}
