"""Packaging: `make install` (file list, modes, DESTDIR/PREFIX, the real
config left alone), `make uninstall`, the systemd unit (systemd-analyze
verify and security), the man pages (groff with every warning on, and
their content against the daemon and docs/configuration.md), and the
installed example configuration (checks clean, and serves once its state
paths are moved to a temporary folder)."""

import os
import re
import shutil
import subprocess
import warnings

import pytest

from conftest import BIN, Daemon

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.relpath(os.path.dirname(os.path.abspath(BIN)), ROOT)
UNIT = "usr/lib/systemd/system/signpost.service"


def make(*args):
    """Runs make in the source tree on the build folder the suite tests.

    Under `make check` the environment carries make's own MAKEFLAGS; its
    variables (SANITIZE=1, WERROR=1, ...) are passed on so nothing is
    rebuilt with other flags, but not its jobserver, which this process
    does not hold."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    inherited = []
    flags = " " + os.environ.get("MAKEFLAGS", "")
    if " -- " in flags:
        inherited = [v.replace("\\ ", " ") for v in re.split(
            r"(?<!\\) +", flags.split(" -- ", 1)[1].strip()) if v]
    cmd = ["make", "--no-print-directory", "-C", ROOT] + \
        [v for v in inherited if not v.startswith("BUILD=")] + \
        ["BUILD=" + BUILD] + list(args)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, "%s failed:\n%s%s" % (
        " ".join(cmd), out.stdout, out.stderr)
    return out


def tool(name, package):
    path = shutil.which(name)
    if path is None:
        # A warning too, so that `pytest -q` shows it in its summary.
        reason = "!!! %s is missing: these packaging checks did NOT run; " \
            "apt-get install %s" % (name, package)
        warnings.warn(reason)
        pytest.skip(reason)
    return path


def files_under(root):
    """{relative path: octal mode} of every file below root."""
    found = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            found[os.path.relpath(p, root)] = "%o" % (os.stat(p).st_mode
                                                     & 0o7777)
    return found


@pytest.fixture(scope="module")
def destdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("destdir")
    make("install", "DESTDIR=%s" % d, "PREFIX=/usr")
    return d


def expected_files():
    docs = ["README.md"] + sorted(n for n in os.listdir(
        os.path.join(ROOT, "docs")) if n.endswith(".md"))
    files = {
        "usr/sbin/signpost": "755",
        "usr/share/man/man8/signpost.8": "644",
        "usr/share/man/man5/signpost.yaml.5": "644",
        UNIT: "644",
        "usr/lib/sysusers.d/signpost.conf": "644",
        "etc/signpost/signpost.yaml.example": "640",
    }
    for d in docs:
        files["usr/share/doc/signpost/" + d] = "644"
    for e in ["README.md", "webapp.py", "hash_password.py", "users.json"]:
        files["usr/share/doc/signpost/examples/backend/" + e] = "644"
    return files


def test_install_files_and_modes(destdir):
    assert files_under(destdir) == expected_files()
    with open(os.path.join(destdir, "usr/sbin/signpost"), "rb") as a, \
            open(BIN, "rb") as b:
        assert a.read() == b.read()


def test_install_default_prefix(tmp_path):
    make("install", "DESTDIR=%s" % tmp_path)
    got = files_under(tmp_path)
    assert got["usr/local/sbin/signpost"] == "755"
    assert "usr/local/lib/systemd/system/signpost.service" in got
    assert "etc/signpost/signpost.yaml.example" in got
    with open(tmp_path / "usr/local/lib/systemd/system/signpost.service") \
            as f:
        assert "ExecStart=/usr/local/sbin/signpost -c " \
            "/etc/signpost/signpost.yaml\n" in f.read()
    # The pages name the paths of this layout.
    with open(tmp_path / "usr/local/share/man/man8/signpost.8") as f:
        assert "/usr/local/share/doc/signpost" in f.read()


def test_install_keeps_the_real_config_and_uninstall(tmp_path):
    real = tmp_path / "etc/signpost/signpost.yaml"
    real.parent.mkdir(parents=True)
    real.write_text("matrix.domain: example.org\n")
    make("install", "DESTDIR=%s" % tmp_path, "PREFIX=/usr")
    assert real.read_text() == "matrix.domain: example.org\n"
    make("uninstall", "DESTDIR=%s" % tmp_path, "PREFIX=/usr")
    assert files_under(tmp_path) == {"etc/signpost/signpost.yaml": "644"}
    assert not (tmp_path / "usr/share/doc/signpost").exists()


def unit_text(destdir):
    with open(os.path.join(destdir, UNIT)) as f:
        return f.read()


def verifiable_unit(destdir, tmp_path):
    """The installed unit, with ExecStart pointing at the staged binary
    (systemd-analyze checks that it exists); nothing else changed."""
    text = unit_text(destdir).replace(
        "ExecStart=/usr/sbin/signpost",
        "ExecStart=%s/usr/sbin/signpost" % destdir)
    path = tmp_path / "signpost.service"
    path.write_text(text)
    return path


def settings(text):
    """{key: [values]} of the unit's uncommented lines."""
    found = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            k, v = line.split("=", 1)
            found.setdefault(k.strip(), []).append(v.strip())
    return found


def test_unit_contents(destdir):
    s = settings(unit_text(destdir))
    assert s["Type"] == ["simple"]
    assert s["ExecStart"] == ["/usr/sbin/signpost -c "
                              "/etc/signpost/signpost.yaml"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["User"] == ["signpost"] and s["Group"] == ["signpost"]
    assert s["StateDirectory"] == ["signpost"]
    assert s["ConfigurationDirectory"] == ["signpost"]
    assert s["CapabilityBoundingSet"] == [""]
    assert "AmbientCapabilities" not in s or s["AmbientCapabilities"] == [""]
    for k, v in [("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                 ("PrivateTmp", "yes"), ("PrivateDevices", "yes"),
                 ("NoNewPrivileges", "yes"), ("UMask", "0077"),
                 ("MemoryDenyWriteExecute", "yes"),
                 ("LockPersonality", "yes"), ("RestrictNamespaces", "yes"),
                 ("ProtectKernelTunables", "yes"),
                 ("ProtectKernelModules", "yes"),
                 ("ProtectKernelLogs", "yes"),
                 ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX")]:
        assert s.get(k) == [v], k
    assert "@system-service" in s["SystemCallFilter"]
    with open(os.path.join(destdir, "usr/lib/sysusers.d/signpost.conf")) \
            as f:
        users = [l.split() for l in f if l.strip() and
                 not l.startswith("#")]
    assert users[0][:3] == ["u", "signpost", "-"]


def test_unit_verifies(destdir, tmp_path):
    analyze = tool("systemd-analyze", "systemd")
    unit = verifiable_unit(destdir, tmp_path)
    out = subprocess.run([analyze, "verify", "--man=no", str(unit)],
                         capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")


def test_unit_security_exposure(destdir, tmp_path):
    """docs/deploying.md quotes the score: 1.1 with systemd 252."""
    analyze = tool("systemd-analyze", "systemd")
    unit = verifiable_unit(destdir, tmp_path)
    out = subprocess.run([analyze, "security", "--offline=true",
                          str(unit)], capture_output=True, text=True,
                         timeout=60)
    m = re.search(r"Overall exposure level for signpost\.service: "
                  r"([0-9.]+) (\w+)", out.stdout)
    assert m, out.stdout + out.stderr
    assert float(m.group(1)) <= 1.1, m.group(0)
    with open(os.path.join(ROOT, "docs", "deploying.md")) as f:
        assert "rates it **1.1 OK**" in f.read()


def render(page):
    groff = tool("groff", "groff-base")
    out = subprocess.run([groff, "-man", "-ww", "-z", str(page)],
                         capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stderr) == (0, ""), out.stderr
    text = subprocess.run([groff, "-man", "-Tutf8", "-P", "-cbou",
                           str(page)], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, MANWIDTH="80"))
    assert text.returncode == 0
    # Undo troff's hyphen and quote characters, and join the lines, so
    # that words can be searched for.
    plain = text.stdout.replace("\u2010", "-").replace("\u2212", "-")
    return re.sub(r"\s+", " ", plain)


def test_signpost_8(destdir):
    text = render(os.path.join(destdir, "usr/share/man/man8/signpost.8"))
    assert "SIGNPOST(8)" in text and "System Manager's Manual" in text
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                    "SIGNALS", "FILES", "EXIT STATUS", "SEE ALSO"]:
        assert " %s " % section in text, section
    # Every option the daemon's usage lists is described.
    usage = subprocess.run([BIN, "-h"], capture_output=True, text=True)
    options = set(re.findall(r"^\s+(-\w)\b", usage.stdout, re.M))
    assert options >= {"-c", "-t", "-d", "-V"}
    for opt in options:
        assert " %s " % opt in text, opt
    with open(os.path.join(ROOT, "VERSION")) as f:
        assert "signpost %s" % f.read().strip() in text
    assert "/etc/signpost/signpost.yaml" in text
    assert "/usr/lib/systemd/system/signpost.service" in text
    assert "signpost.yaml(5)" in text


def test_signpost_yaml_5_is_configuration_md(destdir):
    text = render(os.path.join(destdir,
                               "usr/share/man/man5/signpost.yaml.5"))
    assert "SIGNPOST.YAML(5)" in text and "File Formats Manual" in text
    with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
        doc = f.read()
    keys = re.findall(r"^\| `([a-zA-Z.]+)` \|", doc, re.M)
    assert len(keys) > 30
    for k in keys:
        assert " %s " % k in text, k
    for heading in re.findall(r"^## (.+)$", doc, re.M):
        assert " %s " % heading.upper() in text, heading


def test_man_pages_are_ascii(destdir):
    for page in ["man8/signpost.8", "man5/signpost.yaml.5"]:
        with open(os.path.join(destdir, "usr/share/man", page)) as f:
            assert f.read().isascii()


def test_installed_example_config(destdir, tmp_path, webapp):
    example = os.path.join(destdir, "etc/signpost/signpost.yaml.example")
    out = subprocess.run([BIN, "-t", "-c", example], capture_output=True,
                         text=True, timeout=10)
    assert (out.returncode, out.stdout, out.stderr) == \
        (0, "configuration OK\n", "")
    with open(example) as f:
        text = f.read()
    assert "\n  path: /var/lib/signpost/signing.key\n" in text
    assert "\n      database: /var/lib/signpost/signpost.db\n" in text
    # As the service would run it, with the state folder and the webapp
    # moved here.
    state = tmp_path / "state"
    state.mkdir()
    text = text.replace("/var/lib/signpost", str(state)) \
        .replace("port: 8090", "port: @PORT@") \
        .replace("https://intranet.example.org", webapp.url)
    d = Daemon(text, str(tmp_path))
    try:
        status, _, body = d.request("GET", "/_matrix/identity/versions")
        assert status == 200 and "versions" in body
        status, _, body = d.request(
            "POST", "/_matrix-internal/identity/v1/check_credentials",
            {"user": {"id": "@alice:example.org", "password": "x"}})
        [call] = webapp.calls()
        assert call.path == "/_mxisd/identity/api/v1/auth"
        assert call.headers["Authorization"] == \
            "Bearer change-me-to-a-long-random-secret"
    finally:
        assert d.stop() == 0, d.logs()
    assert "%03o" % (os.stat(state / "signing.key").st_mode & 0o777) == "600"
    assert (state / "signpost.db").exists()
