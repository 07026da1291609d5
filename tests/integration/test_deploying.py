"""docs/deploying.md, checked: its nginx snippets pass `nginx -t` and,
run by a real nginx in front of real Signpost instances, publish
/_matrix/identity/ and nothing else; its Element config is JSON; and what
it says about several instances (one signing key, v2 state per instance,
a health check that does not touch the webapp) holds. The nginx part is
skipped, loudly, when nginx is not installed."""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import warnings

import pytest

from conftest import Daemon, free_port
from fakeapp import FakeWebapp, Reply

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
AUTH = "/_mxisd/identity/api/v1/auth"
SINGLE = "/_mxisd/identity/api/v1/lookup/single"
CHECK = "/_matrix-internal/identity/v1/check_credentials"
V2 = "/_matrix/identity/v2"
USERINFO = "/_matrix/federation/v1/openid/userinfo?access_token="


def doc():
    with open(os.path.join(ROOT, "docs", "deploying.md")) as f:
        return f.read()


def code_blocks(text, lang):
    """The fenced blocks of one language, each without its indentation."""
    found = []
    for m in re.finditer(r"^( *)```%s\n(.*?)^\1```" % lang, text,
                         re.M | re.S):
        indent = len(m.group(1))
        found.append("".join(l[indent:] + "\n" for l in
                             m.group(2).splitlines()))
    return found


def nginx_block(first_words):
    """The doc's nginx block whose first comment starts with first_words."""
    blocks = [b for b in code_blocks(doc(), "nginx")
              if b.startswith("# " + first_words)]
    assert len(blocks) == 1, first_words
    return blocks[0]


def swap(text, old, new):
    """Replaces old with new, insisting that the doc still has old."""
    assert old in text, "docs/deploying.md no longer has %r" % old
    return text.replace(old, new)


def config(webapp, key, extra=""):
    return """\
matrix.domain: example.org
server: {port: @PORT@, address: 127.0.0.1}
rest: {enabled: true, host: "%s"}
key.path: %s
storage.provider.sqlite.database: signpost.db
federation: {tlsVerify: false, allowPrivateAddresses: true}
%s""" % (webapp.url, key, extra)


def get(url, method="GET", body=None, ctx=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            status, hdrs, raw = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, dict(e.headers), e.read()
    try:
        return status, hdrs, json.loads(raw)
    except ValueError:
        return status, hdrs, raw


def register(base, hs, token, ctx=None):
    hs.always(USERINFO + token, Reply(200, {"sub": "@alice:%s" % hs.name}))
    status, _, body = get(base + V2 + "/account/register", "POST", {
        "access_token": token, "token_type": "Bearer",
        "matrix_server_name": hs.name, "expires_in": 3600}, ctx)
    assert status == 200, body
    return body["token"]


def bearer(token):
    return {"Authorization": "Bearer " + token}


@pytest.fixture
def homeserver(cert):
    hs = FakeWebapp(tls=cert)
    hs.name = "127.0.0.1:%d" % hs.port
    yield hs
    hs.stop()


@pytest.fixture
def instances(tmp_path, webapp):
    """start(name, key) -> a Daemon in its own folder; all stopped after."""
    started = []

    def _start(name, key):
        folder = tmp_path / name
        folder.mkdir()
        d = Daemon(config(webapp, key), str(folder))
        started.append(d)
        return d

    yield _start
    for d in started:
        assert d.stop() == 0, d.logs()


def pubkey(d):
    status, _, body = d.request("GET", "/_matrix/identity/api/v1/pubkey/"
                                "ed25519:0")
    assert status == 200
    return body["public_key"]


def test_instances_need_one_signing_key(instances, tmp_path):
    a = instances("a", str(tmp_path / "a.key"))
    b = instances("b", str(tmp_path / "b.key"))
    # Each made a key of its own, published under the same id.
    assert pubkey(a) != pubkey(b)
    # Copied before its first start, the file makes the same key.
    shutil.copy(tmp_path / "a.key", tmp_path / "c.key")
    os.chmod(tmp_path / "c.key", 0o600)
    c = instances("c", str(tmp_path / "c.key"))
    assert pubkey(c) == pubkey(a)


def test_v2_state_is_per_instance(instances, tmp_path, homeserver, webapp):
    key = str(tmp_path / "signing.key")
    a = instances("a", key)
    b = instances("b", key)
    token = register(a.base, homeserver, "tok-a")
    status, _, body = a.request("GET", V2 + "/account",
                                headers=bearer(token))
    assert status == 200
    status, _, body = b.request("GET", V2 + "/account",
                                headers=bearer(token))
    assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED")
    # Registered on both, the pepper from one is refused by the other.
    token_b = register(b.base, homeserver, "tok-b")
    _, _, details = a.request("GET", V2 + "/hash_details",
                              headers=bearer(token))
    status, _, body = b.request("POST", V2 + "/lookup", {
        "algorithm": "none", "pepper": details["lookup_pepper"],
        "addresses": ["alice@example.org email"]}, bearer(token_b))
    assert (status, body["errcode"]) == (400, "M_INVALID_PEPPER")
    text = doc()
    for quoted in ["401 M_UNAUTHORIZED", "400\n  M_INVALID_PEPPER"]:
        assert quoted in text


def test_versions_is_a_health_check_without_the_webapp(instances, webapp,
                                                        tmp_path):
    d = instances("a", str(tmp_path / "signing.key"))
    for _ in range(3):
        assert d.request("GET", "/_matrix/identity/versions")[0] == 200
    assert webapp.calls() == []
    assert "`GET /_matrix/identity/versions` makes a cheap health check" \
        in doc()


def test_element_config_is_json():
    [element] = [json.loads(b) for b in code_blocks(doc(), "json")]
    assert element["default_server_config"]["m.identity_server"] == \
        {"base_url": "https://matrix.example.org"}


def test_synapse_snippets():
    yaml = code_blocks(doc(), "yaml")
    provider = [b for b in yaml if b.startswith("password_providers:")]
    assert provider == ['''password_providers:
  - module: "rest_auth_provider.RestAuthProvider"
    config:
      endpoint: "http://127.0.0.1:8090"
''']
    assert 'default_identity_server: "https://matrix.example.org"\n' in yaml


# ---- nginx in front of real instances --------------------------------

def wait_port(port, proc, log):
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            with open(log) as f:
                raise RuntimeError("nginx exited:\n" + f.read())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.02)


@pytest.fixture
def stack(tmp_path, cert, webapp, homeserver, instances):
    """nginx from the doc's snippets, in front of instances a and b (one
    key): .ports maps each snippet to the port it listens on here."""
    nginx = shutil.which("nginx")
    if nginx is None:
        # A warning too, so that `pytest -q` shows it in its summary.
        reason = "!!! nginx is missing: the reverse proxy snippets of " \
            "docs/deploying.md were NOT run (apt-get install nginx)"
        warnings.warn(reason)
        pytest.skip(reason)
    key = str(tmp_path / "signing.key")
    a = instances("a", key)
    b = instances("b", key)
    crt, crtkey = cert
    ports = {n: free_port() for n in ["synapse", "own", "domain", "lb",
                                      "internal"]}
    up = "http://127.0.0.1:8090"

    same_host = swap(nginx_block("Inside the server block"), up,
                     "http://127.0.0.1:%d" % a.port)
    own = nginx_block("A name of its own")
    own = swap(own, up, "http://127.0.0.1:%d" % a.port)
    own = swap(own, "    listen [::]:443 ssl;\n", "")
    lb = nginx_block("Several Signpost instances")
    lb = swap(lb, "10.0.0.11:8090", "127.0.0.1:%d" % a.port)
    lb = swap(lb, "10.0.0.12:8090", "127.0.0.1:%d" % b.port)
    lb = swap(lb, "listen 10.0.0.10:8090;",
              "listen 127.0.0.1:%d;" % ports["internal"])
    lb = swap(lb, "allow 10.0.0.5;", "allow 127.0.0.1;")
    own = swap(own, "listen 443 ssl;", "listen 127.0.0.1:%d ssl;"
               % ports["own"])
    lb = swap(lb, "listen 443 ssl;", "listen 127.0.0.1:%d ssl;"
              % ports["lb"])
    live = "/etc/letsencrypt/live/identity.example.org/"
    own = swap(swap(own, live + "fullchain.pem", crt), live + "privkey.pem",
               crtkey)
    lb = swap(swap(lb, live + "fullchain.pem", crt), live + "privkey.pem",
              crtkey)
    well_known = nginx_block("In the server block of example.org")
    temp = "".join("    %s_temp_path %s/%s;\n" % (t, tmp_path, t) for t in
                   ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
    conf = tmp_path / "nginx.conf"
    conf.write_text("""\
%(user)sworker_processes 1;
daemon off;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log;
events { worker_connections 64; }
http {
    access_log off;
%(temp)s
    # Synapse's server block, with Synapse stood in for by a 418.
    server {
        listen 127.0.0.1:%(synapse)d;
        location /_matrix {
            return 418;
        }
%(same_host)s
    }
%(own)s
    server {
        listen 127.0.0.1:%(domain)d;
%(well_known)s
    }
%(lb)s
}
""" % dict(ports, tmp=tmp_path, temp=temp, same_host=same_host, own=own,
           well_known=well_known, lb=lb,
           user="user root;\n" if os.geteuid() == 0 else ""))
    log = str(tmp_path / "nginx.log")
    test = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c",
                           str(conf), "-e", log], capture_output=True,
                          text=True, timeout=30)
    assert test.returncode == 0, test.stderr
    assert "test is successful" in test.stderr
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf),
                             "-e", log], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for p in ports.values():
            wait_port(p, proc, log)
        ctx = ssl.create_default_context(cafile=crt)

        class Stack:
            pass
        s = Stack()
        s.url = {n: ("https" if n in ("own", "lb") else "http") +
                 "://127.0.0.1:%d" % p for n, p in ports.items()}
        s.ctx, s.a, s.b = ctx, a, b
        yield s
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def from_signpost(status, body):
    """Signpost answers JSON with an errcode; nginx's own pages are HTML."""
    return isinstance(body, (dict, list))


def test_same_host_location(stack, webapp):
    base = stack.url["synapse"]
    status, _, body = get(base + "/_matrix/identity/versions")
    assert status == 200 and "versions" in body
    # The rest of /_matrix/ still goes to Synapse, and so would
    # /_matrix-internal/: Signpost never sees it.
    assert get(base + "/_matrix/client/versions")[0] == 418
    assert get(base + CHECK, "POST", {"user": {}})[0] == 418
    assert webapp.calls(AUTH) == []


def test_own_name_publishes_the_identity_api_only(stack, webapp):
    base = stack.url["own"]
    status, hdrs, body = get(base + "/_matrix/identity/versions",
                             ctx=stack.ctx)
    assert status == 200 and "versions" in body
    assert hdrs["Access-Control-Allow-Origin"] == "*"
    for method, path in [("POST", CHECK), ("GET", "/_signpost/metrics"),
                         ("GET", "/status"), ("GET", "/")]:
        status, _, body = get(base + path, method,
                              {"user": {"id": "@a:example.org",
                                        "password": "p"}}
                              if method == "POST" else None, stack.ctx)
        assert status == 404 and not from_signpost(status, body), path
    assert webapp.calls(AUTH) == []
    # The request line reaches Signpost as sent: %2B stays a plus.
    webapp.always(SINGLE, Reply(200, {}))
    status, _, _ = get(base + "/_matrix/identity/api/v1/lookup?medium=email"
                       "&address=jane%2Bmatrix%40example.org", ctx=stack.ctx)
    assert status == 200
    [call] = webapp.calls(SINGLE)
    assert call.json["lookup"]["address"] == "jane+matrix@example.org"


def test_well_known(stack):
    status, hdrs, body = get(stack.url["domain"] +
                             "/.well-known/matrix/client")
    assert status == 200
    assert hdrs["Content-Type"] == "application/json"
    assert hdrs["Access-Control-Allow-Origin"] == "*"
    assert body == {"m.homeserver": {"base_url": "https://matrix.example.org"},
                    "m.identity_server":
                    {"base_url": "https://matrix.example.org"}}


def test_load_balancer(stack, webapp, homeserver):
    base = stack.url["lb"]
    keys = set()
    for _ in range(4):
        status, _, body = get(base + "/_matrix/identity/api/v1/pubkey/"
                              "ed25519:0", ctx=stack.ctx)
        assert status == 200
        keys.add(body["public_key"])
    assert keys == {pubkey(stack.a)} == {pubkey(stack.b)}
    # v2 goes to the first instance only.
    for n in range(3):
        token = register(base, homeserver, "tok-%d" % n, stack.ctx)
        assert stack.a.request("GET", V2 + "/account",
                               headers=bearer(token))[0] == 200
        assert stack.b.request("GET", V2 + "/account",
                               headers=bearer(token))[0] == 401
    # Password checks: through the internal listener, not the public one.
    webapp.always(AUTH, Reply(200, {"auth": {"success": False}}))
    check = {"user": {"id": "@alice:example.org", "password": "p"}}
    status, _, body = get(base + CHECK, "POST", check, stack.ctx)
    assert status == 404 and not from_signpost(status, body)
    assert webapp.calls(AUTH) == []
    status, _, body = get(stack.url["internal"] + CHECK, "POST", check)
    assert (status, body["auth"]["success"]) == (200, False)
    assert len(webapp.calls(AUTH)) == 1
