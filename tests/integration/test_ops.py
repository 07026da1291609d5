"""Operator endpoints and logs: mxisd's /status and /version, readiness
that follows the webapp, Prometheus metrics behind metrics.allowFrom, and
the one-line-per-request log."""

import re
import socket
import subprocess
import time
import urllib.parse

from conftest import BIN, HEAD
from fakeapp import FakeWebapp, Reply

BULK = "/_mxisd/identity/api/v1/lookup/bulk"
SINGLE = "/_mxisd/identity/api/v1/lookup/single"
LOOKUP = "/_matrix/identity/api/v1/lookup"
METRICS = "/_signpost/metrics"
READY = "/_signpost/ready"

# A sample line of the text format: name, optional labels, a number.
SAMPLE = re.compile(r'^[a-z_:][a-z0-9_:]*(\{([a-z_]+="[^"\\\n]*",?)*\})? '
                    r'(-?[0-9.e+-]+|\+Inf|NaN)$')


def config(webapp, extra=""):
    return HEAD + """\
rest: {enabled: true, host: "%s", timeout: 2000}
%s
""" % (webapp.url, extra)


def lookup(d, address):
    q = urllib.parse.urlencode({"medium": "email", "address": address})
    return d.request("GET", LOOKUP + "?" + q)


def metrics(d):
    st, hdrs, body = d.request("GET", METRICS)
    assert st == 200, body
    assert hdrs["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode() if isinstance(body, bytes) else str(body)
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith("# HELP ") or line.startswith("# TYPE ")
            continue
        assert SAMPLE.match(line), "not exposition format: %r" % line
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values


def metrics_once(d, want):
    """The metrics once they show every value in want: a request is
    counted when its answer has been sent, which may trail the client's
    read by a moment."""
    deadline = time.monotonic() + 5
    while True:
        m = metrics(d)
        if all(m.get(k) == v for k, v in want.items()):
            return m
        assert time.monotonic() < deadline, \
            {k: (m.get(k), v) for k, v in want.items()}
        time.sleep(0.02)


def test_status_and_version(start, webapp):
    d = start(config(webapp))
    assert d.request("GET", "/status")[2] == {"status": {"health": "OK"}}
    version = subprocess.run([BIN, "-V"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    assert d.request("GET", "/version")[2] == {
        "server": {"name": "signpost", "version": version}}


def test_ready_follows_the_webapp(start, webapp):
    webapp.always(BULK, Reply(200, {"lookup": []}))
    d = start(config(webapp))
    st, _, body = d.request("GET", READY)
    assert (st, body) == (200, {"ready": True})
    probe = webapp.calls(BULK)[0].json
    assert probe == {"lookup": [{
        "medium": "email",
        "address": "signpost-readiness-probe@example.invalid"}]}
    # A fresh success vouches for a few seconds: no second call.
    assert d.request("GET", READY)[0] == 200
    assert len(webapp.calls(BULK)) == 1


def test_not_ready_when_the_webapp_fails(start, webapp):
    webapp.always(BULK, Reply(500, {}))
    d = start(config(webapp))
    st, _, body = d.request("GET", READY)
    assert st == 503 and body["ready"] is False
    # Gone entirely.
    webapp.stop()
    st, _, body = d.request("GET", READY)
    assert st == 503 and "reached" in body["error"]


def test_ready_without_lookups_configured(start):
    d = start(HEAD)  # rest.enabled false: nothing to reach
    assert d.request("GET", READY)[:1] == (200,)


def test_metrics_count_requests_webapp_calls_and_cache(start, webapp):
    webapp.always(SINGLE, Reply(200, {"lookup": {
        "medium": "email", "address": "a@x.org",
        "id": {"type": "localpart", "value": "a"}}}))
    d = start(config(webapp))
    for _ in range(3):
        assert lookup(d, "a@x.org")[0] == 200
    assert d.request("GET", "/nowhere")[0] == 404
    v1 = 'endpoint="v1_lookup"'
    with socket.create_connection(("127.0.0.1", d.port)):
        m = metrics_once(d, {
            'signpost_http_requests_total{endpoint="unknown",'
            'status="404"}': 1,
            'signpost_http_requests_total{%s,status="200"}' % v1: 3})
    assert m['signpost_http_requests_total{%s,status="200"}' % v1] == 3
    assert m['signpost_http_requests_total{endpoint="unknown",'
             'status="404"}'] == 1
    assert m['signpost_http_request_duration_seconds_count{%s}' % v1] == 3
    assert m['signpost_http_request_duration_seconds_bucket{%s,le="+Inf"}'
             % v1] == 3
    assert m['signpost_webapp_calls_total{endpoint="single",'
             'outcome="ok"}'] == 1
    assert m["signpost_lookup_cache_hits_total"] == 2
    assert m["signpost_lookup_cache_misses_total"] == 1
    assert m["signpost_lookup_cache_entries"] == 1
    # This request's connection and the idle one above.
    assert m["signpost_open_connections"] >= 2
    assert m['signpost_build_info{version="%s"}' % subprocess.run(
        [BIN, "-V"], capture_output=True, text=True).stdout.split()[1]] == 1


def test_metrics_count_webapp_failures(start, webapp):
    webapp.reply(SINGLE, Reply(500, {}), Reply(200, "not json"))
    d = start(config(webapp))
    assert lookup(d, "b@x.org")[0] == 502
    assert lookup(d, "c@x.org")[0] == 502
    m = metrics(d)
    assert m['signpost_webapp_calls_total{endpoint="single",'
             'outcome="http_error"}'] == 1
    assert m['signpost_webapp_calls_total{endpoint="single",'
             'outcome="malformed"}'] == 1


def test_metrics_gate(start, webapp):
    d = start(config(webapp, "metrics.allowFrom: [10.0.0.0/8]"))
    st, _, body = d.request("GET", METRICS)
    assert (st, body["errcode"]) == (403, "M_FORBIDDEN")
    d2 = start(config(webapp, "metrics.enabled: false"))
    assert d2.request("GET", METRICS)[0] == 404


def test_one_log_line_per_request_without_addresses(start, webapp):
    webapp.always(SINGLE, Reply(200, {}))
    d = start(config(webapp))
    lookup(d, "secret.person@x.org")
    d.request("GET", "/a%0Ab%1Bc")
    # A line is written once its answer has been sent, so it may trail
    # the client's read by a moment, and two requests' lines may come in
    # either order.
    line = re.compile(r"info: GET /_matrix/identity/api/v1/lookup 200 "
                      r"[0-9.]+ ms")
    deadline = time.monotonic() + 5
    while "GET /a?b?c 404" not in d.logs() or not line.search(d.logs()):
        assert time.monotonic() < deadline, d.logs()
        time.sleep(0.02)
    logs = d.logs()
    assert "secret.person" not in logs
