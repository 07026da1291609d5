"""check_credentials end to end: exact JSON both ways, every webapp fault,
and the daemon still serving afterwards."""

import json
import threading
import time

import pytest

from conftest import HEAD
from fakeapp import Reply

AUTH = "/_mxisd/identity/api/v1/auth"
CHECK = "/_matrix-internal/identity/v1/check_credentials"


def check(daemon, user="@john.doe:example.org", password="s3cret pass"):
    return daemon.request("POST", CHECK,
                          {"user": {"id": user, "password": password}})


def assert_still_serving(daemon):
    status, _, body = daemon.request("GET", "/_matrix/identity/api/v1")
    assert (status, body) == (200, {})


def test_success_exact_request_and_answer(signpost, webapp):
    webapp.reply(AUTH, Reply(200, {"auth": {
        "success": True,
        "id": {"type": "localpart", "value": "john.doe"},
        "profile": {"display_name": "John Doe", "three_pids": [
            {"medium": "email", "address": "john.doe@example.org"},
            {"medium": "msisdn", "address": "123456789"}]}}}))

    status, _, body = check(signpost)

    assert status == 200
    expected = {"success": True, "mxid": "@john.doe:example.org",
                "display_name": "John Doe",
                "profile": {"display_name": "John Doe", "three_pids": [
                    {"medium": "email", "address": "john.doe@example.org"},
                    {"medium": "msisdn", "address": "123456789"}]}}
    assert body == {"auth": expected, "authentication": expected}
    [call] = webapp.calls(AUTH)
    assert call.method == "POST"
    assert call.headers["Content-Type"] == "application/json"
    assert call.json == {"auth": {"mxid": "@john.doe:example.org",
                                  "localpart": "john.doe",
                                  "domain": "example.org",
                                  "password": "s3cret pass"}}


def test_success_without_profile_still_has_profile(signpost, webapp):
    webapp.reply(AUTH, Reply(200, {"auth": {
        "success": True, "id": {"type": "LOCALPART", "value": "john"}}}))
    status, _, body = check(signpost)
    assert status == 200
    # The Synapse module indexes auth.profile unconditionally.
    assert body["auth"] == {"success": True, "mxid": "@john:example.org",
                            "profile": {"three_pids": []}}


def test_mxid_id_is_taken_as_is(signpost, webapp):
    webapp.reply(AUTH, Reply(200, {"auth": {
        "success": True, "id": {"type": "mxid", "value": "@j:other.org"}}}))
    _, _, body = check(signpost)
    assert body["auth"]["mxid"] == "@j:other.org"


def test_non_ascii_password_and_user_are_forwarded_intact(signpost, webapp):
    webapp.reply(AUTH, Reply(200, {"auth": {"success": False}}))
    status, _, body = check(signpost, "@Zoë.ü:example.org".encode(
        "ascii", "ignore").decode() or "@zo:example.org", "pässwörd ☃")
    assert status == 200
    assert webapp.calls(AUTH)[0].json["auth"]["password"] == "pässwörd ☃"


def test_refused_login(signpost, webapp):
    webapp.reply(AUTH, Reply(200, {"auth": {"success": False}}))
    status, _, body = check(signpost)
    assert (status, body) == (200, {"auth": {"success": False},
                                    "authentication": {"success": False}})


@pytest.mark.parametrize("code", [400, 401, 403, 404, 429])
def test_webapp_4xx_is_a_refused_login(signpost, webapp, code):
    webapp.reply(AUTH, Reply(code, {"error": "nope"}))
    status, _, body = check(signpost)
    assert (status, body["auth"]) == (200, {"success": False})


BAD_ANSWERS = [
    pytest.param(Reply(500, {"auth": {"success": True}}), 502, id="500"),
    pytest.param(Reply(503, "down"), 502, id="503"),
    pytest.param(Reply(302, "", headers={"Location": "/elsewhere"}), 502,
                 id="redirect"),
    pytest.param(Reply(200, "<html>oops</html>"), 502, id="html"),
    pytest.param(Reply(200, ""), 502, id="empty"),
    pytest.param(Reply(200, []), 502, id="array"),
    pytest.param(Reply(200, {}), 502, id="no-auth"),
    pytest.param(Reply(200, {"auth": {"success": "true"}}), 502,
                 id="success-string"),
    pytest.param(Reply(200, {"auth": {"success": True}}), 502, id="no-id"),
    pytest.param(Reply(200, {"auth": {"success": True, "id": {
        "type": "email", "value": "x"}}}), 502, id="unknown-id-type"),
    pytest.param(Reply(200, {"auth": {"success": True, "id": {
        "type": "mxid", "value": "john"}}}), 502, id="invalid-mxid"),
    pytest.param(Reply(200, {"auth": {"success": True, "id": {
        "type": "localpart", "value": "a b"}}}), 502, id="invalid-localpart"),
    pytest.param(Reply(200, {"auth": {"success": True, "id": {
        "type": "localpart", "value": "j"}, "profile": {
        "three_pids": "x"}}}), 502, id="bad-profile"),
    pytest.param(Reply(200, '{"auth":{"success":true,"success":true}}'),
                 502, id="duplicate-key"),
    pytest.param(Reply(200, b'{"auth":{"success":\xff}}'), 502,
                 id="invalid-utf8"),
    pytest.param(Reply(close=True), 502, id="closed"),
    pytest.param(Reply(200, {"auth": {"success": False, "pad": "x" * 5000}},
                       partial=True), 502, id="cut-mid-body"),
]


@pytest.mark.parametrize("reply,code", BAD_ANSWERS)
def test_webapp_faults_are_errors_never_success(signpost, webapp, reply,
                                                code):
    webapp.reply(AUTH, reply)
    status, _, body = check(signpost)
    assert status == code
    assert body["errcode"] == "M_UNKNOWN"
    assert "auth" not in body
    assert "webapp http://127.0.0.1:%d%s" % (webapp.port, AUTH) in \
        signpost.logs()
    assert_still_serving(signpost)


def test_timeout_gives_504_and_daemon_keeps_serving(signpost, webapp):
    hold = threading.Event()
    webapp.reply(AUTH, Reply(200, {"auth": {"success": True}}, hold=hold))
    try:
        started = time.monotonic()
        status, _, body = check(signpost)
        elapsed = time.monotonic() - started
    finally:
        hold.set()
    assert (status, body["errcode"]) == (504, "M_UNKNOWN")
    # rest.timeout is 1 s here; the bound only proves there is no hang.
    assert elapsed < 5
    webapp.reply(AUTH, Reply(200, {"auth": {"success": False}}))
    assert check(signpost)[0] == 200


def test_refused_connection_gives_502(start, webapp):
    closed = webapp.url.rsplit(":", 1)[0] + ":1"
    d = start(HEAD + """\
rest: {enabled: true, host: %s}
""" % closed)
    status, _, body = check(d)
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")
    assert "webapp %s%s" % (closed, AUTH) in d.logs()


def test_answer_over_size_cap_is_an_error(start, webapp):
    d = start(HEAD + """\
rest: {enabled: true, host: %s, maxResponseSize: 2048}
""" % webapp.url)
    webapp.reply(AUTH, Reply(200, {"auth": {"success": False,
                                            "pad": "x" * 4096}}))
    status, _, _ = check(d)
    assert status == 502
    assert "larger than rest.maxResponseSize" in d.logs()


def test_password_never_logged(signpost, webapp):
    webapp.reply(AUTH, Reply(200, {"auth": {"success": False}}),
                 Reply(500, "x"))
    check(signpost, password="hunter2-unique-secret")
    check(signpost, password="hunter2-unique-secret")
    logs = signpost.logs()
    assert "debug" in logs   # the daemon runs at debug level here
    assert "hunter2-unique-secret" not in logs


def test_extra_headers_reach_the_webapp(start, webapp):
    d = start("""\
matrix.domain: example.org
server.port: @PORT@
server.address: 127.0.0.1
rest.enabled: true
rest.host: %s/
rest.headers:
  Authorization: Bearer shared-secret-123
  X-Signpost-Instance: one
""" % webapp.url)
    webapp.reply(AUTH, Reply(200, {"auth": {"success": False}}))
    check(d)
    [call] = webapp.calls()
    # rest.host ends with '/': the joined URL must not double it.
    assert call.path == AUTH
    assert call.headers["Authorization"] == "Bearer shared-secret-123"
    assert call.headers["X-Signpost-Instance"] == "one"
    assert "shared-secret-123" not in d.logs()


def test_full_url_endpoint(start, webapp):
    d = start(HEAD + """\
rest:
  enabled: true
  endpoints:
    auth: %s/custom/check
    identity:
      single: %s/custom/single
      bulk: ""
""" % (webapp.url, webapp.url))
    webapp.reply("/custom/check", Reply(200, {"auth": {"success": False}}))
    assert check(d)[2]["auth"] == {"success": False}
    assert [c.path for c in webapp.calls()] == ["/custom/check"]


def test_empty_endpoint_turns_auth_off(start, webapp):
    d = start(HEAD + """\
rest: {enabled: true, host: %s, endpoints: {auth: ""}}
""" % webapp.url)
    status, _, body = check(d)
    assert (status, body["auth"]) == (200, {"success": False})
    assert webapp.calls() == []
    assert "rest.endpoints.auth is empty" in d.logs()


def test_disabled_rest_refuses_every_login(start, webapp):
    d = start(HEAD + """\
""")
    assert check(d)[2]["auth"] == {"success": False}
    assert webapp.calls() == []
    assert "rest.enabled is false" in d.logs()


def test_callers_outside_allow_list_are_forbidden(start, webapp):
    d = start(HEAD + """\
rest: {enabled: true, host: %s}
auth: {allowFrom: [10.0.0.0/8]}
""" % webapp.url)
    status, _, body = check(d)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")
    assert webapp.calls() == []


BAD_REQUESTS = [
    (b"not json", 400, "M_NOT_JSON"),
    (b"", 400, "M_NOT_JSON"),
    (b"[1,2]", 400, "M_BAD_JSON"),
    (b'{"user":"x"}', 400, "M_BAD_JSON"),
    (b"{}", 400, "M_MISSING_PARAMS"),
    (b'{"user":{"id":"@a:example.org"}}', 400, "M_MISSING_PARAMS"),
    (b'{"user":{"id":5,"password":"x"}}', 400, "M_BAD_JSON"),
    (b'{"user":{"id":"@a:example.org","password":null}}', 400, "M_BAD_JSON"),
    (b'{"user":{"id":"john","password":"x"}}', 400, "M_INVALID_PARAM"),
    (b'{"user":{"id":"@:example.org","password":"x"}}', 400,
     "M_INVALID_PARAM"),
    (b'{"user":{"id":"@a:example.org","password":"x","id":"@b:e.org"}}',
     400, "M_NOT_JSON"),
    (b'{"user":{"id":"@a:example.org","password":"\xff"}}', 400,
     "M_NOT_JSON"),
]


@pytest.mark.parametrize("raw,code,errcode", BAD_REQUESTS)
def test_bad_requests(signpost, webapp, raw, code, errcode):
    status, hdrs, body = signpost.request(
        "POST", CHECK, raw, {"Content-Type": "application/json"})
    assert (status, body["errcode"]) == (code, errcode)
    assert hdrs["Access-Control-Allow-Origin"] == "*"
    assert webapp.calls() == []


def test_body_over_cap_is_refused(start, webapp):
    d = start("""\
matrix.domain: example.org
server: {port: @PORT@, address: 127.0.0.1, maxBodySize: 1024}
rest: {enabled: true, host: %s}
""" % webapp.url)
    status, _, body = d.request("POST", CHECK, b"{" + b" " * 4096 + b"}")
    assert (status, body["errcode"]) == (413, "M_TOO_LARGE")
    assert webapp.calls() == []
    assert_still_serving(d)


def test_concurrent_checks_share_pooled_connections(signpost, webapp):
    """Many logins wait on the webapp at once without holding threads, and
    the calls reuse keep-alive connections."""
    hold = threading.Event()
    n = 24
    for _ in range(n):
        webapp.reply(AUTH, Reply(200, {"auth": {"success": False}},
                                 hold=hold))
    results = []

    def one():
        results.append(check(signpost)[0])

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    # Wait until every call is parked in the webapp, then release them.
    deadline = time.monotonic() + 5
    while webapp.in_flight < n and time.monotonic() < deadline:
        time.sleep(0.01)
    in_flight = webapp.in_flight
    # While all are parked the daemon still answers other requests.
    assert_still_serving(signpost)
    hold.set()
    for t in threads:
        t.join()
    assert in_flight == n
    assert results == [200] * n
    # A second round reuses the connections the first one opened.
    before = len(webapp.client_ports)
    for _ in range(10):
        webapp.reply(AUTH, Reply(200, {"auth": {"success": False}}))
        check(signpost)
    assert len(webapp.client_ports) == before


def test_synapse_module_contract(signpost, webapp):
    """Reproduces what rest_auth_provider.check_password sends and reads:
    requests.post(json=...), raise_for_status(), r["auth"]["success"], then
    r["auth"]["profile"] indexed, display_name and three_pids[].medium /
    address lowercased."""
    webapp.reply(AUTH, Reply(200, {"auth": {
        "success": True, "id": {"type": "localpart", "value": "john.doe"},
        "profile": {"display_name": "John", "three_pids": [
            {"medium": "email", "address": "John@Example.org"}]}}}))
    status, hdrs, r = signpost.request(
        "POST", CHECK,
        json.dumps({"user": {"id": "@john.doe:example.org",
                             "password": "pw"}}).encode(),
        {"Content-Type": "application/json"})
    assert 200 <= status < 300              # raise_for_status
    assert hdrs["Content-Type"] == "application/json"
    auth = r["auth"]
    assert auth["success"] is True
    profile = auth["profile"]               # KeyError would fail a login
    assert profile["display_name"] == "John"
    for tp in profile["three_pids"]:
        assert tp["medium"].lower() == "email"
        assert tp["address"].lower() == "john@example.org"
