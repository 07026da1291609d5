/*
 * check-backend's runner: which calls to make, made one at a time through
 * the daemon's fetch engine, and the report they fill. The judging is in
 * rest_check_judge.c.
 */
#include "backend/rest_check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "backend/rest_internal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"

/* The page size the daemon's index builder asks for (identity/hashing.c),
 * so the first page is judged against the limit the daemon will send. */
#define CHECK_LIST_LIMIT 1000

/* Lookups in the bulk check: made-up email and phone, the probe's email,
 * its case-changed twin and its phone. */
#define CHECK_BULK_MAX 5

/* Longest Content-Type or Location kept from the header probe. */
#define CHECK_HEADER_MAX 512

const char *
rest_check_status_name(enum rest_check_status s)
{
	static const char *const names[] = { "PASS", "WARN", "FAIL", "SKIP" };

	return (size_t)s < ARRAY_LEN(names) ? names[s] : "?";
}

const char *
rest_check_kind_name(enum rest_check_kind k)
{
	static const char *const names[] = { "note", "warning", "problem",
		"fix" };

	return (size_t)k < ARRAY_LEN(names) ? names[k] : "?";
}

struct rest_check_item *
rest_check_add(struct rest_check_report *r, const char *endpoint,
    const char *title_fmt, ...)
{
	struct rest_check_item *it;
	va_list ap;

	/* rest_check_run makes at most 10 items; more is a bug here. */
	if (r->nitems == REST_CHECK_MAX_ITEMS)
		fatalx("check-backend: report full");
	it = &r->items[r->nitems++];
	memset(it, 0, sizeof(*it));
	it->endpoint = endpoint;
	it->elapsed_ms = -1;
	va_start(ap, title_fmt);
	if (vasprintf(&it->title, title_fmt, ap) < 0)
		fatalx("out of memory");
	va_end(ap);
	return it;
}

/* Overwrites every occurrence of secret in text with '*'. */
static void
redact(char *text, const char *secret)
{
	size_t n = strlen(secret);
	char *p = text;

	while ((p = strstr(p, secret)) != NULL) {
		memset(p, '*', n);
		p += n;
	}
}

void
rest_check_vline(struct rest_check_item *it, enum rest_check_kind kind,
    const char *fmt, va_list ap)
{
	if (kind == REST_CHECK_WARNING && it->status == REST_CHECK_PASS)
		it->status = REST_CHECK_WARN;
	if (kind == REST_CHECK_PROBLEM && it->status != REST_CHECK_SKIP)
		it->status = REST_CHECK_FAIL;
	if (it->nlines == REST_CHECK_MAX_LINES) {
		it->truncated = true;
		return;
	}
	if (vasprintf(&it->lines[it->nlines].text, fmt, ap) < 0)
		fatalx("out of memory");
	if (it->redact != NULL && it->redact[0] != '\0')
		redact(it->lines[it->nlines].text, it->redact);
	it->lines[it->nlines++].kind = kind;
}

void
rest_check_line(struct rest_check_item *it, enum rest_check_kind kind,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rest_check_vline(it, kind, fmt, ap);
	va_end(ap);
}

void
rest_check_set_status(struct rest_check_item *it, enum rest_check_status s)
{
	it->status = s;
}

void
rest_check_tally(struct rest_check_report *r)
{
	memset(r->count, 0, sizeof(r->count));
	for (size_t i = 0; i < r->nitems; i++)
		r->count[r->items[i].status]++;
}

void
rest_check_report_clear(struct rest_check_report *r)
{
	for (size_t i = 0; i < r->nitems; i++) {
		struct rest_check_item *it = &r->items[i];

		free(it->title);
		free(it->url);
		for (size_t k = 0; k < it->nlines; k++)
			free(it->lines[k].text);
	}
	memset(r, 0, sizeof(*r));
}

/* One finished call, copied off the engine thread. */
struct answer {
	struct rest_check_answer a;
	char *body;
	char *error;
	char *content_type;
	char *location;
};

static void
answer_clear(struct answer *ans)
{
	/* An auth answer may carry profile data; cheap to wipe. */
	if (ans->body != NULL)
		secure_wipe(ans->body, ans->a.fr.body_len);
	free(ans->body);
	free(ans->error);
	free(ans->content_type);
	free(ans->location);
	memset(ans, 0, sizeof(*ans));
}

/* A call in flight, waited for by the checking thread. */
struct wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct answer *out;
};

/* Runs on the engine thread: copy what the judges need, wake the waiter. */
static void
on_answer(const struct fetch_result *fr, void *arg)
{
	struct wait *w = arg;
	struct answer *ans = w->out;

	ans->a.fr = *fr;
	ans->body = xmalloc(fr->body_len + 1);
	memcpy(ans->body, fr->body, fr->body_len);
	ans->body[fr->body_len] = '\0';
	ans->a.fr.body = ans->body;
	ans->error = fr->error ? xstrdup(fr->error) : NULL;
	ans->a.fr.error = ans->error;
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * POSTs body (taken) to url through the engine, as rest_post does, and
 * waits for the end. Returns 0, or -1 when the call could not start.
 */
static int
call(const struct rest_check_opts *o, const char *url, json_t *body,
    bool secret, struct answer *out)
{
	struct wait w = { .out = out };
	char *text;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (body == NULL)
		return -1;
	text = json_dump(body, &len);
	json_decref(body);
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	rc = fetch_post_json(o->engine, url, text, len, secret, on_answer, &w);
	if (rc == 0) {
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return rc;
}

/* The headers are in once the body starts: stop there, whatever its
 * size. curl then ends with CURLE_WRITE_ERROR, which is expected. */
static size_t
stop_at_body(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)size;
	(void)nmemb;
	(void)arg;
	return 0;
}

static char *
header_copy(const char *s)
{
	return s != NULL ? xstrndup(s, strnlen(s, CHECK_HEADER_MAX)) : NULL;
}

/*
 * The engine hands back status and body, not headers; a redirect's target
 * and the Content-Type are worth a second look. So the same non-secret
 * request is sent once more, with the engine's options, and only those
 * two headers are kept. It never changes a verdict, only explains one,
 * and it is never made with the probe's password.
 */
static void
probe_headers(const struct rest_check_opts *o, const char *url,
    json_t *body, struct answer *ans)
{
	const struct fetch_opts *f = o->fetch;
	struct curl_slist *hdrs = NULL;
	CURL *h;
	char *text, *ct = NULL, *loc = NULL;
	size_t len;
	CURLcode rc;

	if (f == NULL || body == NULL || (h = curl_easy_init()) == NULL) {
		json_decref(body);
		return;
	}
	text = json_dump(body, &len);
	json_decref(body);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (size_t i = 0; i < f->nheaders; i++) {
		char *line = xasprintf("%s: %s", f->headers[i].name,
		    f->headers[i].value);

		hdrs = curl_slist_append(hdrs, line);
		secret_free(line);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, f->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, f->timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, f->tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, f->tls_verify ? 2L : 0L);
	if (f->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, f->ca_file);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stop_at_body);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "Signpost/" SIGNPOST_VERSION);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR) {
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
		curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
		ans->content_type = header_copy(ct);
		ans->location = header_copy(loc);
		ans->a.content_type = ans->content_type;
		ans->a.location = ans->location;
	}
	curl_easy_cleanup(h);
	/* The list holds the shared secret of rest.headers. */
	for (struct curl_slist *l = hdrs; l; l = l->next)
		secure_wipe(l->data, strlen(l->data));
	curl_slist_free_all(hdrs);
	free(text);
}

/* Sets the call's facts on the item the judge will fill. */
static void
item_call(struct rest_check_item *it, const char *url,
    const struct answer *ans)
{
	it->url = xstrdup(url);
	it->elapsed_ms = ans->a.fr.elapsed_ms;
	it->http_status = ans->a.fr.outcome == FETCH_ANSWERED ?
	    ans->a.fr.status : 0;
}

/* A call that could not start (the engine is stopping): a tool fault. */
static void
item_not_started(struct rest_check_item *it, const char *url)
{
	it->url = xstrdup(url);
	rest_check_line(it, REST_CHECK_PROBLEM, "the call could not start");
}

static bool
answered(const struct answer *ans)
{
	return ans->a.fr.outcome == FETCH_ANSWERED;
}

/*
 * Whether the endpoint answered in a way that says nothing about the next
 * call: a body to read, or a status the endpoint reads as "no". After a
 * time-out, a refused connection, a redirect, a 401 or a 5xx, asking it
 * again would only repeat the same failure.
 */
static bool
reached(const struct answer *ans, bool any_4xx_is_no)
{
	const struct fetch_result *fr = &ans->a.fr;

	return fr->outcome == FETCH_ANSWERED && ((fr->status >= 200 &&
	    fr->status < 300) || fr->status == 404 || (any_4xx_is_no &&
	    fr->status >= 400 && fr->status < 500));
}

/* The remaining checks of an endpoint whose first call failed: said, not
 * made (a time-out would only be waited for again). */
static void
skip_unreached(struct rest_check_report *r, const char *endpoint,
    const char *title)
{
	struct rest_check_item *it = rest_check_add(r, endpoint, "%s", title);

	rest_check_line(it, REST_CHECK_NOTE, "not tried: the first call to "
	    "this endpoint failed (see above)");
	rest_check_set_status(it, REST_CHECK_SKIP);
}

static void
skip_off(struct rest_check_report *r, const char *endpoint, const char *key,
    const char *what)
{
	struct rest_check_item *it = rest_check_add(r, endpoint,
	    "%s endpoint", endpoint);

	rest_check_line(it, REST_CHECK_NOTE, "%s is empty: %s", key, what);
	rest_check_set_status(it, REST_CHECK_SKIP);
}

/* Random lowercase hex, so made-up names exist nowhere. */
static void
random_hex(char *out, size_t bytes)
{
	unsigned char raw[16];

	if (bytes > sizeof(raw))
		bytes = sizeof(raw);
	randombytes_buf(raw, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, raw, bytes);
}

/* A made-up user with a random password must be refused. Returns
 * whether a further call to the endpoint is worth making (reached()). */
static bool
auth_made_up(const struct rest_check_opts *o, struct rest_check_report *r,
    bool *all_404)
{
	struct rest_check_item *it;
	struct answer ans;
	char lp[48] = "signpost-check-", pw[33], *mxid;
	bool ok = false;

	random_hex(lp + strlen(lp), 8);
	random_hex(pw, 16);
	mxid = xasprintf("@%s:%s", lp, o->domain);
	it = rest_check_add(r, "auth", "auth: a made-up user, a random "
	    "password");
	if (call(o, o->url_auth, rest_auth_request(mxid, lp, o->domain, pw),
	    false, &ans) != 0) {
		item_not_started(it, o->url_auth);
		goto out;
	}
	item_call(it, o->url_auth, &ans);
	ok = reached(&ans, true);
	if (answered(&ans))
		probe_headers(o, o->url_auth,
		    rest_auth_request(mxid, lp, o->domain, pw), &ans);
	rest_check_judge_auth(o, &ans.a, mxid, false, NULL, it);
	*all_404 &= it->http_status == 404;
	answer_clear(&ans);
out:
	free(mxid);
	return ok;
}

/* The probe user's own login must be accepted, as that user. */
static void
auth_probe(const struct rest_check_opts *o, struct rest_check_report *r,
    const char *mxid, const char *domain)
{
	struct rest_check_item *it;
	struct answer ans;

	it = rest_check_add(r, "auth", "auth: %s's password", mxid);
	/* A webapp may echo the password anywhere (a key, a header); the
	 * report must not pass it on. */
	it->redact = o->password;
	if (o->password == NULL) {
		rest_check_line(it, REST_CHECK_NOTE, "no password given: use "
		    "--password-file FILE or SIGNPOST_PROBE_PASSWORD to try a "
		    "real login");
		rest_check_set_status(it, REST_CHECK_SKIP);
	} else if (call(o, o->url_auth, rest_auth_request(mxid,
	    o->user_localpart, domain, o->password), true, &ans) != 0) {
		/* secret: the engine wiped the body it sent. */
		item_not_started(it, o->url_auth);
	} else {
		item_call(it, o->url_auth, &ans);
		rest_check_judge_auth(o, &ans.a, mxid, true, o->password, it);
		answer_clear(&ans);
	}
}

static void
check_auth(const struct rest_check_opts *o, struct rest_check_report *r,
    bool *all_404, size_t *n404)
{
	const char *domain = o->user_domain ? o->user_domain : o->domain;
	char *mxid = NULL, *title;

	if (o->user_localpart != NULL)
		mxid = xasprintf("@%s:%s", o->user_localpart, domain);
	(*n404)++;
	if (auth_made_up(o, r, all_404)) {
		if (mxid != NULL)
			auth_probe(o, r, mxid, domain);
	} else if (mxid != NULL) {
		title = xasprintf("auth: %s's password", mxid);
		skip_unreached(r, "auth", title);
		free(title);
	}
	free(mxid);
}

/* Emails are matched case-insensitively; the twin tests that. NULL when
 * the address has no letters to change. */
static char *
case_twin(const char *email)
{
	char *twin = xstrdup(email);
	bool lower = false;

	for (char *p = twin; *p; p++)
		lower |= *p >= 'a' && *p <= 'z';
	for (char *p = twin; *p; p++) {
		if (lower && *p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
		else if (!lower && *p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	if (strcmp(twin, email) == 0) {
		free(twin);
		return NULL;
	}
	return twin;
}

static bool
single_one(const struct rest_check_opts *o, struct rest_check_report *r,
    const struct backend_threepid *q, enum rest_check_want want,
    const char *title, bool probe, bool *all_404)
{
	struct rest_check_item *it = rest_check_add(r, "single", "%s", title);
	struct answer ans;
	bool ok;

	if (call(o, o->url_single, rest_single_request(q), false, &ans) != 0) {
		item_not_started(it, o->url_single);
		return false;
	}
	item_call(it, o->url_single, &ans);
	if (probe && answered(&ans))
		probe_headers(o, o->url_single, rest_single_request(q), &ans);
	rest_check_judge_single(o, &ans.a, q, want, it);
	if (want == REST_CHECK_WANT_NONE)
		*all_404 &= it->http_status == 404;
	ok = reached(&ans, false);
	answer_clear(&ans);
	return ok;
}

static void
check_single(const struct rest_check_opts *o, struct rest_check_report *r,
    const struct backend_threepid *unknown, bool *all_404, size_t *n404)
{
	struct backend_threepid q;
	char *twin, *title;

	(*n404)++;
	if (!single_one(o, r, unknown, REST_CHECK_WANT_NONE,
	    "single: a made-up address", true, all_404)) {
		if (o->email != NULL || o->msisdn != NULL)
			skip_unreached(r, "single", "single: the probe's "
			    "addresses");
		return;
	}
	if (o->email != NULL) {
		q = (struct backend_threepid){ "email", o->email };
		title = xasprintf("single: email %s", o->email);
		single_one(o, r, &q, REST_CHECK_WANT_MATCH, title, false,
		    all_404);
		free(title);
		if ((twin = case_twin(o->email)) != NULL) {
			q.address = twin;
			title = xasprintf("single: email %s (case changed)",
			    twin);
			single_one(o, r, &q, REST_CHECK_WANT_SOFT, title, false,
			    all_404);
			free(title);
			free(twin);
		}
	}
	if (o->msisdn != NULL) {
		q = (struct backend_threepid){ "msisdn", o->msisdn };
		title = xasprintf("single: msisdn %s", o->msisdn);
		single_one(o, r, &q, REST_CHECK_WANT_MATCH, title, false,
		    all_404);
		free(title);
	}
}

static json_t *
bulk_body(const struct backend_threepid *q, size_t n)
{
	json_t *list = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:s,s:s}", "medium",
		    q[i].medium, "address", q[i].address));
	return json_pack("{s:o}", "lookup", list);
}

static void
check_bulk(const struct rest_check_opts *o, struct rest_check_report *r,
    const struct backend_threepid *unknown, const char *unknown_phone,
    bool *all_404, size_t *n404)
{
	struct backend_threepid q[CHECK_BULK_MAX];
	enum rest_check_want want[CHECK_BULK_MAX];
	struct rest_check_item *it;
	struct answer ans;
	char *twin = NULL;
	size_t n = 0;

	q[n] = *unknown;
	want[n++] = REST_CHECK_WANT_NONE;
	q[n] = (struct backend_threepid){ "msisdn", unknown_phone };
	want[n++] = REST_CHECK_WANT_NONE;
	if (o->email != NULL) {
		q[n] = (struct backend_threepid){ "email", o->email };
		want[n++] = REST_CHECK_WANT_MATCH;
		if ((twin = case_twin(o->email)) != NULL) {
			q[n] = (struct backend_threepid){ "email", twin };
			want[n++] = REST_CHECK_WANT_SOFT;
		}
	}
	if (o->msisdn != NULL) {
		q[n] = (struct backend_threepid){ "msisdn", o->msisdn };
		want[n++] = REST_CHECK_WANT_MATCH;
	}
	it = rest_check_add(r, "bulk", "bulk: %zu addresses%s", n,
	    n > 2 ? ", the probe's among them" : ", all made up");
	if (call(o, o->url_bulk, bulk_body(q, n), false, &ans) != 0) {
		item_not_started(it, o->url_bulk);
		goto out;
	}
	item_call(it, o->url_bulk, &ans);
	/* The made-up addresses only, for the header probe. */
	if (answered(&ans))
		probe_headers(o, o->url_bulk, bulk_body(q, 2), &ans);
	rest_check_judge_bulk(o, &ans.a, q, want, n, it);
	*all_404 &= it->http_status == 404;
	(*n404)++;
	answer_clear(&ans);
out:
	free(twin);
}

/* The first page, and the second when there is one: a webapp must take
 * its own cursor back. */
static void
check_list(const struct rest_check_opts *o, struct rest_check_report *r)
{
	struct rest_check_item *it;
	struct answer ans;
	char *next = NULL, *next2 = NULL;

	it = rest_check_add(r, "list", "list: the first page");
	if (call(o, o->url_list, rest_list_request(NULL, CHECK_LIST_LIMIT),
	    false, &ans) != 0) {
		item_not_started(it, o->url_list);
		return;
	}
	item_call(it, o->url_list, &ans);
	if (answered(&ans))
		probe_headers(o, o->url_list,
		    rest_list_request(NULL, CHECK_LIST_LIMIT), &ans);
	rest_check_judge_list(o, &ans.a, NULL, CHECK_LIST_LIMIT, it, &next);
	answer_clear(&ans);
	if (next == NULL)
		return;
	it = rest_check_add(r, "list", "list: the second page (after the "
	    "first page's next)");
	if (call(o, o->url_list, rest_list_request(next, CHECK_LIST_LIMIT),
	    false, &ans) != 0) {
		item_not_started(it, o->url_list);
	} else {
		item_call(it, o->url_list, &ans);
		rest_check_judge_list(o, &ans.a, next, CHECK_LIST_LIMIT, it,
		    &next2);
		answer_clear(&ans);
	}
	free(next2);
	free(next);
}

void
rest_check_run(const struct rest_check_opts *o, struct rest_check_report *r)
{
	char hex[33], *unknown_email, phone[16];
	struct backend_threepid unknown;
	bool all_404 = true;
	size_t n404 = 0;

	memset(r, 0, sizeof(*r));
	if (!o->rest_enabled) {
		struct rest_check_item *it = rest_check_add(r, "rest",
		    "rest: the webapp is switched on");

		rest_check_line(it, REST_CHECK_PROBLEM, "rest.enabled is "
		    "false: Signpost calls no webapp; every login fails and "
		    "every lookup finds nobody");
		rest_check_line(it, REST_CHECK_FIX, "set rest.enabled: true");
		goto out;
	}
	random_hex(hex, 8);
	unknown_email = xasprintf("signpost-check-%s@invalid.example", hex);
	unknown = (struct backend_threepid){ "email", unknown_email };
	/* 999 is no country's calling code, so no real number starts so. */
	memcpy(phone, "999", 3);
	for (size_t i = 3; i < sizeof(phone) - 1; i++)
		phone[i] = (char)('0' + randombytes_uniform(10));
	phone[sizeof(phone) - 1] = '\0';

	if (o->url_auth != NULL)
		check_auth(o, r, &all_404, &n404);
	else
		skip_off(r, "auth", "rest.endpoints.auth", "password checks "
		    "are off and every login is refused");
	if (o->url_single != NULL)
		check_single(o, r, &unknown, &all_404, &n404);
	else
		skip_off(r, "single", "rest.endpoints.identity.single",
		    "single lookups are off");
	if (o->url_bulk != NULL)
		check_bulk(o, r, &unknown, phone, &all_404, &n404);
	else
		skip_off(r, "bulk", "rest.endpoints.identity.bulk",
		    "bulk lookups are off");
	if (o->url_list != NULL)
		check_list(o, r);
	else
		skip_off(r, "list", "rest.endpoints.identity.list", "the "
		    "optional list endpoint is off, so clients that send "
		    "hashed addresses (Element) find nobody");
	/* Each 404 alone may be a webapp's "no"; all of them together
	 * mean the URLs are wrong, which no single check can say. */
	if (all_404 && n404 >= 2) {
		struct rest_check_item *it = rest_check_add(r, "rest",
		    "rest: the endpoints exist");

		rest_check_line(it, REST_CHECK_PROBLEM, "every endpoint "
		    "answered HTTP 404: the URLs are most likely wrong");
		rest_check_line(it, REST_CHECK_FIX, "check rest.host (%s) and "
		    "the paths in rest.endpoints", o->rest_host ?
		    o->rest_host : "unset");
	}
	free(unknown_email);
out:
	rest_check_tally(r);
}
