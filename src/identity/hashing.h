/*
 * The lookup pepper and the index of sha256 hashes behind v2 lookups.
 *
 * The index is built from the store's listing (backend list op) at start
 * and every refresh interval, off to the side: a new index replaces the old
 * one only when complete, so lookups never see a half-built one. With
 * rotation, a new pepper is published together with the index built for
 * it, so a client's pepper and the index always agree.
 */
#ifndef SIGNPOST_IDENTITY_HASHING_H
#define SIGNPOST_IDENTITY_HASHING_H

#include <stdbool.h>

#include "identity/hashindex.h"
#include "identity/identity.h"
#include "store/store.h"

struct hashing_opts {
	unsigned pepper_length; /* characters of a new pepper */
	unsigned rotation_s;    /* 0: the pepper never changes */
	unsigned refresh_s;     /* index rebuild interval */
	unsigned retry_s;       /* after a failed build, if shorter: a webapp
				   down at start should not leave sha256
				   lookups empty for a whole interval */
};

struct hashing;

/*
 * Loads the pepper from st (creating one if none) and, when the store can
 * list its bindings, starts building the index. NULL on storage failure.
 */
struct hashing *hashing_start(struct store *st, struct identity *id,
    const struct hashing_opts *opts);
void hashing_stop(struct hashing *h);

/* Whether sha256 lookups can be answered (the store can list). */
bool hashing_sha256_available(const struct hashing *h);
/* The pepper clients must use now; a new string. */
char *hashing_pepper(struct hashing *h);
/*
 * Serves old's index (same pepper only) until h has built its own: a
 * reload then never drops sha256 lookups while the new index builds. The
 * caller knows both list the same store for the same domain.
 */
void hashing_adopt(struct hashing *h, struct hashing *old);
/* The index in use: 0 and its size and age, or -1 when none is built. */
int hashing_index_info(struct hashing *h, size_t *entries,
    double *age_seconds);
/* A reference to the current index (hashidx_unref it), or NULL when none
 * has been built yet. */
struct hashidx *hashing_index(struct hashing *h);

#endif
