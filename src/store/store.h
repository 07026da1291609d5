/*
 * The identity server's own state for the Identity Service v2 API:
 * accounts, access tokens, accepted terms and a few settings (the lookup
 * pepper). User data stays in the webapp; nothing here is a 3PID.
 *
 * A store is an ops table behind an opaque handle, so a PostgreSQL
 * implementation is one new file ending with its table and a constructor,
 * and callers do not change. The dispatch functions below check input
 * bounds, make and hash tokens and read the clock, so an implementation
 * never sees a token in clear and never has to repeat those checks.
 *
 * Every function may be called from several threads at once on the same
 * store. Results are three-way where a question is asked (1 yes, 0 no,
 * -1 storage error), so "unknown token" never looks like "database down".
 * Errors are logged here or by the implementation; callers only map them
 * to an answer.
 */
#ifndef SIGNPOST_STORE_STORE_H
#define SIGNPOST_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Longest Matrix user id accepted, in bytes (the spec's own limit). */
#define STORE_USER_ID_MAX 255
/* Longest policy URL accepted, in bytes. */
#define STORE_URL_MAX 2048
/* Longest setting name and value accepted, in bytes. */
#define STORE_NAME_MAX 64
#define STORE_VALUE_MAX 4096
/* Most policy URLs one store_terms_accept() call records. */
#define STORE_TERMS_MAX 256
/* Random bytes in an access token; its unpadded URL-safe base64 is 43
 * characters. */
#define STORE_TOKEN_BYTES 32
/* Length of a token's SHA-256 hash, the only form a store keeps. */
#define STORE_HASH_LEN 32

/* Names of the settings Signpost keeps. The pepper rotates: the previous
 * one stays valid for a while after the rotation time (milliseconds since
 * the epoch, in decimal). */
#define STORE_SETTING_PEPPER "lookup_pepper"
#define STORE_SETTING_PEPPER_PREV "lookup_pepper_previous"
#define STORE_SETTING_PEPPER_ROTATED "lookup_pepper_rotated_ms"

struct store;

/*
 * Opens (creating it if needed, mode 0600) the SQLite database at path and
 * brings its schema up to date. Returns NULL and writes a one-line message
 * to err (if err is not NULL) when the directory does not exist, the file
 * is not a database, or its schema is newer than this Signpost.
 */
struct store *store_open_sqlite(const char *path, char *err, size_t errlen);

/* Closes the store and frees it. No other thread may still be using it.
 * NULL is fine. */
void store_close(struct store *st);

/*
 * Issues a new random token for user_id, valid for lifetime_s seconds
 * (0: no expiry), and creates the account if it is new. Only the token's
 * SHA-256 is stored. Returns the token, which the caller frees with
 * secret_free(), or NULL on a storage error or an invalid user_id (empty or
 * over STORE_USER_ID_MAX bytes).
 */
char *store_token_issue(struct store *st, const char *user_id,
    unsigned lifetime_s);

/*
 * Looks a token up by its hash. Returns 1 and sets *user_id (the caller
 * frees it) when the token is known and unexpired, 0 when it is unknown or
 * expired, -1 on a storage error. *user_id is NULL unless 1 is returned.
 */
int store_token_user(struct store *st, const char *token, char **user_id);

/* Revokes one token. Returns 0, also when the token is unknown, or -1. */
int store_token_revoke(struct store *st, const char *token);

/*
 * Records that user_id accepted urls[0..n); accepting a URL twice is not
 * an error. Creates the account if it is new. Returns 0 or -1 (also for an
 * invalid user_id, a URL that is empty or over STORE_URL_MAX bytes, or more
 * than STORE_TERMS_MAX URLs; nothing is recorded then).
 */
int store_terms_accept(struct store *st, const char *user_id,
    const char *const *urls, size_t n);

/* Returns 1 if user_id has accepted url, 0 if not, -1 on error or an
 * invalid argument. */
int store_terms_accepted(struct store *st, const char *user_id,
    const char *url);

/*
 * Reads a setting: returns 1 and sets *value (the caller frees it), 0 when
 * the setting is absent, -1 on error. *value is NULL unless 1 is returned.
 */
int store_setting_get(struct store *st, const char *name, char **value);

/* Creates or replaces a setting. Returns 0, or -1 on error or when name or
 * value is over its bound. */
int store_setting_set(struct store *st, const char *name, const char *value);

/* Deletes tokens whose expiry has passed. Returns how many, or -1. */
long store_purge_expired(struct store *st);

/* For tests: store_token_issue() as if the clock read now_ms. */
char *store_token_issue_at(struct store *st, const char *user_id,
    unsigned lifetime_s, int64_t now_ms);

/*
 * For implementations. Arguments have been checked by the dispatch
 * functions above; times are milliseconds since the epoch, and an expiry
 * of 0 means never. Return conventions are the public ones.
 */
struct store_ops {
	const char *name;
	int (*token_add)(void *self, const char *user_id,
	    const unsigned char hash[STORE_HASH_LEN], int64_t created_ms,
	    int64_t expires_ms);
	int (*token_user)(void *self, const unsigned char hash[STORE_HASH_LEN],
	    int64_t now_ms, char **user_id);
	int (*token_remove)(void *self,
	    const unsigned char hash[STORE_HASH_LEN]);
	int (*terms_accept)(void *self, const char *user_id,
	    const char *const *urls, size_t n, int64_t now_ms);
	int (*terms_accepted)(void *self, const char *user_id,
	    const char *url);
	int (*setting_get)(void *self, const char *name, char **value);
	int (*setting_set)(void *self, const char *name, const char *value);
	long (*purge_expired)(void *self, int64_t now_ms);
	void (*close)(void *self);
};

/* Wraps an implementation's state in a store handle; never NULL. */
struct store *store_wrap(const struct store_ops *ops, void *self);

#endif
