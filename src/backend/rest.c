#include "backend/rest.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/rest_internal.h"
#include "core/json.h"
#include "config/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/mxid.h"
#include "core/util.h"

/* A webapp that returns more 3PIDs than this for one user is broken or
 * hostile; the profile goes to the homeserver, which stores each one. */
#define REST_MAX_PROFILE_THREEPIDS 1000

struct auth_call {
	struct rest *rest;
	backend_auth_cb cb;
	void *arg;
};

int
rest_parse_id(const json_t *id, struct backend_id *out, const char **why)
{
	const char *type, *value;

	if (!json_is_object(id)) {
		*why = "id is missing or not an object";
		return -1;
	}
	type = json_string_value(json_object_get(id, "type"));
	value = json_string_value(json_object_get(id, "value"));
	if (type == NULL || value == NULL) {
		*why = "id.type and id.value must be strings";
		return -1;
	}
	if (strcasecmp(type, "localpart") == 0)
		out->type = BACKEND_ID_LOCALPART;
	else if (strcasecmp(type, "mxid") == 0)
		out->type = BACKEND_ID_MXID;
	else {
		*why = "id.type is neither \"localpart\" nor \"mxid\"";
		return -1;
	}
	if (value[0] == '\0') {
		*why = "id.value is empty";
		return -1;
	}
	/* Checked here so the log names the endpoint that sent it. */
	if (out->type == BACKEND_ID_MXID && !mxid_valid(value)) {
		*why = "id.value is not a valid Matrix user id";
		return -1;
	}
	if (out->type == BACKEND_ID_LOCALPART &&
	    !mxid_localpart_valid(value, strlen(value))) {
		*why = "id.value is not a valid localpart";
		return -1;
	}
	out->value = value;
	return 0;
}

static int
parse_profile(const json_t *profile, struct rest_auth_answer *out,
    const char **why)
{
	const json_t *name, *list, *item;
	size_t i;

	if (profile == NULL || json_is_null(profile))
		return 0;
	if (!json_is_object(profile)) {
		*why = "profile is not an object";
		return -1;
	}
	name = json_object_get(profile, "display_name");
	if (name != NULL && !json_is_null(name)) {
		if (!json_is_string(name)) {
			*why = "profile.display_name is not a string";
			return -1;
		}
		out->display_name = json_string_value(name);
	}
	list = json_object_get(profile, "three_pids");
	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list)) {
		*why = "profile.three_pids is not an array";
		return -1;
	}
	if (json_array_size(list) > REST_MAX_PROFILE_THREEPIDS) {
		*why = "profile.three_pids has too many entries";
		return -1;
	}
	out->threepids = xcalloc(json_array_size(list), sizeof(*out->threepids));
	json_array_foreach(list, i, item) {
		const char *medium = json_string_value(json_object_get(item, "medium"));
		const char *address = json_string_value(json_object_get(item, "address"));

		if (medium == NULL || address == NULL) {
			*why = "a profile.three_pids entry lacks medium or address strings";
			return -1;
		}
		out->threepids[out->nthreepids].medium = medium;
		out->threepids[out->nthreepids].address = address;
		out->nthreepids++;
	}
	return 0;
}

int
rest_parse_auth_answer(const char *body, size_t len,
    struct rest_auth_answer *out, const char **why)
{
	const json_t *auth, *success;

	memset(out, 0, sizeof(*out));
	out->root = json_parse(body, len, why);
	if (out->root == NULL)
		goto fail;
	auth = json_object_get(out->root, "auth");
	if (!json_is_object(auth)) {
		*why = "no \"auth\" object";
		goto fail;
	}
	success = json_object_get(auth, "success");
	if (!json_is_boolean(success)) {
		*why = "auth.success is missing or not a boolean";
		goto fail;
	}
	out->success = json_is_true(success);
	if (!out->success)
		return 0;
	if (rest_parse_id(json_object_get(auth, "id"), &out->id, why) != 0)
		goto fail;
	if (parse_profile(json_object_get(auth, "profile"), out, why) != 0)
		goto fail;
	return 0;
fail:
	rest_auth_answer_clear(out);
	return -1;
}

void
rest_auth_answer_clear(struct rest_auth_answer *a)
{
	free(a->threepids);
	json_decref(a->root);
	memset(a, 0, sizeof(*a));
}

/* Room for "answered HTTP 999" and "malformed answer: <why>". */
static __thread char reason_buf[160];

bool
rest_answer_usable(const struct fetch_result *fr, const char *url,
    bool any_4xx_is_no, enum backend_fault *fault, const char **reason)
{
	*reason = NULL;
	if (fr->outcome == FETCH_ANSWERED && fr->status >= 200 &&
	    fr->status < 300)
		return true;
	if (fr->outcome == FETCH_ANSWERED && (fr->status == 404 ||
		(any_4xx_is_no && fr->status >= 400 && fr->status < 500)))
		return false;
	if (fr->outcome == FETCH_ANSWERED) {
		snprintf(reason_buf, sizeof(reason_buf), "answered HTTP %ld",
		    fr->status);
		*reason = reason_buf;
	} else {
		*reason = fr->error;
	}
	*fault = fr->outcome == FETCH_TIMEOUT ? BACKEND_FAULT_TIMEOUT :
						BACKEND_FAULT_BAD_GATEWAY;
	log_warnx("webapp %s: %s (%u ms)", url, *reason, fr->elapsed_ms);
	return false;
}

void
rest_count_call(const char *endpoint, const struct fetch_result *fr,
    bool failed)
{
	const char *outcome = "ok";

	if (fr->outcome == FETCH_TIMEOUT)
		outcome = "timeout";
	else if (fr->outcome != FETCH_ANSWERED)
		outcome = "unreachable";
	else if (failed && fr->status >= 200 && fr->status < 300)
		outcome = "malformed";
	else if (failed)
		outcome = "http_error";
	metrics_webapp_call(endpoint, outcome, fr->elapsed_ms);
}

void
rest_malformed(const struct fetch_result *fr, const char *url,
    const char *why, enum backend_fault *fault, const char **reason)
{
	snprintf(reason_buf, sizeof(reason_buf), "malformed answer: %s", why);
	*reason = reason_buf;
	*fault = BACKEND_FAULT_BAD_GATEWAY;
	log_warnx("webapp %s: %s (%u ms)", url, *reason, fr->elapsed_ms);
}

json_t *
rest_auth_request(const char *mxid, const char *localpart, const char *domain,
    const char *password)
{
	return json_pack("{s:{s:s,s:s,s:s,s:s}}", "auth", "mxid", mxid,
	    "localpart", localpart, "domain", domain, "password", password);
}

int
rest_post(struct rest *rest, const char *url, json_t *body, bool secret,
    fetch_cb cb, void *call)
{
	char *text;
	size_t len;

	if (body == NULL)
		return -1;
	text = json_dump(body, &len);
	json_decref(body);
	return fetch_post_json(rest->engine, url, text, len, secret, cb, call);
}

static void
on_auth_answer(const struct fetch_result *fr, void *arg)
{
	struct auth_call *call = arg;
	struct backend_auth_result res = { .verdict = BACKEND_NO };
	struct rest_auth_answer answer = { 0 };
	const char *why = NULL;

	/* The protocol lets a webapp refuse a login with any 4xx. */
	if (!rest_answer_usable(fr, call->rest->url_auth, true, &res.fault,
		&res.reason)) {
		if (res.reason != NULL)
			res.verdict = BACKEND_ERROR;
	} else if (rest_parse_auth_answer(fr->body, fr->body_len, &answer,
		       &why) != 0) {
		rest_malformed(fr, call->rest->url_auth, why, &res.fault,
		    &res.reason);
		res.verdict = BACKEND_ERROR;
	} else if (answer.success) {
		res.verdict = BACKEND_YES;
		res.id = answer.id;
		res.display_name = answer.display_name;
		res.threepids = answer.threepids;
		res.nthreepids = answer.nthreepids;
	}
	rest_count_call("auth", fr, res.verdict == BACKEND_ERROR);
	call->cb(&res, call->arg);
	rest_auth_answer_clear(&answer);
	free(call);
}

static int
rest_authenticate(void *self, const struct backend_auth_request *req,
    backend_auth_cb cb, void *arg)
{
	struct rest *rest = self;
	struct auth_call *call = xmalloc(sizeof(*call));

	call->rest = rest;
	call->cb = cb;
	call->arg = arg;
	if (rest_post(rest, rest->url_auth, rest_auth_request(req->mxid,
	    req->localpart, req->domain, req->password), true, on_auth_answer,
	    call) != 0) {
		free(call);
		return -1;
	}
	return 0;
}

static void
rest_destroy(void *self)
{
	struct rest *rest = self;

	free(rest->url_auth);
	free(rest->url_single);
	free(rest->url_bulk);
	free(rest->url_list);
	free(rest);
}

static const struct backend_ops rest_ops = {
	.name = "rest",
	.authenticate = rest_authenticate,
	.lookup = rest_lookup,
	.bulk_lookup = rest_bulk_lookup,
	.list = rest_list,
	.destroy = rest_destroy,
};

void
rest_backend_init(const struct rest_opts *opts, struct backend *out)
{
	struct rest *rest = xcalloc(1, sizeof(*rest));

	rest->url_auth = opts->url_auth ? xstrdup(opts->url_auth) : NULL;
	rest->url_single = opts->url_single ? xstrdup(opts->url_single) : NULL;
	rest->url_bulk = opts->url_bulk ? xstrdup(opts->url_bulk) : NULL;
	rest->url_list = opts->url_list ? xstrdup(opts->url_list) : NULL;
	rest->engine = opts->engine;
	out->ops = &rest_ops;
	out->self = rest;
	out->features = (rest->url_auth ? BACKEND_CAN_AUTH : 0) |
	    (rest->url_single ? BACKEND_CAN_SINGLE : 0) |
	    (rest->url_bulk ? BACKEND_CAN_BULK : 0) |
	    (rest->url_list ? BACKEND_CAN_LIST : 0);
}

void
rest_fetch_opts(const struct cfg *cfg, struct fetch_opts *out,
    struct fetch_header **headers)
{
	*headers = xcalloc(cfg->nheaders, sizeof(**headers));
	for (size_t i = 0; i < cfg->nheaders; i++) {
		(*headers)[i].name = cfg->headers[i].name;
		(*headers)[i].value = cfg->headers[i].value;
	}
	*out = (struct fetch_opts){
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.timeout_ms = cfg->timeout_ms,
		.tls_verify = cfg->tls_verify,
		.ca_file = cfg->ca_file,
		.max_conns = cfg->max_backend_conns,
		.max_response = cfg->max_response,
		.headers = *headers,
		.nheaders = cfg->nheaders,
	};
}
