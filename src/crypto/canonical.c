#include "crypto/canonical.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

/* First size of the output buffer: a signed association fits. */
#define CANON_INITIAL_CAP 256
/* First size of the shared key array: objects we sign have under 16 keys. */
#define CANON_INITIAL_KEYS 16

/* One object member waiting to be sorted. */
struct canon_member {
	const char *key;
	size_t keylen;
	const json_t *value;
};

/*
 * All state of one encoding. The output is one growing buffer, and the keys
 * of every object being written sit in one shared array used as a stack:
 * an object pushes its members above its parent's, sorts just that slice
 * and pops them when done. Encoding therefore allocates only when one of
 * the two arrays has to grow, however many objects the value holds.
 */
struct canon {
	char *buf;
	size_t len;
	size_t cap;
	struct canon_member *members;
	size_t nmembers;
	size_t members_cap;
};

static int encode_value(struct canon *c, const json_t *v, unsigned depth);

/* Makes room for n more bytes plus the final NUL. */
static void
reserve(struct canon *c, size_t n)
{
	size_t need;

	if (n > SIZE_MAX / 4 - c->len)
		fatalx("canonical JSON output too large");
	need = c->len + n + 1;
	if (need <= c->cap)
		return;
	if (c->cap == 0)
		c->cap = CANON_INITIAL_CAP;
	while (c->cap < need)
		c->cap *= 2;
	c->buf = xrealloc(c->buf, c->cap);
}

static void
put(struct canon *c, const char *s, size_t n)
{
	reserve(c, n);
	memcpy(c->buf + c->len, s, n);
	c->len += n;
}

static void
put_char(struct canon *c, char ch)
{
	reserve(c, 1);
	c->buf[c->len++] = ch;
}

/*
 * Length of the well-formed UTF-8 sequence starting at s (n bytes left,
 * s[0] >= 0x80), or 0 if it is malformed: overlong forms, surrogates and
 * code points above U+10FFFF are refused, as jansson's parser refuses them.
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0xc2)
		return 0;
	if (s[0] < 0xe0) {
		len = 2;
	} else if (s[0] < 0xf0) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] < 0xf5) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Writes the escape for one byte below 0x20, '"' or '\\'. */
static void
put_escape(struct canon *c, unsigned char b)
{
	static const char hex[] = "0123456789abcdef";
	char u[6] = { '\\', 'u', '0', '0', 0, 0 };
	char two[2] = { '\\', 0 };

	switch (b) {
	case '"':  two[1] = '"'; break;
	case '\\': two[1] = '\\'; break;
	case '\b': two[1] = 'b'; break;
	case '\t': two[1] = 't'; break;
	case '\n': two[1] = 'n'; break;
	case '\f': two[1] = 'f'; break;
	case '\r': two[1] = 'r'; break;
	default:
		u[4] = hex[b >> 4];
		u[5] = hex[b & 0xf];
		put(c, u, sizeof(u));
		return;
	}
	put(c, two, sizeof(two));
}

/* Writes s[0..n) as a JSON string; -1 if it is not valid UTF-8. Runs of
 * bytes that need no escape are copied in one go. */
static int
put_string(struct canon *c, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, seq;

	put_char(c, '"');
	while (i < n) {
		if (u[i] >= 0x80) {
			seq = utf8_seq_len(u + i, n - i);
			if (seq == 0)
				return -1;
			i += seq;
		} else if (u[i] >= 0x20 && u[i] != '"' && u[i] != '\\') {
			i++;
		} else {
			put(c, s + run, i - run);
			put_escape(c, u[i]);
			run = ++i;
		}
	}
	put(c, s + run, i - run);
	put_char(c, '"');
	return 0;
}

static int
put_integer(struct canon *c, json_int_t v)
{
	char digits[24];
	size_t pos = sizeof(digits);
	unsigned long long mag;

	if (v > CANON_INT_MAX || v < -CANON_INT_MAX)
		return -1;
	/* In range, so negating cannot overflow. */
	mag = v < 0 ? (unsigned long long)-v : (unsigned long long)v;
	do {
		digits[--pos] = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag != 0);
	if (v < 0)
		digits[--pos] = '-';
	put(c, digits + pos, sizeof(digits) - pos);
	return 0;
}

/* Byte order of the UTF-8, a key that is a prefix of another first. Keys in
 * one object are distinct, so equality never decides anything. */
static int
member_cmp(const void *a, const void *b)
{
	const struct canon_member *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int r = memcmp(x->key, y->key, n);

	if (r != 0)
		return r;
	return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

static bool
skipped(const char *key, size_t keylen, const char *const *skip, size_t nskip)
{
	for (size_t i = 0; i < nskip; i++)
		if (strlen(skip[i]) == keylen && memcmp(skip[i], key, keylen) == 0)
			return true;
	return false;
}

static void
push_member(struct canon *c, const char *key, size_t keylen, const json_t *v)
{
	if (c->nmembers == c->members_cap) {
		c->members_cap = c->members_cap ? c->members_cap * 2 :
		    CANON_INITIAL_KEYS;
		c->members = xrealloc(c->members,
		    c->members_cap * sizeof(*c->members));
	}
	c->members[c->nmembers].key = key;
	c->members[c->nmembers].keylen = keylen;
	c->members[c->nmembers].value = v;
	c->nmembers++;
}

static int
encode_object(struct canon *c, const json_t *obj, unsigned depth,
    const char *const *skip, size_t nskip)
{
	const size_t base = c->nmembers;
	struct canon_member m;
	size_t n, keylen;
	void *it;
	int rc = -1;

	for (it = json_object_iter((json_t *)obj); it != NULL;
	    it = json_object_iter_next((json_t *)obj, it)) {
		keylen = json_object_iter_key_len(it);
		if (skipped(json_object_iter_key(it), keylen, skip, nskip))
			continue;
		push_member(c, json_object_iter_key(it), keylen,
		    json_object_iter_value(it));
	}
	n = c->nmembers - base;
	if (n > 1)
		qsort(c->members + base, n, sizeof(*c->members), member_cmp);

	put_char(c, '{');
	for (size_t i = 0; i < n; i++) {
		/* Copied out: nested objects may move the shared array. */
		m = c->members[base + i];
		if (i > 0)
			put_char(c, ',');
		if (put_string(c, m.key, m.keylen) != 0)
			goto out;
		put_char(c, ':');
		if (encode_value(c, m.value, depth + 1) != 0)
			goto out;
	}
	put_char(c, '}');
	rc = 0;
out:
	c->nmembers = base;
	return rc;
}

static int
encode_array(struct canon *c, const json_t *arr, unsigned depth)
{
	size_t n = json_array_size(arr);

	put_char(c, '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			put_char(c, ',');
		if (encode_value(c, json_array_get(arr, i), depth + 1) != 0)
			return -1;
	}
	put_char(c, ']');
	return 0;
}

/* depth counts the containers around v. */
static int
encode_value(struct canon *c, const json_t *v, unsigned depth)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (depth >= CANON_MAX_DEPTH)
			return -1;
		return encode_object(c, v, depth, NULL, 0);
	case JSON_ARRAY:
		if (depth >= CANON_MAX_DEPTH)
			return -1;
		return encode_array(c, v, depth);
	case JSON_STRING:
		return put_string(c, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return put_integer(c, json_integer_value(v));
	case JSON_REAL:
		/* Canonical JSON has no floats, not even integral ones. */
		return -1;
	case JSON_TRUE:
		put(c, "true", 4);
		return 0;
	case JSON_FALSE:
		put(c, "false", 5);
		return 0;
	case JSON_NULL:
		put(c, "null", 4);
		return 0;
	}
	return -1;
}

/* Hands the buffer over on success, frees everything either way. */
static int
finish(struct canon *c, int rc, char **out, size_t *len)
{
	free(c->members);
	if (rc != 0) {
		free(c->buf);
		*out = NULL;
		*len = 0;
		return -1;
	}
	reserve(c, 0);
	c->buf[c->len] = '\0';
	*out = c->buf;
	*len = c->len;
	return 0;
}

int
canon_encode(const json_t *v, char **out, size_t *len)
{
	struct canon c = { 0 };

	if (v == NULL)
		return finish(&c, -1, out, len);
	return finish(&c, encode_value(&c, v, 0), out, len);
}

int
canon_encode_except(const json_t *obj, const char *const *skip,
    size_t nskip, char **out, size_t *len)
{
	struct canon c = { 0 };

	if (!json_is_object(obj))
		return finish(&c, -1, out, len);
	return finish(&c, encode_object(&c, obj, 0, skip, nskip), out, len);
}
