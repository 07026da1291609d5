/*
 * OpenID token checks for /v2/account/register: find the homeserver the
 * way federation does (server-server API, "Resolving server names") and
 * ask it who the token belongs to.
 *
 * Discovery, for a server name <host>[:<port>]:
 *  1. IP literal: that address, the port or 8448.
 *  2. Explicit port: <host>:<port>.
 *  3. GET https://<host>/.well-known/matrix/server (https redirects
 *     followed). A valid m.server <dhost>[:<dport>] is used as in 1 and 2
 *     when it has an IP literal or a port; otherwise steps 4-6 run for
 *     <dhost> instead of <host>.
 *  4. SRV _matrix-fed._tcp.<host>: the targets in RFC 2782 order.
 *  5. SRV _matrix._tcp.<host> (deprecated), when 4 found no record.
 *  6. <host>:8448.
 * The URL keeps the name being resolved (Host header, TLS SNI and the
 * name the certificate must be valid for) and libcurl's CONNECT_TO sends
 * the connection to the SRV target or port 8448, as the spec asks. A DNS
 * timeout or error is an error answer; only "no record" moves on.
 */
#ifndef SIGNPOST_IDENTITY_OPENID_H
#define SIGNPOST_IDENTITY_OPENID_H

#include "backend/backend.h"
#include "backend/fetch.h"
#include "core/hostport.h"

struct openid_result {
	enum backend_verdict verdict; /* YES: user_id; NO: token refused */
	enum backend_fault fault;     /* when ERROR */
	const char *user_id;
};

typedef void (*openid_cb)(const struct openid_result *res, void *arg);

/*
 * How discovery resolves and connects (federation.* settings). Borrowed
 * by every check: it must outlive the engine the checks run on.
 */
struct openid_config {
	const char *resolver;       /* federation.resolver; NULL: system */
	long dns_timeout_ms;        /* bound on the SRV step (both queries);
				       0: 2000 */
	char *const *connect_to;    /* federation.connectTo lines, checked
				       by config/; a bad one is ignored */
	size_t nconnect_to;
};

/*
 * Checks token with server_name's homeserver through engine (which must
 * not carry webapp headers; see federation.* in the config). config may
 * be NULL (system resolver, no connectTo). server_name must satisfy
 * mxid_server_name_valid(). Returns 0 and calls cb exactly once on the
 * engine thread, or -1 without calling it.
 */
int openid_verify(struct fetch_engine *engine,
    const struct openid_config *config, const char *server_name,
    const char *token, openid_cb cb, void *arg);

/*
 * Parses a .well-known/matrix/server answer: returns the delegated server
 * name (new string) or NULL when the answer is unusable.
 */
char *openid_parse_well_known(const char *body, size_t len);

/*
 * Where one homeserver call goes. authority is the URL's host[:port]: the
 * Host header and the TLS name. host:port is where to connect.
 */
struct openid_dest {
	char authority[HOSTPORT_HOST_MAX + 8];
	char host[HOSTPORT_HOST_MAX + 1];
	int port;
};

/*
 * Steps 1-2: fills dest and returns 0 for a server name with an IP
 * literal or an explicit port; returns -1 when discovery must go on to
 * .well-known (or name is invalid).
 */
int openid_direct_dest(const char *name, struct openid_dest *dest);

/*
 * Applies config's connectTo (NULL: none) to where dest connects: the
 * first entry for its host and port, as in curl.
 */
void openid_map_dest(const struct openid_config *config,
    struct openid_dest *dest);

/*
 * The CONNECT_TO line sending a call for dest's authority to dest's host
 * and port (a new string), or NULL when that is where its URL points.
 */
char *openid_connect_line(const struct openid_dest *dest);

#endif
