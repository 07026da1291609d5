/*
 * The index that answers hashed (v2 "sha256") lookups: for every known 3PID,
 * the SHA-256 of "<address> <medium> <pepper>" and the Matrix user who owns
 * it. A client sends only the hash, so Signpost must have hashed every
 * binding in advance; the owner lists them from the store, adds them to a
 * builder and publishes the finished index.
 *
 * A finished index never changes. It is reference counted (atomically), so
 * a reader that took a reference keeps a valid index while the owner
 * publishes its successor; struct hashidx_slot is the published pointer.
 * A builder belongs to one thread at a time; a finished index may be read
 * from any number of threads.
 *
 * Memory: one flat array of 32-byte digests with a 4-byte user number each,
 * and each distinct Matrix user id stored once, so 3PIDs of the same user
 * share one string.
 */
#ifndef SIGNPOST_IDENTITY_HASHINDEX_H
#define SIGNPOST_IDENTITY_HASHINDEX_H

#include <stddef.h>
#include <stdint.h>

/* Characters of a SHA-256 digest in unpadded url-safe base64, and the
 * buffer that holds them with their NUL. */
#define HASHIDX_B64_LEN 43
#define HASHIDX_B64_SIZE (HASHIDX_B64_LEN + 1)

struct hashidx;
struct hashidx_builder;
struct hashidx_slot;

/*
 * Writes the v2 lookup hash of (medium, address) under pepper to out: the
 * url-safe, unpadded base64 of SHA-256("<address> <medium> <pepper>").
 */
void hashidx_hash_b64(const char *medium, const char *address,
    const char *pepper, char out[HASHIDX_B64_SIZE]);

/* Starts an empty index for pepper (copied). Never NULL. */
struct hashidx_builder *hashidx_builder_new(const char *pepper);

/*
 * Adds the binding (medium, address) -> mxid. The strings are not kept:
 * the address is hashed and mxid is copied once per distinct value. mxid
 * should be the final Matrix user id (a store's localpart mapped already).
 * When the same (medium, address) is added more than once, the last mxid
 * added wins; hashidx_dropped() counts the others. Beyond 2^32 - 1 entries,
 * distinct users or bytes of user ids the process stops (fatalx).
 */
void hashidx_builder_add(struct hashidx_builder *b, const char *medium,
    const char *address, const char *mxid);

/* Entries added so far, duplicates included. */
size_t hashidx_builder_count(const struct hashidx_builder *b);

/*
 * Turns the builder into an index holding one reference, which the caller
 * owns, and frees the builder (do not use or free it afterwards). Sorting
 * takes O(n log n); an empty builder gives a valid empty index.
 */
struct hashidx *hashidx_builder_finish(struct hashidx_builder *b);

/* Discards a builder that will not be finished. NULL is fine. */
void hashidx_builder_free(struct hashidx_builder *b);

/*
 * The Matrix user id bound to the 3PID whose hash is hash_b64url, or NULL
 * when there is none, or when hash_b64url is NULL or not exactly 43
 * characters of canonical url-safe base64 without padding (a standard
 * alphabet '+' or '/', a trailing '=', or unused low bits set are all
 * NULL). The string lives as long as the caller's reference to idx.
 */
const char *hashidx_find(const struct hashidx *idx, const char *hash_b64url);

/* Distinct hashes in the index (duplicates dropped). */
size_t hashidx_size(const struct hashidx *idx);
/* Entries added to the builder that a later duplicate replaced. */
size_t hashidx_dropped(const struct hashidx *idx);
/* Distinct Matrix user ids in the index. */
size_t hashidx_users(const struct hashidx *idx);
/* The pepper the index was built with; lives as long as idx. */
const char *hashidx_pepper(const struct hashidx *idx);
/* When the index was finished, in milliseconds since the Unix epoch. */
uint64_t hashidx_built_at_ms(const struct hashidx *idx);
/* Bytes the index holds on the heap (the figure for logs and metrics). */
size_t hashidx_bytes(const struct hashidx *idx);

/* Takes one more reference; returns idx. NULL is fine. */
struct hashidx *hashidx_ref(struct hashidx *idx);
/* Drops one reference, freeing the index with the last one. NULL is fine. */
void hashidx_unref(struct hashidx *idx);

/*
 * The published index: a pointer that readers and the owner swap under a
 * mutex, so no reader ever sees a half-built index. Never NULL.
 */
struct hashidx_slot *hashidx_slot_new(void);
/* Drops the slot's reference to its index and frees it. NULL is fine. */
void hashidx_slot_free(struct hashidx_slot *slot);
/*
 * Returns a new reference to the published index (the caller must
 * hashidx_unref it), or NULL when none has been published yet.
 */
struct hashidx *hashidx_slot_get(struct hashidx_slot *slot);
/*
 * Publishes idx, taking over the caller's reference (NULL unpublishes),
 * and drops the slot's reference to the previous index, which is freed
 * once the last reader lets go of it.
 */
void hashidx_slot_set(struct hashidx_slot *slot, struct hashidx *idx);

#endif
