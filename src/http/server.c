#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"


/* Most bytes of a path written to the request log. */
#define HTTP_LOG_PATH_MAX 200

/* First allocation for a body without a Content-Length. */
#define HTTP_BODY_INITIAL_CAP 1024

/*
 * One open connection, for the watchdog. libmicrohttpd's own timeout is
 * for inactivity, so a client sending one header byte every few seconds
 * (slowloris) would hold its connection forever; the watchdog gives each
 * request server.connectionTimeout to arrive whole, counted from the
 * connection's opening or its previous answer, and shuts down the socket
 * of one that takes longer. The socket stays open while the connection
 * is listed: it is unlisted (under the lock) before libmicrohttpd closes
 * it.
 */
struct watch {
	struct watch *prev, *next;
	int fd;
	uint64_t deadline_ms; /* 0: a request is being handled */
};

struct http_server {
	struct MHD_Daemon *daemon;
	http_handler handler;
	void *arg;
	size_t max_body;
	size_t max_active;

	pthread_mutex_t lock;  /* guards the fields below */
	pthread_cond_t idle;   /* when draining: active dropped to 0 */
	pthread_cond_t wake;   /* the watchdog's: stop now */
	size_t active;         /* handed to the handler, not yet completed */
	bool draining;         /* quiesced: new requests get 503 */
	struct watch *watches; /* open connections */
	bool stopping;         /* tells the watchdog to end */

	uint64_t request_deadline_ms;
	pthread_t watchdog;
	bool has_watchdog;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method; /* owned by libmicrohttpd for the request's life */
	const char *path;
	char *body;
	size_t body_len, body_alloc;
	bool dispatched;
	bool counted;          /* in srv->active */
	uint8_t peer[16];
	void (*done)(void *); /* http_req_on_done */
	void *done_arg;
	const char *label;     /* http_req_set_label; static */
	struct watch *watch;   /* the connection's, or NULL */
	uint64_t started_us;   /* when the request was complete */

	pthread_mutex_t lock; /* guards the two fields below */
	bool suspended;
	struct MHD_Response *response;
	unsigned status;
};

const char *
http_req_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_req_path(const struct http_request *req)
{
	return req->path;
}

const char *
http_req_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

const char *
http_req_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
http_req_body(const struct http_request *req, size_t *len)
{
	*len = req->body_len;
	return req->body ? req->body : "";
}

const uint8_t *
http_req_peer(const struct http_request *req)
{
	return req->peer;
}

static void
peer_of(struct MHD_Connection *conn, uint8_t out[16])
{
	const union MHD_ConnectionInfo *info;
	const struct sockaddr *sa;

	memset(out, 0, 16);
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info == NULL || info->client_addr == NULL)
		return;
	sa = info->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		memcpy(out, &in6->sin6_addr, 16);
	}
}

void
http_respond(struct http_request *req, unsigned status, char *body,
    size_t len, const char *const *headers)
{
	struct MHD_Response *resp;
	bool resume, typed = false;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		fatalx("out of memory creating a response");
	for (const char *const *h = headers; h && h[0]; h += 2)
		if (strcasecmp(h[0], MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
			typed = true;
	if (!typed)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
	for (; headers && headers[0]; headers += 2)
		MHD_add_response_header(resp, headers[0], headers[1]);

	/* The handler may answer from another thread before the server
	 * thread has suspended the connection; the lock orders the two. */
	pthread_mutex_lock(&req->lock);
	req->response = resp;
	req->status = status;
	resume = req->suspended;
	req->suspended = false;
	pthread_mutex_unlock(&req->lock);
	if (resume)
		MHD_resume_connection(req->conn);
}

static enum MHD_Result
queue_ready(struct http_request *req)
{
	enum MHD_Result rc;

	rc = MHD_queue_response(req->conn, req->status, req->response);
	MHD_destroy_response(req->response);
	req->response = NULL;
	return rc;
}

static enum MHD_Result
refuse_too_large(struct http_request *req)
{
	static const char body[] =
	    "{\"errcode\":\"M_TOO_LARGE\",\"error\":\"Request body too large\"}";

	http_respond(req, 413, xstrdup(body), sizeof(body) - 1, NULL);
	return queue_ready(req);
}

/* Answers a request the handler never sees; close: end the connection. */
static enum MHD_Result
refuse(struct http_request *req, unsigned status, const char *body,
    bool close)
{
	static const char *const closing[] = {
		MHD_HTTP_HEADER_CONNECTION, "close",
		MHD_HTTP_HEADER_RETRY_AFTER, "1",
		NULL,
	};
	static const char *const retry[] = {
		MHD_HTTP_HEADER_RETRY_AFTER, "1",
		NULL,
	};

	http_respond(req, status, xstrdup(body), strlen(body),
	    close ? closing : retry);
	return queue_ready(req);
}

/*
 * Counts req as active unless the server is draining or already has
 * max_active requests under way; then it answers 503 itself, so overload
 * costs a few microseconds instead of a queue that grows without bound.
 */
static bool
admit(struct http_request *req)
{
	struct http_server *srv = req->srv;
	bool draining, full;

	pthread_mutex_lock(&srv->lock);
	draining = srv->draining;
	full = srv->active >= srv->max_active;
	if (!draining && !full) {
		srv->active++;
		req->counted = true;
	}
	/* Arrived whole: the watchdog leaves the connection alone until
	 * the answer is sent. */
	if (req->watch != NULL)
		req->watch->deadline_ms = 0;
	pthread_mutex_unlock(&srv->lock);
	if (draining)
		refuse(req, 503, "{\"errcode\":\"M_UNKNOWN\","
		    "\"error\":\"Signpost is shutting down\"}", true);
	else if (full)
		refuse(req, 503, "{\"errcode\":\"M_UNKNOWN\","
		    "\"error\":\"Signpost is overloaded; retry later\"}", false);
	return !draining && !full;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct http_request *
request_new(struct http_server *srv, struct MHD_Connection *conn,
    const char *url, const char *method)
{
	struct http_request *req = xcalloc(1, sizeof(*req));

	req->srv = srv;
	req->conn = conn;
	req->method = method;
	req->path = url;
	pthread_mutex_init(&req->lock, NULL);
	peer_of(conn, req->peer);
	req->started_us = now_us();
	return req;
}

static bool
body_append(struct http_request *req, const char *data, size_t n)
{
	size_t max = req->srv->max_body;

	if (n > max - req->body_len)
		return false;
	if (req->body_len + n + 1 > req->body_alloc) {
		size_t grow = req->body_alloc ? req->body_alloc * 2 :
						HTTP_BODY_INITIAL_CAP;

		while (grow < req->body_len + n + 1)
			grow *= 2;
		if (grow > max + 1)
			grow = max + 1;
		/* Not realloc: the old block may hold a password. */
		{
			char *nb = xmalloc(grow);

			if (req->body) {
				memcpy(nb, req->body, req->body_len);
				secure_wipe(req->body, req->body_alloc);
				free(req->body);
			}
			req->body = nb;
			req->body_alloc = grow;
		}
	}
	memcpy(req->body + req->body_len, data, n);
	req->body_len += n;
	req->body[req->body_len] = '\0';
	return true;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	bool suspend;
	const union MHD_ConnectionInfo *ci;

	(void)version;
	if (req == NULL) {
		const char *cl;
		int64_t declared;

		req = request_new(srv, conn, url, method);
		*con_cls = req;
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		req->watch = ci != NULL ? ci->socket_context : NULL;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && parse_int64(cl, 0, INT64_MAX, &declared) == 0 &&
		    (uint64_t)declared > srv->max_body)
			return refuse_too_large(req);
		/* Answering on this first call would make libmicrohttpd
		 * close the connection; wait for the next one. */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		/* A chunked body over the cap: no answer can be queued in
		 * mid-body, so the connection is closed. */
		if (!body_append(req, upload_data, *upload_data_size))
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!req->dispatched) {
		req->dispatched = true;
		req->started_us = now_us();
		if (!admit(req))
			return MHD_YES;
		srv->handler(req, srv->arg);
		pthread_mutex_lock(&req->lock);
		suspend = req->response == NULL;
		if (suspend) {
			req->suspended = true;
			MHD_suspend_connection(conn);
		}
		pthread_mutex_unlock(&req->lock);
		if (suspend)
			return MHD_YES;
	}
	if (req->response == NULL)
		return MHD_YES;
	return queue_ready(req);
}

/*
 * One line per answered request at info: method, path (decoded, so control
 * characters a client slipped in are replaced, and long paths cut), status
 * and time. No query string: it may hold addresses or an access token.
 */
static void
log_request(const struct http_request *req, uint64_t us)
{
	char path[HTTP_LOG_PATH_MAX + 4];
	size_t i;

	for (i = 0; i < HTTP_LOG_PATH_MAX && req->path[i] != '\0'; i++)
		path[i] = ((unsigned char)req->path[i] < 0x20 ||
		    req->path[i] == 0x7f) ? '?' : req->path[i];
	if (req->path[i] != '\0') {
		memcpy(path + i, "...", 3);
		i += 3;
	}
	path[i] = '\0';
	log_info("%s %s %u %.2f ms", req->method, path, req->status,
	    (double)us / 1000.0);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;

	(void)cls;
	(void)conn;
	if (req == NULL)
		return;
	if (req->status != 0) {
		uint64_t us = now_us() - req->started_us;

		metrics_http_request(req->label ? req->label : "unknown",
		    req->status, us);
		if (log_enabled(LOG_LEVEL_INFO))
			log_request(req, us);
	} else if (log_enabled(LOG_LEVEL_DEBUG)) {
		log_debug("%s request ended without an answer (code %d)",
		    req->method, (int)toe);
	}
	if (req->counted || req->watch != NULL) {
		struct http_server *srv = req->srv;

		pthread_mutex_lock(&srv->lock);
		/* Only a drain waits on this; waking nobody costs nothing,
		 * but a broadcast per request would. */
		if (req->counted && --srv->active == 0 && srv->draining)
			pthread_cond_broadcast(&srv->idle);
		/* The next request on this connection gets its own time. */
		if (req->watch != NULL)
			req->watch->deadline_ms = now_monotonic_ms() +
			    srv->request_deadline_ms;
		pthread_mutex_unlock(&srv->lock);
	}
	if (req->done != NULL)
		req->done(req->done_arg);
	if (req->response)
		MHD_destroy_response(req->response);
	/* Bodies carry passwords. */
	secure_wipe(req->body, req->body_alloc);
	free(req->body);
	pthread_mutex_destroy(&req->lock);
	free(req);
	*con_cls = NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	struct watch *w = *socket_ctx;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		metrics_connections(1);
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL)
			return;
		w = xcalloc(1, sizeof(*w));
		w->fd = ci->connect_fd;
		pthread_mutex_lock(&srv->lock);
		w->deadline_ms = now_monotonic_ms() + srv->request_deadline_ms;
		w->next = srv->watches;
		if (w->next != NULL)
			w->next->prev = w;
		srv->watches = w;
		pthread_mutex_unlock(&srv->lock);
		*socket_ctx = w;
		return;
	}
	metrics_connections(-1);
	if (w == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		srv->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&srv->lock);
	free(w);
	*socket_ctx = NULL;
}

/* How often the watchdog looks; a late request is cut at most this much
 * after its deadline. */
#define WATCHDOG_PERIOD_MS 250

static void *
watchdog_main(void *arg)
{
	struct http_server *srv = arg;
	struct timespec until;
	uint64_t now;

	pthread_mutex_lock(&srv->lock);
	while (!srv->stopping) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WATCHDOG_PERIOD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->wake, &srv->lock, &until);
		now = now_monotonic_ms();
		for (struct watch *w = srv->watches; w != NULL; w = w->next) {
			if (w->deadline_ms == 0 || w->deadline_ms > now)
				continue;
			/* libmicrohttpd sees the end of the stream and closes
			 * the connection itself. */
			shutdown(w->fd, SHUT_RDWR);
			w->deadline_ms = 0;
			log_debug("http: a request did not arrive within "
			    "server.connectionTimeout; connection closed");
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

static void
server_free(struct http_server *srv)
{
	pthread_cond_destroy(&srv->idle);
	pthread_cond_destroy(&srv->wake);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

struct http_server *
http_server_start(const struct http_server_opts *opts, http_handler handler,
    void *arg)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *bind_sa = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	srv->handler = handler;
	srv->arg = arg;
	srv->max_body = opts->max_body;
	srv->max_active = opts->max_active ? opts->max_active : SIZE_MAX;
	srv->request_deadline_ms = (uint64_t)opts->conn_timeout * 1000;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	pthread_cond_init(&srv->wake, NULL);
	if (opts->address == NULL) {
		flags |= MHD_USE_DUAL_STACK;
	} else if (inet_pton(AF_INET, opts->address, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(opts->port);
		memset(sin.sin_zero, 0, sizeof(sin.sin_zero));
		bind_sa = (const struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, opts->address, &sin6.sin6_addr) == 1) {
		memset(&sin6, 0, sizeof(sin6));
		inet_pton(AF_INET6, opts->address, &sin6.sin6_addr);
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(opts->port);
		bind_sa = (const struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		log_warnx("server.address %s is not an IP address", opts->address);
		server_free(srv);
		return NULL;
	}

	srv->daemon = MHD_start_daemon(flags, opts->port, NULL, NULL,
	    on_request, srv,
	    /* First, so that every later option's complaint goes here. */
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opts->threads > 1 ? opts->threads : 0),
	    MHD_OPTION_CONNECTION_TIMEOUT, opts->conn_timeout,
	    MHD_OPTION_CONNECTION_LIMIT, opts->max_clients,
	    /* The whole per-connection buffer: libmicrohttpd keeps the
	     * request line and headers, the answer's headers and body
	     * chunks in it, zeroes it after every request, and holds it
	     * for as long as the connection stays open, so its size is
	     * both the header limit (431 above it) and the price of an
	     * idle keep-alive connection. */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->conn_memory,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    bind_sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, bind_sa,
	    MHD_OPTION_END);
	if (srv->daemon == NULL) {
		log_warnx("cannot listen on %s port %u (in use, or no permission)",
		    opts->address ? opts->address : "every address",
		    opts->port);
		server_free(srv);
		return NULL;
	}
	if (pthread_create(&srv->watchdog, NULL, watchdog_main, srv) != 0)
		fatalx("cannot start the connection watchdog thread");
	srv->has_watchdog = true;
	return srv;
}

void
http_server_quiesce(struct http_server *srv)
{
	MHD_socket fd = MHD_quiesce_daemon(srv->daemon);

	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	pthread_mutex_lock(&srv->lock);
	srv->draining = true;
	pthread_mutex_unlock(&srv->lock);
}

size_t
http_server_drain(struct http_server *srv, unsigned timeout_ms)
{
	struct timespec until;
	size_t left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv->lock);
	while (srv->active > 0 &&
	    pthread_cond_timedwait(&srv->idle, &srv->lock, &until) == 0)
		;
	left = srv->active;
	pthread_mutex_unlock(&srv->lock);
	return left;
}

static void
watchdog_stop(struct http_server *srv)
{
	if (!srv->has_watchdog)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->wake);
	pthread_mutex_unlock(&srv->lock);
	pthread_join(srv->watchdog, NULL);
	srv->has_watchdog = false;
}

void
http_server_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	watchdog_stop(srv);
	MHD_stop_daemon(srv->daemon);
	server_free(srv);
}

void
http_req_set_label(struct http_request *req, const char *label)
{
	req->label = label;
}

void
http_req_on_done(struct http_request *req, void (*fn)(void *), void *arg)
{
	req->done = fn;
	req->done_arg = arg;
}
