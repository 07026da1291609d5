"""Secrets never reach the logs, at the most talkative level: passwords,
the webapp's shared secret, OpenID tokens, access tokens (in a header or
the query string), the signing key, and the addresses looked up."""

import base64
import os
import urllib.parse

from conftest import BULK, HEAD, USERINFO, V2
from fakeapp import Reply

AUTH = "/_mxisd/identity/api/v1/auth"
CHECK = "/_matrix-internal/identity/v1/check_credentials"

PASSWORD = "pw-Zq8#unique-password"
SHARED = "shared-9f3e-webapp-secret"
OPENID = "openid-7c1d-token"
ADDRESS = "hidden.person-42@example.org"


def test_no_secret_in_debug_logs(start, webapp, homeserver):
    webapp.always(AUTH, Reply(200, {"auth": {"success": False}}))
    webapp.always(BULK, Reply(200, {"lookup": []}))
    homeserver.always(USERINFO + OPENID, Reply(200, {
        "sub": "@alice:%s" % homeserver.name}))
    d = start(HEAD + """\
logging.level: debug
rest:
  enabled: true
  host: "%s"
  headers: {X-Signpost-Secret: "%s"}
federation: {tlsVerify: false, allowPrivateAddresses: true}
""" % (webapp.url, SHARED))
    st, _, _ = d.request("POST", CHECK, {"user": {
        "id": "@john:example.org", "password": PASSWORD}})
    assert st == 200
    st, _, body = d.request("POST", V2 + "/account/register", {
        "access_token": OPENID, "token_type": "Bearer",
        "matrix_server_name": homeserver.name, "expires_in": 3600})
    assert st == 200
    token = body["token"]
    lookup = {"addresses": [ADDRESS + " email"], "algorithm": "none",
              "pepper": d.request("GET", V2 + "/hash_details", headers={
                  "Authorization": "Bearer " + token})[2]["lookup_pepper"]}
    assert d.request("POST", V2 + "/lookup", lookup, headers={
        "Authorization": "Bearer " + token})[0] == 200
    assert d.request("GET", V2 + "/account?access_token=" +
                     urllib.parse.quote(token))[0] == 200
    assert d.request("GET", "/_matrix/identity/api/v1/lookup?" +
                     urllib.parse.urlencode({"medium": "email",
                                             "address": ADDRESS}))[0] == 200
    # What the webapp got proves each secret was really used.
    assert webapp.calls(AUTH)[0].json["auth"]["password"] == PASSWORD
    assert webapp.calls(AUTH)[0].headers["X-Signpost-Secret"] == SHARED

    with open(os.path.join(os.path.dirname(d.config_path),
                           "signing.key")) as f:
        seed = f.read().split()[2]
    # Stopped first: every line the requests caused is written by then.
    assert d.stop() == 0
    logs = d.logs()
    assert "debug:" in logs  # the level really was debug
    for secret in (PASSWORD, SHARED, OPENID, token, seed,
                   base64.b64decode(seed + "==").hex(), ADDRESS,
                   urllib.parse.quote(ADDRESS)):
        assert secret not in logs, "%r leaked into the logs" % secret
