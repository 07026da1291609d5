/*
 * Canonical JSON (src/crypto/canonical.c) on anything json_parse()
 * (src/core/json.c) accepts, which is how outside JSON reaches it:
 *
 * - strings and keys hold no NUL byte (json_parse refuses \u0000);
 * - the encoder refuses a value exactly when it holds a real, an integer
 *   beyond +-(2^53 - 1) or containers nested too deep, and otherwise
 *   writes valid UTF-8 with no NUL byte;
 * - its output parses back to an equal value, and encoding that again
 *   gives the same bytes (canonical(parse(canonical(x))) == canonical(x));
 * - an object signed with sig_sign_json() verifies, and stops verifying
 *   when a member changes.
 */
#include "fuzz.h"

#include "crypto/canonical.h"
#include "crypto/sign.h"

/* Whether canon_encode must refuse v (see crypto/canonical.h). depth
 * counts the containers around v. */
static bool
must_refuse(const json_t *v, unsigned depth)
{
	const char *key;
	json_t *m;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_REAL:
		return true;
	case JSON_INTEGER:
		return json_integer_value(v) > CANON_INT_MAX ||
		    json_integer_value(v) < -CANON_INT_MAX;
	case JSON_STRING:
		/* json_parse() refuses \u0000: C strings see all of it. */
		FUZZ_CHECK(strlen(json_string_value(v)) ==
		    json_string_length(v));
		return false;
	case JSON_OBJECT:
		if (depth >= CANON_MAX_DEPTH)
			return true;
		json_object_foreach((json_t *)v, key, m) {
			FUZZ_CHECK(strlen(key) == json_object_iter_key_len(
			    json_object_key_to_iter(key)));
			if (must_refuse(m, depth + 1))
				return true;
		}
		return false;
	case JSON_ARRAY:
		if (depth >= CANON_MAX_DEPTH)
			return true;
		json_array_foreach(v, i, m)
			if (must_refuse(m, depth + 1))
				return true;
		return false;
	default:
		return false;
	}
}

static struct sig_key *
fuzz_key(void)
{
	static struct sig_key *key;
	unsigned char seed[SIG_SEED_LEN];

	if (key == NULL) {
		memset(seed, 0x5a, sizeof(seed));
		key = sig_key_from_seed(seed, "ed25519:fuzz");
		FUZZ_CHECK(key != NULL);
	}
	return key;
}

static void
check_signing(json_t *obj)
{
	struct sig_key *key = fuzz_key();
	const json_t *sigs = json_object_get(obj, "signatures");
	bool can_sign = (sigs == NULL || json_is_object(sigs)) &&
	    (json_object_get(sigs, "fuzz.example") == NULL ||
	    json_is_object(json_object_get(sigs, "fuzz.example")));
	json_t *copy = json_deep_copy(obj);

	if (sig_sign_json(key, "fuzz.example", obj) != 0) {
		/* Refused: the object must be as it was. */
		FUZZ_CHECK(!can_sign);
		FUZZ_CHECK(json_equal(obj, copy));
		json_decref(copy);
		return;
	}
	FUZZ_CHECK(can_sign);
	FUZZ_CHECK(sig_verify_json(sig_public_key(key), "fuzz.example",
	    "ed25519:fuzz", obj));
	/* "unsigned" is left out of what is signed; anything else counts. */
	json_object_set_new(obj, "unsigned", json_string("changed"));
	FUZZ_CHECK(sig_verify_json(sig_public_key(key), "fuzz.example",
	    "ed25519:fuzz", obj));
	if (json_object_get(obj, "fuzz-changed") != NULL)
		json_object_del(obj, "fuzz-changed");
	else
		json_object_set_new(obj, "fuzz-changed", json_true());
	FUZZ_CHECK(!sig_verify_json(sig_public_key(key), "fuzz.example",
	    "ed25519:fuzz", obj));
	json_decref(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	char *out = NULL, *again = NULL;
	size_t len, len2;
	json_t *v, *back;

	fuzz_setup();
	v = json_parse((const char *)data, size, &why);
	if (v == NULL) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return 0;
	}
	if (canon_encode(v, &out, &len) != 0) {
		FUZZ_CHECK(must_refuse(v, 0));
		FUZZ_CHECK(out == NULL && len == 0);
		json_decref(v);
		return 0;
	}
	FUZZ_CHECK(!must_refuse(v, 0));
	FUZZ_CHECK(out != NULL && strlen(out) == len);
	FUZZ_CHECK(fuzz_utf8_valid(out, len));
	/* No whitespace outside strings means none at the ends. */
	FUZZ_CHECK(len > 0 && out[0] != ' ' && out[len - 1] != ' ' &&
	    out[len - 1] != '\n');

	back = json_parse(out, len, &why);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(json_equal(v, back));
	FUZZ_CHECK(canon_encode(back, &again, &len2) == 0);
	FUZZ_CHECK(len2 == len && memcmp(out, again, len) == 0);

	if (json_is_object(v))
		check_signing(v);

	free(out);
	free(again);
	json_decref(back);
	json_decref(v);
	return 0;
}
