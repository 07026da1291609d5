/*
 * Endpoints for operators rather than Matrix clients:
 *   GET /status            mxisd's liveness answer, {"status":{"health":"OK"}}
 *   GET /version           mxisd's shape: {"server":{"name","version"}}
 *   GET /_signpost/ready   200 when the webapp answers, else 503 (for load
 *                          balancers and orchestrators)
 *   GET /_signpost/metrics Prometheus text, from metrics.allowFrom only
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "api/internal.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/util.h"
#include "identity/hashing.h"
#include "identity/identity.h"

/* A successful probe vouches for the webapp this long, so a balancer
 * polling every second costs the webapp one call per interval at most. */
#define READY_FRESH_MS 5000

static const char *const metrics_headers[] = {
	"Content-Type", "text/plain; version=0.0.4; charset=utf-8",
	NULL,
};

void
api_ops_status(struct api *api, struct http_request *req)
{
	(void)api;
	api_reply_json(req, 200, json_pack("{s:{s:s}}", "status", "health",
	    "OK"));
}

void
api_ops_version(struct api *api, struct http_request *req)
{
	(void)api;
	api_reply_json(req, 200, json_pack("{s:{s:s,s:s}}", "server", "name",
	    "signpost", "version", SIGNPOST_VERSION));
}

struct ready_ctx {
	struct api *api;
	struct http_request *req;
};

static void
on_probe(const struct identity_lookup_result *res, void *arg)
{
	struct ready_ctx *ctx = arg;

	if (res->verdict == BACKEND_ERROR) {
		api_reply_json(ctx->req, 503, json_pack("{s:b,s:s}", "ready",
		    0, "error", res->fault == BACKEND_FAULT_TIMEOUT ?
		    "the webapp did not answer in time" :
		    "the webapp could not be reached or answered wrongly"));
	} else {
		if (res->verdict == BACKEND_YES)
			atomic_store(&ctx->api->ready_until_ms,
			    now_monotonic_ms() + READY_FRESH_MS);
		api_reply_json(ctx->req, 200, json_pack("{s:b}", "ready", 1));
	}
	free(ctx);
}

void
api_ops_ready(struct api *api, struct http_request *req)
{
	struct ready_ctx *ctx;

	if (now_monotonic_ms() < atomic_load(&api->ready_until_ms)) {
		api_reply_json(req, 200, json_pack("{s:b}", "ready", 1));
		return;
	}
	ctx = xmalloc(sizeof(*ctx));
	ctx->api = api;
	ctx->req = req;
	if (identity_probe(api->identity, on_probe, ctx) != 0) {
		free(ctx);
		api_reply_error(req, 503, "M_UNKNOWN", "Signpost is shutting down");
	}
}

void
api_ops_metrics(struct api *api, struct http_request *req)
{
	struct metrics_snapshot snap = { 0 };
	struct cache_stats cs;
	size_t len;
	char *text;

	if (!api->metrics_enabled) {
		api_reply_error(req, 404, "M_UNRECOGNIZED",
		    "Metrics are turned off (metrics.enabled)");
		return;
	}
	if (!cidr_list_match(&api->metrics_allow, http_req_peer(req))) {
		api_reply_error(req, 403, "M_FORBIDDEN",
		    "Metrics are not served to this address (metrics.allowFrom)");
		return;
	}
	identity_cache_stats(api->identity, &cs);
	snap.cache_hits = cs.hits;
	snap.cache_misses = cs.misses;
	snap.cache_entries = cs.entries;
	snap.index_available = hashing_index_info(api->hashing,
	    &snap.index_entries, &snap.index_age_seconds) == 0;
	text = metrics_render(&snap, &len);
	http_respond(req, 200, text, len, metrics_headers);
}
