"""docs/migrating-from-mxisd.md, checked on mxisd and ma1sd configuration
files (fixtures/): what `signpost -t` reports for each, the endpoint lines
of each release against the paths Signpost then calls and logs, what
happens to mxisd's key and database, the values Signpost reads as ma1sd
meant them and the few it refuses, the keys it ignores, and the homeserver
paths mxisd used to take over. test_key_migration.py checks the signing
key in depth."""

import base64
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import pytest
from nacl.signing import SigningKey

from conftest import BIN, Daemon, wait_for_log
from fakeapp import Reply

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "fixtures")
GUIDE = os.path.join(HERE, "..", "..", "docs", "migrating-from-mxisd.md")
CONFIGURATION = os.path.join(HERE, "..", "..", "docs", "configuration.md")
CHECK = "/_matrix-internal/identity/v1/check_credentials"

# What `-t` warns about in each fixture, in order.
WARNED = {
    "mxisd-2017.yaml": [
        "server.publicUrl", "lookup.recursive.enabled",
        "lookup.recursive.allowedCidr", "ldap.enabled", "forward.servers",
        "threepid.medium.email.connectors.smtp.host",
        "threepid.medium.email.connectors.smtp.port",
        "threepid.medium.email.connectors.smtp.login",
        "threepid.medium.email.connectors.smtp.password",
        "threepid.medium.email.identity.from", "storage.backend"],
    "mxisd-2019.yaml": [
        "server.publicUrl", "rest.endpoints.directory",
        "rest.endpoints.profile", "synapseSql", "dns", "session",
        "threepid", "notification", "directory"],
    "ma1sd.yaml": [
        "matrix.v1", "matrix.v2", "storage.backend",
        "hashing.enabled", "hashing.hashStorageType", "hashing.algorithms",
        "policy.policies", "threepid", "logging.root", "logging.app",
        "logging.requests", "invite", "internal"],
}

# The release each fixture stands for, as the guide names it.
RELEASE_OF = {"mxisd-2017.yaml": "mxisd 0.2.1 to 0.3.0",
              "mxisd-2019.yaml": "mxisd 1.3.0 to 1.4.x",
              "ma1sd.yaml": "ma1sd 2.x"}


def guide():
    with open(GUIDE) as f:
        return f.read()


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def check(path):
    return subprocess.run([BIN, "-t", "-c", str(path)], capture_output=True,
                          text=True, timeout=10)


def check_text(tmp_path, text, name="signpost.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path, check(path)


def warned_keys(stderr):
    keys = []
    for line in stderr.splitlines():
        m = re.match(r"^.*?:\d+:\d+: ([^:]+): warning: ", line)
        assert m, "not a warning: %r" % line
        keys.append(m.group(1))
    return keys


@pytest.mark.parametrize("name", sorted(WARNED))
def test_fixture_checks_with_warnings(name):
    out = check(os.path.join(FIXTURES, name))
    assert (out.returncode, out.stdout) == (0, "configuration OK\n"), \
        out.stderr
    assert warned_keys(out.stderr) == WARNED[name]


def test_check_output_quoted_in_the_guide(tmp_path):
    """Section 1 shows -t on the 2019 fixture as /etc/mxisd/mxisd.yaml."""
    m = re.search(r"For a typical mxisd 1.4 file.*?```text\n(.*?)```",
                  guide(), re.S)
    assert m
    path, out = check_text(tmp_path, fixture("mxisd-2019.yaml"))
    got = (out.stderr + out.stdout).replace(str(path),
                                            "/etc/mxisd/mxisd.yaml")
    assert got == m.group(1)


def era_lines():
    """{release: {key: path}} from the guide's yaml blocks, checked
    against its table of default paths."""
    text = guide()
    eras = {}
    for block in re.findall(r"```yaml\n(# (?:mxisd|ma1sd).*?)```", text,
                            re.S):
        lines = block.splitlines()
        release = lines[0][2:].split(":")[0]
        eras[release] = dict(l.split(": ", 1) for l in lines[1:])
    table = {}
    for row in re.findall(r"^\| ((?:mxisd|ma1sd) [^|]+) \| [^|]+ \| "
                          r"`([^`]+)` \| `([^`]+)` \| `([^`]+)` \|$",
                          text, re.M):
        table[row[0]] = dict(zip(["rest.endpoints.auth",
                                  "rest.endpoints.identity.single",
                                  "rest.endpoints.identity.bulk"], row[1:]))
    assert len(eras) == 4 and eras == table
    return eras


def relocate(text, tmp_path, webapp):
    """A fixture as a test can run it: port, webapp and state moved
    here, loopback only."""
    for old in ["/var/lib/mxisd", "/var/lib/ma1sd"]:
        text = text.replace(old, str(tmp_path))
    text = text.replace("port: 8090", "port: @PORT@") \
        .replace("https://intranet.example.org", webapp.url)
    return text + "\nserver.address: 127.0.0.1\n"


def paths_called(d, webapp):
    """The webapp paths of one login, one lookup and one bulk lookup."""
    d.request("POST", CHECK, {"user": {"id": "@alice:example.org",
                                       "password": "secret"}})
    d.request("GET", "/_matrix/identity/api/v1/lookup?medium=email&"
              "address=alice%40example.org")
    d.request("POST", "/_matrix/identity/api/v1/bulk_lookup",
              {"threepids": [["email", "bob@example.org"],
                             ["email", "carol@example.org"]]})
    return [c.path for c in webapp.calls()]


@pytest.mark.parametrize("release", ["mxisd 0.2.1 to 0.3.0",
                                     "mxisd 0.4.0 to 1.2.x",
                                     "mxisd 1.3.0 to 1.4.x", "ma1sd 2.x"])
def test_release_lines_call_the_release_paths(release, start, webapp,
                                              tmp_path):
    lines = era_lines()[release]
    name = {"mxisd 0.2.1 to 0.3.0": "mxisd-2017.yaml",
            "ma1sd 2.x": "ma1sd.yaml"}.get(release, "mxisd-2019.yaml")
    text = relocate(fixture(name), tmp_path, webapp)
    text += "".join("%s: %s\n" % kv for kv in lines.items())
    d = start(text)
    assert paths_called(d, webapp) == [
        lines["rest.endpoints.auth"], lines["rest.endpoints.identity.single"],
        lines["rest.endpoints.identity.bulk"]]
    # The start-up line names the URLs called, as the guide shows.
    assert endpoints_logged(d, webapp) == \
        "webapp endpoints: auth %s, single lookup %s, bulk lookup %s, " \
        "listing (off)" % tuple(
            "https://intranet.example.org" + lines[k] for k in [
                "rest.endpoints.auth", "rest.endpoints.identity.single",
                "rest.endpoints.identity.bulk"])


def endpoints_logged(d, webapp):
    """The start-up line naming the webapp URLs, webapp moved back."""
    wait_for_log(d, "webapp endpoints:")
    [line] = [l for l in d.logs().splitlines() if "webapp endpoints:" in l]
    m = re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z info: (.*)$", line)
    assert m, line
    return m.group(1).replace(webapp.url, "https://intranet.example.org")


def test_endpoints_line_quoted_in_the_guide(start, webapp, tmp_path):
    """Section 2 shows the line for the mxisd 1.3 to 1.4 lines, and says
    it comes at every start and reload."""
    m = re.search(r"Signpost logs the URLs.*?```text\n(.*?)\n```", guide(),
                  re.S)
    assert m and "at every start and\nreload" in m.group(0)
    quoted = m.group(1)
    assert re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z info: ", quoted)
    text = relocate(fixture("mxisd-2019.yaml"), tmp_path, webapp) + "".join(
        "%s: %s\n" % kv for kv in era_lines()["mxisd 1.3.0 to 1.4.x"].items())
    d = start(text)
    assert endpoints_logged(d, webapp) == quoted.split(" info: ", 1)[1]
    d.proc.send_signal(signal.SIGHUP)
    wait_for_log(d, "configuration reloaded")
    assert d.logs().count("info: webapp endpoints: ") == 2


@pytest.mark.parametrize("name", sorted(WARNED))
def test_without_lines_signpost_calls_the_2017_paths(name, start, webapp,
                                                     tmp_path):
    d = start(relocate(fixture(name), tmp_path, webapp))
    lines = era_lines()["mxisd 0.2.1 to 0.3.0"]
    assert paths_called(d, webapp) == list(lines.values())
    # Right for 2017 files only; a later webapp answers 404, which reads
    # as "wrong password" and "nobody": quiet, as the guide warns.
    assert RELEASE_OF[name] == "mxisd 0.2.1 to 0.3.0" or \
        lines != era_lines()[RELEASE_OF[name]]


def test_wrong_path_refuses_logins_quietly(start, webapp, tmp_path):
    d = start(relocate(fixture("mxisd-2019.yaml"), tmp_path, webapp) +
              "logging.level: debug\n")
    webapp.always("/_mxisd/identity/api/v1/auth", Reply(404, "Not Found"))
    status, _, body = d.request("POST", CHECK, {
        "user": {"id": "@alice:example.org", "password": "secret"}})
    assert (status, body["auth"]["success"]) == (200, False)
    # The debug log names the call and its status.
    assert re.search(r"debug: POST %s/_mxisd/identity/api/v1/auth: 404 in "
                     r"\d+ ms" % re.escape(webapp.url), d.logs())
    assert re.search(r"\d{4}-\d\d-\d\dT[\d:.]+Z debug: POST https://"
                     r"intranet\.example\.org/_mxisd/backend/api/v1/auth/"
                     r"login: 200 in \d+ ms", guide())


def test_lines_already_set(tmp_path):
    text = fixture("mxisd-2019.yaml").replace(
        "    directory: ''\n", "    directory: ''\n    auth: /login\n")
    text += "rest.endpoints.auth: /_mxisd/backend/api/v1/auth/login\n"
    path, out = check_text(tmp_path, text)
    assert out.returncode == 1
    assert "%s:%d:1: rest.endpoints.auth: already set at 29:5" % (
        path, text.count("\n")) in out.stderr.splitlines()
    assert "`rest.endpoints.auth: already set at 27:5`" in guide()


def unpadded(raw):
    return base64.b64encode(raw).decode().rstrip("=")


def public_key(d, key_id="ed25519:0"):
    status, _, body = d.request("GET", "/_matrix/identity/api/v1/pubkey/" +
                                key_id)
    assert status == 200, body
    return body["public_key"]


def write_store(folder, seed, serial="0"):
    """mxisd 1.4's key store, as its FileKeyStore wrote it."""
    (folder / "regular" / "ed25519").mkdir(parents=True)
    (folder / "current").write_text(json.dumps(
        {"type": "Regular", "algo": "ed25519", "serial": serial}))
    (folder / "regular" / "ed25519" / serial).write_text(json.dumps(
        {"version": "0", "isValid": True,
         "key": base64.b64encode(seed).decode()}))


def section(title, end):
    text = guide()
    return text[text.index(title):text.index(end)]


def key_section():
    return section("## 3. The signing key", "## 4.")


def start_fails(text, tmp_path):
    """The start fails; returns its log. A daemon that starts all the same
    is stopped, not left running."""
    try:
        d = Daemon(text, str(tmp_path))
    except RuntimeError as e:
        return str(e)
    log = d.logs()
    d.stop()
    pytest.fail("signpost started:\n" + log)


def in_guide(message, **paths):
    """message with this test's paths put back to the guide's."""
    for here, there in paths.items():
        message = message.replace(here, there)
    return message


def test_key_file_kept_and_not_opened_by_check(start, webapp, tmp_path):
    old = SigningKey.generate()
    keyfile = tmp_path / "sign.key"
    # mxisd up to 1.3: the base64 of the key's seed, alone in the file.
    keyfile.write_text(base64.b64encode(bytes(old)).decode())
    os.chmod(keyfile, 0o644)
    text = relocate(fixture("mxisd-2017.yaml"), tmp_path, webapp)
    # -t does not open the key, so does not see it is not private...
    _, out = check_text(tmp_path, text.replace("@PORT@", "8090"))
    assert out.returncode == 0
    assert "`-t` does not open the key" in key_section()
    # ...which a start refuses, with the command that fixes it.
    log = start_fails(text, tmp_path)
    msg = 'key.path: key file %s has permissions 0644: group or others ' \
        'may access it; make it private with "chmod 600 %s"' % (
            keyfile, keyfile)
    assert msg in log
    assert in_guide(msg, **{str(keyfile): "/var/lib/signpost/signing.key"}) \
        in key_section()
    os.chmod(keyfile, 0o600)
    d = start(text)
    assert public_key(d) == unpadded(bytes(old.verify_key))
    msg = "key file %s is in mxisd's format (the seed alone); using it " \
        "as ed25519:0" % keyfile
    assert msg in d.logs()
    assert "`%s`" % in_guide(
        msg, **{str(keyfile): "/var/lib/signpost/signing.key"}) \
        in key_section()


def test_key_store_imported_beside_mxisds(start, webapp, tmp_path):
    old = SigningKey.generate()
    store = tmp_path / "signing.key"  # mxisd 1.4 made it a folder
    write_store(store, bytes(old))
    before = {f: (store / f).read_text() for f in
              ["current", "regular/ed25519/0"]}
    d = start(relocate(fixture("mxisd-2019.yaml"), tmp_path, webapp))
    pub = unpadded(bytes(old.verify_key))
    assert public_key(d) == pub
    own = store / "signpost-ed25519.key"
    assert "%03o" % (os.stat(own).st_mode & 0o777) == "600"
    assert {f: (store / f).read_text() for f in before} == before
    msg = "imported mxisd's signing key ed25519:0 from %s into %s " \
        "(public key %s); the old store can be deleted once Signpost " \
        "runs" % (store / "regular" / "ed25519" / "0", own, pub)
    assert msg in d.logs()
    assert "`%s`" % in_guide(msg, **{
        str(store): "/var/lib/signpost/mxisd-keys", pub: "…"}) \
        in key_section()
    assert "`signpost-ed25519.key`" in key_section()


def test_key_store_serial_other_than_0(start, tmp_path, webapp):
    """The serial the guide gives as an example is one mxisd 1.4 would
    have made (in March 2021); the message tells the key id to set."""
    store = tmp_path / "signing.key"
    serial = "AAAAEExTPAAQ"
    raw = base64.urlsafe_b64decode(serial[:11] + "=")
    assert int.from_bytes(raw, "big") == 70_000_000_000
    write_store(store, bytes(SigningKey.generate()), serial)
    text = relocate(fixture("mxisd-2019.yaml"), tmp_path, webapp)
    log = start_fails(text, tmp_path)
    msg = "key.path: mxisd key store %s holds key ed25519:%s but the " \
        "configured key id is ed25519:0: set the key id to ed25519:%s to " \
        "keep signing with it" % (store, serial, serial)
    assert msg in log
    assert in_guide(msg, **{str(store): "/var/lib/signpost/mxisd-keys"}) \
        in key_section()
    line = "key.id: ed25519:%s" % serial
    assert "`%s`" % line in key_section()
    d = start(text + line + "\n")
    assert public_key(d, "ed25519:" + serial)


def test_key_store_serial_with_a_dash(tmp_path, webapp, start):
    store = tmp_path / "signing.key"
    key = SigningKey.generate()
    write_store(store, bytes(key), "AAAAEExT-AAQ")
    line = "key.id: ed25519:AAAAEExT-AAQ"
    assert "`%s`" % line in key_section()
    d = start(relocate(fixture("mxisd-2019.yaml"), tmp_path, webapp) +
              line + "\n")
    assert public_key(d, "ed25519:AAAAEExT-AAQ")


def test_broken_key_store(tmp_path, webapp):
    store = tmp_path / "signing.key"
    write_store(store, bytes(SigningKey.generate()))
    os.unlink(store / "regular" / "ed25519" / "0")
    log = start_fails(relocate(fixture("mxisd-2019.yaml"), tmp_path,
                               webapp), tmp_path)
    tail = "regular/ed25519/0 is missing or does not hold a key"
    assert "%s/%s" % (store, tail) in log
    assert "(`... %s`), and nothing\nis written" % tail in key_section()
    assert sorted(os.listdir(store)) == ["current", "regular"]


def test_key_copied_and_lines_replaced_as_the_guide_says(start, webapp,
                                                         tmp_path):
    """The 2019 file with its key store copied into the state folder and
    the two lines replaced by the guide's."""
    old = SigningKey.generate()
    mxisd = tmp_path / "mxisd"
    write_store(mxisd / "signing.key", bytes(old))
    os.chmod(mxisd / "signing.key" / "current", 0o644)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    sh = re.search(r"```sh\n(install -d .*?)```", key_section(), re.S)
    assert "cp -r /var/lib/mxisd/signing.key /var/lib/signpost/mxisd-keys" \
        in sh.group(1)
    assert "chmod -R go= /var/lib/signpost/mxisd-keys" in sh.group(1)
    shutil.copytree(mxisd / "signing.key", state / "mxisd-keys")
    subprocess.run(["chmod", "-R", "go=", str(state / "mxisd-keys")],
                   check=True)
    [block] = re.findall(r"```yaml\n(key\.path: .*?)```", key_section(),
                         re.S)
    lines = dict(l.split(": ", 1) for l in block.splitlines())
    assert sorted(lines) == ["key.path", "storage.provider.sqlite.database"]
    text = fixture("mxisd-2019.yaml")
    text = text.replace("  path: '/var/lib/mxisd/signing.key'",
                        "  path: '%s'" % lines["key.path"])
    text = text.replace("database: '/var/lib/mxisd/mxisd.db'", "database: "
                        "'%s'" % lines["storage.provider.sqlite.database"])
    text = relocate(text.replace("/var/lib/signpost", str(state)),
                    tmp_path, webapp)
    d = start(text)
    assert public_key(d) == unpadded(bytes(old.verify_key))
    assert (state / "mxisd-keys" / "signpost-ed25519.key").is_file()
    assert (state / "signpost.db").is_file()
    # mxisd's own files were not touched.
    assert sorted(os.listdir(mxisd)) == ["signing.key"]
    assert sorted(os.listdir(mxisd / "signing.key")) == \
        ["current", "regular"]
    assert "For a key file, `key.path: /var/lib/signpost/signing.key`." \
        in key_section()


def test_database_shared_with_mxisd(start, webapp, tmp_path):
    db = tmp_path / "mxisd.db"
    with sqlite3.connect(str(db)) as c:
        c.execute("CREATE TABLE invite_3pid (id INTEGER PRIMARY KEY, "
                  "medium TEXT, address TEXT)")
        c.execute("INSERT INTO invite_3pid VALUES (1, 'email', "
                  "'old@example.org')")
    d = start(relocate(fixture("mxisd-2019.yaml"), tmp_path, webapp))
    assert d.stop() == 0
    with sqlite3.connect(str(db)) as c:
        tables = {r[0] for r in c.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        rows = c.execute("SELECT * FROM invite_3pid").fetchall()
    assert rows == [(1, "email", "old@example.org")]
    assert {"accounts", "tokens", "accepted_terms", "settings"} <= tables
    assert tables - {"invite_3pid"} == \
        {"accounts", "tokens", "accepted_terms", "settings"}
    assert "(`accounts`, `tokens`, `accepted_terms`, `settings`)" in guide()


# Section 4, first table: read as ma1sd meant them, with a warning
# (the fixture, what to change in it, the message).
WARNED_VALUES = [
    ("ma1sd.yaml", ("  rotationPolicy: per_seconds\n",
                    "  rotationPolicy: per_requests\n"),
     "hashing.rotationPolicy: warning: per_requests is not supported; the "
     "pepper does not rotate (use per_seconds)"),
    ("ma1sd.yaml", ("  delay: 10m\n", ""),
     "hashing.delay: warning: not set; the pepper rotates every "
     "lookup.indexRefresh (600 s)"),
    ("mxisd-2019.yaml", ("", "logging:\n  level:\n    io.kamax.mxisd: "
                         "DEBUG\n"),
     "logging.level: warning: per-package levels are mxisd's; ignored, the "
     "level stays info"),
]

# Section 4, second table: still refused.
DURATION_ERROR = 'hashing.delay: must be seconds from 0 to 3153600000, as a ' \
    'number or with units like "90s", "10m", "1h 30m", "7d"'
REFUSED = [
    ("ma1sd.yaml", ("  hostname: '127.0.0.1'\n",
                    "  hostname: 'matrix.example.org'\n"),
     "server.hostname: ma1sd listened on this name; Signpost needs an IP "
     "address: set server.address"),
    ("ma1sd.yaml", ("  delay: 10m\n", "  delay: 1h30m\n"), DURATION_ERROR),
    ("ma1sd.yaml", ("  delay: 10m\n", "  delay: 2w\n"), DURATION_ERROR),
    ("ma1sd.yaml", ("  delay: 10m\n", "  delay: 36501d\n"), DURATION_ERROR),
    (None, ("", "key.path: ''\nrest.enabled: false\n"),
     "key.path: must not be empty"),
    (None, ("", "key.path: ''\nrest.enabled: false\n"),
     "matrix.domain: required key is missing"),
]


def changed(name, change):
    """The fixture name (None: an empty file) with change = (old, new)
    made: old replaced, or new added at the end when old is empty."""
    text = fixture(name) if name else ""
    old, new = change
    if not old:
        return text + new
    assert text.count(old) == 1, old
    return text.replace(old, new)


def ma1sd_with(extra):
    """The ma1sd fixture with its hashing section replaced by extra's."""
    text = fixture("ma1sd.yaml")
    start = text.index("\nhashing:\n") + 1
    end = text.index("\n\n", start) + 1
    return text[:start] + extra + text[end:]


def section4_messages():
    """The backquoted messages of section 4's "Signpost says" column."""
    sec = section("## 4. Values read as ma1sd meant them", "## 5.")
    said = []
    for row in re.findall(r"^\| (?!---)(?!In the old file)[^|]+\| ([^|]+) \|",
                          sec, re.M):
        said += re.findall(r"`([^`]+)`", row)
    return said


def test_section4_messages_are_the_tested_ones():
    tested = [m for _, _, m in WARNED_VALUES + REFUSED]
    assert sorted(section4_messages()) == sorted(set(tested))


def test_fixture_uses_ma1sd_durations():
    text = fixture("ma1sd.yaml")
    assert "  rotationPolicy: per_seconds\n" in text
    assert "  delay: 10m\n" in text


@pytest.mark.parametrize("name,change,message", WARNED_VALUES,
                         ids=["per_requests", "no-delay", "spring-logging"])
def test_values_accepted_with_a_warning(name, change, message, tmp_path):
    _, out = check_text(tmp_path, changed(name, change))
    assert (out.returncode, out.stdout) == (0, "configuration OK\n"), \
        out.stderr
    assert any(l.endswith(": " + message) for l in
               out.stderr.splitlines()), out.stderr
    assert "`%s`" % message in guide()


@pytest.mark.parametrize("name,change,message", REFUSED, ids=[
    "hostname-name", "1h30m", "2w", "36501d", "key-path", "domain"])
def test_values_refused(name, change, message, tmp_path):
    _, out = check_text(tmp_path, changed(name, change))
    assert out.returncode == 1
    assert any(l.endswith(": " + message) for l in
               out.stderr.splitlines()), out.stderr
    assert "`%s`" % message in guide()


def seconds_keys():
    """{key: (min, max)} of configuration.md's keys typed "seconds"."""
    with open(CONFIGURATION) as f:
        rows = re.findall(r"^\| `([a-zA-Z.]+)` \| seconds, (\d+) to (\d+) \|",
                          f.read(), re.M)
    return {k: (int(lo), int(hi)) for k, lo, hi in rows}


def as_units(n):
    """n seconds the way ma1sd wrote durations: "1d 2h 3m 4s"."""
    parts = []
    for unit, size in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]:
        if n >= size:
            parts.append("%d%s" % (n // size, unit))
            n %= size
    return " ".join(parts) or "0s"


def test_durations_listed_in_the_guide_are_the_seconds_keys():
    row = [r for r in section("## 4. Values read", "## 5.").splitlines()
           if r.startswith("| ma1sd's durations")]
    listed = re.findall(r"`([a-zA-Z.]+)`", row[0].split("Every key", 1)[1])
    assert sorted(listed) == sorted(seconds_keys())
    assert len(listed) == 9


@pytest.mark.parametrize("key", sorted(seconds_keys()))
def test_durations_with_units(key, tmp_path):
    """Each seconds key takes ma1sd's units, up to its maximum and not a
    second more, and a plain number as before."""
    lo, hi = seconds_keys()[key]
    for value, ok in [(as_units(hi), True), (as_units(hi) + " 1s", False),
                      (str(hi), True), (str(hi + 1), False),
                      (as_units(max(lo, 1)), True)] + \
            ([(as_units(lo - 1), False)] if lo > 0 else []):
        _, out = check_text(tmp_path, "matrix.domain: example.org\n"
                            "%s: %s\n" % (key, value))
        assert (out.returncode == 0) == ok, (value, out.stderr)
        if not ok:
            assert out.stderr.endswith(
                ': %s: must be seconds from %d to %d, as a number or with '
                'units like "90s", "10m", "1h 30m", "7d"\n' % (key, lo, hi))
    for value in ["1h 30m", "90s", "2m", "7d", "1d 1s"]:
        n = sum(int(p[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[p[-1]]
                for p in value.split())
        _, out = check_text(tmp_path, "matrix.domain: example.org\n"
                            "%s: %s\n" % (key, value))
        assert (out.returncode == 0) == (lo <= n <= hi), (value, out.stderr)


def start_rotation(tmp_path, webapp, hashing):
    """The ma1sd fixture with these hashing lines, refreshing each second."""
    text = relocate(ma1sd_with("hashing:\n" + hashing), tmp_path, webapp)
    return Daemon(text + "lookup.indexRefresh: 1s\n", str(tmp_path))


def test_delay_with_units_rotates(tmp_path, webapp):
    d = start_rotation(tmp_path, webapp,
                       "  rotationPolicy: per_seconds\n  delay: 1s\n")
    try:
        wait_for_log(d, "lookup pepper rotated")
    finally:
        assert d.stop() == 0


def test_per_seconds_without_delay_rotates_every_refresh(tmp_path, webapp):
    d = start_rotation(tmp_path, webapp, "  rotationPolicy: per_seconds\n")
    try:
        assert "hashing.delay: warning: not set; the pepper rotates every " \
            "lookup.indexRefresh (1 s)" in d.logs()
        wait_for_log(d, "lookup pepper rotated")
    finally:
        assert d.stop() == 0


def test_per_requests_does_not_rotate(tmp_path, webapp):
    d = start_rotation(tmp_path, webapp,
                       "  rotationPolicy: per_requests\n  requests: 1\n"
                       "  delay: 1s\n")
    try:
        for _ in range(5):
            d.request("GET", "/_matrix/identity/api/v1/lookup?medium=email&"
                      "address=alice%40example.org")
        time.sleep(2.5)
        assert "lookup pepper rotated" not in d.logs()
    finally:
        assert d.stop() == 0


@pytest.mark.parametrize("mapping", [
    "logging:\n  level:\n    io.kamax.mxisd: DEBUG\n",
    "logging.level:\n  io.kamax.mxisd: DEBUG\n",
    "logging.level: {io.kamax.mxisd: DEBUG, root: INFO}\n"],
    ids=["nested", "flat", "flow"])
def test_spring_logging_mapping_leaves_info(mapping, start, webapp,
                                             tmp_path):
    text = relocate(fixture("mxisd-2019.yaml"), tmp_path, webapp) + mapping
    _, out = check_text(tmp_path, text.replace("@PORT@", "8090"), "t.yaml")
    assert out.returncode == 0
    assert "logging.level: warning: per-package levels are mxisd's; " \
        "ignored, the level stays info" in out.stderr
    d = start(text)
    paths_called(d, webapp)
    assert " info: " in d.logs() and " debug: " not in d.logs()


def ignored_table():
    """The keys named in the first column of section 5's table."""
    text = guide()
    section = text[text.index("## 5. Keys that are ignored"):
                   text.index("## 6.")]
    keys = []
    for row in re.findall(r"^\| (`[^|]+) \|", section, re.M):
        keys += re.findall(r"`([^`]+)`", row)
    assert len(keys) > 30
    return keys


def test_ignored_keys_warn(tmp_path):
    keys = [k for k in ignored_table() if "<id>" not in k]
    text = "matrix.domain: example.org\n" + \
        "".join("%s: 1\n" % k for k in keys)
    _, out = check_text(tmp_path, text)
    assert out.returncode == 0, out.stderr
    assert warned_keys(out.stderr) == keys
    # The one with a placeholder: ma1sd's regexp in a policy.
    assert "policy.policies.<id>.regexp" in ignored_table()
    assert 'policy "privacy": regexp is ignored' in \
        check(os.path.join(FIXTURES, "ma1sd.yaml")).stderr


def listeners(port):
    """The local addresses listening on TCP port, from /proc/net."""
    found = []
    for name in ["tcp", "tcp6"]:
        with open("/proc/net/" + name) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, p = local.split(":")
                if state == "0A" and int(p, 16) == port:
                    found.append((name, addr))
    return found


def other_local_addresses():
    """This machine's IPv4 addresses outside loopback, when it has any."""
    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None,
                                       socket.AF_INET):
            found.add(info[4][0])
    except OSError:
        pass
    for target in ["192.0.2.1", "10.255.255.254", "203.0.113.1"]:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((target, 9))
                found.add(s.getsockname()[0])
        except OSError:
            pass
    return sorted(a for a in found if not a.startswith("127."))


def hostname_config(tmp_path, webapp, hostname=None, address=None):
    """The ma1sd fixture with server.hostname (None: no line) and
    server.address (None: not set)."""
    text = relocate(fixture("ma1sd.yaml"), tmp_path, webapp)
    text = text.replace("\nserver.address: 127.0.0.1\n", "\n")
    line = "  hostname: '127.0.0.1'\n"
    assert line in text
    text = text.replace(line, "" if hostname is None else
                        "  hostname: '%s'\n" % hostname)
    if address is not None:
        text += "server.address: '%s'\n" % address
    return text


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost"])
def test_hostname_honoured(hostname, start, webapp, tmp_path):
    d = start(hostname_config(tmp_path, webapp, hostname))
    # The line comes once listening; the daemon may answer just before.
    wait_for_log(d, "serving example.org on 127.0.0.1 port %d " % d.port)
    assert listeners(d.port) == [("tcp", "0100007F")]
    for addr in other_local_addresses():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((addr, d.port), timeout=2).close()
    assert "`server.hostname: 127.0.0.1` (ma1sd 2.4 on)" in guide()


@pytest.mark.parametrize("hostname", [None, ""])
def test_no_hostname_every_address(hostname, start, webapp, tmp_path):
    d = start(hostname_config(tmp_path, webapp, hostname))
    wait_for_log(d, "on every address port %d " % d.port)
    assert listeners(d.port) not in ([], [("tcp", "0100007F")])


def test_address_wins_over_hostname(start, webapp, tmp_path):
    # Even over one that alone would be refused.
    d = start(hostname_config(tmp_path, webapp, "matrix.example.org",
                              "127.0.0.1"))
    wait_for_log(d, "on 127.0.0.1 port %d " % d.port)
    d.stop()
    d = start(hostname_config(tmp_path, webapp, "127.0.0.1", "0.0.0.0"))
    wait_for_log(d, "on 0.0.0.0 port %d " % d.port)
    assert listeners(d.port) == [("tcp", "00000000")]
    assert "`server.address` wins" in guide()


def test_homeserver_paths_mxisd_took_over_are_404(start, webapp,
                                                  tmp_path):
    text = guide()
    section = text[text.index("**The reverse proxy.**"):
                   text.index("**Synapse**")]
    paths = re.findall(r"^\| `(/_matrix/client/[^`]+)` \|", section, re.M)
    assert len(paths) == 5
    d = start(relocate(fixture("mxisd-2019.yaml"), tmp_path, webapp))
    for p in paths:
        p = p.replace("/...", "/!room:example.org").replace(
            "profile/!room:example.org", "profile/@alice:example.org")
        for method, body in [("GET", None), ("POST", {})]:
            status, _, answer = d.request(method, p, body)
            assert (status, answer["errcode"]) == (404, "M_UNRECOGNIZED"), p
    assert webapp.calls() == []


def test_guide_links_to_its_sections():
    text = guide()
    slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
             for h in re.findall(r"^#+ (.+)$", text, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert len(links) == 6
    assert set(links) <= slugs, set(links) - slugs
