/* The identity object: the backend, the domain, the lookup cache. */
#include <stdlib.h>

#include "core/util.h"
#include "identity/identity.h"
#include "identity/internal.h"

struct identity *
identity_new(const struct backend *backend, const struct identity_opts *opts)
{
	struct identity *id = xcalloc(1, sizeof(*id));

	id->backend = *backend;
	id->domain = xstrdup(opts->domain);
	id->bulk_chunk = opts->bulk_chunk ? opts->bulk_chunk : 1;
	if (opts->cache_max > 0 &&
	    (opts->cache_ttl_s > 0 || opts->cache_negative_ttl_s > 0)) {
		id->cache = cache_new(opts->cache_max);
		id->ttl_ms = (uint64_t)opts->cache_ttl_s * 1000;
		id->negative_ttl_ms = (uint64_t)opts->cache_negative_ttl_s * 1000;
	}
	id->flights = identity_flights_new();
	id->batcher = identity_batcher_new(opts->batch_after, id->bulk_chunk);
	return id;
}

void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	id->backend.ops->destroy(id->backend.self);
	identity_flights_free(id->flights);
	identity_batcher_free(id->batcher);
	cache_free(id->cache);
	free(id->domain);
	free(id);
}

void
identity_cache_stats(struct identity *id, struct cache_stats *out)
{
	if (id->cache == NULL) {
		*out = (struct cache_stats){ 0 };
		return;
	}
	cache_get_stats(id->cache, out);
}
