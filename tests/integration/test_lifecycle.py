"""The daemon's life: configuration reload on SIGHUP (applied whole, or the
old one kept when the new one is wrong), requests under way across a
reload, graceful shutdown on SIGTERM, and the 503 for requests over
server.maxConcurrentRequests."""

import signal
import socket
import threading
import time
import urllib.parse

from conftest import HEAD, free_port
from fakeapp import FakeWebapp, Reply

SINGLE = "/_mxisd/identity/api/v1/lookup/single"
LOOKUP = "/_matrix/identity/api/v1/lookup"


def config(webapp, extra=""):
    return HEAD + """\
rest: {enabled: true, host: "%s", timeout: 5000}
key.path: signing.key
storage.provider.sqlite.database: signpost.db
%s
""" % (webapp.url, extra)


def rewrite(d, text):
    with open(d.config_path, "w") as f:
        f.write(text.replace("@PORT@", str(d.port)))


def wait_log(d, text, count=1, timeout=10):
    deadline = time.monotonic() + timeout
    while d.logs().count(text) < count:
        assert time.monotonic() < deadline, \
            "no %r (x%d) in logs:\n%s" % (text, count, d.logs())
        time.sleep(0.02)


def lookup(d, address):
    q = urllib.parse.urlencode({"medium": "email", "address": address})
    return d.request("GET", LOOKUP + "?" + q)


def owner(user, hold=None):
    """The webapp's answer: whatever was asked belongs to user."""
    return Reply(200, {"lookup": {"medium": "email", "address": "x",
                                  "id": {"type": "localpart",
                                         "value": user}}}, hold=hold)


def test_reload_applies_the_new_configuration(start, webapp):
    other = FakeWebapp()
    try:
        webapp.always(SINGLE, owner("from-first"))
        other.always(SINGLE, owner("from-second"))
        d = start(config(webapp))
        assert lookup(d, "a@x.org")[2]["mxid"] == "@from-first:example.org"
        rewrite(d, config(other, "lookup.validity: 120"))
        d.proc.send_signal(signal.SIGHUP)
        wait_log(d, "configuration reloaded")
        st, _, body = lookup(d, "b@x.org")
        assert body["mxid"] == "@from-second:example.org"
        assert body["not_after"] - body["not_before"] == 120000
        # The cache went with the old configuration too.
        assert lookup(d, "a@x.org")[2]["mxid"] == "@from-second:example.org"
        assert len(webapp.calls(SINGLE)) == 1
    finally:
        other.stop()


def test_invalid_configuration_keeps_the_old_one(start, webapp):
    webapp.always(SINGLE, owner("still-here"))
    d = start(config(webapp))
    rewrite(d, config(webapp, "lookup.validity: soon\nserver.threads: -1"))
    d.proc.send_signal(signal.SIGHUP)
    wait_log(d, "reload failed")
    logs = d.logs()
    # Every problem, with its place in the file.
    assert "signpost.yaml:6:" in logs and "lookup.validity" in logs
    assert "server.threads" in logs
    assert lookup(d, "c@x.org")[2]["mxid"] == "@still-here:example.org"
    # A later, fixed file is taken.
    rewrite(d, config(webapp, "lookup.validity: 300"))
    d.proc.send_signal(signal.SIGHUP)
    wait_log(d, "configuration reloaded")
    body = lookup(d, "d@x.org")[2]
    assert body["not_after"] - body["not_before"] == 300000


def test_a_request_under_way_finishes_in_its_own_configuration(
        start, webapp):
    other = FakeWebapp()
    gate = threading.Event()
    try:
        webapp.always(SINGLE, owner("old", hold=gate))
        other.always(SINGLE, owner("new"))
        d = start(config(webapp, "logging.level: debug"))
        result = []
        t = threading.Thread(
            target=lambda: result.append(lookup(d, "e@x.org")))
        t.start()
        webapp.wait_in_flight(1, 5)
        rewrite(d, config(other, "logging.level: debug"))
        d.proc.send_signal(signal.SIGHUP)
        wait_log(d, "configuration reloaded")
        assert lookup(d, "f@x.org")[2]["mxid"] == "@new:example.org"
        # The old generation lives on while its request waits...
        assert "previous configuration released" not in d.logs()
        gate.set()
        t.join(10)
        assert result[0][0] == 200
        assert result[0][2]["mxid"] == "@old:example.org"
        # ...and is freed once that request is over.
        wait_log(d, "previous configuration released")
    finally:
        gate.set()
        other.stop()


def test_listener_changes_wait_for_a_restart(start, webapp):
    d = start(config(webapp))
    text = config(webapp).replace("port: @PORT@", "port: %d" % free_port())
    with open(d.config_path, "w") as f:
        f.write(text)
    d.proc.send_signal(signal.SIGHUP)
    wait_log(d, "configuration reloaded")
    assert "server.* settings changed" in d.logs()
    assert d.request("GET", "/_matrix/identity/versions")[0] == 200


def test_sigterm_finishes_requests_under_way(start, webapp):
    gate = threading.Event()
    webapp.always(SINGLE, owner("patient", hold=gate))
    d = start(config(webapp))
    result = []
    t = threading.Thread(target=lambda: result.append(lookup(d, "g@x.org")))
    t.start()
    webapp.wait_in_flight(1, 5)
    d.proc.send_signal(signal.SIGTERM)
    # New connections are refused once the listener is closed...
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection(("127.0.0.1", d.port), 0.5).close()
        except OSError:
            break
        assert time.monotonic() < deadline, "still accepting after SIGTERM"
        time.sleep(0.02)
    assert d.alive()
    # ...while the request under way gets its real answer.
    gate.set()
    t.join(10)
    assert result[0][0] == 200
    assert result[0][2]["mxid"] == "@patient:example.org"
    assert d.proc.wait(10) == 0


def test_requests_over_the_limit_get_503_at_once(start, webapp):
    gate = threading.Event()
    webapp.always(SINGLE, owner("slow", hold=gate))
    d = start(config(webapp, "server.maxConcurrentRequests: 2\n"
                     "lookup.cache.enabled: false"))
    results = []
    threads = [threading.Thread(
        target=lambda a=a: results.append(lookup(d, a)))
        for a in ("h1@x.org", "h2@x.org")]
    try:
        for t in threads:
            t.start()
        webapp.wait_in_flight(2, 5)
        t0 = time.monotonic()
        st, hdrs, body = lookup(d, "h3@x.org")
        assert st == 503
        assert hdrs.get("Retry-After") == "1"
        assert "overloaded" in body["error"]
        assert time.monotonic() - t0 < 2
    finally:
        gate.set()
        for t in threads:
            t.join(10)
    assert [r[0] for r in results] == [200, 200]
    # Room again.
    assert lookup(d, "h4@x.org")[0] == 200
