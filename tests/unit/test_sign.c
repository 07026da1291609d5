/*
 * Unit tests for src/crypto/sign.c: the signing vectors of the wire formats
 * reference, what signing keeps and leaves out, verification, and the key
 * file (creation, permissions, malformed content, version mismatch).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/util.h"
#include "crypto/sign.h"

/* The vector key: base64 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1. */
static const unsigned char VEC_SEED[SIG_SEED_LEN] = {
	0x60, 0x90, 0xc1, 0x03, 0xd5, 0xe7, 0xaf, 0x6b, 0x15, 0xa9, 0x70,
	0xfd, 0x56, 0x3e, 0xd7, 0x55, 0x49, 0xe6, 0x15, 0x97, 0x19, 0xae,
	0x5c, 0x3c, 0x31, 0xde, 0xe4, 0x31, 0x6f, 0xb7, 0x5c, 0x0d,
};
static const char VEC_SEED_B64[] =
    "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";
static const char VEC_SERVER[] = "domain";
static const char VEC_KEY_ID[] = "ed25519:1";
static const char VEC_PUB[] = "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI";
static const char VEC_SIG_EMPTY[] = "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTd"
    "GYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ";
static const char VEC_SIG_ONE_TWO[] = "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ"
    "4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw";

struct fixture {
	char dir[64];
	char path[128];
	struct sig_key *vec;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	json_setup();
	snprintf(f->dir, sizeof(f->dir), "/tmp/signpost-test-sign.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/signing.key", f->dir);
	f->vec = sig_key_from_seed(VEC_SEED, VEC_KEY_ID);
	if (f->vec == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	int rc = system(cmd);

	free(cmd);
	sig_key_free(f->vec);
	free(f);
	return rc == 0 ? 0 : -1;
}

static json_t *
load(const char *text)
{
	const char *why = NULL;
	json_t *v = json_parse(text, strlen(text), &why);

	if (v == NULL)
		fail_msg("test input does not parse: %s: %s", text, why);
	return v;
}

static const char *
sig_at(const json_t *obj, const char *server, const char *key_id)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(obj, "signatures"), server), key_id));
}

static void
write_file(const char *path, const char *content, size_t len, mode_t mode)
{
	FILE *fp;

	unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *
read_file(const char *path, size_t *len)
{
	char *buf = xmalloc(4096);
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	*len = fread(buf, 1, 4095, fp);
	buf[*len] = '\0';
	fclose(fp);
	return buf;
}

/* ---- keys and vectors ---- */

static void
test_vector_public_key(void **state)
{
	struct fixture *f = *state;
	unsigned char pub[SIG_PUBLIC_KEY_LEN];

	assert_string_equal(sig_key_id(f->vec), VEC_KEY_ID);
	assert_string_equal(sig_public_b64(f->vec), VEC_PUB);
	assert_int_equal(sig_public_key_decode(VEC_PUB, pub), 0);
	assert_memory_equal(pub, sig_public_key(f->vec), sizeof(pub));
}

static void
test_vector_signatures(void **state)
{
	struct fixture *f = *state;
	json_t *v;

	v = json_object();
	assert_int_equal(sig_sign_json(f->vec, VEC_SERVER, v), 0);
	assert_string_equal(sig_at(v, VEC_SERVER, VEC_KEY_ID), VEC_SIG_EMPTY);
	/* Nothing else was added. */
	assert_int_equal(json_object_size(v), 1);
	assert_int_equal(json_object_size(json_object_get(v, "signatures")), 1);
	json_decref(v);

	v = load("{\"two\":\"Two\",\"one\":1}");
	assert_int_equal(sig_sign_json(f->vec, VEC_SERVER, v), 0);
	assert_string_equal(sig_at(v, VEC_SERVER, VEC_KEY_ID), VEC_SIG_ONE_TWO);
	assert_int_equal(json_object_size(v), 3);
	json_decref(v);
}

static void
test_sign_keeps_other_signatures(void **state)
{
	struct fixture *f = *state;
	json_t *v;

	/* The signatures present are not signed over, so this object signs
	 * like {}. */
	v = load("{\"signatures\":{\"other.server\":{\"ed25519:x\":\"abc\"},"
	    "\"domain\":{\"ed25519:0\":\"old\"}}}");
	assert_int_equal(sig_sign_json(f->vec, VEC_SERVER, v), 0);
	assert_string_equal(sig_at(v, VEC_SERVER, VEC_KEY_ID), VEC_SIG_EMPTY);
	assert_string_equal(sig_at(v, "other.server", "ed25519:x"), "abc");
	assert_string_equal(sig_at(v, VEC_SERVER, "ed25519:0"), "old");
	assert_int_equal(json_object_size(json_object_get(v, "signatures")), 2);
	assert_int_equal(json_object_size(json_object_get(json_object_get(v,
	    "signatures"), VEC_SERVER)), 2);

	/* Signing again replaces our own signature, and still verifies. */
	assert_int_equal(sig_sign_json(f->vec, VEC_SERVER, v), 0);
	assert_string_equal(sig_at(v, VEC_SERVER, VEC_KEY_ID), VEC_SIG_EMPTY);
	assert_int_equal(json_object_size(json_object_get(json_object_get(v,
	    "signatures"), VEC_SERVER)), 2);
	assert_true(sig_verify_json(sig_public_key(f->vec), VEC_SERVER,
	    VEC_KEY_ID, v));
	json_decref(v);
}

static void
test_sign_excludes_unsigned(void **state)
{
	struct fixture *f = *state;
	json_t *v;

	v = load("{\"one\":1,\"unsigned\":{\"age_ts\":5,\"x\":[1.5]},"
	    "\"two\":\"Two\"}");
	assert_int_equal(sig_sign_json(f->vec, VEC_SERVER, v), 0);
	assert_string_equal(sig_at(v, VEC_SERVER, VEC_KEY_ID), VEC_SIG_ONE_TWO);
	/* Kept in place, even though it holds a real. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v,
	    "unsigned"), "age_ts")), 5);
	assert_true(sig_verify_json(sig_public_key(f->vec), VEC_SERVER,
	    VEC_KEY_ID, v));
	/* Changing unsigned does not break the signature. */
	json_object_set_new(v, "unsigned", json_string("changed"));
	assert_true(sig_verify_json(sig_public_key(f->vec), VEC_SERVER,
	    VEC_KEY_ID, v));
	json_decref(v);
}

static void
test_sign_refusals_leave_object_alone(void **state)
{
	struct fixture *f = *state;
	json_t *v;
	char *before, *after;
	size_t n;
	static const char *const cases[] = {
		"{\"a\":1.5}",
		"{\"a\":[9007199254740992]}",
		"{\"a\":1,\"signatures\":[]}",
		"{\"a\":1,\"signatures\":{\"domain\":\"x\"}}",
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		v = load(cases[i]);
		before = json_dump(v, &n);
		assert_int_equal(sig_sign_json(f->vec, VEC_SERVER, v), -1);
		after = json_dump(v, &n);
		assert_string_equal(before, after);
		free(before);
		free(after);
		json_decref(v);
	}

	/* A server name jansson cannot use as a key, with and without a
	 * signatures object already there. */
	v = load("{\"a\":1}");
	assert_int_equal(sig_sign_json(f->vec, "bad\xff", v), -1);
	assert_null(json_object_get(v, "signatures"));
	json_decref(v);
	v = load("{\"signatures\":{\"o\":{}}}");
	assert_int_equal(sig_sign_json(f->vec, "bad\xff", v), -1);
	assert_int_equal(json_object_size(json_object_get(v, "signatures")), 1);
	json_decref(v);

	v = load("[]");
	assert_int_equal(sig_sign_json(f->vec, VEC_SERVER, v), -1);
	assert_int_equal(sig_sign_json(f->vec, NULL, v), -1);
	json_decref(v);
}

static void
test_verify(void **state)
{
	struct fixture *f = *state;
	const unsigned char *pub = sig_public_key(f->vec);
	unsigned char other_pub[SIG_PUBLIC_KEY_LEN];
	unsigned char other_seed[SIG_SEED_LEN] = { 1 };
	struct sig_key *other = sig_key_from_seed(other_seed, VEC_KEY_ID);
	json_t *v, *c;
	json_t *sigs;

	memcpy(other_pub, sig_public_key(other), sizeof(other_pub));
	sig_key_free(other);

	v = load("{\"address\":\"louise@bobs.burgers\",\"medium\":\"email\","
	    "\"mxid\":\"@ears:example.org\",\"not_before\":1428825849161,"
	    "\"not_after\":4582425849161,\"ts\":1428825849161}");
	assert_int_equal(sig_sign_json(f->vec, "example.org", v), 0);
	assert_true(sig_verify_json(pub, "example.org", VEC_KEY_ID, v));

	/* Wrong key, server or key id. */
	assert_false(sig_verify_json(other_pub, "example.org", VEC_KEY_ID, v));
	assert_false(sig_verify_json(pub, "example.com", VEC_KEY_ID, v));
	assert_false(sig_verify_json(pub, "example.org", "ed25519:0", v));

	/* A changed value, an added member, a removed member. */
	c = json_deep_copy(v);
	json_object_set_new(c, "mxid", json_string("@ears:example.com"));
	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_decref(c);
	c = json_deep_copy(v);
	json_object_set_new(c, "extra", json_true());
	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_decref(c);
	c = json_deep_copy(v);
	json_object_del(c, "ts");
	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_decref(c);

	/* A changed, malformed or missing signature. */
	c = json_deep_copy(v);
	sigs = json_object_get(json_object_get(c, "signatures"), "example.org");
	json_object_set_new(sigs, VEC_KEY_ID, json_string(VEC_SIG_EMPTY));
	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_object_set_new(sigs, VEC_KEY_ID, json_string("abc"));
	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_object_set_new(sigs, VEC_KEY_ID, json_integer(1));
	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_object_clear(sigs);
	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_object_del(c, "signatures");
	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_decref(c);

	/* Reordering members and adding unsigned changes nothing. */
	c = load("{\"ts\":1428825849161,\"not_after\":4582425849161,"
	    "\"not_before\":1428825849161,\"mxid\":\"@ears:example.org\","
	    "\"medium\":\"email\",\"address\":\"louise@bobs.burgers\","
	    "\"unsigned\":{}}");
	json_object_set(c, "signatures", json_object_get(v, "signatures"));
	assert_true(sig_verify_json(pub, "example.org", VEC_KEY_ID, c));
	json_decref(c);

	assert_false(sig_verify_json(pub, "example.org", VEC_KEY_ID, NULL));
	json_decref(v);

	/* The vector signature verifies. */
	v = load("{\"one\":1,\"two\":\"Two\",\"signatures\":{\"domain\":"
	    "{\"ed25519:1\":\"KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN"
	    "6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw\"}}}");
	assert_true(sig_verify_json(pub, VEC_SERVER, VEC_KEY_ID, v));
	json_decref(v);
}

static void
test_public_key_strings(void **state)
{
	struct fixture *f = *state;
	unsigned char pub[SIG_PUBLIC_KEY_LEN];
	char s[64];

	assert_true(sig_public_key_b64_valid(f->vec, VEC_PUB));
	assert_false(sig_public_key_b64_valid(f->vec, NULL));
	assert_false(sig_public_key_b64_valid(f->vec, ""));
	assert_false(sig_public_key_b64_valid(f->vec,
	    "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJN"));
	assert_false(sig_public_key_b64_valid(f->vec,
	    "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI="));
	assert_false(sig_public_key_b64_valid(f->vec,
	    "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNJ"));
	assert_false(sig_public_key_b64_valid(f->vec,
	    "xGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"));

	assert_int_equal(sig_public_key_decode(VEC_PUB, pub), 0);
	/* The unused low bits of the last character are ignored. */
	snprintf(s, sizeof(s), "%.42sJ", VEC_PUB);
	assert_int_equal(sig_public_key_decode(s, pub), 0);
	assert_memory_equal(pub, sig_public_key(f->vec), sizeof(pub));
	assert_int_equal(sig_public_key_decode(NULL, pub), -1);
	assert_int_equal(sig_public_key_decode("", pub), -1);
	snprintf(s, sizeof(s), "%s=", VEC_PUB);
	assert_int_equal(sig_public_key_decode(s, pub), -1);
	snprintf(s, sizeof(s), "%.42s", VEC_PUB);
	assert_int_equal(sig_public_key_decode(s, pub), -1);
	snprintf(s, sizeof(s), "%sA", VEC_PUB);
	assert_int_equal(sig_public_key_decode(s, pub), -1);
	snprintf(s, sizeof(s), "%.41s-_", VEC_PUB); /* URL-safe alphabet */
	assert_int_equal(sig_public_key_decode(s, pub), -1);
	snprintf(s, sizeof(s), "%.41s!I", VEC_PUB);
	assert_int_equal(sig_public_key_decode(s, pub), -1);
}

static void
test_key_id_valid(void **state)
{
	char id[128];

	(void)state;
	assert_true(sig_key_id_valid("ed25519:0"));
	assert_true(sig_key_id_valid("ed25519:a_AbC9"));
	assert_false(sig_key_id_valid(NULL));
	assert_false(sig_key_id_valid(""));
	assert_false(sig_key_id_valid("ed25519"));
	assert_false(sig_key_id_valid("ed25519:"));
	assert_true(sig_key_id_valid("ed25519:a-b")); /* mxisd serials */
	assert_false(sig_key_id_valid("ed25519:a.b"));
	assert_false(sig_key_id_valid("ed25519:a b"));
	assert_false(sig_key_id_valid("ed25519:0\n"));
	assert_false(sig_key_id_valid("curve25519:0"));
	assert_false(sig_key_id_valid("ED25519:0"));
	snprintf(id, sizeof(id), "ed25519:%064d", 0);
	assert_true(sig_key_id_valid(id));
	snprintf(id, sizeof(id), "ed25519:%065d", 0);
	assert_false(sig_key_id_valid(id));
	assert_null(sig_key_from_seed(VEC_SEED, "ed25519:a.b"));
}

/* ---- key file ---- */

static void
test_key_file_create_and_reload(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	struct sig_key *k, *again;
	struct stat st;
	unsigned char seed[SIG_SEED_LEN];
	char *content, pub[64];
	size_t len;
	mode_t old;

	/* A umask that would strip the owner's write bit does not change
	 * the mode. */
	old = umask(0277);
	k = sig_key_load_or_create(f->path, "ed25519:0", err, sizeof(err));
	umask(old);
	assert_non_null(k);
	assert_string_equal(err, "");
	assert_string_equal(sig_key_id(k), "ed25519:0");
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	/* "ed25519 0 <43 base64 characters>\n", and that seed is the key. */
	content = read_file(f->path, &len);
	assert_int_equal(len, 54);
	assert_memory_equal(content, "ed25519 0 ", 10);
	assert_int_equal(content[53], '\n');
	assert_int_equal(strspn(content + 10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/"), 43);
	content[53] = '\0';
	assert_int_equal(sig_public_key_decode(content + 10, seed), 0);
	again = sig_key_from_seed(seed, "ed25519:0");
	assert_string_equal(sig_public_b64(again), sig_public_b64(k));
	sig_key_free(again);
	secure_wipe(content, len);
	free(content);

	/* Loading gives the same key and leaves the file as it was. */
	snprintf(pub, sizeof(pub), "%s", sig_public_b64(k));
	sig_key_free(k);
	k = sig_key_load_or_create(f->path, "ed25519:0", err, sizeof(err));
	assert_non_null(k);
	assert_string_equal(sig_public_b64(k), pub);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 54);
	sig_key_free(k);

	/* Each new file gets a new key. */
	unlink(f->path);
	k = sig_key_load_or_create(f->path, "ed25519:0", err, sizeof(err));
	assert_non_null(k);
	assert_string_not_equal(sig_public_b64(k), pub);
	sig_key_free(k);
	unlink(f->path);
}

static void
test_key_file_vector_and_synapse_forms(void **state)
{
	struct fixture *f = *state;
	char err[512] = "", text[256];
	struct sig_key *k;
	static const char *const forms[] = {
		"ed25519 1 %s\n",
		"ed25519 1 %s",
		"ed25519 1 %s\r\n",
		"ed25519\t1   %s  \n\n \n",
		"  ed25519 1 %s\n",
	};

	for (size_t i = 0; i < ARRAY_LEN(forms); i++) {
		snprintf(text, sizeof(text), forms[i], VEC_SEED_B64);
		write_file(f->path, text, strlen(text), 0600);
		k = sig_key_load_or_create(f->path, VEC_KEY_ID, err,
		    sizeof(err));
		if (k == NULL)
			fail_msg("form %zu refused: %s", i, err);
		assert_string_equal(sig_public_b64(k), VEC_PUB);
		sig_key_free(k);
	}
	/* 0400 is private too. */
	chmod(f->path, 0400);
	k = sig_key_load_or_create(f->path, VEC_KEY_ID, err, sizeof(err));
	assert_non_null(k);
	sig_key_free(k);

	/* A symbolic link to a private file is followed (mounted secrets). */
	{
		char *link = xasprintf("%s/link.key", f->dir);

		assert_int_equal(symlink(f->path, link), 0);
		k = sig_key_load_or_create(link, VEC_KEY_ID, err, sizeof(err));
		assert_non_null(k);
		assert_string_equal(sig_public_b64(k), VEC_PUB);
		sig_key_free(k);
		unlink(link);
		free(link);
	}
	unlink(f->path);
}

/* mxisd up to 1.2 kept the seed alone, in any base64 flavour. */
static void
test_key_file_mxisd_seed(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	struct sig_key *k;
	static const char *const forms[] = {
		"YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0=\n",
		"YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0",
		"YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW-3XA0\n",
		"YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW_3XA1=\n",
	};

	for (size_t i = 0; i < ARRAY_LEN(forms); i++) {
		write_file(f->path, forms[i], strlen(forms[i]), 0600);
		k = sig_key_load_or_create(f->path, VEC_KEY_ID, err,
		    sizeof(err));
		if (k == NULL)
			fail_msg("form %zu refused: %s", i, err);
		/* '_' is URL-safe for '/', so that form is another seed. */
		if (i < 3)
			assert_string_equal(sig_public_b64(k), VEC_PUB);
		assert_string_equal(sig_key_id(k), VEC_KEY_ID);
		sig_key_free(k);
	}
	/* Still only when private. */
	write_file(f->path, forms[0], strlen(forms[0]), 0644);
	assert_null(sig_key_load_or_create(f->path, VEC_KEY_ID, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "chmod 600"));
	unlink(f->path);
}

static void
test_key_file_permissions_refused(void **state)
{
	struct fixture *f = *state;
	char err[512], text[128];
	static const mode_t modes[] = { 0644, 0640, 0604, 0660, 0602, 0620,
	    0610, 0601, 0666 };
	struct sig_key *k;

	snprintf(text, sizeof(text), "ed25519 1 %s\n", VEC_SEED_B64);
	for (size_t i = 0; i < ARRAY_LEN(modes); i++) {
		write_file(f->path, text, strlen(text), modes[i]);
		err[0] = '\0';
		k = sig_key_load_or_create(f->path, VEC_KEY_ID, err,
		    sizeof(err));
		assert_null(k);
		assert_non_null(strstr(err, "permissions"));
		assert_non_null(strstr(err, "chmod 600"));
		assert_non_null(strstr(err, f->path));
		assert_null(strstr(err, VEC_SEED_B64));
	}
	/* The file was not touched. */
	{
		struct stat st;

		assert_int_equal(stat(f->path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0666);
	}
	unlink(f->path);
}

static void
test_key_file_malformed_refused(void **state)
{
	struct fixture *f = *state;
	char err[512], big[2000];
	struct sig_key *k;
	struct {
		const char *text;
		size_t len; /* 0: strlen(text) */
		const char *why;
	} cases[] = {
		{ "", 0, "empty" },
		{ "\n\n", 0, "empty" },
		{ "  \n", 0, "empty" },
		{ "\nED25519 1 x\n", 0, "first line is empty" },
		{ "ed25519 1 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n", 0,
		    "seed" },
		/* 31 and 33 bytes */
		{ "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA\n", 0,
		    "seed" },
		{ "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0AAA\n",
		    0, "seed" },
		/* padded, URL-safe */
		{ "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA0=\n",
		    0, "seed" },
		{ "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW-3XA0\n", 0,
		    "seed" },
		{ "ed448 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n", 0,
		    "does not start with" },
		/* A lone token that is not a 32-byte seed. */
		{ "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA\n", 0,
		    "does not start with" },
		{ "ed25519 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n", 0,
		    "three fields" },
		{ "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1 x\n",
		    0, "more than three" },
		{ "ed25519 1.2 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n",
		    0, "version" },
		{ "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n"
		  "ed25519 2 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n", 0,
		    "more than one" },
		{ "ed25519 1 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\0\n",
		    55, "NUL" },
		{ "{\"key\":\"YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\"}\n",
		    0, "does not start with" },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len = cases[i].len ? cases[i].len :
		    strlen(cases[i].text);

		write_file(f->path, cases[i].text, len, 0600);
		err[0] = '\0';
		k = sig_key_load_or_create(f->path, VEC_KEY_ID, err,
		    sizeof(err));
		if (k != NULL)
			fail_msg("case %zu was accepted", i);
		if (strstr(err, "malformed") == NULL ||
		    strstr(err, cases[i].why) == NULL)
			fail_msg("case %zu: unexpected message: %s", i, err);
		assert_non_null(strstr(err, "ed25519 <version>"));
		assert_non_null(strstr(err, "mxisd"));
		/* The message never quotes the file. */
		assert_null(strstr(err, "YJDBA9"));
	}

	/* Too large to be a key file. */
	memset(big, ' ', sizeof(big));
	write_file(f->path, big, sizeof(big), 0600);
	k = sig_key_load_or_create(f->path, VEC_KEY_ID, err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, "larger than"));
	unlink(f->path);
}

static void
test_key_file_version_mismatch(void **state)
{
	struct fixture *f = *state;
	char err[512], text[128], *after;
	struct sig_key *k;
	size_t len;

	snprintf(text, sizeof(text), "ed25519 1 %s\n", VEC_SEED_B64);
	write_file(f->path, text, strlen(text), 0600);
	k = sig_key_load_or_create(f->path, "ed25519:0", err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, "holds key ed25519:1"));
	assert_non_null(strstr(err, "configured key id is ed25519:0"));
	assert_non_null(strstr(err, "set the key id to ed25519:1"));
	/* Refusing never rewrites the file. */
	after = read_file(f->path, &len);
	assert_string_equal(after, text);
	free(after);

	/* A prefix of the version is not the version. */
	k = sig_key_load_or_create(f->path, "ed25519:10", err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, "holds key ed25519:1 "));
	unlink(f->path);
}

static void
test_key_file_path_errors(void **state)
{
	struct fixture *f = *state;
	char err[512], *path;
	struct sig_key *k;
	struct stat st;

	/* A directory that does not exist. */
	path = xasprintf("%s/missing/signing.key", f->dir);
	k = sig_key_load_or_create(path, "ed25519:0", err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, "cannot create key file"));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "directory does not exist"));
	free(path);

	/* A directory, and a FIFO (which must not hang the open). */
	k = sig_key_load_or_create(f->dir, "ed25519:0", err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, "not a regular file"));
	path = xasprintf("%s/fifo.key", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	k = sig_key_load_or_create(path, "ed25519:0", err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);
	free(path);

	/* A symbolic link to nowhere is not replaced by a new key. */
	path = xasprintf("%s/dangling.key", f->dir);
	assert_int_equal(symlink("/nonexistent/signpost/key", path), 0);
	k = sig_key_load_or_create(path, "ed25519:0", err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	unlink(path);
	free(path);

	/* A bad key id is refused before the file is looked at. */
	k = sig_key_load_or_create(f->path, "ed25519:a.b", err, sizeof(err));
	assert_null(k);
	assert_non_null(strstr(err, "key id \"ed25519:a.b\""));
	assert_int_equal(stat(f->path, &st), -1);
	k = sig_key_load_or_create(f->path, NULL, err, sizeof(err));
	assert_null(k);
	/* No room for a message is fine. */
	k = sig_key_load_or_create(f->path, "bad", NULL, 0);
	assert_null(k);
}

static void
test_key_free_null(void **state)
{
	(void)state;
	sig_key_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_public_key),
		cmocka_unit_test(test_vector_signatures),
		cmocka_unit_test(test_sign_keeps_other_signatures),
		cmocka_unit_test(test_sign_excludes_unsigned),
		cmocka_unit_test(test_sign_refusals_leave_object_alone),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_public_key_strings),
		cmocka_unit_test(test_key_id_valid),
		cmocka_unit_test(test_key_file_create_and_reload),
		cmocka_unit_test(test_key_file_vector_and_synapse_forms),
		cmocka_unit_test(test_key_file_mxisd_seed),
		cmocka_unit_test(test_key_file_permissions_refused),
		cmocka_unit_test(test_key_file_malformed_refused),
		cmocka_unit_test(test_key_file_version_mismatch),
		cmocka_unit_test(test_key_file_path_errors),
		cmocka_unit_test(test_key_free_null),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
