/*
 * Checks shared by the REST answer targets: what every parser of a webapp
 * answer hands the identity layer must hold.
 */
#ifndef SIGNPOST_FUZZ_REST_CHECKS_H
#define SIGNPOST_FUZZ_REST_CHECKS_H

#include "fuzz.h"

#include "backend/backend.h"
#include "core/mxid.h"
#include "identity/identity.h"

/* A string from parsed JSON: NUL-free (jansson refuses \u0000 as
 * json_parse() sets it up) and valid UTF-8. */
static inline void
check_string(const char *s)
{
	FUZZ_CHECK(s != NULL && fuzz_utf8_valid(s, strlen(s)));
}

/* An id is a valid localpart or user id, and maps on a domain to a valid
 * user id or to nothing (when the result would be too long). */
static inline void
check_id(const struct backend_id *id)
{
	char *mxid;

	check_string(id->value);
	if (id->type == BACKEND_ID_MXID)
		FUZZ_CHECK(mxid_valid(id->value));
	else
		FUZZ_CHECK(id->type == BACKEND_ID_LOCALPART &&
		    mxid_localpart_valid(id->value, strlen(id->value)));
	mxid = identity_map_id(id, "example.org");
	FUZZ_CHECK(mxid == NULL || mxid_valid(mxid));
	free(mxid);
}

#endif
