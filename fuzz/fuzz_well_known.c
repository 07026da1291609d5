/*
 * A homeserver's /.well-known/matrix/server answer
 * (openid_parse_well_known in src/identity/openid.c), which steers where
 * Signpost sends the user's OpenID token: the delegated name must be a
 * valid server name, and where a call to it goes (openid_direct_dest) a
 * host and port taken from that name.
 */
#include "fuzz.h"

#include "core/mxid.h"
#include "identity/openid.h"
#include "openid_checks.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct openid_dest dest;
	char *name;

	fuzz_setup();
	name = openid_parse_well_known((const char *)data, size);
	if (name == NULL)
		return 0;
	FUZZ_CHECK(mxid_server_name_valid(name));
	check_dest(name, &dest);
	free(name);
	return 0;
}
