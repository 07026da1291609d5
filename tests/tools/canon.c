/*
 * Drives src/crypto from the integration tests, which compare it with
 * Python's canonicaljson and signedjson.
 *
 *   canon encode                        each stdin line is a JSON value
 *   canon sign SEED_HEX SERVER KEY_ID   each stdin line is an object to sign
 *   canon pubkey SEED_HEX KEY_ID        prints the public key
 *   canon keyfile PATH KEY_ID           loads or creates a key file, prints
 *                                       the public key
 *
 * encode and sign answer every input line with one output line: the
 * canonical JSON (for sign, of the signed object), or "!refused" when the
 * encoder refuses the value, or "!parse <reason>" when jansson does. A line
 * works as a frame because JSON text never holds a raw newline and
 * canonical JSON escapes the ones in strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/json.h"
#include "crypto/canonical.h"
#include "crypto/sign.h"

static void usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fputs("usage: canon encode\n"
	    "       canon sign SEED_HEX SERVER KEY_ID\n"
	    "       canon pubkey SEED_HEX KEY_ID\n"
	    "       canon keyfile PATH KEY_ID\n", stderr);
	exit(2);
}

static struct sig_key *
key_from_hex(const char *hex, const char *key_id)
{
	unsigned char seed[SIG_SEED_LEN];
	size_t n = 0;
	struct sig_key *k;

	if (sodium_hex2bin(seed, sizeof(seed), hex, strlen(hex), NULL, &n,
	    NULL) != 0 || n != sizeof(seed)) {
		fprintf(stderr, "canon: the seed must be 64 hex digits\n");
		exit(2);
	}
	k = sig_key_from_seed(seed, key_id);
	sodium_memzero(seed, sizeof(seed));
	if (k == NULL) {
		fprintf(stderr, "canon: invalid key id %s\n", key_id);
		exit(2);
	}
	return k;
}

/* One input line to one output line; k NULL means encode only. */
static void
process_line(const char *line, size_t len, const struct sig_key *k,
    const char *server)
{
	json_error_t e;
	json_t *v;
	char *out;
	size_t outlen;

	v = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &e);
	if (v == NULL) {
		printf("!parse %s\n", e.text);
		return;
	}
	if ((k != NULL && sig_sign_json(k, server, v) != 0) ||
	    canon_encode(v, &out, &outlen) != 0) {
		printf("!refused\n");
		json_decref(v);
		return;
	}
	fwrite(out, 1, outlen, stdout);
	putchar('\n');
	free(out);
	json_decref(v);
}

static int
run_lines(const struct sig_key *k, const char *server)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		process_line(line, (size_t)n, k, server);
	}
	free(line);
	return fflush(stdout) == 0 && !ferror(stdin) ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct sig_key *k;
	char err[512];
	int rc;

	if (sodium_init() < 0)
		return 1;
	json_setup();
	if (argc == 2 && strcmp(argv[1], "encode") == 0)
		return run_lines(NULL, NULL);
	if (argc == 5 && strcmp(argv[1], "sign") == 0) {
		k = key_from_hex(argv[2], argv[4]);
		rc = run_lines(k, argv[3]);
		sig_key_free(k);
		return rc;
	}
	if (argc == 4 && strcmp(argv[1], "pubkey") == 0) {
		k = key_from_hex(argv[2], argv[3]);
		printf("%s\n", sig_public_b64(k));
		sig_key_free(k);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "keyfile") == 0) {
		k = sig_key_load_or_create(argv[2], argv[3], err, sizeof(err));
		if (k == NULL) {
			fprintf(stderr, "canon: %s\n", err);
			return 1;
		}
		printf("%s\n", sig_public_b64(k));
		sig_key_free(k);
		return 0;
	}
	usage();
}
