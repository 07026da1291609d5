/*
 * Unit tests for src/core/jsonout.c: what it writes parses back (with
 * jansson) to what was given, escapes and all; object keys are written
 * once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "core/jsonout.h"

static void
test_strings_round_trip(void **state)
{
	static const char *const cases[] = {
		"", "plain", "quote \" and backslash \\", "tab\tnew\nline",
		"\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
		"</script>", "+plus@example.org",
	};
	struct jsonout o;
	json_error_t err;
	json_t *v;
	size_t len;
	char *text;

	(void)state;
	jsonout_init(&o, 0);
	jsonout_raw(&o, "[");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (i > 0)
			jsonout_raw(&o, ",");
		jsonout_string(&o, cases[i]);
	}
	jsonout_raw(&o, "]");
	text = jsonout_take(&o, &len);
	assert_int_equal(strlen(text), len);
	assert_null(o.buf);
	/* Control characters and DEL never appear raw. */
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)text[i] >= 0x20 && text[i] != 0x7f);
	v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(v);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(json_string_value(json_array_get(v, i)),
		    cases[i]);
	json_decref(v);
	free(text);
}

static void
test_growth(void **state)
{
	struct jsonout o;
	size_t len;
	char *text;

	(void)state;
	jsonout_init(&o, 1);
	for (int i = 0; i < 5000; i++)
		jsonout_string(&o, "\"\"\"\"");
	text = jsonout_take(&o, &len);
	assert_int_equal(len, 5000 * 10);
	free(text);
}

static void
test_keys_once(void **state)
{
	struct jsonout_keys *k = jsonout_keys_new(3);
	char many[40][8];

	(void)state;
	assert_true(jsonout_keys_first(k, "a"));
	assert_true(jsonout_keys_first(k, "b"));
	assert_false(jsonout_keys_first(k, "a"));
	assert_true(jsonout_keys_first(k, ""));
	assert_false(jsonout_keys_first(k, ""));
	jsonout_keys_free(k);

	/* As many distinct keys as announced, and each once. */
	k = jsonout_keys_new(40);
	for (int i = 0; i < 40; i++) {
		snprintf(many[i], sizeof(many[i]), "k%d", i);
		assert_true(jsonout_keys_first(k, many[i]));
	}
	for (int i = 0; i < 40; i++)
		assert_false(jsonout_keys_first(k, many[i]));
	jsonout_keys_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_round_trip),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_keys_once),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
