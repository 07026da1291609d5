"""The command line: -t checks a config, -V prints the version."""

import os
import subprocess

from conftest import BIN

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def run(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True,
                          timeout=10)


def test_check_ok_with_mxisd_warnings(tmp_path):
    cfg = tmp_path / "mxisd.yaml"
    cfg.write_text("matrix:\n  domain: example.org\n"
                   "ldap:\n  enabled: false\n"
                   "rest.enabled: true\nrest.host: http://127.0.0.1:1\n")
    out = run("-t", "-c", str(cfg))
    assert out.returncode == 0
    assert out.stdout == "configuration OK\n"
    assert out.stderr == "%s:3:1: ldap: warning: unknown key, ignored\n" % cfg


def test_check_reports_every_error(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("server:\n  port: 99999\nrest:\n  enabled: maybe\n")
    out = run("-t", "-c", str(cfg))
    assert out.returncode == 1
    assert "configuration OK" not in out.stdout
    lines = out.stderr.splitlines()
    assert "%s:2:9: server.port: must be an integer from 1 to 65535" % cfg \
        in lines
    assert any(l.startswith("%s:4:12: rest.enabled: " % cfg) for l in lines)
    assert any(": matrix.domain: required key is missing" in l
               for l in lines)


def test_example_config_is_clean():
    out = run("-t", "-c", os.path.join(ROOT, "examples", "signpost.yaml"))
    assert (out.returncode, out.stdout, out.stderr) == \
        (0, "configuration OK\n", "")


def test_version():
    out = run("-V")
    with open(os.path.join(ROOT, "VERSION")) as f:
        assert out.stdout == "signpost %s\n" % f.read().strip()


def test_usage_errors():
    assert run().returncode == 2
    assert run("-c").returncode == 2
    assert "usage" in run("-x").stderr


def test_missing_file(tmp_path):
    out = run("-t", "-c", str(tmp_path / "none.yaml"))
    assert out.returncode == 1
    assert "cannot open" in out.stderr
