/*
 * Outbound HTTP calls to the webapp, without holding a request thread.
 *
 * One engine owns one libcurl multi handle and one thread that drives it;
 * the multi handle's connection cache gives pooled keep-alive connections
 * to each webapp host, capped by max_conns. Callers on any thread submit a
 * call and get a callback on the engine thread when it ends, whatever the
 * outcome: answer, timeout, refused, oversized or shut down.
 */
#ifndef SIGNPOST_BACKEND_FETCH_H
#define SIGNPOST_BACKEND_FETCH_H

#include <stdbool.h>
#include <stddef.h>

struct fetch_header {
	const char *name;
	const char *value;
};

struct fetch_opts {
	long connect_timeout_ms;
	long timeout_ms;      /* whole call, connect included */
	bool tls_verify;
	const char *ca_file;  /* NULL: the system store */
	long max_conns;       /* per host and in total */
	size_t max_response;  /* bytes of answer body kept; more is a fault */
	const struct fetch_header *headers; /* sent with every call */
	size_t nheaders;
	/*
	 * Refuse to connect to loopback, private, link-local, multicast and
	 * other non-public addresses. Checked on the address curl is about
	 * to connect to, so DNS answers cannot smuggle one in.
	 */
	bool public_only;
};

enum fetch_outcome {
	FETCH_ANSWERED = 0, /* an HTTP status arrived; see status */
	FETCH_TIMEOUT,      /* connect or total timeout */
	FETCH_UNREACHABLE,  /* refused, DNS, TLS, reset before an answer */
	FETCH_TOO_LARGE,    /* answer over max_response */
	FETCH_FAILED,       /* anything else, including shutdown */
};

struct fetch_result {
	enum fetch_outcome outcome;
	long status;         /* HTTP status when ANSWERED, else 0 */
	const char *body;    /* NUL-terminated; valid during the callback */
	size_t body_len;
	const char *error;   /* human text for logs when not ANSWERED */
	unsigned elapsed_ms;
};

/* Runs on the engine thread; must not block. */
typedef void (*fetch_cb)(const struct fetch_result *res, void *arg);

struct fetch_engine;

/* Starts the engine thread; copies what it needs from opts. NULL on error. */
struct fetch_engine *fetch_engine_start(const struct fetch_opts *opts);
/*
 * Fails every queued and in-flight call (their callbacks run with
 * FETCH_FAILED), stops the thread and frees the engine. NULL is fine.
 */
void fetch_engine_stop(struct fetch_engine *engine);

/*
 * POSTs body (JSON) to url. The engine takes ownership of body, which must
 * come from malloc; when secret is true it is wiped before it is freed.
 * Returns 0 and later calls cb exactly once, or -1 (engine stopping) and
 * never calls cb; body is released either way.
 */
int fetch_post_json(struct fetch_engine *engine, const char *url, char *body,
    size_t len, bool secret, fetch_cb cb, void *arg);

/* GETs url; otherwise as fetch_post_json. */
int fetch_get(struct fetch_engine *engine, const char *url, fetch_cb cb,
    void *arg);

/* Settings of one call beyond the engine's; zero means the engine's. */
struct fetch_call_opts {
	/*
	 * Connects somewhere other than the URL's host and port while the
	 * Host header, TLS SNI and certificate name still follow the URL:
	 * "host:port:target-host:target-port" as libcurl's CURLOPT_CONNECT_TO
	 * (IPv6 literals in brackets). Copied. NULL: the URL's own.
	 */
	const char *connect_to;
	/* Follows up to this many redirects, to https URLs only. */
	long https_redirects;
};

/* fetch_get with per-call settings; opts may be NULL. */
int fetch_get_with(struct fetch_engine *engine, const char *url,
    const struct fetch_call_opts *opts, fetch_cb cb, void *arg);

/* Most fetch_run jobs at once per engine; each holds one thread. */
#define FETCH_MAX_JOBS 64

typedef void (*fetch_job_fn)(void *arg);

/*
 * For a step that can only be done by blocking (a DNS query through a
 * resolver library): runs work(arg) on a short-lived thread of its own,
 * then done(arg) on the engine thread, so the engine never waits on it.
 * work must bound its own time; the engine does not stop before done has
 * run. Returns 0, or -1 (engine stopping, FETCH_MAX_JOBS under way, no
 * thread) and calls neither.
 */
int fetch_run(struct fetch_engine *engine, fetch_job_fn work,
    fetch_job_fn done, void *arg);

#endif
