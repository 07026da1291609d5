/*
 * Checks shared by the request body targets (api_parse_* in src/api/):
 * a refused request carries an answer a client can read.
 */
#ifndef SIGNPOST_FUZZ_API_CHECKS_H
#define SIGNPOST_FUZZ_API_CHECKS_H

#include "fuzz.h"

#include "api/internal.h"

/* 400 with one of the errcodes a body can earn and a message. */
static inline void
check_refusal(const struct api_error *err)
{
	static const char *const codes[] = { "M_NOT_JSON", "M_BAD_JSON",
	    "M_MISSING_PARAMS", "M_INVALID_PARAM", "M_TOO_LARGE" };
	bool known = false;

	FUZZ_CHECK(err->status == 400 && err->errcode != NULL);
	for (size_t i = 0; i < ARRAY_LEN(codes); i++)
		known |= strcmp(err->errcode, codes[i]) == 0;
	FUZZ_CHECK(known);
	FUZZ_CHECK(err->message[0] != '\0' &&
	    strlen(err->message) < sizeof(err->message));
}

/* A string the handler will put in an answer or send on. */
static inline void
check_text(const char *s)
{
	FUZZ_CHECK(s != NULL && fuzz_utf8_valid(s, strlen(s)));
}

#endif
