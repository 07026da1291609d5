/*
 * Lookups: who owns a 3PID. Single lookups go to the store as they are;
 * bulk lookups are cut into chunks that run concurrently (or, when the
 * store has no bulk lookup, into concurrent single lookups) and gathered
 * back in the order the caller asked.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/util.h"
#include "identity/identity.h"
#include "identity/internal.h"

/* Cache keys are "<medium>\0<address>": a NUL cannot occur in either
 * (both come from JSON strings or decoded query arguments that were
 * checked for NUL), so the pair maps to one key only. Keys up to this
 * size are built on the stack, the common case. */
#define KEY_STACK 320

/* Buckets of the table of lookups under way; their number is bounded by
 * the open connections, so chains stay short. */
#define FLIGHT_BUCKETS 1024

struct qkey {
	char stack[KEY_STACK];
	char *p;
	size_t len;
};

struct waiter {
	struct waiter *next;
	identity_lookup_cb cb;
	void *arg;
};

/* One store call for a (medium, address), with everybody waiting on it. */
struct flight {
	struct flight *next; /* in its bucket */
	uint64_t hash;
	struct identity *id;
	char *key;
	size_t klen;
	struct backend_threepid q; /* for the bulk fallback, which keeps q */
	struct waiter *waiters;
	struct flight *queued_next; /* waiting in the batcher */
	bool counted;               /* in the batcher's in_flight */
};

/*
 * Misses beyond lookup.batchAfter single calls under way wait here, and
 * go to the webapp together, as one bulk call, when a call ends: under a
 * burst of distinct addresses the webapp answers a few bulk calls instead
 * of one call per address, and a quiet server still asks at once.
 */
struct batcher {
	pthread_mutex_t lock;
	unsigned limit;       /* lookup.batchAfter; 0: never batch */
	size_t max;           /* entries per batched call */
	unsigned in_flight;   /* counted calls under way */
	struct flight *head, *tail;
};

/* One batched bulk call: the flights it answers, in the order asked. */
struct batch_call {
	struct identity *id;
	size_t n;
	struct flight **flights;
	struct backend_threepid *q;
};

struct flights {
	pthread_mutex_t lock;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct flight *buckets[FLIGHT_BUCKETS];
};

/* One bulk request, shared by the chunks under way for it. */
struct gather {
	struct identity *id;
	const struct backend_threepid *q;
	size_t n;
	identity_bulk_cb cb;
	void *arg;
	/* The queries the cache could not answer, and where each sits in q. */
	struct backend_threepid *mq;
	size_t *midx;

	pthread_mutex_t lock; /* chunks may end on different threads */
	size_t pending;       /* chunks under way, plus one while starting */
	char **mxids;
	size_t nmatched;
	enum backend_verdict verdict;
	enum backend_fault fault;
};

struct chunk {
	struct gather *g;
	size_t first, len; /* a range of g->mq */
};

static void
qkey_init(struct qkey *k, const char *medium, const char *address)
{
	size_t ml = strlen(medium), al = strlen(address);

	k->len = ml + 1 + al;
	k->p = k->len <= sizeof(k->stack) ? k->stack : xmalloc(k->len);
	memcpy(k->p, medium, ml + 1);
	memcpy(k->p + ml + 1, address, al);
}

static void
qkey_done(struct qkey *k)
{
	if (k->p != k->stack)
		free(k->p);
}

/*
 * The cached answer for key: 1 and *mxid (a copy, NULL when nobody owns
 * the address), or 0 when the cache cannot say.
 */
static int
cache_answer(struct identity *id, const struct qkey *k, char **mxid)
{
	size_t len;

	if (id->cache == NULL ||
	    cache_get(id->cache, k->p, k->len, now_monotonic_ms(), mxid,
		&len) != 1)
		return 0;
	if (len == 0) { /* no user id is empty: this is "nobody" */
		free(*mxid);
		*mxid = NULL;
	}
	return 1;
}

static void
cache_remember(struct identity *id, const struct qkey *k, const char *mxid)
{
	uint64_t ttl = mxid != NULL ? id->ttl_ms : id->negative_ttl_ms;

	if (id->cache == NULL || ttl == 0)
		return;
	cache_put(id->cache, k->p, k->len, mxid, mxid ? strlen(mxid) : 0,
	    now_monotonic_ms() + ttl);
}

static char *
map_or_warn(struct identity *id, const struct backend_id *bid)
{
	char *mxid = identity_map_id(bid, id->domain);

	/* The backend checked the id's syntax; only an over-long user id
	 * (localpart plus a long domain) can still fail here. */
	if (mxid == NULL)
		log_warnx("%s backend: a lookup answer names an invalid user "
		    "id; treated as no match", id->backend.ops->name);
	return mxid;
}

struct flights *
identity_flights_new(void)
{
	struct flights *f = xcalloc(1, sizeof(*f));

	pthread_mutex_init(&f->lock, NULL);
	crypto_shorthash_keygen(f->hkey);
	return f;
}

void
identity_flights_free(struct flights *f)
{
	if (f == NULL)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static uint64_t
flight_hash(const struct flights *fl, const struct qkey *k)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, (const unsigned char *)k->p, k->len, fl->hkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* Unlinks f from the table and hands back its waiters. Caller locks. */
static struct waiter *
flight_unlink(struct flights *fl, struct flight *f)
{
	struct flight **p = &fl->buckets[f->hash % FLIGHT_BUCKETS];

	while (*p != f)
		p = &(*p)->next;
	*p = f->next;
	return f->waiters;
}

static void
flight_free(struct flight *f)
{
	free(f->key);
	free(f);
}

/* The store answered: remember the answer, then tell every waiter. */
static void
flight_land(struct flight *f, enum backend_verdict verdict,
    enum backend_fault fault, const struct backend_id *bid)
{
	struct identity *id = f->id;
	struct identity_lookup_result res = { .verdict = verdict,
	    .fault = fault };
	struct qkey k = { .p = f->key, .len = f->klen };
	struct waiter *w, *next;
	char *mxid = NULL;

	if (verdict == BACKEND_YES) {
		mxid = map_or_warn(id, bid);
		res.mxid = mxid;
		if (mxid == NULL)
			res.verdict = BACKEND_NO;
	}
	/* Into the cache before leaving the table, so that a lookup
	 * arriving in between finds one or the other. */
	if (res.verdict != BACKEND_ERROR)
		cache_remember(id, &k, mxid);
	pthread_mutex_lock(&id->flights->lock);
	w = flight_unlink(id->flights, f);
	pthread_mutex_unlock(&id->flights->lock);
	for (; w != NULL; w = next) {
		next = w->next;
		w->cb(&res, w->arg);
		free(w);
	}
	free(mxid);
	flight_free(f);
}

static void batch_done(struct identity *id);

/* Lands f, then lets the batcher start what waited for this call. */
static void
flight_land_counted(struct flight *f, enum backend_verdict verdict,
    enum backend_fault fault, const struct backend_id *bid)
{
	struct identity *id = f->id;
	bool counted = f->counted;

	flight_land(f, verdict, fault, bid);
	if (counted)
		batch_done(id);
}

static void
on_single(const struct backend_lookup_result *br, void *arg)
{
	flight_land_counted(arg, br->verdict, br->fault, &br->id);
}

static void
on_single_via_bulk(const struct backend_bulk_result *br, void *arg)
{
	if (br->verdict == BACKEND_YES && br->nmatches > 0)
		flight_land_counted(arg, BACKEND_YES, BACKEND_FAULT_NONE,
		    &br->matches[0].id);
	else
		flight_land_counted(arg, br->verdict == BACKEND_ERROR ?
			BACKEND_ERROR : BACKEND_NO, br->fault, NULL);
}

/* A store call that would not start: the waiters that joined meanwhile
 * were promised an answer, the starter (returning -1) was not. */
static void
flight_abort(struct flight *f, struct waiter *starter)
{
	struct identity_lookup_result res = { .verdict = BACKEND_ERROR,
	    .fault = BACKEND_FAULT_BAD_GATEWAY };
	struct waiter *w, *next;

	pthread_mutex_lock(&f->id->flights->lock);
	w = flight_unlink(f->id->flights, f);
	pthread_mutex_unlock(&f->id->flights->lock);
	for (; w != NULL; w = next) {
		next = w->next;
		if (w != starter)
			w->cb(&res, w->arg);
		free(w);
	}
	flight_free(f);
}

struct batcher *
identity_batcher_new(unsigned limit, size_t max)
{
	struct batcher *b = xcalloc(1, sizeof(*b));

	pthread_mutex_init(&b->lock, NULL);
	b->limit = limit;
	b->max = max > 0 ? max : 1;
	return b;
}

void
identity_batcher_free(struct batcher *b)
{
	if (b == NULL)
		return;
	/* Every call has ended by now (the engine stopped), and each end
	 * emptied the queue. */
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/*
 * Decides for a new flight: true when it was queued for a later batch
 * (its store call is the batcher's business now); false when the caller
 * starts it at once, counted when batching is on.
 */
static bool
batch_or_count(struct identity *id, struct flight *f)
{
	struct batcher *b = id->batcher;
	bool queued = false;

	if (b->limit == 0 || !(id->backend.features & BACKEND_CAN_BULK))
		return false;
	pthread_mutex_lock(&b->lock);
	if (b->in_flight >= b->limit) {
		f->queued_next = NULL;
		if (b->tail != NULL)
			b->tail->queued_next = f;
		else
			b->head = f;
		b->tail = f;
		queued = true;
	} else {
		b->in_flight++;
		f->counted = true;
	}
	pthread_mutex_unlock(&b->lock);
	if (queued)
		log_debug("lookup: queued for the next batched webapp call");
	return queued;
}

static void
batch_free(struct batch_call *bc)
{
	free(bc->flights);
	free(bc->q);
	free(bc);
}

static void
on_batch(const struct backend_bulk_result *br, void *arg)
{
	struct batch_call *bc = arg;
	struct identity *id = bc->id;
	const struct backend_id **found = xcalloc(bc->n, sizeof(*found));

	if (br->verdict != BACKEND_ERROR)
		for (size_t i = 0; i < br->nmatches; i++)
			if (br->matches[i].index < bc->n &&
			    found[br->matches[i].index] == NULL)
				found[br->matches[i].index] = &br->matches[i].id;
	for (size_t i = 0; i < bc->n; i++) {
		if (br->verdict == BACKEND_ERROR)
			flight_land(bc->flights[i], BACKEND_ERROR, br->fault, NULL);
		else if (found[i] != NULL)
			flight_land(bc->flights[i], BACKEND_YES,
			    BACKEND_FAULT_NONE, found[i]);
		else
			flight_land(bc->flights[i], BACKEND_NO,
			    BACKEND_FAULT_NONE, NULL);
	}
	free(found);
	batch_free(bc);
	batch_done(id);
}

/* A counted call ended: start batches for what waits, while there is
 * room. A batch that cannot start fails its flights and frees its room
 * at once, so the loop always ends. */
static void
batch_done(struct identity *id)
{
	struct batcher *b = id->batcher;
	struct batch_call *bc;
	struct flight *f;

	pthread_mutex_lock(&b->lock);
	b->in_flight--;
	while (b->head != NULL && b->in_flight < b->limit) {
		bc = xcalloc(1, sizeof(*bc));
		bc->id = id;
		bc->flights = xmalloc(b->max * sizeof(*bc->flights));
		while (b->head != NULL && bc->n < b->max) {
			f = b->head;
			b->head = f->queued_next;
			bc->flights[bc->n++] = f;
		}
		if (b->head == NULL)
			b->tail = NULL;
		b->in_flight++;
		pthread_mutex_unlock(&b->lock);

		bc->q = xmalloc(bc->n * sizeof(*bc->q));
		for (size_t i = 0; i < bc->n; i++)
			bc->q[i] = bc->flights[i]->q;
		if (id->backend.ops->bulk_lookup(id->backend.self, bc->q, bc->n,
			on_batch, bc) != 0) {
			for (size_t i = 0; i < bc->n; i++)
				flight_land(bc->flights[i], BACKEND_ERROR,
				    BACKEND_FAULT_BAD_GATEWAY, NULL);
			batch_free(bc);
			pthread_mutex_lock(&b->lock);
			b->in_flight--;
			continue;
		}
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
}

/* Joins the store call under way for k, or starts one. */
static int
join_or_start(struct identity *id, const struct qkey *k,
    identity_lookup_cb cb, void *arg)
{
	struct flights *fl = id->flights;
	uint64_t h = flight_hash(fl, k);
	struct waiter *w = xmalloc(sizeof(*w));
	struct flight *f;
	size_t mlen;
	int rc;

	w->cb = cb;
	w->arg = arg;
	pthread_mutex_lock(&fl->lock);
	for (f = fl->buckets[h % FLIGHT_BUCKETS]; f != NULL; f = f->next)
		if (f->hash == h && f->klen == k->len &&
		    memcmp(f->key, k->p, k->len) == 0)
			break;
	if (f != NULL) {
		w->next = f->waiters;
		f->waiters = w;
		pthread_mutex_unlock(&fl->lock);
		log_debug("lookup: joined an identical webapp call under way");
		return 0;
	}
	f = xcalloc(1, sizeof(*f));
	f->hash = h;
	f->id = id;
	/* One copy serves as key and as the query: "medium\0address\0". */
	f->key = xmalloc(k->len + 1);
	memcpy(f->key, k->p, k->len);
	f->key[k->len] = '\0';
	f->klen = k->len;
	mlen = strlen(f->key);
	f->q.medium = f->key;
	f->q.address = f->key + mlen + 1;
	w->next = NULL;
	f->waiters = w;
	f->next = fl->buckets[h % FLIGHT_BUCKETS];
	fl->buckets[h % FLIGHT_BUCKETS] = f;
	pthread_mutex_unlock(&fl->lock);

	if (batch_or_count(id, f))
		return 0;
	if (id->backend.features & BACKEND_CAN_SINGLE)
		rc = id->backend.ops->lookup(id->backend.self, &f->q, on_single,
		    f);
	else
		rc = id->backend.ops->bulk_lookup(id->backend.self, &f->q, 1,
		    on_single_via_bulk, f);
	if (rc != 0) {
		bool counted = f->counted;

		flight_abort(f, w);
		if (counted)
			batch_done(id);
	}
	return rc;
}

int
identity_lookup(struct identity *id, const char *medium, const char *address,
    identity_lookup_cb cb, void *arg)
{
	struct identity_lookup_result res = { .verdict = BACKEND_NO };
	struct qkey k;
	char *mxid;
	int rc = 0;

	if (!(id->backend.features & (BACKEND_CAN_SINGLE | BACKEND_CAN_BULK))) {
		cb(&res, arg);
		return 0;
	}
	qkey_init(&k, medium, address);
	if (cache_answer(id, &k, &mxid)) {
		if (mxid != NULL) {
			res.verdict = BACKEND_YES;
			res.mxid = mxid;
		}
		cb(&res, arg);
		free(mxid);
	} else {
		rc = join_or_start(id, &k, cb, arg);
	}
	qkey_done(&k);
	return rc;
}

/* The address the readiness probe asks about: under a reserved domain
 * (RFC 2606), so no webapp can have it. */
#define PROBE_ADDRESS "signpost-readiness-probe@example.invalid"

struct probe {
	identity_lookup_cb cb;
	void *arg;
	struct backend_threepid q;
};

static void
probe_land(struct probe *p, enum backend_verdict verdict,
    enum backend_fault fault)
{
	struct identity_lookup_result res = {
		.verdict = verdict == BACKEND_ERROR ? BACKEND_ERROR : BACKEND_YES,
		.fault = fault,
	};

	p->cb(&res, p->arg);
	free(p);
}

static void
on_probe_single(const struct backend_lookup_result *br, void *arg)
{
	probe_land(arg, br->verdict, br->fault);
}

static void
on_probe_bulk(const struct backend_bulk_result *br, void *arg)
{
	probe_land(arg, br->verdict, br->fault);
}

int
identity_probe(struct identity *id, identity_lookup_cb cb, void *arg)
{
	struct probe *p;
	int rc;

	if (!(id->backend.features & (BACKEND_CAN_SINGLE | BACKEND_CAN_BULK))) {
		struct identity_lookup_result res = { .verdict = BACKEND_NO };

		cb(&res, arg);
		return 0;
	}
	p = xmalloc(sizeof(*p));
	p->cb = cb;
	p->arg = arg;
	p->q.medium = "email";
	p->q.address = PROBE_ADDRESS;
	if (id->backend.features & BACKEND_CAN_BULK)
		rc = id->backend.ops->bulk_lookup(id->backend.self, &p->q, 1,
		    on_probe_bulk, p);
	else
		rc = id->backend.ops->lookup(id->backend.self, &p->q,
		    on_probe_single, p);
	if (rc != 0)
		free(p);
	return rc;
}

/* Records a chunk's failure; the first fault wins, a timeout outranks. */
static void
gather_fail(struct gather *g, enum backend_fault fault)
{
	pthread_mutex_lock(&g->lock);
	if (g->verdict != BACKEND_ERROR || fault == BACKEND_FAULT_TIMEOUT)
		g->fault = fault;
	g->verdict = BACKEND_ERROR;
	pthread_mutex_unlock(&g->lock);
}

/* Drops one pending count; the last one answers and frees. */
static void
gather_release(struct gather *g)
{
	struct identity_bulk_result res;
	bool last;

	pthread_mutex_lock(&g->lock);
	last = --g->pending == 0;
	pthread_mutex_unlock(&g->lock);
	if (!last)
		return;
	res.verdict = g->verdict;
	res.fault = g->fault;
	res.mxids = g->mxids;
	res.nmatched = g->nmatched;
	g->cb(&res, g->arg);
	for (size_t i = 0; i < g->n; i++)
		free(g->mxids[i]);
	free(g->mxids);
	free(g->mq);
	free(g->midx);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* Takes mxid (may be NULL) as the answer for q[index]. */
static void
record_answer(struct gather *g, size_t index, char *mxid)
{
	if (mxid == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (g->mxids[index] == NULL) {
		g->mxids[index] = mxid;
		g->nmatched++;
		mxid = NULL;
	}
	pthread_mutex_unlock(&g->lock);
	free(mxid);
}

/* Caches what a chunk found, and that the rest of it has no owner. Each
 * index belongs to one chunk, so its entry is this thread's to read. */
static void
remember_chunk(struct gather *g, const struct chunk *c)
{
	struct qkey k;

	if (g->id->cache == NULL)
		return;
	for (size_t j = c->first; j < c->first + c->len; j++) {
		size_t i = g->midx[j];

		qkey_init(&k, g->q[i].medium, g->q[i].address);
		cache_remember(g->id, &k, g->mxids[i]);
		qkey_done(&k);
	}
}

static void
on_chunk(const struct backend_bulk_result *br, void *arg)
{
	struct chunk *c = arg;
	struct gather *g = c->g;

	if (br->verdict == BACKEND_ERROR) {
		gather_fail(g, br->fault);
	} else {
		for (size_t i = 0; i < br->nmatches; i++)
			record_answer(g, g->midx[c->first + br->matches[i].index],
			    map_or_warn(g->id, &br->matches[i].id));
		remember_chunk(g, c);
	}
	free(c);
	gather_release(g);
}

static void
on_fanned_single(const struct backend_lookup_result *br, void *arg)
{
	struct chunk *c = arg;
	struct gather *g = c->g;

	if (br->verdict == BACKEND_ERROR) {
		gather_fail(g, br->fault);
	} else {
		if (br->verdict == BACKEND_YES)
			record_answer(g, g->midx[c->first],
			    map_or_warn(g->id, &br->id));
		remember_chunk(g, c);
	}
	free(c);
	gather_release(g);
}

/* Starts one store call for mq[first..first+len); on a refused start the
 * chunk counts as failed. */
static void
start_chunk(struct gather *g, size_t first, size_t len, bool bulk)
{
	const struct backend_ops *ops = g->id->backend.ops;
	struct chunk *c = xmalloc(sizeof(*c));
	int rc;

	c->g = g;
	c->first = first;
	c->len = len;
	pthread_mutex_lock(&g->lock);
	g->pending++;
	pthread_mutex_unlock(&g->lock);
	if (bulk)
		rc = ops->bulk_lookup(g->id->backend.self, g->mq + first, len,
		    on_chunk, c);
	else
		rc = ops->lookup(g->id->backend.self, g->mq + first,
		    on_fanned_single, c);
	if (rc != 0) {
		/* Never the last count: identity_bulk_lookup holds one. */
		free(c);
		gather_fail(g, BACKEND_FAULT_BAD_GATEWAY);
		gather_release(g);
	}
}

/* Answers what the cache knows; the rest goes into g->mq. Returns how
 * many queries are left for the store. */
static size_t
gather_from_cache(struct gather *g)
{
	size_t misses = 0;
	struct qkey k;
	char *mxid;

	g->mq = xmalloc(g->n * sizeof(*g->mq));
	g->midx = xmalloc(g->n * sizeof(*g->midx));
	for (size_t i = 0; i < g->n; i++) {
		qkey_init(&k, g->q[i].medium, g->q[i].address);
		if (cache_answer(g->id, &k, &mxid)) {
			/* Nobody else touches g yet. */
			if (mxid != NULL) {
				g->mxids[i] = mxid;
				g->nmatched++;
			}
		} else {
			g->mq[misses] = g->q[i];
			g->midx[misses++] = i;
		}
		qkey_done(&k);
	}
	return misses;
}

int
identity_bulk_lookup(struct identity *id, const struct backend_threepid *q,
    size_t n, identity_bulk_cb cb, void *arg)
{
	bool bulk = id->backend.features & BACKEND_CAN_BULK;
	bool single = id->backend.features & BACKEND_CAN_SINGLE;
	size_t step = bulk ? id->bulk_chunk : 1;
	struct gather *g = xcalloc(1, sizeof(*g));
	size_t misses;

	g->id = id;
	g->q = q;
	g->n = n;
	g->cb = cb;
	g->arg = arg;
	g->mxids = xcalloc(n, sizeof(*g->mxids));
	g->verdict = BACKEND_YES;
	pthread_mutex_init(&g->lock, NULL);
	/* The extra count keeps an early finishing chunk from answering
	 * before every chunk has started. */
	g->pending = 1;
	misses = gather_from_cache(g);
	if (bulk || single)
		for (size_t first = 0; first < misses; first += step)
			start_chunk(g, first,
			    misses - first < step ? misses - first : step, bulk);
	gather_release(g);
	return 0;
}
