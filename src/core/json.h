/*
 * JSON through jansson, set up the way Signpost needs it: parsing rejects
 * duplicate keys and anything but one complete value, and every block
 * jansson frees is wiped first, because request and webapp bodies carry
 * passwords that jansson copies into its own strings.
 */
#ifndef SIGNPOST_CORE_JSON_H
#define SIGNPOST_CORE_JSON_H

#include <stddef.h>

#include <jansson.h>

/* Installs the wiping allocator; call once before any other JSON use. */
void json_setup(void);

/*
 * Parses exactly one JSON value from buf[0..len). Returns a new reference,
 * or NULL with a short static reason in *why.
 */
json_t *json_parse(const char *buf, size_t len, const char **why);

/* Compact serialisation; returns a malloc'd string and its length. */
char *json_dump(const json_t *v, size_t *len);

/* Frees a string that json_dump made and that may hold a secret. */
void json_dump_free_secret(char *s, size_t len);

#endif
