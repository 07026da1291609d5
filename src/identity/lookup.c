/*
 * Lookups: who owns a 3PID. Single lookups go to the store as they are;
 * bulk lookups are cut into chunks that run concurrently (or, when the
 * store has no bulk lookup, into concurrent single lookups) and gathered
 * back in the order the caller asked.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "identity/identity.h"
#include "identity/internal.h"

struct single_call {
	struct identity *id;
	identity_lookup_cb cb;
	void *arg;
	struct backend_threepid q; /* for the bulk fallback, which keeps q */
	char *medium, *address;
};

/* One bulk request, shared by the chunks under way for it. */
struct gather {
	struct identity *id;
	const struct backend_threepid *q;
	size_t n;
	identity_bulk_cb cb;
	void *arg;

	pthread_mutex_t lock; /* chunks may end on different threads */
	size_t pending;       /* chunks under way, plus one while starting */
	char **mxids;
	size_t nmatched;
	enum backend_verdict verdict;
	enum backend_fault fault;
};

struct chunk {
	struct gather *g;
	size_t first; /* index of the chunk's first query */
};

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

static void
single_finish(struct single_call *call, enum backend_verdict verdict,
    enum backend_fault fault, const struct backend_id *bid)
{
	struct identity_lookup_result res = { .verdict = verdict,
	    .fault = fault };
	char *mxid = NULL;

	if (verdict == BACKEND_YES) {
		mxid = map_or_warn(call->id, bid);
		res.mxid = mxid;
		if (mxid == NULL)
			res.verdict = BACKEND_NO;
	}
	call->cb(&res, call->arg);
	free(mxid);
	free(call->medium);
	free(call->address);
	free(call);
}

static void
on_single(const struct backend_lookup_result *br, void *arg)
{
	single_finish(arg, br->verdict, br->fault, &br->id);
}

static void
on_single_via_bulk(const struct backend_bulk_result *br, void *arg)
{
	if (br->verdict == BACKEND_YES && br->nmatches > 0)
		single_finish(arg, BACKEND_YES, BACKEND_FAULT_NONE,
		    &br->matches[0].id);
	else
		single_finish(arg, br->verdict == BACKEND_ERROR ?
			BACKEND_ERROR : BACKEND_NO, br->fault, NULL);
}

int
identity_lookup(struct identity *id, const char *medium, const char *address,
    identity_lookup_cb cb, void *arg)
{
	const struct backend_ops *ops = id->backend.ops;
	struct single_call *call;
	int rc;

	if (!(id->backend.features & (BACKEND_CAN_SINGLE | BACKEND_CAN_BULK))) {
		struct identity_lookup_result res = { .verdict = BACKEND_NO };

		cb(&res, arg);
		return 0;
	}
	call = xcalloc(1, sizeof(*call));
	call->id = id;
	call->cb = cb;
	call->arg = arg;
	call->medium = xstrdup(medium);
	call->address = xstrdup(address);
	call->q.medium = call->medium;
	call->q.address = call->address;
	if (id->backend.features & BACKEND_CAN_SINGLE)
		rc = ops->lookup(id->backend.self, &call->q, on_single, call);
	else
		rc = ops->bulk_lookup(id->backend.self, &call->q, 1,
		    on_single_via_bulk, call);
	if (rc != 0) {
		free(call->medium);
		free(call->address);
		free(call);
	}
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
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static void
record_match(struct gather *g, size_t index, const struct backend_id *bid)
{
	char *mxid = map_or_warn(g->id, bid);

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

static void
on_chunk(const struct backend_bulk_result *br, void *arg)
{
	struct chunk *c = arg;
	struct gather *g = c->g;

	if (br->verdict == BACKEND_ERROR) {
		gather_fail(g, br->fault);
	} else {
		for (size_t i = 0; i < br->nmatches; i++)
			record_match(g, c->first + br->matches[i].index,
			    &br->matches[i].id);
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
	} else if (br->verdict == BACKEND_YES) {
		record_match(g, c->first, &br->id);
	}
	free(c);
	gather_release(g);
}

/* Starts one store call for q[first..first+len); on a refused start the
 * chunk counts as failed. */
static void
start_chunk(struct gather *g, size_t first, size_t len, bool bulk)
{
	const struct backend_ops *ops = g->id->backend.ops;
	struct chunk *c = xmalloc(sizeof(*c));
	int rc;

	c->g = g;
	c->first = first;
	pthread_mutex_lock(&g->lock);
	g->pending++;
	pthread_mutex_unlock(&g->lock);
	if (bulk)
		rc = ops->bulk_lookup(g->id->backend.self, g->q + first, len,
		    on_chunk, c);
	else
		rc = ops->lookup(g->id->backend.self, g->q + first,
		    on_fanned_single, c);
	if (rc != 0) {
		/* Never the last count: identity_bulk_lookup holds one. */
		free(c);
		gather_fail(g, BACKEND_FAULT_BAD_GATEWAY);
		gather_release(g);
	}
}

int
identity_bulk_lookup(struct identity *id, const struct backend_threepid *q,
    size_t n, identity_bulk_cb cb, void *arg)
{
	bool bulk = id->backend.features & BACKEND_CAN_BULK;
	bool single = id->backend.features & BACKEND_CAN_SINGLE;
	size_t step = bulk ? id->bulk_chunk : 1;
	struct gather *g = xcalloc(1, sizeof(*g));

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
	if (bulk || single)
		for (size_t first = 0; first < n; first += step)
			start_chunk(g, first, n - first < step ? n - first : step,
			    bulk);
	gather_release(g);
	return 0;
}
