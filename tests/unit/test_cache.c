/*
 * Unit tests for src/core/cache.c: hits and misses, expiry, replacement,
 * least-recently-used eviction, binary keys, the size bound under
 * concurrent use.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/cache.h"

/* Far enough in the future that nothing expires unless a test says so. */
#define LATER UINT64_C(1000000)

static void
put_str(struct cache *c, const char *k, const char *v, uint64_t exp)
{
	cache_put(c, k, strlen(k), v, strlen(v), exp);
}

/* The value under k at time now, or NULL (caller frees). */
static char *
get_str(struct cache *c, const char *k, uint64_t now)
{
	char *v = NULL;
	size_t len = 0;

	if (cache_get(c, k, strlen(k), now, &v, &len) != 1)
		return NULL;
	assert_int_equal(strlen(v), len);
	return v;
}

static void
assert_value(struct cache *c, const char *k, uint64_t now, const char *want)
{
	char *v = get_str(c, k, now);

	if (want == NULL) {
		assert_null(v);
	} else {
		assert_non_null(v);
		assert_string_equal(v, want);
	}
	free(v);
}

static void
test_hit_miss_replace(void **state)
{
	struct cache *c = cache_new(10);
	struct cache_stats st;

	(void)state;
	assert_value(c, "a", 0, NULL);
	put_str(c, "a", "@a:x", LATER);
	assert_value(c, "a", 0, "@a:x");
	put_str(c, "a", "@b:x", LATER);
	assert_value(c, "a", 0, "@b:x");
	cache_remove(c, "a", 1);
	assert_value(c, "a", 0, NULL);
	cache_get_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.entries, 0);
	cache_free(c);
}

static void
test_expiry(void **state)
{
	struct cache *c = cache_new(10);
	struct cache_stats st;

	(void)state;
	put_str(c, "k", "v", 100);
	assert_value(c, "k", 99, "v");
	assert_value(c, "k", 100, NULL); /* expiry is exclusive */
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0); /* dropped on the way */
	cache_free(c);
}

static void
test_empty_value_and_binary_keys(void **state)
{
	struct cache *c = cache_new(10);
	const char k1[] = "email\0a@b", k2[] = "email\0a@c";
	char *v = NULL;
	size_t len = 99;

	(void)state;
	cache_put(c, k1, sizeof(k1), "", 0, LATER);
	cache_put(c, k2, sizeof(k2), "x", 1, LATER);
	assert_int_equal(cache_get(c, k1, sizeof(k1), 0, &v, &len), 1);
	assert_int_equal(len, 0);
	assert_string_equal(v, "");
	free(v);
	/* Same bytes up to the NUL, different after: different keys. */
	assert_int_equal(cache_get(c, k2, sizeof(k2), 0, &v, &len), 1);
	assert_string_equal(v, "x");
	free(v);
	assert_int_equal(cache_get(c, "email", 5, 0, &v, &len), 0);
	cache_free(c);
}

static void
test_lru_eviction(void **state)
{
	struct cache *c = cache_new(3);
	struct cache_stats st;

	(void)state;
	put_str(c, "a", "1", LATER);
	put_str(c, "b", "2", LATER);
	put_str(c, "c", "3", LATER);
	assert_value(c, "a", 0, "1"); /* a is now the most recent */
	put_str(c, "d", "4", LATER);  /* evicts b, the least recent */
	assert_value(c, "b", 0, NULL);
	assert_value(c, "a", 0, "1");
	assert_value(c, "c", 0, "3");
	assert_value(c, "d", 0, "4");
	cache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	/* Replacing an entry of a full cache evicts nothing. */
	put_str(c, "c", "33", LATER);
	assert_value(c, "a", 0, "1");
	assert_value(c, "d", 0, "4");
	assert_value(c, "c", 0, "33");
	cache_free(c);
}

static void
test_one_entry(void **state)
{
	struct cache *c = cache_new(0); /* means 1 */

	(void)state;
	put_str(c, "a", "1", LATER);
	put_str(c, "b", "2", LATER);
	assert_value(c, "a", 0, NULL);
	assert_value(c, "b", 0, "2");
	cache_free(c);
}

/* Many keys through a sharded cache: the bound holds and the most recent
 * keys are still there. */
static void
test_sharded_bound(void **state)
{
	enum { MAX = 4096, KEYS = 50000 };
	struct cache *c = cache_new(MAX);
	struct cache_stats st;
	char k[32];

	(void)state;
	for (int i = 0; i < KEYS; i++) {
		snprintf(k, sizeof(k), "key-%d", i);
		put_str(c, k, k, LATER);
	}
	cache_get_stats(c, &st);
	assert_true(st.entries <= MAX + 16); /* rounding up per shard */
	assert_true(st.entries >= MAX / 2);
	snprintf(k, sizeof(k), "key-%d", KEYS - 1);
	assert_value(c, k, 0, k);
	cache_free(c);
}

static void
test_counters(void **state)
{
	struct cache *c = cache_new(10);
	uint64_t exp = 0;

	(void)state;
	assert_int_equal(cache_count_get(c, "u", 1, 0, &exp), 0);
	assert_int_equal(cache_count_add(c, "u", 1, 1000, 500), 1);
	assert_int_equal(cache_count_add(c, "u", 1, 1200, 500), 2);
	/* A fixed window: counting later does not push the expiry. */
	assert_int_equal(cache_count_add(c, "u", 1, 1400, 500), 3);
	assert_int_equal(cache_count_get(c, "u", 1, 1499, &exp), 3);
	assert_int_equal(exp, 1500);
	assert_int_equal(cache_count_get(c, "u", 1, 1500, NULL), 0);
	/* A new window starts at the next count. */
	assert_int_equal(cache_count_add(c, "u", 1, 1600, 500), 1);
	assert_int_equal(cache_count_get(c, "u", 1, 1601, &exp), 1);
	assert_int_equal(exp, 2100);
	cache_remove(c, "u", 1);
	assert_int_equal(cache_count_get(c, "u", 1, 1602, NULL), 0);
	/* A plain value under the key is not a counter. */
	put_str(c, "v", "text", LATER);
	assert_int_equal(cache_count_get(c, "v", 1, 0, NULL), 0);
	assert_int_equal(cache_count_add(c, "v", 1, 0, 10), 1);
	cache_free(c);
}

struct worker {
	struct cache *c;
	int id;
	int hits;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char k[32], *v;
	size_t len;

	for (int i = 0; i < 20000; i++) {
		/* 1,500 keys fit in the cache, so each thread alone sees
		 * its own puts again; the others' overlap on top. */
		snprintf(k, sizeof(k), "%d", (i * 7 + w->id) % 1500);
		if (cache_get(w->c, k, strlen(k), 0, &v, &len) == 1) {
			/* A value is always the key it was stored under. */
			if (strcmp(v, k) == 0)
				w->hits++;
			else
				w->hits = -1000000;
			free(v);
		} else {
			cache_put(w->c, k, strlen(k), k, strlen(k), LATER);
		}
		if (i % 97 == 0)
			cache_remove(w->c, k, strlen(k));
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct cache *c = cache_new(2048);
	struct worker w[4];
	pthread_t t[4];
	struct cache_stats st;

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .c = c, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_true(w[i].hits > 0);
	}
	cache_get_stats(c, &st);
	assert_true(st.entries <= 2048 + 16);
	assert_int_equal(st.hits + st.misses, 4 * 20000);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_miss_replace),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_empty_value_and_binary_keys),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_one_entry),
		cmocka_unit_test(test_sharded_bound),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_threads),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
