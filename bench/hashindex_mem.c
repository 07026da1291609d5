/*
 * How much memory and time a hash index of a large organisation takes:
 * builds an index of 1,000,000 synthetic emails owned by 500,000 users
 * (two addresses each), then prints the resident memory it added, the
 * bytes per entry, the build's peak and its duration, and a lookup rate.
 *
 *     make build/bench/hashindex_mem && build/bench/hashindex_mem [entries]
 *
 * Resident memory comes from /proc/self/statm after malloc_trim(), so the
 * figure is what the index keeps, not what the allocator still caches.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util.h"
#include "identity/hashindex.h"

/* Entries by default; each user owns this many of them. */
#define DEFAULT_ENTRIES 1000000
#define ADDRESSES_PER_USER 2
/* Hashes looked up to time hashidx_find, half of them misses. */
#define LOOKUPS 200000

static const char pepper[] = "bench-pepper-3f9a1c";

static long
rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static long
peak_rss_bytes(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss * 1024L; /* kilobytes on Linux */
}

static void
entry(size_t i, char *address, size_t alen, char *mxid, size_t mlen)
{
	size_t user = i / ADDRESSES_PER_USER;

	snprintf(address, alen, "firstname.lastname%zu.%zu@mail%zu.example.org",
	    user, i % ADDRESSES_PER_USER, user % 97);
	snprintf(mxid, mlen, "@user%zu:example.org", user);
}

int
main(int argc, char **argv)
{
	size_t n = DEFAULT_ENTRIES, found = 0;
	int64_t arg;
	char address[128], mxid[64];
	char (*probes)[HASHIDX_B64_SIZE];
	struct hashidx_builder *b;
	struct hashidx *idx;
	long rss0, rss1, peak;
	uint64_t t0, t1, t2;

	if (argc > 1) {
		if (parse_int64(argv[1], 1, 100000000, &arg) != 0) {
			fprintf(stderr, "usage: %s [entries]\n", argv[0]);
			return 2;
		}
		n = (size_t)arg;
	}
	if (sodium_init() < 0)
		return 1;
	malloc_trim(0);
	rss0 = rss_bytes();

	t0 = now_monotonic_ms();
	b = hashidx_builder_new(pepper);
	for (size_t i = 0; i < n; i++) {
		entry(i, address, sizeof(address), mxid, sizeof(mxid));
		hashidx_builder_add(b, "email", address, mxid);
	}
	t1 = now_monotonic_ms();
	idx = hashidx_builder_finish(b);
	t2 = now_monotonic_ms();
	peak = peak_rss_bytes();
	malloc_trim(0);
	rss1 = rss_bytes();

	printf("entries:            %zu (%zu distinct users)\n",
	    hashidx_size(idx), hashidx_users(idx));
	printf("build:              %llu ms (adding and hashing %llu ms, "
	       "sorting %llu ms)\n", (unsigned long long)(t2 - t0),
	    (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	printf("RSS delta:          %.1f MiB = %.1f bytes per entry\n",
	    (double)(rss1 - rss0) / (1024.0 * 1024.0),
	    (double)(rss1 - rss0) / (double)n);
	printf("index's own count:  %.1f MiB = %.1f bytes per entry\n",
	    (double)hashidx_bytes(idx) / (1024.0 * 1024.0),
	    (double)hashidx_bytes(idx) / (double)n);
	printf("peak RSS in build:  %.1f MiB (%.1f bytes per entry over start)\n",
	    (double)peak / (1024.0 * 1024.0), (double)(peak - rss0) / (double)n);

	/* Every even-numbered probe is a stored address, every odd one an
	 * address nobody has. Hashed first, so only hashidx_find is timed. */
	probes = xmalloc(LOOKUPS * sizeof(*probes));
	for (size_t k = 0; k < LOOKUPS; k++) {
		entry((k * 7919) % n, address, sizeof(address), mxid,
		    sizeof(mxid));
		if (k % 2)
			address[0] = 'X';
		hashidx_hash_b64("email", address, pepper, probes[k]);
	}
	t0 = now_monotonic_ms();
	for (size_t k = 0; k < LOOKUPS; k++)
		if (hashidx_find(idx, probes[k]) != NULL)
			found++;
	t1 = now_monotonic_ms();
	printf("lookups:            %d in %llu ms (decode + find), %zu found\n",
	    LOOKUPS, (unsigned long long)(t1 - t0), found);
	free(probes);
	hashidx_unref(idx);
	return found == LOOKUPS / 2 ? 0 : 1;
}
