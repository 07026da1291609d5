"""v1 lookups end to end: exact webapp requests, signed answers that verify
against the published key, bulk chunking, fallbacks and webapp faults."""

import base64
import json
import threading
import urllib.parse

import pytest
from nacl.signing import VerifyKey
from canonicaljson import encode_canonical_json

from conftest import HEAD
from fakeapp import Reply

SINGLE = "/_mxisd/identity/api/v1/lookup/single"
BULK = "/_mxisd/identity/api/v1/lookup/bulk"
LOOKUP = "/_matrix/identity/api/v1/lookup"
BULK_LOOKUP = "/_matrix/identity/api/v1/bulk_lookup"


def b64decode_unpadded(s):
    return base64.b64decode(s + "=" * (-len(s) % 4))


def lookup(daemon, medium, address):
    q = urllib.parse.urlencode({"medium": medium, "address": address},
                               quote_via=urllib.parse.quote)
    return daemon.request("GET", LOOKUP + "?" + q)


def match(medium, address, value, kind="localpart"):
    return {"medium": medium, "address": address,
            "id": {"type": kind, "value": value}}


def test_single_match_is_signed_and_verifies(signpost, webapp):
    webapp.reply(SINGLE, Reply(200, {"lookup": match(
        "email", "john.doe@example.org", "john")}))

    status, _, body = lookup(signpost, "email", "john.doe@example.org")

    assert status == 200
    assert [c.json for c in webapp.calls(SINGLE)] == [
        {"lookup": {"medium": "email", "address": "john.doe@example.org"}}]
    assert body["address"] == "john.doe@example.org"
    assert body["medium"] == "email"
    assert body["mxid"] == "@john:example.org"
    assert body["not_before"] <= body["ts"] < body["not_after"]
    assert body["not_after"] - body["not_before"] == 86400 * 1000
    # The signature verifies against the key the server publishes.
    status, _, pub = signpost.request(
        "GET", "/_matrix/identity/api/v1/pubkey/ed25519:0")
    assert status == 200
    key = VerifyKey(b64decode_unpadded(pub["public_key"]))
    sig = body["signatures"]["example.org"]["ed25519:0"]
    unsigned = {k: v for k, v in body.items() if k != "signatures"}
    key.verify(encode_canonical_json(unsigned), b64decode_unpadded(sig))
    # v2 publishes the same key; isvalid agrees.
    assert signpost.request(
        "GET", "/_matrix/identity/v2/pubkey/ed25519:0")[2] == pub
    q = urllib.parse.urlencode({"public_key": pub["public_key"]})
    assert signpost.request(
        "GET", "/_matrix/identity/v2/pubkey/isvalid?" + q)[2] == \
        {"valid": True}


def test_pubkey_errors(signpost):
    status, _, body = signpost.request(
        "GET", "/_matrix/identity/api/v1/pubkey/ed25519:7")
    assert (status, body["errcode"]) == (404, "M_NOT_FOUND")
    status, _, body = signpost.request(
        "GET", "/_matrix/identity/api/v1/pubkey/isvalid?public_key=AAAA")
    assert (status, body) == (200, {"valid": False})
    status, _, body = signpost.request(
        "GET", "/_matrix/identity/api/v1/pubkey/ephemeral/isvalid"
        "?public_key=AAAA")
    assert (status, body) == (200, {"valid": False})
    status, _, body = signpost.request(
        "GET", "/_matrix/identity/api/v1/pubkey/isvalid")
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAMS")


@pytest.mark.parametrize("address", ["john+tag@example.org",
                                     "zoë@exämple.org", "a b@example.org",
                                     "%2B@example.org"])
def test_address_is_decoded_once_and_echoed(signpost, webapp, address):
    webapp.reply(SINGLE, Reply(200, {"lookup": match("email", address,
                                                     "john")}))
    status, _, body = lookup(signpost, "email", address)
    assert status == 200
    assert webapp.calls(SINGLE)[0].json["lookup"]["address"] == address
    assert body["address"] == address


@pytest.mark.parametrize("reply", [Reply(200, {}), Reply(404, {}),
                                   Reply(200, {"lookup": None}),
                                   Reply(200, {"lookup": []})])
def test_no_match(signpost, webapp, reply):
    webapp.reply(SINGLE, reply)
    assert lookup(signpost, "email", "nobody@example.org")[:3:2] == (200, {})


@pytest.mark.parametrize("reply,code", [
    (Reply(500, {}), 502), (Reply(403, {}), 502), (Reply(200, "nope"), 502),
    (Reply(200, {"lookup": {"medium": "email", "address": "a"}}), 502),
    (Reply(200, {"lookup": match("email", "a", "x", "email")}), 502),
    (Reply(200, {"lookup": match("email", "a", "bad id", "mxid")}), 502),
    (Reply(200, {"lookup": [match("email", "a", "x")]}), 502),
    (Reply(close=True), 502),
])
def test_single_webapp_faults_are_errors(signpost, webapp, reply, code):
    webapp.reply(SINGLE, reply)
    status, _, body = lookup(signpost, "email", "a@example.org")
    assert (status, body["errcode"]) == (code, "M_UNKNOWN")


def test_single_timeout_is_504(signpost, webapp):
    hold = threading.Event()
    webapp.reply(SINGLE, Reply(200, {}, hold=hold))
    try:
        status, _, body = lookup(signpost, "email", "a@example.org")
    finally:
        hold.set()
    assert (status, body["errcode"]) == (504, "M_UNKNOWN")


def test_single_missing_params(signpost, webapp):
    for q in ["", "?medium=email", "?address=a@b.c"]:
        status, _, body = signpost.request("GET", LOOKUP + q)
        assert (status, body["errcode"]) == (400, "M_MISSING_PARAMS")
    assert webapp.calls() == []


def bulk(daemon, threepids):
    return daemon.request("POST", BULK_LOOKUP, {"threepids": threepids})


def test_bulk_exact_request_and_matches_only(signpost, webapp):
    webapp.reply(BULK, Reply(200, {"lookup": [
        match("msisdn", "15551234567", "@jane:example.org", "mxid"),
        match("email", "John@Example.org", "john"),
        match("email", "not-asked@example.org", "eve")]}))
    asked = [["email", "John@Example.org"], ["email", "nobody@example.org"],
             ["msisdn", "15551234567"]]

    status, _, body = bulk(signpost, asked)

    assert status == 200
    assert [c.json for c in webapp.calls(BULK)] == [{"lookup": [
        {"medium": m, "address": a} for m, a in asked]}]
    # In the order asked, addresses as sent, unasked entries dropped.
    assert body == {"threepids": [
        ["email", "John@Example.org", "@john:example.org"],
        ["msisdn", "15551234567", "@jane:example.org"]]}


@pytest.mark.parametrize("reply", [Reply(200, {"lookup": []}),
                                   Reply(200, {}), Reply(404, "")])
def test_bulk_no_match(signpost, webapp, reply):
    webapp.reply(BULK, reply)
    assert bulk(signpost, [["email", "a@b.c"]])[2] == {"threepids": []}


@pytest.mark.parametrize("reply", [
    Reply(500, {}), Reply(200, {"lookup": {}}), Reply(200, "<html>"),
    Reply(200, {"lookup": [{"medium": "email", "address": "a@b.c"}]}),
    Reply(200, {"lookup": [match("email", "a@b.c", "")]}),
])
def test_bulk_webapp_faults_are_errors(signpost, webapp, reply):
    webapp.reply(BULK, reply)
    status, _, body = bulk(signpost, [["email", "a@b.c"]])
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")


@pytest.mark.parametrize("raw,code,errcode", [
    (b"nope", 400, "M_NOT_JSON"),
    (b"{}", 400, "M_MISSING_PARAMS"),
    (b'{"threepids":{}}', 400, "M_INVALID_PARAM"),
    (b'{"threepids":[["email"]]}', 400, "M_INVALID_PARAM"),
    (b'{"threepids":[["email",1]]}', 400, "M_INVALID_PARAM"),
    (b'{"threepids":["email","a"]}', 400, "M_INVALID_PARAM"),
    (b'{"threepids":[["email","a","b"]]}', 400, "M_INVALID_PARAM"),
])
def test_bulk_bad_requests(signpost, webapp, raw, code, errcode):
    status, _, body = signpost.request("POST", BULK_LOOKUP, raw)
    assert (status, body["errcode"]) == (code, errcode)
    assert webapp.calls() == []


def test_bulk_empty_list_asks_nobody(signpost, webapp):
    assert bulk(signpost, [])[2] == {"threepids": []}
    assert webapp.calls() == []


def test_bulk_over_limit_is_too_large(start, webapp):
    d = start(HEAD + """\
rest: {enabled: true, host: %s}
lookup: {maxBulkSize: 3}
""" % webapp.url)
    status, _, body = bulk(d, [["email", "%d@x.org" % i] for i in range(4)])
    assert (status, body["errcode"]) == (400, "M_TOO_LARGE")
    assert bulk(d, [["email", "%d@x.org" % i] for i in range(3)])[0] == 200


def test_bulk_of_25000_is_chunked_concurrently(start, webapp):
    d = start("""\
matrix.domain: example.org
server: {port: @PORT@, address: 127.0.0.1, maxBodySize: 16777216}
rest: {enabled: true, host: %s, timeout: 20000}
lookup: {maxBulkSize: 30000, bulkChunkSize: 1000}
""" % webapp.url)
    hold = threading.Event()
    webapp.dynamic(BULK, lambda j: Reply(200, {"lookup": [
        match(e["medium"], e["address"], "u" + e["address"].split("@")[0])
        for e in j["lookup"] if int(e["address"].split("@")[0]) % 2 == 0]},
        hold=hold))
    asked = [["email", "%d@example.org" % i] for i in range(25000)]
    result = {}
    t = threading.Thread(target=lambda: result.update(r=bulk(d, asked)))
    t.start()
    # Every chunk is in flight at once before any is answered (up to the
    # connection cap of 32, more than the 25 chunks here).
    webapp.wait_in_flight(25, timeout=10)
    hold.set()
    t.join(30)
    status, _, body = result["r"]
    assert status == 200
    calls = webapp.calls(BULK)
    assert len(calls) == 25
    assert sorted(len(c.json["lookup"]) for c in calls) == [1000] * 25
    sent = [e["address"] for c in calls for e in c.json["lookup"]]
    assert sorted(sent) == sorted(a for _, a in asked)
    assert body["threepids"] == [
        ["email", "%d@example.org" % i, "@u%d:example.org" % i]
        for i in range(0, 25000, 2)]


def test_bulk_fails_whole_when_one_chunk_fails(start, webapp):
    d = start(HEAD + """\
rest: {enabled: true, host: %s}
lookup: {bulkChunkSize: 2}
""" % webapp.url)
    webapp.reply(BULK, Reply(200, {"lookup": []}), Reply(500, "x"),
                 Reply(200, {"lookup": []}))
    status, _, body = bulk(d, [["email", "%d@x.org" % i] for i in range(6)])
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")


def test_bulk_falls_back_to_single_calls(start, webapp):
    d = start(HEAD + """\
rest: {enabled: true, host: %s, endpoints: {identity: {bulk: ""}}}
""" % webapp.url)
    webapp.dynamic(SINGLE, lambda j: Reply(200, {"lookup": match(
        j["lookup"]["medium"], j["lookup"]["address"], "bob")})
        if j["lookup"]["address"] == "b@x.org" else Reply(200, {}))
    status, _, body = bulk(d, [["email", "a@x.org"], ["email", "b@x.org"],
                               ["email", "c@x.org"]])
    assert status == 200
    assert body == {"threepids": [["email", "b@x.org", "@bob:example.org"]]}
    assert sorted(c.json["lookup"]["address"] for c in webapp.calls(SINGLE)) \
        == ["a@x.org", "b@x.org", "c@x.org"]
    assert webapp.calls(BULK) == []
    assert "rest.endpoints.identity.bulk is empty" in d.logs()


def test_single_falls_back_to_bulk(start, webapp):
    d = start(HEAD + """\
rest: {enabled: true, host: %s, endpoints: {identity: {single: ""}}}
""" % webapp.url)
    webapp.reply(BULK, Reply(200, {"lookup": [match("email", "a@x.org",
                                                    "al")]}))
    status, _, body = lookup(d, "email", "a@x.org")
    assert (status, body["mxid"]) == (200, "@al:example.org")
    assert [c.json for c in webapp.calls(BULK)] == [
        {"lookup": [{"medium": "email", "address": "a@x.org"}]}]
    assert webapp.calls(SINGLE) == []


def test_both_lookup_endpoints_off_find_nobody(start, webapp):
    d = start(HEAD + """\
rest: {enabled: true, host: %s, endpoints: {identity: {single: "", bulk: ""}}}
""" % webapp.url)
    assert lookup(d, "email", "a@x.org")[2] == {}
    assert bulk(d, [["email", "a@x.org"]])[2] == {"threepids": []}
    assert webapp.calls() == []


def test_key_is_created_private_and_reused(start, webapp, tmp_path):
    cfg = HEAD + """\
key: {path: mykey}
"""
    d = start(cfg)
    first = d.request("GET", "/_matrix/identity/v2/pubkey/ed25519:0")[2]
    d.stop()
    path = tmp_path / "mykey"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    d2 = start(cfg)
    assert d2.request("GET", "/_matrix/identity/v2/pubkey/ed25519:0")[2] \
        == first


def test_readable_key_is_refused(start, tmp_path):
    path = tmp_path / "open.key"
    path.write_text("ed25519 0 " + "A" * 43 + "\n")
    path.chmod(0o644)
    with pytest.raises(RuntimeError) as e:
        start(HEAD + """\
key: {path: open.key}
""")
    assert "key.path" in str(e.value)


def test_bulk_request_written_with_escapes(signpost, webapp):
    """The webapp request is written directly, not by a JSON library:
    characters JSON must escape arrive intact, and so does the answer."""
    odd = 'q"uo\\te\t\u007f\u00e9\u2713+x@example.org'
    webapp.dynamic(BULK, lambda j: Reply(200, {"lookup": [
        dict(e, id={"type": "localpart", "value": "odd"})
        for e in j["lookup"]]}))
    status, _, body = signpost.request("POST", BULK_LOOKUP, {
        "threepids": [["email", odd], ["msisdn", "15550001111"]]})
    assert status == 200
    assert body["threepids"] == [["email", odd, "@odd:example.org"],
                                 ["msisdn", "15550001111",
                                  "@odd:example.org"]]
    assert webapp.calls(BULK)[0].json == {"lookup": [
        {"medium": "email", "address": odd},
        {"medium": "msisdn", "address": "15550001111"}]}
