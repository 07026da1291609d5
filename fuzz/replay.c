/*
 * A stand-in for libFuzzer's main, so that `make check` can replay every
 * seed corpus with the normal compiler (and, with SANITIZE=1, under ASan
 * and UBSan) without clang:
 *
 *   replay_<name> DIR|FILE...
 *
 * feeds each file (each file of each DIR, in name order) to the target's
 * LLVMFuzzerTestOneInput, prints the name of every input that fails and
 * ends with one line "N passed, N failed" counting inputs.
 *
 * The inputs run in a child process, one after the other. An input that
 * crashes the child (an invariant, a sanitizer report) counts as failed and
 * a new child carries on with the next one; the child tells where it is
 * through a counter in shared memory. Under LeakSanitizer every input is
 * also checked for leaks as soon as it has run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

/* Bounds one input: seeds are small by design, and libFuzzer's own
 * default length limit is 4 KiB. */
#define REPLAY_MAX_INPUT (1024 * 1024)

/* How a child that found a leak ends, so the parent can tell that from a
 * crash (both are a failure of the input at the counter). */
#define REPLAY_LEAK_EXIT 23

/* LeakSanitizer's interface, present only in sanitized builds. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

struct list {
	char **paths;
	size_t n, cap;
};

static void
add(struct list *l, const char *path)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->paths = realloc(l->paths, l->cap * sizeof(*l->paths));
		if (l->paths == NULL)
			abort();
	}
	l->paths[l->n++] = strdup(path);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or the regular files directly in it. */
static int
collect(struct list *l, const char *path)
{
	struct stat st;
	struct dirent *e;
	size_t first = l->n;
	DIR *d;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		add(l, path);
		return 0;
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", path, e->d_name) < 0)
			abort();
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			add(l, p);
		free(p);
	}
	closedir(d);
	qsort(l->paths + first, l->n - first, sizeof(*l->paths), by_name);
	return 0;
}

static void
run_one(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(REPLAY_MAX_INPUT);
	size_t n;

	if (f == NULL || buf == NULL) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		abort();
	}
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	/* A copy of exactly the input's size, so ASan sees a read past it. */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (exact == NULL)
			abort();
		memcpy(exact, buf, n);
		free(buf);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
}

/* Runs inputs from first on, in this process; never returns. */
static void __attribute__((noreturn))
child(const struct list *l, size_t first, volatile size_t *at)
{
	for (size_t i = first; i < l->n; i++) {
		*at = i;
		run_one(l->paths[i]);
		if (__lsan_do_recoverable_leak_check != NULL &&
		    __lsan_do_recoverable_leak_check() != 0)
			_exit(REPLAY_LEAK_EXIT);
	}
	*at = l->n;
	fflush(NULL);
	exit(0);
}

int
main(int argc, char **argv)
{
	struct list l = { 0 };
	size_t first = 0, passed = 0, failed = 0;
	volatile size_t *at;
	int bad_args = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		bad_args |= collect(&l, argv[i]) != 0;
	at = mmap(NULL, sizeof(*at), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (at == MAP_FAILED) {
		perror("replay: mmap");
		return 2;
	}
	while (first < l.n) {
		pid_t pid;
		int status;

		*at = first;
		fflush(NULL);
		if ((pid = fork()) < 0) {
			perror("replay: fork");
			return 2;
		}
		if (pid == 0)
			child(&l, first, at);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    *at == l.n) {
			passed += l.n - first;
			break;
		}
		if (*at >= l.n) {
			/* Everything ran, then the exit failed (a leak
			 * report at exit where no per-input check exists). */
			fprintf(stderr, "FAILED: after the last input (exit "
			    "status %d)\n", status);
			passed += l.n - first - 1;
			failed++;
			break;
		}
		passed += *at - first;
		failed++;
		fprintf(stderr, "FAILED: %s (%s %d)\n", l.paths[*at],
		    WIFSIGNALED(status) ? "signal" : "exit",
		    WIFSIGNALED(status) ? WTERMSIG(status) :
		    WEXITSTATUS(status));
		first = *at + 1;
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	for (size_t i = 0; i < l.n; i++)
		free(l.paths[i]);
	free(l.paths);
	return failed > 0 || bad_args ? 1 : 0;
}
