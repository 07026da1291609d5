#!/usr/bin/python3
"""Instructions per request, counted by valgrind's callgrind: a figure that
does not move with the machine's load, for catching regressions on the hot
paths.

Signpost runs under callgrind twice against the example webapp, once
answering N1 and once N2 requests of each kind over one keep-alive
connection; (I2 - I1) / (N2 - N1) is the cost of one request, start-up and
shut-down cancelling out. Kinds: a cached v1 lookup (signed answer reused),
a cached v2 `none` lookup, and an uncached v1 lookup (one webapp call).

Usage: bench/callgrind.py [path/to/signpost]   (default build/signpost)
Needs valgrind. Prints a markdown table.
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEBAPP = os.path.join(ROOT, "examples", "backend", "webapp.py")
USERS = os.path.join(ROOT, "examples", "backend", "users.json")
N1, N2 = 200, 1200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError("process exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("port %d never opened" % port)
            time.sleep(0.05)


def requests_for(kind, n):
    """(method, path, body) for the i-th request of a kind."""
    for i in range(n):
        if kind == "v1 lookup, cached":
            yield ("GET", "/_matrix/identity/api/v1/lookup?medium=email"
                   "&address=john.doe@example.org", None)
        elif kind == "v1 lookup, webapp call":
            yield ("GET", "/_matrix/identity/api/v1/lookup?medium=email"
                   "&address=nobody-%d@example.org" % i, None)
        else:
            yield ("POST", "/_matrix/identity/v2/lookup", json.dumps({
                "addresses": ["john.doe@example.org email"],
                "algorithm": "none", "pepper": "PEPPER"}))


def run(binary, kind, n, workdir, webapp_port):
    port = free_port()
    conf = os.path.join(workdir, "signpost.yaml")
    with open(conf, "w") as f:
        f.write("""\
matrix.domain: example.org
server: {port: %d, address: 127.0.0.1, threads: 1}
rest: {enabled: true, host: "http://127.0.0.1:%d", timeout: 30000}
key.path: signing.key
storage.provider.sqlite.database: signpost.db
logging.level: warn
lookup.cache.negativeTtl: 0
""" % (port, webapp_port))
    out = os.path.join(workdir, "callgrind.out")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
         binary, "-c", conf], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        token = v2_token(workdir) if kind.startswith("v2") else None
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
            conn.request("GET", "/_matrix/identity/v2/hash_details",
                         headers=headers)
            pepper = json.loads(conn.getresponse().read())["lookup_pepper"]
        for method, path, body in requests_for(kind, n):
            if body:
                body = body.replace("PEPPER", pepper)
            conn.request(method, path, body, headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError("%s %s: %d" % (method, path, r.status))
        conn.close()
    finally:
        proc.terminate()
        proc.wait(120)
    with open(out) as f:
        m = re.search(r"^summary:\s+(\d+)", f.read(), re.M)
    os.unlink(out)
    return int(m.group(1))


def v2_token(workdir):
    """A token put straight into the database the daemon opened: v2
    registration needs a homeserver, which is beside the point here."""
    import hashlib
    import sqlite3
    token = "callgrind-benchmark-token-0123456789abcdef"
    db = sqlite3.connect(os.path.join(workdir, "signpost.db"))
    now = int(time.time() * 1000)
    db.execute("INSERT OR IGNORE INTO accounts(user_id, created_ms) "
               "VALUES (?, ?)", ("@bench:example.org", now))
    db.execute("INSERT INTO tokens(hash, user_id, created_ms, expires_ms) "
               "VALUES (?, ?, ?, 0)", (hashlib.sha256(token.encode())
                                       .digest(), "@bench:example.org", now))
    db.commit()
    db.close()
    return token


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, "build", "signpost")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is needed: apt-get install valgrind")
    wport = free_port()
    webapp = subprocess.Popen(["/usr/bin/python3", WEBAPP, "--users", USERS,
                               "--port", str(wport)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    rows = []
    try:
        wait_port(wport, webapp)
        for kind in ("v1 lookup, cached", "v2 none lookup, cached",
                     "v1 lookup, webapp call"):
            counts = []
            for n in (N1, N2):
                with tempfile.TemporaryDirectory() as wd:
                    counts.append(run(binary, kind, n, wd, wport))
            rows.append((kind, (counts[1] - counts[0]) / (N2 - N1)))
    finally:
        webapp.terminate()
        webapp.wait()
    print("| request | instructions per request |")
    print("|---|---|")
    for kind, per in rows:
        print("| %s | %.0f |" % (kind, per))


if __name__ == "__main__":
    main()
