#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/log.h"
#include "core/util.h"

/* Bytes of request line plus headers per connection; larger headers get a
 * 431 from libmicrohttpd itself. Also the read buffer for bodies. */
#define HTTP_CONN_MEMORY_LIMIT (32 * 1024)

/* First allocation for a body without a Content-Length. */
#define HTTP_BODY_INITIAL_CAP 1024

struct http_server {
	struct MHD_Daemon *daemon;
	http_handler handler;
	void *arg;
	size_t max_body;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method; /* owned by libmicrohttpd for the request's life */
	const char *path;
	char *body;
	size_t body_len, body_alloc;
	bool dispatched;
	uint8_t peer[16];

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
	bool resume;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		fatalx("out of memory creating a response");
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

	(void)version;
	if (req == NULL) {
		const char *cl;
		int64_t declared;

		req = request_new(srv, conn, url, method);
		*con_cls = req;
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

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_request *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req == NULL)
		return;
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
		free(srv);
		return NULL;
	}

	srv->daemon = MHD_start_daemon(flags, opts->port, NULL, NULL,
	    on_request, srv,
	    /* First, so that every later option's complaint goes here. */
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opts->threads > 1 ? opts->threads : 0),
	    MHD_OPTION_CONNECTION_TIMEOUT, opts->conn_timeout,
	    MHD_OPTION_CONNECTION_LIMIT, opts->max_clients,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY_LIMIT,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
	    bind_sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, bind_sa,
	    MHD_OPTION_END);
	if (srv->daemon == NULL) {
		log_warnx("cannot listen on %s port %u (in use, or no permission)",
		    opts->address ? opts->address : "every address",
		    opts->port);
		free(srv);
		return NULL;
	}
	return srv;
}

void
http_server_quiesce(struct http_server *srv)
{
	MHD_socket fd = MHD_quiesce_daemon(srv->daemon);

	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

void
http_server_stop(struct http_server *srv)
{
	if (srv == NULL)
		return;
	MHD_stop_daemon(srv->daemon);
	free(srv);
}
