/* Shared between the api/ files; not for other modules. */
#ifndef SIGNPOST_API_INTERNAL_H
#define SIGNPOST_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include "api/api.h"
#include "core/cache.h"
#include "config/config.h"
#include "backend/fetch.h"
#include "identity/hashing.h"
#include "store/store.h"

struct api {
	struct cidr_list auth_allow;
	struct identity *identity;
	const struct sig_key *key;
	char *server_name;
	uint64_t validity_ms;
	size_t max_bulk;
	struct store *store;
	struct fetch_engine *fed_engine;
	const struct openid_config *fed_discovery;
	struct hashing *hashing;
	const struct cfg_policy *policies;
	size_t npolicies;
	unsigned token_lifetime;
	char *const *fed_allowed;
	size_t nfed_allowed;
	struct cache *signed_cache; /* NULL: sign every answer */
	/* v2 tokens recently found good (terms accepted): sha256 -> user */
	struct cache *token_cache;
	unsigned char token_hkey[crypto_shorthash_siphashx24_KEYBYTES];
	uint64_t signed_reuse_ms;
	bool metrics_enabled;
	struct cidr_list metrics_allow;
	/* Failed password checks per user id and per caller (NULL: no
	 * limit), and the window they are counted in. */
	struct cache *fail_user, *fail_peer;
	unsigned fail_user_max, fail_peer_max;
	uint64_t fail_window_ms;
	_Atomic uint64_t ready_until_ms; /* a probe succeeded; see ops.c */
};

/* How long a v2 token found good is trusted without the database: also
 * how long a token revoked on another path (expiry) may still work. */
#define API_TOKEN_CACHE_MS 5000
/* Tokens remembered at once. */
#define API_TOKEN_CACHE_MAX 10000

/* Answers with body as it is (takes it; from malloc). */
void api_reply_raw(struct http_request *req, unsigned status, char *body,
    size_t len);
/* Answers with v serialised (steals the reference). */
void api_reply_json(struct http_request *req, unsigned status, json_t *v);
/* Answers {"errcode": errcode, "error": message}. */
void api_reply_error(struct http_request *req, unsigned status,
    const char *errcode, const char *message);

/* A store that failed: 504 on a timeout, else 502, both M_UNKNOWN. */
void api_reply_store_failure(struct http_request *req,
    enum backend_fault fault);

/*
 * Parses the request body as a JSON object. On failure answers 400
 * M_NOT_JSON (not JSON) or M_BAD_JSON (not an object) and returns NULL.
 */
json_t *api_body_object(struct http_request *req);

/*
 * Request parsers that know nothing of HTTP, so that the fuzzers (fuzz/)
 * can call them with any bytes. Each fills a struct api_error with the
 * answer to give when the request cannot go on; the handlers answer it
 * with api_reply_bad().
 */
struct api_error {
	unsigned status;        /* 400 for every parser below */
	const char *errcode;    /* static */
	char message[96];
};

void api_reply_bad(struct http_request *req, const struct api_error *err);
/* Sets *err to 400 errcode message (message is cut to fit). */
void api_bad_request(struct api_error *err, const char *errcode,
    const char *message);

/* body[0..len) as a JSON object (new reference), or NULL with *err set:
 * M_NOT_JSON (not JSON), M_BAD_JSON (not an object). */
json_t *api_parse_object(const char *body, size_t len, struct api_error *err);

/*
 * A check_credentials body {"user":{"id":…,"password":…}}. Returns the
 * parsed body (the caller releases it; *user_id, a valid user id, and
 * *password point into it), or NULL with *err set.
 */
json_t *api_parse_credentials(const char *text, size_t len,
    const char **user_id, const char **password, struct api_error *err);

/* The medium and address query arguments of a v1 lookup (NULL when
 * absent): both present and UTF-8. 0, or -1 with *err. */
int api_parse_lookup_query(const char *medium, const char *address,
    struct api_error *err);

/*
 * The threepids of a bulk_lookup body (an object),
 * {"threepids":[[medium,address],…]}, at most max of them. Returns 0 with
 * *q (malloc'd, never NULL; the strings point into body) and *n, or -1
 * with *err set and nothing to free.
 */
int api_parse_bulk_request(const json_t *body, size_t max,
    struct backend_threepid **q, size_t *n, struct api_error *err);

/*
 * A v2 register body (an object): *token (non-empty, at most 1024 bytes)
 * and *server (a valid server name) point into body. 0, or -1 with *err.
 */
int api_parse_register(const json_t *body, const char **token,
    const char **server, struct api_error *err);

/*
 * The urls of a POST /v2/terms body (an object) that name a policy of api,
 * each once: *urls (malloc'd, never NULL, pointing into body) and *n.
 * 0, or -1 with *err and nothing to free.
 */
int api_parse_terms_accept(const struct api *api, const json_t *body,
    const char ***urls, size_t *n, struct api_error *err);

/*
 * A POST /v2/lookup body (an object): *algorithm and *pepper (strings) and
 * *addresses (an array of at most max strings) point into body. Whether
 * the algorithm and pepper are current is the caller's to check. 0, or -1
 * with *err.
 */
int api_parse_v2_lookup(const json_t *body, size_t max,
    const char **algorithm, const char **pepper, const json_t **addresses,
    struct api_error *err);

/*
 * Splits a "none" lookup address "<address> <medium>" (the medium has no
 * space, the address may) into *copy (malloc'd, the caller frees it, also
 * on failure) that out's strings point into. 0, or -1 when s has no
 * non-empty address and medium.
 */
int api_split_none(const char *s, char **copy, struct backend_threepid *out);

void api_check_credentials(struct api *api, struct http_request *req);
void api_ops_status(struct api *api, struct http_request *req);
void api_ops_version(struct api *api, struct http_request *req);
void api_ops_ready(struct api *api, struct http_request *req);
void api_ops_metrics(struct api *api, struct http_request *req);
void api_lookup(struct api *api, struct http_request *req);
void api_bulk_lookup(struct api *api, struct http_request *req);
void api_pubkey(struct api *api, struct http_request *req);

/*
 * The v2 caller's user id (caller frees) from its access token; when
 * need_terms, also checks every policy is accepted. Answers 401/403/500
 * itself and returns NULL when the request cannot go on.
 */
char *api_v2_authenticate(struct api *api, struct http_request *req,
    bool need_terms);
void api_v2_register(struct api *api, struct http_request *req);
void api_v2_account(struct api *api, struct http_request *req);
void api_v2_logout(struct api *api, struct http_request *req);
void api_v2_terms(struct api *api, struct http_request *req);
void api_v2_terms_accept(struct api *api, struct http_request *req);
void api_v2_hash_details(struct api *api, struct http_request *req);
void api_v2_lookup(struct api *api, struct http_request *req);

#endif
