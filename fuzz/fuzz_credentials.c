/*
 * The body of POST /_matrix-internal/identity/v1/check_credentials, as
 * Synapse's REST password provider sends it (api_parse_credentials in
 * src/api/credentials.c): refused with a 400 a client can read, or a
 * valid user id and a password string, ready for the webapp.
 */
#include "api_checks.h"

#include "core/mxid.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *id = NULL, *password = NULL;
	struct api_error err;
	json_t *body, *call;
	char *local, *domain;

	fuzz_setup();
	body = api_parse_credentials((const char *)data, size, &id, &password,
	    &err);
	if (body == NULL) {
		check_refusal(&err);
		return 0;
	}
	FUZZ_CHECK(json_is_object(body));
	FUZZ_CHECK(mxid_valid(id));
	check_text(password);
	/* What the identity layer and the REST backend do next with it. */
	FUZZ_CHECK(mxid_split(id, &local, &domain) == 0);
	call = json_pack("{s:{s:s,s:s,s:s,s:s}}", "auth", "mxid", id,
	    "localpart", local, "domain", domain, "password", password);
	FUZZ_CHECK(call != NULL);
	json_decref(call);
	free(local);
	free(domain);
	json_decref(body);
	return 0;
}
