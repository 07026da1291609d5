/*
 * A bounded, thread-safe map from byte strings to byte strings, each entry
 * with its own expiry, for answers worth keeping a little while (who owns
 * an address, a signed association). Full shards drop their least
 * recently used entry. Keys are hashed with a random SipHash key, so
 * clients choosing addresses cannot pile entries into one bucket.
 */
#ifndef SIGNPOST_CORE_CACHE_H
#define SIGNPOST_CORE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;

struct cache_stats {
	uint64_t hits, misses; /* since cache_new */
	size_t entries;        /* now, expired ones not yet dropped included */
};

/* Holds at most max_entries (at least 1) entries. Never NULL. */
struct cache *cache_new(size_t max_entries);
/* NULL is fine. Values are wiped before they are freed. */
void cache_free(struct cache *c);

/*
 * Looks key up at time now_ms (any clock, the same one as expiries). On a
 * hit, *value is a new NUL-terminated copy (caller frees), *vlen its
 * length (may be 0), and 1 is returned; else 0, and an expired entry found
 * on the way is dropped.
 */
int cache_get(struct cache *c, const void *key, size_t klen, uint64_t now_ms,
    char **value, size_t *vlen);

/* Stores a copy of (key, value) until expires_ms, replacing any entry for
 * key; evicts the least recently used entry of a full shard. */
void cache_put(struct cache *c, const void *key, size_t klen,
    const void *value, size_t vlen, uint64_t expires_ms);

/*
 * Counters, for rate limits: adds 1 to key's counter and returns the new
 * count. A missing or expired counter starts at 1 and expires at now_ms +
 * ttl_ms; counting does not move the expiry (a fixed window). A counter
 * lives in the same space as values: use a cache for one or the other.
 */
uint64_t cache_count_add(struct cache *c, const void *key, size_t klen,
    uint64_t now_ms, uint64_t ttl_ms);
/* key's count at now_ms (0 when missing or expired); *expires_ms, when
 * not NULL, gets its expiry. Touches no statistics. */
uint64_t cache_count_get(struct cache *c, const void *key, size_t klen,
    uint64_t now_ms, uint64_t *expires_ms);

/* Drops key's entry, if any. */
void cache_remove(struct cache *c, const void *key, size_t klen);

void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
