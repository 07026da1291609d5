/*
 * The server's ed25519 signing key and Matrix JSON signatures (signed
 * associations from v1 lookup, the pubkey endpoints).
 *
 * Key file format: one line of text,
 *
 *     ed25519 <version> <seed>\n
 *
 * where <seed> is the 32-byte ed25519 seed in standard base64 without
 * padding, and the key id is "ed25519:<version>". This is the format
 * Synapse and sydent use for their signing keys (signedjson's
 * write_signing_keys), so such a file, holding one key, can be used as is.
 * The file must be a regular file that only its owner may access (no bit of
 * mode 077 set).
 *
 * mxisd kept its key in a different form; it is not read. Pointing Signpost
 * at a new path makes a new key, which is harmless: clients fetch an
 * identity server's public key from the pubkey endpoint rather than pinning
 * it, and associations signed earlier are checked against keys fetched then.
 */
#ifndef SIGNPOST_CRYPTO_SIGN_H
#define SIGNPOST_CRYPTO_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Sizes of an ed25519 seed, public key and signature, in bytes. */
#define SIG_SEED_LEN 32
#define SIG_PUBLIC_KEY_LEN 32
#define SIG_SIGNATURE_LEN 64
/* Bounds the <version> in "ed25519:<version>"; Synapse's are 6 bytes. */
#define SIG_KEY_VERSION_MAX 64

struct sig_key;

/*
 * Whether key_id is "ed25519:<version>", the version being 1 to
 * SIG_KEY_VERSION_MAX letters, digits, '_' or '-' (the spec's alphabet plus
 * mxisd's '-').
 */
bool sig_key_id_valid(const char *key_id);

/*
 * Loads the key at path, or creates it if nothing is there: a random seed is
 * written with mode 0600 (the file is created exclusively and synced, with
 * its directory) and a line is logged at info level.
 *
 * Returns a key to free with sig_key_free(), or NULL with a message for the
 * operator in err (never any key material) when key_id is not valid, the
 * file is not a regular file, is accessible by group or others, is
 * malformed, holds another version than key_id's, or cannot be read or
 * created (for instance because its directory does not exist). The file is
 * never modified or replaced when it exists.
 */
/*
 * mxisd (1.3 and later) and ma1sd kept keys in a folder: "current" names
 * the key in use, "regular/ed25519/<serial>" holds it as JSON. When dir is
 * such a store and dest does not exist yet, writes the current key to
 * dest in Signpost's format (mode 0600), so that the server keeps its
 * identity across the move. Returns 1 when it did, 0 when there was
 * nothing to import (no store, or dest exists), -1 with a message in err
 * (never key material) when the store is broken or holds another key id.
 */
int sig_key_import_mxisd(const char *dir, const char *dest,
    const char *key_id, char *err, size_t errlen);

struct sig_key *sig_key_load_or_create(const char *path, const char *key_id,
    char *err, size_t errlen);

/* Builds a key from a known seed (tests, tools). NULL if key_id is not
 * valid. The caller still owns and wipes seed. */
struct sig_key *sig_key_from_seed(const unsigned char seed[SIG_SEED_LEN],
    const char *key_id);

/* Wipes the secret key and frees; NULL is fine. */
void sig_key_free(struct sig_key *k);

/* "ed25519:<version>"; valid as long as k. */
const char *sig_key_id(const struct sig_key *k);
/* The public key in unpadded standard base64 (43 characters). */
const char *sig_public_b64(const struct sig_key *k);
/* The raw SIG_PUBLIC_KEY_LEN-byte public key. */
const unsigned char *sig_public_key(const struct sig_key *k);

/*
 * Decodes a public key given in unpadded standard base64. Like Python's
 * decoder (which Synapse and sydent use) it ignores the unused low bits of
 * the last character. Returns 0, or -1 if b64 is not 43 such characters.
 */
int sig_public_key_decode(const char *b64, unsigned char pub[SIG_PUBLIC_KEY_LEN]);

/*
 * Whether b64 is exactly our public key in its unpadded base64 form, as the
 * pubkey endpoint gives it out (pubkey/isvalid); compared in constant time.
 * NULL is false.
 */
bool sig_public_key_b64_valid(const struct sig_key *k, const char *b64);

/*
 * Signs obj (an object) as Matrix does: its canonical JSON without the
 * top-level "signatures" and "unsigned" members is signed, and the signature,
 * in unpadded standard base64, is stored at
 * obj.signatures.<server_name>.<key id>. Other signatures, including other
 * keys of server_name, and "unsigned" stay as they are; an existing
 * signature for this key is replaced.
 *
 * Returns 0, or -1 with obj unchanged when obj is not an object, its
 * "signatures" (or its server_name entry) exists but is not an object,
 * server_name is not valid UTF-8, or canon_encode() refuses obj (a real,
 * an integer beyond +-(2^53 - 1), ...).
 */
int sig_sign_json(const struct sig_key *k, const char *server_name,
    json_t *obj);

/*
 * Whether obj carries a valid signature by pub at
 * obj.signatures.<server_name>.<key_id>. False when that signature is
 * missing or malformed, or obj cannot be encoded canonically.
 */
bool sig_verify_json(const unsigned char pub[SIG_PUBLIC_KEY_LEN],
    const char *server_name, const char *key_id, const json_t *obj);

#endif
