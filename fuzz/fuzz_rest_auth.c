/*
 * The webapp's answer to an auth call (rest_parse_auth_answer in
 * src/backend/rest.c). An answer is either refused with a reason and
 * nothing left to free, or read into a well-formed struct: on success an
 * id that is a valid localpart or user id (and maps to a valid user id on
 * the Matrix domain), at most REST_MAX_PROFILE_THREEPIDS (1000) 3PIDs with
 * medium and address strings, and NUL-free, valid UTF-8 strings throughout.
 */
#include "rest_checks.h"

#include "backend/rest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rest_auth_answer a;
	const char *why = NULL;

	fuzz_setup();
	if (rest_parse_auth_answer((const char *)data, size, &a, &why) != 0) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(a.root == NULL && a.threepids == NULL &&
		    a.nthreepids == 0 && !a.success);
		return 0;
	}
	FUZZ_CHECK(a.root != NULL);
	if (!a.success) {
		FUZZ_CHECK(a.nthreepids == 0 && a.display_name == NULL);
	} else {
		check_id(&a.id);
		if (a.display_name != NULL)
			check_string(a.display_name);
		FUZZ_CHECK(a.nthreepids <= 1000);
		for (size_t i = 0; i < a.nthreepids; i++) {
			check_string(a.threepids[i].medium);
			check_string(a.threepids[i].address);
		}
	}
	rest_auth_answer_clear(&a);
	return 0;
}
