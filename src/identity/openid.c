#include "identity/openid.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/json.h"
#include "core/log.h"
#include "core/mxid.h"
#include "core/util.h"
#include "identity/srv.h"

/* The federation port when neither the name nor SRV gives one. */
#define FEDERATION_PORT 8448
/* The port of a URL without one: .well-known, and names found by SRV. */
#define HTTPS_PORT 443
/* Redirects followed for .well-known: the spec says to follow them and
 * avoid loops; a handful covers real set-ups (apex to www, http to s). */
#define WELL_KNOWN_REDIRECTS 5
/* SRV targets tried in turn while earlier ones are unreachable (refused,
 * DNS, TLS); a timeout is not retried, so this bounds the wait too. */
#define SRV_MAX_ATTEMPTS 3
/* The DNS bound when the config has none (rest.connectTimeout's
 * default). */
#define DEFAULT_DNS_TIMEOUT_MS 2000

struct check {
	struct fetch_engine *engine;
	const struct openid_config *config; /* may be NULL; read-only, also
					       on the lookup thread */
	char *server_name;   /* as the client gave it: sub must match */
	char *token;
	/* The name steps 4-6 resolve: the server name's host, or the
	 * delegated one; also the Host header and TLS name there. */
	char host[HOSTPORT_HOST_MAX + 1];
	struct srv_answer srv; /* filled by the lookup thread */
	bool via_srv;          /* userinfo calls go to srv.targets */
	size_t next_target;
	openid_cb cb;
	void *arg;
};

int
openid_direct_dest(const char *name, struct openid_dest *dest)
{
	struct hostport hp;

	if (strlen(name) >= sizeof(dest->authority) ||
	    hostport_parse(name, &hp) != 0 || (!hp.ip && hp.port < 0))
		return -1;
	/* The Host header is the name as written, port included only when
	 * it was (steps 1 and 2, and 3.1-3.2 for a delegated name). */
	strcpy(dest->authority, name);
	strcpy(dest->host, hp.host);
	dest->port = hp.port > 0 ? hp.port : FEDERATION_PORT;
	return 0;
}

void
openid_map_dest(const struct openid_config *config, struct openid_dest *dest)
{
	struct hostport from, to;

	/* Parsed per call: a few short lines, once per registration. */
	for (size_t i = 0; config && i < config->nconnect_to; i++)
		if (hostport_parse_mapping(config->connect_to[i], &from,
			&to) == 0 && from.port == dest->port &&
		    strcasecmp(from.host, dest->host) == 0) {
			strcpy(dest->host, to.host);
			dest->port = to.port;
			return;
		}
}

char *
openid_connect_line(const struct openid_dest *dest)
{
	struct hostport url;

	if (hostport_parse(dest->authority, &url) != 0)
		return NULL; /* cannot happen: authorities come from parsing */
	if (url.port < 0)
		url.port = HTTPS_PORT;
	if (dest->port == url.port && strcasecmp(dest->host, url.host) == 0)
		return NULL;
	return xasprintf("%s:%d:%s:%d", url.host, url.port, dest->host,
	    dest->port);
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

static void ask_userinfo(struct check *c, const struct openid_dest *dest,
    const char *step);

/* RFC 2782: the next target in order, after an unreachable one. */
static bool
try_next_target(struct check *c)
{
	const struct srv_target *t;
	struct openid_dest dest;

	if (!c->via_srv || c->next_target >= c->srv.n ||
	    c->next_target >= SRV_MAX_ATTEMPTS)
		return false;
	t = &c->srv.targets[c->next_target++];
	snprintf(dest.authority, sizeof(dest.authority), "%s", c->host);
	snprintf(dest.host, sizeof(dest.host), "%s", t->host);
	dest.port = t->port;
	ask_userinfo(c, &dest, c->srv.service);
	return true;
}

static void
on_userinfo(const struct fetch_result *fr, void *arg)
{
	struct check *c = arg;
	const char *why, *sub, *colon;
	json_t *root;

	if (fr->outcome != FETCH_ANSWERED) {
		log_warnx("homeserver %s: %s", c->server_name, fr->error);
		if (fr->outcome == FETCH_UNREACHABLE && try_next_target(c))
			return;
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
ask_userinfo(struct check *c, const struct openid_dest *found,
    const char *step)
{
	char *escaped = curl_easy_escape(NULL, c->token, 0);
	struct openid_dest dest = *found;
	char *line, *url;
	int rc;

	if (escaped == NULL)
		fatalx("out of memory escaping a token");
	openid_map_dest(c->config, &dest);
	line = openid_connect_line(&dest);
	log_debug("homeserver %s: %s: https://%s at %s:%d%s%s", c->server_name,
	    step, found->authority, found->host, found->port,
	    line ? ", connect-to " : "", line ? line : "");
	url = xasprintf("https://%s/_matrix/federation/v1/openid/userinfo"
	    "?access_token=%s", dest.authority, escaped);
	secure_wipe(escaped, strlen(escaped));
	curl_free(escaped);
	rc = fetch_get_with(c->engine, url, &(struct fetch_call_opts){
	    .connect_to = line }, on_userinfo, c);
	secret_free(url);
	free(line);
	if (rc != 0)
		check_finish(c, BACKEND_ERROR, BACKEND_FAULT_BAD_GATEWAY, NULL);
}

/* Runs on a lookup thread (fetch_run): may block up to the DNS bound. */
static void
srv_work(void *arg)
{
	struct check *c = arg;
	const struct openid_config *config = c->config;
	struct srv_opts opts = {
		.resolver = config && config->resolver && *config->resolver ?
		    config->resolver : NULL,
		.timeout_ms = config && config->dns_timeout_ms > 0 ?
		    config->dns_timeout_ms : DEFAULT_DNS_TIMEOUT_MS,
	};

	srv_lookup(&opts, c->host, &c->srv);
}

/* Back on the engine thread with the SRV answer: steps 4-6 (3.3-3.5). */
static void
srv_done(void *arg)
{
	struct check *c = arg;
	struct openid_dest dest;

	switch (c->srv.status) {
	case SRV_FOUND:
		c->via_srv = true;
		try_next_target(c);
		return;
	case SRV_NONE:
		snprintf(dest.authority, sizeof(dest.authority), "%s", c->host);
		snprintf(dest.host, sizeof(dest.host), "%s", c->host);
		dest.port = FEDERATION_PORT;
		ask_userinfo(c, &dest, "no SRV record");
		return;
	case SRV_UNAVAILABLE:
		log_warnx("homeserver %s: SRV %s.%s says there is no service",
		    c->server_name, c->srv.service, c->host);
		break;
	case SRV_TIMEOUT:
	case SRV_ERROR:
		log_warnx("homeserver %s: %s", c->server_name, c->srv.error);
		break;
	}
	check_finish(c, BACKEND_ERROR, c->srv.status == SRV_TIMEOUT ?
	    BACKEND_FAULT_TIMEOUT : BACKEND_FAULT_BAD_GATEWAY, NULL);
}

static void
srv_step(struct check *c)
{
	if (fetch_run(c->engine, srv_work, srv_done, c) != 0) {
		log_warnx("homeserver %s: cannot start an SRV lookup (engine "
		    "stopping or %d lookups under way)", c->server_name,
		    FETCH_MAX_JOBS);
		check_finish(c, BACKEND_ERROR, BACKEND_FAULT_BAD_GATEWAY, NULL);
	}
}

static void
on_well_known(const struct fetch_result *fr, void *arg)
{
	struct check *c = arg;
	struct openid_dest dest;
	struct hostport hp;
	char *delegated = NULL;

	if (fr->outcome == FETCH_ANSWERED && fr->status == 200)
		delegated = openid_parse_well_known(fr->body, fr->body_len);
	if (delegated == NULL) {
		log_debug("homeserver %s: no delegation in .well-known (%s)",
		    c->server_name, fr->outcome == FETCH_ANSWERED ?
		    "answer not used" : fr->error);
		srv_step(c);
	} else if (openid_direct_dest(delegated, &dest) == 0) {
		ask_userinfo(c, &dest, ".well-known");
	} else if (hostport_parse(delegated, &hp) == 0) {
		/* A delegated hostname without a port goes through SRV
		 * itself, and is then the Host header and TLS name. */
		log_debug("homeserver %s: .well-known delegates to %s",
		    c->server_name, hp.host);
		strcpy(c->host, hp.host);
		srv_step(c);
	} else {
		srv_step(c); /* cannot happen: the parser checked the name */
	}
	free(delegated);
}

int
openid_verify(struct fetch_engine *engine,
    const struct openid_config *config, const char *server_name,
    const char *token, openid_cb cb, void *arg)
{
	struct check *c = xcalloc(1, sizeof(*c));
	struct openid_dest dest;
	struct hostport hp;
	char *url, *line;
	int rc;

	c->engine = engine;
	c->config = config;
	c->server_name = xstrdup(server_name);
	c->token = xstrdup(token);
	c->cb = cb;
	c->arg = arg;
	if (openid_direct_dest(server_name, &dest) == 0) {
		ask_userinfo(c, &dest, "server name");
		return 0;
	}
	if (hostport_parse(server_name, &hp) != 0) {
		rc = -1;
		goto out;
	}
	strcpy(c->host, hp.host);
	snprintf(dest.authority, sizeof(dest.authority), "%s", hp.host);
	snprintf(dest.host, sizeof(dest.host), "%s", hp.host);
	dest.port = HTTPS_PORT;
	openid_map_dest(config, &dest);
	line = openid_connect_line(&dest);
	url = xasprintf("https://%s/.well-known/matrix/server", hp.host);
	rc = fetch_get_with(engine, url, &(struct fetch_call_opts){
	    .connect_to = line, .https_redirects = WELL_KNOWN_REDIRECTS },
	    on_well_known, c);
	free(url);
	free(line);
out:
	if (rc != 0) {
		secret_free(c->token);
		free(c->server_name);
		free(c);
		return -1;
	}
	return 0;
}
