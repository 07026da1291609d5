/*
 * The Matrix-facing API: routes, request checks, errcodes and answer
 * formats. The only module that knows Matrix URLs and errcodes.
 */
#ifndef SIGNPOST_API_API_H
#define SIGNPOST_API_API_H

#include "backend/fetch.h"
#include "config/config.h"
#include "core/cidr.h"
#include "identity/hashing.h"
#include "store/store.h"
#include "crypto/sign.h"
#include "http/server.h"
#include "identity/identity.h"

struct api_opts {
	const struct cidr_list *auth_allow; /* may call check_credentials */
	struct identity *identity;          /* borrowed */
	const struct sig_key *key;          /* borrowed; signs associations */
	const char *server_name;            /* signs as this server */
	unsigned validity_s;                /* lookup.validity */
	size_t max_bulk;                    /* lookup.maxBulkSize */
	struct store *store;                /* borrowed: accounts, terms */
	struct fetch_engine *fed_engine;    /* borrowed: calls homeservers */
	const struct openid_config *fed_discovery; /* borrowed: federation.* */
	struct hashing *hashing;            /* borrowed: pepper, hash index */
	const struct cfg_policy *policies;  /* borrowed: policy.policies */
	size_t npolicies;
	unsigned token_lifetime;            /* accounts.tokenLifetime */
	char *const *fed_allowed;           /* federation.allowedServers */
	size_t nfed_allowed;
	/* Signed v1 associations kept for reuse: at most this many (0: sign
	 * every answer), each for at most reuse_s seconds and never past
	 * half its validity. */
	size_t signed_cache_max;
	unsigned signed_reuse_s;
	/* auth.rateLimit.*: failures allowed per user id and per caller
	 * address in window_s (0: no limit), tracking at most tracked keys */
	unsigned fail_user_max, fail_peer_max, fail_window_s;
	size_t fail_tracked;
	bool metrics_enabled;                  /* metrics.enabled */
	const struct cidr_list *metrics_allow; /* metrics.allowFrom */
};

struct api;

struct api *api_new(const struct api_opts *opts);
void api_free(struct api *api);

/* The http_handler for the server; arg is the struct api. */
void api_handle(struct http_request *req, void *arg);

#endif
