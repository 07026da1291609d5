/*
 * Unit tests for src/store: the SQLite store through its public interface,
 * with the database file checked directly where what matters is what is on
 * disk (tokens only as hashes, mode 0600, schema version). Every test gets
 * its own temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/log.h"
#include "core/util.h"
#include "store/store.h"

/* Room for a temporary directory name plus a file name in it. */
#define PATH_LEN 256
/* Room for any message store_open_sqlite() writes. */
#define ERR_LEN 512

struct fix {
	char dir[PATH_LEN];
	char path[PATH_LEN * 2]; /* dir/store.db */
	struct store *st;
};

static int
group_setup(void **state)
{
	(void)state;
	/* Refused inputs log warnings on purpose; keep the output readable. */
	log_init(LOG_LEVEL_ERROR, false);
	return sodium_init() < 0 ? -1 : 0;
}

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/signpost-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	struct dirent *de;
	char p[PATH_LEN * 4];
	DIR *d;

	store_close(f->st);
	if ((d = opendir(f->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct store *
open_ok(struct fix *f)
{
	char err[ERR_LEN];
	struct store *st = store_open_sqlite(f->path, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open_sqlite: %s", err);
	return st;
}

/* A second, plain SQLite connection on the same file, for looking at what
 * the store wrote. */
static sqlite3 *
raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int64_t
raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* Whether the bytes of needle appear anywhere in the file at path. */
static int
file_contains(const char *path, const char *needle)
{
	size_t nlen = strlen(needle), len = 0, n;
	char *buf = NULL;
	int found;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL)
		return 0;
	for (;;) {
		buf = xrealloc(buf, len + 65536);
		n = fread(buf + len, 1, 65536, fp);
		if (n == 0)
			break;
		len += n;
	}
	fclose(fp);
	found = len >= nlen && memmem(buf, len, needle, nlen) != NULL;
	free(buf);
	return found;
}

static void
expect_user(struct store *st, const char *token, const char *want)
{
	char *user = (char *)1;

	assert_int_equal(store_token_user(st, token, &user), 1);
	assert_non_null(user);
	assert_string_equal(user, want);
	free(user);
}

static void
expect_no_user(struct store *st, const char *token)
{
	char *user = (char *)1;

	assert_int_equal(store_token_user(st, token, &user), 0);
	assert_null(user);
}

static void
test_token_issue_lookup(void **state)
{
	struct fix *f = *state;
	char *t1, *t2;
	size_t i;

	f->st = open_ok(f);
	t1 = store_token_issue(f->st, "@alice:example.org", 3600);
	t2 = store_token_issue(f->st, "@alice:example.org", 0);
	assert_non_null(t1);
	assert_non_null(t2);
	/* 32 random bytes, unpadded URL-safe base64. */
	assert_int_equal(strlen(t1), 43);
	for (i = 0; t1[i] != '\0'; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_", t1[i]));
	assert_string_not_equal(t1, t2);
	expect_user(f->st, t1, "@alice:example.org");
	expect_user(f->st, t2, "@alice:example.org");
	secret_free(t1);
	secret_free(t2);
}

static void
test_token_stored_hashed(void **state)
{
	struct fix *f = *state;
	unsigned char want[crypto_hash_sha256_BYTES];
	char wal[PATH_LEN * 4];
	sqlite3_stmt *q;
	sqlite3 *db;
	char *tok;
	int rows = 0, matched = 0, c;

	f->st = open_ok(f);
	tok = store_token_issue(f->st, "@bob:example.org", 60);
	assert_non_null(tok);
	crypto_hash_sha256(want, (const unsigned char *)tok, strlen(tok));

	db = raw_open(f->path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT * FROM tokens", -1, &q,
	    NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		rows++;
		for (c = 0; c < sqlite3_column_count(q); c++) {
			const void *v = sqlite3_column_blob(q, c);
			int n = sqlite3_column_bytes(q, c);

			if (v != NULL && n >= (int)strlen(tok))
				assert_null(memmem(v, (size_t)n, tok,
				    strlen(tok)));
			if (strcmp(sqlite3_column_name(q, c), "hash") == 0 &&
			    n == (int)sizeof(want) &&
			    memcmp(v, want, sizeof(want)) == 0)
				matched++;
		}
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_int_equal(rows, 1);
	assert_int_equal(matched, 1);

	/* Nor anywhere in the files: the database and its write-ahead log. */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_false(file_contains(f->path, tok));
	assert_false(file_contains(wal, tok));
	secret_free(tok);
}

static void
test_token_unknown(void **state)
{
	struct fix *f = *state;
	char *tok;

	f->st = open_ok(f);
	expect_no_user(f->st, "c29tZSB0b2tlbiBub2JvZHkgaXNzdWVkIGF0IGFsbA");
	expect_no_user(f->st, "");
	expect_no_user(f->st, NULL);
	tok = store_token_issue(f->st, "@carol:example.org", 0);
	assert_non_null(tok);
	/* A token differing in one character is another token. */
	tok[0] = tok[0] == 'A' ? 'B' : 'A';
	expect_no_user(f->st, tok);
	secret_free(tok);
}

static void
test_token_revoke(void **state)
{
	struct fix *f = *state;
	char *t1, *t2;

	f->st = open_ok(f);
	t1 = store_token_issue(f->st, "@dan:example.org", 0);
	t2 = store_token_issue(f->st, "@dan:example.org", 0);
	assert_int_equal(store_token_revoke(f->st, t1), 0);
	expect_no_user(f->st, t1);
	/* Only that token: the user's other sessions stay. */
	expect_user(f->st, t2, "@dan:example.org");
	assert_int_equal(store_token_revoke(f->st, t1), 0);
	assert_int_equal(store_token_revoke(f->st, "never-issued"), 0);
	assert_int_equal(store_token_revoke(f->st, ""), 0);
	secret_free(t1);
	secret_free(t2);
}

static void
test_token_expiry(void **state)
{
	struct fix *f = *state;
	int64_t past = (int64_t)now_realtime_ms() - 10000;
	char *expired, *forever, *live;
	sqlite3 *db;

	f->st = open_ok(f);
	/* Issued ten seconds ago for one second. */
	expired = store_token_issue_at(f->st, "@eve:example.org", 1, past);
	/* Issued ten seconds ago, never expiring. */
	forever = store_token_issue_at(f->st, "@eve:example.org", 0, past);
	live = store_token_issue(f->st, "@eve:example.org", 3600);
	assert_non_null(expired);
	assert_non_null(forever);
	assert_non_null(live);

	expect_no_user(f->st, expired);
	expect_user(f->st, forever, "@eve:example.org");
	expect_user(f->st, live, "@eve:example.org");

	assert_int_equal(store_purge_expired(f->st), 1);
	assert_int_equal(store_purge_expired(f->st), 0);
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM tokens"), 2);
	sqlite3_close(db);
	expect_user(f->st, forever, "@eve:example.org");
	expect_user(f->st, live, "@eve:example.org");
	secret_free(expired);
	secret_free(forever);
	secret_free(live);
}

static void
test_terms(void **state)
{
	struct fix *f = *state;
	const char *urls[] = {
		"https://example.org/privacy-1.0.html",
		"https://example.org/terms-1.0.html",
	};
	sqlite3 *db;

	f->st = open_ok(f);
	assert_int_equal(store_terms_accepted(f->st, "@fay:example.org",
	    urls[0]), 0);
	assert_int_equal(store_terms_accept(f->st, "@fay:example.org", urls,
	    2), 0);
	/* Accepting again is not an error and records nothing new. */
	assert_int_equal(store_terms_accept(f->st, "@fay:example.org", urls,
	    2), 0);
	assert_int_equal(store_terms_accept(f->st, "@fay:example.org", urls,
	    0), 0);
	assert_int_equal(store_terms_accepted(f->st, "@fay:example.org",
	    urls[0]), 1);
	assert_int_equal(store_terms_accepted(f->st, "@fay:example.org",
	    urls[1]), 1);
	assert_int_equal(store_terms_accepted(f->st, "@fay:example.org",
	    "https://example.org/terms-2.0.html"), 0);
	/* Per user. */
	assert_int_equal(store_terms_accepted(f->st, "@gus:example.org",
	    urls[0]), 0);
	assert_int_equal(store_terms_accept(f->st, "@gus:example.org",
	    &urls[1], 1), 0);
	assert_int_equal(store_terms_accepted(f->st, "@gus:example.org",
	    urls[0]), 0);
	assert_int_equal(store_terms_accepted(f->st, "@gus:example.org",
	    urls[1]), 1);

	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM accepted_terms"), 3);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM accounts"), 2);
	sqlite3_close(db);
}

static void
test_settings(void **state)
{
	struct fix *f = *state;
	char *v = (char *)1;

	f->st = open_ok(f);
	assert_int_equal(store_setting_get(f->st, STORE_SETTING_PEPPER, &v), 0);
	assert_null(v);
	assert_int_equal(store_setting_set(f->st, STORE_SETTING_PEPPER,
	    "matrixrocks"), 0);
	assert_int_equal(store_setting_get(f->st, STORE_SETTING_PEPPER, &v), 1);
	assert_string_equal(v, "matrixrocks");
	free(v);
	assert_int_equal(store_setting_set(f->st, STORE_SETTING_PEPPER,
	    "newpepper"), 0);
	assert_int_equal(store_setting_set(f->st, STORE_SETTING_PEPPER_PREV,
	    "matrixrocks"), 0);
	assert_int_equal(store_setting_get(f->st, STORE_SETTING_PEPPER, &v), 1);
	assert_string_equal(v, "newpepper");
	free(v);
	assert_int_equal(store_setting_get(f->st, STORE_SETTING_PEPPER_PREV,
	    &v), 1);
	assert_string_equal(v, "matrixrocks");
	free(v);
	/* An empty value is a value, not an absent setting. */
	assert_int_equal(store_setting_set(f->st, "empty", ""), 0);
	assert_int_equal(store_setting_get(f->st, "empty", &v), 1);
	assert_string_equal(v, "");
	free(v);
}

static void
test_persistence(void **state)
{
	struct fix *f = *state;
	const char *url = "https://example.org/terms.html";
	char *tok, *v;

	f->st = open_ok(f);
	tok = store_token_issue(f->st, "@hal:example.org", 3600);
	assert_non_null(tok);
	assert_int_equal(store_terms_accept(f->st, "@hal:example.org", &url,
	    1), 0);
	assert_int_equal(store_setting_set(f->st, STORE_SETTING_PEPPER_ROTATED,
	    "1700000000000"), 0);
	store_close(f->st);

	f->st = open_ok(f);
	expect_user(f->st, tok, "@hal:example.org");
	assert_int_equal(store_terms_accepted(f->st, "@hal:example.org", url),
	    1);
	assert_int_equal(store_setting_get(f->st, STORE_SETTING_PEPPER_ROTATED,
	    &v), 1);
	assert_string_equal(v, "1700000000000");
	free(v);
	assert_int_equal(store_token_revoke(f->st, tok), 0);
	store_close(f->st);

	f->st = open_ok(f);
	expect_no_user(f->st, tok);
	secret_free(tok);
}

/* The schema version this build writes, read from a fresh database. */
static int64_t
current_version(struct fix *f)
{
	char other[PATH_LEN * 2], err[ERR_LEN];
	struct store *st;
	sqlite3 *db;
	int64_t v;

	snprintf(other, sizeof(other), "%s/fresh.db", f->dir);
	st = store_open_sqlite(other, err, sizeof(err));
	assert_non_null(st);
	store_close(st);
	db = raw_open(other);
	v = raw_int(db, "PRAGMA user_version");
	sqlite3_close(db);
	assert_true(v >= 1);
	return v;
}

static void
test_migration_newer(void **state)
{
	struct fix *f = *state;
	char err[ERR_LEN], want[ERR_LEN];
	int64_t cur = current_version(f);
	sqlite3 *db;

	db = raw_open(f->path);
	raw_exec(db, "PRAGMA user_version=99");
	sqlite3_close(db);

	assert_null(store_open_sqlite(f->path, err, sizeof(err)));
	snprintf(want, sizeof(want), "database schema version 99 is newer "
	    "than this Signpost (%lld)", (long long)cur);
	if (strstr(err, want) == NULL)
		fail_msg("unexpected message: %s", err);
	/* Refused without touching the file. */
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 99);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema"), 0);
	sqlite3_close(db);
}

static void
test_migration_atomic(void **state)
{
	struct fix *f = *state;
	char err[ERR_LEN];
	sqlite3 *db;

	assert_int_equal(current_version(f) >= 1, 1);
	/* A version-0 file with a table in the way: the migration fails and
	 * must leave nothing half done. */
	db = raw_open(f->path);
	raw_exec(db, "CREATE TABLE settings (x INTEGER)");
	sqlite3_close(db);
	assert_null(store_open_sqlite(f->path, err, sizeof(err)));
	assert_non_null(strstr(err, "schema"));
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema"), 1);
	sqlite3_close(db);
}

static void
test_migration_fresh(void **state)
{
	struct fix *f = *state;
	sqlite3 *db;
	int64_t cur = current_version(f);

	f->st = open_ok(f);
	store_close(f->st);
	/* Opening an up-to-date file again changes nothing. */
	f->st = open_ok(f);
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), cur);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema"
	    " WHERE type = 'table' AND name IN"
	    " ('accounts', 'tokens', 'accepted_terms', 'settings')"), 4);
	sqlite3_close(db);
}

static void
test_not_a_database(void **state)
{
	struct fix *f = *state;
	char err[ERR_LEN];
	FILE *fp = fopen(f->path, "w");
	size_t i;

	assert_non_null(fp);
	for (i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	assert_null(store_open_sqlite(f->path, err, sizeof(err)));
	assert_non_null(strstr(err, f->path));
	assert_true(strlen(err) > strlen(f->path) + 2);
}

static void
test_file_mode(void **state)
{
	struct fix *f = *state;
	char wal[PATH_LEN * 4];
	struct stat sb;
	mode_t old;
	char *tok;

	/* With an empty umask, SQLite alone would create 0644 files. */
	old = umask(0);
	f->st = open_ok(f);
	tok = store_token_issue(f->st, "@ivy:example.org", 0);
	umask(old);
	assert_non_null(tok);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	secret_free(tok);
}

static void
test_missing_directory(void **state)
{
	struct fix *f = *state;
	char path[PATH_LEN * 4], err[ERR_LEN];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/nope/store.db", f->dir);
	assert_null(store_open_sqlite(path, err, sizeof(err)));
	assert_non_null(strstr(err, "does not exist"));
	assert_non_null(strstr(err, "/nope"));
	assert_int_equal(stat(path, &sb), -1);
	/* No message buffer is fine too. */
	assert_null(store_open_sqlite(path, NULL, 0));
	assert_null(store_open_sqlite("", err, sizeof(err)));
	assert_true(err[0] != '\0');
}

static char *
filled(size_t n, char c)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_oversized(void **state)
{
	struct fix *f = *state;
	char *user255 = filled(255, 'u'), *user256 = filled(256, 'u');
	char *url2048 = filled(2048, 'h'), *url2049 = filled(2049, 'h');
	char *val4096 = filled(4096, 'v'), *val4097 = filled(4097, 'v');
	char *name65 = filled(65, 'n');
	const char *mixed[] = { "https://example.org/ok.html", url2049 };
	const char *many[STORE_TERMS_MAX + 1];
	char *tok, *v;
	size_t i;

	f->st = open_ok(f);
	assert_null(store_token_issue(f->st, user256, 0));
	assert_null(store_token_issue(f->st, "", 0));
	tok = store_token_issue(f->st, user255, 0);
	assert_non_null(tok);
	expect_user(f->st, tok, user255);
	secret_free(tok);

	assert_int_equal(store_terms_accept(f->st, user256, mixed, 1), -1);
	assert_int_equal(store_terms_accepted(f->st, user256, mixed[0]), -1);
	/* One bad URL refuses the whole batch. */
	assert_int_equal(store_terms_accept(f->st, "@jo:example.org", mixed,
	    2), -1);
	assert_int_equal(store_terms_accepted(f->st, "@jo:example.org",
	    mixed[0]), 0);
	assert_int_equal(store_terms_accepted(f->st, "@jo:example.org",
	    url2049), -1);
	mixed[1] = url2048;
	assert_int_equal(store_terms_accept(f->st, "@jo:example.org", mixed,
	    2), 0);
	assert_int_equal(store_terms_accepted(f->st, "@jo:example.org",
	    url2048), 1);
	for (i = 0; i < ARRAY_LEN(many); i++)
		many[i] = mixed[0];
	assert_int_equal(store_terms_accept(f->st, "@jo:example.org", many,
	    ARRAY_LEN(many)), -1);

	assert_int_equal(store_setting_set(f->st, "big", val4097), -1);
	assert_int_equal(store_setting_get(f->st, "big", &v), 0);
	assert_int_equal(store_setting_set(f->st, "big", val4096), 0);
	assert_int_equal(store_setting_get(f->st, "big", &v), 1);
	assert_string_equal(v, val4096);
	free(v);
	assert_int_equal(store_setting_set(f->st, name65, "x"), -1);
	assert_int_equal(store_setting_get(f->st, name65, &v), -1);
	assert_null(v);

	free(user255);
	free(user256);
	free(url2048);
	free(url2049);
	free(val4096);
	free(val4097);
	free(name65);
}

/* Tokens each thread issues and looks up. */
#define THREAD_TOKENS 200
#define NTHREADS 4

struct worker {
	struct store *st;
	int id;
	int ok; /* issue + lookup round trips that worked */
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char user[64], *tok, *got;
	int i;

	for (i = 0; i < THREAD_TOKENS; i++) {
		snprintf(user, sizeof(user), "@t%d-%d:example.org", w->id, i);
		tok = store_token_issue(w->st, user, 3600);
		if (tok == NULL)
			continue;
		if (store_token_user(w->st, tok, &got) == 1 &&
		    strcmp(got, user) == 0)
			w->ok++;
		free(got);
		secret_free(tok);
	}
	return NULL;
}

static void
test_concurrent(void **state)
{
	struct fix *f = *state;
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	sqlite3 *db;
	int i;

	f->st = open_ok(f);
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .st = f->st, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(w[i].ok, THREAD_TOKENS);
	db = raw_open(f->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM tokens"),
	    NTHREADS * THREAD_TOKENS);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM accounts"),
	    NTHREADS * THREAD_TOKENS);
	sqlite3_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_issue_lookup, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_stored_hashed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_unknown, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_revoke, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_terms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_newer, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_atomic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_fresh, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_directory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
