"""matrix-js-sdk as a real Identity Service client: tests/js/idclient.mjs
drives the library's own calls (registerWithIdentityServer, getTerms,
agreeToTerms, getIdentityHashDetails, identityHashedLookup, lookupThreePid,
bulkLookupThreePids) against the daemon, the fake webapp and a fake HTTPS
homeserver.

The driver reports, for each call, what it resolved to (or the error's
errcode and HTTP status) and every request the library sent. In js-sdk 37
lookupThreePid and bulkLookupThreePids are built on identityHashedLookup:
each asks /v2/hash_details, then POSTs /v2/lookup, hashed (sha256) when the
server offers it, in clear (none) otherwise; no call uses the v1 API.

Needs node >= 20 and `npm ci --prefix tests/js` (make check does it); a
missing node or module fails these tests, it never skips them.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import (BULK, HEAD, LIST, USERINFO, V2, serve_listing,
                      sha256_b64, wait_for_log)
from fakeapp import Reply

JS_DIR = os.path.join(os.path.dirname(__file__), "..", "js")
DRIVER = os.path.join(JS_DIR, "idclient.mjs")
SDK = os.path.join(JS_DIR, "node_modules", "matrix-js-sdk", "package.json")
SDK_VERSION = "37.5.0"
# A whole run of the driver, Node's start included (about half a second).
DRIVER_TIMEOUT_S = 60

TERMS = """\
policy:
  policies:
    privacy:
      version: "1.0"
      terms:
        en: {name: Privacy, url: "https://example.org/privacy-en.html"}
"""

# What the listing endpoint knows: the sha256 index is built from it.
LISTING = [
    {"medium": "email", "address": "alice@example.com",
     "id": {"type": "localpart", "value": "alice"}},
    {"medium": "email", "address": "bob@example.com",
     "id": {"type": "mxid", "value": "@bob:other.org"}},
    {"medium": "msisdn", "address": "18005552067",
     "id": {"type": "localpart", "value": "phone"}}]


@pytest.fixture(scope="session")
def node():
    """The node binary, once the driver's modules are checked; fails
    (never skips) with what to do when something is missing."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is not installed: matrix-js-sdk %s needs Node.js "
                    ">= 20 (see scripts/install-deps.sh)" % SDK_VERSION)
    # On Node 18 (Debian 12's) createClient() throws: no global WebCrypto.
    node_version = subprocess.run(
        [path, "-p", "process.versions.node"], capture_output=True,
        text=True, check=True).stdout.strip()
    if int(node_version.split(".")[0]) < 20:
        pytest.fail("node %s is too old: matrix-js-sdk %s needs >= 20"
                    % (node_version, SDK_VERSION))
    if not os.path.exists(SDK):
        pytest.fail("tests/js/node_modules is missing: run "
                    "`npm ci --prefix tests/js` (make check does)")
    with open(SDK) as f:
        version = json.load(f)["version"]
    assert version == SDK_VERSION, \
        "tests/js/node_modules has matrix-js-sdk %s: run " \
        "`npm ci --prefix tests/js`" % version
    return path


def run_client(node, d, steps):
    """Runs the steps through matrix-js-sdk against daemon d; returns the
    list of per-step results (see tests/js/idclient.mjs)."""
    proc = subprocess.run([node, DRIVER, d.base], input=json.dumps(steps),
                          capture_output=True, text=True,
                          timeout=DRIVER_TIMEOUT_S)
    assert proc.returncode == 0, "driver failed:\n%s\n%s" % (
        proc.stderr, d.logs())
    results = json.loads(proc.stdout)["results"]
    assert [r["call"] for r in results] == [s["call"] for s in steps]
    return results


def step(call, *args):
    return {"call": call, "args": list(args)}


def openid(hs, token="openid-tok"):
    """The OpenID token a homeserver would give its user for the IS."""
    return {"access_token": token, "token_type": "Bearer",
            "matrix_server_name": hs.name, "expires_in": 3600}


def ok(result):
    assert result["ok"], result
    return result["value"]


def failed(result):
    assert not result["ok"], result
    return result["httpStatus"], result["errcode"]


def wire(result):
    """(method, path, body) of each request a step sent."""
    return [(w["method"], w["url"].split("/_matrix/identity", 1)[1],
             w["body"]) for w in result["wire"]]


def config(webapp, extra="", listing=False):
    host = 'host: "%s"' % webapp.url
    if listing:
        host += ", endpoints: {identity: {list: %s}}" % LIST
    return HEAD + """\
rest: {enabled: true, %s}
federation: {tlsVerify: false, allowPrivateAddresses: true}
%s""" % (host, extra)


def test_sha256_with_terms(node, start, webapp, homeserver):
    serve_listing(webapp, LISTING)
    d = start(config(webapp, TERMS, listing=True))
    wait_for_log(d, "hash index built: 3 entries")
    homeserver.always(USERINFO + "openid-tok",
                      Reply(200, {"sub": "@alice:%s" % homeserver.name}))
    terms_url = "https://example.org/privacy-en.html"
    r = run_client(node, d, [
        step("getTerms", "$IS", d.base),
        step("registerWithIdentityServer", openid(homeserver)),
        step("getIdentityHashDetails", "$token"),
        step("lookupThreePid", "email", "alice@example.com", "$token"),
        step("agreeToTerms", "$IS", d.base, "$token", [terms_url]),
        step("getIdentityHashDetails", "$token"),
        step("identityHashedLookup", [["alice@example.com", "email"],
                                      ["18005552067", "msisdn"],
                                      ["carol@example.com", "email"]],
             "$token"),
        step("lookupThreePid", "email", "bob@example.com", "$token"),
        step("lookupThreePid", "email", "nobody@example.com", "$token"),
        step("bulkLookupThreePids", [["email", "alice@example.com"],
                                     ["msisdn", "18005552067"],
                                     ["email", "nobody@example.com"]],
             "$token"),
    ])
    (terms, register, early_details, early_lookup, agree, details, hashed,
     bob, nobody, bulk) = r

    assert ok(terms) == {"policies": {"privacy": {
        "version": "1.0",
        "en": {"name": "Privacy", "url": terms_url}}}}
    assert wire(terms) == [("GET", "/v2/terms", None)]

    # The token the library got works, and the homeserver was asked once.
    token = ok(register)["token"]
    assert wire(register) == [("POST", "/v2/account/register",
                               openid(homeserver))]
    assert [c.path for c in homeserver.calls()] == [USERINFO + "openid-tok"]
    status, _, body = d.request("GET", V2 + "/account",
                                headers={"Authorization": "Bearer " + token})
    assert (status, body) == (200, {"user_id": "@alice:%s" % homeserver.name})

    # Before the terms are accepted, the calls that need them are refused
    # and the library rejects with the errcode.
    assert failed(early_details) == (403, "M_TERMS_NOT_SIGNED")
    assert failed(early_lookup) == (403, "M_TERMS_NOT_SIGNED")
    assert ok(agree) == {}
    assert wire(agree) == [("POST", "/v2/terms",
                            {"user_accepts": [terms_url]})]
    assert agree["wire"][0]["authorization"] == "Bearer " + token

    details = ok(details)
    assert details["algorithms"] == ["sha256", "none"]
    pepper = details["lookup_pepper"]
    assert pepper

    def hashed_lookup(*pairs):
        """The two requests a lookup sends when sha256 is offered."""
        return [("GET", "/v2/hash_details", None),
                ("POST", "/v2/lookup", {
                    "pepper": pepper, "algorithm": "sha256",
                    "addresses": [sha256_b64(a, m, pepper)
                                  for a, m in pairs]})]

    assert ok(hashed) == [
        {"address": "alice@example.com", "mxid": "@alice:example.org"},
        {"address": "18005552067", "mxid": "@phone:example.org"}]
    assert wire(hashed) == hashed_lookup(("alice@example.com", "email"),
                                         ("18005552067", "msisdn"),
                                         ("carol@example.com", "email"))
    assert all(w["authorization"] == "Bearer " + token
               for w in hashed["wire"])

    assert ok(bob) == {"address": "bob@example.com", "medium": "email",
                       "mxid": "@bob:other.org"}
    assert wire(bob) == hashed_lookup(("bob@example.com", "email"))
    assert ok(nobody) == {}

    assert ok(bulk) == {"threepids": [
        ["email", "alice@example.com", "@alice:example.org"],
        ["msisdn", "18005552067", "@phone:example.org"]]}
    assert wire(bulk) == hashed_lookup(("alice@example.com", "email"),
                                       ("18005552067", "msisdn"),
                                       ("nobody@example.com", "email"))

    # Every sha256 answer came from the index: the webapp was only listed.
    assert webapp.calls(BULK) == []
    assert {c.path for c in webapp.calls()} == {LIST}


def test_none_through_the_webapp(node, start, webapp, homeserver):
    d = start(config(webapp))
    homeserver.always(USERINFO + "openid-tok",
                      Reply(200, {"sub": "@alice:%s" % homeserver.name}))
    # The library lowercases addresses before a lookup (as Element does),
    # so the webapp is asked for john@example.org, not John@Example.org.
    users = {("email", "john@example.org"): "john",
             ("msisdn", "18005552067"): "phone"}
    webapp.dynamic(BULK, lambda j: Reply(200, {"lookup": [
        dict(q, id={"type": "localpart",
                    "value": users[(q["medium"], q["address"])]})
        for q in j["lookup"] if (q["medium"], q["address"]) in users]}))
    r = run_client(node, d, [
        step("registerWithIdentityServer", openid(homeserver)),
        step("getTerms", "$IS", d.base),
        step("getIdentityHashDetails", "$token"),
        step("lookupThreePid", "email", "John@Example.org", "$token"),
        step("bulkLookupThreePids", [["email", "John@Example.org"],
                                     ["msisdn", "18005552067"],
                                     ["email", "nobody@example.org"]],
             "$token"),
    ])
    register, terms, details, john, bulk = r
    ok(register)
    assert ok(terms) == {"policies": {}}
    # No listing endpoint: no index, so sha256 is not offered and the
    # library falls back to none.
    details = ok(details)
    assert details["algorithms"] == ["none"]
    pepper = details["lookup_pepper"]

    # The library maps the answer back to the address as the caller wrote it.
    assert ok(john) == {"address": "John@Example.org", "medium": "email",
                        "mxid": "@john:example.org"}
    assert wire(john) == [
        ("GET", "/v2/hash_details", None),
        ("POST", "/v2/lookup", {"pepper": pepper, "algorithm": "none",
                                "addresses": ["john@example.org email"]})]
    assert ok(bulk) == {"threepids": [
        ["email", "John@Example.org", "@john:example.org"],
        ["msisdn", "18005552067", "@phone:example.org"]]}
    assert wire(bulk)[1][2]["addresses"] == [
        "john@example.org email", "18005552067 msisdn",
        "nobody@example.org email"]

    # Signpost forwarded the none lookups to the webapp's bulk endpoint,
    # addresses exactly as the library sent them. (Only the first call is
    # exact: a cache may answer john@example.org again without the webapp.)
    calls = [c.json["lookup"] for c in webapp.calls(BULK)]
    assert calls[0] == [{"medium": "email", "address": "john@example.org"}]
    assert {(q["medium"], q["address"]) for c in calls for q in c} == {
        ("email", "john@example.org"), ("msisdn", "18005552067"),
        ("email", "nobody@example.org")}


def test_refusals(node, start, webapp, homeserver):
    d = start(config(webapp))
    homeserver.always(USERINFO + "stolen",
                      Reply(401, {"errcode": "M_UNKNOWN_TOKEN"}))
    r = run_client(node, d, [
        # The homeserver does not vouch for this OpenID token.
        step("registerWithIdentityServer", openid(homeserver, "stolen")),
        # An identity token Signpost never issued.
        step("getIdentityHashDetails", "made-up"),
        step("lookupThreePid", "email", "alice@example.com", "made-up"),
        step("agreeToTerms", "$IS", d.base, "made-up", []),
    ])
    register, details, lookup, agree = r
    assert failed(register) == (401, "M_UNAUTHORIZED")
    assert [c.path for c in homeserver.calls()] == [USERINFO + "stolen"]
    assert failed(details) == (401, "M_UNAUTHORIZED")
    assert failed(lookup) == (401, "M_UNAUTHORIZED")
    # A failed hash_details ends the lookup before any /v2/lookup.
    assert wire(lookup) == [("GET", "/v2/hash_details", None)]
    assert failed(agree) == (401, "M_UNAUTHORIZED")
    assert webapp.calls() == []
