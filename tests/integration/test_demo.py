"""The README's quick start: `make demo` shows a password check answered by
the example webapp through the shipped example config."""

import os
import subprocess

from conftest import BIN, free_port

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_demo_runs_the_quick_start(tmp_path):
    env = dict(os.environ, DEMO_ONCE="1", DEMO_PORT=str(free_port()),
               DEMO_WEBAPP_PORT=str(free_port()), DEMO_DIR=str(tmp_path))
    out = subprocess.run(["sh", os.path.join(ROOT, "examples", "demo.sh"),
                          os.path.abspath(BIN)], env=env, timeout=60,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    right, rest = out.stdout.split("# A wrong password")
    wrong, rest = rest.split("# Who owns")
    single, rest = rest.split("# The public key")
    assert '"success":true,"mxid":"@john.doe:example.org"' in right
    assert '{"auth":{"success":false}' in wrong
    assert '"address":"jane+matrix@example.org"' in single
    assert '"mxid":"@jane:example.org"' in single
    assert '"signatures":{"example.org":{"ed25519:0":' in single
    assert '"public_key":' in rest
    assert '["email","john.doe@example.org","@john.doe:example.org"]' in rest
    # The example config's shared secret reached the webapp: with a wrong
    # one it would have refused (401) and the login would have failed.
    with open(tmp_path / "signpost.log") as f:
        log = f.read()
    assert "correct horse" not in log
