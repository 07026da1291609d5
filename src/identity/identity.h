/*
 * Identity logic between the Matrix API and the store: splits and checks
 * user ids, asks the backend, and turns the store's ids into Matrix user
 * ids on matrix.domain. Knows nothing of HTTP or Matrix errcodes.
 */
#ifndef SIGNPOST_IDENTITY_IDENTITY_H
#define SIGNPOST_IDENTITY_IDENTITY_H

#include <stddef.h>

#include "backend/backend.h"

struct identity;

/* Takes ownership of backend (destroyed by identity_free). */
struct identity *identity_new(const struct backend *backend, const char *domain);
void identity_free(struct identity *id);

/*
 * Maps a store id to a user id: a localpart becomes @value:domain, an mxid
 * must already be a valid user id. Returns a new string, or NULL when the
 * result would not be a valid user id.
 */
char *identity_map_id(const struct backend_id *id, const char *domain);

/* Valid only during the callback. */
struct identity_auth_result {
	enum backend_verdict verdict;
	enum backend_fault fault;       /* when ERROR */
	const char *mxid;               /* when YES: the store's user */
	const char *display_name;       /* when YES; may be NULL */
	const struct backend_threepid *threepids;
	size_t nthreepids;
};

typedef void (*identity_auth_cb)(const struct identity_auth_result *res,
    void *arg);

/*
 * Checks user_id's password with the store. user_id must satisfy
 * mxid_valid(). The password is copied by the backend and wiped there.
 * Returns 0 and calls cb exactly once (maybe before returning, maybe on
 * another thread), or -1 without calling it.
 */
int identity_authenticate(struct identity *id, const char *user_id,
    const char *password, identity_auth_cb cb, void *arg);

#endif
