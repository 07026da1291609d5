/*
 * Configuration: the only module that sees YAML. It reads an mxisd-style
 * file (nested maps and flat dotted keys mean the same), checks every value
 * against one option table, and hands the rest of Signpost a typed struct.
 */
#ifndef SIGNPOST_CONFIG_CONFIG_H
#define SIGNPOST_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/cidr.h"
#include "core/log.h"

struct cfg_header {
	char *name;
	char *value; /* may be a secret: never logged */
};

/* One policy of policy.policies (ma1sd's format). */
struct cfg_policy_terms {
	char *lang;
	char *name;
	char *url;
};

struct cfg_policy {
	char *id;
	char *version;
	struct cfg_policy_terms *terms;
	size_t nterms;
};

struct cfg {
	char *path; /* the file it came from, for messages */

	/* matrix.* */
	char *domain; /* matrix.domain, required */

	/* server.* */
	char *server_name;     /* server.name, defaults to domain */
	uint16_t port;         /* server.port */
	char *bind_address;    /* server.address; NULL: every address */
	char *hostname;        /* server.hostname (ma1sd): the address
				  when server.address is not set */
	unsigned threads;      /* server.threads; 0 in the file = CPU count */
	size_t max_body;       /* server.maxBodySize, bytes */
	size_t max_header;     /* server.maxHeaderSize, bytes */
	unsigned conn_timeout; /* server.connectionTimeout, seconds */
	unsigned max_clients;  /* server.maxConnections */
	unsigned max_active;   /* server.maxConcurrentRequests */

	/* auth.* */
	struct cidr_list auth_allow; /* auth.allowFrom */
	unsigned fail_user_max;      /* auth.rateLimit.maxFailuresPerUser */
	unsigned fail_peer_max;      /* auth.rateLimit.maxFailuresPerAddress */
	unsigned fail_window;        /* auth.rateLimit.window, seconds */
	unsigned fail_tracked;       /* auth.rateLimit.maxTracked */
	bool metrics_enabled;        /* metrics.enabled */
	struct cidr_list metrics_allow; /* metrics.allowFrom */

	/* rest.* */
	bool rest_enabled;
	char *rest_host;  /* NULL when unset */
	/*
	 * Resolved absolute URLs, or NULL when that feature is off: the
	 * endpoint was set empty, or rest.enabled is false.
	 */
	char *url_auth;
	char *url_single;
	char *url_bulk;
	char *url_list;   /* rest.endpoints.identity.list; off by default */
	long connect_timeout_ms; /* rest.connectTimeout */
	long timeout_ms;         /* rest.timeout, whole call */
	bool tls_verify;         /* rest.tlsVerify */
	char *ca_file;           /* rest.caFile; NULL: system store */
	long max_backend_conns;  /* rest.maxConnections */
	size_t max_response;     /* rest.maxResponseSize, bytes */
	struct cfg_header *headers; /* rest.headers */
	size_t nheaders;

	/* key.* */
	char *key_path; /* key.path; relative to the config file's folder */
	char *key_id;   /* key.id, "ed25519:<version>" */

	/* lookup.* */
	unsigned lookup_validity;   /* lookup.validity, seconds */
	unsigned max_bulk;          /* lookup.maxBulkSize, entries */
	unsigned bulk_chunk;        /* lookup.bulkChunkSize, entries per call */
	unsigned batch_after;       /* lookup.batchAfter; 0: never batch */
	bool cache_enabled;         /* lookup.cache.enabled */
	unsigned cache_ttl;         /* lookup.cache.ttl, seconds; 0: off */
	unsigned cache_negative_ttl; /* lookup.cache.negativeTtl, seconds */
	unsigned cache_max;         /* lookup.cache.maxEntries */

	/* storage.*, accounts.* */
	char *db_path;          /* storage.provider.sqlite.database */
	unsigned token_lifetime; /* accounts.tokenLifetime, seconds; 0 never */

	/* federation.*: calls to homeservers for OpenID registration */
	bool fed_tls_verify;     /* federation.tlsVerify */
	bool fed_allow_private;  /* federation.allowPrivateAddresses */
	char **fed_allowed;      /* federation.allowedServers; none: any */
	size_t nfed_allowed;
	char *fed_resolver;      /* federation.resolver; NULL: the system's */
	char **fed_connect_to;   /* federation.connectTo "h:p:h:p" lines */
	size_t nfed_connect_to;

	/* policy.* */
	struct cfg_policy *policies; /* policy.policies */
	size_t npolicies;

	/* hashing.* (ma1sd's keys where they fit) */
	unsigned pepper_length;  /* hashing.pepperLength */
	unsigned pepper_rotation; /* hashing.delay with rotationPolicy
				     per_seconds; 0: never rotates */
	char *rotation_policy;   /* hashing.rotationPolicy */
	unsigned index_refresh;  /* lookup.indexRefresh, seconds */
	unsigned index_retry;    /* lookup.indexRetry, seconds */

	/* logging.* */
	enum log_level log_level;
	bool log_json;
};

/*
 * Reads and checks path. Every problem is printed to errs as
 * "file:line:col: key: message"; warnings (unknown keys) as
 * "file:line:col: key: warning: message". Returns the config, or NULL when
 * there was at least one error (warnings alone do not fail). The caller
 * frees the result with cfg_free().
 */
struct cfg *cfg_load(const char *path, FILE *errs);
/*
 * Same as cfg_load() for a config already in memory (tests, fuzzers): name
 * is used in messages and becomes cfg->path; text need not end in NUL.
 * errs may be NULL in both to check without printing.
 */
struct cfg *cfg_load_string(const char *name, const char *text, size_t len,
    FILE *errs);
/* NULL is fine. Header values are wiped before they are freed. */
void cfg_free(struct cfg *cfg);

/*
 * Joins rest.host and an endpoint path with exactly one slash between them.
 * Returns a new string.
 */
char *cfg_join_url(const char *host, const char *path);

#endif
