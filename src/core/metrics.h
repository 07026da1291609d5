/*
 * Process-wide counters and histograms, rendered in the Prometheus text
 * format. Recording is lock-free on the hot path (atomics on series that,
 * once created, never move); a mutex is taken only when a new label
 * combination appears, which happens a few dozen times in a process's
 * life. Label values must be short strings chosen by code (route names,
 * status codes, outcomes), never by clients: each family holds at most
 * METRICS_MAX_SERIES combinations and folds the rest into "other".
 */
#ifndef SIGNPOST_CORE_METRICS_H
#define SIGNPOST_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Label combinations per family; enough for every route x status. */
#define METRICS_MAX_SERIES 128

/* An HTTP request completed: endpoint is a route name, micros its time. */
void metrics_http_request(const char *endpoint, unsigned status,
    uint64_t micros);
/* A webapp call ended: endpoint "auth", "single", "bulk" or "list";
 * outcome e.g. "ok", "timeout", "http_error", "malformed". */
void metrics_webapp_call(const char *endpoint, const char *outcome,
    unsigned ms);
/* Open client connections, +1 or -1. */
void metrics_connections(int delta);

/* Gauges only the caller can read at render time. */
struct metrics_snapshot {
	uint64_t cache_hits, cache_misses;
	size_t cache_entries;
	int index_available;     /* 0: no hash index (yet) */
	size_t index_entries;
	double index_age_seconds;
};

/*
 * The whole exposition: counters, histograms, then the snapshot's gauges
 * and build information. Returns a new string (caller frees), its length
 * in *len.
 */
char *metrics_render(const struct metrics_snapshot *snap, size_t *len);

#endif
