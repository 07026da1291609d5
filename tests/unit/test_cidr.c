/*
 * Unit tests for src/core/cidr.c: parsing ranges and addresses into the
 * mapped 16-byte form, and matching peers against a list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/cidr.h"
#include "core/util.h"

static const char WHY_ADDR[] = "not an address or CIDR range";
static const char WHY_V4_PREFIX[] = "prefix length must be 0 to 32";
static const char WHY_V6_PREFIX[] = "prefix length must be 0 to 128";
static const char WHY_HOST_BITS[] =
    "address has bits set beyond the prefix length";

static struct cidr
parse_ok(const char *text)
{
	struct cidr c;
	const char *why = NULL;

	memset(&c, 0xee, sizeof(c));
	if (cidr_parse(text, &c, &why) != 0)
		fail_msg("cidr_parse(\"%s\") refused: %s", text,
		    why ? why : "(no reason)");
	return c;
}

static void
addr_ok(const char *text, uint8_t addr[16])
{
	if (cidr_addr_parse(text, addr) != 0)
		fail_msg("cidr_addr_parse(\"%s\") refused", text);
}

static void
test_parse_v4(void **state)
{
	static const uint8_t want[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 10, 0, 0, 0 };
	struct cidr c;

	(void)state;
	c = parse_ok("10.0.0.0/8");
	assert_memory_equal(c.addr, want, 16);
	assert_int_equal(c.prefix, 96 + 8);

	c = parse_ok("0.0.0.0/0");
	assert_int_equal(c.prefix, 96);
	c = parse_ok("192.168.1.5/32");
	assert_int_equal(c.prefix, 128);
	c = parse_ok("172.16.0.0/12");
	assert_int_equal(c.prefix, 108);
}

static void
test_parse_v6(void **state)
{
	static const uint8_t loopback[16] = { [15] = 1 };
	static const uint8_t fc00[16] = { 0xfc };
	static const uint8_t zero[16] = { 0 };
	struct cidr c;

	(void)state;
	c = parse_ok("::1/128");
	assert_memory_equal(c.addr, loopback, 16);
	assert_int_equal(c.prefix, 128);

	c = parse_ok("fc00::/7");
	assert_memory_equal(c.addr, fc00, 16);
	assert_int_equal(c.prefix, 7);

	c = parse_ok("::/0");
	assert_memory_equal(c.addr, zero, 16);
	assert_int_equal(c.prefix, 0);

	/* A v4-mapped range written in v6 takes its prefix as given. */
	c = parse_ok("::ffff:10.0.0.0/104");
	assert_int_equal(c.prefix, 104);
}

static void
test_parse_bare_host(void **state)
{
	static const uint8_t v4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 192, 168, 1, 5 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct cidr c;

	(void)state;
	c = parse_ok("192.168.1.5");
	assert_memory_equal(c.addr, v4, 16);
	assert_int_equal(c.prefix, 128);

	c = parse_ok("2001:db8::1");
	assert_memory_equal(c.addr, v6, 16);
	assert_int_equal(c.prefix, 128);
}

struct bad_case {
	const char *text;
	const char *why;
};

static void
test_parse_refuses(void **state)
{
	char too_long[100];
	const struct bad_case cases[] = {
		/* prefix out of range or not a plain number */
		{ "10.0.0.0/33", WHY_V4_PREFIX },
		{ "10.0.0.0/-1", WHY_V4_PREFIX },
		{ "10.0.0.0/+8", WHY_V4_PREFIX },
		{ "10.0.0.0/ 8", WHY_V4_PREFIX },
		{ "10.0.0.0/8 ", WHY_V4_PREFIX },
		{ "10.0.0.0/8x", WHY_V4_PREFIX },
		{ "10.0.0.0/", WHY_V4_PREFIX },
		{ "10.0.0.0/8/8", WHY_V4_PREFIX },
		{ "10.0.0.0/0x8", WHY_V4_PREFIX },
		{ "::/129", WHY_V6_PREFIX },
		{ "::/abc", WHY_V6_PREFIX },
		{ "::/", WHY_V6_PREFIX },
		/* host bits beyond the prefix: usually a typo */
		{ "10.1.2.3/8", WHY_HOST_BITS },
		{ "10.0.0.1/31", WHY_HOST_BITS },
		{ "172.16.0.0/11", WHY_HOST_BITS },
		{ "192.168.1.0/16", WHY_HOST_BITS },
		{ "1.0.0.0/0", WHY_HOST_BITS },
		{ "fc00::1/7", WHY_HOST_BITS },
		{ "fd00::/7", WHY_HOST_BITS },
		{ "::1/127", WHY_HOST_BITS },
		{ "::ffff:10.0.0.0/8", WHY_HOST_BITS },
		/* not an address */
		{ "", WHY_ADDR },
		{ "/8", WHY_ADDR },
		{ "hello", WHY_ADDR },
		{ "localhost/8", WHY_ADDR },
		{ "10.0.0", WHY_ADDR },
		{ "10.0.0.0.0/8", WHY_ADDR },
		{ "10.0.0.256/8", WHY_ADDR },
		{ " 10.0.0.0/8", WHY_ADDR },
		{ "10.0.0.0 /8", WHY_ADDR },
		{ ":::/8", WHY_ADDR },
		{ "fe80::1%eth0", WHY_ADDR },
		{ "[::1]/128", WHY_ADDR },
		{ too_long, WHY_ADDR },
	};

	(void)state;
	/* Longer than any address text: refused before the copy. */
	memset(too_long, '1', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cidr c;
		const char *why = NULL;

		if (cidr_parse(cases[i].text, &c, &why) != -1)
			fail_msg("cidr_parse(\"%s\") accepted", cases[i].text);
		if (why == NULL || strcmp(why, cases[i].why) != 0)
			fail_msg("cidr_parse(\"%s\"): why \"%s\", want \"%s\"",
			    cases[i].text, why ? why : "(null)", cases[i].why);
	}
}

static void
test_addr_parse(void **state)
{
	static const uint8_t v4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 1, 2, 3, 4 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const char *const bad[] = { "", "1.2.3", "1.2.3.4/32",
		" 1.2.3.4", "1.2.3.4 ", "256.1.1.1", "::g", "[::1]", "host",
		"1.2.3.4:80" };
	uint8_t addr[16], mapped[16];

	(void)state;
	addr_ok("1.2.3.4", addr);
	assert_memory_equal(addr, v4, 16);
	addr_ok("2001:db8::1", addr);
	assert_memory_equal(addr, v6, 16);
	/* The v6 spelling of a v4 peer gives the same bytes as the v4 one. */
	addr_ok("::ffff:1.2.3.4", mapped);
	assert_memory_equal(mapped, v4, 16);

	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (cidr_addr_parse(bad[i], addr) != -1)
			fail_msg("cidr_addr_parse(\"%s\") accepted", bad[i]);
}

/* Builds a list from texts that must parse. */
static void
list_of(struct cidr_list *list, const char *const *texts, size_t n)
{
	memset(list, 0, sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		struct cidr c = parse_ok(texts[i]);

		cidr_list_add(list, &c);
	}
}

struct match_case {
	const char *peer;
	bool want;
};

static void
check_matches(const char *range, const struct match_case *cases, size_t n)
{
	struct cidr_list list;
	const char *texts[1] = { range };

	list_of(&list, texts, 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t addr[16];

		addr_ok(cases[i].peer, addr);
		if (cidr_list_match(&list, addr) != cases[i].want)
			fail_msg("%s %s %s", cases[i].peer,
			    cases[i].want ? "should match" : "should not match",
			    range);
	}
	cidr_list_free(&list);
}

static void
test_match_v4_private(void **state)
{
	static const struct match_case ten[] = {
		{ "10.0.0.0", true },
		{ "10.1.2.3", true },
		{ "10.255.255.255", true },
		{ "::ffff:10.1.2.3", true }, /* the peer as a mapped address */
		{ "9.255.255.255", false },
		{ "11.0.0.0", false },
		{ "::10.1.2.3", false }, /* v4-compatible is not v4-mapped */
		{ "::1", false },
	};
	static const struct match_case private172[] = {
		{ "172.15.255.255", false },
		{ "172.16.0.0", true },
		{ "172.20.1.1", true },
		{ "172.31.255.255", true },
		{ "172.32.0.0", false },
	};
	static const struct match_case private192[] = {
		{ "192.167.255.255", false },
		{ "192.168.0.0", true },
		{ "192.168.255.255", true },
		{ "192.169.0.0", false },
	};
	static const struct match_case half[] = {
		{ "10.0.0.127", false },
		{ "10.0.0.128", true },
		{ "10.0.0.255", true },
		{ "10.0.1.128", false },
	};

	(void)state;
	check_matches("10.0.0.0/8", ten, ARRAY_LEN(ten));
	check_matches("::ffff:10.0.0.0/104", ten, ARRAY_LEN(ten));
	check_matches("172.16.0.0/12", private172, ARRAY_LEN(private172));
	check_matches("192.168.0.0/16", private192, ARRAY_LEN(private192));
	check_matches("10.0.0.128/25", half, ARRAY_LEN(half));
}

static void
test_match_v6(void **state)
{
	static const struct match_case loopback[] = {
		{ "::1", true },
		{ "::", false },
		{ "::2", false },
		{ "127.0.0.1", false },
		{ "1::1", false },
	};
	static const struct match_case ula[] = {
		{ "fc00::", true },
		{ "fd12:3456::1", true },
		{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
		{ "fe00::", false },
		{ "fe80::1", false },
		{ "10.0.0.1", false },
	};
	static const struct match_case v4_loopback[] = {
		{ "127.0.0.1", true },
		{ "127.255.255.255", true },
		{ "::1", false },
		{ "128.0.0.0", false },
	};

	(void)state;
	check_matches("::1", loopback, ARRAY_LEN(loopback));
	check_matches("::1/128", loopback, ARRAY_LEN(loopback));
	check_matches("fc00::/7", ula, ARRAY_LEN(ula));
	check_matches("127.0.0.0/8", v4_loopback, ARRAY_LEN(v4_loopback));
}

static void
test_match_all(void **state)
{
	static const struct match_case everything[] = {
		{ "0.0.0.0", true },
		{ "1.2.3.4", true },
		{ "255.255.255.255", true },
		{ "::", true },
		{ "::1", true },
		{ "2001:db8::1", true },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	};
	/* In the mapped space a v4 /0 is every v4 peer and no v6 one. */
	static const struct match_case all_v4[] = {
		{ "0.0.0.0", true },
		{ "1.2.3.4", true },
		{ "255.255.255.255", true },
		{ "::1", false },
		{ "2001:db8::1", false },
	};

	(void)state;
	check_matches("::/0", everything, ARRAY_LEN(everything));
	check_matches("0.0.0.0/0", all_v4, ARRAY_LEN(all_v4));
}

static void
test_match_host(void **state)
{
	static const struct match_case host[] = {
		{ "192.0.2.1", true },
		{ "192.0.2.0", false },
		{ "192.0.2.2", false },
		{ "193.0.2.1", false },
	};

	(void)state;
	check_matches("192.0.2.1", host, ARRAY_LEN(host));
	check_matches("192.0.2.1/32", host, ARRAY_LEN(host));
}

static void
test_list(void **state)
{
	static const char *const ranges[] = { "127.0.0.1", "::1",
		"10.0.0.0/8", "fc00::/7" };
	struct cidr_list list = { 0 };
	uint8_t addr[16];

	(void)state;
	/* An empty list lets nobody through. */
	addr_ok("127.0.0.1", addr);
	assert_false(cidr_list_match(&list, addr));

	list_of(&list, ranges, ARRAY_LEN(ranges));
	assert_int_equal(list.len, ARRAY_LEN(ranges));
	assert_int_equal(list.items[2].prefix, 104);

	addr_ok("127.0.0.1", addr);
	assert_true(cidr_list_match(&list, addr));
	addr_ok("::1", addr);
	assert_true(cidr_list_match(&list, addr));
	addr_ok("10.9.8.7", addr);
	assert_true(cidr_list_match(&list, addr));
	addr_ok("fd00::5", addr);
	assert_true(cidr_list_match(&list, addr));
	addr_ok("127.0.0.2", addr);
	assert_false(cidr_list_match(&list, addr));
	addr_ok("192.168.1.1", addr);
	assert_false(cidr_list_match(&list, addr));
	addr_ok("2001:db8::1", addr);
	assert_false(cidr_list_match(&list, addr));

	cidr_list_free(&list);
	assert_null(list.items);
	assert_int_equal(list.len, 0);
	/* Freeing twice, or an empty list, is harmless. */
	cidr_list_free(&list);
	assert_null(list.items);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_bare_host),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_match_v4_private),
		cmocka_unit_test(test_match_v6),
		cmocka_unit_test(test_match_all),
		cmocka_unit_test(test_match_host),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
