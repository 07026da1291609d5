"""Data for bench/run: the users every server under test knows, the fake
webapp's prepared answers, and a filled sydent database.

Everyone knows the same directory: DIRECTORY_SIZE email addresses
"u<i>@bench.example", each bound to "@u<i>:example.org". The webapp lists
them page by page (Signpost builds its sha256 index from that) and sydent
has them in its association table. Besides those, the webapp binds every
address it is asked about (cache-miss traffic asks for fresh addresses),
and prepared 10,000-address requests ("<gen>-<n>@bulk.example") are
answered from files, chunk by chunk, so that answering one costs nginx a
file read, not a computation.
"""

import base64
import hashlib
import json
import os
import sqlite3
import time

DOMAIN = "example.org"
DIRECTORY_SIZE = 100000
# Signpost asks for pages of at most 1,000 entries (docs/backend-api.md).
PAGE_SIZE = 1000
BULK_SIZE = 10000
# Must equal Signpost's lookup.bulkChunkSize in the bench config: each
# chunk's answer file is named after the chunk's first address.
CHUNK_SIZE = 1000


def directory_address(i):
    return "u%d@bench.example" % i


def bulk_addresses(gen):
    """The 10,000 addresses of prepared request `gen` (a letter and digits,
    such as "n3"); each generation is asked once, so it misses any cache."""
    return ["%s-%d@bulk.example" % (gen, i) for i in range(BULK_SIZE)]


def _entry(address):
    local = address.split("@", 1)[0]
    return {"medium": "email", "address": address,
            "id": {"type": "localpart", "value": local}}


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))


def write_list_pages(root):
    """The listing endpoint's pages: page/first.json, then page/<after>.json
    for each cursor; the cursor is the number of entries sent so far."""
    os.makedirs(os.path.join(root, "page"), exist_ok=True)
    for start in range(0, DIRECTORY_SIZE, PAGE_SIZE):
        end = min(start + PAGE_SIZE, DIRECTORY_SIZE)
        page = {"list": [_entry(directory_address(i))
                         for i in range(start, end)]}
        if end < DIRECTORY_SIZE:
            page["next"] = str(end)
        name = "first" if start == 0 else str(start)
        _write_json(os.path.join(root, "page", name + ".json"), page)


def write_bulk_chunks(root, gen):
    """The webapp's answers for the chunks of prepared request `gen`: every
    address bound. Returns the addresses."""
    os.makedirs(os.path.join(root, "chunk"), exist_ok=True)
    addresses = bulk_addresses(gen)
    for start in range(0, len(addresses), CHUNK_SIZE):
        part = addresses[start:start + CHUNK_SIZE]
        _write_json(os.path.join(root, "chunk", part[0].split("@")[0] +
                                 ".json"),
                    {"lookup": [_entry(a) for a in part]})
    return addresses


def sha256_hash(address, medium, pepper):
    """The v2 lookup hash: unpadded URL-safe base64 of
    SHA-256("<address> <medium> <pepper>")."""
    digest = hashlib.sha256(
        ("%s %s %s" % (address, medium, pepper)).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sydent_config(path, port, db_path, sydent_dir, seed_b64):
    """A sydent.conf for a loopback instance that logs warnings only (like
    nginx with access_log off) and signs with a key we know."""
    with open(path, "w") as f:
        f.write("""[DEFAULT]
server.name = %s
log.level = WARNING
pidfile.path = %s
templates.path = %s
[http]
clientapi.http.bind_address = 127.0.0.1
clientapi.http.port = %d
[db]
db.file = %s
[crypto]
ed25519.signingkey = ed25519 0 %s
""" % (DOMAIN, os.path.join(os.path.dirname(path), "sydent.pid"),
            os.path.join(sydent_dir, "res"), port, db_path, seed_b64))


def seed_sydent(db_path, seed, token):
    """Fills a database that sydent has created (and given a pepper) with
    the directory, as associations signed by sydent's own key and name, the
    way its own binds store them; adds an account with `token`. Returns
    sydent's lookup pepper."""
    # Imported here: only a run with sydent needs nacl.
    import nacl.signing

    key = nacl.signing.SigningKey(seed)
    now = int(time.time() * 1000)
    not_after = now + 10 * 365 * 86400 * 1000
    db = sqlite3.connect(db_path)
    pepper = db.execute(
        "SELECT lookup_pepper FROM hashing_metadata").fetchone()[0]
    rows = []
    for i in range(DIRECTORY_SIZE):
        address = directory_address(i)
        mxid = "@u%d:%s" % (i, DOMAIN)
        # Canonical JSON by hand: keys in sorted order, all ASCII.
        signed = ('{"address":"%s","medium":"email","mxid":"%s",'
                  '"not_after":%d,"not_before":%d,"ts":%d}'
                  % (address, mxid, not_after, now - 1000, now - 1000))
        sig = base64.b64encode(key.sign(signed.encode()).signature) \
            .rstrip(b"=").decode()
        sg = signed[:-1] + (',"signatures":{"%s":{"ed25519:0":"%s"}}}'
                            % (DOMAIN, sig))
        rows.append(("email", address, sha256_hash(address, "email", pepper),
                     mxid, now - 1000, now - 1000, not_after, DOMAIN, i, sg))
    db.executemany(
        "INSERT INTO global_threepid_associations (medium, address,"
        " lookup_hash, mxid, ts, notBefore, notAfter, originServer,"
        " originId, sgAssoc) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("INSERT INTO accounts (user_id, created_ts, consent_version)"
               " VALUES (?, ?, NULL)", ("@bench:" + DOMAIN, now))
    db.execute("INSERT INTO tokens (token, user_id) VALUES (?, ?)",
               (token, "@bench:" + DOMAIN))
    db.commit()
    db.close()
    return pepper
