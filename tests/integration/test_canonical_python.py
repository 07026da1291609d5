"""Canonical JSON, signatures and key files against the Python reference
implementations (Debian's python3-canonicaljson, python3-signedjson,
python3-nacl), through build/tools/canon.

The tool is looked up in $SIGNPOST_TOOLS, else next to $SIGNPOST_BIN (so
`make SANITIZE=1 check` uses build-asan/tools), else build/tools. `make check`
and `make integration` build it; by hand: `make build/tools/canon`.

canonicaljson 1.6.2 (Debian 12) writes floats and integers of any size, which
the Matrix spec forbids; our encoder refuses them, so random inputs hold only
integers within +-(2^53 - 1) and refusals are tested on their own.
"""

import base64
import copy
import json
import os
import random
import stat
import subprocess

import canonicaljson
import pytest
import signedjson.key
import signedjson.sign

HERE = os.path.dirname(os.path.abspath(__file__))
INT_MAX = 2 ** 53 - 1


def tools_dir():
    if os.environ.get("SIGNPOST_TOOLS"):
        return os.environ["SIGNPOST_TOOLS"]
    if os.environ.get("SIGNPOST_BIN"):
        return os.path.join(os.path.dirname(os.environ["SIGNPOST_BIN"]),
                            "tools")
    return os.path.join(HERE, "..", "..", "build", "tools")


CANON = os.path.join(tools_dir(), "canon")


def run_tool(args, stdin=b""):
    if not os.access(CANON, os.X_OK):
        pytest.fail("%s is missing: build it with `make build/tools/canon` "
                    "(make check does)" % CANON)
    return subprocess.run([CANON] + args, input=stdin, capture_output=True,
                          timeout=60)


def run_lines(args, lines):
    """Feeds one JSON text per line; returns one bytes answer per line."""
    p = run_tool(args, b"".join(line + b"\n" for line in lines))
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert p.stderr == b"", p.stderr.decode(errors="replace")
    out = p.stdout.split(b"\n")
    assert out[-1] == b""
    assert len(out) - 1 == len(lines)
    return out[:-1]


# ---- random JSON ---------------------------------------------------------

def rand_char(rng, allow_nul):
    pool = rng.randrange(10)
    if pool == 0:
        return chr(rng.randrange(0 if allow_nul else 1, 0x20))
    if pool == 1:
        return rng.choice('"\\/\x7f\u2028\u2029\ufeff\uffff\u00e9 ')
    if pool == 2:
        return chr(rng.randrange(0x80, 0x800))
    if pool == 3:
        c = rng.randrange(0x800, 0x10000 - 0x800)
        return chr(c if c < 0xd800 else c + 0x800)  # no surrogates
    if pool == 4:
        return chr(rng.randrange(0x10000, 0x110000))
    if pool == 5:
        return rng.choice("\U0001F600\U0001F4A9\u65e5\u672c\u8a9e")
    return chr(rng.randrange(0x20, 0x7f))


def rand_string(rng, allow_nul=True):
    return "".join(rand_char(rng, allow_nul)
                   for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 13])))


def rand_int(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice([0, 1, -1, INT_MAX, -INT_MAX, INT_MAX - 1,
                           -INT_MAX + 1, 2 ** 31, -2 ** 31, 2 ** 32])
    if kind == 1:
        return rng.randrange(-INT_MAX, INT_MAX + 1)
    return rng.randrange(-1000, 1000)


def rand_key(rng):
    # jansson refuses U+0000 in keys; short keys make shared prefixes.
    if rng.randrange(3) == 0:
        return rng.choice(["", "a", "A", "aa", "ab", "b", "\u00e9", "\u65e5",
                           "\U0001F600", "\uffff", "a\u0001", "signatures"])
    return rand_string(rng, allow_nul=False)


def rand_value(rng, depth=0):
    kind = rng.randrange(9 if depth < 5 else 6)
    if kind == 0:
        return rand_string(rng)
    if kind == 1:
        return rand_int(rng)
    if kind == 2:
        return rng.choice([True, False, None])
    if kind in (3, 4, 5):
        return rand_string(rng) if kind == 3 else rand_int(rng)
    if kind in (6, 7):
        return {rand_key(rng): rand_value(rng, depth + 1)
                for _ in range(rng.randrange(7))}
    return [rand_value(rng, depth + 1) for _ in range(rng.randrange(7))]


def rand_object(rng):
    return {rand_key(rng): rand_value(rng, 1) for _ in range(rng.randrange(8))}


def as_line(rng, value):
    """One line of JSON text, written in a random but valid style."""
    return json.dumps(value, ensure_ascii=rng.random() < 0.5,
                      separators=rng.choice([(",", ":"), (", ", ": ")]),
                      sort_keys=rng.random() < 0.3).encode("utf-8")


# ---- canonical JSON ------------------------------------------------------

def test_random_values_match_canonicaljson():
    rng = random.Random(20261127)
    values = [rand_value(rng) for _ in range(1500)]
    values += [rand_object(rng) for _ in range(1500)]
    answers = run_lines(["encode"], [as_line(rng, v) for v in values])
    for value, got in zip(values, answers):
        want = canonicaljson.encode_canonical_json(value)
        assert got == want, "for %r" % (value,)


def test_fixed_values_match_canonicaljson():
    values = [
        {}, [], "", 0, True, False, None,
        {"one": 1, "two": "Two"},
        {"b": 2, "a": 1, "A": 0, "": -1, "aa": [3, 2, 1]},
        {"\u65e5": 1, "\u672c": 2, "a": 3, "A": 4, "\u00e9": 5,
         "\U0001F600": 6, "\uff21": 7},
        {"a": "\x00\x1f\b\t\n\f\r\"\\/\x7f\u2028"},
        {"a": "".join(chr(c) for c in range(0x20))},
        {"n": [INT_MAX, -INT_MAX, 0, -1]},
        {"auth": {"success": True, "mxid": "@john.doe:example.com",
                  "profile": {"display_name": "John Doe", "three_pids": [
                      {"medium": "email", "address": "john.doe@example.org"},
                      {"medium": "msisdn", "address": "123456789"}]}}},
    ]
    rng = random.Random(1)
    answers = run_lines(["encode"], [as_line(rng, v) for v in values])
    for value, got in zip(values, answers):
        assert got == canonicaljson.encode_canonical_json(value)


def test_refuses_what_canonical_json_forbids():
    # canonicaljson 1.6.2 would write all of these; the spec forbids them.
    lines = [b"1.5", b"1.0", b"-0.0", b"1e10", b"[0.5]",
             b'{"a":{"b":[1,2,3.25]}}', b"9007199254740992",
             b"-9007199254740992", b'{"ts":18446744073709551615}',
             b'{"a":1,"unsigned":0.5}']
    for line, got in zip(lines, run_lines(["encode"], lines)):
        assert got.startswith(b"!"), line


# ---- signatures ----------------------------------------------------------

def signing_pair(seed, version):
    key = signedjson.key.decode_signing_key_base64(
        "ed25519", version, base64.b64encode(seed).decode().rstrip("="))
    return key, signedjson.key.get_verify_key(key)


def our_public_key(seed, key_id):
    p = run_tool(["pubkey", seed.hex(), key_id])
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().decode()


def test_wire_format_vectors():
    seed = base64.b64decode("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1=")
    assert our_public_key(seed, "ed25519:1") == \
        "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"
    got = run_lines(["sign", seed.hex(), "domain", "ed25519:1"],
                    [b"{}", b'{"two":"Two","one":1}'])
    assert json.loads(got[0])["signatures"]["domain"]["ed25519:1"] == (
        "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg"
        "4ahLwYGYZzuHGZKM5ZAQ")
    assert json.loads(got[1])["signatures"]["domain"]["ed25519:1"] == (
        "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG"
        "6kYdD13EIMJpvhJI+6Bw")


@pytest.mark.parametrize("server", ["domain", "example.org",
                                    "matrix.example.com:8448"])
def test_random_objects_sign_like_signedjson(server):
    rng = random.Random("sign:" + server)
    seed = rng.randbytes(32)
    version = rng.choice(["0", "1", "a_AbCd", "auto"])
    key_id = "ed25519:" + version
    signing_key, verify_key = signing_pair(seed, version)

    # The public key we give out is the one signedjson derives.
    ours = our_public_key(seed, key_id)
    assert ours == signedjson.key.encode_verify_key_base64(verify_key)
    decoded = signedjson.key.decode_verify_key_bytes(
        key_id, signedjson.key.decode_base64(ours))

    objects = []
    for _ in range(400):
        obj = rand_object(rng)
        obj.pop("signatures", None)
        if rng.random() < 0.3:
            obj["signatures"] = {"other.example": {"ed25519:x": "c2ln"}}
            if rng.random() < 0.5:
                obj["signatures"][server] = {"ed25519:old": "b2xk"}
        if rng.random() < 0.3:
            # Not null: signedjson would drop "unsigned": null, we keep it.
            obj["unsigned"] = {"age": rand_value(rng, 3)}
        objects.append(obj)
    answers = run_lines(["sign", seed.hex(), server, key_id],
                        [as_line(rng, o) for o in objects])
    for obj, got in zip(objects, answers):
        assert not got.startswith(b"!"), got
        signed = json.loads(got)
        # ed25519 is deterministic: the very same signature, and the rest
        # of the object (other signatures, unsigned) kept as it was.
        want = signedjson.sign.sign_json(copy.deepcopy(obj), server,
                                         signing_key)
        assert got == canonicaljson.encode_canonical_json(want)
        signedjson.sign.verify_signed_json(signed, server, decoded)
        # A changed member breaks it.
        signed["tampered"] = 1
        with pytest.raises(signedjson.sign.SignatureVerifyException):
            signedjson.sign.verify_signed_json(signed, server, decoded)


# ---- key files -----------------------------------------------------------

def test_synapse_key_file_is_read(tmp_path):
    key = signedjson.key.generate_signing_key("a_AbCd")
    path = tmp_path / "synapse.signing.key"
    with open(path, "w") as f:
        signedjson.key.write_signing_keys(f, [key])
    os.chmod(path, 0o600)
    p = run_tool(["keyfile", str(path), "ed25519:a_AbCd"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().decode() == \
        signedjson.key.encode_verify_key_base64(key.verify_key)

    os.chmod(path, 0o644)
    p = run_tool(["keyfile", str(path), "ed25519:a_AbCd"])
    assert p.returncode == 1
    assert b"chmod 600" in p.stderr


def test_new_key_file_is_read_by_signedjson(tmp_path):
    path = tmp_path / "signpost.key"
    p = run_tool(["keyfile", str(path), "ed25519:7"])
    assert p.returncode == 0, p.stderr
    assert b"created a new signing key ed25519:7" in p.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        keys = signedjson.key.read_signing_keys(f)
    assert len(keys) == 1 and keys[0].version == "7"
    assert signedjson.key.encode_verify_key_base64(keys[0].verify_key) == \
        p.stdout.strip().decode()

    # Loading it again gives the same key, logs nothing.
    again = run_tool(["keyfile", str(path), "ed25519:7"])
    assert again.returncode == 0
    assert again.stdout == p.stdout and again.stderr == b""
