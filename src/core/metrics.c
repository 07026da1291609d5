#include "core/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

/* Histogram bucket bounds in microseconds (rendered in seconds): from a
 * cache hit to a webapp at the edge of its timeout. */
static const uint64_t bounds_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
#define NBOUNDS (sizeof(bounds_us) / sizeof(bounds_us[0]))

/* Longest label value kept; longer ones are cut (they come from code). */
#define LABEL_MAX 32

struct series {
	char l1[LABEL_MAX], l2[LABEL_MAX];
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t sum_us;
	atomic_uint_fast64_t buckets[NBOUNDS]; /* not cumulative */
};

struct family {
	const char *name, *help;
	const char *l1name, *l2name; /* l2name NULL: one label */
	bool histogram;
	pthread_mutex_t lock;        /* taken only to add a series */
	atomic_size_t n;
	struct series series[METRICS_MAX_SERIES];
};

#define FAMILY(n, h, a, b, hist) \
	{ .name = n, .help = h, .l1name = a, .l2name = b, \
	  .histogram = hist, .lock = PTHREAD_MUTEX_INITIALIZER }

static struct family http_requests = FAMILY("signpost_http_requests_total",
    "HTTP requests answered, by endpoint and status.", "endpoint", "status",
    false);
static struct family http_latency = FAMILY(
    "signpost_http_request_duration_seconds",
    "Time from a complete request to its answer sent, by endpoint.",
    "endpoint", NULL, true);
static struct family webapp_calls = FAMILY("signpost_webapp_calls_total",
    "Calls to the webapp, by endpoint and outcome.", "endpoint", "outcome",
    false);
static struct family webapp_latency = FAMILY(
    "signpost_webapp_call_duration_seconds",
    "Time a webapp call took, by endpoint.", "endpoint", NULL, true);

static atomic_long open_connections;

static void
copy_label(char dst[LABEL_MAX], const char *src)
{
	size_t i;

	for (i = 0; i < LABEL_MAX - 1 && src[i] != '\0'; i++)
		/* Keeps the exposition parseable whatever code passes. */
		dst[i] = (src[i] == '"' || src[i] == '\\' ||
		    (unsigned char)src[i] < 0x20) ? '_' : src[i];
	dst[i] = '\0';
}

/* Whether stored is given as copy_label would have stored it. */
static bool
same_label(const char stored[LABEL_MAX], const char *given)
{
	size_t i;

	for (i = 0; i < LABEL_MAX - 1 && given[i] != '\0'; i++)
		if (stored[i] != given[i])
			return false;
	return stored[i] == '\0';
}

/* The series for (l1, l2), created on first use. Series never move and
 * n is published after the series is written, so readers need no lock. */
static struct series *
series_of(struct family *f, const char *l1, const char *l2)
{
	size_t n = atomic_load_explicit(&f->n, memory_order_acquire);
	struct series *s;

	for (size_t i = 0; i < n; i++) {
		s = &f->series[i];
		if (same_label(s->l1, l1) && same_label(s->l2, l2))
			return s;
	}
	pthread_mutex_lock(&f->lock);
	n = atomic_load_explicit(&f->n, memory_order_relaxed);
	for (size_t i = 0; i < n; i++) {
		s = &f->series[i];
		if (same_label(s->l1, l1) && same_label(s->l2, l2)) {
			pthread_mutex_unlock(&f->lock);
			return s;
		}
	}
	if (n == METRICS_MAX_SERIES - 1) {
		/* The last slot is "other", for whatever does not fit. */
		l1 = "other";
		l2 = f->l2name ? "other" : "";
		for (size_t i = 0; i < n; i++) {
			s = &f->series[i];
			if (strcmp(s->l1, l1) == 0 && strcmp(s->l2, l2) == 0) {
				pthread_mutex_unlock(&f->lock);
				return s;
			}
		}
	} else if (n == METRICS_MAX_SERIES) {
		pthread_mutex_unlock(&f->lock);
		return &f->series[n - 1];
	}
	s = &f->series[n];
	copy_label(s->l1, l1);
	copy_label(s->l2, l2);
	atomic_store_explicit(&f->n, n + 1, memory_order_release);
	pthread_mutex_unlock(&f->lock);
	return s;
}

static void
observe(struct family *f, const char *l1, uint64_t us)
{
	struct series *s = series_of(f, l1, "");
	size_t b = 0;

	while (b < NBOUNDS && us > bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_us, us, memory_order_relaxed);
	if (b < NBOUNDS)
		atomic_fetch_add_explicit(&s->buckets[b], 1,
		    memory_order_relaxed);
}

void
metrics_http_request(const char *endpoint, unsigned status, uint64_t micros)
{
	char code[12];

	snprintf(code, sizeof(code), "%u", status);
	atomic_fetch_add_explicit(&series_of(&http_requests, endpoint,
	    code)->count, 1, memory_order_relaxed);
	observe(&http_latency, endpoint, micros);
}

void
metrics_webapp_call(const char *endpoint, const char *outcome, unsigned ms)
{
	atomic_fetch_add_explicit(&series_of(&webapp_calls, endpoint,
	    outcome)->count, 1, memory_order_relaxed);
	observe(&webapp_latency, endpoint, (uint64_t)ms * 1000);
}

void
metrics_connections(int delta)
{
	atomic_fetch_add_explicit(&open_connections, delta,
	    memory_order_relaxed);
}

static void
render_counter(FILE *out, struct family *f)
{
	size_t n = atomic_load_explicit(&f->n, memory_order_acquire);

	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", f->name, f->help,
	    f->name);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s{%s=\"%s\",%s=\"%s\"} %llu\n", f->name,
		    f->l1name, f->series[i].l1, f->l2name, f->series[i].l2,
		    (unsigned long long)atomic_load(&f->series[i].count));
}

static void
render_histogram(FILE *out, struct family *f)
{
	size_t n = atomic_load_explicit(&f->n, memory_order_acquire);

	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", f->name, f->help,
	    f->name);
	for (size_t i = 0; i < n; i++) {
		struct series *s = &f->series[i];
		uint64_t cum = 0, count = atomic_load(&s->count);

		for (size_t b = 0; b < NBOUNDS; b++) {
			cum += atomic_load(&s->buckets[b]);
			/* Counted apart from count: never above it. */
			if (cum > count)
				cum = count;
			fprintf(out, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n",
			    f->name, f->l1name, s->l1,
			    (double)bounds_us[b] / 1e6, (unsigned long long)cum);
		}
		fprintf(out, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n",
		    f->name, f->l1name, s->l1, (unsigned long long)count);
		fprintf(out, "%s_sum{%s=\"%s\"} %.6f\n", f->name, f->l1name,
		    s->l1, (double)atomic_load(&s->sum_us) / 1e6);
		fprintf(out, "%s_count{%s=\"%s\"} %llu\n", f->name, f->l1name,
		    s->l1, (unsigned long long)count);
	}
}

static void
gauge(FILE *out, const char *name, const char *help, const char *type,
    double value)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
	    type, name, value);
}

char *
metrics_render(const struct metrics_snapshot *snap, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	if (out == NULL)
		fatalx("out of memory rendering metrics");
	render_counter(out, &http_requests);
	render_histogram(out, &http_latency);
	render_counter(out, &webapp_calls);
	render_histogram(out, &webapp_latency);
	gauge(out, "signpost_open_connections", "Client connections open now.",
	    "gauge", (double)atomic_load(&open_connections));
	gauge(out, "signpost_lookup_cache_hits_total",
	    "Lookups answered from the cache.", "counter",
	    (double)snap->cache_hits);
	gauge(out, "signpost_lookup_cache_misses_total",
	    "Lookups the cache could not answer.", "counter",
	    (double)snap->cache_misses);
	gauge(out, "signpost_lookup_cache_entries",
	    "Addresses in the lookup cache, expired ones not yet dropped "
	    "included.", "gauge", (double)snap->cache_entries);
	gauge(out, "signpost_hash_index_entries",
	    "Hashes in the sha256 lookup index (0 when none is built).",
	    "gauge", snap->index_available ? (double)snap->index_entries : 0);
	if (snap->index_available)
		gauge(out, "signpost_hash_index_age_seconds",
		    "Time since the sha256 index in use was built.", "gauge",
		    snap->index_age_seconds);
	fprintf(out, "# HELP signpost_build_info The running version.\n"
	    "# TYPE signpost_build_info gauge\n"
	    "signpost_build_info{version=\"%s\"} 1\n", SIGNPOST_VERSION);
	if (fclose(out) != 0)
		fatalx("out of memory rendering metrics");
	return text;
}
