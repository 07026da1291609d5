/*
 * The body of POST /_matrix/identity/v2/lookup (api_parse_object,
 * api_parse_v2_lookup and, for the "none" algorithm, api_split_none in
 * src/api/): refused with a 400 a client can read, or an algorithm, a
 * pepper and at most lookup.maxBulkSize (here 64) address strings. A
 * "none" address splits at its last space into a non-empty address and a
 * non-empty medium without spaces, which put back together give the
 * string the client sent (the key of its answer).
 */
#include "api_checks.h"

#define FUZZ_MAX_BULK 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *algorithm = NULL, *pepper = NULL;
	const json_t *addresses = NULL, *a;
	struct api_error err;
	json_t *body;
	size_t i;

	fuzz_setup();
	body = api_parse_object((const char *)data, size, &err);
	if (body == NULL) {
		check_refusal(&err);
		return 0;
	}
	if (api_parse_v2_lookup(body, FUZZ_MAX_BULK, &algorithm, &pepper,
		&addresses, &err) != 0) {
		check_refusal(&err);
		json_decref(body);
		return 0;
	}
	check_text(algorithm);
	check_text(pepper);
	FUZZ_CHECK(json_is_array(addresses) &&
	    json_array_size(addresses) <= FUZZ_MAX_BULK);
	json_array_foreach(addresses, i, a) {
		const char *s = json_string_value(a);
		struct backend_threepid tp = { 0 };
		char *copy = NULL, *joined;

		FUZZ_CHECK(s != NULL);
		if (api_split_none(s, &copy, &tp) == 0) {
			FUZZ_CHECK(tp.address[0] != '\0' && tp.medium[0] != '\0');
			FUZZ_CHECK(strchr(tp.medium, ' ') == NULL);
			joined = xasprintf("%s %s", tp.address, tp.medium);
			FUZZ_CHECK(strcmp(joined, s) == 0);
			free(joined);
		}
		free(copy);
	}
	json_decref(body);
	return 0;
}
