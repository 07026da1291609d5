#include "identity/hashing.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/log.h"
#include "core/util.h"
#include "identity/internal.h"

/* Entries asked for per listing page. */
#define LIST_PAGE_LIMIT 1000
/* The settings name the pepper is kept under. */
#define PEPPER_SETTING STORE_SETTING_PEPPER

struct hashing {
	struct store *store;
	struct identity *id;
	struct hashing_opts opts;
	struct hashidx_slot *slot;

	pthread_mutex_t lock; /* guards pepper, building, stopping */
	pthread_cond_t wake;
	char *pepper;
	bool building;
	bool stopping;
	bool retry_soon;  /* the last build failed: the timer shortens */
	uint64_t rotated_at_ms;
	pthread_t timer;
	bool has_timer;
};

/* One build in progress: its own pepper, fed page by page. */
struct build {
	struct hashing *h;
	struct hashidx_builder *b;
	char *pepper;
	bool rotate; /* publish pepper with the index */
	uint64_t started_ms;
	size_t pages;
};

static char *
new_pepper(unsigned len)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char *p = xmalloc(len + 1);

	for (unsigned i = 0; i < len; i++)
		p[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	p[len] = '\0';
	return p;
}

static void build_next(struct build *bd, const char *after);

static void
build_end(struct build *bd, bool ok)
{
	struct hashing *h = bd->h;

	if (ok) {
		struct hashidx *idx = hashidx_builder_finish(bd->b);

		bd->b = NULL;
		pthread_mutex_lock(&h->lock);
		if (bd->rotate) {
			if (store_setting_set(h->store, PEPPER_SETTING,
				bd->pepper) == 0) {
				free(h->pepper);
				h->pepper = xstrdup(bd->pepper);
				h->rotated_at_ms = now_realtime_ms();
				log_info("lookup pepper rotated");
			} else {
				ok = false;
			}
		}
		if (ok && strcmp(h->pepper, bd->pepper) == 0) {
			log_info("hash index built: %zu entries from %zu pages "
			    "in %llu ms", hashidx_size(idx), bd->pages,
			    (unsigned long long)(now_monotonic_ms() -
			    bd->started_ms));
			/* The slot takes over our reference. */
			hashidx_slot_set(h->slot, idx);
			idx = NULL;
		}
		pthread_mutex_unlock(&h->lock);
		hashidx_unref(idx);
	} else {
		log_warnx("hash index not rebuilt; the previous one (if any) "
		    "stays in use; trying again in %u s",
		    h->opts.refresh_s < h->opts.retry_s ? h->opts.refresh_s :
		    h->opts.retry_s);
		pthread_mutex_lock(&h->lock);
		h->retry_soon = true;
		pthread_mutex_unlock(&h->lock);
	}
	hashidx_builder_free(bd->b);
	pthread_mutex_lock(&h->lock);
	h->building = false;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
	free(bd->pepper);
	free(bd);
}

static void
on_page(const struct backend_page_result *res, void *arg)
{
	struct build *bd = arg;

	if (res->verdict != BACKEND_YES) {
		build_end(bd, false);
		return;
	}
	bd->pages++;
	for (size_t i = 0; i < res->nentries; i++) {
		const struct backend_entry *e = &res->entries[i];
		char *mxid = identity_map_id(&e->id, bd->h->id->domain);

		if (mxid != NULL)
			hashidx_builder_add(bd->b, e->tp.medium, e->tp.address,
			    mxid);
		free(mxid);
	}
	if (res->next == NULL)
		build_end(bd, true);
	else
		build_next(bd, res->next);
}

static void
build_next(struct build *bd, const char *after)
{
	struct identity *id = bd->h->id;

	if (id->backend.ops->list(id->backend.self, after, LIST_PAGE_LIMIT,
		on_page, bd) != 0)
		build_end(bd, false);
}

/* Starts a build unless one runs; rotate asks for a new pepper. */
static void
build_start(struct hashing *h, bool rotate)
{
	struct build *bd;

	pthread_mutex_lock(&h->lock);
	if (h->building || h->stopping) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	if (!hashing_sha256_available(h)) {
		/* No index to build: the new pepper only serves "none". */
		char *pepper = new_pepper(h->opts.pepper_length);

		if (rotate && store_setting_set(h->store, PEPPER_SETTING,
			pepper) == 0) {
			free(h->pepper);
			h->pepper = pepper;
			pepper = NULL;
			h->rotated_at_ms = now_realtime_ms();
			log_info("lookup pepper rotated");
		}
		free(pepper);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	h->building = true;
	bd = xcalloc(1, sizeof(*bd));
	bd->h = h;
	bd->rotate = rotate;
	bd->pepper = rotate ? new_pepper(h->opts.pepper_length) :
			      xstrdup(h->pepper);
	pthread_mutex_unlock(&h->lock);
	bd->b = hashidx_builder_new(bd->pepper);
	bd->started_ms = now_monotonic_ms();
	build_next(bd, NULL);
}

/* Rebuilds every refresh interval and rotates when due. */
static void *
timer_main(void *arg)
{
	struct hashing *h = arg;

	for (;;) {
		struct timespec until;
		unsigned secs = h->opts.refresh_s;
		bool rotate;

		pthread_mutex_lock(&h->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += secs;
		for (;;) {
			/* After a failed build (also one that ended before this
			 * thread waited): come back sooner than a whole refresh
			 * interval. build_end wakes us for that. */
			if (h->retry_soon && !h->building) {
				h->retry_soon = false;
				if (secs > h->opts.retry_s)
					secs = h->opts.retry_s;
				clock_gettime(CLOCK_REALTIME, &until);
				until.tv_sec += secs;
			}
			if (h->stopping || pthread_cond_timedwait(&h->wake,
			    &h->lock, &until) != 0)
				break;
		}
		rotate = h->opts.rotation_s > 0 && now_realtime_ms() >=
		    h->rotated_at_ms + (uint64_t)h->opts.rotation_s * 1000;
		if (h->stopping) {
			pthread_mutex_unlock(&h->lock);
			return NULL;
		}
		pthread_mutex_unlock(&h->lock);
		build_start(h, rotate);
	}
}

struct hashing *
hashing_start(struct store *st, struct identity *id,
    const struct hashing_opts *opts)
{
	struct hashing *h = xcalloc(1, sizeof(*h));
	int rc = store_setting_get(st, PEPPER_SETTING, &h->pepper);

	h->store = st;
	h->id = id;
	h->opts = *opts;
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		h->pepper = new_pepper(opts->pepper_length);
		if (store_setting_set(st, PEPPER_SETTING, h->pepper) != 0)
			goto fail;
	}
	h->rotated_at_ms = now_realtime_ms();
	h->slot = hashidx_slot_new();
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->wake, NULL);
	if (!hashing_sha256_available(h)) {
		log_warnx("rest.endpoints.identity.list is empty: hash_details "
		    "offers only \"none\" (sha256 lookups need the listing)");
		if (opts->rotation_s == 0)
			return h;
	} else {
		build_start(h, false);
	}
	if (pthread_create(&h->timer, NULL, timer_main, h) != 0)
		fatalx("cannot start the hash index timer thread");
	h->has_timer = true;
	return h;
fail:
	log_error("cannot read or store the lookup pepper");
	free(h->pepper);
	free(h);
	return NULL;
}

void
hashing_stop(struct hashing *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_broadcast(&h->wake);
	/* A build under way ends through the engine's own timeouts. */
	while (h->building)
		pthread_cond_wait(&h->wake, &h->lock);
	pthread_mutex_unlock(&h->lock);
	if (h->has_timer)
		pthread_join(h->timer, NULL);
	hashidx_slot_free(h->slot);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h->pepper);
	free(h);
}

bool
hashing_sha256_available(const struct hashing *h)
{
	return (h->id->backend.features & BACKEND_CAN_LIST) != 0;
}

char *
hashing_pepper(struct hashing *h)
{
	char *p;

	pthread_mutex_lock(&h->lock);
	p = xstrdup(h->pepper);
	pthread_mutex_unlock(&h->lock);
	return p;
}

struct hashidx *
hashing_index(struct hashing *h)
{
	return hashidx_slot_get(h->slot);
}

void
hashing_adopt(struct hashing *h, struct hashing *old)
{
	struct hashidx *idx, *cur;
	char *pepper;

	if (!hashing_sha256_available(h) || (idx = hashing_index(old)) == NULL)
		return;
	pepper = hashing_pepper(old);
	pthread_mutex_lock(&h->lock);
	/* Under the lock build_end publishes with: a finished build of our
	 * own is newer and wins. */
	cur = hashidx_slot_get(h->slot);
	if (cur == NULL && strcmp(pepper, h->pepper) == 0) {
		hashidx_slot_set(h->slot, idx);
		idx = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	hashidx_unref(cur);
	hashidx_unref(idx);
	free(pepper);
}

int
hashing_index_info(struct hashing *h, size_t *entries, double *age_seconds)
{
	struct hashidx *idx = hashing_index(h);
	uint64_t now = now_realtime_ms(), built;

	if (idx == NULL)
		return -1;
	*entries = hashidx_size(idx);
	built = hashidx_built_at_ms(idx);
	*age_seconds = now > built ? (double)(now - built) / 1000.0 : 0;
	hashidx_unref(idx);
	return 0;
}
