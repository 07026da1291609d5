/*
 * Where a homeserver call goes, for a valid server name: steps 1-2 of
 * discovery (openid_direct_dest in src/identity/openid.c) take host and
 * port from the name itself, or leave the name to .well-known.
 */
#ifndef SIGNPOST_FUZZ_OPENID_CHECKS_H
#define SIGNPOST_FUZZ_OPENID_CHECKS_H

#include "fuzz.h"

#include "identity/openid.h"

static inline void
check_dest(const char *name, struct openid_dest *dest)
{
	char *line;

	memset(dest, 0, sizeof(*dest));
	if (openid_direct_dest(name, dest) != 0)
		return;
	FUZZ_CHECK(dest->host[0] != '\0' && dest->authority[0] != '\0');
	FUZZ_CHECK(strlen(dest->host) < sizeof(dest->host) &&
	    strlen(dest->authority) < sizeof(dest->authority));
	FUZZ_CHECK(dest->port >= 1 && dest->port <= 65535);
	/* The URL's authority is the name the user's server goes by. */
	FUZZ_CHECK(strncmp(dest->authority, name, strlen(dest->host)) == 0);
	FUZZ_CHECK(strpbrk(dest->authority, "/?#@ ") == NULL);
	line = openid_connect_line(dest);
	FUZZ_CHECK(line == NULL || strpbrk(line, "\r\n") == NULL);
	free(line);
}

#endif
