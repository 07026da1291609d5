#include "backend/fetch.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/cidr.h"
#include "core/log.h"
#include "core/util.h"

/* How long the engine thread sleeps when nothing happens; curl shortens it
 * to its own next timer, and a submission wakes it at once. */
#define ENGINE_IDLE_POLL_MS 1000

/* Finished easy handles kept for the next calls: creating one costs more
 * than resetting it, and a reset keeps what curl learnt (TLS sessions). */
#define SPARE_HANDLES 64

/* First allocation for an answer body; grows geometrically up to the cap. */
#define ANSWER_INITIAL_CAP 1024

struct call {
	struct call *next, *prev; /* queue, then the in-flight list */
	CURL *easy;
	char *url;
	char *body; /* NULL: a GET */
	size_t body_len;
	bool secret;
	char *answer;
	size_t answer_len, answer_alloc, answer_cap;
	bool too_large;
	fetch_cb cb;
	void *arg;
	uint64_t started_ms;
	struct curl_slist *connect_to; /* fetch_call_opts.connect_to */
	long https_redirects;
	char errbuf[CURL_ERROR_SIZE];
};

/* A fetch_run job: from its thread to the engine's done list. */
struct job {
	struct job *next;
	struct fetch_engine *engine;
	fetch_job_fn work, done;
	void *arg;
};

struct fetch_engine {
	struct fetch_opts opts; /* strings below are the engine's copies */
	char *ca_file;
	struct curl_slist *headers;
	CURLM *multi;
	pthread_t thread;

	pthread_mutex_t lock; /* guards queue, stopping and the jobs */
	struct call *queue, *queue_tail;
	bool stopping;
	size_t njobs;            /* fetch_run jobs whose done has not run */
	struct job *jobs_done;   /* work finished, done still to run */

	struct call *active; /* engine thread only */
	CURL *spare[SPARE_HANDLES]; /* engine thread only, reset handles */
	size_t nspare;
};

static void
call_free(struct call *c)
{
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->secret)
		secure_wipe(c->body, c->body_len);
	free(c->body);
	/* The answer to an auth call may hold profile data; wiping it costs
	 * little next to the call itself. */
	secure_wipe(c->answer, c->answer_len);
	free(c->answer);
	free(c->url);
	curl_slist_free_all(c->connect_to);
	free(c);
}

/* Takes c's handle back for a later call, or frees it. */
static void
easy_release(struct fetch_engine *e, struct call *c)
{
	if (c->easy == NULL)
		return;
	if (e->nspare < SPARE_HANDLES) {
		/* Forgets every option, pointers into c among them. */
		curl_easy_reset(c->easy);
		e->spare[e->nspare++] = c->easy;
	} else {
		curl_easy_cleanup(c->easy);
	}
	c->easy = NULL;
}

static void
call_finish(struct fetch_engine *e, struct call *c, enum fetch_outcome outcome,
    long status, const char *error)
{
	struct fetch_result res = {
		.outcome = outcome,
		.status = status,
		.body = c->answer ? c->answer : "",
		.body_len = c->answer_len,
		.error = error,
		.elapsed_ms = (unsigned)(now_monotonic_ms() - c->started_ms),
	};

	/* A GET URL may carry an access token in its query: log the path. */
	if (outcome == FETCH_ANSWERED)
		log_debug("%s %.*s: %ld in %u ms", c->body ? "POST" : "GET",
		    (int)strcspn(c->url, "?"), c->url, status, res.elapsed_ms);
	else
		log_debug("%s %.*s: %s after %u ms", c->body ? "POST" : "GET",
		    (int)strcspn(c->url, "?"), c->url, error, res.elapsed_ms);
	c->cb(&res, c->arg);
	easy_release(e, c);
	call_free(c);
}

static size_t
on_answer_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct call *c = arg;
	size_t n = size * nmemb;

	if (n > c->answer_cap - c->answer_len) {
		/* Returning less than n makes curl abort with a write error,
		 * which drain_done reports as FETCH_TOO_LARGE. */
		c->too_large = true;
		return 0;
	}
	if (c->answer_len + n + 1 > c->answer_alloc) {
		size_t grow = c->answer_alloc * 2;

		if (grow < c->answer_len + n + 1)
			grow = c->answer_len + n + 1;
		c->answer = xrealloc(c->answer, grow);
		c->answer_alloc = grow;
	}
	memcpy(c->answer + c->answer_len, data, n);
	c->answer_len += n;
	c->answer[c->answer_len] = '\0';
	return n;
}

/* Ranges no homeserver on the internet lives in; see public_only. */
static const char *const non_public[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
	"169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "224.0.0.0/3", "::/128", "::1/128", "fc00::/7",
	"fe80::/10", "ff00::/8", "64:ff9b::/96",
};

static struct cidr_list non_public_list;
static pthread_once_t non_public_once = PTHREAD_ONCE_INIT;

static void
non_public_init(void)
{
	for (size_t i = 0; i < ARRAY_LEN(non_public); i++) {
		struct cidr c;
		const char *why;

		if (cidr_parse(non_public[i], &c, &why) != 0)
			fatalx("bad built-in range %s: %s", non_public[i], why);
		cidr_list_add(&non_public_list, &c);
	}
}

static curl_socket_t
open_public(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	uint8_t addr[16] = { 0 };

	(void)arg;
	(void)purpose;
	pthread_once(&non_public_once, non_public_init);
	if (a->family == AF_INET) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &((struct sockaddr_in *)&a->addr)->sin_addr, 4);
	} else if (a->family == AF_INET6) {
		memcpy(addr, &((struct sockaddr_in6 *)&a->addr)->sin6_addr, 16);
	} else {
		return CURL_SOCKET_BAD;
	}
	if (cidr_list_match(&non_public_list, addr)) {
		log_info("refused to connect to a non-public address "
		    "(federation.allowPrivateAddresses is false)");
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static CURL *
call_easy(struct fetch_engine *e, struct call *c)
{
	CURL *h = e->nspare > 0 ? e->spare[--e->nspare] : curl_easy_init();

	if (h == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	if (c->body != NULL) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		/* POSTFIELDS (not COPYPOSTFIELDS) so the only copy of a
		 * password in our memory is the one call_free wipes. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)c->body_len);
	}
	if (e->opts.public_only) {
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_public);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, e);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, e->opts.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, e->opts.timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, e->opts.tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, e->opts.tls_verify ? 2L : 0L);
	if (e->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->ca_file);
	/* A redirect from the webapp is a misconfiguration to report, not a
	 * hop to take with a password in the body. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->https_redirects > 0) {
		/* Only for calls that carry no secret (a GET of public
		 * discovery data), and never down to plain http. */
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, c->https_redirects);
		curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	}
	if (c->connect_to != NULL)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)e->opts.max_response);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_answer_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_PRIVATE, c);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "Signpost/" SIGNPOST_VERSION);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	return h;
}

static void
active_unlink(struct fetch_engine *e, struct call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		e->active = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void
call_start(struct fetch_engine *e, struct call *c)
{
	c->answer_cap = e->opts.max_response;
	c->answer_alloc = ANSWER_INITIAL_CAP;
	c->answer = xmalloc(c->answer_alloc);
	c->answer[0] = '\0';
	c->easy = call_easy(e, c);
	if (c->easy == NULL ||
	    curl_multi_add_handle(e->multi, c->easy) != CURLM_OK) {
		call_finish(e, c, FETCH_FAILED, 0, "cannot start the call");
		return;
	}
	c->prev = NULL;
	c->next = e->active;
	if (e->active)
		e->active->prev = c;
	e->active = c;
}

static enum fetch_outcome
outcome_of(CURLcode rc, const struct call *c)
{
	switch (rc) {
	case CURLE_OK:
		return FETCH_ANSWERED;
	case CURLE_OPERATION_TIMEDOUT:
		return FETCH_TIMEOUT;
	case CURLE_FILESIZE_EXCEEDED:
		return FETCH_TOO_LARGE;
	case CURLE_WRITE_ERROR:
		return c->too_large ? FETCH_TOO_LARGE : FETCH_FAILED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return FETCH_UNREACHABLE;
	default:
		return FETCH_FAILED;
	}
}

static void
drain_done(struct fetch_engine *e)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
		struct call *c;
		enum fetch_outcome outcome;
		long status = 0;
		const char *why;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		curl_multi_remove_handle(e->multi, c->easy);
		active_unlink(e, c);
		outcome = outcome_of(msg->data.result, c);
		if (outcome == FETCH_ANSWERED)
			curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
		if (outcome == FETCH_TOO_LARGE)
			why = "answer larger than rest.maxResponseSize";
		else
			why = c->errbuf[0] ? c->errbuf :
					     curl_easy_strerror(msg->data.result);
		call_finish(e, c, outcome, status, why);
	}
}

/* Runs the done step of every fetch_run job whose work has finished. */
static void
jobs_finish(struct fetch_engine *e)
{
	struct job *list, *next;

	pthread_mutex_lock(&e->lock);
	list = e->jobs_done;
	e->jobs_done = NULL;
	pthread_mutex_unlock(&e->lock);
	for (; list; list = next) {
		next = list->next;
		list->done(list->arg);
		free(list);
		/* Counted down only now, so that calls done() submitted are
		 * queued before the loop below may see zero jobs and stop. */
		pthread_mutex_lock(&e->lock);
		e->njobs--;
		pthread_mutex_unlock(&e->lock);
	}
}

static void *
engine_main(void *arg)
{
	struct fetch_engine *e = arg;
	int running;

	for (;;) {
		struct call *batch, *next;
		bool stopping;
		size_t njobs;

		jobs_finish(e);
		pthread_mutex_lock(&e->lock);
		batch = e->queue;
		e->queue = e->queue_tail = NULL;
		stopping = e->stopping;
		njobs = e->njobs;
		pthread_mutex_unlock(&e->lock);

		for (; batch; batch = next) {
			next = batch->next;
			call_start(e, batch);
		}
		/* Stopping lets calls and jobs already under way end on their
		 * own terms (answer or timeout), so none is cut short. */
		if (stopping && e->active == NULL && njobs == 0)
			break;
		curl_multi_perform(e->multi, &running);
		drain_done(e);
		curl_multi_poll(e->multi, NULL, 0, ENGINE_IDLE_POLL_MS, NULL);
	}
	return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("cannot initialise libcurl");
}

/* The header list may carry a shared secret (rest.headers). */
static void
headers_free(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l; l = l->next)
		secure_wipe(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

struct fetch_engine *
fetch_engine_start(const struct fetch_opts *opts)
{
	struct fetch_engine *e = xcalloc(1, sizeof(*e));

	pthread_once(&curl_once, curl_init_once);
	e->opts = *opts;
	e->opts.headers = NULL;
	e->opts.nheaders = 0;
	e->ca_file = opts->ca_file ? xstrdup(opts->ca_file) : NULL;
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	e->headers = curl_slist_append(e->headers, "Accept: application/json");
	/* Without this curl waits for a 100-continue on larger bodies. */
	e->headers = curl_slist_append(e->headers, "Expect:");
	for (size_t i = 0; i < opts->nheaders; i++) {
		char *line = xasprintf("%s: %s", opts->headers[i].name,
		    opts->headers[i].value);

		e->headers = curl_slist_append(e->headers, line);
		secret_free(line);
	}
	e->multi = curl_multi_init();
	if (e->headers == NULL || e->multi == NULL)
		fatalx("cannot initialise libcurl");
	curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, opts->max_conns);
	curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, opts->max_conns);
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, opts->max_conns);
	pthread_mutex_init(&e->lock, NULL);
	if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
		log_warn("cannot start the webapp client thread");
		curl_multi_cleanup(e->multi);
		headers_free(e->headers);
		free(e->ca_file);
		free(e);
		return NULL;
	}
	return e;
}

void
fetch_engine_stop(struct fetch_engine *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_mutex_unlock(&e->lock);
	curl_multi_wakeup(e->multi);
	pthread_join(e->thread, NULL);
	while (e->nspare > 0)
		curl_easy_cleanup(e->spare[--e->nspare]);
	curl_multi_cleanup(e->multi);
	headers_free(e->headers);
	pthread_mutex_destroy(&e->lock);
	free(e->ca_file);
	free(e);
}

static int
submit(struct fetch_engine *e, const char *url, char *body, size_t len,
    bool secret, const struct fetch_call_opts *opts, fetch_cb cb, void *arg)
{
	struct call *c;

	pthread_mutex_lock(&e->lock);
	if (e->stopping) {
		pthread_mutex_unlock(&e->lock);
		if (secret)
			secure_wipe(body, len);
		free(body);
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->url = xstrdup(url);
	c->body = body;
	c->body_len = len;
	c->secret = secret;
	c->cb = cb;
	c->arg = arg;
	c->started_ms = now_monotonic_ms();
	if (opts != NULL && opts->connect_to != NULL &&
	    (c->connect_to = curl_slist_append(NULL, opts->connect_to)) == NULL)
		fatalx("out of memory");
	if (opts != NULL)
		c->https_redirects = opts->https_redirects;
	if (e->queue_tail)
		e->queue_tail->next = c;
	else
		e->queue = c;
	e->queue_tail = c;
	/* Woken under the lock: released first, a concurrent stop could let
	 * the engine end and free the multi handle before this call. */
	curl_multi_wakeup(e->multi);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int
fetch_post_json(struct fetch_engine *e, const char *url, char *body,
    size_t len, bool secret, fetch_cb cb, void *arg)
{
	return submit(e, url, body, len, secret, NULL, cb, arg);
}

int
fetch_get(struct fetch_engine *e, const char *url, fetch_cb cb, void *arg)
{
	return submit(e, url, NULL, 0, false, NULL, cb, arg);
}

int
fetch_get_with(struct fetch_engine *e, const char *url,
    const struct fetch_call_opts *opts, fetch_cb cb, void *arg)
{
	return submit(e, url, NULL, 0, false, opts, cb, arg);
}

static void *
job_main(void *arg)
{
	struct job *j = arg;
	struct fetch_engine *e = j->engine;

	j->work(j->arg);
	pthread_mutex_lock(&e->lock);
	j->next = e->jobs_done;
	e->jobs_done = j;
	/* Woken under the lock: once it is released the engine may run
	 * done, see no job left, stop and free the multi handle. */
	curl_multi_wakeup(e->multi);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

int
fetch_run(struct fetch_engine *e, fetch_job_fn work, fetch_job_fn done,
    void *arg)
{
	struct job *j;
	pthread_attr_t attr;
	pthread_t thread;
	int rc;

	pthread_mutex_lock(&e->lock);
	if (e->stopping || e->njobs >= FETCH_MAX_JOBS) {
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	e->njobs++;
	pthread_mutex_unlock(&e->lock);
	j = xcalloc(1, sizeof(*j));
	j->engine = e;
	j->work = work;
	j->done = done;
	j->arg = arg;
	/* Detached: nobody joins it; the engine waits on njobs instead. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&thread, &attr, job_main, j);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_warnx("cannot start a lookup thread: %s", strerror(rc));
		free(j);
		pthread_mutex_lock(&e->lock);
		e->njobs--;
		curl_multi_wakeup(e->multi);
		pthread_mutex_unlock(&e->lock);
		return -1;
	}
	return 0;
}
