#include "crypto/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/canonical.h"

#define KEY_ALGORITHM "ed25519"
#define KEY_ID_PREFIX KEY_ALGORITHM ":"
#define B64_VARIANT sodium_base64_VARIANT_ORIGINAL_NO_PADDING
/* Characters in unpadded base64 of n bytes, and that plus a NUL. */
#define B64_CHARS(n) (((n) * 4 + 2) / 3)
#define B64_SIZE(n) sodium_base64_ENCODED_LEN(n, B64_VARIANT)
/* Bounds how much of a key file is read; a key line is under 120 bytes. */
#define KEY_FILE_MAX 1024
/* Bounds the text we decode as base64: a signature is the longest. */
#define B64_DECODE_MAX B64_CHARS(SIG_SIGNATURE_LEN)

_Static_assert(crypto_sign_SEEDBYTES == SIG_SEED_LEN, "seed size");
_Static_assert(crypto_sign_PUBLICKEYBYTES == SIG_PUBLIC_KEY_LEN, "pk size");
_Static_assert(crypto_sign_BYTES == SIG_SIGNATURE_LEN, "signature size");

struct sig_key {
	/* Seed then public key, as libsodium keeps them. In sodium_malloc'd
	 * memory: locked out of swap, guarded, wiped by sodium_free. */
	unsigned char *sk;
	unsigned char pk[SIG_PUBLIC_KEY_LEN];
	char id[sizeof(KEY_ID_PREFIX) + SIG_KEY_VERSION_MAX];
	char pub_b64[B64_SIZE(SIG_PUBLIC_KEY_LEN)];
};

static bool
version_valid(const char *v, size_t len)
{
	if (len == 0 || len > SIG_KEY_VERSION_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];

		/* The spec's key versions are [a-zA-Z0-9_]; mxisd and ma1sd
		 * also used '-' (URL-safe base64 serials), and a migrated
		 * server must keep signing under the id it had. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool
sig_key_id_valid(const char *key_id)
{
	size_t plen = strlen(KEY_ID_PREFIX);

	return key_id != NULL && strncmp(key_id, KEY_ID_PREFIX, plen) == 0 &&
	    version_valid(key_id + plen, strnlen(key_id + plen,
	    SIG_KEY_VERSION_MAX + 1));
}

/*
 * Decodes exactly outlen bytes from s[0..slen), unpadded standard base64.
 * libsodium refuses a last character whose unused low bits are set, but
 * Python's decoder ignores them, and keys written by hand or by other tools
 * have them (the spec's own example seed does), so they are cleared first.
 */
static int
b64_decode_exact(const char *s, size_t slen, unsigned char *out,
    size_t outlen)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char copy[B64_DECODE_MAX];
	const char *pos;
	size_t bin_len = 0;
	unsigned unused;
	int rc;

	if (outlen > SIG_SIGNATURE_LEN || slen != B64_CHARS(outlen))
		return -1;
	memcpy(copy, s, slen);
	/* One byte left over uses 2 characters (4 unused bits), two bytes
	 * 3 characters (2 unused bits). */
	unused = outlen % 3 == 1 ? 4 : outlen % 3 == 2 ? 2 : 0;
	if (unused > 0 && copy[slen - 1] != '\0' &&
	    (pos = strchr(alphabet, copy[slen - 1])) != NULL) {
		size_t v = (size_t)(pos - alphabet) & ~(((size_t)1 << unused) - 1);

		copy[slen - 1] = alphabet[v];
	}
	rc = sodium_base642bin(out, outlen, copy, slen, NULL, &bin_len, NULL,
	    B64_VARIANT);
	secure_wipe(copy, sizeof(copy));
	return rc == 0 && bin_len == outlen ? 0 : -1;
}

/*
 * A seed as mxisd and ma1sd wrote it: base64 of the 32 bytes, standard or
 * URL-safe, padded or not (Apache Commons decodes them all).
 */
static int
decode_foreign_seed(const char *s, size_t len, unsigned char seed[SIG_SEED_LEN])
{
	char copy[B64_CHARS(SIG_SEED_LEN)];
	int rc;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len != sizeof(copy))
		return -1;
	for (size_t i = 0; i < len; i++)
		copy[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	rc = b64_decode_exact(copy, len, seed, SIG_SEED_LEN);
	secure_wipe(copy, sizeof(copy));
	return rc;
}

struct sig_key *
sig_key_from_seed(const unsigned char seed[SIG_SEED_LEN], const char *key_id)
{
	struct sig_key *k;

	if (!sig_key_id_valid(key_id))
		return NULL;
	if (sodium_init() < 0)
		fatalx("cannot initialise libsodium");
	k = xcalloc(1, sizeof(*k));
	k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (k->sk == NULL)
		fatalx("out of memory allocating a signing key");
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	snprintf(k->id, sizeof(k->id), "%s", key_id);
	sodium_bin2base64(k->pub_b64, sizeof(k->pub_b64), k->pk, sizeof(k->pk),
	    B64_VARIANT);
	return k;
}

void
sig_key_free(struct sig_key *k)
{
	if (k == NULL)
		return;
	sodium_free(k->sk);
	secure_wipe(k, sizeof(*k));
	free(k);
}

const char *
sig_key_id(const struct sig_key *k)
{
	return k->id;
}

const char *
sig_public_b64(const struct sig_key *k)
{
	return k->pub_b64;
}

const unsigned char *
sig_public_key(const struct sig_key *k)
{
	return k->pk;
}

int
sig_public_key_decode(const char *b64, unsigned char pub[SIG_PUBLIC_KEY_LEN])
{
	if (b64 == NULL)
		return -1;
	return b64_decode_exact(b64, strnlen(b64, B64_DECODE_MAX + 1), pub,
	    SIG_PUBLIC_KEY_LEN);
}

bool
sig_public_key_b64_valid(const struct sig_key *k, const char *b64)
{
	size_t len = strlen(k->pub_b64);

	if (b64 == NULL || strnlen(b64, len + 1) != len)
		return false;
	return sodium_memcmp(b64, k->pub_b64, len) == 0;
}

/* ---- key file ---- */

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Parses the key file text buf[0..n): points *version into buf and decodes
 * the seed. A file holding only a seed (mxisd's first format) has no
 * version: *version is NULL. Blanks around and between fields and empty lines after the key
 * are allowed, as Synapse's reader (str.split) allows them; a second key is
 * not. Sets *why to a static reason on failure; it never quotes the file,
 * which holds a secret.
 */
static int
parse_key_file(const char *buf, size_t n, const char **version,
    size_t *vlen, unsigned char seed[SIG_SEED_LEN], const char **why)
{
	const char *field[3];
	size_t flen[3], i = 0, nf = 0;

	if (memchr(buf, '\0', n) != NULL) {
		*why = "it holds a NUL byte, not text";
		return -1;
	}
	for (;;) {
		while (i < n && is_blank(buf[i]))
			i++;
		if (i == n || buf[i] == '\n')
			break;
		if (nf == 3) {
			*why = "the key line has more than three fields";
			return -1;
		}
		field[nf] = buf + i;
		while (i < n && !is_blank(buf[i]) && buf[i] != '\n')
			i++;
		flen[nf] = (size_t)(buf + i - field[nf]);
		nf++;
	}
	for (; i < n; i++) {
		if (!is_blank(buf[i]) && buf[i] != '\n') {
			*why = nf == 0 ? "its first line is empty" :
			    "it holds more than one line (more than one key?)";
			return -1;
		}
	}
	if (nf == 0) {
		*why = "it is empty";
		return -1;
	}
	if (nf == 1 && decode_foreign_seed(field[0], flen[0], seed) == 0) {
		/* mxisd up to 1.2: the seed alone, version 0 implied. */
		*version = NULL;
		*vlen = 0;
		return 0;
	}
	if (flen[0] != strlen(KEY_ALGORITHM) ||
	    memcmp(field[0], KEY_ALGORITHM, flen[0]) != 0) {
		*why = "it does not start with \"" KEY_ALGORITHM " \"";
		return -1;
	}
	if (nf != 3) {
		*why = "the key line does not have three fields";
		return -1;
	}
	if (!version_valid(field[1], flen[1])) {
		*why = "the version is not 1 to 64 letters, digits, '_' or '-'";
		return -1;
	}
	if (b64_decode_exact(field[2], flen[2], seed, SIG_SEED_LEN) != 0) {
		*why = "the seed is not 32 bytes in unpadded standard base64";
		return -1;
	}
	*version = field[1];
	*vlen = flen[1];
	return 0;
}

/* Reads the whole (small) file; -1 with errno set, or E2BIG if too large. */
static ssize_t
read_small(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t r;

	while (got < cap) {
		r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return (ssize_t)got;
		got += (size_t)r;
	}
	errno = E2BIG;
	return -1;
}

/* Takes fd over. */
static struct sig_key *
load_key_file(int fd, const char *path, const char *key_id, char *err,
    size_t errlen)
{
	const char *want = key_id + strlen(KEY_ID_PREFIX);
	unsigned char seed[SIG_SEED_LEN];
	char buf[KEY_FILE_MAX];
	const char *version, *why;
	size_t vlen;
	struct sig_key *k = NULL;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) != 0) {
		errbuf_printf(err, errlen, "cannot stat key file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_printf(err, errlen, "key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		errbuf_printf(err, errlen, "key file %s has permissions %04o: group or "
		    "others may access it; make it private with "
		    "\"chmod 600 %s\"", path, (unsigned)(st.st_mode & 07777),
		    path);
		goto out;
	}
	n = read_small(fd, buf, sizeof(buf));
	if (n < 0 && errno == E2BIG) {
		errbuf_printf(err, errlen, "key file %s is malformed: it is larger than "
		    "%d bytes", path, KEY_FILE_MAX);
		goto out;
	}
	if (n < 0) {
		errbuf_printf(err, errlen, "cannot read key file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (parse_key_file(buf, (size_t)n, &version, &vlen, seed, &why) != 0) {
		errbuf_printf(err, errlen, "key file %s is malformed: %s; expected one "
		    "line \"" KEY_ALGORITHM " <version> <seed in unpadded "
		    "base64>\", or mxisd's seed alone", path, why);
		goto out;
	}
	if (version == NULL) {
		log_info("key file %s is in mxisd's format (the seed alone); "
		    "using it as %s", path, key_id);
	} else if (vlen != strlen(want) || memcmp(version, want, vlen) != 0) {
		errbuf_printf(err, errlen, "key file %s holds key " KEY_ID_PREFIX "%.*s "
		    "but the configured key id is %s: set the key id to "
		    KEY_ID_PREFIX "%.*s, or point the key path at another "
		    "file", path, (int)vlen, version, key_id, (int)vlen,
		    version);
		goto out;
	}
	k = sig_key_from_seed(seed, key_id);
out:
	secure_wipe(seed, sizeof(seed));
	secure_wipe(buf, sizeof(buf));
	close(fd);
	return k;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Makes the new directory entry durable; some file systems cannot, which is
 * worth a warning but not a refusal to start. */
static void
sync_parent_dir(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int fd;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		log_warn("cannot sync directory %s after creating key file", dir);
	if (fd >= 0)
		close(fd);
	free(dir);
}

/*
 * Creates a new key file at path. Sets *exists (and returns NULL without a
 * message) when something appeared there since we looked, so the caller can
 * load that instead.
 */
static struct sig_key *
create_key_file(const char *path, const char *key_id,
    const unsigned char *given, bool *exists, char *err, size_t errlen)
{
	const char *version = key_id + strlen(KEY_ID_PREFIX);
	unsigned char seed[SIG_SEED_LEN];
	char seed_b64[B64_SIZE(SIG_SEED_LEN)];
	char line[sizeof(KEY_ALGORITHM) + SIG_KEY_VERSION_MAX + sizeof(seed_b64) + 2];
	struct sig_key *k = NULL;
	int fd, len;

	*exists = false;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    S_IRUSR | S_IWUSR);
	if (fd < 0 && errno == EEXIST) {
		*exists = true;
		return NULL;
	}
	if (fd < 0) {
		errbuf_printf(err, errlen, "cannot create key file %s: %s%s", path,
		    strerror(errno), errno == ENOENT ?
		    " (its directory does not exist)" : "");
		return NULL;
	}
	if (given != NULL)
		memcpy(seed, given, sizeof(seed));
	else
		randombytes_buf(seed, sizeof(seed));
	sodium_bin2base64(seed_b64, sizeof(seed_b64), seed, sizeof(seed),
	    B64_VARIANT);
	len = snprintf(line, sizeof(line), KEY_ALGORITHM " %s %s\n", version,
	    seed_b64);
	/* The umask may have left fewer bits; the mode is part of the format. */
	if (fchmod(fd, S_IRUSR | S_IWUSR) != 0 ||
	    write_all(fd, line, (size_t)len) != 0 || fsync(fd) != 0) {
		errbuf_printf(err, errlen, "cannot write key file %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (close(fd) != 0) {
		errbuf_printf(err, errlen, "cannot write key file %s: %s", path,
		    strerror(errno));
		unlink(path);
		goto out;
	}
	sync_parent_dir(path);
	k = sig_key_from_seed(seed, key_id);
	if (given == NULL)
		log_info("created a new signing key %s at %s (public key %s)",
		    key_id, path, k->pub_b64);
out:
	secure_wipe(seed, sizeof(seed));
	secure_wipe(seed_b64, sizeof(seed_b64));
	secure_wipe(line, sizeof(line));
	return k;
}

struct sig_key *
sig_key_load_or_create(const char *path, const char *key_id, char *err,
    size_t errlen)
{
	struct sig_key *k;
	bool exists;
	int fd;

	if (!sig_key_id_valid(key_id)) {
		errbuf_printf(err, errlen, "key id \"%s\" is not " KEY_ID_PREFIX
		    "<version> with a version of 1 to %d letters, digits, '_' "
		    "or '-'", key_id ? key_id : "", SIG_KEY_VERSION_MAX);
		return NULL;
	}
	/* Two rounds: a file created by someone else between our open and
	 * our exclusive create is loaded on the second. */
	for (int round = 0; round < 2; round++) {
		/* O_NONBLOCK: opening a FIFO must not hang; fstat refuses it. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0)
			return load_key_file(fd, path, key_id, err, errlen);
		if (errno != ENOENT) {
			errbuf_printf(err, errlen, "cannot open key file %s: %s", path,
			    strerror(errno));
			return NULL;
		}
		k = create_key_file(path, key_id, NULL, &exists, err, errlen);
		if (!exists)
			return k;
	}
	errbuf_printf(err, errlen, "key file %s exists but cannot be opened (a "
	    "symbolic link to nowhere?)", path);
	return NULL;
}

/* ---- mxisd's key store ---- */

/* Reads a small JSON file (it may hold a seed: the buffer is wiped). NULL
 * with errno set (ENOENT when absent), or EINVAL when it is not JSON. */
static json_t *
read_json_file(const char *path)
{
	char buf[KEY_FILE_MAX];
	const char *why;
	json_t *v = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return NULL;
	n = read_small(fd, buf, sizeof(buf));
	close(fd);
	if (n >= 0 && (v = json_parse(buf, (size_t)n, &why)) == NULL)
		errno = EINVAL;
	secure_wipe(buf, sizeof(buf));
	return v;
}

int
sig_key_import_mxisd(const char *dir, const char *dest, const char *key_id,
    char *err, size_t errlen)
{
	const char *want = key_id + strlen(KEY_ID_PREFIX), *serial, *b64;
	unsigned char seed[SIG_SEED_LEN];
	json_t *current = NULL, *stored = NULL;
	char *cur_path, *key_path = NULL;
	struct sig_key *k = NULL;
	bool exists;
	int rc = -1;

	if (access(dest, F_OK) == 0 || !sig_key_id_valid(key_id))
		return 0;
	cur_path = xasprintf("%s/current", dir);
	if ((current = read_json_file(cur_path)) == NULL) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc < 0 && errno == EINVAL)
			errbuf_printf(err, errlen, "mxisd key store %s: %s is "
			    "not JSON", dir, cur_path);
		else if (rc < 0)
			errbuf_printf(err, errlen, "mxisd key store %s: cannot "
			    "read %s: %s", dir, cur_path, strerror(errno));
		goto out;
	}
	serial = json_string_value(json_object_get(current, "serial"));
	if (serial == NULL || !version_valid(serial, strlen(serial)) ||
	    strcmp(json_string_value(json_object_get(current, "algo")) ?
	    json_string_value(json_object_get(current, "algo")) : "",
	    KEY_ALGORITHM) != 0) {
		errbuf_printf(err, errlen, "mxisd key store %s: %s does not name "
		    "an " KEY_ALGORITHM " key", dir, cur_path);
		goto out;
	}
	if (strcmp(serial, want) != 0) {
		errbuf_printf(err, errlen, "mxisd key store %s holds key "
		    KEY_ID_PREFIX "%s but the configured key id is %s: set the "
		    "key id to " KEY_ID_PREFIX "%s to keep signing with it",
		    dir, serial, key_id, serial);
		goto out;
	}
	key_path = xasprintf("%s/regular/" KEY_ALGORITHM "/%s", dir, serial);
	if ((stored = read_json_file(key_path)) == NULL ||
	    (b64 = json_string_value(json_object_get(stored, "key"))) == NULL ||
	    decode_foreign_seed(b64, strlen(b64), seed) != 0) {
		errbuf_printf(err, errlen, "mxisd key store %s: %s is missing or "
		    "does not hold a key", dir, key_path);
		goto out;
	}
	k = create_key_file(dest, key_id, seed, &exists, err, errlen);
	if (k == NULL) {
		rc = exists ? 0 : -1; /* exists: made meanwhile, use that */
		goto out;
	}
	log_info("imported mxisd's signing key %s from %s into %s (public key "
	    "%s); the old store can be deleted once Signpost runs", key_id,
	    key_path, dest, k->pub_b64);
	rc = 1;
out:
	secure_wipe(seed, sizeof(seed));
	sig_key_free(k);
	json_decref(current);
	json_decref(stored);
	free(cur_path);
	free(key_path);
	return rc;
}

/* ---- JSON signatures ---- */

/* Members that are not covered by a signature. */
static const char *const unsigned_members[] = { "signatures", "unsigned" };

static int
signable_bytes(const json_t *obj, char **msg, size_t *len)
{
	return canon_encode_except(obj, unsigned_members,
	    ARRAY_LEN(unsigned_members), msg, len);
}

int
sig_sign_json(const struct sig_key *k, const char *server_name, json_t *obj)
{
	unsigned char sig[SIG_SIGNATURE_LEN];
	char sig_b64[B64_SIZE(SIG_SIGNATURE_LEN)];
	json_t *sigs, *mine, *new_sigs = NULL, *new_mine = NULL;
	char *msg;
	size_t len;

	if (!json_is_object(obj) || server_name == NULL)
		return -1;
	sigs = json_object_get(obj, "signatures");
	if (sigs != NULL && !json_is_object(sigs))
		return -1;
	mine = sigs != NULL ? json_object_get(sigs, server_name) : NULL;
	if (mine != NULL && !json_is_object(mine))
		return -1;
	if (signable_bytes(obj, &msg, &len) != 0)
		return -1;
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len,
	    k->sk);
	free(msg);
	sodium_bin2base64(sig_b64, sizeof(sig_b64), sig, sizeof(sig),
	    B64_VARIANT);

	/* Whatever is new is attached last, so a failure leaves obj as it
	 * was; only a bad server_name can fail here. */
	if (mine == NULL)
		mine = new_mine = json_object();
	if (sigs == NULL)
		sigs = new_sigs = json_object();
	if (mine == NULL || sigs == NULL ||
	    json_object_set_new(mine, k->id, json_string(sig_b64)) != 0)
		fatalx("out of memory building a signature");
	if (new_mine != NULL && json_object_set_new(sigs, server_name,
	    new_mine) != 0) {
		json_decref(new_sigs);
		return -1;
	}
	if (new_sigs != NULL && json_object_set_new(obj, "signatures",
	    new_sigs) != 0)
		fatalx("out of memory building a signature");
	return 0;
}

bool
sig_verify_json(const unsigned char pub[SIG_PUBLIC_KEY_LEN],
    const char *server_name, const char *key_id, const json_t *obj)
{
	unsigned char sig[SIG_SIGNATURE_LEN];
	const json_t *s;
	char *msg;
	size_t len;
	bool ok;

	if (!json_is_object(obj) || server_name == NULL || key_id == NULL)
		return false;
	s = json_object_get(json_object_get(json_object_get(obj, "signatures"),
	    server_name), key_id);
	if (!json_is_string(s) || b64_decode_exact(json_string_value(s),
	    json_string_length(s), sig, sizeof(sig)) != 0)
		return false;
	if (signable_bytes(obj, &msg, &len) != 0)
		return false;
	ok = crypto_sign_verify_detached(sig, (const unsigned char *)msg, len,
	    pub) == 0;
	free(msg);
	return ok;
}
