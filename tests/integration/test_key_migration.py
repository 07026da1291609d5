"""mxisd's and ma1sd's signing key, kept by Signpost (docs/migrating-from-
mxisd.md, section 3): the key store of mxisd 1.4 and ma1sd (a folder) is
imported once into signpost-ed25519.key, the bare seed file of mxisd up to
1.3 is read as it is, and either way the server keeps its public key, so
what mxisd signed still verifies. Stores Signpost cannot use stop the start
and leave the folder as it was.

The stores are written as mxisd wrote them (FileKeyStore, FileKeyJson and
Ed25519KeyManager in mxisd 1.4.6 and ma1sd 2.5): `current` names the key,
`regular/ed25519/<serial>` holds its seed, both JSON, mode 0644."""

import base64
import json
import os
import struct
import urllib.parse

import pytest
from canonicaljson import encode_canonical_json
from nacl.signing import SigningKey, VerifyKey

from conftest import HEAD, Daemon
from fakeapp import Reply

SINGLE = "/_mxisd/identity/api/v1/lookup/single"
PUBKEY = "/_matrix/identity/api/v1/pubkey/"
OWN = "signpost-ed25519.key"


def unpadded(raw):
    return base64.b64encode(raw).decode().rstrip("=")


def b64decode_unpadded(s):
    return base64.b64decode(s + "=" * (-len(s) % 4))


def write_store(folder, seed, serial="0", encoded=None):
    """mxisd 1.4's key store at folder; encoded: the seed as written."""
    if encoded is None:
        encoded = base64.b64encode(seed).decode()
    keys = folder / "regular" / "ed25519"
    keys.mkdir(parents=True)
    (folder / "current").write_text(json.dumps(
        {"type": "Regular", "algo": "ed25519", "serial": serial}))
    (keys / serial).write_text(json.dumps(
        {"version": "0", "isValid": True, "key": encoded}))
    for f in [folder / "current", keys / serial]:
        os.chmod(f, 0o644)


def mxisd_serial(ms_since_2019, last="Q"):
    """A serial as Ed25519KeyManager.generateId made them for a new store:
    the URL-safe base64 of a timestamp, and one random letter or digit."""
    raw = struct.pack(">q", ms_since_2019)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + last


def files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, names in os.walk(folder) for f in names)


def config(key_path, webapp=None, extra=""):
    text = HEAD + "key.path: %s\n" % key_path + extra
    if webapp is not None:
        text += "rest: {enabled: true, host: \"%s\"}\n" % webapp.url
    return text


def public_key(d, key_id="ed25519:0"):
    status, _, body = d.request("GET", PUBKEY + key_id)
    assert status == 200, body
    return body["public_key"]


def is_valid(d, pub):
    q = urllib.parse.urlencode({"public_key": pub})
    return d.request("GET", PUBKEY + "isvalid?" + q)[2]


def refused(tmp_path, text):
    """The start fails; returns its log. A daemon that starts all the same
    is stopped, not left running."""
    try:
        d = Daemon(text, str(tmp_path))
    except RuntimeError as e:
        return str(e)
    log = d.logs()
    d.stop()
    pytest.fail("signpost started:\n" + log)


# (a) mxisd 1.4's store, as mxisd wrote it (padded standard base64).

def test_store_imported_and_kept(start, webapp, tmp_path):
    old = SigningKey.generate()
    pub = unpadded(bytes(old.verify_key))
    store = tmp_path / "mxisd-keys"
    write_store(store, bytes(old))
    before = {f: (store / f).read_text() for f in files_under(store)}

    d = start(config(store, webapp))
    assert public_key(d) == pub
    assert is_valid(d, pub) == {"valid": True}
    own = store / OWN
    assert "%03o" % (os.stat(own).st_mode & 0o777) == "600"
    assert own.read_text() == "ed25519 0 %s\n" % unpadded(bytes(old))
    # mxisd's files are left as they were.
    assert {f: (store / f).read_text() for f in before} == before
    assert ("imported mxisd's signing key ed25519:0 from %s into %s "
            "(public key %s); the old store can be deleted once Signpost "
            "runs" % (store / "regular" / "ed25519" / "0", own, pub)) \
        in d.logs()
    assert "signing as example.org with key ed25519:0 from %s" % own \
        in d.logs()

    # A lookup answered now verifies with the key clients had from mxisd.
    webapp.reply(SINGLE, Reply(200, {"lookup": {
        "medium": "email", "address": "alice@example.org",
        "id": {"type": "localpart", "value": "alice"}}}))
    status, _, body = d.request(
        "GET", "/_matrix/identity/api/v1/lookup?medium=email&"
        "address=alice%40example.org")
    assert status == 200 and body["mxid"] == "@alice:example.org"
    sig = body["signatures"]["example.org"]["ed25519:0"]
    unsigned = {k: v for k, v in body.items() if k != "signatures"}
    VerifyKey(bytes(old.verify_key)).verify(encode_canonical_json(unsigned),
                                            b64decode_unpadded(sig))
    # And so does what mxisd signed before the switch.
    signed = old.sign(b"an association mxisd signed").signature
    VerifyKey(b64decode_unpadded(public_key(d))).verify(
        b"an association mxisd signed", signed)
    assert d.stop() == 0

    # Restarted, Signpost reads its own file: same key, no new import,
    # even once the old store is gone (as the log line says it may be).
    for f in before:
        os.unlink(store / f)
    d = start(config(store, webapp))
    assert public_key(d) == pub
    assert "imported mxisd's signing key" not in d.logs()
    assert "created a new signing key" not in d.logs()
    assert files_under(store) == [OWN]


# (b) The other encodings mxisd's decoder (Apache Commons) took.

ENCODINGS = {
    "urlsafe-unpadded":
        lambda s: base64.urlsafe_b64encode(s).decode().rstrip("="),
    "urlsafe-padded": lambda s: base64.urlsafe_b64encode(s).decode(),
    "standard-unpadded": lambda s: base64.b64encode(s).decode().rstrip("="),
}


def key_with_plus_and_slash():
    """A key whose seed's standard base64 holds '+' and '/', so that its
    URL-safe form holds '-' and '_'."""
    while True:
        key = SigningKey.generate()
        text = base64.b64encode(bytes(key)).decode()
        if "+" in text and "/" in text:
            return key


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_store_seed_encodings(encoding, start, tmp_path):
    old = key_with_plus_and_slash()
    store = tmp_path / "keys"
    write_store(store, bytes(old), encoded=ENCODINGS[encoding](bytes(old)))
    d = start(config(store))
    assert public_key(d) == unpadded(bytes(old.verify_key))


# (c) A store whose key is not ed25519:0.

@pytest.mark.parametrize("serial", ["1", mxisd_serial(70_000_000_000)])
def test_store_serial_must_be_the_key_id(serial, start, tmp_path):
    assert "-" not in serial
    old = SigningKey.generate()
    store = tmp_path / "keys"
    write_store(store, bytes(old), serial=serial)
    before = files_under(store)
    log = refused(tmp_path, config(store))
    assert ("key.path: mxisd key store %s holds key ed25519:%s but the "
            "configured key id is ed25519:0: set the key id to ed25519:%s "
            "to keep signing with it" % (store, serial, serial)) in log
    assert files_under(store) == before

    d = start(config(store, extra="key.id: ed25519:%s\n" % serial))
    pub = unpadded(bytes(old.verify_key))
    assert public_key(d, "ed25519:" + serial) == pub
    status, _, body = d.request("GET", PUBKEY + "ed25519:0")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    assert (store / OWN).read_text() == "ed25519 %s %s\n" % (
        serial, unpadded(bytes(old)))


def test_store_serial_with_a_dash_is_kept(start, tmp_path):
    """mxisd's generated serials are URL-safe base64 and may hold '-',
    which the spec's key ids do not; mxisd signed with them anyway, so
    Signpost keeps such a key under the same id."""
    ms = 70_000_000_000
    while "-" not in mxisd_serial(ms):
        ms += 1
    serial = mxisd_serial(ms)
    old = SigningKey.generate()
    store = tmp_path / "keys"
    write_store(store, bytes(old), serial=serial)
    log = refused(tmp_path, config(store))
    assert "set the key id to ed25519:%s" % serial in log
    d = start(config(store, extra="key.id: ed25519:%s\n" % serial))
    assert public_key(d, "ed25519:" + serial) == \
        unpadded(bytes(old.verify_key))


# (d) mxisd up to 1.3: the seed alone in a file.

# Padded with no newline, as mxisd 0.x wrote it (java.util.Base64); one
# line, as matrix-java-sdk's KeyFileStore wrote it for mxisd 1.0 to 1.3;
# URL-safe.
BARE = {
    "padded": lambda s: base64.b64encode(s).decode(),
    "one-line": lambda s: base64.b64encode(s).decode().rstrip("=") + "\n",
    "urlsafe": lambda s: base64.urlsafe_b64encode(s).decode().rstrip("="),
}


@pytest.mark.parametrize("name", sorted(BARE))
def test_bare_seed_file(name, start, tmp_path):
    encode = BARE[name]
    old = key_with_plus_and_slash()
    keyfile = tmp_path / "sign.key"
    keyfile.write_text(encode(bytes(old)))
    os.chmod(keyfile, 0o600)
    d = start(config(keyfile))
    pub = unpadded(bytes(old.verify_key))
    assert public_key(d) == pub
    assert is_valid(d, pub) == {"valid": True}
    assert ("key file %s is in mxisd's format (the seed alone); using it "
            "as ed25519:0" % keyfile) in d.logs()
    # Read as it is, not rewritten.
    assert keyfile.read_text() == encode(bytes(old))
    assert [f for f in os.listdir(tmp_path) if "key" in f] == ["sign.key"]


def test_bare_seed_file_readable_by_others_refused(start, tmp_path):
    old = SigningKey.generate()
    keyfile = tmp_path / "sign.key"
    keyfile.write_text(base64.b64encode(bytes(old)).decode())
    os.chmod(keyfile, 0o644)  # as mxisd left it
    log = refused(tmp_path, config(keyfile))
    assert ('key.path: key file %s has permissions 0644: group or others '
            'may access it; make it private with "chmod 600 %s"'
            % (keyfile, keyfile)) in log
    os.chmod(keyfile, 0o600)
    d = start(config(keyfile))
    assert public_key(d) == unpadded(bytes(old.verify_key))


# (e) Stores Signpost cannot use: the start fails, nothing is written.

def missing_key(store):
    os.unlink(store / "regular" / "ed25519" / "0")


def key_not_base64(store):
    (store / "regular" / "ed25519" / "0").write_text(json.dumps(
        {"version": "0", "isValid": True, "key": "not a key!"}))


def key_too_short(store):
    (store / "regular" / "ed25519" / "0").write_text(json.dumps(
        {"version": "0", "isValid": True,
         "key": base64.b64encode(os.urandom(31)).decode()}))


def key_file_not_json(store):
    (store / "regular" / "ed25519" / "0").write_text("garbage")


def not_ed25519(store):
    (store / "current").write_text(json.dumps(
        {"type": "Regular", "algo": "curve25519", "serial": "0"}))


def current_not_json(store):
    (store / "current").write_text("{not json")


BROKEN = [
    (missing_key, "%(store)s: %(key)s is missing or does not hold a key"),
    (key_not_base64, "%(store)s: %(key)s is missing or does not hold a key"),
    (key_too_short, "%(store)s: %(key)s is missing or does not hold a key"),
    (key_file_not_json,
     "%(store)s: %(key)s is missing or does not hold a key"),
    (not_ed25519, "%(store)s: %(current)s does not name an ed25519 key"),
    (current_not_json, "%(store)s: %(current)s is not JSON"),
]


@pytest.mark.parametrize("damage,message", BROKEN,
                         ids=[b[0].__name__ for b in BROKEN])
def test_broken_store_refused(damage, message, tmp_path):
    store = tmp_path / "keys"
    write_store(store, bytes(SigningKey.generate()))
    damage(store)
    before = {f: (store / f).read_bytes() for f in files_under(store)}
    log = refused(tmp_path, config(store))
    assert "key.path: mxisd key store " + message % {
        "store": store, "current": store / "current",
        "key": store / "regular" / "ed25519" / "0"} in log
    assert {f: (store / f).read_bytes() for f in files_under(store)} == \
        before
    assert not (store / OWN).exists()


def test_folder_without_a_store_gets_a_new_key(start, tmp_path):
    """A folder that holds no mxisd store: Signpost's own key, in it."""
    store = tmp_path / "keys"
    store.mkdir()
    d = start(config(store))
    own = store / OWN
    assert own.read_text().startswith("ed25519 0 ")
    assert "created a new signing key ed25519:0 at %s" % own in d.logs()
    assert "imported mxisd's signing key" not in d.logs()
