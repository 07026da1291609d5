/*
 * The webapp's answer to a single lookup (rest_parse_lookup_answer in
 * src/backend/rest_lookup.c): a match with a valid id, no match, or a
 * refusal with a reason and nothing to free. Never a match without an id,
 * and never "no match" for a body that is not JSON.
 */
#include "rest_checks.h"

#include "backend/rest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backend_id id = { 0 };
	const char *why = NULL;
	json_t *root = NULL, *probe;
	int rc;

	fuzz_setup();
	rc = rest_parse_lookup_answer((const char *)data, size, &root, &id,
	    &why);
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc < 0) {
		FUZZ_CHECK(root == NULL && why != NULL && why[0] != '\0');
		return 0;
	}
	/* Only a JSON object can be an answer, even a "no". */
	probe = json_parse((const char *)data, size, &why);
	FUZZ_CHECK(probe != NULL && json_is_object(probe));
	json_decref(probe);
	FUZZ_CHECK(root != NULL);
	if (rc == 1)
		check_id(&id);
	json_decref(root);
	return 0;
}
