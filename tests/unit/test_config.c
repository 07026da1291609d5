/*
 * Config loader: defaults, nested and flat keys, mxisd compatibility, the
 * exact text of every kind of message, and endpoint resolution. Most cases
 * load from memory; a few go through real files for cfg_load() itself.
 * Paths such as examples/signpost.yaml are relative to the repository root,
 * where `make unit` runs the tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/util.h"

#define DOMAIN "matrix.domain: example.org\n"
#define API "/_mxisd/identity/api/v1"

/* Loads text as "t.yaml"; *out gets everything printed, "" if nothing. */
static struct cfg *
load(const char *text, char **out)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	struct cfg *cfg;

	assert_non_null(f);
	cfg = cfg_load_string("t.yaml", text, strlen(text), f);
	fclose(f);
	*out = buf;
	return cfg;
}

/* Loads text that must load without a single message. */
static struct cfg *
load_clean(const char *text)
{
	char *out;
	struct cfg *cfg = load(text, &out);

	assert_string_equal(out, "");
	free(out);
	assert_non_null(cfg);
	return cfg;
}

/* Every field as text, so two configs compare with one assertion. */
static char *
dump(const struct cfg *c)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	fprintf(f, "%s %s %u %s %u %zu %u %u\n", c->domain, c->server_name,
	    c->port, c->bind_address ? c->bind_address : "-", c->threads,
	    c->max_body, c->conn_timeout, c->max_clients);
	for (size_t i = 0; i < c->auth_allow.len; i++)
		fprintf(f, "cidr %u\n", c->auth_allow.items[i].prefix);
	fprintf(f, "%d %s %s %s %s %ld %ld %d %s %ld %zu\n", c->rest_enabled,
	    c->rest_host ? c->rest_host : "-",
	    c->url_auth ? c->url_auth : "-",
	    c->url_single ? c->url_single : "-",
	    c->url_bulk ? c->url_bulk : "-", c->connect_timeout_ms,
	    c->timeout_ms, c->tls_verify, c->ca_file ? c->ca_file : "-",
	    c->max_backend_conns, c->max_response);
	for (size_t i = 0; i < c->nheaders; i++)
		fprintf(f, "%s=%s\n", c->headers[i].name, c->headers[i].value);
	fprintf(f, "%d %d\n", (int)c->log_level, c->log_json);
	fclose(f);
	return buf;
}

static void
test_defaults(void **state)
{
	struct cfg *c = load_clean(DOMAIN);
	uint8_t a[16];

	(void)state;
	assert_string_equal(c->path, "t.yaml");
	assert_string_equal(c->domain, "example.org");
	assert_string_equal(c->server_name, "example.org");
	assert_int_equal(c->port, 8090);
	assert_null(c->bind_address);
	assert_int_equal(c->threads, 0);
	assert_int_equal(c->max_body, 4194304);
	assert_int_equal(c->conn_timeout, 30);
	assert_int_equal(c->max_clients, 16384);
	assert_int_equal(c->auth_allow.len, 6);
	assert_int_equal(cidr_addr_parse("127.0.0.1", a), 0);
	assert_true(cidr_list_match(&c->auth_allow, a));
	assert_int_equal(cidr_addr_parse("fd00::1", a), 0);
	assert_true(cidr_list_match(&c->auth_allow, a));
	assert_int_equal(cidr_addr_parse("8.8.8.8", a), 0);
	assert_false(cidr_list_match(&c->auth_allow, a));
	assert_false(c->rest_enabled);
	assert_null(c->rest_host);
	assert_null(c->url_auth);
	assert_null(c->url_single);
	assert_null(c->url_bulk);
	assert_int_equal(c->connect_timeout_ms, 2000);
	assert_int_equal(c->timeout_ms, 5000);
	assert_true(c->tls_verify);
	assert_null(c->ca_file);
	assert_int_equal(c->max_backend_conns, 32);
	assert_int_equal(c->max_response, 16777216);
	assert_int_equal(c->nheaders, 0);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_false(c->log_json);
	cfg_free(c);
}

static void
test_values(void **state)
{
	struct cfg *c = load_clean(DOMAIN
	    "server: {name: id.example.org:8443, port: 9000, "
	    "address: '::1', threads: 64, maxBodySize: 1024, "
	    "connectionTimeout: 3600, maxConnections: 1000000}\n"
	    "auth.allowFrom: 192.0.2.7\n"
	    "rest: {tlsVerify: Off, enabled: YES, connectTimeout: 1, "
	    "timeout: 1, maxConnections: 4096, maxResponseSize: 1073741824}\n"
	    "rest.host: https://h\n"
	    "rest.headers: {Authorization: Bearer s3cret, X-Empty: }\n"
	    "logging: {level: debug, format: json}\n");

	(void)state;
	assert_string_equal(c->server_name, "id.example.org:8443");
	assert_int_equal(c->port, 9000);
	assert_string_equal(c->bind_address, "::1");
	assert_int_equal(c->threads, 64);
	assert_int_equal(c->max_body, 1024);
	assert_int_equal(c->conn_timeout, 3600);
	assert_int_equal(c->max_clients, 1000000);
	assert_int_equal(c->auth_allow.len, 1);
	assert_int_equal(c->auth_allow.items[0].prefix, 128);
	assert_true(c->rest_enabled);
	assert_false(c->tls_verify);
	assert_int_equal(c->connect_timeout_ms, 1);
	assert_int_equal(c->timeout_ms, 1);
	assert_int_equal(c->max_backend_conns, 4096);
	assert_int_equal(c->max_response, 1073741824);
	assert_int_equal(c->nheaders, 2);
	assert_string_equal(c->headers[0].name, "Authorization");
	assert_string_equal(c->headers[0].value, "Bearer s3cret");
	assert_string_equal(c->headers[1].name, "X-Empty");
	assert_string_equal(c->headers[1].value, "");
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
	assert_true(c->log_json);
	cfg_free(c);
}

static void
test_empty_allow_list(void **state)
{
	struct cfg *c = load_clean(DOMAIN "auth:\n  allowFrom: []\n");

	(void)state;
	assert_int_equal(c->auth_allow.len, 0);
	cfg_free(c);
}

/* The same settings written four ways must give the same config. */
static void
test_nested_flat_same(void **state)
{
	static const char *const forms[] = {
		"matrix:\n  domain: example.org\n"
		"rest:\n  enabled: true\n  host: http://127.0.0.1:8091\n"
		"  endpoints:\n    auth: /a\n    identity:\n"
		"      single: /s\n      bulk: http://other/b\n"
		"  headers:\n    X-Key: k\n"
		"server:\n  port: 9000\n",

		"matrix.domain: example.org\nrest.enabled: true\n"
		"rest.host: http://127.0.0.1:8091\nrest.endpoints.auth: /a\n"
		"rest.endpoints.identity.single: /s\n"
		"rest.endpoints.identity.bulk: http://other/b\n"
		"rest.headers: {X-Key: k}\nserver.port: 9000\n",

		"matrix: {domain: example.org}\n"
		"rest:\n  enabled: true\n  host: http://127.0.0.1:8091\n"
		"  endpoints.auth: /a\n  endpoints.identity:\n"
		"    single: /s\n    bulk: http://other/b\n"
		"  headers: {X-Key: k}\n"
		"server.port: 9000\n",

		"rest.endpoints:\n  identity.single: /s\n  auth: /a\n"
		"  identity: {bulk: http://other/b}\n"
		"rest: {host: http://127.0.0.1:8091, enabled: on}\n"
		"rest.headers:\n  X-Key: k\n"
		"server: {port: 9000}\nmatrix.domain: example.org\n",
	};
	struct cfg *c = load_clean(forms[0]);
	char *want = dump(c), *got;

	(void)state;
	assert_string_equal(c->url_auth, "http://127.0.0.1:8091/a");
	assert_string_equal(c->url_single, "http://127.0.0.1:8091/s");
	assert_string_equal(c->url_bulk, "http://other/b");
	cfg_free(c);
	for (size_t i = 1; i < ARRAY_LEN(forms); i++) {
		c = load_clean(forms[i]);
		got = dump(c);
		assert_string_equal(got, want);
		free(got);
		cfg_free(c);
	}
	free(want);
}

/* An mxisd file loads as is: its other sections only draw warnings. */
static void
test_mxisd_warnings(void **state)
{
	char *out;
	struct cfg *c = load(
	    "matrix:\n  domain: 'example.org'\n"
	    "server:\n  name: 'id.example.org'\n  port: 8090\n"
	    "  publicUrl: https://id.example.org\n"
	    "key:\n  path: /var/lib/mxisd/key\n"
	    "storage:\n  provider:\n    sqlite:\n      database: /x.db\n"
	    "ldap:\n  enabled: false\n"
	    "sql.enabled: false\n"
	    "rest:\n  enabled: true\n  host: 'http://localhost:8091'\n"
	    "  endpoints:\n    identity:\n      single: /s\n      extra: /e\n"
	    "synapseSql: {enabled: false}\n"
	    "dns: {}\nnotification: {}\ninvite: {}\nsession: {}\nview: {}\n",
	    &out);

	(void)state;
	assert_string_equal(out,
	    "t.yaml:6:3: server.publicUrl: warning: unknown key, ignored\n"
	    "t.yaml:13:1: ldap: warning: unknown key, ignored\n"
	    "t.yaml:15:1: sql.enabled: warning: unknown key, ignored\n"
	    "t.yaml:22:7: rest.endpoints.identity.extra: warning: unknown key, "
	    "ignored\n"
	    "t.yaml:23:1: synapseSql: warning: unknown key, ignored\n"
	    "t.yaml:24:1: dns: warning: unknown key, ignored\n"
	    "t.yaml:25:1: notification: warning: unknown key, ignored\n"
	    "t.yaml:26:1: invite: warning: unknown key, ignored\n"
	    "t.yaml:27:1: session: warning: unknown key, ignored\n"
	    "t.yaml:28:1: view: warning: unknown key, ignored\n");
	free(out);
	assert_non_null(c);
	assert_string_equal(c->server_name, "id.example.org");
	assert_string_equal(c->key_path, "/var/lib/mxisd/key");
	assert_string_equal(c->db_path, "/x.db");
	assert_string_equal(c->url_single, "http://localhost:8091/s");
	assert_string_equal(c->url_auth, "http://localhost:8091" API "/auth");
	cfg_free(c);
}

/* ma1sd's ways of writing things that Signpost reads its own way. */
static void
test_ma1sd_compat(void **state)
{
	char *out;
	struct cfg *c;

	(void)state;
	/* Durations with units, anywhere seconds are expected. */
	c = load_clean(DOMAIN "lookup.validity: 2d\n"
	    "lookup.cache: {ttl: 1h 30m, negativeTtl: 45s}\n"
	    "hashing: {rotationPolicy: per_seconds, delay: 10m}\n"
	    "server.connectionTimeout: 90\n");
	assert_int_equal(c->lookup_validity, 2 * 86400);
	assert_int_equal(c->cache_ttl, 5400);
	assert_int_equal(c->cache_negative_ttl, 45);
	assert_int_equal(c->pepper_rotation, 600);
	assert_int_equal(c->conn_timeout, 90);
	cfg_free(c);

	/* server.hostname was ma1sd's listening address. */
	c = load_clean(DOMAIN "server.hostname: 127.0.0.1\n");
	assert_string_equal(c->bind_address, "127.0.0.1");
	cfg_free(c);
	c = load_clean(DOMAIN "server.hostname: localhost\n");
	assert_string_equal(c->bind_address, "127.0.0.1");
	cfg_free(c);
	c = load_clean(DOMAIN "server:\n  hostname: 127.0.0.1\n"
	    "  address: '::1'\n");
	assert_string_equal(c->bind_address, "::1");
	cfg_free(c);

	/* Warnings, not errors, for what ma1sd's own examples contain. */
	c = load(DOMAIN "logging:\n  level:\n    io.kamax.mxisd: DEBUG\n"
	    "hashing.rotationPolicy: per_requests\n", &out);
	assert_non_null(c);
	assert_string_equal(out,
	    "t.yaml:4:5: logging.level: warning: per-package levels are "
	    "mxisd's; ignored, the level stays info\n"
	    "t.yaml:5:25: hashing.rotationPolicy: warning: per_requests is "
	    "not supported; the pepper does not rotate (use per_seconds)\n");
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_int_equal(c->pepper_rotation, 0);
	free(out);
	cfg_free(c);
	c = load(DOMAIN "lookup.indexRefresh: 2m\n"
	    "hashing.rotationPolicy: per_seconds\n", &out);
	assert_non_null(c);
	assert_string_equal(out, "t.yaml:3:25: hashing.delay: warning: not "
	    "set; the pepper rotates every lookup.indexRefresh (120 s)\n");
	assert_int_equal(c->pepper_rotation, 120);
	free(out);
	cfg_free(c);
}

/* Error cases: a file and the exact output it must produce. */
struct err_case {
	const char *yaml;
	const char *want;
};

static void
run_error_case(void **state)
{
	const struct err_case *ec = *state;
	char *out;
	struct cfg *c = load(ec->yaml, &out);

	assert_string_equal(out, ec->want);
	free(out);
	assert_null(c);
}

#define ERROR_TEST(name) \
	{ "error_" #name, run_error_case, NULL, NULL, (void *)&name }

static struct err_case bad_port = { DOMAIN "server:\n  port: 70000\n",
	"t.yaml:3:9: server.port: must be an integer from 1 to 65535\n" };
static struct err_case port_zero = { DOMAIN "server.port: 0\n",
	"t.yaml:2:14: server.port: must be an integer from 1 to 65535\n" };
static struct err_case port_text = { DOMAIN "server.port: ' 80'\n",
	"t.yaml:2:14: server.port: must be an integer from 1 to 65535\n" };
static struct err_case bad_bool = { DOMAIN "rest:\n  tlsVerify: maybe\n",
	"t.yaml:3:14: rest.tlsVerify: must be true or false\n" };
static struct err_case int_range = { DOMAIN "server.threads: 65\n",
	"t.yaml:2:17: server.threads: must be an integer from 0 to 64\n" };
static struct err_case size_range = { DOMAIN "server.maxBodySize: 1023\n",
	"t.yaml:2:21: server.maxBodySize: must be a number of bytes from 1024 "
	"to 268435456\n" };
static struct err_case map_for_scalar = { DOMAIN "server:\n  port:\n"
	"    a: 1\n", "t.yaml:4:5: server.port: expected a single value, "
	"found a mapping\n" };
static struct err_case list_for_scalar = { DOMAIN "rest.host: [a, b]\n",
	"t.yaml:2:12: rest.host: expected a single value, found a list\n" };
static struct err_case scalar_for_section = { DOMAIN "rest: yes\n",
	"t.yaml:2:7: rest: expected a mapping, found a single value or list\n" };
static struct err_case bad_cidr = { DOMAIN
	"auth.allowFrom: [10.0.0.0/8, 10.1.2.3/8, nope]\n",
	"t.yaml:2:30: auth.allowFrom: \"10.1.2.3/8\": address has bits set "
	"beyond the prefix length\n"
	"t.yaml:2:42: auth.allowFrom: \"nope\": not an address or CIDR range\n" };
static struct err_case cidr_map = { DOMAIN "auth.allowFrom: {a: b}\n",
	"t.yaml:2:17: auth.allowFrom: expected a list of addresses or CIDR "
	"ranges, found a mapping\n" };
static struct err_case bad_header_name = { DOMAIN
	"rest.headers:\n  \"X Key\": v\n",
	"t.yaml:3:3: rest.headers: header names must be HTTP tokens "
	"(letters, digits and !#$%&'*+-.^_`|~)\n" };
static struct err_case header_newline = { DOMAIN
	"rest.headers:\n  X-Key: \"a\\r\\nX-Evil: 1\"\n",
	"t.yaml:3:10: rest.headers: value of header \"X-Key\" must not "
	"contain CR, LF or NUL\n" };
static struct err_case header_nul = { DOMAIN
	"rest.headers: {X-Key: \"a\\0b\"}\n",
	"t.yaml:2:23: rest.headers: value of header \"X-Key\" must not "
	"contain CR, LF or NUL\n" };
static struct err_case header_twice = { DOMAIN
	"rest.headers: {X-Key: a, x-key: b}\n",
	"t.yaml:2:26: rest.headers: header \"x-key\" is set twice\n" };
static struct err_case headers_list = { DOMAIN "rest.headers: [a]\n",
	"t.yaml:2:15: rest.headers: expected a mapping of header names to "
	"values\n" };
static struct err_case bad_endpoint = { DOMAIN
	"rest: {enabled: true, host: 'http://h'}\n"
	"rest.endpoints.auth: ftp://h/auth\n"
	"rest.endpoints.identity.bulk: h/bulk\n",
	"t.yaml:3:22: rest.endpoints.auth: must be a path starting with / or "
	"an http(s) URL\n"
	"t.yaml:4:31: rest.endpoints.identity.bulk: must be a path starting "
	"with / or an http(s) URL\n" };
static struct err_case no_rest_host = { DOMAIN "rest:\n  enabled: true\n",
	"t.yaml:3:12: rest.host: required because rest.endpoints.auth is a "
	"path\n" };
static struct err_case no_rest_host_at_endpoint = { DOMAIN
	"rest.enabled: true\n"
	"rest.endpoints: {auth: 'https://a/x', identity.single: '',\n"
	"  identity.bulk: /b}\n",
	"t.yaml:4:18: rest.host: required because "
	"rest.endpoints.identity.bulk is a path\n" };
static struct err_case empty_rest_host = { DOMAIN
	"rest.enabled: true\nrest.host: ''\n",
	"t.yaml:3:12: rest.host: required because rest.endpoints.auth is a "
	"path\n" };
static struct err_case bad_rest_host = { DOMAIN
	"rest.enabled: true\nrest.host: 127.0.0.1:8091\n",
	"t.yaml:3:12: rest.host: must be an http(s) URL with a host and no "
	"query or fragment\n" };
static struct err_case rest_host_query = { DOMAIN
	"rest.enabled: true\nrest.host: http://h/?a=1\n",
	"t.yaml:3:12: rest.host: must be an http(s) URL with a host and no "
	"query or fragment\n" };
static struct err_case bad_joined = { DOMAIN
	"rest.enabled: true\nrest.host: http://h\n"
	"rest.endpoints.auth: /a b\n",
	"t.yaml:4:22: rest.endpoints.auth: joined with rest.host it is not a "
	"valid URL: http://h/a b\n" };
static struct err_case no_domain = { "server.port: 8090\n",
	"t.yaml:1:1: matrix.domain: required key is missing\n" };
static struct err_case empty_file = { "",
	"t.yaml:1:1: matrix.domain: required key is missing\n" };
static struct err_case bad_domain = { "matrix.domain: 'example .org'\n",
	"t.yaml:1:16: matrix.domain: must be a server name: a hostname or IP "
	"literal with an optional :port\n" };
static struct err_case empty_domain = { "matrix:\n  domain:\n",
	"t.yaml:2:10: matrix.domain: must be a server name: a hostname or IP "
	"literal with an optional :port\n" };
static struct err_case domain_path = { "matrix.domain: example.org/x\n",
	"t.yaml:1:16: matrix.domain: must be a server name: a hostname or IP "
	"literal with an optional :port\n" };
static struct err_case bad_address = { DOMAIN "server.address: localhost\n",
	"t.yaml:2:17: server.address: must be an IPv4 or IPv6 address "
	"literal\n" };
static struct err_case dup_nested_flat = { DOMAIN
	"rest:\n  host: http://a\nrest.host: http://b\n",
	"t.yaml:4:1: rest.host: already set at 3:3\n" };
static struct err_case dup_same_map = { DOMAIN
	"server:\n  port: 1\n  port: 2\n",
	"t.yaml:4:3: server.port: already set at 3:3\n" };
static struct err_case yaml_syntax = { DOMAIN "rest: [1, 2\nserver: {}\n",
	"t.yaml:3:7: yaml: did not find expected ',' or ']'\n" };
static struct err_case yaml_utf8 = { DOMAIN "x: \"a\xff\"\n",
	"t.yaml:2:6: yaml: invalid leading UTF-8 octet\n" };
static struct err_case two_documents = { DOMAIN "---\nserver.port: 1\n",
	"t.yaml:3:1: yaml: only one document is allowed\n" };
static struct err_case not_a_mapping = { "- matrix.domain\n",
	"t.yaml:1:1: yaml: the top level must be a mapping of keys to values\n" };
static struct err_case key_not_string = { DOMAIN "? [a]\n: b\n",
	"t.yaml:2:3: yaml: keys must be non-empty strings\n" };
static struct err_case nul_in_value = { "matrix.domain: \"a\\0b\"\n",
	"t.yaml:1:16: matrix.domain: contains a NUL byte\n" };
static struct err_case timeout_short = { DOMAIN
	"rest: {connectTimeout: 3000, timeout: 2000}\n",
	"t.yaml:2:39: rest.timeout: must be at least rest.connectTimeout "
	"(3000)\n" };
static struct err_case timeout_default = { DOMAIN
	"rest.connectTimeout: 6000\n",
	"t.yaml:2:22: rest.timeout: must be at least rest.connectTimeout "
	"(6000)\n" };
#define SECS_RANGE(max) "must be seconds from 0 to " #max ", as a number " \
	"or with units like \"90s\", \"10m\", \"1h 30m\", \"7d\"\n"
static struct err_case bad_unit = { DOMAIN "lookup.cache.ttl: 10x\n",
	"t.yaml:2:19: lookup.cache.ttl: " SECS_RANGE(604800) };
static struct err_case bad_duration = { DOMAIN "lookup.cache.ttl: 1h  m\n",
	"t.yaml:2:19: lookup.cache.ttl: " SECS_RANGE(604800) };
static struct err_case long_duration = { DOMAIN "lookup.cache.ttl: 8d\n",
	"t.yaml:2:19: lookup.cache.ttl: " SECS_RANGE(604800) };
static struct err_case negative_duration = { DOMAIN
	"lookup.cache.ttl: -5s\n",
	"t.yaml:2:19: lookup.cache.ttl: " SECS_RANGE(604800) };
static struct err_case empty_key_id = { DOMAIN "key.id:\n",
	"t.yaml:2:8: key.id: must not be empty\n" };
static struct err_case named_hostname = { DOMAIN
	"server.hostname: id.example.org\n",
	"t.yaml:2:18: server.hostname: ma1sd listened on this name; Signpost "
	"needs an IP address: set server.address\n" };
static struct err_case bad_level = { DOMAIN "logging.level: verbose\n",
	"t.yaml:2:16: logging.level: must be error, warn, info or debug\n" };
static struct err_case bad_format = { DOMAIN "logging.format: xml\n",
	"t.yaml:2:17: logging.format: must be text or json\n" };
static struct err_case missing_ca = { DOMAIN
	"rest.caFile: /nonexistent/ca.pem\n",
	"t.yaml:2:14: rest.caFile: cannot read /nonexistent/ca.pem: No such "
	"file or directory\n" };
static struct err_case ca_is_dir = { DOMAIN "rest.caFile: /\n",
	"t.yaml:2:14: rest.caFile: / is not a regular file\n" };
/* Every problem in one run, in file order, then the cross-key ones. */
static struct err_case many = {
	"server:\n  port: http\n  threads: -1\n"
	"rest: {enabled: true, tlsVerify: 2, timeout: 1}\n"
	"auth.allowFrom: 10.0.0.1/8\nlogging: {level: loud}\nldap: {}\n",
	"t.yaml:2:9: server.port: must be an integer from 1 to 65535\n"
	"t.yaml:3:12: server.threads: must be an integer from 0 to 64\n"
	"t.yaml:4:34: rest.tlsVerify: must be true or false\n"
	"t.yaml:5:17: auth.allowFrom: \"10.0.0.1/8\": address has bits set "
	"beyond the prefix length\n"
	"t.yaml:6:18: logging.level: must be error, warn, info or debug\n"
	"t.yaml:7:1: ldap: warning: unknown key, ignored\n"
	"t.yaml:1:1: matrix.domain: required key is missing\n"
	"t.yaml:4:46: rest.timeout: must be at least rest.connectTimeout "
	"(2000)\n"
	"t.yaml:4:17: rest.host: required because rest.endpoints.auth is a "
	"path\n" };

static void
test_join_url(void **state)
{
	static const char *const cases[][3] = {
		{ "http://h:1/", "/a", "http://h:1/a" },
		{ "http://h:1", "/a", "http://h:1/a" },
		{ "http://h:1", "a", "http://h:1/a" },
		{ "http://h:1//", "//a", "http://h:1/a" },
		{ "http://h/app", "/a", "http://h/app/a" },
		{ "http://h/app/", "/a/b/", "http://h/app/a/b/" },
		{ "https://h", "", "https://h/" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *s = cfg_join_url(cases[i][0], cases[i][1]);

		assert_string_equal(s, cases[i][2]);
		free(s);
	}
}

static void
test_empty_endpoint_is_off(void **state)
{
	struct cfg *c = load_clean(DOMAIN
	    "rest: {enabled: true, host: 'http://h/base/'}\n"
	    "rest.endpoints:\n  auth: ''\n  identity:\n    single:\n");

	(void)state;
	assert_null(c->url_auth);
	assert_null(c->url_single);
	assert_string_equal(c->url_bulk, "http://h/base" API "/lookup/bulk");
	cfg_free(c);
}

/* Disabled: no URLs, and rest.host and endpoints are not checked. */
static void
test_rest_disabled(void **state)
{
	struct cfg *c = load_clean(DOMAIN
	    "rest: {enabled: false, host: 'not a url'}\n"
	    "rest.endpoints.auth: 'also not one'\n");

	(void)state;
	assert_false(c->rest_enabled);
	assert_string_equal(c->rest_host, "not a url");
	assert_null(c->url_auth);
	assert_null(c->url_single);
	assert_null(c->url_bulk);
	cfg_free(c);
}

/* Full URLs are kept as written, and rest.host is then not needed. */
static void
test_full_urls(void **state)
{
	struct cfg *c = load_clean(DOMAIN "rest.enabled: true\n"
	    "rest.endpoints:\n  auth: HTTPS://Auth.example:8443/x?y=1\n"
	    "  identity:\n    single: http://[::1]:9/s\n    bulk: ''\n");

	(void)state;
	assert_null(c->rest_host);
	assert_string_equal(c->url_auth, "HTTPS://Auth.example:8443/x?y=1");
	assert_string_equal(c->url_single, "http://[::1]:9/s");
	assert_null(c->url_bulk);
	cfg_free(c);
}

static char *
write_temp(const char *text)
{
	char *path = xstrdup("/tmp/signpost-test-config-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_load_file(void **state)
{
	char *path = write_temp(DOMAIN "rest.caFile: /dev/null\n");
	char *out = NULL;
	size_t n = 0;
	FILE *errs = open_memstream(&out, &n);
	struct cfg *c;

	(void)state;
	c = cfg_load(path, errs);
	fclose(errs);
	/* /dev/null is readable but not a regular file. */
	assert_null(c);
	assert_true(strstr(out, ": rest.caFile: /dev/null is not a regular "
	    "file\n") != NULL);
	assert_memory_equal(out, path, strlen(path));
	free(out);
	unlink(path);
	free(path);

	path = write_temp(DOMAIN "rest.caFile: tests/unit/test_config.c\n");
	c = cfg_load(path, NULL);
	assert_non_null(c);
	assert_string_equal(c->path, path);
	assert_string_equal(c->ca_file, "tests/unit/test_config.c");
	cfg_free(c);
	unlink(path);
	free(path);
}

static void
test_unreadable_file(void **state)
{
	char *out = NULL;
	size_t n = 0;
	FILE *errs = open_memstream(&out, &n);

	(void)state;
	assert_null(cfg_load("/nonexistent/signpost.yaml", errs));
	assert_null(cfg_load("/", errs));
	fclose(errs);
	assert_string_equal(out,
	    "/nonexistent/signpost.yaml: cannot open: No such file or "
	    "directory\n/: cannot read: Is a directory\n");
	free(out);
}

/* The shipped example must load without a single message. */
static void
test_example_file(void **state)
{
	char *out = NULL;
	size_t n = 0;
	FILE *errs = open_memstream(&out, &n);
	struct cfg *c = cfg_load("examples/signpost.yaml", errs);

	(void)state;
	fclose(errs);
	assert_string_equal(out, "");
	free(out);
	assert_non_null(c);
	assert_string_equal(c->domain, "example.org");
	assert_int_equal(c->port, 8090);
	assert_string_equal(c->url_auth, "http://127.0.0.1:8091" API "/auth");
	assert_string_equal(c->url_single,
	    "http://127.0.0.1:8091" API "/lookup/single");
	assert_string_equal(c->url_bulk,
	    "http://127.0.0.1:8091" API "/lookup/bulk");
	assert_int_equal(c->nheaders, 1);
	assert_string_equal(c->headers[0].name, "Authorization");
	cfg_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_empty_allow_list),
		cmocka_unit_test(test_nested_flat_same),
		cmocka_unit_test(test_ma1sd_compat),
		cmocka_unit_test(test_mxisd_warnings),
		cmocka_unit_test(test_join_url),
		cmocka_unit_test(test_empty_endpoint_is_off),
		cmocka_unit_test(test_rest_disabled),
		cmocka_unit_test(test_full_urls),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_example_file),
		ERROR_TEST(bad_port),
		ERROR_TEST(port_zero),
		ERROR_TEST(port_text),
		ERROR_TEST(bad_bool),
		ERROR_TEST(int_range),
		ERROR_TEST(size_range),
		ERROR_TEST(map_for_scalar),
		ERROR_TEST(list_for_scalar),
		ERROR_TEST(scalar_for_section),
		ERROR_TEST(bad_cidr),
		ERROR_TEST(cidr_map),
		ERROR_TEST(bad_header_name),
		ERROR_TEST(header_newline),
		ERROR_TEST(header_nul),
		ERROR_TEST(header_twice),
		ERROR_TEST(headers_list),
		ERROR_TEST(bad_endpoint),
		ERROR_TEST(no_rest_host),
		ERROR_TEST(no_rest_host_at_endpoint),
		ERROR_TEST(empty_rest_host),
		ERROR_TEST(bad_rest_host),
		ERROR_TEST(rest_host_query),
		ERROR_TEST(bad_joined),
		ERROR_TEST(no_domain),
		ERROR_TEST(empty_file),
		ERROR_TEST(bad_domain),
		ERROR_TEST(empty_domain),
		ERROR_TEST(domain_path),
		ERROR_TEST(bad_address),
		ERROR_TEST(dup_nested_flat),
		ERROR_TEST(dup_same_map),
		ERROR_TEST(yaml_syntax),
		ERROR_TEST(yaml_utf8),
		ERROR_TEST(two_documents),
		ERROR_TEST(not_a_mapping),
		ERROR_TEST(key_not_string),
		ERROR_TEST(nul_in_value),
		ERROR_TEST(timeout_short),
		ERROR_TEST(timeout_default),
		ERROR_TEST(bad_unit),
		ERROR_TEST(bad_duration),
		ERROR_TEST(long_duration),
		ERROR_TEST(negative_duration),
		ERROR_TEST(empty_key_id),
		ERROR_TEST(named_hostname),
		ERROR_TEST(bad_level),
		ERROR_TEST(bad_format),
		ERROR_TEST(missing_ca),
		ERROR_TEST(ca_is_dir),
		ERROR_TEST(many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
