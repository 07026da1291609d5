/* Shared by the identity/ files; not for other modules. */
#ifndef SIGNPOST_IDENTITY_INTERNAL_H
#define SIGNPOST_IDENTITY_INTERNAL_H

#include <stdint.h>

#include "backend/backend.h"
#include "core/cache.h"

struct flights; /* lookups under way, see lookup.c */
struct batcher; /* misses waiting to be batched, see lookup.c */

struct identity {
	struct backend backend;
	char *domain;
	size_t bulk_chunk;
	struct cache *cache;      /* NULL: caching off */
	uint64_t ttl_ms, negative_ttl_ms;
	struct flights *flights;
	struct batcher *batcher;
};

/* lookup.c's share of identity_new / identity_free. */
struct flights *identity_flights_new(void);
void identity_flights_free(struct flights *f);
struct batcher *identity_batcher_new(unsigned limit, size_t max);
void identity_batcher_free(struct batcher *b);

#endif
