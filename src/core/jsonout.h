/*
 * Writing JSON answers straight into a buffer, for the big ones (bulk and
 * v2 lookups with thousands of entries), where building a jansson tree
 * first costs several allocations per entry and a hash table per object.
 * Strings must be UTF-8 already (they come from parsed JSON or checked
 * webapp answers); only the characters JSON requires are escaped.
 */
#ifndef SIGNPOST_CORE_JSONOUT_H
#define SIGNPOST_CORE_JSONOUT_H

#include <stdbool.h>
#include <stddef.h>

struct jsonout {
	char *buf;  /* from malloc; NUL-terminated */
	size_t len, cap;
};

void jsonout_init(struct jsonout *o, size_t hint);
/* Appends text as it is (JSON punctuation, numbers). */
void jsonout_raw(struct jsonout *o, const char *text);
/* Appends s as a JSON string, quotes included. */
void jsonout_string(struct jsonout *o, const char *s);
/* Hands the text over (caller frees); o is empty afterwards. */
char *jsonout_take(struct jsonout *o, size_t *len);

/*
 * A set of strings seen, for writing each object key once: when a client
 * repeats an address, a JSON object must still have unique keys. Hashed
 * with a random key, so repeated entries chosen by a client cannot
 * collide on purpose. Holds pointers: the strings must outlive the set.
 */
struct jsonout_keys;

struct jsonout_keys *jsonout_keys_new(size_t expected);
/* True the first time s is offered, false after. */
bool jsonout_keys_first(struct jsonout_keys *k, const char *s);
void jsonout_keys_free(struct jsonout_keys *k);

#endif
