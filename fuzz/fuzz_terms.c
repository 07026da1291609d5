/*
 * The body of POST /_matrix/identity/v2/terms (api_parse_object and
 * api_parse_terms_accept in src/api/), against two configured policies:
 * refused with a 400 a client can read, or only urls of those policies,
 * each once, however many the client repeats.
 */
#include "api_checks.h"

static struct cfg_policy_terms privacy[] = {
	{ "en", "Privacy Policy", "https://example.org/privacy-en.html" },
	{ "fr", "Politique", "https://example.org/privacy-fr.html" },
};
static struct cfg_policy_terms tos[] = {
	{ "en", "Terms", "https://example.org/terms.html" },
};
static const struct cfg_policy policies[] = {
	{ "privacy_policy", "1.0", privacy, ARRAY_LEN(privacy) },
	{ "terms_of_service", "2.0", tos, ARRAY_LEN(tos) },
};

static bool
known(const char *url)
{
	for (size_t i = 0; i < ARRAY_LEN(policies); i++)
		for (size_t j = 0; j < policies[i].nterms; j++)
			if (strcmp(policies[i].terms[j].url, url) == 0)
				return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api api = { .policies = policies,
	    .npolicies = ARRAY_LEN(policies) };
	const char **urls = NULL;
	struct api_error err;
	size_t n = 0;
	json_t *body;

	fuzz_setup();
	body = api_parse_object((const char *)data, size, &err);
	if (body == NULL) {
		check_refusal(&err);
		return 0;
	}
	if (api_parse_terms_accept(&api, body, &urls, &n, &err) != 0) {
		check_refusal(&err);
		json_decref(body);
		return 0;
	}
	FUZZ_CHECK(urls != NULL && n <= 3);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(known(urls[i]));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(urls[i], urls[j]) != 0);
	}
	free(urls);
	json_decref(body);
	return 0;
}
