/* Shared between the api/ files; not for other modules. */
#ifndef SIGNPOST_API_INTERNAL_H
#define SIGNPOST_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"
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
	struct hashing *hashing;
	const struct cfg_policy *policies;
	size_t npolicies;
	unsigned token_lifetime;
	char *const *fed_allowed;
	size_t nfed_allowed;
};

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

void api_check_credentials(struct api *api, struct http_request *req);
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
