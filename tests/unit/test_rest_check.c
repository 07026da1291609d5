/*
 * Unit tests for check-backend's judges (src/backend/rest_check_judge.c,
 * rest_check_explain.c) and its report (rest_check.c): each case is one
 * answer a webapp might give, the verdict it must get and a part of the
 * line that must explain it. No network: the answers are made up here,
 * the way the engine would hand them over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/rest_check.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"

/* Must never appear in a report, whatever the webapp sends back. */
#define SECRET "hunter2 is the password"

static int
setup(void **state)
{
	(void)state;
	json_setup();
	/* rest_answer_usable logs each failure, as it does for the daemon. */
	log_init(LOG_LEVEL_ERROR, false);
	return 0;
}

enum call { AUTH_MADE_UP, AUTH_REAL, SINGLE_NONE, SINGLE_MATCH, SINGLE_SOFT,
	BULK, LIST };

struct judge_case {
	const char *name;
	enum call call;
	long status;            /* 0: no answer, see outcome */
	const char *body;
	enum rest_check_status want;
	enum rest_check_kind kind; /* of the line that explains it */
	const char *has;           /* a part of that line */
	enum fetch_outcome outcome;
	const char *error;
	const char *ctype;
	const char *location;
	unsigned elapsed_ms;
};

#define OK_AUTH "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\"," \
	"\"value\":\"alice\"}}}"
#define ALICE "{\"medium\":\"email\",\"address\":\"alice@example.org\"," \
	"\"id\":{\"type\":\"localpart\",\"value\":\"alice\"}}"

/* The seven fields every case has, then any of the others by name. */
#define C(n, c, s, b, w, k, h, ...) { .name = (n), .call = (c), \
	.status = (s), .body = (b), .want = (w), .kind = (k), .has = (h), \
	__VA_ARGS__ }

static const struct judge_case cases[] = {
	/* auth, made-up user */
	C("refusal", AUTH_MADE_UP, 200, "{\"auth\":{\"success\":false}}",
	    REST_CHECK_PASS, REST_CHECK_NOTE, "refused, as it should be"),
	C("made-up user accepted", AUTH_MADE_UP, 200, OK_AUTH, REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "accepted a made-up user"),
	C("success without id", AUTH_MADE_UP, 200,
	    "{\"auth\":{\"success\":true}}", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "auth.success is true but auth.id is missing"),
	C("success without id: the fix", AUTH_MADE_UP, 200,
	    "{\"auth\":{\"success\":true}}", REST_CHECK_FAIL, REST_CHECK_FIX,
	    "\"value\": \"alice\"}; the profile is optional"),
	C("success as a string", AUTH_MADE_UP, 200,
	    "{\"auth\":{\"success\":\"true\"}}", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "auth.success is a string (\"true\")"),
	C("success at the top level", AUTH_MADE_UP, 200, "{\"success\":false}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "\"success\" is at the top level"),
	C("no auth key", AUTH_MADE_UP, 200, "{\"ok\":1,\"user\":null}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "no \"auth\" key (keys: \"ok\", \"user\")"),
	C("wrong id type", AUTH_REAL, 200, "{\"auth\":{\"success\":true,"
	    "\"id\":{\"type\":\"email\",\"value\":\"alice\"}}}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "auth.id.type is \"email\"; expected \"localpart\" or \"mxid\""),
	C("id as a bare string", AUTH_REAL, 200,
	    "{\"auth\":{\"success\":true,\"id\":\"@alice:example.org\"}}",
	    REST_CHECK_FAIL, REST_CHECK_FIX,
	    "send {\"type\": \"mxid\", \"value\": \"@alice:example.org\"}"),
	C("full id typed localpart", AUTH_REAL, 200, "{\"auth\":{\"success\":"
	    "true,\"id\":{\"type\":\"localpart\",\"value\":\"@a:b.org\"}}}",
	    REST_CHECK_FAIL, REST_CHECK_FIX, "send type \"mxid\" with it"),
	C("uppercase type is a warning", AUTH_REAL, 200, "{\"auth\":{"
	    "\"success\":true,\"id\":{\"type\":\"MXID\",\"value\":"
	    "\"@alice:example.org\"}}}", REST_CHECK_WARN, REST_CHECK_WARNING,
	    "write it in lowercase"),
	C("another user", AUTH_REAL, 200, "{\"auth\":{\"success\":true,\"id\":"
	    "{\"type\":\"localpart\",\"value\":\"bob\"}}}", REST_CHECK_WARN,
	    REST_CHECK_WARNING, "answered @bob:example.org"),
	C("profile 3PID without address", AUTH_REAL, 200,
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":\"alice\"},\"profile\":{\"three_pids\":[{\"medium\":"
	    "\"email\"}]}}}", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "auth.profile.three_pids[0] lacks"),
	C("phone with a plus", AUTH_REAL, 200,
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":\"alice\"},\"profile\":{\"three_pids\":[{\"medium\":"
	    "\"msisdn\",\"address\":\"+1555\"}]}}}", REST_CHECK_WARN,
	    REST_CHECK_WARNING, "international digits, without '+'"),
	C("real user refused", AUTH_REAL, 200, "{\"auth\":{\"success\":false}}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "refused the login of @alice:example.org"),
	C("real user accepted", AUTH_REAL, 200, OK_AUTH, REST_CHECK_PASS,
	    REST_CHECK_NOTE, "logged in as @alice:example.org, 0 3PIDs"),
	C("401 for a made-up user", AUTH_MADE_UP, 401, "", REST_CHECK_WARN,
	    REST_CHECK_WARNING, "shared secret in rest.headers is wrong"),
	C("401 for the real user", AUTH_REAL, 401, "", REST_CHECK_FAIL,
	    REST_CHECK_FIX, "rest.headers (sent: Authorization; values not "
	    "shown)"),
	C("500", AUTH_MADE_UP, 500, "oops", REST_CHECK_FAIL, REST_CHECK_FIX,
	    "answer a wrong password or unknown user with 200 "
	    "{\"auth\":{\"success\":false}}"),
	C("502 from a proxy", AUTH_MADE_UP, 502, "", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "a proxy in front of the webapp"),
	C("redirect to https", AUTH_MADE_UP, 302, "", REST_CHECK_FAIL,
	    REST_CHECK_FIX, "redirects http to https: use https:// in "
	    "rest.host", .location = "https://webapp.test/auth"),
	C("redirect elsewhere", AUTH_MADE_UP, 308, "", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "HTTP 308: a redirect to http://webapp.test/"
	    "auth/", .location = "http://webapp.test/auth/"),
	C("redirect target escaped", AUTH_MADE_UP, 301, "", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "a redirect to http://x.test/?a", .location =
	    "http://x.test/\033a"),
	C("echoed password", AUTH_REAL, 500, "{\"password\":\"" SECRET "\"}",
	    REST_CHECK_FAIL, REST_CHECK_WARNING, "contains the password it "
	    "was sent; it is not shown"),
	C("HTML page", AUTH_MADE_UP, 200, "\n<html><body>Login</body></html>",
	    REST_CHECK_FAIL, REST_CHECK_NOTE, "the body is HTML; it begins: "
	    "\"<html><body>Login</body></html>\""),
	C("HTML content type", AUTH_MADE_UP, 200, "<html></html>",
	    REST_CHECK_FAIL, REST_CHECK_NOTE, "Content-Type is \"text/html\"",
	    .ctype = "text/html"),
	C("body escaped", AUTH_MADE_UP, 200, "Error \033[31m\xff",
	    REST_CHECK_FAIL, REST_CHECK_NOTE, "\"Error \\x1b[31m\\xff\""),
	C("empty body", AUTH_MADE_UP, 204, "", REST_CHECK_FAIL, REST_CHECK_NOTE,
	    "the body is empty"),
	C("time-out", AUTH_MADE_UP, 0, "", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "no complete answer within rest.timeout (1000 ms)", .outcome =
	    FETCH_TIMEOUT, .error =
	    "Operation timed out after 1000 milliseconds"),
	C("connect time-out", AUTH_MADE_UP, 0, "", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "no connection within rest.connectTimeout "
	    "(500 ms)", .outcome = FETCH_TIMEOUT, .error =
	    "Connection timed out after 501 ms"),
	C("refused", AUTH_MADE_UP, 0, "", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "connection refused", .outcome = FETCH_UNREACHABLE, .error =
	    "Failed to connect to webapp.test port 1: Connection refused"),
	C("no such host", AUTH_MADE_UP, 0, "", REST_CHECK_FAIL, REST_CHECK_FIX,
	    "check the host name in rest.host", .outcome = FETCH_UNREACHABLE,
	    .error = "Could not resolve host: webapp.test"),
	C("bad certificate", AUTH_MADE_UP, 0, "", REST_CHECK_FAIL,
	    REST_CHECK_FIX, "for a private CA set rest.caFile", .outcome =
	    FETCH_UNREACHABLE, .error = "SSL certificate problem: self-signed "
	    "certificate"),
	C("https on an http port", AUTH_MADE_UP, 0, "", REST_CHECK_FAIL,
	    REST_CHECK_FIX, "https:// on a plain HTTP port", .outcome =
	    FETCH_UNREACHABLE, .error =
	    "OpenSSL/3.0: error:0A00010B:SSL routines::wrong version number"),
	C("too large", AUTH_MADE_UP, 0, "", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "larger than rest.maxResponseSize (1000 bytes)", .outcome =
	    FETCH_TOO_LARGE, .error = "too large"),
	C("slow", AUTH_MADE_UP, 200, "{\"auth\":{\"success\":false}}",
	    REST_CHECK_WARN, REST_CHECK_WARNING, "the answer took 700 ms; "
	    "rest.timeout is 1000 ms: close", .elapsed_ms = 700),
	C("slow: the fix", AUTH_MADE_UP, 200, "{\"auth\":{\"success\":false}}",
	    REST_CHECK_WARN, REST_CHECK_FIX, "under load this becomes a "
	    "time-out", .elapsed_ms = 700),
	C("wrong Content-Type", AUTH_MADE_UP, 200,
	    "{\"auth\":{\"success\":false}}", REST_CHECK_WARN,
	    REST_CHECK_WARNING, "Content-Type is \"text/plain\"; send "
	    "application/json", .ctype = "text/plain"),
	C("problem+json is JSON", AUTH_MADE_UP, 200,
	    "{\"auth\":{\"success\":false}}", REST_CHECK_PASS, REST_CHECK_NOTE,
	    "refused", .ctype = "application/problem+json; charset=utf-8"),

	/* single lookups */
	C("no match", SINGLE_NONE, 200, "{}", REST_CHECK_PASS, REST_CHECK_NOTE,
	    "no match, as it should be"),
	C("404 for a miss", SINGLE_NONE, 404, "", REST_CHECK_WARN,
	    REST_CHECK_WARNING, "a wrong URL gives 404 too"),
	C("404 for the probe", SINGLE_MATCH, 404, "", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "no match for \"alice@example.org\" (HTTP "
	    "404)"),
	C("made-up address matched", SINGLE_NONE, 200, "{\"lookup\":" ALICE "}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM, "a made-up address belongs "
	    "to @alice:example.org"),
	C("match", SINGLE_MATCH, 200, "{\"lookup\":" ALICE "}", REST_CHECK_PASS,
	    REST_CHECK_NOTE, "belongs to @alice:example.org"),
	C("array answer", SINGLE_NONE, 200, "[" ALICE "]", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "the answer is an array; the single endpoint "
	    "answers an object"),
	C("lookup as an array", SINGLE_MATCH, 200, "{\"lookup\":[" ALICE "]}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM, "lookup is an array"),
	C("match without id", SINGLE_MATCH, 200,
	    "{\"lookup\":{\"medium\":\"email\"}}", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "lookup.id is missing"),
	C("bare localpart typed mxid", SINGLE_MATCH, 200, "{\"lookup\":{"
	    "\"id\":{\"type\":\"mxid\",\"value\":\"alice\"}}}", REST_CHECK_FAIL,
	    REST_CHECK_FIX, "send {\"type\": \"localpart\", "
	    "\"value\": \"alice\"}, or type \"mxid\" with "
	    "\"@alice:example.org\""),
	C("entry at the top level", SINGLE_MATCH, 200, "{\"medium\":\"email\","
	    "\"id\":{\"type\":\"localpart\",\"value\":\"alice\"}}",
	    REST_CHECK_FAIL, REST_CHECK_FIX, "wrap the entry: {\"lookup\": "
	    "{\"medium\""),
	C("address not echoed", SINGLE_MATCH, 200, "{\"lookup\":{\"medium\":"
	    "\"email\",\"address\":\"Alice@example.org\",\"id\":{\"type\":"
	    "\"localpart\",\"value\":\"alice\"}}}", REST_CHECK_WARN,
	    REST_CHECK_WARNING, "copy medium and address from the request"),
	C("no echo at all", SINGLE_MATCH, 200, "{\"lookup\":{\"id\":{"
	    "\"type\":\"localpart\",\"value\":\"alice\"}}}", REST_CHECK_WARN,
	    REST_CHECK_WARNING, "lookup.medium or lookup.address is missing"),
	C("case-sensitive match", SINGLE_SOFT, 200, "{}", REST_CHECK_WARN,
	    REST_CHECK_FIX, "match emails case-insensitively"),
	C("capital localpart", SINGLE_MATCH, 200, "{\"lookup\":{\"medium\":"
	    "\"email\",\"address\":\"alice@example.org\",\"id\":{\"type\":"
	    "\"localpart\",\"value\":\"Alice\"}}}", REST_CHECK_WARN,
	    REST_CHECK_WARNING, "has capital letters"),
	C("localpart too long to map", SINGLE_MATCH, 200, "{\"lookup\":{"
	    "\"id\":{\"type\":\"localpart\",\"value\":\"%300\"}}}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM, "is not a valid Matrix user "
	    "id (too long?)"),
	C("403 on a lookup", SINGLE_NONE, 403, "", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "HTTP 403: the webapp refused Signpost's "
	    "request"),
	C("405", SINGLE_NONE, 405, "", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "does not take POST"),

	/* bulk lookups: a made-up address, alice's and its twin */
	C("bulk answers", BULK, 200, "{\"lookup\":[" ALICE ",{\"medium\":"
	    "\"email\",\"address\":\"ALICE@EXAMPLE.ORG\",\"id\":{\"type\":"
	    "\"localpart\",\"value\":\"alice\"}}]}", REST_CHECK_PASS,
	    REST_CHECK_NOTE, "2 of 3 addresses matched"),
	C("bulk echo lost", BULK, 200, "{\"lookup\":[" ALICE "," ALICE "]}",
	    REST_CHECK_WARN, REST_CHECK_WARNING, "no match for email "
	    "\"ALICE@EXAMPLE.ORG\": lookup[0] answers "
	    "\"alice@example.org\" "
	    "instead"),
	C("bulk stray", BULK, 200, "{\"lookup\":[" ALICE ",{\"medium\":"
	    "\"email\",\"address\":\"ALICE@EXAMPLE.ORG\",\"id\":{\"type\":"
	    "\"localpart\",\"value\":\"alice\"}},{\"medium\":\"email\","
	    "\"address\":\"bob@example.org\",\"id\":{\"type\":\"localpart\","
	    "\"value\":\"bob\"}}]}", REST_CHECK_WARN, REST_CHECK_WARNING,
	    "lookup[2] answers \"email\" \"bob@example.org\", which was not "
	    "asked"),
	C("bulk nothing", BULK, 200, "{\"lookup\":[]}", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "no match for email \"alice@example.org\""),
	C("bulk lookup object", BULK, 200, "{\"lookup\":" ALICE "}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM, "lookup is an object; the "
	    "bulk endpoint answers an array"),
	C("bulk array", BULK, 200, "[" ALICE "]", REST_CHECK_FAIL,
	    REST_CHECK_FIX, "wrap the array: {\"lookup\": [ ... ]}"),
	C("bulk entry without address", BULK, 200,
	    "{\"lookup\":[{\"medium\":\"email\",\"id\":{\"type\":\"localpart\","
	    "\"value\":\"alice\"}}]}", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "lookup[0] lacks \"medium\" or \"address\" strings"),
	C("bulk entry with bad id", BULK, 200, "{\"lookup\":[" ALICE
	    ",{\"medium\":\"email\",\"address\":\"x\",\"id\":{\"type\":"
	    "\"localpart\"}}]}", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "lookup[1].id.value is missing; expected a string"),
	C("bulk made-up matched", BULK, 200, "{\"lookup\":[" ALICE
	    ",{\"medium\":\"email\",\"address\":\"x@invalid.example\","
	    "\"id\":{\"type\":\"localpart\",\"value\":\"x\"}}]}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM, "the made-up "
	    "\"x@invalid.example\" belongs to @x:example.org"),
	C("bulk 404 with a probe", BULK, 404, "", REST_CHECK_FAIL,
	    REST_CHECK_PROBLEM, "HTTP 404, read as \"nothing matched\""),

	/* list pages, limit 3 */
	C("page", LIST, 200, "{\"list\":[" ALICE "],\"next\":\"1\"}",
	    REST_CHECK_PASS, REST_CHECK_NOTE, "1 entries, and a next page"),
	C("list 404", LIST, 404, "", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "for the list endpoint a 404 is a failure"),
	C("no list key", LIST, 200, "{\"lookup\":[]}", REST_CHECK_FAIL,
	    REST_CHECK_FIX, "this looks like a lookup answer"),
	C("over the limit", LIST, 200, "{\"list\":[" ALICE "," ALICE "," ALICE
	    "," ALICE "]}", REST_CHECK_FAIL, REST_CHECK_PROBLEM,
	    "list has 4 entries, more than the limit of 3"),
	C("numeric cursor", LIST, 200, "{\"list\":[],\"next\":20}",
	    REST_CHECK_FAIL, REST_CHECK_FIX, "\"next\": \"20\""),
	C("empty cursor", LIST, 200, "{\"list\":[],\"next\":\"\"}",
	    REST_CHECK_FAIL, REST_CHECK_FIX, "leave \"next\" out"),
	C("entry without medium", LIST, 200, "{\"list\":[{\"address\":\"a\","
	    "\"id\":{\"type\":\"localpart\",\"value\":\"a\"}}]}",
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM, "list[0] lacks a non-empty"),
	C("capital emails", LIST, 200, "{\"list\":[{\"medium\":\"email\","
	    "\"address\":\"Al@x.org\",\"id\":{\"type\":\"localpart\","
	    "\"value\":\"al\"}}]}", REST_CHECK_WARN, REST_CHECK_WARNING,
	    "1 emails have capital letters (first: list[0] \"Al@x.org\")"),
};

static const struct fetch_header headers[] = {
	{ "Authorization", "Bearer not-for-reports" },
};

static const struct fetch_opts fopts = {
	.connect_timeout_ms = 500,
	.timeout_ms = 1000,
	.tls_verify = true,
	.max_response = 1000,
	.headers = headers,
	.nheaders = 1,
};

static const struct rest_check_opts opts = {
	.rest_enabled = true,
	.rest_host = "http://webapp.test",
	.domain = "example.org",
	.fetch = &fopts,
};

static const char *const endpoint_of[] = { "auth", "auth", "single",
	"single", "single", "bulk", "list" };

/* "%300" in a body stands for 300 'a's: too long for a user id. */
static char *
expand(const char *body)
{
	const char *at = strstr(body, "%300");
	char *out;

	if (at == NULL)
		return xstrdup(body);
	out = xmalloc(strlen(body) + 300);
	memcpy(out, body, (size_t)(at - body));
	memset(out + (at - body), 'a', 300);
	strcpy(out + (at - body) + 300, at + 4);
	return out;
}

static void
judge(const struct judge_case *c, struct rest_check_item *it, char **next)
{
	static const struct backend_threepid alice = { "email",
		"alice@example.org" };
	static const struct backend_threepid bulk[] = {
		{ "email", "x@invalid.example" },
		{ "email", "alice@example.org" },
		{ "email", "ALICE@EXAMPLE.ORG" },
	};
	static const enum rest_check_want want[] = { REST_CHECK_WANT_NONE,
		REST_CHECK_WANT_MATCH, REST_CHECK_WANT_SOFT };
	char *body = expand(c->body);
	struct rest_check_answer a = {
		.fr = {
			.outcome = c->status ? FETCH_ANSWERED : c->outcome,
			.status = c->status,
			.body = body,
			.body_len = strlen(body),
			.error = c->error,
			.elapsed_ms = c->elapsed_ms,
		},
		.content_type = c->ctype,
		.location = c->location,
	};

	memset(it, 0, sizeof(*it));
	it->endpoint = endpoint_of[c->call];
	it->url = xstrdup("http://webapp.test/x");
	*next = NULL;
	switch (c->call) {
	case AUTH_MADE_UP:
	case AUTH_REAL:
		rest_check_judge_auth(&opts, &a, "@alice:example.org",
		    c->call == AUTH_REAL, SECRET, it);
		break;
	case SINGLE_NONE:
	case SINGLE_MATCH:
	case SINGLE_SOFT:
		rest_check_judge_single(&opts, &a, c->call == SINGLE_SOFT ?
		    &bulk[2] : &alice, c->call == SINGLE_NONE ?
		    REST_CHECK_WANT_NONE : c->call == SINGLE_MATCH ?
		    REST_CHECK_WANT_MATCH : REST_CHECK_WANT_SOFT, it);
		break;
	case BULK:
		rest_check_judge_bulk(&opts, &a, bulk, want, 3, it);
		break;
	case LIST:
		rest_check_judge_list(&opts, &a, NULL, 3, it, next);
		break;
	}
	free(body);
}

static void
item_free(struct rest_check_item *it)
{
	free(it->url);
	for (size_t k = 0; k < it->nlines; k++)
		free(it->lines[k].text);
}

static void
print_item(const char *name, const struct rest_check_item *it)
{
	print_message("%s: %s\n", name, rest_check_status_name(it->status));
	for (size_t k = 0; k < it->nlines; k++)
		print_message("  %s: %s\n", rest_check_kind_name(
		    it->lines[k].kind), it->lines[k].text);
}

static void
test_judges(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct judge_case *c = &cases[i];
		struct rest_check_item it;
		bool found = false;
		char *next;

		judge(c, &it, &next);
		for (size_t k = 0; k < it.nlines; k++) {
			const char *t = it.lines[k].text;

			found |= it.lines[k].kind == c->kind &&
			    strstr(t, c->has) != NULL;
			/* Neither the password nor a header value, ever. */
			if (strstr(t, "hunter2") || strstr(t, "not-for"))
				fail_msg("%s: a secret in \"%s\"", c->name, t);
		}
		if (it.status != c->want || !found) {
			print_item(c->name, &it);
			fail_msg("%s: want %s with a %s line holding \"%s\"",
			    c->name, rest_check_status_name(c->want),
			    rest_check_kind_name(c->kind), c->has);
		}
		item_free(&it);
		free(next);
	}
}

static void
test_list_cursor_is_handed_back(void **state)
{
	const struct judge_case c = C("page", LIST, 200,
	    "{\"list\":[],\"next\":\"eyJpZCI6NDJ9\"}", REST_CHECK_PASS,
	    REST_CHECK_NOTE, "");
	struct rest_check_item it;
	char *next;

	(void)state;
	judge(&c, &it, &next);
	assert_string_equal(next, "eyJpZCI6NDJ9");
	item_free(&it);
	free(next);
}

/* Long values are cut, so a report line stays readable and bounded. */
static void
test_quotes_are_bounded(void **state)
{
	struct judge_case c = C("long type", AUTH_REAL, 200, NULL,
	    REST_CHECK_FAIL, REST_CHECK_PROBLEM, "");
	struct rest_check_item it;
	char *body, *next, type[2001];

	(void)state;
	memset(type, 'x', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	body = xasprintf("{\"auth\":{\"success\":true,\"id\":{\"type\":"
	    "\"%s\",\"value\":\"alice\"}}}", type);
	c.body = body;
	judge(&c, &it, &next);
	assert_int_equal(it.status, REST_CHECK_FAIL);
	assert_true(it.nlines > 0);
	assert_non_null(strstr(it.lines[0].text, "xxx\"...; expected"));
	assert_true(strlen(it.lines[0].text) < 200);
	item_free(&it);
	free(body);
}

static void
test_report(void **state)
{
	struct rest_check_report r;
	struct rest_check_item *it;

	(void)state;
	memset(&r, 0, sizeof(r));
	it = rest_check_add(&r, "auth", "t%d", 1);
	assert_string_equal(it->title, "t1");
	assert_int_equal(it->status, REST_CHECK_PASS);
	assert_int_equal(it->elapsed_ms, -1);
	rest_check_line(it, REST_CHECK_WARNING, "w");
	assert_int_equal(it->status, REST_CHECK_WARN);
	rest_check_line(it, REST_CHECK_PROBLEM, "p");
	assert_int_equal(it->status, REST_CHECK_FAIL);
	/* A warning after a problem does not soften it. */
	rest_check_line(it, REST_CHECK_WARNING, "w2");
	assert_int_equal(it->status, REST_CHECK_FAIL);
	for (int i = 0; i < REST_CHECK_MAX_LINES; i++)
		rest_check_line(it, REST_CHECK_NOTE, "n%d", i);
	assert_int_equal(it->nlines, REST_CHECK_MAX_LINES);
	assert_true(it->truncated);
	it = rest_check_add(&r, "list", "skipped");
	rest_check_set_status(it, REST_CHECK_SKIP);
	while (r.nitems < REST_CHECK_MAX_ITEMS)
		rest_check_add(&r, "bulk", "more");
	rest_check_tally(&r);
	assert_int_equal(r.count[REST_CHECK_FAIL], 1);
	assert_int_equal(r.count[REST_CHECK_SKIP], 1);
	assert_int_equal(r.count[REST_CHECK_PASS], REST_CHECK_MAX_ITEMS - 2);
	rest_check_report_clear(&r);
	assert_int_equal(r.nitems, 0);
}

/* Without rest.enabled nothing is called, and that is a failure. */
static void
test_rest_disabled(void **state)
{
	struct rest_check_report r;
	const struct rest_check_opts off = { .rest_enabled = false };

	(void)state;
	rest_check_run(&off, &r);
	assert_int_equal(r.nitems, 1);
	assert_int_equal(r.items[0].status, REST_CHECK_FAIL);
	assert_int_equal(r.count[REST_CHECK_FAIL], 1);
	rest_check_report_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judges),
		cmocka_unit_test(test_list_cursor_is_handed_back),
		cmocka_unit_test(test_quotes_are_bounded),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_rest_disabled),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
