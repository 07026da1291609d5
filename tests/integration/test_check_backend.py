"""`signpost check-backend`: the example webapp passes every check; fake
webapps that get the protocol wrong fail, and the report names the problem
and its fix. The fakes also record what the tool sent, which must be what
the daemon sends."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import BIN, free_port
from fakeapp import FakeWebapp, Reply

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "examples", "backend")

AUTH = "/_mxisd/identity/api/v1/auth"
SINGLE = "/_mxisd/identity/api/v1/lookup/single"
BULK = "/_mxisd/identity/api/v1/lookup/bulk"
LIST = "/_signpost/identity/api/v1/list"

# Every run is bounded by the calls' time limits; this only catches a hang.
RUN_TIMEOUT_S = 60
STARTUP_TIMEOUT_S = 10

SECRET = "Bearer check-backend-test-secret"
PASSWORD = "pw for alice, not to be shown"
ALICE = {"type": "localpart", "value": "alice"}
PROBE = ["--user", "alice", "--email", "alice@example.org",
         "--phone", "15550001111"]
OWNED = {("email", "alice@example.org"): ALICE,
         ("msisdn", "15550001111"): ALICE}


def run(config_text, tmp_path, *args, env_password=None):
    """Runs check-backend on a config; returns (rc, stdout, stderr)."""
    path = tmp_path / "check.yaml"
    path.write_text(config_text)
    env = dict(os.environ)
    env.pop("SIGNPOST_PROBE_PASSWORD", None)
    if env_password is not None:
        env["SIGNPOST_PROBE_PASSWORD"] = env_password
    out = subprocess.run([BIN, "check-backend", "-c", str(path), *args],
                         capture_output=True, text=True, env=env,
                         timeout=RUN_TIMEOUT_S)
    # Under SANITIZE=1 a leak or an overflow only shows on stderr.
    assert "Sanitizer" not in out.stderr, out.stderr
    return out.returncode, out.stdout, out.stderr


def run_json(config_text, tmp_path, *args, env_password=None):
    rc, out, err = run(config_text, tmp_path, "--json", *args,
                       env_password=env_password)
    try:
        report = json.loads(out)
    except ValueError:
        pytest.fail("no JSON report (rc %d):\n%s\n%s" % (rc, out, err))
    counts = report["summary"]
    assert counts["fail"] == sum(c["status"] == "FAIL"
                                 for c in report["checks"])
    assert report["ok"] == (counts["fail"] == 0)
    assert rc == (0 if report["ok"] else 1), err
    return rc, report


def item(report, title):
    found = [c for c in report["checks"] if c["title"].startswith(title)]
    assert found, "no check %r in %s" % (
        title, [c["title"] for c in report["checks"]])
    return found[0]


def text(check, kind=None):
    return "\n".join(l["text"] for l in check["lines"]
                     if kind is None or l["kind"] == kind)


def statuses(report):
    return {c["title"]: c["status"] for c in report["checks"]}


def config(url, extra=""):
    return """\
matrix.domain: example.org
rest:
  enabled: true
  host: "%s"
  connectTimeout: 1000
  timeout: 2000
  headers:
    Authorization: "%s"
  endpoints:
    identity:
      list: %s
%s""" % (url, SECRET, LIST, extra)


# ---- the example webapp -------------------------------------------------

@pytest.fixture(scope="module")
def example_webapp(tmp_path_factory):
    """examples/backend/webapp.py with its demo users, on a free port."""
    log_path = tmp_path_factory.mktemp("example") / "webapp.log"
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, os.path.join(EXAMPLE, "webapp.py"),
             "--users", os.path.join(EXAMPLE, "users.json"),
             "--host", "127.0.0.1", "--port", str(port),
             "--secret", SECRET.split(" ", 1)[1]],
            stdout=log, stderr=log)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        assert proc.poll() is None, open(log_path).read()
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "webapp did not start"
            time.sleep(0.02)
    yield "http://127.0.0.1:%d" % port
    proc.terminate()
    proc.wait(10)


EXAMPLE_PROBE = ["--user", "john.doe", "--email", "john.doe@example.org",
                 "--phone", "+1 555 123 4567"]


def test_example_webapp_passes_every_check(example_webapp, tmp_path):
    rc, report = run_json(config(example_webapp), tmp_path, *EXAMPLE_PROBE,
                          env_password="correct horse")
    assert rc == 0
    assert set(statuses(report).values()) == {"PASS"}, statuses(report)
    assert report["summary"] == {"pass": 8, "warn": 0, "fail": 0,
                                 "skip": 0}
    login = item(report, "auth: @john.doe:example.org's password")
    assert "logged in as @john.doe:example.org" in text(login)
    assert "belongs to @john.doe:example.org" in text(
        item(report, "single: msisdn 15551234567"))
    assert "3 of 5 addresses matched" in text(item(report, "bulk:"))
    assert "5 entries, the last page" in text(item(report, "list:"))


def test_example_webapp_text_report(example_webapp, tmp_path):
    pwfile = tmp_path / "pw"
    pwfile.write_text("correct horse\n")
    rc, out, err = run(config(example_webapp), tmp_path, *EXAMPLE_PROBE,
                       "--password-file", str(pwfile))
    assert (rc, err) == (0, "")
    assert "PASS  auth: @john.doe:example.org's password\n" in out
    assert out.endswith("summary: 8 PASS, 0 WARN, 0 FAIL, 0 SKIP: the "
                        "webapp follows the protocol\n")
    assert "correct horse" not in out


def test_example_webapp_without_probe_data(example_webapp, tmp_path):
    rc, report = run_json(config(example_webapp), tmp_path)
    assert rc == 0
    assert statuses(report) == {
        "auth: a made-up user, a random password": "PASS",
        "single: a made-up address": "PASS",
        "bulk: 2 addresses, all made up": "PASS",
        "list: the first page": "PASS",
    }


def test_wrong_password_fails(example_webapp, tmp_path):
    rc, report = run_json(config(example_webapp), tmp_path, "--user",
                          "@john.doe:example.org",
                          env_password="wrong horse")
    assert rc == 1
    login = item(report, "auth: @john.doe:example.org's password")
    assert login["status"] == "FAIL"
    assert "refused the login of @john.doe:example.org" in text(login)


def test_wrong_shared_secret(example_webapp, tmp_path):
    rc, report = run_json(config(example_webapp).replace(
        SECRET, "Bearer nope"), tmp_path)
    assert rc == 1
    # A 401 from auth is a refusal to the daemon: a warning, not a FAIL.
    made_up = item(report, "auth: a made-up user")
    assert (made_up["status"], made_up["http_status"]) == ("WARN", 401)
    assert "shared secret in rest.headers" in text(made_up)
    single = item(report, "single: a made-up address")
    assert single["status"] == "FAIL"
    assert "HTTP 401: the webapp refused Signpost's request" in \
        text(single, "problem")
    assert "rest.headers (sent: Authorization; values not shown)" in \
        text(single, "fix")


# ---- fake webapps --------------------------------------------------------

def good_auth(j):
    a = j["auth"]
    if a["localpart"] == "alice" and a["password"] == PASSWORD:
        return Reply(200, {"auth": {"success": True, "id": ALICE,
                                    "profile": {"display_name": "Alice"}}})
    return Reply(200, {"auth": {"success": False}})


def owner(e):
    address = e["address"]
    if e["medium"] == "email":
        address = address.lower()
    return OWNED.get((e["medium"], address))


def good_single(j):
    e = j["lookup"]
    return Reply(200, {"lookup": dict(e, id=owner(e))} if owner(e) else {})


def good_bulk(j):
    return Reply(200, {"lookup": [dict(e, id=owner(e)) for e in j["lookup"]
                                  if owner(e)]})


def good_list(j):
    return Reply(200, {"list": [{"medium": m, "address": a, "id": i}
                                for (m, a), i in OWNED.items()]})


@pytest.fixture
def fake(webapp):
    """A fake webapp that gets everything right; tests break one part."""
    webapp.dynamic(AUTH, good_auth)
    webapp.dynamic(SINGLE, good_single)
    webapp.dynamic(BULK, good_bulk)
    webapp.dynamic(LIST, good_list)
    return webapp


def check(fake, tmp_path, *args, extra=""):
    return run_json(config(fake.url, extra), tmp_path, *PROBE, *args,
                    env_password=PASSWORD)


def test_good_fake_passes_and_gets_the_daemons_requests(fake, tmp_path):
    rc, report = check(fake, tmp_path)
    assert set(statuses(report).values()) == {"PASS"}, report
    auths = [r.json["auth"] for r in fake.calls(AUTH)]
    made_up = auths[0]
    assert made_up["localpart"].startswith("signpost-check-")
    assert made_up["mxid"] == "@%s:example.org" % made_up["localpart"]
    assert made_up["domain"] == "example.org"
    assert {"mxid": "@alice:example.org", "localpart": "alice",
            "domain": "example.org", "password": PASSWORD} in auths
    singles = [r.json["lookup"] for r in fake.calls(SINGLE)]
    assert singles[0]["address"].endswith("@invalid.example")
    assert {"medium": "email", "address": "ALICE@EXAMPLE.ORG"} in singles
    bulk = fake.calls(BULK)[0].json["lookup"]
    assert {"medium": "msisdn", "address": "15550001111"} in bulk
    assert fake.calls(LIST)[0].json == {"list": {"limit": 1000}}
    for r in fake.requests:
        assert r.method == "POST"
        assert r.headers["Authorization"] == SECRET
        assert r.headers["Content-Type"] == "application/json"


def failed(report, title):
    c = item(report, title)
    assert c["status"] == "FAIL", c
    return text(c, "problem"), text(c, "fix")


def test_wrong_id_type(fake, tmp_path):
    fake.dynamic(SINGLE, lambda j: Reply(200, {"lookup": dict(
        j["lookup"], id={"type": "email", "value": "alice"})}))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "single: email alice@example.org")
    assert 'lookup.id.type is "email"; expected "localpart" or "mxid"' \
        in problem
    assert 'use "localpart" for a value such as "alice"' in fix
    assert item(report, "bulk:")["status"] == "PASS"


def test_array_instead_of_object(fake, tmp_path):
    fake.dynamic(SINGLE, lambda j: Reply(200, [dict(j["lookup"], id=ALICE)]))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "single: a made-up address")
    assert "the answer is an array; the single endpoint answers an " \
        'object: {"lookup": {...}} for a match, {} for none' in problem
    assert "check that rest.endpoints.identity.single is the single " \
        "endpoint" in fix


def test_server_error(fake, tmp_path):
    fake.dynamic(AUTH, lambda j: Reply(500, "Internal Server Error"))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "auth: a made-up user")
    assert "HTTP 500: the webapp failed" in problem
    assert 'answer a wrong password or unknown user with 200 ' \
        '{"auth":{"success":false}}' in fix
    # One failure is enough to know: the login is not tried as well.
    assert item(report, "auth: @alice")["status"] == "SKIP"


def test_not_found_everywhere(tmp_path, webapp):
    # The fake answers 404 on every path it has no fixture for.
    rc, report = run_json(config(webapp.url + "/wrong-prefix"), tmp_path)
    assert rc == 1
    assert item(report, "auth: a made-up user")["status"] == "WARN"
    assert "a wrong URL gives 404 too" in text(
        item(report, "single: a made-up address"), "warning")
    problem, fix = failed(report, "rest: the endpoints exist")
    assert "every endpoint answered HTTP 404" in problem
    assert "check rest.host (%s/wrong-prefix)" % webapp.url in fix
    problem, fix = failed(report, "list:")
    assert "HTTP 404: no endpoint at %s/wrong-prefix%s" % (webapp.url,
                                                           LIST) in problem


def test_not_found_for_the_probe(fake, tmp_path):
    fake.dynamic(SINGLE, lambda j: Reply(404, {"error": "not found"}))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "single: email alice@example.org")
    assert 'no match for "alice@example.org" (HTTP 404)' in problem
    assert "check rest.host" in fix


def test_redirect(fake, tmp_path):
    target = "https://127.0.0.1:%d%s" % (fake.port, AUTH)
    fake.dynamic(AUTH, lambda j: Reply(301, "", headers={
        "Location": target}))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "auth: a made-up user")
    assert "HTTP 301: a redirect to %s" % target in problem
    assert "Signpost never follows redirects" in text(
        item(report, "auth: a made-up user"), "note")
    assert "the webapp redirects http to https: use https:// in " \
        "rest.host" in fix


def test_invalid_json(fake, tmp_path):
    fake.dynamic(SINGLE, lambda j: Reply(
        200, "<!DOCTYPE html><html><title>Log in</title></html>"))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "single: a made-up address")
    assert "the answer is not JSON (not valid JSON)" in problem
    assert 'the body is HTML; it begins: "<!DOCTYPE html>' in text(
        item(report, "single: a made-up address"), "note")
    assert "exempt these endpoints from sessions and CSRF checks" in fix


def test_slow_answer_past_the_time_limit(fake, tmp_path):
    release = threading.Event()
    # Released once the tool has given up; then it hangs up quietly.
    fake.dynamic(BULK, lambda j: Reply(hold=release, close=True))
    try:
        rc, report = check(fake, tmp_path, "--timeout", "500")
    finally:
        release.set()
    problem, fix = failed(report, "bulk:")
    assert "no complete answer within rest.timeout (500 ms)" in problem
    assert "make the endpoint answer faster" in fix
    assert report["timeout_ms"] == 500


def test_slow_answer_close_to_the_time_limit(fake, tmp_path):
    fake.dynamic(LIST, lambda j: (time.sleep(1.2), good_list(j))[1])
    rc, report = check(fake, tmp_path, "--timeout", "2000")
    assert rc == 0
    c = item(report, "list: the first page")
    assert c["status"] == "WARN"
    assert "rest.timeout is 2000 ms: close" in text(c, "warning")


def test_missing_fields(fake, tmp_path):
    fake.dynamic(BULK, lambda j: Reply(200, {"lookup": [
        {"medium": e["medium"], "id": owner(e)} for e in j["lookup"]
        if owner(e)]}))
    fake.dynamic(LIST, lambda j: Reply(200, {"entries": []}))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "bulk:")
    assert 'lookup[0] lacks "medium" or "address" strings' in problem
    problem, fix = failed(report, "list:")
    assert 'there is no "list" key (keys: "entries")' in problem
    assert 'a webapp with nothing to list answers {"list": []}' in fix


def test_success_without_id(fake, tmp_path):
    fake.dynamic(AUTH, lambda j: Reply(200, {"auth": {"success": True}}))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "auth: a made-up user")
    assert "auth.success is true but auth.id is missing: Signpost cannot " \
        "tell who logged in" in problem
    assert 'add "id": {"type": "localpart", "value": "signpost-check-' in fix
    problem, fix = failed(report, "auth: @alice:example.org")
    assert 'add "id": {"type": "localpart", "value": "alice"}' in fix


def test_accepting_anyone(fake, tmp_path):
    fake.dynamic(AUTH, lambda j: Reply(200, {"auth": {
        "success": True, "id": {"type": "localpart",
                                "value": j["auth"]["localpart"]}}}))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "auth: a made-up user")
    assert "the webapp accepted a made-up user" in problem


def test_success_as_a_string_and_bare_mxid(fake, tmp_path):
    fake.dynamic(AUTH, lambda j: Reply(200, {"auth": {
        "success": "false"}}))
    fake.dynamic(BULK, lambda j: Reply(200, {"lookup": [
        dict(e, id={"type": "mxid", "value": "alice"})
        for e in j["lookup"] if owner(e)]}))
    rc, report = check(fake, tmp_path)
    problem, _ = failed(report, "auth: a made-up user")
    assert 'auth.success is a string ("false"); it must be the JSON ' \
        "boolean true or false, without quotes" in problem
    problem, fix = failed(report, "bulk:")
    assert 'lookup[0].id.value "alice" is a bare localpart, but type ' \
        '"mxid" needs a full user id' in problem
    assert '"@alice:example.org"' in fix


def test_address_not_echoed_is_a_warning(fake, tmp_path):
    # Answers the stored (lowercased) form: the case-changed question
    # goes unanswered, which the daemon survives; it is a warning.
    fake.dynamic(BULK, lambda j: Reply(200, {"lookup": [
        dict(e, address=e["address"].lower(), id=owner(e))
        for e in j["lookup"] if owner(e)]}))
    rc, report = check(fake, tmp_path)
    assert rc == 0
    c = item(report, "bulk:")
    assert c["status"] == "WARN"
    assert 'no match for email "ALICE@EXAMPLE.ORG": lookup[0] answers ' \
        '"alice@example.org" instead, and Signpost pairs answers with ' \
        "questions byte for byte" in text(c, "warning")
    assert "copy medium and address from the request unchanged" in \
        text(c, "fix")


def test_list_cursor_as_a_number(fake, tmp_path):
    fake.dynamic(LIST, lambda j: Reply(200, {"list": [], "next": 1000}))
    rc, report = check(fake, tmp_path)
    problem, fix = failed(report, "list:")
    assert "next is a number (1000); it must be a string or null" in problem
    assert 'send the cursor as a string: "next": "1000"' in fix


def test_list_second_page_is_asked_with_the_cursor(fake, tmp_path):
    def pages(j):
        if j["list"].get("after") is None:
            return Reply(200, {"list": [], "next": "c1"})
        return Reply(200, {"list": [], "next": "c1"})
    fake.dynamic(LIST, pages)
    rc, report = check(fake, tmp_path)
    assert item(report, "list: the first page")["status"] == "PASS"
    problem, fix = failed(report, "list: the second page")
    assert 'next repeats the cursor of the request ("c1")' in problem
    # The first page is asked twice: once through the daemon's engine,
    # once more for its headers (Content-Type, a redirect's target).
    assert [r.json for r in fake.calls(LIST)] == [
        {"list": {"limit": 1000}}, {"list": {"limit": 1000}},
        {"list": {"after": "c1", "limit": 1000}}]


def test_password_is_never_shown(fake, tmp_path):
    # A webapp that echoes what it is sent, in an error, for a real user.
    fake.dynamic(AUTH, lambda j: Reply(500, json.dumps(j))
                 if j["auth"]["localpart"] == "alice" else good_auth(j))
    rc, out, err = run(config(fake.url), tmp_path, *PROBE,
                       env_password=PASSWORD)
    assert rc == 1
    assert PASSWORD not in out + err
    assert "the answer contains the password it was sent; it is not " \
        "shown here" in out


def test_password_echoed_in_keys_and_headers_is_never_shown(fake, tmp_path):
    # Wherever the webapp puts it: a key of its answer, a header.
    fake.dynamic(AUTH, lambda j: Reply(
        200, {"auth": {j["auth"]["password"] + "x": 1}},
        headers={"Content-Type": "text/" + j["auth"]["password"]})
        if j["auth"]["localpart"] == "alice" else good_auth(j))
    for args in ((), ("--json",)):
        rc, out, err = run(config(fake.url), tmp_path, *PROBE, *args,
                           env_password=PASSWORD)
        assert rc == 1
        assert PASSWORD not in out + err


def test_connection_refused(tmp_path):
    rc, report = run_json(config("http://127.0.0.1:%d" % free_port()),
                          tmp_path)
    problem, fix = failed(report, "auth: a made-up user")
    assert "connection refused: nothing listens there" in problem
    assert "start the webapp, or correct the host and port in rest.host" \
        in fix


@pytest.fixture
def https_fake(cert):
    app = FakeWebapp(tls=cert)
    app.dynamic(AUTH, good_auth)
    app.dynamic(SINGLE, good_single)
    app.dynamic(BULK, good_bulk)
    app.dynamic(LIST, good_list)
    yield app
    app.stop()


def test_untrusted_certificate(https_fake, tmp_path):
    rc, report = check(https_fake, tmp_path)
    problem, fix = failed(report, "auth: a made-up user")
    assert problem.startswith("TLS failed: ")
    assert "for a private CA set rest.caFile to its bundle" in fix


def test_private_ca_file(https_fake, tmp_path, cert):
    rc, report = check(https_fake, tmp_path,
                       extra="  caFile: %s\n" % cert[0])
    assert rc == 0, report


def test_rest_disabled(tmp_path):
    rc, report = run_json("matrix.domain: example.org\n", tmp_path)
    problem, fix = failed(report, "rest:")
    assert "rest.enabled is false" in problem
    assert fix == "set rest.enabled: true"


def test_switched_off_endpoints_are_skipped(fake, tmp_path):
    extra = "rest.endpoints.identity.bulk: ''\n"
    rc, report = run_json(config(fake.url, extra).replace(
        "      list: %s\n" % LIST, ""), tmp_path)
    assert rc == 0
    assert item(report, "bulk endpoint")["status"] == "SKIP"
    assert "the optional list endpoint is off" in text(
        item(report, "list endpoint"))
    assert fake.calls(BULK) == [] and fake.calls(LIST) == []


class HtmlTypedHandler(BaseHTTPRequestHandler):
    """Right answers with the wrong Content-Type, as PHP sends by
    default."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"auth": {"success": false}}' if self.path == AUTH \
            else b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_content_type_is_a_warning(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), HtmlTypedHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rc, report = run_json(config(
            "http://127.0.0.1:%d" % server.server_address[1]).replace(
                "      list: %s\n" % LIST, ""), tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert rc == 0
    c = item(report, "single: a made-up address")
    assert c["status"] == "WARN"
    assert text(c, "warning") == 'Content-Type is "text/html; ' \
        'charset=UTF-8"; send application/json'


@pytest.mark.parametrize("args, message", [
    ([], "usage: signpost check-backend -c FILE"),
    (["-c", "x.yaml", "--password", "pw"], "a password needs --user"),
    (["-c", "x.yaml", "--phone", "call me"], "--phone: digits only"),
    (["-c", "x.yaml", "--timeout", "0"], "--timeout: milliseconds"),
    (["-c", "x.yaml", "--user", "@nope"], "--user: neither a user id"),
])
def test_usage_errors(tmp_path, args, message):
    (tmp_path / "x.yaml").write_text("matrix.domain: example.org\n")
    out = subprocess.run([BIN, "check-backend", *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 2
    assert message in out.stderr
    assert "pw" not in out.stdout


def test_config_errors_exit_1(tmp_path):
    rc, out, err = run("server.port: 99999\n", tmp_path)
    assert rc == 1
    assert "server.port: must be an integer from 1 to 65535" in err
