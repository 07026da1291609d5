/* Homeserver discovery for OpenID registration: direct names, where each
 * call connects (CONNECT_TO lines, federation.connectTo) and .well-known
 * answers. SRV answers are in test_srv.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/util.h"
#include "identity/openid.h"

static void
check_dest(const char *name, const char *authority, const char *host,
    int port)
{
	struct openid_dest d;

	if (authority == NULL) {
		if (openid_direct_dest(name, &d) == 0)
			fail_msg("%s gave %s, want .well-known", name,
			    d.authority);
		return;
	}
	if (openid_direct_dest(name, &d) != 0)
		fail_msg("%s gave -1, want %s", name, authority);
	assert_string_equal(d.authority, authority);
	assert_string_equal(d.host, host);
	assert_int_equal(d.port, port);
}

static void
test_direct_dest(void **state)
{
	(void)state;
	/* An explicit port or an IP literal skips .well-known; the URL (so
	 * the Host header) keeps the name as written. */
	check_dest("example.org:8449", "example.org:8449", "example.org", 8449);
	check_dest("1.2.3.4", "1.2.3.4", "1.2.3.4", 8448);
	check_dest("1.2.3.4:80", "1.2.3.4:80", "1.2.3.4", 80);
	check_dest("[::1]", "[::1]", "[::1]", 8448);
	check_dest("[2001:db8::1]:8000", "[2001:db8::1]:8000", "[2001:db8::1]",
	    8000);
	/* A bare hostname asks .well-known first. */
	check_dest("example.org", NULL, NULL, 0);
	check_dest("matrix.example.org", NULL, NULL, 0);
	/* Looks numeric but is not an address: still a hostname. */
	check_dest("1.2.3", NULL, NULL, 0);
	check_dest("not a name", NULL, NULL, 0);
}

static void
check_line(const struct openid_config *config, const char *authority,
    const char *host, int port, const char *want)
{
	struct openid_dest d;
	char *got;

	snprintf(d.authority, sizeof(d.authority), "%s", authority);
	snprintf(d.host, sizeof(d.host), "%s", host);
	d.port = port;
	openid_map_dest(config, &d);
	got = openid_connect_line(&d);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s at %s:%d gave %s, want NULL", authority,
			    host, port, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s at %s:%d gave NULL, want %s", authority, host,
		    port, want);
	assert_string_equal(got, want);
	free(got);
}

static void
test_connect_line(void **state)
{
	char *const map[] = {
		"bad:443",
		"hs.test:443:127.0.0.1:8443",
		"LOCAL.test:8448:[::1]:9000",
		"hs.test:443:ignored.test:1",
	};
	const struct openid_config config = { .connect_to = map,
		.nconnect_to = ARRAY_LEN(map) };

	(void)state;
	/* Where the URL points: nothing to redirect. */
	check_line(NULL, "example.org:8449", "example.org", 8449, NULL);
	check_line(NULL, "example.org", "EXAMPLE.org", 443, NULL);
	/* Port 8448 behind a URL without a port (Host: the bare name). */
	check_line(NULL, "example.org", "example.org", 8448,
	    "example.org:443:example.org:8448");
	check_line(NULL, "1.2.3.4", "1.2.3.4", 8448,
	    "1.2.3.4:443:1.2.3.4:8448");
	check_line(NULL, "[::1]", "[::1]", 8448, "[::1]:443:[::1]:8448");
	/* An SRV target. */
	check_line(NULL, "example.org", "matrix.example.net", 8008,
	    "example.org:443:matrix.example.net:8008");

	/* connectTo applies to where the call would connect; the first
	 * matching entry wins and a bad one is skipped. */
	check_line(&config, "hs.test", "hs.test", 443,
	    "hs.test:443:127.0.0.1:8443");
	check_line(&config, "other.test", "local.test", 8448,
	    "other.test:443:[::1]:9000");
	check_line(&config, "hs.test", "hs.test", 8448,
	    "hs.test:443:hs.test:8448");
	check_line(&config, "bad", "bad", 443, NULL);
}

static void
check_well_known(const char *body, const char *want)
{
	char *got = openid_parse_well_known(body, strlen(body));

	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s gave %s, want NULL", body, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s gave NULL, want %s", body, want);
	assert_string_equal(got, want);
	free(got);
}

static void
test_well_known(void **state)
{
	(void)state;
	check_well_known("{\"m.server\":\"matrix.example.org:443\"}",
	    "matrix.example.org:443");
	check_well_known("{\"m.server\":\"hs.example.org\"}", "hs.example.org");
	check_well_known("{\"m.server\":\"[::1]:8448\"}", "[::1]:8448");
	check_well_known("{}", NULL);
	check_well_known("", NULL);
	check_well_known("<html>", NULL);
	check_well_known("[\"m.server\"]", NULL);
	check_well_known("{\"m.server\":42}", NULL);
	check_well_known("{\"m.server\":\"\"}", NULL);
	check_well_known("{\"m.server\":\"https://hs.example.org\"}", NULL);
	check_well_known("{\"m.server\":\"hs.example.org/path\"}", NULL);
	check_well_known("{\"m.server\":\"hs.example.org:99999\"}", NULL);
	check_well_known("{\"m.server\":\"a\",\"m.server\":\"b\"}", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_dest),
		cmocka_unit_test(test_connect_line),
		cmocka_unit_test(test_well_known),
	};

	json_setup();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
