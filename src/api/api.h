/*
 * The Matrix-facing API: routes, request checks, errcodes and answer
 * formats. The only module that knows Matrix URLs and errcodes.
 */
#ifndef SIGNPOST_API_API_H
#define SIGNPOST_API_API_H

#include "core/cidr.h"
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
};

struct api;

struct api *api_new(const struct api_opts *opts);
void api_free(struct api *api);

/* The http_handler for the server; arg is the struct api. */
void api_handle(struct http_request *req, void *arg);

#endif
