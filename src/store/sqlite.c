/*
 * The SQLite store: one database file holding accounts, token hashes,
 * accepted terms and settings.
 *
 * Threads. Several server threads call in at once. We keep ONE connection,
 * opened with SQLITE_OPEN_FULLMUTEX, and serialise every operation on our
 * own mutex. Our mutex is what matters: a statement's bind, step, column
 * reads and reset, a transaction's statements and sqlite3_errmsg() must
 * all happen without another thread's calls in between, which SQLite's
 * per-call locking does not give. FULLMUTEX only keeps the connection safe
 * should anything ever touch it outside that lock. A connection per thread
 * would let reads run in parallel, but SQLite allows one writer at a time
 * anyway, every operation here is one or two indexed statements of a few
 * microseconds, and per-thread connections would bring their own problems:
 * closing them when threads end or when the store is closed from another
 * thread, and N copies of the statement cache.
 *
 * Durability. WAL with synchronous=NORMAL: a commit appends to the WAL
 * without fsync, and only checkpoints sync, so no request waits on the
 * disk. The database cannot be corrupted this way, but a power loss (not
 * a crash of Signpost: the OS still has the data) may lose the last
 * commits. For this store that means a token issued just before is gone
 * and its user registers again, or a terms acceptance is asked again;
 * both are cheap, so we take the trade.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "core/log.h"
#include "core/util.h"

/* How long a statement waits for another process's lock (milliseconds). */
#define SQ_BUSY_TIMEOUT_MS 5000

/*
 * The schema, one migration per version: migrations[i] takes the database
 * from user_version i to i + 1. Never edit an entry once released; append.
 * Accounts own their tokens and terms, so deleting an account (an admin's
 * job) takes them along.
 */
static const char *const migrations[] = {
	/* 1: the first schema. */
	"CREATE TABLE accounts ("
	"  user_id TEXT PRIMARY KEY NOT NULL,"
	"  created_ms INTEGER NOT NULL"
	");"
	"CREATE TABLE tokens ("
	"  hash BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),"
	"  user_id TEXT NOT NULL"
	"    REFERENCES accounts(user_id) ON DELETE CASCADE,"
	"  created_ms INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL"  /* 0: never */
	");"
	"CREATE INDEX tokens_user ON tokens(user_id);"
	"CREATE INDEX tokens_expiry ON tokens(expires_ms)"
	"  WHERE expires_ms != 0;"
	"CREATE TABLE accepted_terms ("
	"  user_id TEXT NOT NULL"
	"    REFERENCES accounts(user_id) ON DELETE CASCADE,"
	"  url TEXT NOT NULL,"
	"  accepted_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (user_id, url)"
	");"
	"CREATE TABLE settings ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL"
	");",
};

#define SQ_SCHEMA_VERSION ((int)ARRAY_LEN(migrations))

/* Statements prepared once per connection, at open. */
enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_ACCOUNT_ADD,
	SQ_TOKEN_ADD,
	SQ_TOKEN_USER,
	SQ_TOKEN_DEL,
	SQ_TERMS_ADD,
	SQ_TERMS_HAS,
	SQ_SETTING_GET,
	SQ_SETTING_SET,
	SQ_PURGE,
	SQ_NSTMT
};

static const char *const sq_sql[SQ_NSTMT] = {
	/* IMMEDIATE takes the write lock at once, so a transaction never has
	 * to upgrade a read lock and fail with SQLITE_BUSY halfway. */
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_ACCOUNT_ADD] = "INSERT OR IGNORE INTO accounts"
	    " (user_id, created_ms) VALUES (?1, ?2)",
	[SQ_TOKEN_ADD] = "INSERT INTO tokens (hash, user_id, created_ms,"
	    " expires_ms) VALUES (?1, ?2, ?3, ?4)",
	[SQ_TOKEN_USER] = "SELECT user_id FROM tokens WHERE hash = ?1"
	    " AND (expires_ms = 0 OR expires_ms > ?2)",
	[SQ_TOKEN_DEL] = "DELETE FROM tokens WHERE hash = ?1",
	[SQ_TERMS_ADD] = "INSERT OR IGNORE INTO accepted_terms (user_id, url,"
	    " accepted_ms) VALUES (?1, ?2, ?3)",
	[SQ_TERMS_HAS] = "SELECT 1 FROM accepted_terms"
	    " WHERE user_id = ?1 AND url = ?2",
	[SQ_SETTING_GET] = "SELECT value FROM settings WHERE name = ?1",
	[SQ_SETTING_SET] = "INSERT INTO settings (name, value) VALUES (?1, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
	[SQ_PURGE] = "DELETE FROM tokens"
	    " WHERE expires_ms != 0 AND expires_ms <= ?1",
};

struct sq {
	pthread_mutex_t lock; /* guards db and every statement */
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ_NSTMT];
	char *path; /* for log lines */
};

/* Logs the connection's last error; the caller holds the lock so the
 * message is the one its own call left. */
static void
sq_fail(struct sq *sq, const char *what)
{
	log_warnx("store: %s: %s: %s", sq->path, what, sqlite3_errmsg(sq->db));
}

/* Makes a statement ready for its next use and drops references to the
 * caller's buffers. */
static void
sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows. */
static int
sq_run(struct sq *sq, enum sq_stmt id, const char *what)
{
	sqlite3_stmt *st = sq->stmt[id];
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		sq_fail(sq, what);
	sq_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_begin(struct sq *sq)
{
	return sq_run(sq, SQ_BEGIN, "begin");
}

/* Commits, or rolls back when ok is -1 or the commit fails. */
static int
sq_end(struct sq *sq, int ok)
{
	if (ok == 0 && sq_run(sq, SQ_COMMIT, "commit") == 0)
		return 0;
	/* After some errors SQLite has already rolled back; a ROLLBACK with
	 * no transaction open would only log a second, confusing error. */
	if (!sqlite3_get_autocommit(sq->db))
		sq_run(sq, SQ_ROLLBACK, "rollback");
	return -1;
}

static int
sq_account_add(struct sq *sq, const char *user_id, int64_t now_ms)
{
	sqlite3_stmt *st = sq->stmt[SQ_ACCOUNT_ADD];

	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	return sq_run(sq, SQ_ACCOUNT_ADD, "add account");
}

static int
sq_token_add(void *self, const char *user_id,
    const unsigned char hash[STORE_HASH_LEN], int64_t created_ms,
    int64_t expires_ms)
{
	struct sq *sq = self;
	sqlite3_stmt *st = sq->stmt[SQ_TOKEN_ADD];
	int ret = -1;

	pthread_mutex_lock(&sq->lock);
	if (sq_begin(sq) == -1)
		goto out;
	if (sq_account_add(sq, user_id, created_ms) == -1)
		goto end;
	sqlite3_bind_blob(st, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, created_ms);
	sqlite3_bind_int64(st, 4, expires_ms);
	ret = sq_run(sq, SQ_TOKEN_ADD, "add token");
end:
	ret = sq_end(sq, ret);
out:
	pthread_mutex_unlock(&sq->lock);
	return ret;
}

/* Copies the text of column 0 of the current row. */
static char *
sq_column_dup(sqlite3_stmt *st)
{
	const unsigned char *s = sqlite3_column_text(st, 0);
	int n = sqlite3_column_bytes(st, 0);

	return s == NULL ? xstrdup("") : xstrndup((const char *)s, (size_t)n);
}

/* Steps a one-row query and copies column 0 when a row comes back. */
static int
sq_query_text(struct sq *sq, enum sq_stmt id, const char *what, char **out)
{
	sqlite3_stmt *st = sq->stmt[id];
	int rc = sqlite3_step(st), ret;

	if (rc == SQLITE_ROW) {
		*out = sq_column_dup(st);
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		sq_fail(sq, what);
		ret = -1;
	}
	sq_done(st);
	return ret;
}

static int
sq_token_user(void *self, const unsigned char hash[STORE_HASH_LEN],
    int64_t now_ms, char **user_id)
{
	struct sq *sq = self;
	sqlite3_stmt *st = sq->stmt[SQ_TOKEN_USER];
	int ret;

	pthread_mutex_lock(&sq->lock);
	sqlite3_bind_blob(st, 1, hash, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	ret = sq_query_text(sq, SQ_TOKEN_USER, "look token up", user_id);
	pthread_mutex_unlock(&sq->lock);
	return ret;
}

static int
sq_token_remove(void *self, const unsigned char hash[STORE_HASH_LEN])
{
	struct sq *sq = self;
	int ret;

	pthread_mutex_lock(&sq->lock);
	sqlite3_bind_blob(sq->stmt[SQ_TOKEN_DEL], 1, hash, STORE_HASH_LEN,
	    SQLITE_STATIC);
	ret = sq_run(sq, SQ_TOKEN_DEL, "revoke token");
	pthread_mutex_unlock(&sq->lock);
	return ret;
}

static int
sq_terms_accept(void *self, const char *user_id, const char *const *urls,
    size_t n, int64_t now_ms)
{
	struct sq *sq = self;
	sqlite3_stmt *st = sq->stmt[SQ_TERMS_ADD];
	size_t i;
	int ret = -1;

	pthread_mutex_lock(&sq->lock);
	if (sq_begin(sq) == -1)
		goto out;
	if (sq_account_add(sq, user_id, now_ms) == -1)
		goto end;
	for (i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, urls[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now_ms);
		if (sq_run(sq, SQ_TERMS_ADD, "accept terms") == -1)
			goto end;
	}
	ret = 0;
end:
	ret = sq_end(sq, ret);
out:
	pthread_mutex_unlock(&sq->lock);
	return ret;
}

static int
sq_terms_accepted(void *self, const char *user_id, const char *url)
{
	struct sq *sq = self;
	sqlite3_stmt *st = sq->stmt[SQ_TERMS_HAS];
	int rc, ret;

	pthread_mutex_lock(&sq->lock);
	sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		ret = rc == SQLITE_ROW;
	} else {
		sq_fail(sq, "check terms");
		ret = -1;
	}
	sq_done(st);
	pthread_mutex_unlock(&sq->lock);
	return ret;
}

static int
sq_setting_get(void *self, const char *name, char **value)
{
	struct sq *sq = self;
	int ret;

	pthread_mutex_lock(&sq->lock);
	sqlite3_bind_text(sq->stmt[SQ_SETTING_GET], 1, name, -1, SQLITE_STATIC);
	ret = sq_query_text(sq, SQ_SETTING_GET, "read setting", value);
	pthread_mutex_unlock(&sq->lock);
	return ret;
}

static int
sq_setting_set(void *self, const char *name, const char *value)
{
	struct sq *sq = self;
	sqlite3_stmt *st = sq->stmt[SQ_SETTING_SET];
	int ret;

	pthread_mutex_lock(&sq->lock);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	ret = sq_run(sq, SQ_SETTING_SET, "write setting");
	pthread_mutex_unlock(&sq->lock);
	return ret;
}

static long
sq_purge_expired(void *self, int64_t now_ms)
{
	struct sq *sq = self;
	long ret = -1;

	pthread_mutex_lock(&sq->lock);
	sqlite3_bind_int64(sq->stmt[SQ_PURGE], 1, now_ms);
	if (sq_run(sq, SQ_PURGE, "purge expired tokens") == 0)
		ret = (long)sqlite3_changes(sq->db);
	pthread_mutex_unlock(&sq->lock);
	return ret;
}

static void
sq_free(struct sq *sq)
{
	size_t i;

	for (i = 0; i < SQ_NSTMT; i++)
		sqlite3_finalize(sq->stmt[i]);
	/* The last connection to close checkpoints the WAL and removes it. */
	if (sq->db != NULL && sqlite3_close(sq->db) != SQLITE_OK)
		log_warnx("store: %s: close: %s", sq->path,
		    sqlite3_errmsg(sq->db));
	pthread_mutex_destroy(&sq->lock);
	free(sq->path);
	free(sq);
}

static void
sq_close(void *self)
{
	sq_free(self);
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.token_add = sq_token_add,
	.token_user = sq_token_user,
	.token_remove = sq_token_remove,
	.terms_accept = sq_terms_accept,
	.terms_accepted = sq_terms_accepted,
	.setting_get = sq_setting_get,
	.setting_set = sq_setting_set,
	.purge_expired = sq_purge_expired,
	.close = sq_close,
};

/*
 * Creates the file ourselves, mode 0600, before SQLite opens it: the
 * database holds token hashes and user ids, and SQLite would create it
 * with 0644 under the usual umask. SQLite gives the -wal and -shm files
 * it makes later the main file's mode. Checking the directory first turns
 * SQLite's vague "unable to open database file" into something an admin
 * can act on.
 */
static int
sq_create_file(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	struct stat sb;
	int fd, ret = -1;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	if (stat(dir, &sb) == -1) {
		if (errno == ENOENT)
			errbuf_printf(err, errlen, "%s: directory %s does not exist",
			    path, dir);
		else
			errbuf_printf(err, errlen, "%s: %s: %s", path, dir,
			    strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		errbuf_printf(err, errlen, "%s: %s is not a directory", path, dir);
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		errbuf_printf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode))
		errbuf_printf(err, errlen, "%s: not a regular file", path);
	else
		ret = 0;
	/* An existing file keeps the mode its admin gave it; say so. */
	if (ret == 0 && (sb.st_mode & 077) != 0)
		log_warnx("store: %s: mode %03o lets other users read token "
		    "hashes; chmod 600 is advised", path,
		    (unsigned)(sb.st_mode & 0777));
	close(fd);
out:
	free(dir);
	return ret;
}

/* Longest journal mode name PRAGMA journal_mode answers ("truncate"),
 * with room to spare. */
#define SQ_MODE_LEN 16

static int
sq_journal_cb(void *arg, int ncol, char **vals, char **names)
{
	(void)names;
	if (ncol > 0 && vals[0] != NULL)
		snprintf(arg, SQ_MODE_LEN, "%s", vals[0]);
	return 0;
}

static int
sq_pragmas(struct sq *sq, char *err, size_t errlen)
{
	char mode[SQ_MODE_LEN] = "";
	char *msg = NULL, *sql;
	int rc;

	/* busy_timeout first, so switching to WAL waits for another
	 * process's lock instead of failing at once. synchronous and
	 * foreign_keys are per connection; journal_mode=WAL stays in the
	 * file. */
	sql = xasprintf("PRAGMA busy_timeout=%d;"
	    "PRAGMA foreign_keys=ON;"
	    "PRAGMA synchronous=NORMAL;"
	    "PRAGMA journal_mode=WAL;", SQ_BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(sq->db, sql, sq_journal_cb, mode, &msg);
	free(sql);
	if (rc != SQLITE_OK) {
		errbuf_printf(err, errlen, "%s: %s", sq->path,
		    msg ? msg : sqlite3_errmsg(sq->db));
		sqlite3_free(msg);
		return -1;
	}
	if (strcmp(mode, "wal") != 0)
		log_warnx("store: %s: journal mode is %s, not wal; writers "
		    "will block readers", sq->path, mode);
	return 0;
}

/* Reads PRAGMA user_version; -1 on error. The caller holds a transaction. */
static int
sq_user_version(struct sq *sq, int *version)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(sq->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*version = sqlite3_column_int(st, 0);
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * Applies every missing migration in one transaction, so a failure leaves
 * the database as it was. The version is read inside the transaction:
 * two Signposts starting on one file cannot both migrate.
 */
static int
sq_migrate(struct sq *sq, char *err, size_t errlen)
{
	char *msg = NULL, *sql = NULL;
	int version = 0, i, ret = -1;

	if (sqlite3_exec(sq->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto fail;
	if (sq_user_version(sq, &version) == -1)
		goto fail;
	if (version > SQ_SCHEMA_VERSION || version < 0) {
		errbuf_printf(err, errlen, "%s: database schema version %d is newer "
		    "than this Signpost (%d)", sq->path, version,
		    SQ_SCHEMA_VERSION);
		goto out;
	}
	for (i = version; i < SQ_SCHEMA_VERSION; i++)
		if (sqlite3_exec(sq->db, migrations[i], NULL, NULL, &msg) !=
		    SQLITE_OK)
			goto fail;
	/* PRAGMA takes no parameters; the number is ours. */
	sql = xasprintf("PRAGMA user_version=%d", SQ_SCHEMA_VERSION);
	if (sqlite3_exec(sq->db, sql, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(sq->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	if (version < SQ_SCHEMA_VERSION)
		log_info("store: %s: schema version %d -> %d", sq->path,
		    version, SQ_SCHEMA_VERSION);
	ret = 0;
	goto out;
fail:
	errbuf_printf(err, errlen, "%s: schema: %s", sq->path,
	    msg ? msg : sqlite3_errmsg(sq->db));
out:
	if (ret == -1 && !sqlite3_get_autocommit(sq->db))
		sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_free(msg);
	free(sql);
	return ret;
}

static int
sq_prepare(struct sq *sq, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < SQ_NSTMT; i++)
		if (sqlite3_prepare_v3(sq->db, sq_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &sq->stmt[i], NULL) !=
		    SQLITE_OK) {
			errbuf_printf(err, errlen, "%s: prepare: %s", sq->path,
			    sqlite3_errmsg(sq->db));
			return -1;
		}
	return 0;
}

struct store *
store_open_sqlite(const char *path, char *err, size_t errlen)
{
	struct sq *sq;
	int rc;

	errbuf_printf(err, errlen, "%s", "");
	if (path == NULL || *path == '\0') {
		errbuf_printf(err, errlen, "database path is empty");
		return NULL;
	}
	/* Tokens come from randombytes_buf(), which needs this once. */
	if (sodium_init() < 0) {
		errbuf_printf(err, errlen, "libsodium failed to initialise");
		return NULL;
	}
	if (sq_create_file(path, err, errlen) == -1)
		return NULL;

	sq = xcalloc(1, sizeof(*sq));
	sq->path = xstrdup(path);
	pthread_mutex_init(&sq->lock, NULL);
	rc = sqlite3_open_v2(path, &sq->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		errbuf_printf(err, errlen, "%s: %s", path, sq->db ?
		    sqlite3_errmsg(sq->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(sq->db, 1);
	if (sq_pragmas(sq, err, errlen) == -1 ||
	    sq_migrate(sq, err, errlen) == -1 ||
	    sq_prepare(sq, err, errlen) == -1)
		goto fail;
	return store_wrap(&sqlite_ops, sq);
fail:
	sq_free(sq);
	return NULL;
}
