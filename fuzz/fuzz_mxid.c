/*
 * Matrix user ids and server names (src/core/mxid.c), which gate every
 * user id from a request or a webapp and every homeserver Signpost calls.
 *
 * - mxid_valid() and mxid_split() agree, and the parts put back together
 *   give the id; each part passes its own validator;
 * - a valid server name is short, made of the characters a host, an IP
 *   literal and a port use; hostport_parse() (src/core/hostport.c) reads
 *   exactly the valid ones, and the host and port it reads are where a
 *   homeserver call goes when the name has an IP literal or a port
 *   (openid_direct_dest).
 */
#include "fuzz.h"

#include "core/mxid.h"
#include "core/hostport.h"
#include "openid_checks.h"

static void
check_server_name(const char *s)
{
	struct openid_dest dest;
	struct hostport hp;

	/* 253 for a host name, or 2 + 63 for "[v6]", plus ":65535". */
	FUZZ_CHECK(strlen(s) <= 253 + 6);
	FUZZ_CHECK(s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-.:[]%")] == '\0');
	FUZZ_CHECK(hostport_parse(s, &hp) == 0);
	FUZZ_CHECK(hp.port == -1 || (hp.port >= 1 && hp.port <= 65535));
	FUZZ_CHECK(strncmp(s, hp.host, strlen(hp.host)) == 0);
	check_dest(s, &dest);
	if (hp.ip || hp.port != -1)
		FUZZ_CHECK(strcmp(dest.host, hp.host) == 0 &&
		    dest.port == (hp.port == -1 ? 8448 : hp.port));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *local = NULL, *domain = NULL;
	bool valid;

	fuzz_setup();
	valid = mxid_valid(s);
	FUZZ_CHECK((mxid_split(s, &local, &domain) == 0) == valid);
	if (valid) {
		char *joined = xasprintf("@%s:%s", local, domain);

		FUZZ_CHECK(strcmp(joined, s) == 0);
		FUZZ_CHECK(strlen(s) <= MXID_MAX_LEN);
		FUZZ_CHECK(mxid_localpart_valid(local, strlen(local)));
		FUZZ_CHECK(mxid_server_name_valid(domain));
		free(joined);
	} else {
		FUZZ_CHECK(local == NULL && domain == NULL);
	}
	if (mxid_server_name_valid(s)) {
		check_server_name(s);
	} else {
		struct hostport hp;

		FUZZ_CHECK(hostport_parse(s, &hp) != 0);
	}
	if (mxid_localpart_valid(s, strlen(s)))
		FUZZ_CHECK(strchr(s, ':') == NULL && strchr(s, ' ') == NULL);
	free(local);
	free(domain);
	free(s);
	return 0;
}
