/*
 * The webapp's answer to a bulk lookup (rest_parse_bulk_answer in
 * src/backend/rest_lookup.c), paired with the queries that were asked:
 * a few fixed ones (with a duplicate) plus the first entries the answer
 * itself names, so that its hash index sees hits, misses and duplicates.
 *
 * The matches must be exactly what a brute-force pairing gives: for each
 * answer entry in order, every query with the same medium and address
 * byte for byte, in query order; each with a valid id.
 */
#include "rest_checks.h"

#include "backend/rest.h"

/* Queries taken from the answer itself; bounds the brute force too. */
#define FUZZ_BULK_FROM_ANSWER 16

static const struct backend_threepid fixed[] = {
	{ "email", "alice@example.org" },
	{ "msisdn", "15555550100" },
	{ "email", "alice@example.org" },
	{ "email", "" },
	{ "", "alice@example.org" },
};

/* Adds the medium/address pairs of the answer's first entries to q. */
static size_t
queries_from(const json_t *root, struct backend_threepid *q, size_t n)
{
	const json_t *list = json_object_get(root, "lookup"), *e;
	size_t i;

	json_array_foreach(list, i, e) {
		const char *m = json_string_value(json_object_get(e, "medium"));
		const char *a = json_string_value(json_object_get(e, "address"));

		if (i >= FUZZ_BULK_FROM_ANSWER)
			break;
		if (m != NULL && a != NULL)
			q[n++] = (struct backend_threepid){ m, a };
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backend_threepid q[ARRAY_LEN(fixed) + FUZZ_BULK_FROM_ANSWER];
	struct backend_match *matches = NULL;
	const char *why = NULL;
	json_t *probe, *root = NULL;
	const json_t *list, *e;
	size_t n = ARRAY_LEN(fixed), nmatches = 0, k = 0, i;

	fuzz_setup();
	memcpy(q, fixed, sizeof(fixed));
	probe = json_parse((const char *)data, size, &why);
	n = queries_from(probe, q, n);

	if (rest_parse_bulk_answer((const char *)data, size, q, n, &root,
		&matches, &nmatches, &why) != 0) {
		FUZZ_CHECK(root == NULL && why != NULL && why[0] != '\0');
		json_decref(probe);
		return 0;
	}
	FUZZ_CHECK(probe != NULL && json_is_object(probe));
	list = json_object_get(probe, "lookup");
	json_array_foreach(list, i, e) {
		const char *m = json_string_value(json_object_get(e, "medium"));
		const char *a = json_string_value(json_object_get(e, "address"));

		FUZZ_CHECK(m != NULL && a != NULL);
		for (size_t j = 0; j < n; j++) {
			if (strcmp(q[j].medium, m) != 0 ||
			    strcmp(q[j].address, a) != 0)
				continue;
			FUZZ_CHECK(k < nmatches && matches[k].index == j);
			check_id(&matches[k].id);
			FUZZ_CHECK(strcmp(matches[k].id.value,
			    json_string_value(json_object_get(json_object_get(e,
			    "id"), "value"))) == 0);
			k++;
		}
	}
	FUZZ_CHECK(k == nmatches);
	free(matches);
	json_decref(root);
	json_decref(probe);
	return 0;
}
