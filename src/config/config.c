#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yaml.h>

#include "core/hostport.h"
#include "core/mxid.h"
#include "core/util.h"
#include "crypto/sign.h"

/* Largest config file read; anything bigger is a mistake, not a config. */
#define CFG_MAX_FILE (1024 * 1024)

enum opt_type {
	T_STR,      /* char *; YAML null is "" */
	T_BOOL,     /* bool */
	T_UINT,     /* unsigned, min..max */
	T_SECS,     /* unsigned seconds, min..max: 90, or ma1sd's "1m 30s" */
	T_LONG,     /* long, min..max */
	T_SIZE,     /* size_t byte count, min..max */
	T_PORT,     /* uint16_t, min..max */
	T_CIDRS,    /* struct cidr_list: a sequence of CIDRs, or one */
	T_HEADERS,  /* cfg->headers: a mapping of header name to value */
	T_STRLIST,  /* char ** + count after it: a list of strings, or one */
	T_POLICIES, /* cfg->policies: policy id -> version, terms */
	T_LOGLEVEL, /* enum log_level */
	T_LOGFMT,   /* bool log_json: "text" or "json" */
};

/*
 * One row per option. The default is written as it would be in the file
 * and goes through the same parser, so a default can never hold a value
 * the file could not. A check runs on non-empty strings (and on empty ones
 * for required keys) and returns an allocated message, or NULL if fine.
 */
struct option {
	const char *key;
	enum opt_type type;
	size_t off;
	int64_t min, max;
	const char *def; /* T_CIDRS: space-separated; NULL: no default */
	char *(*check)(const char *value);
	bool required;
};

/* Where an option was set, for "already set" and cross-key messages. */
struct seen {
	bool set;
	bool bad; /* its own value was rejected: skip checks built on it */
	yaml_mark_t key_mark;
	yaml_mark_t mark;
};

static char *check_server_name(const char *);
static char *check_ip_literal(const char *);
static char *check_readable_file(const char *);
static char *check_key_id(const char *);
static char *check_rotation_policy(const char *);
static char *check_resolver(const char *);
static char *check_connect_to(const char *);

#define F(field) offsetof(struct cfg, field)
/* Row shapes: a string with an optional check, a bounded number, the rest. */
#define STR(key, field, def, check) \
	{ key, T_STR, F(field), 0, 0, def, check, false }
#define NUM(key, type, field, min, max, def) \
	{ key, type, F(field), min, max, def, NULL, false }
#define VAL(key, type, field, def) \
	{ key, type, F(field), 0, 0, def, NULL, false }
#define MXISD_API "/_mxisd/identity/api/v1"

static const struct option options[] = {
	{ "matrix.domain", T_STR, F(domain), 0, 0, NULL, check_server_name,
	    true },
	STR("server.name", server_name, NULL, check_server_name),
	NUM("server.port", T_PORT, port, 1, 65535, "8090"),
	STR("server.address", bind_address, NULL, check_ip_literal),
	STR("server.hostname", hostname, NULL, NULL),
	NUM("server.threads", T_UINT, threads, 0, 64, "0"),
	NUM("server.maxBodySize", T_SIZE, max_body, 1024, 268435456, "4194304"),
	NUM("server.maxHeaderSize", T_SIZE, max_header, 2048, 1048576, "3072"),
	NUM("server.connectionTimeout", T_SECS, conn_timeout, 1, 3600, "30"),
	NUM("server.maxConnections", T_UINT, max_clients, 1, 1000000, "16384"),
	NUM("server.maxConcurrentRequests", T_UINT, max_active, 1, 1000000,
	    "4096"),
	VAL("auth.allowFrom", T_CIDRS, auth_allow, "127.0.0.0/8 ::1/128 "
	    "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7"),
	NUM("auth.rateLimit.maxFailuresPerUser", T_UINT, fail_user_max, 0,
	    1000000, "10"),
	NUM("auth.rateLimit.maxFailuresPerAddress", T_UINT, fail_peer_max, 0,
	    100000000, "0"),
	NUM("auth.rateLimit.window", T_SECS, fail_window, 1, 604800, "300"),
	NUM("auth.rateLimit.maxTracked", T_UINT, fail_tracked, 1, 10000000,
	    "100000"),
	VAL("metrics.enabled", T_BOOL, metrics_enabled, "true"),
	VAL("metrics.allowFrom", T_CIDRS, metrics_allow, "127.0.0.0/8 ::1/128 "
	    "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7"),
	VAL("rest.enabled", T_BOOL, rest_enabled, "false"),
	STR("rest.host", rest_host, NULL, NULL),
	STR("rest.endpoints.auth", url_auth, MXISD_API "/auth", NULL),
	STR("rest.endpoints.identity.single", url_single,
	    MXISD_API "/lookup/single", NULL),
	STR("rest.endpoints.identity.bulk", url_bulk,
	    MXISD_API "/lookup/bulk", NULL),
	STR("rest.endpoints.identity.list", url_list, "", NULL),
	NUM("rest.connectTimeout", T_LONG, connect_timeout_ms, 1, 60000, "2000"),
	NUM("rest.timeout", T_LONG, timeout_ms, 1, 300000, "5000"),
	VAL("rest.tlsVerify", T_BOOL, tls_verify, "true"),
	STR("rest.caFile", ca_file, NULL, check_readable_file),
	NUM("rest.maxConnections", T_LONG, max_backend_conns, 1, 4096, "32"),
	NUM("rest.maxResponseSize", T_SIZE, max_response, 1024, 1073741824,
	    "16777216"),
	VAL("rest.headers", T_HEADERS, headers, NULL),
	STR("key.path", key_path, "/var/lib/signpost/signing.key", NULL),
	STR("key.id", key_id, "ed25519:0", check_key_id),
	NUM("lookup.validity", T_SECS, lookup_validity, 60, 3153600000u, "86400"),
	NUM("lookup.maxBulkSize", T_UINT, max_bulk, 1, 1000000, "10000"),
	NUM("lookup.bulkChunkSize", T_UINT, bulk_chunk, 1, 100000, "1000"),
	NUM("lookup.batchAfter", T_UINT, batch_after, 0, 100000, "8"),
	VAL("lookup.cache.enabled", T_BOOL, cache_enabled, "true"),
	NUM("lookup.cache.ttl", T_SECS, cache_ttl, 0, 604800, "300"),
	NUM("lookup.cache.negativeTtl", T_SECS, cache_negative_ttl, 0, 604800,
	    "60"),
	NUM("lookup.cache.maxEntries", T_UINT, cache_max, 1, 100000000,
	    "100000"),
	STR("storage.provider.sqlite.database", db_path,
	    "/var/lib/signpost/signpost.db", NULL),
	NUM("accounts.tokenLifetime", T_SECS, token_lifetime, 0, 3153600000u,
	    "31536000"),
	VAL("federation.tlsVerify", T_BOOL, fed_tls_verify, "true"),
	VAL("federation.allowPrivateAddresses", T_BOOL, fed_allow_private,
	    "false"),
	VAL("federation.allowedServers", T_STRLIST, fed_allowed, NULL),
	STR("federation.resolver", fed_resolver, NULL, check_resolver),
	{ "federation.connectTo", T_STRLIST, F(fed_connect_to), 0, 0, NULL,
	    check_connect_to, false },
	VAL("policy.policies", T_POLICIES, policies, NULL),
	NUM("hashing.pepperLength", T_UINT, pepper_length, 8, 128, "20"),
	STR("hashing.rotationPolicy", rotation_policy, "none",
	    check_rotation_policy),
	NUM("hashing.delay", T_SECS, pepper_rotation, 0, 3153600000u, "0"),
	NUM("lookup.indexRefresh", T_SECS, index_refresh, 1, 604800, "600"),
	NUM("lookup.indexRetry", T_SECS, index_retry, 1, 604800, "30"),
	VAL("logging.level", T_LOGLEVEL, log_level, "info"),
	VAL("logging.format", T_LOGFMT, log_json, "text"),
};

#undef F
#undef STR
#undef NUM
#undef VAL

/* The endpoints resolved against rest.host once everything is read. */
static const struct {
	const char *key;
	size_t off;
} endpoints[] = {
	{ "rest.endpoints.auth", offsetof(struct cfg, url_auth) },
	{ "rest.endpoints.identity.single", offsetof(struct cfg, url_single) },
	{ "rest.endpoints.identity.bulk", offsetof(struct cfg, url_bulk) },
	{ "rest.endpoints.identity.list", offsetof(struct cfg, url_list) },
};

struct loader {
	struct cfg *cfg;
	const char *name; /* file name for messages */
	const char *text; /* the whole file, to place reader errors */
	size_t len;
	FILE *errs;       /* NULL: count problems without printing */
	yaml_document_t *doc;
	int nerrors;
	struct seen seen[ARRAY_LEN(options)];
};

/*
 * Messages. A NULL mark means "no place in the file" and prints as 1:1 so
 * that every line keeps the same shape for tools and tests.
 */
static void
vreport(struct loader *ld, const yaml_mark_t *m, const char *key,
    const char *kind, const char *fmt, va_list ap)
{
	if (ld->errs == NULL)
		return;
	fprintf(ld->errs, "%s:%zu:%zu: %s: %s", ld->name,
	    m ? m->line + 1 : 1, m ? m->column + 1 : 1, key, kind);
	vfprintf(ld->errs, fmt, ap);
	fputc('\n', ld->errs);
}

static void __attribute__((format(printf, 4, 5)))
error_at(struct loader *ld, const yaml_mark_t *m, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	ld->nerrors++;
	va_start(ap, fmt);
	vreport(ld, m, key, "", fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
warn_at(struct loader *ld, const yaml_mark_t *m, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ld, m, key, "warning: ", fmt, ap);
	va_end(ap);
}

/* Value checks shared by the table. */

/* Matrix server names, with the same rules as user ids' (core/mxid). */
static char *
check_server_name(const char *v)
{
	if (mxid_server_name_valid(v))
		return NULL;
	return xstrdup("must be a server name: a hostname or IP literal with "
	    "an optional :port");
}

static char *
check_ip_literal(const char *v)
{
	struct in6_addr a;

	if (inet_pton(AF_INET, v, &a) == 1 || inet_pton(AF_INET6, v, &a) == 1)
		return NULL;
	return xstrdup("must be an IPv4 or IPv6 address literal");
}

/* A DNS server is an address: finding it by name would need DNS. */
static char *
check_resolver(const char *v)
{
	struct hostport hp;

	if (hostport_parse(v, &hp) == 0 && hp.ip)
		return NULL;
	return xstrdup("must be an IP address with an optional port "
	    "(1.2.3.4, 1.2.3.4:5353, [::1]:5353)");
}

static char *
check_connect_to(const char *v)
{
	struct hostport from, to;

	if (hostport_parse_mapping(v, &from, &to) == 0)
		return NULL;
	return xasprintf("%s: must be host:port:target-host:target-port", v);
}

/* ma1sd also knows per_requests; rotating on a count of requests lets
 * any client force rotations, so Signpost offers time-based rotation. */
static char *
check_rotation_policy(const char *v)
{
	/* per_requests (ma1sd's example) is handled, with a warning, in
	 * finish(). */
	if (strcmp(v, "none") == 0 || strcmp(v, "per_seconds") == 0 ||
	    strcmp(v, "per_requests") == 0)
		return NULL;
	return xstrdup("must be none or per_seconds (with hashing.delay)");
}

/* Key ids are "<algorithm>:<version>"; only ed25519 signs. The signing
 * module's own rule, so that -t never passes an id the key refuses. */
static char *
check_key_id(const char *v)
{
	if (!sig_key_id_valid(v))
		return xasprintf("must be ed25519: followed by 1 to %d letters, "
		    "digits, _ or - (e.g. ed25519:0)", SIG_KEY_VERSION_MAX);
	return NULL;
}

static char *
check_readable_file(const char *v)
{
	struct stat st;

	if (access(v, R_OK) != 0 || stat(v, &st) != 0)
		return xasprintf("cannot read %s: %s", v, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return xasprintf("%s is not a regular file", v);
	return NULL;
}

/*
 * Returns 0 when url is an absolute http(s) URL naming a host. A base URL
 * (rest.host) must also have no query or fragment, since paths are
 * appended to it.
 */
static int
check_http_url(const char *url, bool base)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *part = NULL;
	int rc = -1;

	if (u == NULL)
		fatalx("out of memory parsing a URL");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		goto out;
	/* curl also reads one or three slashes ("http:/x/y" has host x),
	 * which a reader of the file would not; only "scheme://host". */
	if (strncmp(url + strlen(scheme), "://", 3) != 0 ||
	    url[strlen(scheme) + 3] == '/')
		goto out;
	if (host[0] == '\0')
		goto out;
	if (base && (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK))
		goto out;
	rc = 0;
out:
	curl_free(part);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

char *
cfg_join_url(const char *host, const char *path)
{
	size_t hlen = strlen(host);

	while (hlen > 0 && host[hlen - 1] == '/')
		hlen--;
	while (*path == '/')
		path++;
	return xasprintf("%.*s/%s", (int)hlen, host, path);
}

/* YAML helpers. libyaml's document API does not resolve tags, so plain
 * "~", "null" and nothing at all are recognised here. */

static bool
is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * Returns the scalar's text, "" for null, or NULL when it holds a NUL byte
 * (possible with "\0" in double quotes): C strings would silently cut it.
 */
static const char *
scalar_text(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (strlen(v) != n->data.scalar.length)
		return NULL;
	return is_null(n) ? "" : v;
}

static const char *
node_kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a mapping" : "a list";
}

static yaml_node_t *
node_at(struct loader *ld, int id)
{
	return yaml_document_get_node(ld->doc, id);
}

/* Setters, one per shape of value. */

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*out = strcasecmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return -1;
}

static void
add_cidr(struct loader *ld, const struct option *o, struct cidr_list *list,
    const char *text, const yaml_mark_t *m)
{
	struct cidr c;
	const char *why;

	if (text == NULL)
		error_at(ld, m, o->key, "contains a NUL byte");
	else if (cidr_parse(text, &c, &why) != 0)
		error_at(ld, m, o->key, "\"%s\": %s", text, why);
	else
		cidr_list_add(list, &c);
}

/* The table bounds keep v inside whichever type the field has. */
static void
store_int(const struct option *o, void *field, int64_t v)
{
	if (o->type == T_UINT || o->type == T_SECS)
		*(unsigned *)field = (unsigned)v;
	else if (o->type == T_LONG)
		*(long *)field = (long)v;
	else if (o->type == T_SIZE)
		*(size_t *)field = (size_t)v;
	else if (o->type == T_PORT)
		*(uint16_t *)field = (uint16_t)v;
}

static void
set_string(struct loader *ld, const struct option *o, char **field,
    const char *text, const yaml_mark_t *m)
{
	char *why;

	free(*field);
	*field = xstrdup(text);
	if (o->check == NULL || (text[0] == '\0' && !o->required))
		return;
	if ((why = o->check(text)) != NULL) {
		error_at(ld, m, o->key, "%s", why);
		free(why);
	}
}

/*
 * Seconds, as a plain number or as ma1sd wrote durations: space-separated
 * parts of digits and a unit, s, m, h or d ("1h 30m"). Returns 0 and sets
 * *out, or -1.
 */
static int
parse_duration(const char *s, int64_t *out)
{
	static const struct { char unit; int64_t secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	/* Far beyond any key's bound, and no overflow below it. */
	const int64_t cap = INT64_C(1) << 40;
	int64_t total = 0, n;
	char part[24];

	if (parse_int64(s, 0, cap, out) == 0)
		return 0;
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		size_t len = strcspn(s, " ");
		int64_t mult = 0;

		if (len < 2 || len >= sizeof(part))
			return -1;
		memcpy(part, s, len - 1);
		part[len - 1] = '\0';
		for (size_t i = 0; i < ARRAY_LEN(units); i++)
			if (units[i].unit == s[len - 1])
				mult = units[i].secs;
		if (mult == 0 || parse_int64(part, 0, cap, &n) != 0)
			return -1;
		total += n * mult;
		if (total > cap)
			return -1;
		s += len;
		while (*s == ' ')
			s++;
	}
	*out = total;
	return 0;
}

/* Sets a scalar-valued option from text: file values and defaults alike. */
static void
set_scalar(struct loader *ld, const struct option *o, const char *text,
    const yaml_mark_t *m)
{
	void *field = (char *)ld->cfg + o->off;
	int64_t n;

	switch (o->type) {
	case T_STR:
		set_string(ld, o, field, text, m);
		break;
	case T_BOOL:
		if (parse_bool(text, field) != 0)
			error_at(ld, m, o->key, "must be true or false");
		break;
	case T_UINT:
	case T_LONG:
	case T_SIZE:
	case T_PORT:
		if (parse_int64(text, o->min, o->max, &n) == 0)
			store_int(o, field, n);
		else if (o->type == T_SIZE)
			error_at(ld, m, o->key, "must be a number of bytes from "
			    "%" PRId64 " to %" PRId64, o->min, o->max);
		else
			error_at(ld, m, o->key, "must be an integer from "
			    "%" PRId64 " to %" PRId64, o->min, o->max);
		break;
	case T_SECS:
		if (parse_duration(text, &n) == 0 && n >= o->min && n <= o->max)
			store_int(o, field, n);
		else
			error_at(ld, m, o->key, "must be seconds from %" PRId64
			    " to %" PRId64 ", as a number or with units like "
			    "\"90s\", \"10m\", \"1h 30m\", \"7d\"", o->min, o->max);
		break;
	case T_LOGLEVEL:
		if (log_level_parse(text, field) != 0)
			error_at(ld, m, o->key,
			    "must be error, warn, info or debug");
		break;
	case T_LOGFMT:
		if (strcmp(text, "text") == 0 || strcmp(text, "json") == 0)
			*(bool *)field = strcmp(text, "json") == 0;
		else
			error_at(ld, m, o->key, "must be text or json");
		break;
	case T_CIDRS:
		add_cidr(ld, o, field, text, m);
		break;
	case T_HEADERS:
	case T_STRLIST:
	case T_POLICIES:
		break; /* never a scalar here: their setters handle them */
	}
}

/* A YAML list of CIDRs; a single scalar is a list of one, null is empty. */
static void
set_cidrs(struct loader *ld, const struct option *o, const yaml_node_t *v)
{
	struct cidr_list *list = (void *)((char *)ld->cfg + o->off);
	yaml_node_item_t *it;

	if (is_null(v))
		return;
	if (v->type == YAML_SCALAR_NODE) {
		add_cidr(ld, o, list, scalar_text(v), &v->start_mark);
		return;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		error_at(ld, &v->start_mark, o->key,
		    "expected a list of addresses or CIDR ranges, found %s",
		    node_kind(v));
		return;
	}
	for (it = v->data.sequence.items.start;
	    it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = node_at(ld, *it);

		if (item->type == YAML_SCALAR_NODE)
			add_cidr(ld, o, list, scalar_text(item),
			    &item->start_mark);
		else
			error_at(ld, &item->start_mark, o->key,
			    "list items must be single values, found %s",
			    node_kind(item));
	}
}

/* RFC 7230 token: the characters a header field name may use. */
static bool
is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return false;
	}
	return true;
}

/*
 * Header values may be secrets, so messages name the header, never the
 * value. A value with CR or LF would let the file inject extra headers.
 */
static void
add_header(struct loader *ld, const struct option *o, const yaml_node_t *k,
    const yaml_node_t *v)
{
	struct cfg *c = ld->cfg;
	const char *name, *value;

	if (k->type != YAML_SCALAR_NODE || (name = scalar_text(k)) == NULL ||
	    !is_token(name)) {
		error_at(ld, &k->start_mark, o->key, "header names must be "
		    "HTTP tokens (letters, digits and !#$%%&'*+-.^_`|~)");
		return;
	}
	if (v->type != YAML_SCALAR_NODE) {
		error_at(ld, &v->start_mark, o->key, "value of header \"%s\" "
		    "must be a single value, found %s", name, node_kind(v));
		return;
	}
	value = scalar_text(v);
	if (value == NULL || strpbrk(value, "\r\n") != NULL) {
		error_at(ld, &v->start_mark, o->key, "value of header \"%s\" "
		    "must not contain CR, LF or NUL", name);
		return;
	}
	for (size_t i = 0; i < c->nheaders; i++) {
		if (strcasecmp(c->headers[i].name, name) == 0) {
			error_at(ld, &k->start_mark, o->key,
			    "header \"%s\" is set twice", name);
			return;
		}
	}
	c->headers = xrealloc(c->headers, (c->nheaders + 1) * sizeof(*c->headers));
	c->headers[c->nheaders].name = xstrdup(name);
	c->headers[c->nheaders].value = xstrdup(value);
	c->nheaders++;
}

static void
set_headers(struct loader *ld, const struct option *o, const yaml_node_t *v)
{
	yaml_node_pair_t *p;

	if (is_null(v))
		return;
	if (v->type != YAML_MAPPING_NODE) {
		error_at(ld, &v->start_mark, o->key,
		    "expected a mapping of header names to values");
		return;
	}
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++)
		add_header(ld, o, node_at(ld, p->key), node_at(ld, p->value));
}

/* A list of plain strings; a single scalar is a list of one. */
static void
set_strlist(struct loader *ld, const struct option *o, const yaml_node_t *v)
{
	char ***list = (void *)((char *)ld->cfg + o->off);
	size_t *count = (void *)(list + 1);
	const yaml_node_t *one[1];
	yaml_node_item_t *it;

	if (is_null(v))
		return;
	if (v->type == YAML_MAPPING_NODE) {
		error_at(ld, &v->start_mark, o->key,
		    "expected a list of values, found a mapping");
		return;
	}
	for (it = v->type == YAML_SEQUENCE_NODE ? v->data.sequence.items.start :
						  NULL;
	    v->type != YAML_SEQUENCE_NODE || it < v->data.sequence.items.top;
	    it++) {
		const yaml_node_t *item = it ? node_at(ld, *it) : v;
		const char *text;

		one[0] = item;
		if (item->type != YAML_SCALAR_NODE ||
		    (text = scalar_text(item)) == NULL || *text == '\0') {
			error_at(ld, &one[0]->start_mark, o->key,
			    "list items must be non-empty single values");
		} else {
			char *why = o->check ? o->check(text) : NULL;

			if (why != NULL) {
				error_at(ld, &item->start_mark, o->key, "%s",
				    why);
				free(why);
			}
			*list = xrealloc(*list, (*count + 1) * sizeof(**list));
			(*list)[(*count)++] = xstrdup(text);
		}
		if (it == NULL)
			break;
	}
}

/* Reads a scalar member of a mapping node; NULL when absent. */
static const yaml_node_t *
member(struct loader *ld, const yaml_node_t *map, const char *name)
{
	yaml_node_pair_t *p;

	if (map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		const yaml_node_t *k = node_at(ld, p->key);

		if (k->type == YAML_SCALAR_NODE && scalar_text(k) != NULL &&
		    strcmp(scalar_text(k), name) == 0)
			return node_at(ld, p->value);
	}
	return NULL;
}

static char *
member_text(struct loader *ld, const yaml_node_t *map, const char *name)
{
	const yaml_node_t *v = member(ld, map, name);
	const char *text;

	if (v == NULL || v->type != YAML_SCALAR_NODE ||
	    (text = scalar_text(v)) == NULL || *text == '\0')
		return NULL;
	return xstrdup(text);
}

/* policy.policies.<id>: {version, terms: {<lang>: {name, url}}}. */
static void
add_policy(struct loader *ld, const struct option *o, const char *id,
    const yaml_node_t *v)
{
	struct cfg *c = ld->cfg;
	struct cfg_policy *pol;
	const yaml_node_t *terms;
	yaml_node_pair_t *p;

	if (v->type != YAML_MAPPING_NODE) {
		error_at(ld, &v->start_mark, o->key, "policy \"%s\" must be a "
		    "mapping with version and terms", id);
		return;
	}
	c->policies = xrealloc(c->policies,
	    (c->npolicies + 1) * sizeof(*c->policies));
	pol = &c->policies[c->npolicies++];
	memset(pol, 0, sizeof(*pol));
	pol->id = xstrdup(id);
	pol->version = member_text(ld, v, "version");
	if (pol->version == NULL)
		error_at(ld, &v->start_mark, o->key, "policy \"%s\" needs a "
		    "version", id);
	if (member(ld, v, "regexp") != NULL)
		warn_at(ld, &v->start_mark, o->key, "policy \"%s\": regexp is "
		    "ignored; the policy applies to every authenticated endpoint",
		    id);
	terms = member(ld, v, "terms");
	if (terms == NULL || terms->type != YAML_MAPPING_NODE ||
	    terms->data.mapping.pairs.start == terms->data.mapping.pairs.top) {
		error_at(ld, &v->start_mark, o->key, "policy \"%s\" needs terms: "
		    "a mapping of language to name and url", id);
		return;
	}
	for (p = terms->data.mapping.pairs.start;
	    p < terms->data.mapping.pairs.top; p++) {
		const yaml_node_t *lang = node_at(ld, p->key);
		const yaml_node_t *t = node_at(ld, p->value);
		struct cfg_policy_terms *pt;

		pol->terms = xrealloc(pol->terms,
		    (pol->nterms + 1) * sizeof(*pol->terms));
		pt = &pol->terms[pol->nterms++];
		pt->lang = lang->type == YAML_SCALAR_NODE && scalar_text(lang) ?
		    xstrdup(scalar_text(lang)) : xstrdup("");
		pt->name = member_text(ld, t, "name");
		pt->url = member_text(ld, t, "url");
		if (pt->lang[0] == '\0' || pt->name == NULL || pt->url == NULL ||
		    check_http_url(pt->url, false) != 0)
			error_at(ld, &t->start_mark, o->key, "policy \"%s\": each "
			    "language needs a name and an http(s) url", id);
	}
}

static void
set_policies(struct loader *ld, const struct option *o, const yaml_node_t *v)
{
	yaml_node_pair_t *p;

	if (is_null(v))
		return;
	if (v->type != YAML_MAPPING_NODE) {
		error_at(ld, &v->start_mark, o->key,
		    "expected a mapping of policy ids to policies");
		return;
	}
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	    p++) {
		const yaml_node_t *k = node_at(ld, p->key);

		if (k->type != YAML_SCALAR_NODE || scalar_text(k) == NULL ||
		    *scalar_text(k) == '\0')
			error_at(ld, &k->start_mark, o->key,
			    "policy ids must be non-empty single values");
		else
			add_policy(ld, o, scalar_text(k), node_at(ld, p->value));
	}
}

static void
apply(struct loader *ld, size_t i, const yaml_node_t *k, const yaml_node_t *v)
{
	const struct option *o = &options[i];
	struct seen *s = &ld->seen[i];
	int before = ld->nerrors;
	const char *text;

	if (s->set) {
		error_at(ld, &k->start_mark, o->key, "already set at %zu:%zu",
		    s->key_mark.line + 1, s->key_mark.column + 1);
		return;
	}
	s->set = true;
	s->key_mark = k->start_mark;
	s->mark = v->start_mark;
	if (o->type == T_CIDRS)
		set_cidrs(ld, o, v);
	else if (o->type == T_HEADERS)
		set_headers(ld, o, v);
	else if (o->type == T_STRLIST)
		set_strlist(ld, o, v);
	else if (o->type == T_POLICIES)
		set_policies(ld, o, v);
	else if (o->type == T_LOGLEVEL && v->type == YAML_MAPPING_NODE) {
		/* mxisd's Java logger levels per package: nothing here. */
		warn_at(ld, &v->start_mark, o->key, "per-package levels are "
		    "mxisd's; ignored, the level stays %s", o->def);
		set_scalar(ld, o, o->def, &v->start_mark);
	}
	else if (v->type != YAML_SCALAR_NODE)
		error_at(ld, &v->start_mark, o->key,
		    "expected a single value, found %s", node_kind(v));
	else if ((text = scalar_text(v)) == NULL)
		error_at(ld, &v->start_mark, o->key, "contains a NUL byte");
	else
		set_scalar(ld, o, text, &v->start_mark);
	s->bad = ld->nerrors != before;
}

/* The tree walk: nested maps and dotted keys become one dotted path. */

static int
find_option(const char *path)
{
	for (size_t i = 0; i < ARRAY_LEN(options); i++)
		if (strcmp(options[i].key, path) == 0)
			return (int)i;
	return -1;
}

/* True when path is a whole-segment prefix of some option's key. */
static bool
is_prefix(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < ARRAY_LEN(options); i++)
		if (strncmp(options[i].key, path, n) == 0 &&
		    options[i].key[n] == '.')
			return true;
	return false;
}

static void walk(struct loader *ld, const yaml_node_t *map, const char *prefix);

static void
visit(struct loader *ld, const char *path, const yaml_node_t *k,
    const yaml_node_t *v)
{
	int i = find_option(path);

	if (i >= 0)
		apply(ld, (size_t)i, k, v);
	else if (!is_prefix(path))
		/* mxisd files carry sections Signpost has no use for. */
		warn_at(ld, &k->start_mark, path, "unknown key, ignored");
	else if (v->type == YAML_MAPPING_NODE)
		walk(ld, v, path);
	else if (!is_null(v))
		error_at(ld, &v->start_mark, path,
		    "expected a mapping, found a single value or list");
}

/*
 * Recursion is bounded: it only descends through prefixes of option keys,
 * so a deeply nested or alias-heavy file cannot make it go deep.
 */
static void
walk(struct loader *ld, const yaml_node_t *map, const char *prefix)
{
	yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		yaml_node_t *k = node_at(ld, p->key), *v = node_at(ld, p->value);
		const char *name;
		char *path;

		if (k->type != YAML_SCALAR_NODE ||
		    (name = scalar_text(k)) == NULL || name[0] == '\0') {
			error_at(ld, &k->start_mark, prefix ? prefix : "yaml",
			    "keys must be non-empty strings");
			continue;
		}
		path = prefix ? xasprintf("%s.%s", prefix, name) : xstrdup(name);
		visit(ld, path, k, v);
		free(path);
	}
}

/* After the walk: defaults, then checks that involve several keys. */


static struct seen *
seen_of(struct loader *ld, const char *key)
{
	int i = find_option(key);

	return i >= 0 ? &ld->seen[i] : NULL;
}

static void
apply_defaults(struct loader *ld)
{
	for (size_t i = 0; i < ARRAY_LEN(options); i++) {
		const struct option *o = &options[i];
		char *copy, *word, *save;

		if (ld->seen[i].set)
			continue;
		if (o->required) {
			error_at(ld, NULL, o->key, "required key is missing");
		} else if (o->def != NULL && o->type == T_CIDRS) {
			copy = xstrdup(o->def);
			for (word = strtok_r(copy, " ", &save); word != NULL;
			    word = strtok_r(NULL, " ", &save))
				add_cidr(ld, o, (void *)((char *)ld->cfg + o->off),
				    word, NULL);
			free(copy);
		} else if (o->def != NULL) {
			set_scalar(ld, o, o->def, NULL);
		}
	}
}

/* The first place among keys that the file set, for cross-key messages. */
static const yaml_mark_t *
first_mark(struct loader *ld, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct seen *s = seen_of(ld, keys[i]);

		if (s != NULL && s->set)
			return &s->mark;
	}
	return NULL;
}

static void
empty_to_null(char **s)
{
	if (*s != NULL && **s == '\0') {
		free(*s);
		*s = NULL;
	}
}

/* Joins path endpoints to rest.host once it is known to be usable. */
static void
join_endpoints(struct loader *ld)
{
	struct cfg *c = ld->cfg;

	for (size_t i = 0; i < ARRAY_LEN(endpoints); i++) {
		char **url = (char **)((char *)c + endpoints[i].off);
		char *joined;

		if (*url == NULL || **url != '/')
			continue;
		joined = cfg_join_url(c->rest_host, *url);
		if (check_http_url(joined, false) != 0)
			error_at(ld, first_mark(ld, &endpoints[i].key, 1),
			    endpoints[i].key, "joined with rest.host it is not "
			    "a valid URL: %s", joined);
		free(*url);
		*url = joined;
	}
}

/*
 * An endpoint is off when empty, a full URL when it has a scheme, and a
 * path joined to rest.host when it starts with '/'. rest.host is checked
 * only when some endpoint needs it, as mxisd did.
 */
static void
resolve_endpoints(struct loader *ld)
{
	struct cfg *c = ld->cfg;
	const char *path_key = NULL;
	const char *where[] = { "rest.host", NULL, "rest.enabled" };

	for (size_t i = 0; i < ARRAY_LEN(endpoints); i++) {
		char **url = (char **)((char *)c + endpoints[i].off);

		if (!c->rest_enabled || *url == NULL || **url == '\0') {
			free(*url);
			*url = NULL;
		} else if (**url == '/') {
			if (path_key == NULL)
				path_key = endpoints[i].key;
		} else if (check_http_url(*url, false) != 0) {
			error_at(ld, first_mark(ld, &endpoints[i].key, 1),
			    endpoints[i].key, "must be a path starting with / "
			    "or an http(s) URL");
		}
	}
	if (path_key == NULL || seen_of(ld, "rest.host")->bad)
		return;
	where[1] = path_key;
	if (c->rest_host == NULL)
		error_at(ld, first_mark(ld, where, ARRAY_LEN(where)),
		    "rest.host", "required because %s is a path", path_key);
	else if (check_http_url(c->rest_host, true) != 0)
		error_at(ld, first_mark(ld, where, 1), "rest.host",
		    "must be an http(s) URL with a host and no query or fragment");
	else
		join_endpoints(ld);
}

/* Relative paths (key.path, the database) are taken from the config
 * file's folder, so a config and its files can move together (and the
 * demo runs anywhere). */
static void
resolve_relative(struct loader *ld, char **path)
{
	const char *slash = strrchr(ld->cfg->path, '/');
	char *abs;

	if (*path == NULL || (*path)[0] == '/' || (*path)[0] == '\0' ||
	    slash == NULL)
		return;
	abs = xasprintf("%.*s/%s", (int)(slash - ld->cfg->path),
	    ld->cfg->path, *path);
	free(*path);
	*path = abs;
}

static void
check_key_path(struct loader *ld)
{
	struct cfg *c = ld->cfg;

	if ((c->key_path == NULL || c->key_path[0] == '\0') &&
	    !seen_of(ld, "key.path")->bad)
		error_at(ld, first_mark(ld, (const char *[]){ "key.path" }, 1),
		    "key.path", "must not be empty");
	/* An empty value skips the per-key check (as for every optional
	 * string); an empty key id cannot sign, so it is an error here. */
	if ((c->key_id == NULL || c->key_id[0] == '\0') &&
	    !seen_of(ld, "key.id")->bad)
		error_at(ld, first_mark(ld, (const char *[]){ "key.id" }, 1),
		    "key.id", "must not be empty");
	resolve_relative(ld, &c->key_path);
}

static void
finish_rotation(struct loader *ld)
{
	struct cfg *c = ld->cfg;
	const char *policy = c->rotation_policy ? c->rotation_policy : "";
	const yaml_mark_t *m = first_mark(ld, (const char *[]){
	    "hashing.rotationPolicy", "hashing.delay" }, 2);

	if (strcmp(policy, "per_requests") == 0)
		/* ma1sd changed the pepper every N lookups; a pepper must
		 * come with an index built for it, which takes a listing. */
		warn_at(ld, m, "hashing.rotationPolicy", "per_requests is not "
		    "supported; the pepper does not rotate (use per_seconds)");
	if (strcmp(policy, "per_seconds") != 0) {
		c->pepper_rotation = 0;
	} else if (c->pepper_rotation == 0 &&
	    !seen_of(ld, "hashing.delay")->bad) {
		/* ma1sd rotated every 10 s then; rebuilding the index that
		 * often would hammer the webapp. */
		c->pepper_rotation = c->index_refresh;
		warn_at(ld, m, "hashing.delay", "not set; the pepper rotates "
		    "every lookup.indexRefresh (%u s)", c->index_refresh);
	}
}

/*
 * ma1sd's server.hostname was the address it listened on. Taking it as
 * server.address keeps an install that listened on loopback only from
 * becoming public when it moves to Signpost.
 */
static void
finish_hostname(struct loader *ld)
{
	struct cfg *c = ld->cfg;
	const char *h = c->hostname;
	const yaml_mark_t *m = first_mark(ld, (const char *[]){
	    "server.hostname" }, 1);
	char *why;

	if (h == NULL || h[0] == '\0' || c->bind_address != NULL)
		return;
	if (strcmp(h, "localhost") == 0)
		h = "127.0.0.1";
	if ((why = check_ip_literal(h)) != NULL) {
		free(why);
		error_at(ld, m, "server.hostname", "ma1sd listened on this "
		    "name; Signpost needs an IP address: set server.address");
		return;
	}
	c->bind_address = xstrdup(h);
}

static void
finish(struct loader *ld)
{
	static const char *const timeouts[] = { "rest.timeout",
	    "rest.connectTimeout" };
	struct cfg *c = ld->cfg;

	if (!seen_of(ld, timeouts[0])->bad && !seen_of(ld, timeouts[1])->bad &&
	    c->timeout_ms < c->connect_timeout_ms)
		error_at(ld, first_mark(ld, timeouts, 2), "rest.timeout",
		    "must be at least rest.connectTimeout (%ld)",
		    c->connect_timeout_ms);
	empty_to_null(&c->server_name);
	if (c->server_name == NULL && c->domain != NULL)
		c->server_name = xstrdup(c->domain);
	empty_to_null(&c->bind_address);
	empty_to_null(&c->ca_file);
	empty_to_null(&c->rest_host);
	check_key_path(ld);
	resolve_relative(ld, &c->db_path);
	finish_rotation(ld);
	finish_hostname(ld);
	resolve_endpoints(ld);
}

/* Loading. */

/* Reader errors carry a byte offset, not a mark; turn it into one. */
static void
yaml_error(struct loader *ld, const yaml_parser_t *p)
{
	yaml_mark_t m = p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR)
		fatalx("out of memory parsing %s", ld->name);
	if (p->error == YAML_READER_ERROR) {
		memset(&m, 0, sizeof(m));
		for (size_t i = 0; i < p->problem_offset && i < ld->len; i++) {
			if (ld->text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else {
				m.column++;
			}
		}
	}
	error_at(ld, &m, "yaml", "%s",
	    p->problem ? p->problem : "cannot parse the file");
}

/*
 * Header values are secrets; wipe the parse tree's copies of every scalar
 * and libyaml's input buffers before they go back to the allocator.
 */
static void
wipe_document(yaml_document_t *doc)
{
	for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE)
			secure_wipe(n->data.scalar.value, n->data.scalar.length);
}

static void
wipe_parser(yaml_parser_t *p)
{
	if (p->raw_buffer.start != NULL)
		secure_wipe(p->raw_buffer.start,
		    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	if (p->buffer.start != NULL)
		secure_wipe(p->buffer.start,
		    (size_t)(p->buffer.end - p->buffer.start));
}

/* A file holds one document; a second one is most likely a paste error. */
static void
check_one_document(struct loader *ld, yaml_parser_t *parser)
{
	yaml_document_t next;
	yaml_node_t *root;

	if (!yaml_parser_load(parser, &next)) {
		yaml_error(ld, parser);
		return;
	}
	if ((root = yaml_document_get_root_node(&next)) != NULL)
		error_at(ld, &root->start_mark, "yaml",
		    "only one document is allowed");
	wipe_document(&next);
	yaml_document_delete(&next);
}

struct cfg *
cfg_load_string(const char *name, const char *text, size_t len, FILE *errs)
{
	struct loader ld = { .name = name, .text = text, .len = len,
	    .errs = errs };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;

	ld.cfg = xcalloc(1, sizeof(*ld.cfg));
	ld.cfg->path = xstrdup(name);
	if (!yaml_parser_initialize(&parser))
		fatalx("out of memory creating a YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&ld, &parser);
		goto out_parser;
	}
	ld.doc = &doc;
	check_one_document(&ld, &parser);
	root = yaml_document_get_root_node(&doc);
	if (root != NULL && root->type != YAML_MAPPING_NODE && !is_null(root)) {
		error_at(&ld, &root->start_mark, "yaml",
		    "the top level must be a mapping of keys to values");
		goto out;
	}
	/* An empty file is an empty mapping: only required keys complain. */
	if (root != NULL && root->type == YAML_MAPPING_NODE)
		walk(&ld, root, NULL);
	apply_defaults(&ld);
	finish(&ld);
out:
	wipe_document(&doc);
	yaml_document_delete(&doc);
out_parser:
	wipe_parser(&parser);
	yaml_parser_delete(&parser);
	if (ld.nerrors > 0) {
		cfg_free(ld.cfg);
		return NULL;
	}
	return ld.cfg;
}

/*
 * Reads a whole file of at most CFG_MAX_FILE bytes into *out. Unbuffered,
 * so no stdio buffer keeps a copy of the secrets in it.
 */
static int
read_file(const char *path, FILE *errs, char **out, size_t *outlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t len;

	if (f == NULL) {
		if (errs)
			fprintf(errs, "%s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	setvbuf(f, NULL, _IONBF, 0);
	buf = xmalloc(CFG_MAX_FILE + 1);
	/* One byte past the cap tells "exactly full" from "too big". */
	len = fread(buf, 1, CFG_MAX_FILE + 1, f);
	if (ferror(f) || len > CFG_MAX_FILE) {
		if (errs && ferror(f))
			fprintf(errs, "%s: cannot read: %s\n", path, strerror(errno));
		else if (errs)
			fprintf(errs, "%s: larger than %d bytes\n", path,
			    CFG_MAX_FILE);
		fclose(f);
		secure_wipe(buf, len);
		free(buf);
		return -1;
	}
	fclose(f);
	*out = buf;
	*outlen = len;
	return 0;
}

struct cfg *
cfg_load(const char *path, FILE *errs)
{
	struct cfg *cfg;
	char *text;
	size_t len;

	if (read_file(path, errs, &text, &len) != 0)
		return NULL;
	cfg = cfg_load_string(path, text, len, errs);
	secure_wipe(text, len);
	free(text);
	return cfg;
}

void
cfg_free(struct cfg *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->domain);
	free(cfg->server_name);
	free(cfg->bind_address);
	free(cfg->hostname);
	cidr_list_free(&cfg->auth_allow);
	cidr_list_free(&cfg->metrics_allow);
	free(cfg->rest_host);
	free(cfg->url_auth);
	free(cfg->url_single);
	free(cfg->url_bulk);
	free(cfg->url_list);
	free(cfg->ca_file);
	free(cfg->key_path);
	free(cfg->key_id);
	free(cfg->db_path);
	free(cfg->rotation_policy);
	for (size_t i = 0; i < cfg->nfed_allowed; i++)
		free(cfg->fed_allowed[i]);
	free(cfg->fed_allowed);
	free(cfg->fed_resolver);
	for (size_t i = 0; i < cfg->nfed_connect_to; i++)
		free(cfg->fed_connect_to[i]);
	free(cfg->fed_connect_to);
	for (size_t i = 0; i < cfg->npolicies; i++) {
		struct cfg_policy *p = &cfg->policies[i];

		for (size_t j = 0; j < p->nterms; j++) {
			free(p->terms[j].lang);
			free(p->terms[j].name);
			free(p->terms[j].url);
		}
		free(p->terms);
		free(p->id);
		free(p->version);
	}
	free(cfg->policies);
	for (size_t i = 0; i < cfg->nheaders; i++) {
		free(cfg->headers[i].name);
		secret_free(cfg->headers[i].value);
	}
	free(cfg->headers);
	free(cfg);
}
