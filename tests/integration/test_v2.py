"""Identity Service v2: OpenID registration against a fake HTTPS homeserver,
accounts, terms, hash_details and lookups (none through the webapp's bulk
endpoint, sha256 from the index built from the listing endpoint)."""

import json
import os
import sqlite3
import urllib.request

from conftest import (BULK, HEAD, LIST, USERINFO, V2, serve_listing,
                      sha256_b64, wait_for_log)
from fakeapp import Reply


def config(webapp, extra=""):
    return HEAD + """\
rest: {enabled: true, host: "%s"}
federation: {tlsVerify: false, allowPrivateAddresses: true}
%s""" % (webapp.url, extra)


def register(d, hs, token="openid-tok", user=None):
    hs.always(USERINFO + token, Reply(200, {
        "sub": user or "@alice:%s" % hs.name}))
    return d.request("POST", V2 + "/account/register", {
        "access_token": token, "token_type": "Bearer",
        "matrix_server_name": hs.name, "expires_in": 3600})


def auth(token):
    return {"Authorization": "Bearer " + token}


def test_register_account_logout(start, webapp, homeserver, tmp_path):
    d = start(config(webapp))
    status, _, body = register(d, homeserver)
    assert status == 200
    token = body["token"]
    [call] = homeserver.calls()
    assert call.method == "GET"
    assert call.path == USERINFO + "openid-tok"
    status, _, body = d.request("GET", V2 + "/account", headers=auth(token))
    assert (status, body) == (200, {"user_id": "@alice:%s" % homeserver.name})
    # Synapse sends the token in the query string.
    status, _, body = d.request("GET", V2 + "/account?access_token=" + token)
    assert status == 200
    # Stored hashed, never in clear.
    with sqlite3.connect(str(tmp_path / "signpost.db")) as db:
        dump = "\n".join(db.iterdump())
    assert token not in dump
    assert d.request("POST", V2 + "/account/logout", b"{}",
                     auth(token))[0] == 200
    status, _, body = d.request("GET", V2 + "/account", headers=auth(token))
    assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED")
    assert "openid-tok" not in d.logs() and token not in d.logs()


def test_register_refusals(start, webapp, homeserver):
    d = start(config(webapp))
    # The homeserver vouches for a user of another server.
    status, _, body = register(d, homeserver, user="@mallory:evil.org")
    assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED")
    # The homeserver refuses the token.
    homeserver.always(USERINFO + "bad", Reply(401, {"errcode": "M_X"}))
    status, _, body = d.request("POST", V2 + "/account/register", {
        "access_token": "bad", "matrix_server_name": homeserver.name})
    assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED")
    for bad in ["not a server", "exa mple.org", "[::1", "a/b"]:
        status, _, body = d.request("POST", V2 + "/account/register", {
            "access_token": "x", "matrix_server_name": bad})
        assert (status, body["errcode"]) == (400, "M_INVALID_PARAM")
    status, _, body = d.request("POST", V2 + "/account/register",
                                {"access_token": "x"})
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAMS")


def test_private_homeserver_refused_by_default(start, webapp, homeserver):
    d = start(HEAD + """\
federation: {tlsVerify: false}
""")
    status, _, body = register(d, homeserver)
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")
    assert homeserver.calls() == []
    assert "non-public address" in d.logs()


def test_allowed_servers(start, webapp, homeserver):
    d = start(config(webapp).replace(
        "federation: {", "federation: {allowedServers: [matrix.org], "))
    status, _, body = register(d, homeserver)
    assert (status, body["errcode"]) == (403, "M_FORBIDDEN")


def test_authentication_required(start, webapp):
    d = start(config(webapp))
    for method, path in [("GET", "/account"), ("POST", "/account/logout"),
                         ("GET", "/hash_details"), ("POST", "/lookup"),
                         ("POST", "/terms")]:
        status, _, body = d.request(method, V2 + path,
                                    b"{}" if method == "POST" else None)
        assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED"), path
        status, _, body = d.request(method, V2 + path,
                                    b"{}" if method == "POST" else None,
                                    auth("made-up"))
        assert (status, body["errcode"]) == (401, "M_UNAUTHORIZED"), path


TERMS = """\
policy:
  policies:
    privacy:
      version: "1.0"
      terms:
        en: {name: Privacy, url: "https://example.org/privacy-en.html"}
        fr: {name: Confidentialité, url: "https://example.org/privacy-fr.html"}
"""


def test_terms_gate(start, webapp, homeserver):
    d = start(config(webapp, TERMS))
    status, _, body = d.request("GET", V2 + "/terms")
    assert status == 200
    assert body == {"policies": {"privacy": {
        "version": "1.0",
        "en": {"name": "Privacy", "url": "https://example.org/privacy-en.html"},
        "fr": {"name": "Confidentialité",
               "url": "https://example.org/privacy-fr.html"}}}}
    token = register(d, homeserver)[2]["token"]
    status, _, body = d.request("GET", V2 + "/hash_details",
                                headers=auth(token))
    assert (status, body["errcode"]) == (403, "M_TERMS_NOT_SIGNED")
    # /account works before the terms are accepted.
    assert d.request("GET", V2 + "/account", headers=auth(token))[0] == 200
    assert d.request("POST", V2 + "/terms", {"user_accepts": [
        "https://example.org/other.html"]}, auth(token))[0] == 200
    assert d.request("GET", V2 + "/hash_details",
                     headers=auth(token))[0] == 403
    assert d.request("POST", V2 + "/terms", {"user_accepts": [
        "https://example.org/privacy-fr.html"]}, auth(token))[0] == 200
    assert d.request("GET", V2 + "/hash_details",
                     headers=auth(token))[0] == 200


def test_no_terms_configured(start, webapp):
    d = start(config(webapp))
    assert d.request("GET", V2 + "/terms")[2] == {"policies": {}}


def test_none_lookup_through_bulk(start, webapp, homeserver):
    d = start(config(webapp))
    token = register(d, homeserver)[2]["token"]
    status, _, details = d.request("GET", V2 + "/hash_details",
                                   headers=auth(token))
    assert status == 200
    # No listing endpoint: sha256 is not offered.
    assert details["algorithms"] == ["none"]
    pepper = details["lookup_pepper"]
    webapp.reply(BULK, Reply(200, {"lookup": [
        {"medium": "email", "address": "John+x@Example.org",
         "id": {"type": "localpart", "value": "john"}}]}))
    status, _, body = d.request("POST", V2 + "/lookup", {
        "algorithm": "none", "pepper": pepper,
        "addresses": ["John+x@Example.org email", "nobody@example.org email"]},
        auth(token))
    assert status == 200
    assert body == {"mappings": {
        "John+x@Example.org email": "@john:example.org"}}
    assert webapp.calls(BULK)[0].json == {"lookup": [
        {"medium": "email", "address": "John+x@Example.org"},
        {"medium": "email", "address": "nobody@example.org"}]}

    def lookup(**kw):
        req = {"algorithm": "none", "pepper": pepper, "addresses": []}
        req.update(kw)
        return d.request("POST", V2 + "/lookup", req, auth(token))

    status, _, body = lookup(pepper="wrong")
    assert status == 400
    assert body["errcode"] == "M_INVALID_PEPPER"
    assert body["lookup_pepper"] == pepper
    assert body["algorithm"] == "none"
    assert lookup(algorithm="md5")[2]["errcode"] == "M_INVALID_PARAM"
    assert lookup(algorithm="sha256")[2]["errcode"] == "M_INVALID_PARAM"
    assert lookup(addresses=["noseparator"])[2]["errcode"] == \
        "M_INVALID_PARAM"
    assert lookup(addresses=[1])[2]["errcode"] == "M_INVALID_PARAM"
    status, _, body = d.request("POST", V2 + "/lookup", {"pepper": pepper},
                                auth(token))
    assert (status, body["errcode"]) == (400, "M_MISSING_PARAMS")


def test_mappings_keys_once_and_escaped(start, webapp, homeserver):
    """Answers are written directly, not through a JSON library: a key the
    client repeats appears once, and odd characters come back intact."""
    d = start(config(webapp))
    token = register(d, homeserver)[2]["token"]
    pepper = d.request("GET", V2 + "/hash_details",
                       headers=auth(token))[2]["lookup_pepper"]
    odd = 'q"uo\\te\tand\u007f\u00e9@example.org'
    webapp.dynamic(BULK, lambda j: Reply(200, {"lookup": [
        dict(e, id={"type": "localpart", "value": "odd"})
        for e in j["lookup"]]}))
    sent = [odd + " email", "a@example.org email", odd + " email"]
    status, _, raw = d.request("POST", V2 + "/lookup", {
        "algorithm": "none", "pepper": pepper, "addresses": sent},
        dict(auth(token), Accept="application/json"))
    assert status == 200
    assert raw == {"mappings": {odd + " email": "@odd:example.org",
                                "a@example.org email": "@odd:example.org"}}
    # Once in the text itself, not only in the parsed object.
    req = urllib.request.Request(
        d.base + V2 + "/lookup", method="POST", headers=dict(
            auth(token), **{"Content-Type": "application/json"}),
        data=json.dumps({"algorithm": "none", "pepper": pepper,
                         "addresses": sent}).encode())
    text = urllib.request.urlopen(req, timeout=10).read().decode()
    assert text.count('"a@example.org email"') == 1
    assert len(json.loads(text)["mappings"]) == 2


def test_sha256_lookup_from_the_index(start, webapp, homeserver):
    serve_listing(webapp, [
        {"medium": "email", "address": "alice@example.com",
         "id": {"type": "localpart", "value": "alice"}},
        {"medium": "email", "address": "bob@example.com",
         "id": {"type": "mxid", "value": "@bob:other.org"}},
        {"medium": "msisdn", "address": "18005552067",
         "id": {"type": "localpart", "value": "phone"}}])
    d = start(config(webapp).replace(
        'host: "%s"' % webapp.url,
        'host: "%s", endpoints: {identity: {list: %s}}' % (webapp.url, LIST)))
    wait_for_log(d, "hash index built: 3 entries")
    token = register(d, homeserver)[2]["token"]
    details = d.request("GET", V2 + "/hash_details", headers=auth(token))[2]
    assert details["algorithms"] == ["sha256", "none"]
    pepper = details["lookup_pepper"]
    asked = [sha256_b64("alice@example.com", "email", pepper),
             sha256_b64("bob@example.com", "email", pepper),
             sha256_b64("18005552067", "msisdn", pepper),
             sha256_b64("carol@example.com", "email", pepper)]
    status, _, body = d.request("POST", V2 + "/lookup", {
        "algorithm": "sha256", "pepper": pepper, "addresses": asked},
        auth(token))
    assert status == 200
    assert body == {"mappings": {asked[0]: "@alice:example.org",
                                 asked[1]: "@bob:other.org",
                                 asked[2]: "@phone:example.org"}}
    # Paged with the documented body: no "after" on the first page.
    pages = [c.json for c in webapp.calls(LIST)]
    assert pages[0] == {"list": {"limit": 1000}}
    assert pages[1] == {"list": {"after": "2", "limit": 1000}}


def test_failed_index_build_is_retried_soon(start, webapp):
    """A listing that fails at start is asked again after
    lookup.indexRetry, not a whole indexRefresh later."""
    webapp.reply(LIST, Reply(500, {}))
    webapp.always(LIST, Reply(200, {"list": [
        {"medium": "email", "address": "alice@example.com",
         "id": {"type": "localpart", "value": "alice"}}]}))
    d = start(config(webapp, "lookup: {indexRefresh: 600, indexRetry: 1}")
              .replace('host: "%s"' % webapp.url,
                       'host: "%s", endpoints: {identity: {list: %s}}'
                       % (webapp.url, LIST)))
    wait_for_log(d, "trying again in 1 s")
    wait_for_log(d, "hash index built: 1 entries", timeout=10)
    assert len(webapp.calls(LIST)) == 2


def test_pepper_survives_restart(start, webapp, homeserver):
    cfg = config(webapp)
    d = start(cfg)
    token = register(d, homeserver)[2]["token"]
    first = d.request("GET", V2 + "/hash_details", headers=auth(token))[2]
    d.stop()
    d2 = start(cfg)
    second = d2.request("GET", V2 + "/hash_details", headers=auth(token))[2]
    assert second["lookup_pepper"] == first["lookup_pepper"]


def test_pepper_rotation(start, webapp, homeserver):
    serve_listing(webapp, [
        {"medium": "email", "address": "alice@example.com",
         "id": {"type": "localpart", "value": "alice"}}])
    d = start(config(webapp, """\
hashing: {rotationPolicy: per_seconds, delay: 1}
lookup: {indexRefresh: 1}
""").replace('host: "%s"' % webapp.url,
             'host: "%s", endpoints: {identity: {list: %s}}'
             % (webapp.url, LIST)))
    wait_for_log(d, "hash index built")
    token = register(d, homeserver)[2]["token"]
    old = d.request("GET", V2 + "/hash_details",
                    headers=auth(token))[2]["lookup_pepper"]
    wait_for_log(d, "lookup pepper rotated")
    # A client still on the old pepper is told the current one...
    status, _, body = d.request("POST", V2 + "/lookup", {
        "algorithm": "sha256", "pepper": old, "addresses": []}, auth(token))
    assert (status, body["errcode"]) == (400, "M_INVALID_PEPPER")
    assert body["lookup_pepper"] != old
    # ...and its retry with it finds the user in the index built for it
    # (rotation goes on every second, so follow it as a client would).
    pepper = body["lookup_pepper"]
    for _ in range(5):
        h = sha256_b64("alice@example.com", "email", pepper)
        status, _, body = d.request("POST", V2 + "/lookup", {
            "algorithm": "sha256", "pepper": pepper, "addresses": [h]},
            auth(token))
        if status == 200:
            break
        pepper = body["lookup_pepper"]
    assert body == {"mappings": {h: "@alice:example.org"}}
