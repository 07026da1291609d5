/*
 * The body of POST /_matrix/identity/v2/account/register (api_parse_object
 * and api_parse_register in src/api/): refused with a 400 a client can
 * read, or an OpenID token of 1 to 1024 bytes and a valid server name that
 * the homeserver discovery can start from.
 */
#include "api_checks.h"

#include "core/mxid.h"
#include "openid_checks.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *token = NULL, *server = NULL;
	struct api_error err;
	json_t *body;
	struct openid_dest dest;

	fuzz_setup();
	body = api_parse_object((const char *)data, size, &err);
	if (body == NULL) {
		check_refusal(&err);
		return 0;
	}
	if (api_parse_register(body, &token, &server, &err) != 0) {
		check_refusal(&err);
		json_decref(body);
		return 0;
	}
	check_text(token);
	FUZZ_CHECK(token[0] != '\0' && strlen(token) <= 1024);
	FUZZ_CHECK(mxid_server_name_valid(server));
	check_dest(server, &dest);
	json_decref(body);
	return 0;
}
