#include "core/json.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

static void *
json_xmalloc(size_t n)
{
	return xmalloc(n);
}

/* jansson does not tell free() how large a block is, so ask the allocator;
 * the usable size covers at least what jansson wrote. */
static void
json_wiping_free(void *p)
{
	if (p == NULL)
		return;
	secure_wipe(p, malloc_usable_size(p));
	free(p);
}

void
json_setup(void)
{
	json_set_alloc_funcs(json_xmalloc, json_wiping_free);
}

json_t *
json_parse(const char *buf, size_t len, const char **why)
{
	json_error_t err;
	json_t *v;

	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (v == NULL) {
		switch (json_error_code(&err)) {
		case json_error_duplicate_key:
			*why = "duplicate key";
			break;
		case json_error_invalid_utf8:
			*why = "invalid UTF-8";
			break;
		case json_error_null_character:
		case json_error_null_byte_in_key:
			*why = "NUL character";
			break;
		case json_error_end_of_input_expected:
			*why = "data after the JSON value";
			break;
		default:
			*why = "not valid JSON";
			break;
		}
	}
	return v;
}

char *
json_dump(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL)
		fatalx("out of memory serialising JSON");
	*len = strlen(s);
	return s;
}

void
json_dump_free_secret(char *s, size_t len)
{
	if (s == NULL)
		return;
	secure_wipe(s, len);
	free(s);
}
