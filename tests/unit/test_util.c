/*
 * Unit tests for src/core/util.c: bounded number parsing, string building
 * and wiping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/util.h"

/* What parse_int64 must leave in *out when it refuses a string. */
#define UNTOUCHED INT64_C(424242)

struct int_case {
	const char *text;
	int64_t min, max;
	int64_t want; /* when accepted */
};

static void
test_parse_int64_accepts(void **state)
{
	static const struct int_case cases[] = {
		{ "0", 0, 10, 0 },
		{ "10", 0, 10, 10 },
		{ "7", 0, 10, 7 },
		{ "-5", -10, 10, -5 },
		{ "-10", -10, 10, -10 },
		{ "0", -10, 10, 0 },
		{ "8090", 1, 65535, 8090 },
		{ "65535", 1, 65535, 65535 },
		{ "9223372036854775807", INT64_MIN, INT64_MAX, INT64_MAX },
		{ "-9223372036854775808", INT64_MIN, INT64_MAX, INT64_MIN },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t out = UNTOUCHED;

		if (parse_int64(cases[i].text, cases[i].min, cases[i].max,
			&out) != 0)
			fail_msg("parse_int64(\"%s\") refused", cases[i].text);
		assert_true(out == cases[i].want);
	}
}

static void
test_parse_int64_refuses(void **state)
{
	static const struct int_case cases[] = {
		/* out of range, both ends */
		{ "11", 0, 10, 0 },
		{ "-11", -10, 10, 0 },
		{ "0", 1, 65535, 0 },
		{ "65536", 1, 65535, 0 },
		/* blanks are a mistake, not padding */
		{ " 5", 0, 10, 0 },
		{ "\t5", 0, 10, 0 },
		{ "5 ", 0, 10, 0 },
		{ "5\n", 0, 10, 0 },
		/* '+' never; '-' only on ranges that go below zero */
		{ "+5", 0, 10, 0 },
		{ "+5", -10, 10, 0 },
		{ "-1", 0, 10, 0 },
		{ "-0", 0, 10, 0 },
		{ "--5", -10, 10, 0 },
		{ "-", -10, 10, 0 },
		/* overflow of the 64-bit type itself */
		{ "99999999999999999999", INT64_MIN, INT64_MAX, 0 },
		{ "-99999999999999999999", INT64_MIN, INT64_MAX, 0 },
		{ "9223372036854775808", INT64_MIN, INT64_MAX, 0 },
		{ "-9223372036854775809", INT64_MIN, INT64_MAX, 0 },
		/* empty and trailing garbage */
		{ "", 0, 10, 0 },
		{ "12abc", 0, 100, 0 },
		{ "abc", 0, 100, 0 },
		{ "1.5", 0, 100, 0 },
		{ "0x10", 0, 100, 0 },
		{ "1e3", 0, 10000, 0 },
		{ "8090/", 1, 65535, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int64_t out = UNTOUCHED;

		if (parse_int64(cases[i].text, cases[i].min, cases[i].max,
			&out) != -1)
			fail_msg("parse_int64(\"%s\", %lld, %lld) accepted",
			    cases[i].text, (long long)cases[i].min,
			    (long long)cases[i].max);
		assert_true(out == UNTOUCHED);
	}
}

static void
test_parse_int64_null(void **state)
{
	int64_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(parse_int64(NULL, 0, 10, &out), -1);
	assert_true(out == UNTOUCHED);
}

static void
test_xasprintf(void **state)
{
	char big[5000];
	char *s;

	(void)state;
	s = xasprintf("%s-%d-%zu", "ab", -7, (size_t)42);
	assert_string_equal(s, "ab--7-42");
	free(s);

	s = xasprintf("%s", "");
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);

	/* Longer than any fixed first guess a formatter might use. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = xasprintf("<%s>", big);
	assert_int_equal(strlen(s), sizeof(big) + 1);
	assert_int_equal(s[0], '<');
	assert_int_equal(s[sizeof(big)], '>');
	assert_memory_equal(s + 1, big, sizeof(big) - 1);
	free(s);
}

static void
test_xstrndup(void **state)
{
	char *s;

	(void)state;
	s = xstrndup("hello", 3);
	assert_string_equal(s, "hel");
	free(s);
	s = xstrndup("hello", 0);
	assert_string_equal(s, "");
	free(s);
	s = xstrdup("secret");
	assert_string_equal(s, "secret");
	secret_free(s);
	secret_free(NULL);
}

static void
test_secure_wipe(void **state)
{
	unsigned char buf[64], zero[sizeof(buf)];

	(void)state;
	memset(zero, 0, sizeof(zero));
	memset(buf, 0xa5, sizeof(buf));
	secure_wipe(buf, sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(buf));

	/* Only the n bytes asked for. */
	memset(buf, 0xa5, sizeof(buf));
	secure_wipe(buf + 8, 16);
	assert_memory_equal(buf + 8, zero, 16);
	assert_int_equal(buf[7], 0xa5);
	assert_int_equal(buf[24], 0xa5);

	/* n == 0 touches nothing; NULL is fine. */
	secure_wipe(buf, 0);
	assert_int_equal(buf[0], 0xa5);
	secure_wipe(NULL, 16);
}

static void
test_clocks(void **state)
{
	uint64_t a, b;

	(void)state;
	a = now_monotonic_ms();
	b = now_monotonic_ms();
	assert_true(b >= a);
	/* 2020-01-01T00:00:00Z: a wall clock before that is broken. */
	assert_true(now_realtime_ms() > UINT64_C(1577836800000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_int64_accepts),
		cmocka_unit_test(test_parse_int64_refuses),
		cmocka_unit_test(test_parse_int64_null),
		cmocka_unit_test(test_xasprintf),
		cmocka_unit_test(test_xstrndup),
		cmocka_unit_test(test_secure_wipe),
		cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
