/*
 * Unit tests for src/crypto/canonical.c: fixed vectors for Matrix canonical
 * JSON (key order, escapes, integers), the values it must refuse, and
 * leaving top-level members out for signing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "crypto/canonical.h"

static int
setup(void **state)
{
	(void)state;
	json_setup();
	return 0;
}

/* Parses text leniently enough for \u0000 in strings, which json_parse
 * refuses but jansson can hold. */
static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL |
	    JSON_REJECT_DUPLICATES, &e);

	if (v == NULL)
		fail_msg("test input does not parse: %s: %s", text, e.text);
	return v;
}

/* Encodes v, checks the exact bytes and length, and takes v over. */
static void
enc_ok_value(json_t *v, const char *want, size_t want_len)
{
	char *out = (char *)1;
	size_t len = 1;

	assert_int_equal(canon_encode(v, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[len], '\0');
	free(out);
	json_decref(v);
}

static void
enc_ok(const char *in, const char *want)
{
	enc_ok_value(load(in), want, strlen(want));
}

static void
enc_refused_value(json_t *v)
{
	char *out = (char *)1;
	size_t len = 1;

	assert_int_equal(canon_encode(v, &out, &len), -1);
	assert_null(out);
	assert_int_equal(len, 0);
	json_decref(v);
}

static void
enc_refused(const char *in)
{
	enc_refused_value(load(in));
}

static void
test_basic_vectors(void **state)
{
	(void)state;
	enc_ok("{}", "{}");
	enc_ok("[]", "[]");
	enc_ok("{\"one\": 1, \"two\": \"Two\"}", "{\"one\":1,\"two\":\"Two\"}");
	enc_ok("{\"b\":2,\"a\":1}", "{\"a\":1,\"b\":2}");
	enc_ok(" { \"a\" : [ 1 , { } , [ ] ] } ", "{\"a\":[1,{},[]]}");
	enc_ok("null", "null");
	enc_ok("true", "true");
	enc_ok("false", "false");
	enc_ok("\"x\"", "\"x\"");
	enc_ok("{\"t\":true,\"f\":false,\"n\":null}",
	    "{\"f\":false,\"n\":null,\"t\":true}");
}

static void
test_key_order(void **state)
{
	(void)state;
	/* Nested objects are sorted too; arrays keep their order. */
	enc_ok("{\"z\":{\"y\":1,\"x\":{\"w\":2,\"v\":3}},\"a\":[3,1,2,{\"d\":0,\"c\":0}]}",
	    "{\"a\":[3,1,2,{\"c\":0,\"d\":0}],\"z\":{\"x\":{\"v\":3,\"w\":2},\"y\":1}}");
	/* A prefix sorts first; uppercase before lowercase (byte order). */
	enc_ok("{\"ab\":1,\"a\":2,\"B\":3,\"aa\":4,\"\":5}",
	    "{\"\":5,\"B\":3,\"a\":2,\"aa\":4,\"ab\":1}");
	/*
	 * By UTF-8 bytes: "A" 41, "a" 61, "é" c3 a9, "日" e6 97 a5,
	 * "本" e6 9c ac, then U+FF21 (ef bc a1) before the non-BMP U+1F600
	 * (f0 9f 98 80) -- the order UTF-16 code units would get wrong.
	 */
	enc_ok("{\"\xf0\x9f\x98\x80\":7,\"\xef\xbc\xa1\":6,\"\xe6\x9c\xac\":5,"
	    "\"\xe6\x97\xa5\":4,\"\xc3\xa9\":3,\"a\":2,\"A\":1}",
	    "{\"A\":1,\"a\":2,\"\xc3\xa9\":3,\"\xe6\x97\xa5\":4,"
	    "\"\xe6\x9c\xac\":5,\"\xef\xbc\xa1\":6,\"\xf0\x9f\x98\x80\":7}");
	/* Bytes compare unsigned: 0xc3 sorts after 0x7f. */
	enc_ok("{\"\xc3\xa9\":1,\"\x7f\":2}", "{\"\x7f\":2,\"\xc3\xa9\":1}");
}

static void
test_many_keys(void **state)
{
	json_t *v = json_object();
	char key[8], want[4096], *p = want;
	int i;

	(void)state;
	/* More keys than the first key array holds, inserted backwards. */
	for (i = 99; i >= 0; i--) {
		snprintf(key, sizeof(key), "k%02d", i);
		json_object_set_new(v, key, json_integer(i));
	}
	*p++ = '{';
	for (i = 0; i < 100; i++)
		p += sprintf(p, "%s\"k%02d\":%d", i ? "," : "", i, i);
	*p++ = '}';
	*p = '\0';
	enc_ok_value(v, want, strlen(want));
}

static void
test_nested_objects_share_key_array(void **state)
{
	json_t *v = json_object(), *inner;
	char key[8];
	int i, j;

	(void)state;
	/* Inner objects push onto the shared member array while the outer
	 * object walks its own slice, which may move when the array grows. */
	for (i = 0; i < 20; i++) {
		inner = json_object();
		for (j = 0; j < 20; j++) {
			snprintf(key, sizeof(key), "%c", 'a' + 19 - j);
			json_object_set_new(inner, key, json_integer(j));
		}
		snprintf(key, sizeof(key), "o%02d", 19 - i);
		json_object_set_new(v, key, inner);
	}
	{
		char *out;
		size_t len;
		const char *first = "{\"o00\":{\"a\":19,\"b\":18,";

		assert_int_equal(canon_encode(v, &out, &len), 0);
		assert_memory_equal(out, first, strlen(first));
		assert_non_null(strstr(out, "\"o19\":{\"a\":19,"));
		assert_int_equal(out[len - 1], '}');
		free(out);
	}
	json_decref(v);
}

static void
test_string_escapes(void **state)
{
	static const char want[] =
	    "{\"a\":\"\\u0000\\u001f\\b\\t\\n\\f\\r\\\"\\\\/\"}";

	(void)state;
	enc_ok("{\"a\":\"\\u0000\\u001f\\b\\t\\n\\f\\r\\\"\\\\\\/\"}", want);
	/* Every other control character as \u00xx in lowercase hex. */
	enc_ok("\"\\u0001\\u0007\\u000b\\u000e\\u001a\\u001B\\u001F\"",
	    "\"\\u0001\\u0007\\u000b\\u000e\\u001a\\u001b\\u001f\"");
	/* DEL and everything above U+001F stay raw. */
	enc_ok("\"\\u007f ~\"", "\"\x7f ~\"");
	/* Keys are escaped like values. */
	enc_ok("{\"k\\n\\\"\":1}", "{\"k\\n\\\"\":1}");
	/* A run of plain text around escapes is kept intact. */
	enc_ok("\"abc\\tdef\\nghi\"", "\"abc\\tdef\\nghi\"");
	/* An embedded NUL built by hand is written, not a string end. */
	enc_ok_value(json_stringn("a\0b", 3), "\"a\\u0000b\"", 10);
}

static void
test_non_ascii_raw(void **state)
{
	(void)state;
	enc_ok("\"\\u65e5\\u672c\\u8a9e\"", "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"");
	enc_ok("\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"",
	    "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"");
	/* A surrogate pair becomes one 4-byte sequence. */
	enc_ok("{\"e\":\"\\ud83d\\ude00\"}", "{\"e\":\"\xf0\x9f\x98\x80\"}");
	enc_ok("\"caf\\u00e9\"", "\"caf\xc3\xa9\"");
	/* U+2028 and U+2029 are not escaped either. */
	enc_ok("\"\\u2028\\u2029\"", "\"\xe2\x80\xa8\xe2\x80\xa9\"");
	enc_ok("\"\\uffff\\udbff\\udfff\"",
	    "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"");
}

static void
test_integers(void **state)
{
	(void)state;
	enc_ok("0", "0");
	enc_ok("-0", "0");
	enc_ok("[1,-1,10,-10,1234567890]", "[1,-1,10,-10,1234567890]");
	enc_ok("9007199254740991", "9007199254740991");
	enc_ok("-9007199254740991", "-9007199254740991");
	enc_ok_value(json_integer(CANON_INT_MAX), "9007199254740991", 16);
	enc_ok_value(json_integer(-CANON_INT_MAX), "-9007199254740991", 17);
	enc_ok("{\"ts\":1428825849161}", "{\"ts\":1428825849161}");

	enc_refused("9007199254740992");
	enc_refused("-9007199254740992");
	enc_refused("[1,{\"a\":9223372036854775807}]");
	enc_refused_value(json_integer(INT64_MIN));
	enc_refused_value(json_integer(INT64_MAX));
}

static void
test_floats_refused(void **state)
{
	(void)state;
	enc_refused("1.5");
	enc_refused("1.0");
	enc_refused("1e2");
	enc_refused("-0.0");
	enc_refused("{\"a\":{\"b\":[1,2,0.5]}}");
	enc_refused_value(json_real(2.0));
}

static void
test_invalid_utf8_refused(void **state)
{
	json_t *o;

	(void)state;
	/* Only reachable through jansson's *_nocheck calls. */
	enc_refused_value(json_string_nocheck("\xff"));
	enc_refused_value(json_string_nocheck("caf\xc3"));
	enc_refused_value(json_string_nocheck("\xc0\xaf"));       /* overlong */
	enc_refused_value(json_string_nocheck("\xe0\x80\xaf"));   /* overlong */
	enc_refused_value(json_string_nocheck("\xed\xa0\x80"));   /* surrogate */
	enc_refused_value(json_string_nocheck("\xf4\x90\x80\x80")); /* > U+10FFFF */
	enc_refused_value(json_string_nocheck("\xf0\x9f\x98"));   /* cut short */
	o = json_object();
	json_object_set_new_nocheck(o, "k\xfe", json_true());
	enc_refused_value(o);
	/* The boundaries that are valid. */
	enc_ok_value(json_string_nocheck("\xc2\x80\xdf\xbf\xe0\xa0\x80"
	    "\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"),
	    "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
	    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"", 23);
}

static void
test_matrix_spec_examples(void **state)
{
	(void)state;
	/* The examples of the Matrix spec's canonical JSON appendix. */
	enc_ok("{}", "{}");
	enc_ok("{\"one\": 1, \"two\": \"Two\"}", "{\"one\":1,\"two\":\"Two\"}");
	enc_ok("{\"b\": \"2\", \"a\": \"1\"}", "{\"a\":\"1\",\"b\":\"2\"}");
	enc_ok("{\"auth\": {\"success\": true, \"mxid\": \"@john.doe:example.com\","
	    " \"profile\": {\"display_name\": \"John Doe\", \"three_pids\": ["
	    "{\"medium\": \"email\", \"address\": \"john.doe@example.org\"},"
	    " {\"medium\": \"msisdn\", \"address\": \"123456789\"}]}}}",
	    "{\"auth\":{\"mxid\":\"@john.doe:example.com\",\"profile\":"
	    "{\"display_name\":\"John Doe\",\"three_pids\":[{\"address\":"
	    "\"john.doe@example.org\",\"medium\":\"email\"},{\"address\":"
	    "\"123456789\",\"medium\":\"msisdn\"}]},\"success\":true}}");
	enc_ok("{\"a\": \"\\u65E5\\u672C\\u8A9E\"}",
	    "{\"a\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}");
	enc_ok("{\"\\u672C\": 2, \"\\u65E5\": 1}",
	    "{\"\xe6\x97\xa5\":1,\"\xe6\x9c\xac\":2}");
	enc_ok("{\"a\": \"\\u00e9\"}", "{\"a\":\"\xc3\xa9\"}");
	enc_ok("{\"a\": null}", "{\"a\":null}");
	enc_ok("{\"a\": \"\\u0000\"}", "{\"a\":\"\\u0000\"}");
	enc_ok("{\"a\": -9007199254740991}", "{\"a\":-9007199254740991}");
	enc_ok("{\"a\": -0}", "{\"a\":0}");
	/* The appendix also writes 1e10 as the integer 10000000000. jansson
	 * reads any fraction or exponent as a real, and reals are refused:
	 * nothing Signpost signs is written that way. */
	enc_refused("{\"a\": -0, \"b\": 1e10}");
}

static void
test_signed_association_shape(void **state)
{
	(void)state;
	enc_ok("{\"mxid\":\"@ears:example.org\",\"medium\":\"email\","
	    "\"address\":\"louise@bobs.burgers\",\"ts\":1428825849161,"
	    "\"not_before\":1428825849161,\"not_after\":4582425849161}",
	    "{\"address\":\"louise@bobs.burgers\",\"medium\":\"email\","
	    "\"mxid\":\"@ears:example.org\",\"not_after\":4582425849161,"
	    "\"not_before\":1428825849161,\"ts\":1428825849161}");
}

static void
test_depth(void **state)
{
	json_t *v, *inner;
	char *text, *out;
	size_t len, n = CANON_MAX_DEPTH;

	(void)state;
	/* The deepest value jansson parses is encoded. */
	text = malloc(2 * n + 1);
	assert_non_null(text);
	memset(text, '[', n);
	memset(text + n, ']', n);
	text[2 * n] = '\0';
	v = load(text);
	assert_int_equal(canon_encode(v, &out, &len), 0);
	assert_int_equal(len, 2 * n);
	assert_memory_equal(out, text, len);
	free(out);

	/* One more level, built by hand, is refused. */
	inner = json_array();
	json_array_append_new(inner, v);
	enc_refused_value(inner);

	/* So is a cycle, which only a hand-built value can have. */
	v = json_array();
	inner = json_array();
	json_array_append(v, inner);
	json_array_append(inner, v);
	assert_int_equal(canon_encode(v, &out, &len), -1);
	json_array_clear(inner);
	json_decref(inner);
	json_decref(v);
	free(text);
}

static void
test_refusal_anywhere_frees(void **state)
{
	(void)state;
	/* The refusal comes after output and nested key arrays were built;
	 * ASan checks they are freed. */
	enc_refused("{\"a\":{\"b\":{\"c\":[1,2,{\"d\":\"x\",\"e\":1.5}]}},"
	    "\"z\":1}");
	enc_refused("[\"a long string that fills part of the buffer first\","
	    "{\"x\":{\"y\":{\"z\":1e300}}}]");
}

static void
test_except(void **state)
{
	static const char *const skip[] = { "signatures", "unsigned" };
	json_t *v;
	char *out;
	size_t len;

	(void)state;
	v = load("{\"unsigned\":{\"age\":1},\"b\":{\"unsigned\":1,"
	    "\"signatures\":2},\"signatures\":{\"x\":{}},\"a\":1}");
	assert_int_equal(canon_encode_except(v, skip, 2, &out, &len), 0);
	/* Only top-level members are left out. */
	assert_string_equal(out, "{\"a\":1,\"b\":{\"signatures\":2,"
	    "\"unsigned\":1}}");
	assert_int_equal(len, strlen(out));
	free(out);
	/* Nothing to skip: same as canon_encode. */
	assert_int_equal(canon_encode_except(v, NULL, 0, &out, &len), 0);
	assert_string_equal(out, "{\"a\":1,\"b\":{\"signatures\":2,"
	    "\"unsigned\":1},\"signatures\":{\"x\":{}},\"unsigned\":{\"age\":1}}");
	free(out);
	json_decref(v);

	/* Skipping every member leaves {}. */
	v = load("{\"unsigned\":1.5,\"signatures\":null}");
	assert_int_equal(canon_encode_except(v, skip, 2, &out, &len), 0);
	assert_string_equal(out, "{}");
	free(out);
	json_decref(v);

	/* Not an object. */
	v = load("[1]");
	out = (char *)1;
	assert_int_equal(canon_encode_except(v, skip, 2, &out, &len), -1);
	assert_null(out);
	json_decref(v);
	out = (char *)1;
	assert_int_equal(canon_encode(NULL, &out, &len), -1);
	assert_null(out);
}

static void
test_large_output(void **state)
{
	json_t *v = json_array();
	char *out;
	size_t len;
	int i;

	(void)state;
	/* Forces many buffer doublings past the first 256 bytes. */
	for (i = 0; i < 5000; i++)
		json_array_append_new(v, json_string("0123456789\t"));
	assert_int_equal(canon_encode(v, &out, &len), 0);
	assert_int_equal(len, 2 + 5000 * 14 + 4999);
	assert_memory_equal(out, "[\"0123456789\\t\",\"", 17);
	assert_int_equal(out[len], '\0');
	free(out);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_vectors),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_nested_objects_share_key_array),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_non_ascii_raw),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_floats_refused),
		cmocka_unit_test(test_invalid_utf8_refused),
		cmocka_unit_test(test_matrix_spec_examples),
		cmocka_unit_test(test_signed_association_shape),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_refusal_anywhere_frees),
		cmocka_unit_test(test_except),
		cmocka_unit_test(test_large_output),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
