/*
 * Identity logic between the Matrix API and the store: splits and checks
 * user ids, asks the backend, and turns the store's ids into Matrix user
 * ids on matrix.domain. Knows nothing of HTTP or Matrix errcodes.
 */
#ifndef SIGNPOST_IDENTITY_IDENTITY_H
#define SIGNPOST_IDENTITY_IDENTITY_H

#include <stddef.h>

#include "backend/backend.h"
#include "core/cache.h"

struct identity;

struct identity_opts {
	const char *domain;  /* matrix.domain, for localpart ids */
	size_t bulk_chunk;   /* entries per bulk call to the store */
	/* The lookup cache: off when cache_max is 0. A TTL of 0 keeps that
	 * kind of answer (found / not found) out of it. */
	size_t cache_max;
	unsigned cache_ttl_s, cache_negative_ttl_s;
	/* Single-lookup calls under way beyond which new misses wait and go
	 * together in one bulk call (bulk endpoint needed); 0: never. */
	unsigned batch_after;
};

/* Takes ownership of backend (destroyed by identity_free). */
struct identity *identity_new(const struct backend *backend,
    const struct identity_opts *opts);
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
 * mxid_valid(). When the store cannot check passwords (the feature is
 * off), the answer is "no" at once. The password is copied by the backend and wiped there.
 * Returns 0 and calls cb exactly once (maybe before returning, maybe on
 * another thread), or -1 without calling it.
 */
int identity_authenticate(struct identity *id, const char *user_id,
    const char *password, identity_auth_cb cb, void *arg);

/* Valid only during the callback. */
struct identity_lookup_result {
	enum backend_verdict verdict;
	enum backend_fault fault; /* when ERROR */
	const char *mxid;         /* when YES */
};

typedef void (*identity_lookup_cb)(const struct identity_lookup_result *res,
    void *arg);

/*
 * Who owns (medium, address)? Answers from the cache when it can (cb runs
 * before this returns); otherwise asks the store's single lookup, or its
 * bulk lookup with one entry when single lookups are off; with neither,
 * the answer is "no". Identical lookups under way at the same time share
 * one store call. Found and not-found answers are cached, errors never.
 * Returns 0 and calls cb exactly once, or -1 without.
 */
int identity_lookup(struct identity *id, const char *medium,
    const char *address, identity_lookup_cb cb, void *arg);

/* Valid only during the callback. */
struct identity_bulk_result {
	enum backend_verdict verdict; /* YES: answered; ERROR: no answer */
	enum backend_fault fault;
	/* When YES: one entry per query, NULL where nobody matched. */
	char *const *mxids;
	size_t nmatched;
};

typedef void (*identity_bulk_cb)(const struct identity_bulk_result *res,
    void *arg);

/*
 * Who owns each of q[0..n)? q must stay valid until cb. Cached answers are
 * used; the other queries go to the store's bulk lookup in chunks of
 * bulk_chunk, all at once, or as
 * concurrent single lookups when bulk lookups are off. If any part fails,
 * the whole answer is an error: a partial answer would pass for "these
 * addresses have no owner". Returns 0 and calls cb exactly once, or -1.
 */
int identity_bulk_lookup(struct identity *id, const struct backend_threepid *q,
    size_t n, identity_bulk_cb cb, void *arg);

/*
 * Is the store reachable? Asks it about an address nobody owns, past the
 * cache: cb gets YES when the store answered (found or not), ERROR with
 * its fault when not, and NO when the store has no lookups to ask.
 * Returns 0 and calls cb exactly once, or -1 without.
 */
int identity_probe(struct identity *id, identity_lookup_cb cb, void *arg);

/* The lookup cache's counters; all zero when it is off. */
void identity_cache_stats(struct identity *id, struct cache_stats *out);

#endif
