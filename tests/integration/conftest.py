"""Fixtures: a fake webapp, and the real daemon started on a free port from
an inline config."""

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from fakeapp import FakeWebapp, Reply

BIN = os.environ.get("SIGNPOST_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "signpost")

# How long a daemon may take to start listening or to stop.
START_DEADLINE_S = 10
STOP_DEADLINE_S = 15


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, config_text, tmpdir):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.config_path = os.path.join(tmpdir, "signpost.yaml")
        self.log_path = os.path.join(tmpdir, "signpost.log")
        text = config_text.replace("@PORT@", str(self.port))
        if "key" not in text.split("\n", 1)[0] and "\nkey" not in text:
            # Next to the config, in the test's own folder.
            text += "\nkey.path: signing.key\n"
        if "storage" not in text:
            text += "\nstorage.provider.sqlite.database: signpost.db\n"
        with open(self.config_path, "w") as f:
            f.write(text)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([BIN, "-c", self.config_path],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("signpost exited at start:\n" +
                                   self.logs())
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("signpost did not listen:\n" +
                                       self.logs())
                time.sleep(0.02)

    def logs(self):
        if not self.log.closed:  # still running
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("signpost did not stop on SIGTERM")
        self.log.close()
        return self.proc.returncode

    def request(self, method, path, body=None, headers=None, timeout=10):
        """Returns (status, headers, parsed JSON or raw bytes)."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, hdrs, raw = r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, dict(e.headers), e.read()
        try:
            return status, hdrs, json.loads(raw)
        except ValueError:
            return status, hdrs, raw


@pytest.fixture
def webapp():
    app = FakeWebapp()
    yield app
    app.stop()


# The first lines of most test configs: the domain, and the daemon on
# loopback at the port Daemon picks.
HEAD = """\
matrix.domain: example.org
server: {port: @PORT@, address: 127.0.0.1}
"""

BASE_CONFIG = """\
matrix:
  domain: example.org
server:
  port: @PORT@
  address: 127.0.0.1
rest:
  enabled: true
  host: {host}
  connectTimeout: 1000
  timeout: {timeout}
logging:
  level: debug
"""


@pytest.fixture
def start(tmp_path):
    """start(config_text) -> Daemon; stopped (and checked) at teardown."""
    daemons = []

    def _start(text):
        d = Daemon(text, str(tmp_path))
        daemons.append(d)
        return d

    yield _start
    for d in daemons:
        rc = d.stop()
        assert rc == 0, "signpost exited with %s:\n%s" % (rc, d.logs())


@pytest.fixture
def signpost(start, webapp):
    """The daemon on the fake webapp with default endpoints, 1 s timeout."""
    return start(BASE_CONFIG.format(host=webapp.url, timeout=1000))


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certfile, keyfile)."""
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "server.crt", d / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    return str(crt), str(key)


# Identity Service v2 paths, and the webapp endpoints Signpost calls for it.
BULK = "/_mxisd/identity/api/v1/lookup/bulk"
LIST = "/_signpost/identity/api/v1/list"
V2 = "/_matrix/identity/v2"
USERINFO = "/_matrix/federation/v1/openid/userinfo?access_token="


@pytest.fixture
def homeserver(cert):
    """A fake HTTPS homeserver; .name is its server name (IP and port)."""
    hs = FakeWebapp(tls=cert)
    hs.name = "127.0.0.1:%d" % hs.port
    yield hs
    hs.stop()


def sha256_b64(address, medium, pepper):
    digest = hashlib.sha256(("%s %s %s" % (address, medium, pepper))
                            .encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def serve_listing(webapp, entries):
    """A paging listing endpoint over entries, two per page."""
    def answer(j):
        start = int(j["list"].get("after") or 0)
        page = entries[start:start + 2]
        nxt = str(start + 2) if start + 2 < len(entries) else None
        return Reply(200, {"list": page, "next": nxt})
    webapp.dynamic(LIST, answer)


def wait_for_log(d, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in d.logs():
        assert time.monotonic() < deadline, "no %r in logs" % text
        time.sleep(0.02)
