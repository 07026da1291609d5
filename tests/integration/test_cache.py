"""The lookup cache: found and not-found answers served without the webapp,
signed associations reused, errors never cached, expiry, identical lookups
in flight sharing one webapp call, bulk and v1 lookups sharing entries,
and the switch that turns it off."""

import threading
import time
import urllib.parse

from conftest import HEAD
from fakeapp import Reply

SINGLE = "/_mxisd/identity/api/v1/lookup/single"
BULK = "/_mxisd/identity/api/v1/lookup/bulk"
LOOKUP = "/_matrix/identity/api/v1/lookup"
BULK_LOOKUP = "/_matrix/identity/api/v1/bulk_lookup"


def config(webapp, cache=""):
    return HEAD + """\
rest: {enabled: true, host: "%s", timeout: 2000}
%s
""" % (webapp.url, cache)


def lookup(d, address, medium="email"):
    q = urllib.parse.urlencode({"medium": medium, "address": address},
                               quote_via=urllib.parse.quote)
    return d.request("GET", LOOKUP + "?" + q)


def found(address, user, medium="email"):
    return Reply(200, {"lookup": {"medium": medium, "address": address,
                                  "id": {"type": "localpart",
                                         "value": user}}})


def test_found_answer_is_cached_and_its_signature_reused(start, webapp):
    d = start(config(webapp))
    webapp.always(SINGLE, found("a@example.org", "alice"))
    first = lookup(d, "a@example.org")
    second = lookup(d, "a@example.org")
    assert first[0] == second[0] == 200
    assert first[2]["mxid"] == "@alice:example.org"
    # The same signed association, not a new signature: ts and
    # signatures are byte for byte the first answer's.
    assert second[2] == first[2]
    assert len(webapp.calls(SINGLE)) == 1


def test_not_found_is_cached_and_errors_are_not(start, webapp):
    d = start(config(webapp))
    webapp.reply(SINGLE, Reply(500, {"error": "down"}),
                 Reply(200, {}))
    assert lookup(d, "x@example.org")[0] == 502
    assert lookup(d, "x@example.org")[0] == 200
    assert lookup(d, "x@example.org")[2] == {}
    # The 500 was not remembered; the "nobody" after it was.
    assert len(webapp.calls(SINGLE)) == 2


def test_keys_are_exact_strings(start, webapp):
    d = start(config(webapp))
    webapp.always(SINGLE, Reply(200, {}))
    for address in ("b@example.org", "B@example.org", "b@example.org "):
        lookup(d, address)
    lookup(d, "b@example.org", medium="msisdn")
    assert len(webapp.calls(SINGLE)) == 4


def test_entries_expire(start, webapp):
    d = start(config(webapp, "lookup.cache: {ttl: 1, negativeTtl: 1}"))
    webapp.always(SINGLE, found("c@example.org", "carol"))
    t0 = time.monotonic()
    lookup(d, "c@example.org")
    lookup(d, "c@example.org")
    if time.monotonic() - t0 < 0.9:  # both inside the TTL
        assert len(webapp.calls(SINGLE)) == 1
    deadline = time.monotonic() + 5
    while len(webapp.calls(SINGLE)) < 2:
        assert time.monotonic() < deadline, "the entry never expired"
        assert lookup(d, "c@example.org")[2]["mxid"] == "@carol:example.org"
        time.sleep(0.1)
    # Not before its TTL.
    assert time.monotonic() - t0 >= 1.0


def test_identical_lookups_in_flight_share_one_call(start, webapp):
    # Cache off: only the sharing of calls under way can keep the webapp
    # from seeing twelve requests.
    d = start(config(webapp, """\
lookup.cache: {ttl: 0, negativeTtl: 0}
logging.level: debug"""))
    gate = threading.Event()
    webapp.always(SINGLE, Reply(200, {"lookup": {
        "medium": "email", "address": "d@example.org",
        "id": {"type": "localpart", "value": "dave"}}}, hold=gate))
    results = []
    threads = [threading.Thread(
        target=lambda: results.append(lookup(d, "d@example.org")))
        for _ in range(12)]
    for t in threads:
        t.start()
    webapp.wait_in_flight(1, 5)
    deadline = time.monotonic() + 10
    while d.logs().count("joined an identical webapp call") < 11:
        assert time.monotonic() < deadline, d.logs()
        time.sleep(0.02)
    # Others are still answered while those wait.
    assert d.request("GET", "/_matrix/identity/versions")[0] == 200
    gate.set()
    for t in threads:
        t.join(10)
    assert len(results) == 12
    assert all(r[0] == 200 and r[2]["mxid"] == "@dave:example.org"
               for r in results)
    assert len(webapp.calls(SINGLE)) == 1
    # With the call over, the next lookup asks again (nothing cached).
    gate.set()
    assert lookup(d, "d@example.org")[0] == 200
    assert len(webapp.calls(SINGLE)) == 2


def test_bulk_and_single_share_entries(start, webapp):
    d = start(config(webapp))
    webapp.dynamic(BULK, lambda j: Reply(200, {"lookup": [
        {"medium": q["medium"], "address": q["address"],
         "id": {"type": "localpart", "value": q["address"].split("@")[0]}}
        for q in j["lookup"] if q["address"].startswith("u")]}))
    pairs = [["email", "u1@example.org"], ["email", "u2@example.org"],
             ["email", "n1@example.org"]]
    st, _, body = d.request("POST", BULK_LOOKUP, {"threepids": pairs})
    assert st == 200
    assert sorted(m[2] for m in body["threepids"]) == [
        "@u1:example.org", "@u2:example.org"]
    # Second bulk: only the address not seen yet reaches the webapp.
    pairs2 = pairs + [["email", "u3@example.org"]]
    st, _, body = d.request("POST", BULK_LOOKUP, {"threepids": pairs2})
    assert [m[2] for m in body["threepids"]] == [
        "@u1:example.org", "@u2:example.org", "@u3:example.org"]
    calls = webapp.calls(BULK)
    assert len(calls) == 2
    assert calls[1].json == {"lookup": [
        {"medium": "email", "address": "u3@example.org"}]}
    # A single lookup of a bulk-found and a bulk-not-found address: no
    # webapp call at all.
    assert lookup(d, "u2@example.org")[2]["mxid"] == "@u2:example.org"
    assert lookup(d, "n1@example.org")[2] == {}
    assert webapp.calls(SINGLE) == []
    # All cached: answered without any call.
    st, _, body = d.request("POST", BULK_LOOKUP, {"threepids": pairs})
    assert st == 200 and len(body["threepids"]) == 2
    assert len(webapp.calls(BULK)) == 2


def test_failed_bulk_is_not_cached(start, webapp):
    d = start(config(webapp))
    webapp.reply(BULK, Reply(503, {}), Reply(200, {"lookup": []}))
    pairs = [["email", "f@example.org"]]
    assert d.request("POST", BULK_LOOKUP, {"threepids": pairs})[0] == 502
    assert d.request("POST", BULK_LOOKUP, {"threepids": pairs})[0] == 200
    assert len(webapp.calls(BULK)) == 2


def test_cache_off(start, webapp):
    d = start(config(webapp, "lookup.cache.enabled: false"))
    webapp.always(SINGLE, found("e@example.org", "eve"))
    a = lookup(d, "e@example.org")
    time.sleep(0.002)  # a later millisecond, for a distinguishable ts
    b = lookup(d, "e@example.org")
    assert a[2]["mxid"] == b[2]["mxid"] == "@eve:example.org"
    assert a[2]["ts"] != b[2]["ts"]  # signed twice
    assert len(webapp.calls(SINGLE)) == 2


def test_negative_ttl_zero_keeps_not_found_out(start, webapp):
    d = start(config(webapp, "lookup.cache.negativeTtl: 0"))
    webapp.always(SINGLE, Reply(200, {}))
    lookup(d, "g@example.org")
    lookup(d, "g@example.org")
    assert len(webapp.calls(SINGLE)) == 2
