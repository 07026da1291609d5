/*
 * Unit tests for the hashed-lookup index (src/identity/hashindex.c): the
 * specification's sha256 vectors, misses, every malformed spelling of a
 * hash, duplicates, a 100,000-entry round trip, and readers that keep
 * using an index while the owner publishes its successors (run it under
 * ASan: make SANITIZE=1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>

#include "core/util.h"
#include "identity/hashindex.h"

#define PEPPER "matrixrocks"
#define ALICE_HASH "4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc"
#define BOB_HASH "LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8"
#define PHONE_HASH "nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I"

/* Entries of the round trip, and how many users own them. */
#define ROUND_TRIP_ENTRIES 100000
#define ROUND_TRIP_USERS 30000

/* The swap test: indexes the writer publishes, and reader threads. */
#define GENERATIONS 200
#define READERS 4
#define GEN_ENTRIES 64

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* The three bindings of the specification's vectors. */
static struct hashidx *
spec_index(void)
{
	struct hashidx_builder *b = hashidx_builder_new(PEPPER);

	hashidx_builder_add(b, "email", "alice@example.com", "@alice:example.com");
	hashidx_builder_add(b, "email", "bob@example.com", "@bob:example.com");
	hashidx_builder_add(b, "msisdn", "18005552067", "@phone:example.com");
	return hashidx_builder_finish(b);
}

static void
test_hash_vectors(void **state)
{
	char out[HASHIDX_B64_SIZE];

	(void)state;
	hashidx_hash_b64("email", "alice@example.com", PEPPER, out);
	assert_string_equal(out, ALICE_HASH);
	hashidx_hash_b64("email", "bob@example.com", PEPPER, out);
	assert_string_equal(out, BOB_HASH);
	hashidx_hash_b64("msisdn", "18005552067", PEPPER, out);
	assert_string_equal(out, PHONE_HASH);
	assert_int_equal(strlen(out), HASHIDX_B64_LEN);
}

static void
test_find_vectors(void **state)
{
	struct hashidx *idx = spec_index();

	(void)state;
	assert_string_equal(hashidx_find(idx, ALICE_HASH), "@alice:example.com");
	assert_string_equal(hashidx_find(idx, BOB_HASH), "@bob:example.com");
	assert_string_equal(hashidx_find(idx, PHONE_HASH), "@phone:example.com");
	assert_int_equal(hashidx_size(idx), 3);
	assert_int_equal(hashidx_users(idx), 3);
	assert_int_equal(hashidx_dropped(idx), 0);
	assert_string_equal(hashidx_pepper(idx), PEPPER);
	hashidx_unref(idx);
}

static void
test_misses(void **state)
{
	struct hashidx *idx = spec_index();
	struct hashidx_builder *b;
	struct hashidx *other;
	char h[HASHIDX_B64_SIZE];

	(void)state;
	/* Another address, another medium, another pepper, case changed. */
	hashidx_hash_b64("email", "carol@example.com", PEPPER, h);
	assert_null(hashidx_find(idx, h));
	hashidx_hash_b64("msisdn", "alice@example.com", PEPPER, h);
	assert_null(hashidx_find(idx, h));
	hashidx_hash_b64("email", "alice@example.com", "matrixrock", h);
	assert_null(hashidx_find(idx, h));
	hashidx_hash_b64("email", "Alice@example.com", PEPPER, h);
	assert_null(hashidx_find(idx, h));
	/* A well-formed hash of nothing in particular. */
	assert_null(hashidx_find(idx,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_null(hashidx_find(idx,
	    "__________________________________________8"));
	hashidx_unref(idx);

	/* The same binding under another pepper is another hash. */
	b = hashidx_builder_new("otherpepper");
	hashidx_builder_add(b, "email", "alice@example.com", "@alice:example.com");
	other = hashidx_builder_finish(b);
	assert_null(hashidx_find(other, ALICE_HASH));
	hashidx_hash_b64("email", "alice@example.com", "otherpepper", h);
	assert_string_equal(hashidx_find(other, h), "@alice:example.com");
	hashidx_unref(other);
}

static void
test_malformed_hashes(void **state)
{
	static const char *const bad[] = {
		NULL,
		"",
		"4",
		/* padded: 44 characters, and the '=' inside 43 */
		ALICE_HASH "=",
		"4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZU=",
		/* the standard alphabet's '+' and '/' for '-' and '_' */
		"LJwSazmv46n0hlMlsb/iYxI0_HXEqy_yj6Jm636cdT8",
		"nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr+I4rU7I",
		"nlo35/T5fzSGZzJApqu8lgIudJvmOQtDaHtr+I4rU7I",
		/* wrong lengths: 42, 44 without padding, 64 bytes' worth */
		"4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZU",
		ALICE_HASH "A",
		ALICE_HASH ALICE_HASH,
		/* the last character's unused low bits set: Uc -> Ud */
		"4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUd",
		/* space, newline, a non-ASCII byte, a NUL in the middle */
		"4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZ c",
		"4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZU\n",
		"4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZ\xc3\xa9",
		"4kenr7N9drpCJ4AfalmlGQVsOn\0o2RHjkADUpXJWZUc",
		/* the vector string itself, not its hash */
		"alice@example.com email matrixrocks",
	};
	struct hashidx *idx = spec_index();

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		if (hashidx_find(idx, bad[i]) != NULL)
			fail_msg("case %zu (%s) found something", i,
			    bad[i] ? bad[i] : "NULL");
	/* Sanity: the well-formed spelling of the same digest is found. */
	assert_non_null(hashidx_find(idx, ALICE_HASH));
	hashidx_unref(idx);
}

static void
test_empty_index(void **state)
{
	struct hashidx *idx = hashidx_builder_finish(hashidx_builder_new(""));

	(void)state;
	assert_int_equal(hashidx_size(idx), 0);
	assert_int_equal(hashidx_users(idx), 0);
	assert_string_equal(hashidx_pepper(idx), "");
	assert_null(hashidx_find(idx, ALICE_HASH));
	assert_true(hashidx_bytes(idx) > 0);
	hashidx_unref(idx);
}

static void
test_duplicates_last_wins(void **state)
{
	struct hashidx_builder *b = hashidx_builder_new(PEPPER);
	struct hashidx *idx;

	(void)state;
	hashidx_builder_add(b, "email", "alice@example.com", "@first:example.com");
	hashidx_builder_add(b, "email", "bob@example.com", "@bob:example.com");
	hashidx_builder_add(b, "email", "alice@example.com", "@second:example.com");
	hashidx_builder_add(b, "email", "alice@example.com", "@third:example.com");
	/* The same binding twice is a duplicate too, and harmless. */
	hashidx_builder_add(b, "email", "bob@example.com", "@bob:example.com");
	assert_int_equal(hashidx_builder_count(b), 5);
	idx = hashidx_builder_finish(b);
	assert_string_equal(hashidx_find(idx, ALICE_HASH), "@third:example.com");
	assert_string_equal(hashidx_find(idx, BOB_HASH), "@bob:example.com");
	assert_int_equal(hashidx_size(idx), 2);
	assert_int_equal(hashidx_dropped(idx), 3);
	hashidx_unref(idx);
}

static void
test_mxids_interned(void **state)
{
	struct hashidx_builder *b = hashidx_builder_new(PEPPER);
	struct hashidx *idx;
	char mxid[] = "@alice:example.com";
	char h[HASHIDX_B64_SIZE];
	const char *a, *c;

	(void)state;
	/* The builder copies: changing the caller's buffer changes nothing. */
	hashidx_builder_add(b, "email", "alice@example.com", mxid);
	hashidx_builder_add(b, "msisdn", "18005552067", "@alice:example.com");
	mxid[1] = 'X';
	idx = hashidx_builder_finish(b);
	a = hashidx_find(idx, ALICE_HASH);
	c = hashidx_find(idx, PHONE_HASH);
	assert_string_equal(a, "@alice:example.com");
	/* One user, one string. */
	assert_ptr_equal(a, c);
	assert_int_equal(hashidx_users(idx), 1);
	hashidx_hash_b64("email", "alice@example.com", PEPPER, h);
	assert_ptr_equal(hashidx_find(idx, h), a);
	hashidx_unref(idx);
}

static void
test_built_at(void **state)
{
	uint64_t before = now_realtime_ms(), after;
	struct hashidx *idx = spec_index();

	(void)state;
	after = now_realtime_ms();
	assert_true(hashidx_built_at_ms(idx) >= before);
	assert_true(hashidx_built_at_ms(idx) <= after);
	hashidx_unref(idx);
}

static void
rt_entry(size_t i, char *medium, char *address, char *mxid)
{
	/* Every seventh entry is a phone number, to mix the media. */
	if (i % 7 == 0) {
		strcpy(medium, "msisdn");
		sprintf(address, "4479%08zu", i);
	} else {
		strcpy(medium, "email");
		sprintf(address, "person%zu@dept%zu.example.org", i, i % 13);
	}
	sprintf(mxid, "@user%zu:example.org", i % ROUND_TRIP_USERS);
}

static void
test_round_trip_100k(void **state)
{
	struct hashidx_builder *b = hashidx_builder_new("r0und-tr1p");
	struct hashidx *idx;
	char medium[16], address[64], mxid[64], h[HASHIDX_B64_SIZE];
	const char *got;

	(void)state;
	for (size_t i = 0; i < ROUND_TRIP_ENTRIES; i++) {
		rt_entry(i, medium, address, mxid);
		hashidx_builder_add(b, medium, address, mxid);
	}
	idx = hashidx_builder_finish(b);
	assert_int_equal(hashidx_size(idx), ROUND_TRIP_ENTRIES);
	assert_int_equal(hashidx_users(idx), ROUND_TRIP_USERS);
	assert_int_equal(hashidx_dropped(idx), 0);
	for (size_t i = 0; i < ROUND_TRIP_ENTRIES; i++) {
		rt_entry(i, medium, address, mxid);
		hashidx_hash_b64(medium, address, "r0und-tr1p", h);
		got = hashidx_find(idx, h);
		if (got == NULL || strcmp(got, mxid) != 0)
			fail_msg("entry %zu: got %s, want %s", i,
			    got ? got : "NULL", mxid);
		/* The same address under the other medium is not there. */
		hashidx_hash_b64(i % 7 == 0 ? "email" : "msisdn", address,
		    "r0und-tr1p", h);
		assert_null(hashidx_find(idx, h));
	}
	/* Entries past the last one added are misses. */
	for (size_t i = ROUND_TRIP_ENTRIES; i < ROUND_TRIP_ENTRIES + 1000;
	     i++) {
		rt_entry(i, medium, address, mxid);
		hashidx_hash_b64(medium, address, "r0und-tr1p", h);
		assert_null(hashidx_find(idx, h));
	}
	/* The per-entry cost stays small: 36 bytes of record plus a share
	 * of the interned user ids and the prefix table. */
	assert_true(hashidx_bytes(idx) < (size_t)ROUND_TRIP_ENTRIES * 48);
	hashidx_unref(idx);
}

static void
test_builder_free_unfinished(void **state)
{
	struct hashidx_builder *b = hashidx_builder_new(PEPPER);

	(void)state;
	for (int i = 0; i < 5000; i++) {
		char addr[32], mxid[32];

		sprintf(addr, "a%d@example.com", i);
		sprintf(mxid, "@u%d:example.com", i % 100);
		hashidx_builder_add(b, "email", addr, mxid);
	}
	/* ASan reports a leak if anything stays behind. */
	hashidx_builder_free(b);
	hashidx_builder_free(NULL);
}

static void
test_refcount(void **state)
{
	struct hashidx *idx = spec_index();
	const char *alice;

	(void)state;
	assert_ptr_equal(hashidx_ref(idx), idx);
	assert_ptr_equal(hashidx_ref(idx), idx);
	alice = hashidx_find(idx, ALICE_HASH);
	hashidx_unref(idx);
	hashidx_unref(idx);
	/* One reference left: still readable (ASan would catch a free). */
	assert_string_equal(alice, "@alice:example.com");
	assert_string_equal(hashidx_find(idx, BOB_HASH), "@bob:example.com");
	hashidx_unref(idx);
	assert_null(hashidx_ref(NULL));
	hashidx_unref(NULL);
}

static void
test_slot_basic(void **state)
{
	struct hashidx_slot *slot = hashidx_slot_new();
	struct hashidx *held, *got;

	(void)state;
	assert_null(hashidx_slot_get(slot));
	hashidx_slot_set(slot, spec_index());
	held = hashidx_slot_get(slot);
	assert_non_null(held);
	/* A successor replaces the published index; the holder's copy
	 * stays valid until it lets go. */
	hashidx_slot_set(slot, hashidx_builder_finish(hashidx_builder_new("x")));
	got = hashidx_slot_get(slot);
	assert_ptr_not_equal(got, held);
	assert_string_equal(hashidx_pepper(got), "x");
	assert_string_equal(hashidx_find(held, ALICE_HASH), "@alice:example.com");
	hashidx_unref(held);
	hashidx_unref(got);
	/* Unpublishing leaves nothing to get. */
	hashidx_slot_set(slot, NULL);
	assert_null(hashidx_slot_get(slot));
	hashidx_slot_set(slot, spec_index());
	hashidx_slot_free(slot); /* drops the last published index */
	hashidx_slot_free(NULL);
}

/* Generation g maps "u<i>@gen.example" to "@g<g>-u<i>:example.org" under
 * the pepper "gen-<g>", so a reader can tell a torn index from a whole
 * one: every entry of an index must name that index's generation. */
static struct hashidx *
generation(int g)
{
	char pepper[32], addr[64], mxid[64];
	struct hashidx_builder *b;

	sprintf(pepper, "gen-%d", g);
	b = hashidx_builder_new(pepper);
	for (int i = 0; i < GEN_ENTRIES; i++) {
		sprintf(addr, "u%d@gen.example", i);
		sprintf(mxid, "@g%d-u%d:example.org", g, i);
		hashidx_builder_add(b, "email", addr, mxid);
	}
	return hashidx_builder_finish(b);
}

struct swap_test {
	struct hashidx_slot *slot;
	atomic_int done;
	atomic_int reads;
};

static void *
reader(void *arg)
{
	struct swap_test *t = arg;
	char addr[64], want[64], h[HASHIDX_B64_SIZE];
	int last_gen = -1, bad = 0;

	while (!atomic_load(&t->done) || atomic_load(&t->reads) < 100) {
		struct hashidx *idx = hashidx_slot_get(t->slot);
		int g;

		if (idx == NULL)
			continue;
		if (sscanf(hashidx_pepper(idx), "gen-%d", &g) != 1 ||
		    g < last_gen)
			bad++;
		last_gen = g;
		for (int i = 0; i < GEN_ENTRIES; i += 7) {
			const char *got;

			sprintf(addr, "u%d@gen.example", i);
			sprintf(want, "@g%d-u%d:example.org", g, i);
			hashidx_hash_b64("email", addr, hashidx_pepper(idx), h);
			got = hashidx_find(idx, h);
			if (got == NULL || strcmp(got, want) != 0)
				bad++;
		}
		hashidx_unref(idx);
		atomic_fetch_add(&t->reads, 1);
	}
	return (void *)(intptr_t)bad;
}

static void
test_slot_swap_while_reading(void **state)
{
	struct swap_test t = { .slot = hashidx_slot_new() };
	pthread_t th[READERS];
	int bad = 0;

	(void)state;
	atomic_init(&t.done, 0);
	atomic_init(&t.reads, 0);
	for (int r = 0; r < READERS; r++)
		assert_int_equal(pthread_create(&th[r], NULL, reader, &t), 0);
	for (int g = 0; g < GENERATIONS; g++)
		hashidx_slot_set(t.slot, generation(g));
	atomic_store(&t.done, 1);
	for (int r = 0; r < READERS; r++) {
		void *ret;

		assert_int_equal(pthread_join(th[r], &ret), 0);
		bad += (int)(intptr_t)ret;
	}
	assert_int_equal(bad, 0);
	assert_true(atomic_load(&t.reads) >= 100);
	hashidx_slot_free(t.slot);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_find_vectors),
		cmocka_unit_test(test_misses),
		cmocka_unit_test(test_malformed_hashes),
		cmocka_unit_test(test_empty_index),
		cmocka_unit_test(test_duplicates_last_wins),
		cmocka_unit_test(test_mxids_interned),
		cmocka_unit_test(test_built_at),
		cmocka_unit_test(test_round_trip_100k),
		cmocka_unit_test(test_builder_free_unfinished),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_slot_basic),
		cmocka_unit_test(test_slot_swap_while_reading),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
