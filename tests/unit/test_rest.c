/*
 * Unit tests for the REST backend's answer parsing (src/backend/rest.c):
 * every malformed shape of an auth answer is refused with a reason, and
 * every good one is read field by field. The ASan build checks that no
 * path leaks what it parsed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/rest.h"
#include "core/json.h"
#include "core/util.h"

/* The start of a success answer up to its profile, for short cases. */
#define OK_ID "{\"auth\":{\"success\":true," \
	"\"id\":{\"type\":\"localpart\",\"value\":\"john\"}"
/* A literal that holds a NUL byte, with its full length. */
#define WITH_LEN(lit) lit, sizeof(lit) - 1
/* A success answer with the 3PID entry under test spliced in. */
#define WITH_3PID(entry) OK_ID ",\"profile\":{\"three_pids\":[" entry "]}}}"

static int
setup(void **state)
{
	(void)state;
	json_setup();
	return 0;
}

struct bad_case {
	const char *name;
	const char *body;
	size_t len;          /* 0: strlen(body) */
	const char *why_has; /* a part of the reason that names the fault */
};

static const struct bad_case bad_answers[] = {
	/* not one JSON value */
	{ "not JSON", "Internal Server Error", 0, "not valid JSON" },
	{ "HTML", "<html><body>ok</body></html>", 0, "not valid JSON" },
	{ "empty body", "", 0, "not valid JSON" },
	{ "blank body", " \r\n", 0, "not valid JSON" },
	{ "truncated", "{\"auth\":{\"success\":true", 0, "not valid JSON" },
	{ "trailing garbage",
	    "{\"auth\":{\"success\":false}}x", 0, "data after" },
	{ "two objects",
	    "{\"auth\":{\"success\":false}}{\"auth\":{\"success\":false}}", 0,
	    "data after" },
	{ "trailing NUL byte",
	    WITH_LEN("{\"auth\":{\"success\":false}}\0"), "data after" },
	{ "duplicate top-level key",
	    "{\"auth\":{\"success\":false},\"auth\":{\"success\":true}}", 0,
	    "duplicate key" },
	{ "duplicate success",
	    "{\"auth\":{\"success\":true,\"success\":false}}", 0,
	    "duplicate key" },
	{ "duplicate id.value",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":\"john\",\"value\":\"root\"}}}", 0, "duplicate key" },
	{ "duplicate display_name",
	    OK_ID ",\"profile\":{\"display_name\":\"a\",\"display_name\":\"b\"}}}",
	    0, "duplicate key" },
	{ "invalid UTF-8 in a value",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":\"jo\xffhn\"}}}", 0, "invalid UTF-8" },
	{ "invalid UTF-8 in a key",
	    "{\"au\xc3th\":{\"success\":false}}", 0, "invalid UTF-8" },
	{ "invalid UTF-8 in display_name",
	    OK_ID ",\"profile\":{\"display_name\":\"\xc0\xaf\"}}}", 0,
	    "invalid UTF-8" },
	{ "\\u0000 in id.value",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":\"john\\u0000root\"}}}", 0, "NUL character" },
	{ "\\u0000 in display_name",
	    OK_ID ",\"profile\":{\"display_name\":\"a\\u0000\"}}}", 0,
	    "NUL character" },
	{ "\\u0000 in a key",
	    "{\"auth\\u0000\":{\"success\":false}}", 0, "NUL character" },
	{ "raw NUL byte in a string",
	    WITH_LEN("{\"auth\":{\"success\":true,\"id\":{\"type\":"
		"\"localpart\",\"value\":\"jo\0hn\"}}}"), "not valid JSON" },

	/* no auth object */
	{ "JSON array", "[{\"auth\":{\"success\":true}}]", 0, "\"auth\"" },
	{ "JSON string", "\"auth\"", 0, "\"auth\"" },
	{ "JSON true", "true", 0, "\"auth\"" },
	{ "JSON null", "null", 0, "\"auth\"" },
	{ "empty object", "{}", 0, "\"auth\"" },
	{ "auth is true", "{\"auth\":true}", 0, "\"auth\"" },
	{ "auth is a string", "{\"auth\":\"success\"}", 0, "\"auth\"" },
	{ "auth is an array", "{\"auth\":[{\"success\":false}]}", 0, "\"auth\"" },
	{ "auth is null", "{\"auth\":null}", 0, "\"auth\"" },
	{ "legacy key only",
	    "{\"authentication\":{\"success\":true,"
	    "\"mxid\":\"@john:example.org\"}}", 0, "\"auth\"" },
	{ "Auth capitalised", "{\"Auth\":{\"success\":false}}", 0, "\"auth\"" },

	/* success */
	{ "success missing", "{\"auth\":{}}", 0, "auth.success" },
	{ "success missing, id present",
	    "{\"auth\":{\"id\":{\"type\":\"localpart\",\"value\":\"john\"}}}",
	    0, "auth.success" },
	{ "success \"true\"", "{\"auth\":{\"success\":\"true\"}}", 0,
	    "auth.success" },
	{ "success \"false\"", "{\"auth\":{\"success\":\"false\"}}", 0,
	    "auth.success" },
	{ "success 1", "{\"auth\":{\"success\":1}}", 0, "auth.success" },
	{ "success 0", "{\"auth\":{\"success\":0}}", 0, "auth.success" },
	{ "success null", "{\"auth\":{\"success\":null}}", 0, "auth.success" },
	{ "success object", "{\"auth\":{\"success\":{}}}", 0, "auth.success" },
	{ "Success capitalised", "{\"auth\":{\"Success\":true}}", 0,
	    "auth.success" },

	/* id */
	{ "success true without id", "{\"auth\":{\"success\":true}}", 0,
	    "id is missing" },
	{ "id null", "{\"auth\":{\"success\":true,\"id\":null}}", 0,
	    "id is missing" },
	{ "id a string",
	    "{\"auth\":{\"success\":true,\"id\":\"john\"}}", 0,
	    "id is missing" },
	{ "id an array",
	    "{\"auth\":{\"success\":true,\"id\":[\"localpart\",\"john\"]}}", 0,
	    "id is missing" },
	{ "id empty object", "{\"auth\":{\"success\":true,\"id\":{}}}", 0,
	    "id.type and id.value" },
	{ "id.type missing",
	    "{\"auth\":{\"success\":true,\"id\":{\"value\":\"john\"}}}", 0,
	    "id.type and id.value" },
	{ "id.type a number",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":1,\"value\":\"john\"}}}",
	    0, "id.type and id.value" },
	{ "id.type null",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":null,"
	    "\"value\":\"john\"}}}", 0, "id.type and id.value" },
	{ "id.type email",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"email\","
	    "\"value\":\"john@example.org\"}}}", 0, "neither" },
	{ "id.type empty",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"\","
	    "\"value\":\"john\"}}}", 0, "neither" },
	{ "id.type with a trailing space",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart \","
	    "\"value\":\"john\"}}}", 0, "neither" },
	{ "id.type a prefix",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"local\","
	    "\"value\":\"john\"}}}", 0, "neither" },
	{ "id.value missing",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\"}}}", 0,
	    "id.type and id.value" },
	{ "id.value a number",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":42}}}", 0, "id.type and id.value" },
	{ "id.value null",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"mxid\","
	    "\"value\":null}}}", 0, "id.type and id.value" },
	{ "id.value empty localpart",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":\"\"}}}", 0, "empty" },
	{ "id.value empty mxid",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"mxid\","
	    "\"value\":\"\"}}}", 0, "empty" },
	{ "id.value not a user id",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"mxid\","
	    "\"value\":\"john\"}}}", 0, "Matrix user id" },
	{ "id.value a localpart with a server",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":\"john:evil.org\"}}}", 0, "localpart" },
	{ "id.value a localpart with a space",
	    "{\"auth\":{\"success\":true,\"id\":{\"type\":\"localpart\","
	    "\"value\":\"john doe\"}}}", 0, "localpart" },

	/* profile */
	{ "profile a string", OK_ID ",\"profile\":\"John\"}}", 0,
	    "profile is not an object" },
	{ "profile an array", OK_ID ",\"profile\":[]}}", 0,
	    "profile is not an object" },
	{ "profile false", OK_ID ",\"profile\":false}}", 0,
	    "profile is not an object" },
	{ "display_name a number",
	    OK_ID ",\"profile\":{\"display_name\":42}}}", 0,
	    "profile.display_name" },
	{ "display_name an object",
	    OK_ID ",\"profile\":{\"display_name\":{\"en\":\"John\"}}}}", 0,
	    "profile.display_name" },
	{ "display_name true",
	    OK_ID ",\"profile\":{\"display_name\":true}}}", 0,
	    "profile.display_name" },
	{ "three_pids an object",
	    OK_ID ",\"profile\":{\"three_pids\":{\"medium\":\"email\","
	    "\"address\":\"a@b.c\"}}}}", 0, "three_pids is not an array" },
	{ "three_pids a string",
	    OK_ID ",\"profile\":{\"three_pids\":\"a@b.c\"}}}", 0,
	    "three_pids is not an array" },
	{ "three_pids a number",
	    OK_ID ",\"profile\":{\"three_pids\":0}}}", 0,
	    "three_pids is not an array" },
	{ "3PID without medium",
	    WITH_3PID("{\"address\":\"a@b.c\"}"), 0, "entry lacks" },
	{ "3PID without address",
	    WITH_3PID("{\"medium\":\"email\"}"), 0, "entry lacks" },
	{ "3PID empty object", WITH_3PID("{}"), 0, "entry lacks" },
	{ "3PID medium a number",
	    WITH_3PID("{\"medium\":1,\"address\":\"a@b.c\"}"), 0,
	    "entry lacks" },
	{ "3PID address null",
	    WITH_3PID("{\"medium\":\"email\",\"address\":null}"), 0,
	    "entry lacks" },
	{ "3PID address an array",
	    WITH_3PID("{\"medium\":\"email\",\"address\":[\"a@b.c\"]}"), 0,
	    "entry lacks" },
	{ "3PID a string", WITH_3PID("\"a@b.c\""), 0, "entry lacks" },
	{ "3PID null", WITH_3PID("null"), 0, "entry lacks" },
	{ "3PID an array", WITH_3PID("[\"email\",\"a@b.c\"]"), 0,
	    "entry lacks" },
	/* after good entries, so the half-filled list must be released */
	{ "bad 3PID after good ones",
	    WITH_3PID("{\"medium\":\"email\",\"address\":\"a@b.c\"},"
		"{\"medium\":\"msisdn\",\"address\":\"123\"},"
		"{\"medium\":\"email\"}"), 0, "entry lacks" },
};

static void
assert_cleared(const struct rest_auth_answer *a)
{
	assert_null(a->root);
	assert_false(a->success);
	assert_null(a->id.value);
	assert_null(a->display_name);
	assert_null(a->threepids);
	assert_int_equal(a->nthreepids, 0);
}

static void
check_refused(const char *name, const char *body, size_t len,
    const char *why_has)
{
	struct rest_auth_answer a;
	const char *why = NULL;

	/* Garbage in *out must not matter: the parser starts afresh. */
	memset(&a, 0, sizeof(a));
	a.success = true;
	a.nthreepids = 99;
	if (rest_parse_auth_answer(body, len, &a, &why) != -1) {
		rest_auth_answer_clear(&a);
		fail_msg("%s: accepted", name);
	}
	if (why == NULL || why[0] == '\0')
		fail_msg("%s: refused without a reason", name);
	if (why_has != NULL && strstr(why, why_has) == NULL)
		fail_msg("%s: reason \"%s\" does not say \"%s\"", name, why,
		    why_has);
	/* Nothing to clear on failure. */
	assert_cleared(&a);
}

static void
test_auth_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_answers); i++) {
		const struct bad_case *c = &bad_answers[i];

		check_refused(c->name, c->body, c->len ? c->len : strlen(c->body),
		    c->why_has);
	}
}

static void
test_auth_null_body(void **state)
{
	(void)state;
	/* An empty answer may come with no buffer at all. */
	check_refused("NULL body", NULL, 0, "not valid JSON");
}

/* A success answer whose profile lists n e-mail 3PIDs; caller frees. */
static char *
answer_with_threepids(size_t n, size_t *len)
{
	static const char head[] = OK_ID ",\"profile\":{\"three_pids\":[";
	static const char tail[] = "]}}}";
	size_t cap = sizeof(head) + n * 64 + sizeof(tail);
	char *buf = xmalloc(cap);
	size_t off = 0;

	memcpy(buf, head, sizeof(head) - 1);
	off = sizeof(head) - 1;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, cap - off,
		    "%s{\"medium\":\"email\",\"address\":\"u%zu@example.org\"}",
		    i ? "," : "", i);

		assert_true(w > 0 && (size_t)w < cap - off);
		off += (size_t)w;
	}
	assert_true(off + sizeof(tail) <= cap);
	memcpy(buf + off, tail, sizeof(tail));
	*len = off + sizeof(tail) - 1;
	return buf;
}

static void
test_auth_threepid_cap(void **state)
{
	struct rest_auth_answer a;
	const char *why = NULL;
	size_t len;
	char *body;

	(void)state;
	/* The cap itself is allowed. */
	body = answer_with_threepids(1000, &len);
	assert_int_equal(rest_parse_auth_answer(body, len, &a, &why), 0);
	assert_true(a.success);
	assert_int_equal(a.nthreepids, 1000);
	assert_string_equal(a.threepids[0].address, "u0@example.org");
	assert_string_equal(a.threepids[999].medium, "email");
	assert_string_equal(a.threepids[999].address, "u999@example.org");
	rest_auth_answer_clear(&a);
	free(body);

	/* One more is refused. */
	body = answer_with_threepids(1001, &len);
	check_refused("1001 3PIDs", body, len, "too many");
	free(body);

	body = answer_with_threepids(5000, &len);
	check_refused("5000 3PIDs", body, len, "too many");
	free(body);
}

/* Parses a body that must be accepted. */
static void
parse_ok(const char *body, struct rest_auth_answer *a)
{
	const char *why = NULL;

	if (rest_parse_auth_answer(body, strlen(body), a, &why) != 0)
		fail_msg("refused (%s): %s", why ? why : "no reason", body);
	assert_non_null(a->root);
}

static void
test_auth_refused_login(void **state)
{
	struct rest_auth_answer a;

	(void)state;
	parse_ok("{\"auth\":{\"success\":false}}", &a);
	assert_false(a.success);
	assert_null(a.id.value);
	assert_null(a.display_name);
	assert_null(a.threepids);
	assert_int_equal(a.nthreepids, 0);
	rest_auth_answer_clear(&a);
	assert_cleared(&a);

	/* A refusal needs no id, and whatever else it carries is not read. */
	parse_ok("{\"auth\":{\"success\":false,\"id\":42,\"profile\":\"x\"},"
	    "\"authentication\":{\"success\":false}}", &a);
	assert_false(a.success);
	assert_null(a.id.value);
	assert_null(a.display_name);
	assert_int_equal(a.nthreepids, 0);
	rest_auth_answer_clear(&a);
}

static void
test_auth_full_profile(void **state)
{
	struct rest_auth_answer a;

	(void)state;
	parse_ok("{\"auth\":{\"success\":true,"
	    "\"id\":{\"type\":\"localpart\",\"value\":\"john.doe\"},"
	    "\"profile\":{\"display_name\":\"John D\xc3\xb6\\u00e9\","
	    "\"three_pids\":["
	    "{\"medium\":\"email\",\"address\":\"john.doe@example.org\"},"
	    "{\"medium\":\"msisdn\",\"address\":\"123456789\","
	    "\"validated_at\":1}]}}}\n", &a);
	assert_true(a.success);
	assert_int_equal(a.id.type, BACKEND_ID_LOCALPART);
	assert_string_equal(a.id.value, "john.doe");
	assert_string_equal(a.display_name, "John D\xc3\xb6\xc3\xa9");
	assert_int_equal(a.nthreepids, 2);
	assert_non_null(a.threepids);
	assert_string_equal(a.threepids[0].medium, "email");
	assert_string_equal(a.threepids[0].address, "john.doe@example.org");
	assert_string_equal(a.threepids[1].medium, "msisdn");
	assert_string_equal(a.threepids[1].address, "123456789");
	rest_auth_answer_clear(&a);
	assert_cleared(&a);
}

static void
test_auth_mxid(void **state)
{
	struct rest_auth_answer a;

	(void)state;
	/* Fields this protocol does not define, such as the legacy ones,
	 * are ignored. */
	parse_ok("{\"auth\":{\"success\":true,\"mxid\":\"@x:evil.org\","
	    "\"display_name\":\"Legacy\","
	    "\"id\":{\"type\":\"mxid\",\"value\":\"@john:example.org\"},"
	    "\"profile\":{\"display_name\":\"John\"}}}", &a);
	assert_true(a.success);
	assert_int_equal(a.id.type, BACKEND_ID_MXID);
	assert_string_equal(a.id.value, "@john:example.org");
	assert_string_equal(a.display_name, "John");
	assert_int_equal(a.nthreepids, 0);
	rest_auth_answer_clear(&a);
}

static void
test_auth_type_case(void **state)
{
	static const struct {
		const char *type, *value;
		enum backend_id_type want;
	} cases[] = {
		{ "localpart", "john", BACKEND_ID_LOCALPART },
		{ "LocalPart", "john", BACKEND_ID_LOCALPART },
		{ "LOCALPART", "john", BACKEND_ID_LOCALPART },
		{ "mxid", "@john:example.org", BACKEND_ID_MXID },
		{ "MXID", "@john:example.org", BACKEND_ID_MXID },
		{ "mXiD", "@john:example.org", BACKEND_ID_MXID },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct rest_auth_answer a;
		char *body = xasprintf("{\"auth\":{\"success\":true,\"id\":{"
		    "\"type\":\"%s\",\"value\":\"%s\"}}}", cases[i].type,
		    cases[i].value);

		parse_ok(body, &a);
		if (a.id.type != cases[i].want)
			fail_msg("type \"%s\" read as %d", cases[i].type,
			    (int)a.id.type);
		assert_string_equal(a.id.value, cases[i].value);
		rest_auth_answer_clear(&a);
		free(body);
	}
}

static void
test_auth_profile_optional(void **state)
{
	static const char *const bodies[] = {
		/* profile absent */
		OK_ID "}}",
		/* profile null */
		OK_ID ",\"profile\":null}}",
		/* profile empty */
		OK_ID ",\"profile\":{}}}",
		/* display_name and three_pids null */
		OK_ID ",\"profile\":{\"display_name\":null,\"three_pids\":null}}}",
		/* three_pids empty */
		OK_ID ",\"profile\":{\"three_pids\":[]}}}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bodies); i++) {
		struct rest_auth_answer a;

		parse_ok(bodies[i], &a);
		assert_true(a.success);
		assert_int_equal(a.id.type, BACKEND_ID_LOCALPART);
		assert_string_equal(a.id.value, "john");
		if (a.display_name != NULL)
			fail_msg("display_name \"%s\" from %s", a.display_name,
			    bodies[i]);
		assert_int_equal(a.nthreepids, 0);
		rest_auth_answer_clear(&a);
	}
}

static void
test_auth_display_name_null(void **state)
{
	struct rest_auth_answer a;

	(void)state;
	/* A null name does not stop the 3PIDs being read. */
	parse_ok(OK_ID ",\"profile\":{\"display_name\":null,\"three_pids\":["
	    "{\"medium\":\"email\",\"address\":\"john@example.org\"}]}}}", &a);
	assert_true(a.success);
	assert_null(a.display_name);
	assert_int_equal(a.nthreepids, 1);
	assert_string_equal(a.threepids[0].medium, "email");
	assert_string_equal(a.threepids[0].address, "john@example.org");
	rest_auth_answer_clear(&a);

	/* An empty name is a name. */
	parse_ok(OK_ID ",\"profile\":{\"display_name\":\"\"}}}", &a);
	assert_non_null(a.display_name);
	assert_string_equal(a.display_name, "");
	rest_auth_answer_clear(&a);
}

static void
test_auth_clear_twice(void **state)
{
	struct rest_auth_answer a;

	(void)state;
	parse_ok(WITH_3PID("{\"medium\":\"email\",\"address\":\"a@b.c\"}"), &a);
	assert_int_equal(a.nthreepids, 1);
	rest_auth_answer_clear(&a);
	assert_cleared(&a);
	/* Clearing a cleared answer is harmless (ASan would say). */
	rest_auth_answer_clear(&a);
	assert_cleared(&a);
}

/* rest_parse_id on its own, over the id object alone. */
static json_t *
id_json(const char *text)
{
	const char *why = NULL;
	json_t *v = json_parse(text, strlen(text), &why);

	if (v == NULL)
		fail_msg("test JSON does not parse (%s): %s", why, text);
	return v;
}

static void
test_parse_id_good(void **state)
{
	static const struct {
		const char *json, *value;
		enum backend_id_type type;
	} cases[] = {
		{ "{\"type\":\"localpart\",\"value\":\"alice\"}", "alice",
		    BACKEND_ID_LOCALPART },
		{ "{\"type\":\"Localpart\",\"value\":\"Alice.Smith\"}",
		    "Alice.Smith", BACKEND_ID_LOCALPART },
		{ "{\"value\":\"alice\",\"type\":\"LOCALPART\",\"x\":1}", "alice",
		    BACKEND_ID_LOCALPART },
		{ "{\"type\":\"mxid\",\"value\":\"@alice:example.org\"}",
		    "@alice:example.org", BACKEND_ID_MXID },
		{ "{\"type\":\"MXID\",\"value\":\"@a:[::1]:8448\"}",
		    "@a:[::1]:8448", BACKEND_ID_MXID },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *v = id_json(cases[i].json);
		struct backend_id id = { .type = BACKEND_ID_MXID, .value = NULL };
		const char *why = NULL;

		if (rest_parse_id(v, &id, &why) != 0)
			fail_msg("%s refused: %s", cases[i].json,
			    why ? why : "no reason");
		assert_int_equal(id.type, cases[i].type);
		assert_string_equal(id.value, cases[i].value);
		/* Borrowed from the JSON, not copied. */
		assert_ptr_equal(id.value,
		    json_string_value(json_object_get(v, "value")));
		json_decref(v);
	}
}

static void
test_parse_id_bad(void **state)
{
	static const struct {
		const char *json; /* NULL: no id at all */
		const char *why_has;
	} cases[] = {
		{ NULL, "id is missing" },
		{ "null", "id is missing" },
		{ "\"alice\"", "id is missing" },
		{ "[\"localpart\",\"alice\"]", "id is missing" },
		{ "7", "id is missing" },
		{ "{}", "id.type and id.value" },
		{ "{\"value\":\"alice\"}", "id.type and id.value" },
		{ "{\"type\":\"localpart\"}", "id.type and id.value" },
		{ "{\"type\":true,\"value\":\"alice\"}", "id.type and id.value" },
		{ "{\"type\":\"localpart\",\"value\":1}", "id.type and id.value" },
		{ "{\"type\":\"localpart\",\"value\":{}}", "id.type and id.value" },
		{ "{\"type\":[\"mxid\"],\"value\":\"@a:b.c\"}",
		    "id.type and id.value" },
		{ "{\"type\":\"email\",\"value\":\"a@b.c\"}", "neither" },
		{ "{\"type\":\"msisdn\",\"value\":\"123\"}", "neither" },
		{ "{\"type\":\"user\",\"value\":\"alice\"}", "neither" },
		{ "{\"type\":\"local_part\",\"value\":\"alice\"}", "neither" },
		{ "{\"type\":\"mxidx\",\"value\":\"@a:b.c\"}", "neither" },
		{ "{\"type\":\"\",\"value\":\"alice\"}", "neither" },
		{ "{\"type\":\"localpart\",\"value\":\"\"}", "empty" },
		{ "{\"type\":\"mxid\",\"value\":\"\"}", "empty" },
		{ "{\"type\":\"mxid\",\"value\":\"alice\"}", "Matrix user id" },
		{ "{\"type\":\"mxid\",\"value\":\"@alice\"}", "Matrix user id" },
		{ "{\"type\":\"mxid\",\"value\":\"@alice:\"}", "Matrix user id" },
		{ "{\"type\":\"mxid\",\"value\":\"@a b:example.org\"}",
		    "Matrix user id" },
		{ "{\"type\":\"localpart\",\"value\":\"a:b\"}", "localpart" },
		{ "{\"type\":\"localpart\",\"value\":\"al ice\"}", "localpart" },
		{ "{\"type\":\"localpart\",\"value\":\"j\\u00f6hn\"}",
		    "localpart" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *v = cases[i].json ? id_json(cases[i].json) : NULL;
		struct backend_id id = { .type = BACKEND_ID_LOCALPART,
			.value = NULL };
		const char *why = NULL;

		if (rest_parse_id(v, &id, &why) != -1)
			fail_msg("%s accepted", cases[i].json);
		if (why == NULL || strstr(why, cases[i].why_has) == NULL)
			fail_msg("%s: reason \"%s\" does not say \"%s\"",
			    cases[i].json ? cases[i].json : "(no id)",
			    why ? why : "(null)", cases[i].why_has);
		/* No value handed out from a refused id. */
		assert_null(id.value);
		json_decref(v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_malformed),
		cmocka_unit_test(test_auth_null_body),
		cmocka_unit_test(test_auth_threepid_cap),
		cmocka_unit_test(test_auth_refused_login),
		cmocka_unit_test(test_auth_full_profile),
		cmocka_unit_test(test_auth_mxid),
		cmocka_unit_test(test_auth_type_case),
		cmocka_unit_test(test_auth_profile_optional),
		cmocka_unit_test(test_auth_display_name_null),
		cmocka_unit_test(test_auth_clear_twice),
		cmocka_unit_test(test_parse_id_good),
		cmocka_unit_test(test_parse_id_bad),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
