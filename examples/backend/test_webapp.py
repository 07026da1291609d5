"""Tests for the example webapp (examples/backend/webapp.py).

    /usr/bin/python3 -m pytest examples/backend/test_webapp.py

Starts webapp.py with the demo users.json on a free loopback port and
checks the exact JSON it answers. The demo passwords are the ones given in
README.md.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
WEBAPP = os.path.join(HERE, "webapp.py")
USERS = os.path.join(HERE, "users.json")
SECRET = "test-secret-4b1d"

AUTH = "/_mxisd/identity/api/v1/auth"
SINGLE = "/_mxisd/identity/api/v1/lookup/single"
BULK = "/_mxisd/identity/api/v1/lookup/bulk"
LIST = "/_signpost/identity/api/v1/list"

STARTUP_TIMEOUT = 10.0  # seconds; startup normally takes ~0.1 s

sys.path.insert(0, HERE)
import webapp  # noqa: E402  (for the password helpers)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc, port, log_path):
    """Poll until the port accepts connections or the process dies."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path) as f:
                pytest.fail("webapp exited with %s:\n%s"
                            % (proc.returncode, f.read()))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    pytest.fail("webapp did not start listening within %ss"
                % STARTUP_TIMEOUT)


def start_webapp(tmp_path, extra_args=(), env=None):
    port = free_port()
    log_path = tmp_path / ("webapp-%d.log" % port)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, WEBAPP, "--users", USERS, "--host", "127.0.0.1",
         "--port", str(port), *extra_args],
        stdout=log, stderr=log, env=env)
    log.close()
    wait_listening(proc, port, log_path)
    return proc, port, log_path


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Client:
    """One kept-alive HTTP/1.1 connection to the webapp."""

    def __init__(self, port, token=SECRET):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        self.token = token

    def call(self, path, body, method="POST", token=None, raw=None):
        token = self.token if token is None else token
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = raw if raw is not None else json.dumps(body).encode("utf-8")
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        payload = resp.read()
        assert resp.getheader("Content-Type") == "application/json"
        assert int(resp.getheader("Content-Length")) == len(payload)
        return resp.status, json.loads(payload)

    def close(self):
        self.conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webapp")
    proc, port, log_path = start_webapp(tmp, ["--secret", SECRET])
    yield port, log_path
    stop(proc)


@pytest.fixture
def client(server):
    c = Client(server[0])
    yield c
    c.close()


def auth_body(localpart, password, domain="example.org"):
    return {"auth": {"mxid": "@%s:%s" % (localpart, domain),
                     "localpart": localpart, "domain": domain,
                     "password": password}}


JOHN_OK = {"auth": {
    "success": True,
    "id": {"type": "localpart", "value": "john.doe"},
    "profile": {
        "display_name": "John Doe",
        "three_pids": [
            {"medium": "email", "address": "john.doe@example.org"},
            {"medium": "msisdn", "address": "15551234567"},
        ]}}}
REFUSED = {"auth": {"success": False}}


# --- auth -------------------------------------------------------------------

def test_auth_correct_password(client):
    assert client.call(AUTH, auth_body("john.doe", "correct horse")) == \
        (200, JOHN_OK)


def test_auth_localpart_is_case_insensitive(client):
    assert client.call(AUTH, auth_body("John.Doe", "correct horse")) == \
        (200, JOHN_OK)


def test_auth_wrong_password(client):
    assert client.call(AUTH, auth_body("john.doe", "Correct horse")) == \
        (200, REFUSED)


def test_auth_unknown_user(client):
    assert client.call(AUTH, auth_body("nobody", "correct horse")) == \
        (200, REFUSED)


def test_auth_other_domain(client):
    body = auth_body("john.doe", "correct horse", domain="other.org")
    assert client.call(AUTH, body) == (200, REFUSED)


def test_auth_answers_mxid_type(client):
    assert client.call(AUTH, auth_body("ext", "ext-pass")) == (200, {"auth": {
        "success": True,
        "id": {"type": "mxid", "value": "@ext:other.example"},
        "profile": {
            "display_name": "External Partner",
            "three_pids": [{"medium": "email",
                            "address": "ext@other.example"}]}}})


def test_auth_jane(client):
    status, answer = client.call(AUTH, auth_body("jane", "secret-jane"))
    assert status == 200
    assert answer["auth"]["success"] is True
    assert answer["auth"]["id"] == {"type": "localpart", "value": "jane"}


@pytest.mark.parametrize("body", [
    {},
    {"auth": "john.doe"},
    {"auth": {"localpart": "john.doe", "domain": "example.org"}},
    {"auth": {"localpart": 1, "domain": "example.org", "password": "x"}},
])
def test_auth_malformed(client, body):
    status, answer = client.call(AUTH, body)
    assert status == 400
    assert isinstance(answer["error"], str)


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe{}"])
def test_not_a_json_object(client, raw):
    status, answer = client.call(SINGLE, None, raw=raw)
    assert status == 400
    assert "error" in answer


# --- single lookup ----------------------------------------------------------

def single(medium, address):
    return {"lookup": {"medium": medium, "address": address}}


def test_single_email_hit_echoes_address_as_sent(client):
    assert client.call(SINGLE, single("email", "John.Doe@Example.ORG")) == \
        (200, {"lookup": {"medium": "email",
                          "address": "John.Doe@Example.ORG",
                          "id": {"type": "localpart", "value": "john.doe"}}})


def test_single_email_with_plus(client):
    assert client.call(SINGLE, single("email", "jane+matrix@example.org")) \
        == (200, {"lookup": {"medium": "email",
                             "address": "jane+matrix@example.org",
                             "id": {"type": "localpart", "value": "jane"}}})


def test_single_msisdn_hit(client):
    assert client.call(SINGLE, single("msisdn", "15551234567")) == \
        (200, {"lookup": {"medium": "msisdn", "address": "15551234567",
                          "id": {"type": "localpart",
                                 "value": "john.doe"}}})


def test_single_mxid_type(client):
    assert client.call(SINGLE, single("email", "ext@other.example")) == \
        (200, {"lookup": {"medium": "email", "address": "ext@other.example",
                          "id": {"type": "mxid",
                                 "value": "@ext:other.example"}}})


@pytest.mark.parametrize("medium,address", [
    ("email", "nobody@example.org"),
    ("email", "jane matrix@example.org"),  # a '+' turned into a space
    ("msisdn", "+15551234567"),            # msisdn is compared as given
    ("msisdn", "john.doe@example.org"),    # right address, wrong medium
])
def test_single_miss(client, medium, address):
    assert client.call(SINGLE, single(medium, address)) == (200, {})


def test_single_malformed(client):
    status, _ = client.call(SINGLE, {"lookup": {"medium": "email"}})
    assert status == 400


# --- bulk lookup ------------------------------------------------------------

def test_bulk_returns_matches_only_in_order(client):
    body = {"lookup": [
        {"medium": "email", "address": "jane@example.org"},
        {"medium": "email", "address": "nobody@example.org"},
        {"medium": "msisdn", "address": "15551234567"},
        {"medium": "email", "address": "EXT@other.example"},
    ]}
    assert client.call(BULK, body) == (200, {"lookup": [
        {"medium": "email", "address": "jane@example.org",
         "id": {"type": "localpart", "value": "jane"}},
        {"medium": "msisdn", "address": "15551234567",
         "id": {"type": "localpart", "value": "john.doe"}},
        {"medium": "email", "address": "EXT@other.example",
         "id": {"type": "mxid", "value": "@ext:other.example"}},
    ]})


def test_bulk_no_match(client):
    body = {"lookup": [{"medium": "email", "address": "nobody@example.org"}]}
    assert client.call(BULK, body) == (200, {"lookup": []})


def test_bulk_empty(client):
    assert client.call(BULK, {"lookup": []}) == (200, {"lookup": []})


@pytest.mark.parametrize("body", [
    {"lookup": {"medium": "email", "address": "jane@example.org"}},
    {"lookup": [{"medium": "email"}]},
    {"lookup": ["jane@example.org"]},
])
def test_bulk_malformed(client, body):
    status, _ = client.call(BULK, body)
    assert status == 400


# --- list -------------------------------------------------------------------

# Every 3PID of the demo users.json, in the order the webapp lists them.
ALL_3PIDS = [
    {"medium": "email", "address": "john.doe@example.org",
     "id": {"type": "localpart", "value": "john.doe"}},
    {"medium": "msisdn", "address": "15551234567",
     "id": {"type": "localpart", "value": "john.doe"}},
    {"medium": "email", "address": "jane@example.org",
     "id": {"type": "localpart", "value": "jane"}},
    {"medium": "email", "address": "jane+matrix@example.org",
     "id": {"type": "localpart", "value": "jane"}},
    {"medium": "email", "address": "ext@other.example",
     "id": {"type": "mxid", "value": "@ext:other.example"}},
]


def list_body(limit=None, after=None):
    req = {}
    if limit is not None:
        req["limit"] = limit
    if after is not None:
        req["after"] = after
    return {"list": req}


def page_through(client, limit):
    """Follow "next" from the first page to the last, as Signpost does."""
    pages, after = [], None
    while True:
        status, answer = client.call(LIST, list_body(limit, after))
        assert status == 200
        assert set(answer) <= {"list", "next"}
        pages.append(answer["list"])
        if answer.get("next") is None:
            return pages
        assert isinstance(answer["next"], str) and answer["next"]
        assert answer["next"] != after
        after = answer["next"]


def test_list_pages_through_everything_with_limit_2(client):
    pages = page_through(client, 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [e for p in pages for e in p] == ALL_3PIDS


def test_list_first_page_and_cursors(client):
    assert client.call(LIST, list_body(2)) == \
        (200, {"list": ALL_3PIDS[:2], "next": "2"})
    assert client.call(LIST, list_body(2, "2")) == \
        (200, {"list": ALL_3PIDS[2:4], "next": "4"})
    # The last page has no "next" at all.
    assert client.call(LIST, list_body(2, "4")) == \
        (200, {"list": ALL_3PIDS[4:]})
    # The same cursor gives the same page again: paging can be retried.
    assert client.call(LIST, list_body(2, "2")) == \
        (200, {"list": ALL_3PIDS[2:4], "next": "4"})


def test_list_one_page_when_the_limit_is_large(client):
    assert client.call(LIST, list_body(1000)) == (200, {"list": ALL_3PIDS})
    # No limit: the webapp's own maximum.
    assert client.call(LIST, list_body()) == (200, {"list": ALL_3PIDS})
    # "after": null is the first page, like no "after".
    assert client.call(LIST, {"list": {"after": None, "limit": 1}}) == \
        (200, {"list": ALL_3PIDS[:1], "next": "1"})


def test_list_cursor_at_the_end_is_an_empty_last_page(client):
    assert client.call(LIST, list_body(2, str(len(ALL_3PIDS)))) == \
        (200, {"list": []})


def test_list_agrees_with_single_lookups(client):
    for entry in page_through(client, 3)[0]:
        status, answer = client.call(SINGLE, single(entry["medium"],
                                                    entry["address"]))
        assert (status, answer["lookup"]) == (200, entry)


@pytest.mark.parametrize("body", [
    {},
    {"list": None},
    {"list": []},
    {"list": "all"},
    {"lookup": [{"medium": "email", "address": "jane@example.org"}]},
    list_body(0),
    list_body(-1),
    list_body(2.5),
    list_body("2"),
    list_body(True),
    list_body(2, 2),
    list_body(2, ""),
    list_body(2, "x"),
    list_body(2, "-1"),
    list_body(2, "1e3"),
    list_body(2, "\u0662"),  # an Arabic-Indic digit two: not our cursor
    list_body(2, "6"),       # past the end
    list_body(2, "99999999999999999999"),
])
def test_list_bad_requests(client, body):
    status, answer = client.call(LIST, body)
    assert status == 400
    assert "error" in answer


def test_list_needs_the_secret(client):
    assert client.call(LIST, list_body(2), token="wrong")[0] == 401


def test_list_caps_pages_at_list_max(tmp_path):
    # 1201 users with one email each, loaded straight into a Directory.
    users = [{"localpart": "u%d" % i, "password": "x",
              "threepids": [{"medium": "email",
                             "address": "U%d@Example.org" % i}]}
             for i in range(1201)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"users": users}))
    directory = webapp.Directory(str(path))

    status, answer, _ = webapp.handle_list(directory, list_body(5000))
    assert status == 200
    assert len(answer["list"]) == webapp.LIST_MAX == 1000
    assert answer["next"] == "1000"
    # Emails are listed lowercased: the form clients hash.
    assert answer["list"][0]["address"] == "u0@example.org"
    status, answer, _ = webapp.handle_list(directory, list_body(5000, "1000"))
    assert len(answer["list"]) == 201
    assert "next" not in answer
    assert answer["list"][-1] == {
        "medium": "email", "address": "u1200@example.org",
        "id": {"type": "localpart", "value": "u1200"}}


# --- HTTP behaviour ---------------------------------------------------------

def test_unknown_path(client):
    assert client.call("/nope", {}) == (404, {"error": "no such endpoint"})


def test_wrong_method(client):
    assert client.call(AUTH, None, method="GET", raw=b"") == \
        (405, {"error": "use POST"})


@pytest.mark.parametrize("token", ["", "wrong", SECRET + "x"])
def test_secret_enforced(client, token):
    status, answer = client.call(SINGLE, single("email", "jane@example.org"),
                                 token=token)
    assert status == 401
    assert answer == {"error": "missing or wrong bearer token"}


def test_connection_is_kept_alive(server):
    c = Client(server[0])
    try:
        c.call(SINGLE, single("email", "jane@example.org"))
        sock = c.conn.sock
        assert sock is not None
        # A refused request must not cost the connection either.
        c.call(SINGLE, single("email", "jane@example.org"), token="wrong")
        c.call(BULK, {"lookup": []})
        assert c.conn.sock is sock
    finally:
        c.close()


def test_log_has_no_passwords(server, client):
    client.call(AUTH, auth_body("john.doe", "correct horse"))
    client.call(AUTH, auth_body("john.doe", "a-wrong-password"))
    with open(server[1]) as f:
        log = f.read()
    assert "auth john.doe: success" in log
    assert "correct horse" not in log
    assert "a-wrong-password" not in log


def test_no_secret_from_env(tmp_path):
    """WEBAPP_SECRET works like --secret; without either, no token needed."""
    env = dict(os.environ, WEBAPP_SECRET="from-env")
    proc, port, _ = start_webapp(tmp_path, env=env)
    try:
        c = Client(port, token="from-env")
        assert c.call(BULK, {"lookup": []}) == (200, {"lookup": []})
        assert c.call(BULK, {"lookup": []}, token="")[0] == 401
        c.close()
    finally:
        stop(proc)

    env = {k: v for k, v in os.environ.items() if k != "WEBAPP_SECRET"}
    proc, port, _ = start_webapp(tmp_path, env=env)
    try:
        c = Client(port, token="")
        assert c.call(BULK, {"lookup": []}) == (200, {"lookup": []})
        c.close()
    finally:
        stop(proc)


# --- password hashes --------------------------------------------------------

def test_hash_password_script_round_trip():
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "hash_password.py")],
        input="  spaces count \n", capture_output=True, text=True,
        check=True, timeout=10).stdout.strip()
    assert out.startswith("scrypt$16384$8$1$")
    assert webapp.verify_password("  spaces count ", out)
    assert not webapp.verify_password("spaces count", out)


def test_verify_rejects_damaged_hashes():
    assert not webapp.verify_password("x", "")
    assert not webapp.verify_password("x", "plain-text-password")
    assert not webapp.verify_password("x", "scrypt$16384$8$1$!!$!!")
