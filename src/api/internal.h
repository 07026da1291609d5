/* Shared between the api/ files; not for other modules. */
#ifndef SIGNPOST_API_INTERNAL_H
#define SIGNPOST_API_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"

struct api {
	struct cidr_list auth_allow;
	struct identity *identity;
	const struct sig_key *key;
	char *server_name;
	uint64_t validity_ms;
	size_t max_bulk;
};

/* Answers with v serialised (steals the reference). */
void api_reply_json(struct http_request *req, unsigned status, json_t *v);
/* Answers {"errcode": errcode, "error": message}. */
void api_reply_error(struct http_request *req, unsigned status,
    const char *errcode, const char *message);

/*
 * Parses the request body as a JSON object. On failure answers 400
 * M_NOT_JSON (not JSON) or M_BAD_JSON (not an object) and returns NULL.
 */
json_t *api_body_object(struct http_request *req);

void api_check_credentials(struct api *api, struct http_request *req);
void api_lookup(struct api *api, struct http_request *req);
void api_bulk_lookup(struct api *api, struct http_request *req);
void api_pubkey(struct api *api, struct http_request *req);

#endif
