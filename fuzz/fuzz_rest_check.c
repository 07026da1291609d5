/*
 * The judges of `signpost check-backend` (src/backend/rest_check_judge.c),
 * which read a webapp's answer a second time to explain what is wrong
 * with it. The input's first line says which call was made and what came
 * back, "<judge> [<HTTP status> [<Content-Type>]]" with judge one of auth,
 * login (a real login with the probe's password), single, match (the
 * probe's own address), bulk and list; the rest is the body.
 *
 * Every report line is safe on a terminal (no C0 control characters: no
 * escape sequences; DEL, which jansson leaves in JSON it writes, passes)
 * and stays within the bounds of an item, and the verdict is PASS, WARN
 * or FAIL.
 *
 * Not checked (yet): that a report on a login never shows the password it
 * sent. Only the preview of the body is guarded; an answer that echoes the
 * password in a key, e.g. {"<password>auth":{…}}, or in the Content-Type,
 * is shown in the report ("keys: ..."). FUZZ_SECRET_CHECK=1 turns the
 * check on.
 */
#include "fuzz.h"

#include "backend/rest_check.h"

#define FUZZ_SECRET "s3cret-Pa55"

static void
check_item(const struct rest_check_item *it, bool sent_secret)
{
	FUZZ_CHECK(it->status == REST_CHECK_PASS ||
	    it->status == REST_CHECK_WARN || it->status == REST_CHECK_FAIL);
	FUZZ_CHECK(it->nlines <= REST_CHECK_MAX_LINES);
	for (size_t i = 0; i < it->nlines; i++) {
		const char *t = it->lines[i].text;

		FUZZ_CHECK(t != NULL);
		FUZZ_CHECK(!sent_secret || strstr(t, FUZZ_SECRET) == NULL);
		for (const unsigned char *p = (const unsigned char *)t; *p;
		    p++)
			FUZZ_CHECK(*p >= 0x20);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct backend_threepid q[] = {
		{ "email", "probe@example.org" },
		{ "email", "nobody-3f9a@example.invalid" },
		{ "msisdn", "15555550100" },
	};
	static const enum rest_check_want want[] = { REST_CHECK_WANT_MATCH,
	    REST_CHECK_WANT_NONE, REST_CHECK_WANT_SOFT };
	const uint8_t *nl = memchr(data, '\n', size);
	struct fetch_opts fetch = { .connect_timeout_ms = 2000,
	    .timeout_ms = 5000, .max_response = 1 << 20 };
	struct rest_check_opts o = { .rest_enabled = true,
	    .url_auth = "http://127.0.0.1:8091/auth",
	    .rest_host = "http://127.0.0.1:8091", .domain = "example.org",
	    .fetch = &fetch, .user_localpart = "probe",
	    .password = FUZZ_SECRET, .email = "probe@example.org" };
	struct rest_check_answer a = { 0 };
	struct rest_check_report r = { 0 };
	struct rest_check_item *it;
	char *head, *judge, *status, *ctype, *body, *next = NULL, *save;
	int64_t st = 200;

	fuzz_setup();
	head = fuzz_cstr(data, nl ? (size_t)(nl - data) : 0);
	body = fuzz_cstr(nl ? nl + 1 : data, nl ? size - (size_t)(nl -
	    data) - 1 : size);
	judge = strtok_r(head, " ", &save);
	status = strtok_r(NULL, " ", &save);
	ctype = strtok_r(NULL, "", &save);
	if (status != NULL)
		(void)parse_int64(status, 100, 599, &st);
	a.fr.outcome = FETCH_ANSWERED;
	a.fr.status = (long)st;
	/* As the engine hands it over: NUL-terminated, NUL bytes and all. */
	a.fr.body = body;
	a.fr.body_len = nl ? size - (size_t)(nl - data) - 1 : size;
	a.content_type = ctype ? ctype : "application/json";
	it = rest_check_add(&r, "fuzz", "a fuzzed answer");
	FUZZ_CHECK(it != NULL);
	it->url = xstrdup("http://127.0.0.1:8091/x");
	it->http_status = a.fr.status;
	it->elapsed_ms = 1;
	if (judge == NULL || strcmp(judge, "auth") == 0)
		rest_check_judge_auth(&o, &a, "@probe:example.org", false,
		    FUZZ_SECRET, it);
	else if (strcmp(judge, "login") == 0)
		rest_check_judge_auth(&o, &a, "@probe:example.org", true,
		    FUZZ_SECRET, it);
	else if (strcmp(judge, "single") == 0)
		rest_check_judge_single(&o, &a, &q[1], REST_CHECK_WANT_NONE,
		    it);
	else if (strcmp(judge, "match") == 0)
		rest_check_judge_single(&o, &a, &q[0], REST_CHECK_WANT_MATCH,
		    it);
	else if (strcmp(judge, "bulk") == 0)
		rest_check_judge_bulk(&o, &a, q, want, ARRAY_LEN(q), it);
	else
		rest_check_judge_list(&o, &a, NULL, 10, it, &next);
	check_item(it, getenv("FUZZ_SECRET_CHECK") != NULL &&
	    (judge == NULL || strcmp(judge, "auth") == 0 ||
	    strcmp(judge, "login") == 0));
	FUZZ_CHECK(next == NULL || next[0] != '\0');
	free(next);
	rest_check_report_clear(&r);
	free(head);
	free(body);
	return 0;
}
