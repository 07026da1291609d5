/*
 * Unit tests for the REST backend's list endpoint (src/backend/rest_list.c):
 * good pages are read entry by entry with their cursor, and every
 * malformed page is refused with a reason that names the fault, never
 * read as a shorter or last page. The list op itself runs against a fake
 * webapp on loopback whose fixtures hold both its answer and the exact
 * request Signpost must send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/rest.h"
#include "core/json.h"
#include "core/util.h"

/* Well-formed entries to build pages from. */
#define JOHN "{\"medium\":\"email\",\"address\":\"john@example.org\"," \
	"\"id\":{\"type\":\"localpart\",\"value\":\"john\"}}"
#define PHONE "{\"medium\":\"msisdn\",\"address\":\"15551234567\"," \
	"\"id\":{\"type\":\"mxid\",\"value\":\"@jane:other.example\"}}"
/* A page with the entries under test and no cursor. */
#define PAGE(entries) "{\"list\":[" entries "]}"

/* The limit the good and bad cases ask for unless they say otherwise. */
#define LIMIT 3

static int
setup(void **state)
{
	(void)state;
	json_setup();
	return 0;
}

struct want_entry {
	const char *medium;
	const char *address;
	enum backend_id_type type;
	const char *value;
};

struct good_case {
	const char *name;
	const char *body;
	const char *after; /* the cursor the request sent */
	size_t limit;      /* 0: LIMIT */
	const char *next;  /* NULL: last page */
	size_t n;
	struct want_entry e[3];
};

static const struct want_entry W_JOHN = { "email", "john@example.org",
	BACKEND_ID_LOCALPART, "john" };
static const struct want_entry W_PHONE = { "msisdn", "15551234567",
	BACKEND_ID_MXID, "@jane:other.example" };

static void
test_good_pages(void **state)
{
	const struct good_case cases[] = {
		{ "first page with next",
		    "{\"list\":[" JOHN "," PHONE "],\"next\":\"2\"}", NULL, 0,
		    "2", 2, { W_JOHN, W_PHONE } },
		{ "next before list, opaque cursor",
		    "{\"next\":\"eyJpZCI6NDJ9\",\"list\":[" JOHN "]}", "1", 0,
		    "eyJpZCI6NDJ9", 1, { W_JOHN } },
		{ "last page, next absent", PAGE(PHONE), "2", 0, NULL, 1,
		    { W_PHONE } },
		{ "last page, next null",
		    "{\"list\":[" JOHN "],\"next\":null}", "2", 0, NULL, 1,
		    { W_JOHN } },
		{ "empty list", "{\"list\":[]}", NULL, 0, NULL, 0, { { 0 } } },
		{ "empty list with next (a page filtered to nothing)",
		    "{\"list\":[],\"next\":\"500\"}", "400", 0, "500", 0,
		    { { 0 } } },
		{ "exactly the limit",
		    "{\"list\":[" JOHN "," PHONE "," JOHN "],\"next\":\"3\"}",
		    NULL, 3, "3", 3, { W_JOHN, W_PHONE, W_JOHN } },
		{ "limit 1", PAGE(PHONE), NULL, 1, NULL, 1, { W_PHONE } },
		{ "unknown fields ignored",
		    "{\"list\":[{\"medium\":\"email\",\"address\":"
		    "\"john@example.org\",\"id\":{\"type\":\"LOCALPART\","
		    "\"value\":\"john\"},\"extra\":1}],\"total\":9}", NULL, 0,
		    NULL, 1, { W_JOHN } },
		{ "cursor of 1024 bytes",
		    "{\"list\":[],\"next\":\"%1024\"}", NULL, 0, "%1024", 0,
		    { { 0 } } },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
		struct rest_list_answer a;
		const char *why = NULL, *body = cases[c].body;
		const char *want_next = cases[c].next;
		char *made = NULL, *long_next = NULL;

		/* "%1024" stands for a cursor of 1024 'x's. */
		if (strstr(body, "%1024") != NULL) {
			long_next = xmalloc(1025);
			memset(long_next, 'x', 1024);
			long_next[1024] = '\0';
			made = xasprintf("{\"list\":[],\"next\":\"%s\"}",
			    long_next);
			body = made;
			want_next = long_next;
		}
		if (rest_parse_list_answer(body, strlen(body), cases[c].after,
			cases[c].limit ? cases[c].limit : LIMIT, &a, &why) != 0)
			fail_msg("%s: refused (%s)", cases[c].name, why);
		assert_int_equal(a.nentries, cases[c].n);
		if (want_next == NULL)
			assert_null(a.next);
		else
			assert_string_equal(a.next, want_next);
		for (size_t i = 0; i < a.nentries; i++) {
			const struct want_entry *w = &cases[c].e[i];

			assert_string_equal(a.entries[i].tp.medium, w->medium);
			assert_string_equal(a.entries[i].tp.address,
			    w->address);
			assert_int_equal(a.entries[i].id.type, w->type);
			assert_string_equal(a.entries[i].id.value, w->value);
		}
		rest_list_answer_clear(&a);
		free(made);
		free(long_next);
	}
}

struct bad_case {
	const char *name;
	const char *body;
	const char *after;
	size_t limit;        /* 0: LIMIT */
	const char *why_has; /* a part of the reason that names the fault */
};

static const struct bad_case bad_pages[] = {
	/* not a JSON object */
	{ "not JSON", "<html>502 Bad Gateway</html>", NULL, 0,
	    "not valid JSON" },
	{ "empty body", "", NULL, 0, "not valid JSON" },
	{ "truncated", "{\"list\":[" JOHN, NULL, 0, "not valid JSON" },
	{ "trailing garbage", "{\"list\":[]}x", NULL, 0, "data after" },
	{ "duplicate next", "{\"list\":[],\"next\":\"1\",\"next\":\"2\"}",
	    NULL, 0, "duplicate key" },
	{ "array", "[" JOHN "]", NULL, 0, "not a JSON object" },
	{ "string", "\"list\"", NULL, 0, "not a JSON object" },
	{ "null", "null", NULL, 0, "not a JSON object" },

	/* list missing or not an array */
	{ "empty object", "{}", NULL, 0, "list" },
	{ "only next", "{\"next\":\"2\"}", NULL, 0, "list" },
	{ "list null", "{\"list\":null}", NULL, 0, "list" },
	{ "list object", "{\"list\":" JOHN "}", NULL, 0, "list" },
	{ "list string", "{\"list\":\"john@example.org\"}", NULL, 0, "list" },
	{ "bulk answer's key", "{\"lookup\":[" JOHN "]}", NULL, 0, "list" },

	/* entries */
	{ "entry not an object", PAGE("\"john@example.org\""), NULL, 0,
	    "not an object" },
	{ "entry null", PAGE(JOHN ",null"), NULL, 0, "not an object" },
	{ "entry missing id",
	    PAGE("{\"medium\":\"email\",\"address\":\"a@b.org\"}"), NULL, 0,
	    "id is missing" },
	{ "id null",
	    PAGE("{\"medium\":\"email\",\"address\":\"a@b.org\",\"id\":null}"),
	    NULL, 0, "id is missing" },
	{ "bad id type",
	    PAGE("{\"medium\":\"email\",\"address\":\"a@b.org\","
		"\"id\":{\"type\":\"user_id\",\"value\":\"john\"}}"), NULL, 0,
	    "id.type" },
	{ "id value not a string",
	    PAGE("{\"medium\":\"email\",\"address\":\"a@b.org\","
		"\"id\":{\"type\":\"localpart\",\"value\":7}}"), NULL, 0,
	    "id.value" },
	{ "mxid that is a bare localpart",
	    PAGE("{\"medium\":\"email\",\"address\":\"a@b.org\","
		"\"id\":{\"type\":\"mxid\",\"value\":\"john\"}}"), NULL, 0,
	    "not a valid Matrix user id" },
	{ "medium missing",
	    PAGE("{\"address\":\"a@b.org\","
		"\"id\":{\"type\":\"localpart\",\"value\":\"john\"}}"), NULL, 0,
	    "medium or address" },
	{ "address not a string",
	    PAGE("{\"medium\":\"msisdn\",\"address\":15551234567,"
		"\"id\":{\"type\":\"localpart\",\"value\":\"john\"}}"), NULL, 0,
	    "medium or address" },
	{ "empty address",
	    PAGE("{\"medium\":\"email\",\"address\":\"\","
		"\"id\":{\"type\":\"localpart\",\"value\":\"john\"}}"), NULL, 0,
	    "empty medium or address" },
	{ "good entry then a bad one", PAGE(JOHN ",{\"medium\":\"email\"}"),
	    NULL, 0, "medium or address" },

	/* more than asked for */
	{ "too many entries", PAGE(JOHN "," PHONE "," JOHN "," PHONE), NULL, 0,
	    "more entries than the limit" },
	{ "two for a limit of one", PAGE(JOHN "," PHONE), NULL, 1,
	    "more entries than the limit" },

	/* next */
	{ "next a number", "{\"list\":[],\"next\":2}", NULL, 0,
	    "next is neither a string nor null" },
	{ "next false", "{\"list\":[],\"next\":false}", NULL, 0,
	    "next is neither a string nor null" },
	{ "next an object", "{\"list\":[],\"next\":{\"after\":2}}", NULL, 0,
	    "next is neither a string nor null" },
	{ "next empty", "{\"list\":[],\"next\":\"\"}", NULL, 0,
	    "empty string" },
	{ "next too long", NULL, NULL, 0, "longer than 1024" },
	{ "next repeats after", "{\"list\":[" JOHN "],\"next\":\"7\"}", "7", 0,
	    "repeats the cursor" },
};

static void
test_bad_pages(void **state)
{
	(void)state;
	for (size_t c = 0; c < ARRAY_LEN(bad_pages); c++) {
		const struct bad_case *bc = &bad_pages[c];
		struct rest_list_answer a;
		const char *why = NULL, *body = bc->body;
		char *made = NULL;

		/* A cursor one byte over the limit. */
		if (body == NULL) {
			char cursor[1026];

			memset(cursor, 'c', 1025);
			cursor[1025] = '\0';
			made = xasprintf("{\"list\":[],\"next\":\"%s\"}", cursor);
			body = made;
		}
		if (rest_parse_list_answer(body, strlen(body), bc->after,
			bc->limit ? bc->limit : LIMIT, &a, &why) != -1)
			fail_msg("%s: accepted", bc->name);
		if (why == NULL || strstr(why, bc->why_has) == NULL)
			fail_msg("%s: reason \"%s\" does not say \"%s\"",
			    bc->name, why ? why : "(null)", bc->why_has);
		/* Nothing handed out from a refused page. */
		assert_null(a.root);
		assert_null(a.entries);
		assert_int_equal(a.nentries, 0);
		assert_null(a.next);
		free(made);
	}
}

/* The strings of a page live in its JSON until the answer is cleared,
 * and clearing twice is harmless. */
static void
test_clear(void **state)
{
	const char *body = "{\"list\":[" JOHN "],\"next\":\"abc\"}";
	struct rest_list_answer a;
	const char *why;

	(void)state;
	assert_int_equal(rest_parse_list_answer(body, strlen(body), NULL, 10,
			     &a, &why), 0);
	assert_non_null(a.root);
	assert_string_equal(a.next, "abc");
	rest_list_answer_clear(&a);
	assert_null(a.root);
	assert_null(a.entries);
	assert_null(a.next);
	rest_list_answer_clear(&a);
}

/* ---- the list op against a fake webapp ---------------------------- */

struct exchange {
	const char *want_request; /* the exact body Signpost must send */
	int status;
	const char *answer;
};

struct fake_webapp {
	int fd;
	unsigned short port;
	const struct exchange *ex;
	size_t n;
	pthread_t thread;
	char *got[8]; /* request bodies received, in order */
	char *got_line[8];
};

/* Bounds what the fake webapp reads of one request. */
#define FAKE_MAX_REQUEST 8192

static void *
fake_serve(void *arg)
{
	struct fake_webapp *w = arg;

	for (size_t i = 0; i < w->n; i++) {
		char buf[FAKE_MAX_REQUEST + 1], *end, *cl, *out;
		size_t len = 0, want;
		ssize_t r;
		int c = accept(w->fd, NULL, NULL);

		if (c < 0)
			break;
		/* Headers, then as much body as Content-Length says. */
		while ((end = (buf[len] = '\0', strstr(buf, "\r\n\r\n"))) ==
		    NULL && len < FAKE_MAX_REQUEST &&
		    (r = read(c, buf + len, FAKE_MAX_REQUEST - len)) > 0)
			len += (size_t)r;
		if (end == NULL) {
			close(c);
			break;
		}
		cl = strcasestr(buf, "\r\ncontent-length:");
		want = (size_t)(end + 4 - buf) +
		    (cl ? strtoul(cl + 17, NULL, 10) : 0);
		while (len < want && len < FAKE_MAX_REQUEST &&
		    (r = read(c, buf + len, FAKE_MAX_REQUEST - len)) > 0)
			len += (size_t)r;
		buf[len] = '\0';
		w->got_line[i] = xstrndup(buf, strcspn(buf, "\r"));
		w->got[i] = xstrdup(end + 4);
		out = xasprintf("HTTP/1.1 %d X\r\nContent-Type: application/json"
		    "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    w->ex[i].status, strlen(w->ex[i].answer), w->ex[i].answer);
		if (write(c, out, strlen(out)) < 0)
			i = w->n;
		free(out);
		close(c);
	}
	return NULL;
}

static void
fake_start(struct fake_webapp *w, const struct exchange *ex, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);

	memset(w, 0, sizeof(*w));
	assert_true(n <= ARRAY_LEN(w->got));
	w->ex = ex;
	w->n = n;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(w->fd >= 0);
	assert_int_equal(bind(w->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(w->fd, 8), 0);
	assert_int_equal(getsockname(w->fd, (struct sockaddr *)&a, &alen), 0);
	w->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&w->thread, NULL, fake_serve, w), 0);
}

static void
fake_stop(struct fake_webapp *w)
{
	shutdown(w->fd, SHUT_RDWR);
	pthread_join(w->thread, NULL);
	close(w->fd);
	for (size_t i = 0; i < ARRAY_LEN(w->got); i++) {
		free(w->got[i]);
		free(w->got_line[i]);
	}
}

/* What a page callback saw, copied out of the engine thread. */
struct page_seen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
	enum backend_verdict verdict;
	enum backend_fault fault;
	size_t nentries;
	char *first_address;
	char *first_value;
	char *next;
	char *reason;
};

static void
on_page(const struct backend_page_result *res, void *arg)
{
	struct page_seen *s = arg;

	pthread_mutex_lock(&s->mu);
	s->calls++;
	s->verdict = res->verdict;
	s->fault = res->fault;
	s->nentries = res->nentries;
	s->first_address = res->nentries ?
	    xstrdup(res->entries[0].tp.address) : NULL;
	s->first_value = res->nentries ? xstrdup(res->entries[0].id.value) :
					 NULL;
	s->next = res->next ? xstrdup(res->next) : NULL;
	s->reason = res->reason ? xstrdup(res->reason) : NULL;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Calls list and waits for its one callback. */
static void
list_and_wait(struct backend *be, const char *after, size_t limit,
    struct page_seen *s)
{
	free(s->first_address);
	free(s->first_value);
	free(s->next);
	free(s->reason);
	s->first_address = s->first_value = s->next = s->reason = NULL;
	s->calls = 0;
	assert_int_equal(be->ops->list(be->self, after, limit, on_page, s), 0);
	pthread_mutex_lock(&s->mu);
	while (s->calls == 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	assert_int_equal(s->calls, 1);
}

static void
test_list_op_against_fake_webapp(void **state)
{
	static const struct exchange ex[] = {
		/* first page: no "after" */
		{ "{\"list\":{\"limit\":2}}", 200,
		    "{\"list\":[" JOHN "," PHONE "],\"next\":\"2\"}" },
		/* next page: the cursor sent back as it came */
		{ "{\"list\":{\"after\":\"2\",\"limit\":2}}", 200,
		    "{\"list\":[" JOHN "]}" },
		/* 404 is a failure here, not an empty listing */
		{ "{\"list\":{\"limit\":2}}", 404, "{}" },
		{ "{\"list\":{\"limit\":2}}", 500, "{}" },
		{ "{\"list\":{\"limit\":1}}", 200,
		    "{\"list\":[" JOHN "," PHONE "]}" },
	};
	struct fetch_opts fo = {
		.connect_timeout_ms = 2000,
		.timeout_ms = 5000,
		.tls_verify = true,
		.max_conns = 2,
		.max_response = 1 << 20,
	};
	struct page_seen s = { .calls = 0 };
	struct fake_webapp w;
	struct rest_opts ro = { 0 };
	struct backend be;
	char *url;

	(void)state;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	fake_start(&w, ex, ARRAY_LEN(ex));
	url = xasprintf("http://127.0.0.1:%u/list", w.port);
	ro.url_list = url;
	ro.engine = fetch_engine_start(&fo);
	assert_non_null(ro.engine);
	rest_backend_init(&ro, &be);
	assert_true(be.features & BACKEND_CAN_LIST);

	list_and_wait(&be, NULL, 2, &s);
	assert_int_equal(s.verdict, BACKEND_YES);
	assert_int_equal(s.nentries, 2);
	assert_string_equal(s.first_address, "john@example.org");
	assert_string_equal(s.first_value, "john");
	assert_string_equal(s.next, "2");

	list_and_wait(&be, "2", 2, &s);
	assert_int_equal(s.verdict, BACKEND_YES);
	assert_int_equal(s.nentries, 1);
	assert_null(s.next);

	list_and_wait(&be, NULL, 2, &s);
	assert_int_equal(s.verdict, BACKEND_ERROR);
	assert_int_equal(s.fault, BACKEND_FAULT_BAD_GATEWAY);
	assert_string_equal(s.reason, "answered HTTP 404");

	list_and_wait(&be, NULL, 2, &s);
	assert_int_equal(s.verdict, BACKEND_ERROR);
	assert_string_equal(s.reason, "answered HTTP 500");

	list_and_wait(&be, NULL, 1, &s);
	assert_int_equal(s.verdict, BACKEND_ERROR);
	assert_int_equal(s.nentries, 0);
	assert_non_null(strstr(s.reason, "more entries than the limit"));

	fetch_engine_stop(ro.engine);
	for (size_t i = 0; i < ARRAY_LEN(ex); i++) {
		assert_string_equal(w.got_line[i], "POST /list HTTP/1.1");
		assert_string_equal(w.got[i], ex[i].want_request);
	}
	fake_stop(&w);
	be.ops->destroy(be.self);
	free(url);
	free(s.first_address);
	free(s.first_value);
	free(s.next);
	free(s.reason);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
}

/* Without an endpoint the op exists but never claims an empty listing;
 * a limit of 0 or an absurd one is refused before any call. */
static void
test_list_op_switched_off(void **state)
{
	struct rest_opts ro = { .url_list = NULL };
	struct page_seen s = { .calls = 0 };
	struct backend be;

	(void)state;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	rest_backend_init(&ro, &be);
	assert_false(be.features & BACKEND_CAN_LIST);
	assert_non_null(be.ops->list);
	list_and_wait(&be, NULL, 10, &s);
	assert_int_equal(s.verdict, BACKEND_ERROR);
	assert_non_null(strstr(s.reason, "switched off"));
	s.calls = 0;
	assert_int_equal(be.ops->list(be.self, NULL, 0, on_page, &s), -1);
	assert_int_equal(be.ops->list(be.self, NULL, 1000000, on_page, &s), -1);
	assert_int_equal(s.calls, 0);
	be.ops->destroy(be.self);
	free(s.reason);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.cv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_pages),
		cmocka_unit_test(test_bad_pages),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_list_op_switched_off),
		cmocka_unit_test(test_list_op_against_fake_webapp),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
