"""Homeserver discovery for /v2/account/register, against a fake DNS server
(tests/integration/fakedns.py) and a fake HTTPS homeserver on loopback.

Names under .test exist only in the fake DNS. federation.resolver points
Signpost's SRV lookups at it; federation.connectTo stands in for the A
records and the fixed ports (443 for .well-known, 8448) that tests cannot
own: curl resolves hostnames itself, through the system resolver.
"""

import os
import subprocess
import threading
import time

import pytest

from conftest import BIN, HEAD, free_port
from fakeapp import FakeWebapp, Reply
from fakedns import FakeDNS, wait_for_queries

V2 = "/_matrix/identity/v2"
USERINFO = "/_matrix/federation/v1/openid/userinfo?access_token="
WELL_KNOWN = "/.well-known/matrix/server"
NAME = "hs.test"
FED = ("_matrix-fed._tcp." + NAME, "SRV")
LEGACY = ("_matrix._tcp." + NAME, "SRV")
# Slack on top of a configured timeout before a test calls it a hang.
SLACK_S = 2.0


@pytest.fixture
def dns():
    server = FakeDNS()
    yield server
    server.stop()


@pytest.fixture
def homeserver(cert):
    """A fake HTTPS homeserver on 127.0.0.1 (self-signed certificate);
    .sni lists the TLS server names clients asked for (None: no SNI)."""
    hs = FakeWebapp(tls=cert)
    hs.name = "127.0.0.1:%d" % hs.port
    hs.sni = []
    hs.server.socket.context.sni_callback = \
        lambda sock, name, ctx: hs.sni.append(name)
    yield hs
    hs.stop()


def config(dns, connect_to=(), connect_timeout=1000, timeout=2000):
    lines = "".join('    - "%s"\n' % c for c in connect_to)
    return HEAD + """\
rest: {connectTimeout: %d, timeout: %d}
federation:
  tlsVerify: false
  allowPrivateAddresses: true
  resolver: "%s"
  connectTo:
%s
logging: {level: debug}
""" % (connect_timeout, timeout, dns.address, lines or "    []\n")


def well_known_at(hs):
    """hs answers for https://hs.test (port 443)."""
    return "%s:443:127.0.0.1:%d" % (NAME, hs.port)


def serve_user(hs, server_name, token="tok"):
    hs.always(USERINFO + token, Reply(200, {"sub": "@alice:" + server_name}))


def register(d, server_name, token="tok", timeout=15):
    status, _, body = d.request("POST", V2 + "/account/register", {
        "access_token": token, "token_type": "Bearer",
        "matrix_server_name": server_name, "expires_in": 3600},
        timeout=timeout)
    return status, body


def userinfo_calls(hs, token="tok"):
    return hs.calls(USERINFO + token)


def test_ip_literal_without_port_host_header(start, dns, homeserver):
    # Step 1: port 8448, and a Host header without it.
    serve_user(homeserver, "127.0.0.1")
    d = start(config(dns, ["127.0.0.1:8448:127.0.0.1:%d" % homeserver.port]))
    status, body = register(d, "127.0.0.1")
    assert status == 200, body
    [call] = userinfo_calls(homeserver)
    assert call.headers["Host"] == "127.0.0.1"
    assert homeserver.sni == [None]  # no SNI for an IP address
    assert dns.asked() == []


def test_well_known_delegation_to_host_and_port(start, dns, homeserver):
    hs = homeserver
    hs.always(WELL_KNOWN, Reply(200, {"m.server": "localhost:%d" % hs.port}))
    serve_user(hs, NAME, "s3cret-openid")
    d = start(config(dns, [well_known_at(hs)]))
    status, body = register(d, NAME, "s3cret-openid")
    assert status == 200, body
    wk, ui = hs.calls()
    assert (wk.path, wk.headers["Host"]) == (WELL_KNOWN, NAME)
    assert ui.path == USERINFO + "s3cret-openid"
    # Step 3.2: the delegated name with its port is the Host header.
    assert ui.headers["Host"] == "localhost:%d" % hs.port
    # A delegated port skips SRV altogether.
    assert dns.asked() == []
    assert "s3cret-openid" not in d.logs()


def test_well_known_redirect_is_followed(start, dns, homeserver):
    hs = homeserver
    hs.always(WELL_KNOWN, Reply(302, "", headers={
        "Location": "https://%s/moved/server" % NAME}))
    hs.always("/moved/server", Reply(200, {
        "m.server": "localhost:%d" % hs.port}))
    serve_user(hs, NAME)
    d = start(config(dns, [well_known_at(hs)]))
    status, body = register(d, NAME)
    assert status == 200, body
    assert [c.path for c in hs.calls()] == [
        WELL_KNOWN, "/moved/server", USERINFO + "tok"]


def test_well_known_delegation_to_a_name_uses_its_srv(start, dns,
                                                      homeserver):
    hs = homeserver
    hs.always(WELL_KNOWN, Reply(200, {"m.server": "deleg.test"}))
    dns.srv("_matrix-fed._tcp.deleg.test", [(10, 0, hs.port, "localhost")])
    serve_user(hs, NAME)
    d = start(config(dns, [well_known_at(hs)]))
    status, body = register(d, NAME)
    assert status == 200, body
    [ui] = userinfo_calls(hs)
    # Step 3.3: Host header and TLS name of the delegated hostname.
    assert ui.headers["Host"] == "deleg.test"
    assert hs.sni == [NAME, "deleg.test"]
    # The SRV lookup is for the delegated name, never the original one.
    assert dns.asked() == [("_matrix-fed._tcp.deleg.test", "SRV")]


def test_srv_matrix_fed_target(start, dns, homeserver):
    hs = homeserver  # answers 404 to .well-known: no fixture
    dns.srv(FED[0], [(10, 0, hs.port, "localhost")])
    dns.srv(LEGACY[0], [(10, 0, free_port(), "localhost")])
    serve_user(hs, NAME)
    d = start(config(dns, [well_known_at(hs)]))
    status, body = register(d, NAME)
    assert status == 200, body
    [ui] = userinfo_calls(hs)
    # Step 4: connect to the target, speak to the server name: Host
    # header and TLS name (SNI, so the certificate checked) are hs.test.
    assert ui.headers["Host"] == NAME
    assert hs.sni == [NAME, NAME]
    assert dns.asked() == [FED]
    assert "_matrix-fed._tcp: https://hs.test at localhost:%d" % hs.port \
        in d.logs()


def test_srv_lowest_priority_first_then_next_on_failure(start, dns,
                                                        homeserver):
    hs = homeserver
    closed = free_port()  # nothing listens there: refused at once
    dns.srv(FED[0], [(20, 0, hs.port, "localhost"),
                     (10, 5, closed, "localhost")])
    serve_user(hs, NAME)
    d = start(config(dns, [well_known_at(hs)]))
    status, body = register(d, NAME)
    assert status == 200, body
    logs = d.logs()
    # Priority 10 first; refused, so the priority-20 target.
    first = logs.index("at localhost:%d" % closed)
    assert logs.index("at localhost:%d" % hs.port) > first
    assert len(userinfo_calls(hs)) == 1


def test_srv_legacy_fallback(start, dns, homeserver):
    hs = homeserver
    dns.srv(LEGACY[0], [(10, 0, hs.port, "localhost")])
    serve_user(hs, NAME)
    d = start(config(dns, [well_known_at(hs)]))
    status, body = register(d, NAME)
    assert status == 200, body
    [ui] = userinfo_calls(hs)
    assert ui.headers["Host"] == NAME
    # Step 5 only after step 4 found no record.
    assert dns.asked() == [FED, LEGACY]


def test_no_srv_goes_to_port_8448(start, dns, homeserver):
    hs = homeserver
    serve_user(hs, NAME)
    d = start(config(dns, [well_known_at(hs),
                           "%s:8448:127.0.0.1:%d" % (NAME, hs.port)]))
    status, body = register(d, NAME)
    assert status == 200, body
    [ui] = userinfo_calls(hs)
    # Step 6: port 8448, and the Host header is the bare hostname. Both
    # calls end up at the same place, so curl may reuse the connection.
    assert ui.headers["Host"] == NAME
    assert set(hs.sni) == {NAME}
    assert dns.asked() == [FED, LEGACY]


def test_no_srv_and_nothing_on_8448(start, dns, homeserver):
    d = start(config(dns, [well_known_at(homeserver)]))
    t0 = time.monotonic()
    status, body = register(d, NAME)
    # hs.test has no address outside the fake DNS: refused or timed out.
    assert (status, body["errcode"]) in [(502, "M_UNKNOWN"),
                                         (504, "M_UNKNOWN")]
    assert time.monotonic() - t0 < 2 + SLACK_S
    assert "no SRV record: https://hs.test at hs.test:8448" in d.logs()
    assert userinfo_calls(homeserver) == []


def test_srv_says_no_service(start, dns, homeserver):
    dns.srv(FED[0], [(0, 0, 0, ".")])
    d = start(config(dns, [well_known_at(homeserver)]))
    status, body = register(d, NAME)
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")
    assert "says there is no service" in d.logs()
    # "." is an answer: no fallback to _matrix._tcp or 8448.
    assert dns.asked() == [FED]
    assert userinfo_calls(homeserver) == []


def test_srv_invalid_target_and_servfail(start, dns, homeserver):
    dns.srv(FED[0], [(10, 0, 8448, "bad_name.test")])
    dns.fail("_matrix-fed._tcp.broken.test")
    d = start(config(dns, [well_known_at(homeserver),
                           "broken.test:443:127.0.0.1:%d" % homeserver.port]))
    status, body = register(d, NAME)
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")
    assert "no usable SRV target" in d.logs()
    status, body = register(d, "broken.test")
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")
    # An error is not "no record": nothing further is tried.
    assert ("_matrix._tcp.broken.test", "SRV") not in dns.asked()
    assert userinfo_calls(homeserver) == []


def test_slow_homeserver_times_out_while_others_are_served(start, dns,
                                                           homeserver, cert):
    hs = homeserver
    hold = threading.Event()
    dns.srv(FED[0], [(10, 0, hs.port, "localhost")])
    hs.always(USERINFO + "slow", Reply(200, {"sub": "@a:" + NAME},
                                       hold=hold))
    fast = FakeWebapp(tls=cert)
    fast_name = "127.0.0.1:%d" % fast.port
    serve_user(fast, fast_name, "fast")
    d = start(config(dns, [well_known_at(hs)], timeout=1500))
    result = {}

    def slow():
        t0 = time.monotonic()
        result["answer"] = register(d, NAME, "slow")
        result["elapsed"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()
    try:
        hs.wait_in_flight(1, 5)
        t0 = time.monotonic()
        assert register(d, fast_name, "fast")[0] == 200
        assert d.request("GET", "/_matrix/identity/versions")[0] == 200
        assert time.monotonic() - t0 < 1.2
        t.join(1.5 + SLACK_S)
        assert not t.is_alive(), "no answer within rest.timeout"
    finally:
        hold.set()
        t.join()
        fast.stop()
    status, body = result["answer"]
    assert (status, body["errcode"]) == (504, "M_UNKNOWN")
    assert result["elapsed"] < 1.5 + SLACK_S


def test_slow_dns_does_not_hold_other_requests(start, dns, homeserver):
    hs = homeserver
    dns.srv(FED[0], [(10, 0, hs.port, "localhost")])
    dns.delay(FED[0], 2.5)
    serve_user(hs, NAME)
    serve_user(hs, hs.name, "direct")
    d = start(config(dns, [well_known_at(hs)], connect_timeout=4000,
                     timeout=5000))
    result = {}
    t = threading.Thread(target=lambda: result.update(
        answer=register(d, NAME)))
    t.start()
    try:
        wait_for_queries(dns, 1)
        # While the SRV answer is on its way, other registrations and
        # requests are answered.
        t0 = time.monotonic()
        assert register(d, hs.name, "direct")[0] == 200
        assert d.request("GET", "/_matrix/identity/v2")[0] == 200
        assert time.monotonic() - t0 < 1.5
        assert "answer" not in result
    finally:
        t.join(10)
    assert result["answer"][0] == 200


def test_dns_never_answers(start, dns, homeserver):
    dns.never_answer()
    d = start(config(dns, [well_known_at(homeserver)], connect_timeout=1000))
    t0 = time.monotonic()
    status, body = register(d, NAME)
    elapsed = time.monotonic() - t0
    # rest.connectTimeout bounds the SRV step: a 504, not a hang.
    assert (status, body["errcode"]) == (504, "M_UNKNOWN")
    assert elapsed < 1.0 + SLACK_S
    assert "no DNS answer for _matrix-fed._tcp.hs.test in time" in d.logs()
    # A timeout is not "no record": neither _matrix._tcp nor 8448.
    assert set(dns.asked()) == {FED}
    assert userinfo_calls(homeserver) == []


@pytest.mark.parametrize("key,value,message", [
    ("resolver", '"dns.example.org"', "must be an IP address"),
    ("resolver", '"127.0.0.1:99999"', "must be an IP address"),
    ("connectTo", '["hs.test:443"]', "must be host:port:target-host"),
    ("connectTo", '["hs.test:443:[::1:80"]', "must be host:port:target-host"),
])
def test_bad_discovery_settings(tmp_path, key, value, message):
    path = os.path.join(str(tmp_path), "signpost.yaml")
    with open(path, "w") as f:
        f.write("matrix.domain: example.org\nfederation.%s: %s\n" %
                (key, value))
    r = subprocess.run([BIN, "-t", "-c", path], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 1
    assert "federation.%s: " % key in r.stderr and message in r.stderr


def test_good_discovery_settings(tmp_path):
    path = os.path.join(str(tmp_path), "signpost.yaml")
    with open(path, "w") as f:
        f.write("matrix.domain: example.org\n"
                "federation.resolver: '[::1]:5353'\n"
                "federation.connectTo: ['[::1]:443:10.0.0.5:8448', "
                "'hs.example.org:8448:hs-internal:8448']\n")
    r = subprocess.run([BIN, "-t", "-c", path], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr


def test_stop_during_a_lookup(start, dns, homeserver):
    # The engine waits for the lookup thread (bounded by the DNS timeout)
    # before it stops, and the request still gets its answer.
    dns.never_answer()
    d = start(config(dns, [well_known_at(homeserver)], connect_timeout=1500))
    result = {}
    t = threading.Thread(target=lambda: result.update(
        answer=register(d, NAME)))
    t.start()
    wait_for_queries(dns, 1)
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 1.5 + SLACK_S
    t.join(SLACK_S)
    assert not t.is_alive()
    status, body = result["answer"]
    assert (status, body["errcode"]) == (504, "M_UNKNOWN")
