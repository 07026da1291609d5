/* host[:port] parsing shared by config checks and discovery, and
 * CONNECT_TO-style mappings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/hostport.h"

static void
check(const char *s, const char *host, int port, bool ip)
{
	struct hostport hp;

	if (host == NULL) {
		if (hostport_parse(s, &hp) == 0)
			fail_msg("%s parsed, want -1", s);
		return;
	}
	if (hostport_parse(s, &hp) != 0)
		fail_msg("%s gave -1", s);
	assert_string_equal(hp.host, host);
	assert_int_equal(hp.port, port);
	assert_int_equal(hp.ip, ip);
}

static void
test_parse(void **state)
{
	(void)state;
	check("example.org", "example.org", -1, false);
	check("example.org:8448", "example.org", 8448, false);
	check("1.2.3.4", "1.2.3.4", -1, true);
	check("1.2.3.4:53", "1.2.3.4", 53, true);
	check("[::1]", "[::1]", -1, true);
	check("[2001:db8::1]:5353", "[2001:db8::1]", 5353, true);
	check("1.2.3", "1.2.3", -1, false);
	check("", NULL, 0, false);
	check("example.org:", NULL, 0, false);
	check("example.org:0", NULL, 0, false);
	check("example.org:65536", NULL, 0, false);
	check("::1", NULL, 0, false);
	check("[::1", NULL, 0, false);
	check("[nope]:1", NULL, 0, false);
	check("a b", NULL, 0, false);
	check("a/b:1", NULL, 0, false);
}

static void
check_map(const char *s, const char *fh, int fp, const char *th, int tp)
{
	struct hostport from, to;

	if (fh == NULL) {
		if (hostport_parse_mapping(s, &from, &to) == 0)
			fail_msg("%s parsed, want -1", s);
		return;
	}
	if (hostport_parse_mapping(s, &from, &to) != 0)
		fail_msg("%s gave -1", s);
	assert_string_equal(from.host, fh);
	assert_int_equal(from.port, fp);
	assert_string_equal(to.host, th);
	assert_int_equal(to.port, tp);
}

static void
test_mapping(void **state)
{
	(void)state;
	check_map("hs.test:443:127.0.0.1:8443", "hs.test", 443, "127.0.0.1",
	    8443);
	check_map("[::1]:443:[2001:db8::2]:8448", "[::1]", 443,
	    "[2001:db8::2]", 8448);
	check_map("hs.example.org:8448:hs-internal:8448", "hs.example.org",
	    8448, "hs-internal", 8448);
	/* Both ports are required; no empty parts. */
	check_map("hs.test:443:127.0.0.1", NULL, 0, NULL, 0);
	check_map("hs.test:443", NULL, 0, NULL, 0);
	check_map("hs.test::127.0.0.1:1", NULL, 0, NULL, 0);
	check_map(":443:127.0.0.1:1", NULL, 0, NULL, 0);
	check_map("hs.test:443:127.0.0.1:1:2", NULL, 0, NULL, 0);
	check_map("[::1:443:[::2]:1", NULL, 0, NULL, 0);
	check_map("", NULL, 0, NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
