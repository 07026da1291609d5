/*
 * The body of POST /_matrix/identity/api/v1/bulk_lookup
 * (api_parse_object and api_parse_bulk_request in src/api/): refused with
 * a 400 a client can read, or at most lookup.maxBulkSize (here 64)
 * [medium, address] string pairs, which the answer can echo back.
 */
#include "api_checks.h"

#define FUZZ_MAX_BULK 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backend_threepid *q = NULL;
	struct api_error err;
	size_t n = 0;
	json_t *body, *echo;

	fuzz_setup();
	body = api_parse_object((const char *)data, size, &err);
	if (body == NULL) {
		check_refusal(&err);
		return 0;
	}
	if (api_parse_bulk_request(body, FUZZ_MAX_BULK, &q, &n, &err) != 0) {
		check_refusal(&err);
		json_decref(body);
		return 0;
	}
	FUZZ_CHECK(q != NULL && n <= FUZZ_MAX_BULK);
	FUZZ_CHECK(n == json_array_size(json_object_get(body, "threepids")));
	for (size_t i = 0; i < n; i++) {
		check_text(q[i].medium);
		check_text(q[i].address);
		echo = json_pack("[s,s,s]", q[i].medium, q[i].address,
		    "@alice:example.org");
		FUZZ_CHECK(echo != NULL);
		json_decref(echo);
	}
	free(q);
	json_decref(body);
	return 0;
}
