/*
 * Matrix canonical JSON (the bytes that get signed): no whitespace, object
 * keys sorted by the byte order of their UTF-8 (the same as code point
 * order), integers only and within +-(2^53 - 1), strings escaping only '"',
 * '\\' and control characters below U+0020 (\b \t \n \f \r where they exist,
 * else \u00xx in lowercase hex), everything else written as raw UTF-8.
 *
 * jansson's own dumper cannot be used for this: it writes uppercase
 * \u001F and emits reals.
 */
#ifndef SIGNPOST_CRYPTO_CANONICAL_H
#define SIGNPOST_CRYPTO_CANONICAL_H

#include <stddef.h>

#include <jansson.h>

/* The largest integer magnitude canonical JSON allows (2^53 - 1), so every
 * value survives a round trip through an IEEE double. */
#define CANON_INT_MAX 9007199254740991LL

/* Bounds container nesting. Equal to jansson's parser limit, so anything
 * json_parse() accepted can be encoded; it also stops a value that was built
 * by hand with a cycle in it from recursing forever. */
#define CANON_MAX_DEPTH JSON_PARSER_MAX_DEPTH

/*
 * Encodes v (any JSON value) as canonical JSON. On success returns 0 and
 * sets *out to a malloc'd, NUL-terminated string (the caller frees it) and
 * *len to its length without the NUL.
 *
 * Returns -1, with *out NULL and *len 0, when v cannot be written
 * canonically: it holds a real (even 1.0: canonical JSON has no floats), an
 * integer outside +-CANON_INT_MAX, a string or key that is not valid UTF-8
 * (only possible for values built with jansson's *_nocheck calls), or
 * containers nested deeper than CANON_MAX_DEPTH. A string holding U+0000
 * (jansson allows it with json_stringn) is written as \u0000.
 */
int canon_encode(const json_t *v, char **out, size_t *len);

/*
 * Same as canon_encode(), for an object, leaving out the top-level members
 * whose keys are listed in skip[0..nskip) (nested members with those names
 * stay). Signing uses it to leave out "signatures" and "unsigned" without
 * copying or changing the object. Returns -1 as canon_encode() does, and
 * also when obj is not an object.
 */
int canon_encode_except(const json_t *obj, const char *const *skip,
    size_t nskip, char **out, size_t *len);

#endif
