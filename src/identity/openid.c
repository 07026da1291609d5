#include "identity/openid.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/json.h"
#include "core/log.h"
#include "core/mxid.h"
#include "core/util.h"

/* The federation port when neither the name nor delegation gives one. */
#define FEDERATION_PORT 8448

struct check {
	struct fetch_engine *engine;
	char *server_name;
	char *token;
	openid_cb cb;
	void *arg;
};

static bool
is_ip_literal(const char *host, size_t len)
{
	char buf[64];
	unsigned char addr[16];

	if (len == 0 || len >= sizeof(buf))
		return false;
	if (host[0] == '[')
		return true; /* mxid_server_name_valid checked the literal */
	memcpy(buf, host, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, addr) == 1;
}

/* "host", "host:port", "[v6]", "[v6]:port" → https://…:port. */
static char *
base_of(const char *name)
{
	const char *end = name[0] == '[' ? strchr(name, ']') + 1 :
					   name + strcspn(name, ":");

	if (*end == ':')
		return xasprintf("https://%s", name);
	return xasprintf("https://%s:%d", name, FEDERATION_PORT);
}

char *
openid_direct_base(const char *name)
{
	const char *end = name[0] == '[' ? strchr(name, ']') + 1 :
					   name + strcspn(name, ":");

	if (*end == ':' || is_ip_literal(name, (size_t)(end - name)))
		return base_of(name);
	return NULL;
}

char *
openid_parse_well_known(const char *body, size_t len)
{
	const char *why, *server;
	json_t *root = json_parse(body, len, &why);
	char *out = NULL;

	server = json_string_value(json_object_get(root, "m.server"));
	if (server != NULL && mxid_server_name_valid(server))
		out = xstrdup(server);
	json_decref(root);
	return out;
}

static void
check_finish(struct check *c, enum backend_verdict verdict,
    enum backend_fault fault, const char *user_id)
{
	struct openid_result res = { verdict, fault, user_id };

	c->cb(&res, c->arg);
	secret_free(c->token);
	free(c->server_name);
	free(c);
}

static void
on_userinfo(const struct fetch_result *fr, void *arg)
{
	struct check *c = arg;
	const char *why, *sub, *colon;
	json_t *root;

	if (fr->outcome != FETCH_ANSWERED) {
		log_warnx("homeserver %s: %s", c->server_name, fr->error);
		check_finish(c, BACKEND_ERROR, fr->outcome == FETCH_TIMEOUT ?
		    BACKEND_FAULT_TIMEOUT : BACKEND_FAULT_BAD_GATEWAY, NULL);
		return;
	}
	if (fr->status != 200) {
		log_info("homeserver %s refused an OpenID token (HTTP %ld)",
		    c->server_name, fr->status);
		check_finish(c, fr->status >= 500 ? BACKEND_ERROR : BACKEND_NO,
		    BACKEND_FAULT_BAD_GATEWAY, NULL);
		return;
	}
	root = json_parse(fr->body, fr->body_len, &why);
	sub = json_string_value(json_object_get(root, "sub"));
	colon = sub ? strchr(sub, ':') : NULL;
	/* The homeserver may only vouch for its own users. */
	if (sub == NULL || !mxid_valid(sub) ||
	    strcmp(colon + 1, c->server_name) != 0) {
		log_warnx("homeserver %s: userinfo names no user of its own",
		    c->server_name);
		check_finish(c, BACKEND_NO, BACKEND_FAULT_NONE, NULL);
	} else {
		check_finish(c, BACKEND_YES, BACKEND_FAULT_NONE, sub);
	}
	json_decref(root);
}

static void
ask_userinfo(struct check *c, const char *base)
{
	char *escaped = curl_easy_escape(NULL, c->token, 0);
	char *url;

	if (escaped == NULL)
		fatalx("out of memory escaping a token");
	url = xasprintf("%s/_matrix/federation/v1/openid/userinfo"
	    "?access_token=%s", base, escaped);
	secure_wipe(escaped, strlen(escaped));
	curl_free(escaped);
	if (fetch_get(c->engine, url, on_userinfo, c) != 0)
		check_finish(c, BACKEND_ERROR, BACKEND_FAULT_BAD_GATEWAY, NULL);
	secret_free(url);
}

static void
on_well_known(const struct fetch_result *fr, void *arg)
{
	struct check *c = arg;
	char *delegated = NULL, *base;

	if (fr->outcome == FETCH_ANSWERED && fr->status == 200)
		delegated = openid_parse_well_known(fr->body, fr->body_len);
	base = base_of(delegated ? delegated : c->server_name);
	log_debug("homeserver %s: federation at %s", c->server_name, base);
	ask_userinfo(c, base);
	free(base);
	free(delegated);
}

int
openid_verify(struct fetch_engine *engine, const char *server_name,
    const char *token, openid_cb cb, void *arg)
{
	struct check *c = xcalloc(1, sizeof(*c));
	char *base = openid_direct_base(server_name);
	char *url;

	c->engine = engine;
	c->server_name = xstrdup(server_name);
	c->token = xstrdup(token);
	c->cb = cb;
	c->arg = arg;
	if (base != NULL) {
		ask_userinfo(c, base);
		free(base);
		return 0;
	}
	url = xasprintf("https://%s/.well-known/matrix/server", server_name);
	if (fetch_get(engine, url, on_well_known, c) != 0) {
		free(url);
		secret_free(c->token);
		free(c->server_name);
		free(c);
		return -1;
	}
	free(url);
	return 0;
}
