/*
 * Matrix user ids (@localpart:server). Validation follows the spec's
 * historical grammar, which homeservers still accept for existing users:
 * the localpart is printable ASCII without ':', the server name a
 * hostname, IPv4 or bracketed IPv6 literal with an optional port.
 */
#ifndef SIGNPOST_CORE_MXID_H
#define SIGNPOST_CORE_MXID_H

#include <stdbool.h>
#include <stddef.h>

/* The spec's limit on a whole user id, in bytes. */
#define MXID_MAX_LEN 255

bool mxid_server_name_valid(const char *name);
bool mxid_localpart_valid(const char *localpart, size_t len);
bool mxid_valid(const char *mxid);

/*
 * Splits a valid user id. Returns 0 with *localpart and *domain newly
 * allocated, or -1 (invalid id) with nothing allocated.
 */
int mxid_split(const char *mxid, char **localpart, char **domain);

#endif
