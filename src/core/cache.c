/*
 * The cache is a fixed set of shards, each a chained hash table with an
 * intrusive LRU list under its own mutex. Sharding keeps the server
 * threads from queueing on one lock on the hot path; a shard's table
 * never grows because the shard's capacity is fixed at creation.
 */
#include "core/cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/util.h"

/* Shards for a big cache: a power of two, enough that 64 server threads
 * rarely meet on one lock. Small caches use one shard so that the bound
 * they were given is exact. */
#define SHARDS_BIG   16
#define SHARDS_SMALL_BELOW 1024

struct entry {
	struct entry *chain;       /* next in the bucket */
	struct entry *newer, *older; /* LRU list */
	uint64_t hash;
	uint64_t expires_ms;
	size_t klen, vlen;
	unsigned char bytes[];     /* key, then value, then a NUL */
};

struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t mask;               /* buckets - 1 */
	struct entry *newest, *oldest;
	size_t count, capacity;
};

struct cache {
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct shard *shards;
	unsigned nshards;
	unsigned shard_shift;      /* hash >> shift picks the shard */
	atomic_uint_fast64_t hits, misses;
};

static size_t
pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

struct cache *
cache_new(size_t max_entries)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	size_t per;

	if (max_entries == 0)
		max_entries = 1;
	c->nshards = max_entries < SHARDS_SMALL_BELOW ? 1 : SHARDS_BIG;
	c->shard_shift = c->nshards == 1 ? 0 : 64 - 4;
	per = (max_entries + c->nshards - 1) / c->nshards;
	crypto_shorthash_keygen(c->hkey);
	c->shards = xcalloc(c->nshards, sizeof(*c->shards));
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		size_t nb = pow2_at_least(per);

		pthread_mutex_init(&s->lock, NULL);
		s->buckets = xcalloc(nb, sizeof(*s->buckets));
		s->mask = nb - 1;
		s->capacity = per;
	}
	return c;
}

static void
entry_free(struct entry *e)
{
	secure_wipe(e->bytes, e->klen + e->vlen);
	free(e);
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		struct entry *e, *next;

		for (e = s->newest; e != NULL; e = next) {
			next = e->older;
			entry_free(e);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	free(c);
}

static uint64_t
hash_of(const struct cache *c, const void *key, size_t klen)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, key, klen, c->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

static struct shard *
shard_of(struct cache *c, uint64_t h)
{
	return &c->shards[c->shard_shift == 0 ? 0 : h >> c->shard_shift];
}

/* The bucket slot that points at key's entry, or at the NULL ending the
 * chain: callers can then unlink or append through it. */
static struct entry **
slot_of(struct shard *s, uint64_t h, const void *key, size_t klen)
{
	struct entry **p = &s->buckets[h & s->mask];

	for (; *p != NULL; p = &(*p)->chain) {
		struct entry *e = *p;

		if (e->hash == h && e->klen == klen &&
		    memcmp(e->bytes, key, klen) == 0)
			break;
	}
	return p;
}

static void
lru_unlink(struct shard *s, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void
lru_push(struct shard *s, struct entry *e)
{
	e->newer = NULL;
	e->older = s->newest;
	if (s->newest != NULL)
		s->newest->newer = e;
	s->newest = e;
	if (s->oldest == NULL)
		s->oldest = e;
}

/* Removes the entry *slot points at. */
static void
drop(struct shard *s, struct entry **slot)
{
	struct entry *e = *slot;

	*slot = e->chain;
	lru_unlink(s, e);
	s->count--;
	entry_free(e);
}

int
cache_get(struct cache *c, const void *key, size_t klen, uint64_t now_ms,
    char **value, size_t *vlen)
{
	uint64_t h = hash_of(c, key, klen);
	struct shard *s = shard_of(c, h);
	struct entry **slot, *e;
	int hit = 0;

	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, h, key, klen);
	e = *slot;
	if (e != NULL && e->expires_ms <= now_ms) {
		drop(s, slot);
	} else if (e != NULL) {
		lru_unlink(s, e);
		lru_push(s, e);
		*value = xmalloc(e->vlen + 1);
		memcpy(*value, e->bytes + e->klen, e->vlen + 1);
		*vlen = e->vlen;
		hit = 1;
	}
	pthread_mutex_unlock(&s->lock);
	if (hit)
		atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
	return hit;
}

/* Finds the slot pointing at e, for evicting the LRU tail. */
static struct entry **
slot_of_entry(struct shard *s, const struct entry *e)
{
	struct entry **p = &s->buckets[e->hash & s->mask];

	while (*p != e)
		p = &(*p)->chain;
	return p;
}

/* Allocates an entry for key with a value of vlen bytes (unset). */
static struct entry *
entry_new(uint64_t h, const void *key, size_t klen, size_t vlen,
    uint64_t expires_ms)
{
	struct entry *e = xmalloc(sizeof(*e) + klen + vlen + 1);

	e->hash = h;
	e->expires_ms = expires_ms;
	e->klen = klen;
	e->vlen = vlen;
	memcpy(e->bytes, key, klen);
	e->bytes[klen + vlen] = '\0';
	return e;
}

/* Links e in at *slot, evicting the shard's oldest entry when full. The
 * caller holds the lock and has checked that no entry for e's key is
 * there. */
static void
link_new(struct shard *s, struct entry *e)
{
	struct entry **slot;

	if (s->count >= s->capacity)
		drop(s, slot_of_entry(s, s->oldest));
	slot = slot_of(s, e->hash, e->bytes, e->klen);
	e->chain = NULL;
	*slot = e;
	lru_push(s, e);
	s->count++;
}

void
cache_put(struct cache *c, const void *key, size_t klen, const void *value,
    size_t vlen, uint64_t expires_ms)
{
	uint64_t h = hash_of(c, key, klen);
	struct shard *s = shard_of(c, h);
	struct entry *e = entry_new(h, key, klen, vlen, expires_ms);
	struct entry **slot;

	if (vlen > 0)
		memcpy(e->bytes + klen, value, vlen);
	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, h, key, klen);
	if (*slot != NULL)
		drop(s, slot);
	link_new(s, e);
	pthread_mutex_unlock(&s->lock);
}

uint64_t
cache_count_add(struct cache *c, const void *key, size_t klen,
    uint64_t now_ms, uint64_t ttl_ms)
{
	uint64_t h = hash_of(c, key, klen), n = 1;
	struct shard *s = shard_of(c, h);
	struct entry **slot, *e;

	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, h, key, klen);
	if (*slot != NULL && ((*slot)->expires_ms <= now_ms ||
	    (*slot)->vlen != sizeof(n)))
		drop(s, slot);
	else if (*slot != NULL) {
		e = *slot;
		memcpy(&n, e->bytes + klen, sizeof(n));
		n++;
		memcpy(e->bytes + klen, &n, sizeof(n));
		lru_unlink(s, e);
		lru_push(s, e);
		pthread_mutex_unlock(&s->lock);
		return n;
	}
	e = entry_new(h, key, klen, sizeof(n), now_ms + ttl_ms);
	memcpy(e->bytes + klen, &n, sizeof(n));
	link_new(s, e);
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t
cache_count_get(struct cache *c, const void *key, size_t klen,
    uint64_t now_ms, uint64_t *expires_ms)
{
	uint64_t h = hash_of(c, key, klen), n = 0;
	struct shard *s = shard_of(c, h);
	struct entry *e;

	pthread_mutex_lock(&s->lock);
	e = *slot_of(s, h, key, klen);
	if (e != NULL && e->expires_ms > now_ms && e->vlen == sizeof(n)) {
		memcpy(&n, e->bytes + klen, sizeof(n));
		if (expires_ms != NULL)
			*expires_ms = e->expires_ms;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void
cache_remove(struct cache *c, const void *key, size_t klen)
{
	uint64_t h = hash_of(c, key, klen);
	struct shard *s = shard_of(c, h);
	struct entry **slot;

	pthread_mutex_lock(&s->lock);
	slot = slot_of(s, h, key, klen);
	if (*slot != NULL)
		drop(s, slot);
	pthread_mutex_unlock(&s->lock);
}

void
cache_get_stats(struct cache *c, struct cache_stats *out)
{
	out->hits = atomic_load_explicit(&c->hits, memory_order_relaxed);
	out->misses = atomic_load_explicit(&c->misses, memory_order_relaxed);
	out->entries = 0;
	for (unsigned i = 0; i < c->nshards; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		out->entries += c->shards[i].count;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
}
