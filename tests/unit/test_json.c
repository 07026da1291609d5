/*
 * Unit tests for src/core/json.c: strict parsing with short reasons,
 * compact output, and the allocator json_setup installs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/util.h"

static const char WHY_DUP[] = "duplicate key";
static const char WHY_UTF8[] = "invalid UTF-8";
static const char WHY_NUL[] = "NUL character";
static const char WHY_TRAILING[] = "data after the JSON value";
static const char WHY_SYNTAX[] = "not valid JSON";

static int
setup(void **state)
{
	(void)state;
	json_setup();
	return 0;
}

static json_t *
parse_str(const char *text, const char **why)
{
	return json_parse(text, strlen(text), why);
}

struct bad_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *why;
};

static void
test_parse_refuses(void **state)
{
	static const struct bad_case cases[] = {
		/* duplicates at any depth */
		{ "{\"a\":1,\"a\":2}", 0, WHY_DUP },
		{ "{\"a\":1,\"a\":1}", 0, WHY_DUP },
		{ "{\"o\":{\"k\":\"x\",\"k\":\"y\"}}", 0, WHY_DUP },
		{ "[{\"k\":1,\"j\":2,\"k\":3}]", 0, WHY_DUP },
		/* invalid UTF-8 in strings and keys */
		{ "\"\xff\"", 0, WHY_UTF8 },
		{ "\"caf\xc3\"", 0, WHY_UTF8 },
		{ "\"\xc0\xaf\"", 0, WHY_UTF8 },          /* overlong '/' */
		{ "\"\xed\xa0\x80\"", 0, WHY_UTF8 },      /* encoded surrogate */
		{ "{\"k\xfe\":1}", 0, WHY_UTF8 },
		/* \u0000 in a value or a key */
		{ "\"a\\u0000b\"", 0, WHY_NUL },
		{ "{\"k\":\"\\u0000\"}", 0, WHY_NUL },
		{ "{\"k\\u0000\":1}", 0, WHY_NUL },
		/* anything after the one value */
		{ "{} {}", 0, WHY_TRAILING },
		{ "{}x", 0, WHY_TRAILING },
		{ "[]]", 0, WHY_TRAILING },
		{ "1 2", 0, WHY_TRAILING },
		{ "{\"a\":1}}", 0, WHY_TRAILING },
		{ "null,", 0, WHY_TRAILING },
		/* plain syntax errors */
		{ "", 0, WHY_SYNTAX },
		{ " ", 0, WHY_SYNTAX },
		{ "{", 0, WHY_SYNTAX },
		{ "{'a':1}", 0, WHY_SYNTAX },
		{ "{\"a\":1,}", 0, WHY_SYNTAX },
		{ "nul", 0, WHY_SYNTAX },
		{ "not json", 0, WHY_SYNTAX },
		{ "\"tab\there\"", 0, WHY_SYNTAX },
		{ "\"\\ud800\"", 0, WHY_SYNTAX },          /* lone surrogate */
		/* a raw NUL byte inside a string is a control character */
		{ "\"a\0b\"", 5, WHY_SYNTAX },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		const char *why = NULL;
		json_t *v = json_parse(cases[i].text, len, &why);

		if (v != NULL) {
			json_decref(v);
			fail_msg("case %zu (\"%s\") parsed", i, cases[i].text);
		}
		if (why == NULL || strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu (\"%s\"): why \"%s\", want \"%s\"", i,
			    cases[i].text, why ? why : "(null)", cases[i].why);
	}
}

static void
test_parse_trailing_nul_byte(void **state)
{
	static const char text[] = "{}\0";
	const char *why = NULL;
	json_t *v;

	(void)state;
	/* A NUL byte after the value is data after it, not an end. */
	v = json_parse(text, sizeof(text) - 1, &why);
	assert_null(v);
	assert_non_null(why);
	assert_string_equal(why, WHY_TRAILING);
}

static void
test_parse_accepts(void **state)
{
	const char *why = NULL;
	json_t *v;

	(void)state;
	v = parse_str("{\"a\":[1,true,null],\"b\":\"x\"}", &why);
	assert_non_null(v);
	assert_true(json_is_object(v));
	assert_int_equal(json_object_size(v), 2);
	assert_string_equal(json_string_value(json_object_get(v, "b")), "x");
	json_decref(v);

	/* Whitespace around the value is not trailing data. */
	v = parse_str(" \n{\"a\":1}\r\n\t ", &why);
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	json_decref(v);

	/* Any value, not only objects and arrays. */
	v = parse_str("42", &why);
	assert_true(json_is_integer(v));
	json_decref(v);
	v = parse_str("\"s\"", &why);
	assert_string_equal(json_string_value(v), "s");
	json_decref(v);
	v = parse_str("null", &why);
	assert_true(json_is_null(v));
	json_decref(v);

	/* The same key in different objects is no duplicate. */
	v = parse_str("{\"k\":{\"k\":1},\"j\":{\"k\":2}}", &why);
	assert_non_null(v);
	json_decref(v);

	/* UTF-8 and escapes decode to the same bytes. */
	v = parse_str("[\"caf\xc3\xa9\",\"caf\\u00e9\",\"\\ud83d\\ude00\"]",
	    &why);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_array_get(v, 0)),
	    "caf\xc3\xa9");
	assert_string_equal(json_string_value(json_array_get(v, 1)),
	    "caf\xc3\xa9");
	assert_string_equal(json_string_value(json_array_get(v, 2)),
	    "\xf0\x9f\x98\x80");
	json_decref(v);
}

static void
test_parse_respects_len(void **state)
{
	const char *why = NULL;
	char *exact;
	json_t *v;

	(void)state;
	/* Only buf[0..len) is read: what follows is not trailing data. */
	v = json_parse("{}garbage", 2, &why);
	assert_non_null(v);
	assert_true(json_is_object(v));
	json_decref(v);

	/* Nor is the buffer expected to be NUL-terminated (ASan watches). */
	exact = xmalloc(8);
	memcpy(exact, "[1,2,3]x", 8);
	v = json_parse(exact, 7, &why);
	assert_non_null(v);
	assert_int_equal(json_array_size(v), 3);
	json_decref(v);
	free(exact);

	/* A value cut short by len is incomplete. */
	why = NULL;
	v = json_parse("{\"a\":1}", 6, &why);
	assert_null(v);
	assert_string_equal(why, WHY_SYNTAX);
}

static void
test_dump_compact(void **state)
{
	json_t *v;
	char *s;
	size_t len = 0;

	(void)state;
	v = json_pack("{s:i,s:[i,i],s:s,s:{s:b,s:n}}", "a", 1, "b", 1, 2,
	    "c", "x y", "d", "t", 1, "n");
	assert_non_null(v);
	s = json_dump(v, &len);
	/* Insertion order, no spaces, nothing escaped that need not be. */
	assert_string_equal(s,
	    "{\"a\":1,\"b\":[1,2],\"c\":\"x y\",\"d\":{\"t\":true,\"n\":null}}");
	assert_int_equal(len, strlen(s));
	free(s);
	json_decref(v);

	v = json_string("caf\xc3\xa9 \"q\" a/b \\ \n");
	s = json_dump(v, &len);
	assert_string_equal(s, "\"caf\xc3\xa9 \\\"q\\\" a/b \\\\ \\n\"");
	assert_int_equal(len, strlen(s));
	free(s);
	json_decref(v);

	/* Scalars on their own too. */
	v = json_integer(-5);
	s = json_dump(v, &len);
	assert_string_equal(s, "-5");
	assert_int_equal(len, 2);
	free(s);
	json_decref(v);

	v = json_object();
	s = json_dump(v, &len);
	assert_string_equal(s, "{}");
	assert_int_equal(len, 2);
	json_dump_free_secret(s, len);
	json_decref(v);
	json_dump_free_secret(NULL, 0);
}

static void
test_round_trip(void **state)
{
	static const char text[] =
	    "{\"user\":{\"id\":\"@john.doe:example.org\","
	    "\"password\":\"p\xc3\xa4ss \\\"w\\\" \\u0001\"},\"n\":[1,-2,3.5]}";
	const char *why = NULL;
	json_t *a, *b;
	char *s1, *s2;
	size_t l1, l2;

	(void)state;
	a = json_parse(text, sizeof(text) - 1, &why);
	assert_non_null(a);
	s1 = json_dump(a, &l1);
	b = json_parse(s1, l1, &why);
	assert_non_null(b);
	assert_true(json_equal(a, b));
	s2 = json_dump(b, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(b, "user"), "password")),
	    "p\xc3\xa4ss \"w\" \x01");
	json_dump_free_secret(s1, l1);
	json_dump_free_secret(s2, l2);
	json_decref(a);
	json_decref(b);
}

static void
test_allocator_installed(void **state)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;
	json_t *v;
	void *p;

	(void)state;
	json_get_alloc_funcs(&m, &f);
	assert_non_null(m);
	assert_non_null(f);
	/* Not jansson's defaults: frees go through the wiping function. */
	assert_true(f != free);
	assert_true(m != malloc);

	/* The pair works as an allocator for blocks jansson makes. */
	p = m(100);
	assert_non_null(p);
	memset(p, 0x5a, 100);
	f(p);
	f(NULL);

	v = json_string("a secret that is freed through the wiping free");
	assert_non_null(v);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_parse_trailing_nul_byte),
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_respects_len),
		cmocka_unit_test(test_dump_compact),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_allocator_installed),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
