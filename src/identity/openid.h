/*
 * OpenID token checks for /v2/account/register: find the homeserver the
 * way federation does and ask it who the token belongs to.
 *
 * Discovery: a server name with an IP literal or an explicit port is used
 * as is (port 8448 when none); otherwise https://<name>/.well-known/matrix/
 * server may delegate to another host[:port]; failing that, <name>:8448.
 * SRV records are not consulted yet.
 */
#ifndef SIGNPOST_IDENTITY_OPENID_H
#define SIGNPOST_IDENTITY_OPENID_H

#include "backend/backend.h"
#include "backend/fetch.h"

struct openid_result {
	enum backend_verdict verdict; /* YES: user_id; NO: token refused */
	enum backend_fault fault;     /* when ERROR */
	const char *user_id;
};

typedef void (*openid_cb)(const struct openid_result *res, void *arg);

/*
 * Checks token with server_name's homeserver through engine (which must
 * not carry webapp headers; see federation.* in the config). server_name
 * must satisfy mxid_server_name_valid(). Returns 0 and calls cb exactly
 * once on the engine thread, or -1 without calling it.
 */
int openid_verify(struct fetch_engine *engine, const char *server_name,
    const char *token, openid_cb cb, void *arg);

/*
 * Parses a .well-known/matrix/server answer: returns the delegated server
 * name (new string) or NULL when the answer is unusable.
 */
char *openid_parse_well_known(const char *body, size_t len);

/* The base URL (https://host:port) for a server name with an IP literal
 * or explicit port, or NULL when discovery must ask .well-known. */
char *openid_direct_base(const char *server_name);

#endif
