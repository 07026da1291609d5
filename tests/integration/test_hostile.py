"""Hostile clients and a webapp that comes and goes. Each attack gets a 4xx
or a closed connection within the configured time, the daemon keeps
answering everybody else meanwhile, and its file descriptors go back to
where they were once the attackers are gone."""

import json
import os
import resource
import socket
import threading
import time
import urllib.parse

import pytest

from conftest import HEAD
from fakeapp import FakeWebapp, Reply

BULK = "/_mxisd/identity/api/v1/lookup/bulk"
BULK_LOOKUP = "/_matrix/identity/api/v1/bulk_lookup"
CHECK = "/_matrix-internal/identity/v1/check_credentials"
AUTH = "/_mxisd/identity/api/v1/auth"

# The daemon's server.connectionTimeout in these tests, in seconds.
TIMEOUT_S = 2


def config(webapp, extra=""):
    return HEAD + """\
server.connectionTimeout: %d
server.maxBodySize: 65536
rest: {enabled: true, host: "%s"}
%s
""" % (TIMEOUT_S, webapp.url, extra)


@pytest.fixture
def d(start, webapp):
    webapp.always(BULK, Reply(200, {"lookup": []}))
    return start(config(webapp))


def still_serving(d):
    assert d.request("GET", "/_matrix/identity/versions", timeout=2)[0] == 200


def closed_within(sock, seconds, trickle=None):
    """Reads until the server closes; trickle() is called between reads
    (the attack going on). Returns what the server sent, or raises if it
    kept the connection open past seconds."""
    sock.settimeout(0.2)
    got = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            chunk = None
        except (ConnectionResetError, BrokenPipeError):
            return got
        if chunk == b"":
            return got
        if chunk:
            got += chunk
        if trickle is not None:
            try:
                trickle()
            except (ConnectionResetError, BrokenPipeError):
                return got
    raise AssertionError("connection still open after %ss" % seconds)


def raw(d, data, read=True):
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(data)
    if not read:
        return s
    try:
        return closed_within(s, TIMEOUT_S + 3)
    finally:
        s.close()


def status_of(answer):
    return int(answer.split(b" ", 2)[1]) if answer else None


def fds(d):
    """What the daemon's descriptors point at."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % d.proc.pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (d.proc.pid, fd)))
        except OSError:
            pass  # closed meanwhile
    return out


def fd_count(d):
    return len(fds(d))


def test_slowloris_headers_are_cut(d):
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"GET /_matrix/identity/versions HTTP/1.1\r\n")
    header = iter(b"X-Slow: " + b"a" * 1000)
    t0 = time.monotonic()

    def trickle():
        s.send(bytes([next(header)]))
        still_serving(d)

    closed_within(s, TIMEOUT_S + 2, trickle)
    # Not before the deadline, not long after it.
    assert TIMEOUT_S - 0.5 < time.monotonic() - t0 < TIMEOUT_S + 1.5
    s.close()


def test_slow_body_is_cut(d):
    s = socket.create_connection(("127.0.0.1", d.port))
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
              b"Content-Type: application/json\r\n\r\n" % BULK_LOOKUP.encode())
    closed_within(s, TIMEOUT_S + 2, lambda: s.send(b" "))
    s.close()
    still_serving(d)


def test_body_that_stops_midway(d):
    s = raw(d, b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
            b'{"threepids": [' % BULK_LOOKUP.encode(), read=False)
    closed_within(s, TIMEOUT_S + 2)
    s.close()
    still_serving(d)


def test_an_idle_keepalive_connection_is_closed(d):
    s = raw(d, b"", read=False)
    closed_within(s, TIMEOUT_S + 2)
    s.close()


def test_huge_headers(d):
    answer = raw(d, b"GET /_matrix/identity/versions HTTP/1.1\r\nHost: x\r\n"
                 b"X-Big: " + b"a" * 70000 + b"\r\n\r\n")
    assert status_of(answer) in (None, 413, 431)
    still_serving(d)


def test_declared_body_over_the_cap(d):
    answer = raw(d, b"POST %s HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 70000\r\n\r\n" % BULK_LOOKUP.encode())
    assert status_of(answer) == 413
    still_serving(d)


def test_chunked_body_over_the_cap(d):
    s = raw(d, b"POST %s HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" % BULK_LOOKUP.encode(),
            read=False)
    chunk = b"%x\r\n%s\r\n" % (8192, b"[" * 8192)
    try:
        for _ in range(12):
            s.sendall(chunk)
    except (ConnectionResetError, BrokenPipeError):
        pass
    closed_within(s, TIMEOUT_S + 2)
    s.close()
    still_serving(d)


@pytest.mark.parametrize("body,errcode", [
    (b"[" * 60000, "M_NOT_JSON"),                       # deep nesting
    (b'{"threepids": [["email", "\xff\xfe"]]}', "M_NOT_JSON"),  # not UTF-8
    (b'{"threepids": [["email", "a\\u0000b"]]}', "M_NOT_JSON"),  # NUL
    (b'{"threepids": [], "threepids": []}', "M_NOT_JSON"),  # duplicate
    (b"threepids=email,a@b.c", "M_NOT_JSON"),           # a form
    (b'{"threepids": [["email"]]}', "M_INVALID_PARAM"),
    (b'{"threepids": {"email": "a"}}', "M_INVALID_PARAM"),
    (b"[]", "M_BAD_JSON"),
])
def test_bad_bodies(d, webapp, body, errcode):
    st, _, answer = d.request("POST", BULK_LOOKUP, body, headers={
        "Content-Type": "application/x-www-form-urlencoded"
        if body.startswith(b"threepids=") else "application/json"})
    assert (st, answer["errcode"]) == (400, errcode)
    assert webapp.calls(BULK) == []


def test_bad_password_check_bodies(d, webapp):
    for body in (b'{"user": {"id": "@a:example.org", "password": 5}}',
                 b'{"user": {"id": "@a:example.org\\u0000x", '
                 b'"password": "p"}}',
                 b'{"user": {"id": "not an id", "password": "p"}}'):
        st, _, answer = d.request("POST", CHECK, body)
        assert st == 400, answer
    assert webapp.calls(AUTH) == []


def test_abandoned_connections(d):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = min(1500, hard - 200)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 200), hard))
    before = fd_count(d)
    socks = []
    try:
        for i in range(n):
            s = socket.socket()
            s.connect(("127.0.0.1", d.port))
            if i % 3 == 0:
                s.send(b"GET /_matrix/identity/versions HTTP/1.1\r\nHo")
            elif i % 3 == 1:
                s.send(b"POST /_matrix/identity/api/v1/bulk_lookup "
                       b"HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
            socks.append(s)
        still_serving(d)
        # Half of them simply vanish, with a reset.
        for s in socks[::2]:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        still_serving(d)
    finally:
        for s in socks:
            s.close()
    # Generous: under a sanitizer on a loaded machine closing 1,500
    # connections takes a while; a leak never ends.
    deadline = time.monotonic() + TIMEOUT_S + 20
    while fd_count(d) > before:
        assert time.monotonic() < deadline, \
            "%d descriptors left, %d before: %s" % (
                fd_count(d), before, sorted(fds(d)))
        time.sleep(0.1)
    still_serving(d)


def test_webapp_that_goes_away_and_comes_back(start, webapp):
    port = webapp.port
    webapp.always(BULK, Reply(200, {"lookup": []}))
    d = start(config(webapp, "lookup.cache.enabled: false"))
    body = {"threepids": [["email", "a@example.org"]]}
    assert d.request("POST", BULK_LOOKUP, body)[0] == 200
    webapp.stop()
    assert d.request("POST", BULK_LOOKUP, body)[0] == 502
    back = FakeWebapp(port=port)
    try:
        back.always(BULK, Reply(200, {"lookup": [{
            "medium": "email", "address": "a@example.org",
            "id": {"type": "localpart", "value": "a"}}]}))
        st, _, answer = d.request("POST", BULK_LOOKUP, body)
        assert st == 200
        assert answer["threepids"] == [["email", "a@example.org",
                                        "@a:example.org"]]
    finally:
        back.stop()


def test_webapp_reset_mid_answer_is_never_a_match(start, webapp):
    webapp.reply(BULK, Reply(200, {"lookup": [{
        "medium": "email", "address": "a@example.org",
        "id": {"type": "localpart", "value": "a"}}]}, partial=True))
    d = start(config(webapp))
    st, _, answer = d.request("POST", BULK_LOOKUP, {
        "threepids": [["email", "a@example.org"]]})
    assert st == 502
    assert "threepids" not in answer


# What a browser (Element Web) sends to an identity server, give or take.
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Accept": "application/json", "Accept-Language": "en-GB,en;q=0.9",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Authorization": "Bearer " + "t" * 43,
    "Origin": "https://app.element.io", "Referer": "https://app.element.io/",
    "sec-ch-ua": '"Chromium";v="130", "Google Chrome";v="130", '
                 '"Not?A_Brand";v="99"',
    "sec-ch-ua-mobile": "?0", "sec-ch-ua-platform": '"Linux"',
    "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Dest": "empty", "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https", "X-Real-IP": "203.0.113.7",
}


def test_header_room(start, webapp):
    d = start(config(webapp))
    assert d.request("GET", "/_matrix/identity/versions",
                     headers=BROWSER_HEADERS)[0] == 200
    big = dict(BROWSER_HEADERS, Cookie="c=" + "x" * 6000)
    assert d.request("GET", "/_matrix/identity/versions",
                     headers=big)[0] == 431
    roomy = start(config(webapp, "server.maxHeaderSize: 16384"))
    assert roomy.request("GET", "/_matrix/identity/versions",
                         headers=big)[0] == 200
