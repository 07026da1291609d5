"""Batching misses: beyond lookup.batchAfter single-lookup calls under way,
new distinct misses wait and go to the webapp together as one bulk call
when a call ends; each client still gets its own answer."""

import threading
import time
import urllib.parse

from conftest import HEAD
from fakeapp import Reply

SINGLE = "/_mxisd/identity/api/v1/lookup/single"
BULK = "/_mxisd/identity/api/v1/lookup/bulk"
LOOKUP = "/_matrix/identity/api/v1/lookup"


def config(webapp, extra=""):
    return HEAD + """\
rest: {enabled: true, host: "%s", timeout: 5000}
logging.level: debug
lookup.cache.enabled: false
%s
""" % (webapp.url, extra)


def lookup(d, address):
    q = urllib.parse.urlencode({"medium": "email", "address": address})
    return d.request("GET", LOOKUP + "?" + q)


def wait_log(d, text, count):
    deadline = time.monotonic() + 10
    while d.logs().count(text) < count:
        assert time.monotonic() < deadline, d.logs()
        time.sleep(0.02)


def bind(owners):
    """A bulk answer binding the addresses in owners (address -> user)."""
    return lambda j: Reply(200, {"lookup": [
        dict(e, id={"type": "localpart", "value": owners[e["address"]]})
        for e in j["lookup"] if e["address"] in owners]})


def hold_first_single(webapp, gate):
    webapp.always(SINGLE, Reply(200, {"lookup": {
        "medium": "email", "address": "a@x.org",
        "id": {"type": "localpart", "value": "a"}}}, hold=gate))


def start_lookups(d, addresses, results):
    threads = [threading.Thread(
        target=lambda a=a: results.__setitem__(a, lookup(d, a)))
        for a in addresses]
    for t in threads:
        t.start()
    return threads


def test_misses_beyond_the_limit_go_as_one_bulk_call(start, webapp):
    gate = threading.Event()
    hold_first_single(webapp, gate)
    webapp.dynamic(BULK, bind({"b@x.org": "b", "d@x.org": "d"}))
    d = start(config(webapp, "lookup.batchAfter: 1"))
    results = {}
    threads = start_lookups(d, ["a@x.org"], results)
    webapp.wait_in_flight(1, 5)
    threads += start_lookups(d, ["b@x.org", "c@x.org", "d@x.org"], results)
    wait_log(d, "queued for the next batched webapp call", 3)
    assert webapp.calls(BULK) == []
    gate.set()
    for t in threads:
        t.join(10)
    assert results["a@x.org"][2]["mxid"] == "@a:example.org"
    assert results["b@x.org"][2]["mxid"] == "@b:example.org"
    assert results["c@x.org"][:1] == (200,) and results["c@x.org"][2] == {}
    assert results["d@x.org"][2]["mxid"] == "@d:example.org"
    assert len(webapp.calls(SINGLE)) == 1
    bulk = webapp.calls(BULK)
    assert len(bulk) == 1
    assert sorted(e["address"] for e in bulk[0].json["lookup"]) == [
        "b@x.org", "c@x.org", "d@x.org"]
    # Quiet again: the next miss is a single call at once.
    assert lookup(d, "e@x.org")[0] == 200
    assert len(webapp.calls(SINGLE)) == 2


def test_a_failed_batch_fails_its_lookups_only(start, webapp):
    gate = threading.Event()
    hold_first_single(webapp, gate)
    webapp.always(BULK, Reply(500, {}))
    d = start(config(webapp, "lookup.batchAfter: 1"))
    results = {}
    threads = start_lookups(d, ["a@x.org"], results)
    webapp.wait_in_flight(1, 5)
    threads += start_lookups(d, ["b@x.org", "c@x.org"], results)
    wait_log(d, "queued for the next batched webapp call", 2)
    gate.set()
    for t in threads:
        t.join(10)
    assert results["a@x.org"][0] == 200
    assert results["b@x.org"][0] == results["c@x.org"][0] == 502
    # Nothing stays stuck: the batcher has room again.
    webapp.always(SINGLE, Reply(200, {}))
    assert lookup(d, "f@x.org")[0] == 200


def test_batching_off(start, webapp):
    gate = threading.Event()
    hold_first_single(webapp, gate)
    d = start(config(webapp, "lookup.batchAfter: 0"))
    results = {}
    threads = start_lookups(d, ["a@x.org", "b@x.org", "c@x.org"], results)
    webapp.wait_in_flight(3, 5)  # three single calls at once
    gate.set()
    for t in threads:
        t.join(10)
    assert len(webapp.calls(SINGLE)) == 3
    assert webapp.calls(BULK) == []


def test_no_batching_without_a_bulk_endpoint(start, webapp):
    gate = threading.Event()
    hold_first_single(webapp, gate)
    d = start(config(webapp, "lookup.batchAfter: 1\n"
                     "rest.endpoints.identity.bulk: ''"))
    results = {}
    threads = start_lookups(d, ["a@x.org", "b@x.org"], results)
    webapp.wait_in_flight(2, 5)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(webapp.calls(SINGLE)) == 2
