/*
 * The HTTP side: libmicrohttpd with a pool of event-loop threads. Each
 * request reaches the handler once, with its whole body; the handler
 * answers at once or later from any thread (while the connection is
 * suspended, holding no thread). This is the only module that knows
 * sockets.
 */
#ifndef SIGNPOST_HTTP_SERVER_H
#define SIGNPOST_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;
struct http_server;

/*
 * Called once per request on a server thread, with the body complete. It
 * must call http_respond() exactly once, now or later on any thread.
 */
typedef void (*http_handler)(struct http_request *req, void *arg);

struct http_server_opts {
	const char *address;   /* IPv4/IPv6 literal; NULL: every address */
	uint16_t port;
	unsigned threads;      /* event-loop threads, at least 1 */
	size_t max_body;       /* bigger bodies get 413 before the handler */
	unsigned conn_timeout; /* seconds of inactivity before a close */
	unsigned max_clients;  /* concurrent connections */
	size_t max_active;     /* requests under way at once; 0: no limit */
	size_t conn_memory;    /* buffer per connection, headers included */
};

/* Binds and starts serving. Returns NULL (and logs why) on failure. */
struct http_server *http_server_start(const struct http_server_opts *opts,
    http_handler handler, void *arg);
/*
 * Stops accepting new connections; requests under way go on, and new
 * requests on open connections get 503 and a closed connection.
 */
void http_server_quiesce(struct http_server *srv);
/*
 * Waits up to timeout_ms for every request handed to the handler to be
 * completed (its answer sent or its client gone). Returns how many are
 * still under way.
 */
size_t http_server_drain(struct http_server *srv, unsigned timeout_ms);
/* Stops and frees. Every pending request must have been answered. */
void http_server_stop(struct http_server *srv);

const char *http_req_method(const struct http_request *req);
/* The path without the query string, percent-decoded once. */
const char *http_req_path(const struct http_request *req);
/* A query argument, decoded once; NULL when absent. */
const char *http_req_query(const struct http_request *req, const char *name);
/* A request header (case-insensitive name); NULL when absent. */
const char *http_req_header(const struct http_request *req, const char *name);
/* The body; never NULL (empty: ""), NUL-terminated for convenience. */
const char *http_req_body(const struct http_request *req, size_t *len);
/* The peer's address in IPv4-mapped IPv6 form (see core/cidr.h). */
const uint8_t *http_req_peer(const struct http_request *req);

/* Names the request's endpoint in metrics ("lookup", …); label must be a
 * static string. Unlabelled requests count as "unknown". */
void http_req_set_label(struct http_request *req, const char *label);

/*
 * Calls fn(arg) once req is over (answer sent or connection gone), on a
 * server thread; for releasing what the request held. One per request.
 */
void http_req_on_done(struct http_request *req, void (*fn)(void *),
    void *arg);

/*
 * Answers req with status and a body (takes ownership of body, which
 * must come from malloc), JSON unless the headers name a Content-Type.
 * Extra headers are given as a NULL-terminated list of name, value pairs
 * (copied), or NULL. Safe from any thread,
 * exactly once per request.
 */
void http_respond(struct http_request *req, unsigned status, char *body,
    size_t len, const char *const *headers);

#endif
