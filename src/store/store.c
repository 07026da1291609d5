/*
 * Dispatch to a store implementation. Everything every implementation
 * would otherwise repeat happens here: bounds on what callers pass in,
 * making tokens and hashing them, and reading the clock.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/util.h"

struct store {
	const struct store_ops *ops;
	void *self;
};

struct store *
store_wrap(const struct store_ops *ops, void *self)
{
	struct store *st = xcalloc(1, sizeof(*st));

	st->ops = ops;
	st->self = self;
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st->self);
	free(st);
}

/*
 * Each check logs what was refused but never the value itself: a user id
 * is not secret, but an oversized one is attacker-chosen and would only
 * flood the log.
 */
static int
check_len(const char *what, const char *s, size_t max, int allow_empty)
{
	size_t len;

	if (s == NULL) {
		log_warnx("store: %s missing", what);
		return -1;
	}
	len = strnlen(s, max + 1);
	if (len > max) {
		log_warnx("store: %s refused: longer than %zu bytes", what,
		    max);
		return -1;
	}
	if (len == 0 && !allow_empty) {
		log_warnx("store: %s refused: empty", what);
		return -1;
	}
	return 0;
}

static int
check_user(const char *user_id)
{
	return check_len("user id", user_id, STORE_USER_ID_MAX, 0);
}

/* Tokens are looked up by hash only, so the clear token never reaches an
 * implementation (nor its logs, nor its disk). */
static void
token_hash(const char *token, unsigned char hash[STORE_HASH_LEN])
{
	crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
}

char *
store_token_issue_at(struct store *st, const char *user_id,
    unsigned lifetime_s, int64_t now_ms)
{
	unsigned char raw[STORE_TOKEN_BYTES];
	unsigned char hash[STORE_HASH_LEN];
	char tok[sodium_base64_ENCODED_LEN(STORE_TOKEN_BYTES,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	int64_t expires_ms;
	char *out = NULL;

	if (check_user(user_id) == -1)
		return NULL;
	expires_ms = lifetime_s ? now_ms + (int64_t)lifetime_s * 1000 : 0;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(tok, sizeof(tok), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	token_hash(tok, hash);
	if (st->ops->token_add(st->self, user_id, hash, now_ms,
	    expires_ms) == -1)
		goto out;
	out = xstrdup(tok);
out:
	secure_wipe(raw, sizeof(raw));
	secure_wipe(tok, sizeof(tok));
	return out;
}

char *
store_token_issue(struct store *st, const char *user_id, unsigned lifetime_s)
{
	return store_token_issue_at(st, user_id, lifetime_s,
	    (int64_t)now_realtime_ms());
}

int
store_token_user(struct store *st, const char *token, char **user_id)
{
	unsigned char hash[STORE_HASH_LEN];

	*user_id = NULL;
	if (token == NULL || *token == '\0')
		return 0;
	token_hash(token, hash);
	return st->ops->token_user(st->self, hash, (int64_t)now_realtime_ms(),
	    user_id);
}

int
store_token_revoke(struct store *st, const char *token)
{
	unsigned char hash[STORE_HASH_LEN];

	if (token == NULL || *token == '\0')
		return 0;
	token_hash(token, hash);
	return st->ops->token_remove(st->self, hash);
}

int
store_terms_accept(struct store *st, const char *user_id,
    const char *const *urls, size_t n)
{
	size_t i;

	if (check_user(user_id) == -1)
		return -1;
	if (n > STORE_TERMS_MAX) {
		log_warnx("store: %zu policy URLs refused: at most %d at once",
		    n, STORE_TERMS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (check_len("policy URL", urls[i], STORE_URL_MAX, 0) == -1)
			return -1;
	if (n == 0)
		return 0;
	return st->ops->terms_accept(st->self, user_id, urls, n,
	    (int64_t)now_realtime_ms());
}

int
store_terms_accepted(struct store *st, const char *user_id, const char *url)
{
	if (check_user(user_id) == -1 ||
	    check_len("policy URL", url, STORE_URL_MAX, 0) == -1)
		return -1;
	return st->ops->terms_accepted(st->self, user_id, url);
}

int
store_setting_get(struct store *st, const char *name, char **value)
{
	*value = NULL;
	if (check_len("setting name", name, STORE_NAME_MAX, 0) == -1)
		return -1;
	return st->ops->setting_get(st->self, name, value);
}

int
store_setting_set(struct store *st, const char *name, const char *value)
{
	if (check_len("setting name", name, STORE_NAME_MAX, 0) == -1 ||
	    check_len("setting value", value, STORE_VALUE_MAX, 1) == -1)
		return -1;
	return st->ops->setting_set(st->self, name, value);
}

long
store_purge_expired(struct store *st)
{
	return st->ops->purge_expired(st->self, (int64_t)now_realtime_ms());
}
