#include "core/jsonout.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/util.h"

static void
reserve(struct jsonout *o, size_t more)
{
	size_t cap = o->cap;

	if (o->len + more + 1 <= cap)
		return;
	while (cap < o->len + more + 1)
		cap = cap < 64 ? 64 : cap * 2;
	o->buf = xrealloc(o->buf, cap);
	o->cap = cap;
}

void
jsonout_init(struct jsonout *o, size_t hint)
{
	o->buf = NULL;
	o->len = o->cap = 0;
	reserve(o, hint);
	o->buf[0] = '\0';
}

void
jsonout_raw(struct jsonout *o, const char *text)
{
	size_t n = strlen(text);

	reserve(o, n);
	memcpy(o->buf + o->len, text, n + 1);
	o->len += n;
}

void
jsonout_string(struct jsonout *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	/* Worst case: every byte a six-character \u escape. */
	reserve(o, strlen(s) * 6 + 2);
	o->buf[o->len++] = '"';
	for (; *p != '\0'; p++) {
		char *d = o->buf + o->len;

		if (*p == '"' || *p == '\\') {
			d[0] = '\\';
			d[1] = (char)*p;
			o->len += 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			/* DEL too, as jansson does not: logs and terminals
			 * that show an answer stay clean. */
			memcpy(d, "\\u00", 4);
			d[4] = hex[*p >> 4];
			d[5] = hex[*p & 15];
			o->len += 6;
		} else {
			d[0] = (char)*p;
			o->len++;
		}
	}
	o->buf[o->len++] = '"';
	o->buf[o->len] = '\0';
}

char *
jsonout_take(struct jsonout *o, size_t *len)
{
	char *buf = o->buf;

	*len = o->len;
	o->buf = NULL;
	o->len = o->cap = 0;
	return buf;
}

struct jsonout_keys {
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	const char **slots; /* open addressing, NULL: free */
	size_t mask;
};

struct jsonout_keys *
jsonout_keys_new(size_t expected)
{
	struct jsonout_keys *k = xcalloc(1, sizeof(*k));
	size_t n = 16;

	/* At most half full, so probes stay short. */
	while (n < expected * 2)
		n <<= 1;
	k->slots = xcalloc(n, sizeof(*k->slots));
	k->mask = n - 1;
	crypto_shorthash_keygen(k->hkey);
	return k;
}

bool
jsonout_keys_first(struct jsonout_keys *k, const char *s)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;
	size_t i;

	crypto_shorthash(out, (const unsigned char *)s, strlen(s), k->hkey);
	memcpy(&h, out, sizeof(h));
	for (i = h & k->mask; k->slots[i] != NULL; i = (i + 1) & k->mask)
		if (strcmp(k->slots[i], s) == 0)
			return false;
	k->slots[i] = s;
	return true;
}

void
jsonout_keys_free(struct jsonout_keys *k)
{
	if (k == NULL)
		return;
	free(k->slots);
	free(k);
}
