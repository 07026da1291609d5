/*
 * Unit tests for src/core/mxid.c: the historical user id grammar,
 * splitting, and mapping a store's id to a user id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/mxid.h"
#include "identity/identity.h"
#include "core/util.h"

/* Builds "@<n times 'a'>:<server>" in buf; returns buf. */
static char *
mxid_of_len(char *buf, size_t bufsize, size_t total, const char *server)
{
	size_t slen = strlen(server);
	size_t lplen = total - slen - 2;

	assert_true(total + 1 <= bufsize && total > slen + 2);
	buf[0] = '@';
	memset(buf + 1, 'a', lplen);
	buf[1 + lplen] = ':';
	memcpy(buf + 2 + lplen, server, slen + 1);
	assert_int_equal(strlen(buf), total);
	return buf;
}

static void
test_valid(void **state)
{
	static const char *const good[] = {
		"@a:b",
		"@alice:example.org",
		"@john.doe:example.org",
		"@alice:example.org:8448",
		"@alice:example.org:1",
		"@alice:example.org:65535",
		"@alice:localhost",
		"@alice:1.2.3.4",
		"@alice:1.2.3.4:8448",
		"@a:[::1]",
		"@a:[::1]:8448",
		"@a:[2001:db8::1]:443",
		"@a:[::ffff:1.2.3.4]",
		"@a:my-host.example.org",
		/* historical localparts: uppercase and punctuation */
		"@Alice:example.org",
		"@Alice.Smith_99:example.org",
		"@a!#$%&'()*+,-./;<=>?@[\\]^_`{|}~\":example.org",
		"@@:example.org",
		"@=40bob:example.org",
	};
	char buf[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		if (!mxid_valid(good[i]))
			fail_msg("mxid_valid(\"%s\") is false", good[i]);
	/* The spec's limit is inclusive. */
	assert_true(mxid_valid(mxid_of_len(buf, sizeof(buf), MXID_MAX_LEN,
	    "example.org")));
}

static void
test_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"@",
		"@:",
		"@a:",
		"alice:example.org",
		"#alice:example.org",
		"!alice:example.org",
		" @alice:example.org",
		"@alice",
		"@aliceexample.org",
		"@:example.org",
		"@alice:",
		/* spaces, control characters, DEL, non-ASCII in the localpart */
		"@al ice:example.org",
		"@alice :example.org",
		"@al\tice:example.org",
		"@al\nice:example.org",
		"@al\x01ice:example.org",
		"@al\x7fice:example.org",
		"@j\xc3\xb6hn:example.org",
		"@j\xffhn:example.org",
		/* bad server names */
		"@alice:exa mple.org",
		"@alice:example.org ",
		"@alice:exa_mple.org",
		"@alice:ex\xc3\xa4mple.org",
		"@alice:example.org/x",
		"@alice::1",
		"@alice:[::1",
		"@alice:[zz::1]",
		"@alice:[]",
		"@alice:[1.2.3.4]",
		"@alice:[::1]8448",
		"@alice:[::1]:",
		"@alice:[::1]:0",
		"@alice:[::1]:65536",
		"@alice:[::1]:x",
		"@alice:[fe80::1%eth0]",
		/* bad ports */
		"@alice:example.org:",
		"@alice:example.org:0",
		"@alice:example.org:65536",
		"@alice:example.org:99999999999999999999",
		"@alice:example.org:abc",
		"@alice:example.org:-1",
		"@alice:example.org:+80",
		"@alice:example.org: 80",
		"@alice:example.org:80 ",
		"@alice:example.org:8448:1",
		"@alice:b:c",
	};
	char buf[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (mxid_valid(bad[i]))
			fail_msg("mxid_valid(\"%s\") is true", bad[i]);
	assert_false(mxid_valid(mxid_of_len(buf, sizeof(buf),
	    MXID_MAX_LEN + 1, "example.org")));
	assert_false(mxid_valid(mxid_of_len(buf, sizeof(buf), 290,
	    "example.org")));
}

static void
test_server_name(void **state)
{
	static const char *const good[] = { "example.org", "localhost",
		"a", "1.2.3.4", "example.org:8448", "[::1]", "[::1]:1",
		"[2001:db8::]:65535", "xn--bcher-kva.example" };
	static const char *const bad[] = { "", ":8448", "example.org:",
		"example.org:0", "exa mple.org", "example.org.:x", "[::1",
		"::1", "[", "]", "[]:80", "[::1]]", "[::1]:80:80", "ex@mple.org",
		"example.org:65536" };
	char name[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		if (!mxid_server_name_valid(good[i]))
			fail_msg("server name \"%s\" refused", good[i]);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (mxid_server_name_valid(bad[i]))
			fail_msg("server name \"%s\" accepted", bad[i]);

	/* DNS caps a whole host name at 253 bytes. */
	memset(name, 'a', 253);
	name[253] = '\0';
	assert_true(mxid_server_name_valid(name));
	strcpy(name + 253, ":8448");
	assert_true(mxid_server_name_valid(name));
	memset(name, 'a', 254);
	name[254] = '\0';
	assert_false(mxid_server_name_valid(name));

	/* A bracketed literal longer than any IPv6 address text. */
	name[0] = '[';
	memset(name + 1, '1', 100);
	strcpy(name + 101, "]:8448");
	assert_false(mxid_server_name_valid(name));
}

static void
test_localpart_valid(void **state)
{
	(void)state;
	assert_true(mxid_localpart_valid("alice", 5));
	assert_true(mxid_localpart_valid("Alice.Smith", 11));
	assert_false(mxid_localpart_valid("alice", 0));
	assert_false(mxid_localpart_valid("a:b", 3));
	/* Only len bytes are looked at. */
	assert_true(mxid_localpart_valid("a:b", 1));
	assert_false(mxid_localpart_valid("a b", 3));
	assert_false(mxid_localpart_valid("\xc3\xb6", 2));
}

static void
test_split(void **state)
{
	static const struct {
		const char *mxid, *localpart, *domain;
	} cases[] = {
		{ "@alice:example.org", "alice", "example.org" },
		{ "@john.doe:example.org:8448", "john.doe", "example.org:8448" },
		{ "@a:[::1]:8448", "a", "[::1]:8448" },
		{ "@Alice:1.2.3.4", "Alice", "1.2.3.4" },
	};
	static const char *const bad[] = { "alice:example.org", "@alice",
		"@:example.org", "@alice:", "@al ice:example.org",
		"@alice:example.org:0" };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *lp = NULL, *dom = NULL;

		assert_int_equal(mxid_split(cases[i].mxid, &lp, &dom), 0);
		assert_string_equal(lp, cases[i].localpart);
		assert_string_equal(dom, cases[i].domain);
		free(lp);
		free(dom);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		char *lp = NULL, *dom = NULL;

		if (mxid_split(bad[i], &lp, &dom) != -1)
			fail_msg("mxid_split(\"%s\") succeeded", bad[i]);
		/* Nothing allocated, nothing handed back. */
		assert_null(lp);
		assert_null(dom);
	}
}

static void
check_from_id(enum backend_id_type type, const char *value,
    const char *domain, const char *want)
{
	struct backend_id id = { .type = type, .value = value };
	char *got = identity_map_id(&id, domain);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s \"%s\" on %s gave \"%s\", want NULL",
			    type == BACKEND_ID_MXID ? "mxid" : "localpart",
			    value, domain, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s \"%s\" on %s gave NULL, want \"%s\"",
		    type == BACKEND_ID_MXID ? "mxid" : "localpart", value,
		    domain, want);
	assert_string_equal(got, want);
	/* Always a new string, never the caller's. */
	assert_ptr_not_equal(got, value);
	free(got);
}

static void
test_from_id_localpart(void **state)
{
	(void)state;
	check_from_id(BACKEND_ID_LOCALPART, "alice", "example.org",
	    "@alice:example.org");
	check_from_id(BACKEND_ID_LOCALPART, "Alice.Smith", "example.org",
	    "@Alice.Smith:example.org");
	check_from_id(BACKEND_ID_LOCALPART, "alice", "example.org:8448",
	    "@alice:example.org:8448");
	check_from_id(BACKEND_ID_LOCALPART, "alice", "[::1]:8448",
	    "@alice:[::1]:8448");

	check_from_id(BACKEND_ID_LOCALPART, "", "example.org", NULL);
	check_from_id(BACKEND_ID_LOCALPART, "al ice", "example.org", NULL);
	check_from_id(BACKEND_ID_LOCALPART, "j\xc3\xb6hn", "example.org",
	    NULL);
	check_from_id(BACKEND_ID_LOCALPART, "alice", "", NULL);
	/* A localpart carrying a server of its own is refused, whatever
	 * the domain: the store must not pick the user's server. */
	check_from_id(BACKEND_ID_LOCALPART, "a:b", "example.org", NULL);
	check_from_id(BACKEND_ID_LOCALPART, "alice:evil.org", "example.org",
	    NULL);
	check_from_id(BACKEND_ID_LOCALPART, "alice:", "example.org", NULL);
	check_from_id(BACKEND_ID_LOCALPART, "alice:evil.org", "8448", NULL);
	/* A localpart that is already a whole user id is not one. */
	check_from_id(BACKEND_ID_LOCALPART, "@alice:example.org",
	    "example.org", NULL);
}

static void
test_from_id_length(void **state)
{
	char lp[300];
	size_t fixed = strlen("@:example.org");

	(void)state;
	memset(lp, 'a', sizeof(lp));
	lp[MXID_MAX_LEN - fixed] = '\0';
	{
		struct backend_id id = { BACKEND_ID_LOCALPART, lp };
		char *got = identity_map_id(&id, "example.org");

		assert_non_null(got);
		assert_int_equal(strlen(got), MXID_MAX_LEN);
		free(got);
	}
	lp[MXID_MAX_LEN - fixed] = 'a';
	lp[MXID_MAX_LEN - fixed + 1] = '\0';
	check_from_id(BACKEND_ID_LOCALPART, lp, "example.org", NULL);
	lp[sizeof(lp) - 1] = '\0';
	check_from_id(BACKEND_ID_LOCALPART, lp, "example.org", NULL);
}

static void
test_from_id_mxid(void **state)
{
	char long_id[300];

	(void)state;
	/* The domain plays no part: the store named the user fully. */
	check_from_id(BACKEND_ID_MXID, "@bob:other.org", "example.org",
	    "@bob:other.org");
	check_from_id(BACKEND_ID_MXID, "@Bob:[::1]:8448", "example.org",
	    "@Bob:[::1]:8448");

	check_from_id(BACKEND_ID_MXID, "bob", "example.org", NULL);
	check_from_id(BACKEND_ID_MXID, "@bob", "example.org", NULL);
	check_from_id(BACKEND_ID_MXID, "@bob:", "example.org", NULL);
	check_from_id(BACKEND_ID_MXID, "bob:example.org", "example.org",
	    NULL);
	check_from_id(BACKEND_ID_MXID, "@b ob:example.org", "example.org",
	    NULL);
	check_from_id(BACKEND_ID_MXID, "@bob:example.org:0", "example.org",
	    NULL);
	check_from_id(BACKEND_ID_MXID, "", "example.org", NULL);
	check_from_id(BACKEND_ID_MXID,
	    mxid_of_len(long_id, sizeof(long_id), MXID_MAX_LEN + 1,
		"example.org"),
	    "example.org", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_server_name),
		cmocka_unit_test(test_localpart_valid),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_from_id_localpart),
		cmocka_unit_test(test_from_id_length),
		cmocka_unit_test(test_from_id_mxid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
