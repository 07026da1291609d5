/*
 * The hashed-lookup index: sorted SHA-256 digests, each with the number of
 * an interned Matrix user id. See hashindex.h for the contract.
 *
 * Lookups decode the client's hash to its 32 bytes and binary-search the
 * sorted digests. SHA-256 output is uniform, so a small table of where
 * each leading-bits prefix starts narrows the search to a handful of
 * records first; that saves most of the cache misses of a plain binary
 * search over tens of megabytes.
 */
#include "identity/hashindex.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/util.h"

#define DIGEST_LEN crypto_hash_sha256_BYTES
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

/*
 * Bounds the prefix table: at most 2^24 + 1 starts (64 MiB), reached only
 * past 64 million entries. Smaller indexes get about four records per
 * prefix, which keeps the table near one byte per entry.
 */
#define MAX_PREFIX_BITS 24
#define RECORDS_PER_PREFIX 4

/* User numbers, entry counts and string offsets are 32-bit to keep each
 * entry small; this is the largest value any of them may take. */
#define MAX_U32_COUNT UINT32_MAX

/* What the finished index keeps per hash: 36 bytes, no padding. */
struct rec {
	uint8_t digest[DIGEST_LEN];
	uint32_t user; /* index into users */
};

_Static_assert(sizeof(struct rec) == DIGEST_LEN + 4,
    "struct rec must not be padded");

/* What the builder keeps per entry: the order of adding decides which
 * duplicate wins, and qsort is not stable. */
struct build_rec {
	struct rec r;
	uint32_t seq;
};

/* Distinct Matrix user ids, each stored once as a NUL-terminated string
 * in one arena. */
struct strtab {
	char *arena;
	size_t len, cap;
	uint32_t *offsets; /* of each user's string in arena */
	size_t n, ncap;
};

struct hashidx_builder {
	char *pepper;
	struct build_rec *recs;
	size_t n, cap;
	struct strtab users;
	/* Open addressing over users: user number + 1, 0 for empty. Only
	 * the builder needs it; the index finds users by number. */
	uint32_t *slots;
	size_t mask;
};

struct hashidx {
	atomic_size_t refs;
	char *pepper;
	struct rec *recs; /* sorted by digest, one per distinct digest */
	size_t n;
	size_t dropped;
	struct strtab users;
	/* prefix_start[p] is the first record whose digest starts with the
	 * prefix_bits-bit prefix p; prefix_start[2^prefix_bits] is n. */
	uint32_t *prefix_start;
	unsigned prefix_bits;
	uint64_t built_at_ms;
};

struct hashidx_slot {
	pthread_mutex_t mu;
	struct hashidx *cur;
};

static void
digest_of(const char *medium, const char *address, const char *pepper,
    uint8_t out[DIGEST_LEN])
{
	crypto_hash_sha256_state st;

	/* Hashed piece by piece: the joined string is never built. */
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)address,
	    strlen(address));
	crypto_hash_sha256_update(&st, (const unsigned char *)" ", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)medium,
	    strlen(medium));
	crypto_hash_sha256_update(&st, (const unsigned char *)" ", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)pepper,
	    strlen(pepper));
	crypto_hash_sha256_final(&st, out);
}

void
hashidx_hash_b64(const char *medium, const char *address, const char *pepper,
    char out[HASHIDX_B64_SIZE])
{
	uint8_t d[DIGEST_LEN];

	digest_of(medium, address, pepper, d);
	sodium_bin2base64(out, HASHIDX_B64_SIZE, d, sizeof(d), B64_VARIANT);
}

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static const char *
strtab_get(const struct strtab *t, uint32_t user)
{
	return t->arena + t->offsets[user];
}

static void
slots_grow(struct hashidx_builder *b)
{
	size_t size = (b->mask + 1) * 2;

	free(b->slots);
	b->slots = xcalloc(size, sizeof(*b->slots));
	b->mask = size - 1;
	for (size_t u = 0; u < b->users.n; u++) {
		size_t s = str_hash(strtab_get(&b->users, (uint32_t)u)) &
		    b->mask;

		while (b->slots[s] != 0)
			s = (s + 1) & b->mask;
		b->slots[s] = (uint32_t)u + 1;
	}
}

/* The number of mxid in the builder's table, added if new. */
static uint32_t
intern(struct hashidx_builder *b, const char *mxid)
{
	struct strtab *t = &b->users;
	size_t len = strlen(mxid) + 1;
	size_t s = str_hash(mxid) & b->mask;

	for (; b->slots[s] != 0; s = (s + 1) & b->mask)
		if (strcmp(strtab_get(t, b->slots[s] - 1), mxid) == 0)
			return b->slots[s] - 1;
	if (t->n >= MAX_U32_COUNT - 1 || t->len + len > MAX_U32_COUNT)
		fatalx("hash index: too many distinct user ids");
	if (t->len + len > t->cap) {
		while (t->len + len > t->cap)
			t->cap *= 2;
		t->arena = xrealloc(t->arena, t->cap);
	}
	if (t->n == t->ncap) {
		t->ncap *= 2;
		t->offsets = xrealloc(t->offsets,
		    t->ncap * sizeof(*t->offsets));
	}
	memcpy(t->arena + t->len, mxid, len);
	t->offsets[t->n] = (uint32_t)t->len;
	t->len += len;
	b->slots[s] = (uint32_t)t->n + 1;
	t->n++;
	/* Kept at most half full, so probes stay short. */
	if (t->n * 2 > b->mask + 1)
		slots_grow(b);
	return (uint32_t)t->n - 1;
}

struct hashidx_builder *
hashidx_builder_new(const char *pepper)
{
	struct hashidx_builder *b = xcalloc(1, sizeof(*b));

	b->pepper = xstrdup(pepper);
	b->cap = 1024;
	b->recs = xmalloc(b->cap * sizeof(*b->recs));
	b->users.cap = 4096;
	b->users.arena = xmalloc(b->users.cap);
	b->users.ncap = 256;
	b->users.offsets = xmalloc(b->users.ncap * sizeof(*b->users.offsets));
	b->mask = 511;
	b->slots = xcalloc(b->mask + 1, sizeof(*b->slots));
	return b;
}

void
hashidx_builder_add(struct hashidx_builder *b, const char *medium,
    const char *address, const char *mxid)
{
	struct build_rec *br;

	if (b->n >= MAX_U32_COUNT)
		fatalx("hash index: too many entries");
	if (b->n == b->cap) {
		b->cap *= 2;
		b->recs = xrealloc(b->recs, b->cap * sizeof(*b->recs));
	}
	br = &b->recs[b->n];
	digest_of(medium, address, b->pepper, br->r.digest);
	br->r.user = intern(b, mxid);
	br->seq = (uint32_t)b->n;
	b->n++;
}

size_t
hashidx_builder_count(const struct hashidx_builder *b)
{
	return b->n;
}

void
hashidx_builder_free(struct hashidx_builder *b)
{
	if (b == NULL)
		return;
	free(b->pepper);
	free(b->recs);
	free(b->users.arena);
	free(b->users.offsets);
	free(b->slots);
	free(b);
}

static int
build_rec_cmp(const void *pa, const void *pb)
{
	const struct build_rec *a = pa, *b = pb;
	int c = memcmp(a->r.digest, b->r.digest, DIGEST_LEN);

	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static uint32_t
prefix_of(const uint8_t *digest, unsigned bits)
{
	uint32_t top = (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 |
	    (uint32_t)digest[2] << 8 | digest[3];

	return bits == 0 ? 0 : top >> (32 - bits);
}

static void
build_prefix_table(struct hashidx *idx)
{
	size_t nprefix;
	unsigned bits = 0;

	while (bits < MAX_PREFIX_BITS &&
	    ((size_t)1 << (bits + 1)) * RECORDS_PER_PREFIX <= idx->n)
		bits++;
	idx->prefix_bits = bits;
	nprefix = (size_t)1 << bits;
	idx->prefix_start = xcalloc(nprefix + 1, sizeof(*idx->prefix_start));
	/* Count each prefix, then turn the counts into start offsets. */
	for (size_t i = 0; i < idx->n; i++)
		idx->prefix_start[prefix_of(idx->recs[i].digest, bits) + 1]++;
	for (size_t p = 0; p < nprefix; p++)
		idx->prefix_start[p + 1] += idx->prefix_start[p];
}

/*
 * Sorts the builder's records and rewrites them in place as the index's
 * smaller records, keeping the last-added of each run of equal digests.
 * Writing in place keeps the peak memory of a rebuild to one array.
 */
static size_t
sort_and_compact(struct build_rec *recs, size_t n)
{
	unsigned char *out = (unsigned char *)recs;
	size_t kept = 0;

	if (n > 1)
		qsort(recs, n, sizeof(*recs), build_rec_cmp);
	for (size_t i = 0; i < n; i++) {
		struct rec r;

		if (i + 1 < n && memcmp(recs[i].r.digest, recs[i + 1].r.digest,
				     DIGEST_LEN) == 0)
			continue; /* a later add of this digest wins */
		r = recs[i].r;
		/* kept <= i, so this never overwrites an unread record. */
		memcpy(out + kept * sizeof(r), &r, sizeof(r));
		kept++;
	}
	return kept;
}

struct hashidx *
hashidx_builder_finish(struct hashidx_builder *b)
{
	struct hashidx *idx = xcalloc(1, sizeof(*idx));
	size_t kept;

	atomic_init(&idx->refs, 1);
	kept = sort_and_compact(b->recs, b->n);
	idx->n = kept;
	idx->dropped = b->n - kept;
	idx->recs = xrealloc(b->recs, (kept ? kept : 1) * sizeof(struct rec));
	b->recs = NULL;
	idx->pepper = b->pepper;
	b->pepper = NULL;
	/* Trimmed to size: the index lives for a whole refresh interval. */
	idx->users.len = idx->users.cap = b->users.len;
	idx->users.arena = xrealloc(b->users.arena,
	    b->users.len ? b->users.len : 1);
	idx->users.n = idx->users.ncap = b->users.n;
	idx->users.offsets = xrealloc(b->users.offsets,
	    (b->users.n ? b->users.n : 1) * sizeof(*b->users.offsets));
	b->users.arena = NULL;
	b->users.offsets = NULL;
	hashidx_builder_free(b);
	build_prefix_table(idx);
	idx->built_at_ms = now_realtime_ms();
	return idx;
}

const char *
hashidx_find(const struct hashidx *idx, const char *hash_b64url)
{
	uint8_t d[DIGEST_LEN];
	size_t bin_len = 0, lo, hi;
	uint32_t p;

	if (hash_b64url == NULL || strnlen(hash_b64url, HASHIDX_B64_SIZE) !=
	    HASHIDX_B64_LEN)
		return NULL;
	/* Refuses other alphabets, padding and unused low bits that are
	 * set, so each digest has exactly one accepted spelling. */
	if (sodium_base642bin(d, sizeof(d), hash_b64url, HASHIDX_B64_LEN, NULL,
		&bin_len, NULL, B64_VARIANT) != 0 || bin_len != sizeof(d))
		return NULL;
	p = prefix_of(d, idx->prefix_bits);
	lo = idx->prefix_start[p];
	hi = idx->prefix_start[p + 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(d, idx->recs[mid].digest, DIGEST_LEN);

		if (c == 0)
			return strtab_get(&idx->users, idx->recs[mid].user);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t
hashidx_size(const struct hashidx *idx)
{
	return idx->n;
}

size_t
hashidx_dropped(const struct hashidx *idx)
{
	return idx->dropped;
}

size_t
hashidx_users(const struct hashidx *idx)
{
	return idx->users.n;
}

const char *
hashidx_pepper(const struct hashidx *idx)
{
	return idx->pepper;
}

uint64_t
hashidx_built_at_ms(const struct hashidx *idx)
{
	return idx->built_at_ms;
}

size_t
hashidx_bytes(const struct hashidx *idx)
{
	return sizeof(*idx) + strlen(idx->pepper) + 1 +
	    idx->n * sizeof(*idx->recs) + idx->users.len +
	    idx->users.n * sizeof(*idx->users.offsets) +
	    (((size_t)1 << idx->prefix_bits) + 1) * sizeof(*idx->prefix_start);
}

struct hashidx *
hashidx_ref(struct hashidx *idx)
{
	if (idx != NULL)
		atomic_fetch_add_explicit(&idx->refs, 1, memory_order_relaxed);
	return idx;
}

void
hashidx_unref(struct hashidx *idx)
{
	if (idx == NULL)
		return;
	/* acq_rel: the thread that frees sees every other holder's reads
	 * finished before their unref. */
	if (atomic_fetch_sub_explicit(&idx->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(idx->pepper);
	free(idx->recs);
	free(idx->users.arena);
	free(idx->users.offsets);
	free(idx->prefix_start);
	free(idx);
}

struct hashidx_slot *
hashidx_slot_new(void)
{
	struct hashidx_slot *slot = xcalloc(1, sizeof(*slot));

	if (pthread_mutex_init(&slot->mu, NULL) != 0)
		fatalx("hash index: cannot create a mutex");
	return slot;
}

void
hashidx_slot_free(struct hashidx_slot *slot)
{
	if (slot == NULL)
		return;
	hashidx_unref(slot->cur);
	pthread_mutex_destroy(&slot->mu);
	free(slot);
}

struct hashidx *
hashidx_slot_get(struct hashidx_slot *slot)
{
	struct hashidx *idx;

	pthread_mutex_lock(&slot->mu);
	idx = hashidx_ref(slot->cur);
	pthread_mutex_unlock(&slot->mu);
	return idx;
}

void
hashidx_slot_set(struct hashidx_slot *slot, struct hashidx *idx)
{
	struct hashidx *old;

	pthread_mutex_lock(&slot->mu);
	old = slot->cur;
	slot->cur = idx;
	pthread_mutex_unlock(&slot->mu);
	/* Outside the lock: freeing a large index takes a while, and
	 * readers need not wait for it. */
	hashidx_unref(old);
}
