/* Homeserver discovery for OpenID registration: direct names and
 * .well-known answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "identity/openid.h"

static void
check_base(const char *name, const char *want)
{
	char *got = openid_direct_base(name);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s gave %s, want .well-known", name, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s gave NULL, want %s", name, want);
	assert_string_equal(got, want);
	free(got);
}

static void
test_direct_base(void **state)
{
	(void)state;
	/* An explicit port or an IP literal skips .well-known. */
	check_base("example.org:8449", "https://example.org:8449");
	check_base("1.2.3.4", "https://1.2.3.4:8448");
	check_base("1.2.3.4:80", "https://1.2.3.4:80");
	check_base("[::1]", "https://[::1]:8448");
	check_base("[2001:db8::1]:8000", "https://[2001:db8::1]:8000");
	/* A bare hostname asks .well-known first. */
	check_base("example.org", NULL);
	check_base("matrix.example.org", NULL);
	/* Looks numeric but is not an address: still a hostname. */
	check_base("1.2.3", NULL);
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
		cmocka_unit_test(test_direct_base),
		cmocka_unit_test(test_well_known),
	};

	json_setup();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
