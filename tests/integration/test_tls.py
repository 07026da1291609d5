"""HTTPS webapps: certificates are checked by default, a private CA can be
given with rest.caFile, and a failed check is an error, never a login."""


import pytest

from conftest import HEAD
from fakeapp import FakeWebapp, Reply

AUTH = "/_mxisd/identity/api/v1/auth"
CHECK = "/_matrix-internal/identity/v1/check_credentials"
OK = Reply(200, {"auth": {"success": True,
                          "id": {"type": "localpart", "value": "john"}}})


@pytest.fixture
def https_webapp(cert):
    app = FakeWebapp(tls=cert)
    yield app
    app.stop()


def config(url, extra=""):
    return HEAD + """\
rest: {enabled: true, host: "%s"%s}
""" % (url, extra)


def check(d):
    return d.request("POST", CHECK, {"user": {"id": "@john:example.org",
                                              "password": "pw"}})


def test_untrusted_certificate_is_refused_by_default(start, https_webapp):
    https_webapp.always(AUTH, OK)
    d = start(config(https_webapp.url))
    status, _, body = check(d)
    assert (status, body["errcode"]) == (502, "M_UNKNOWN")
    assert "webapp https://127.0.0.1" in d.logs()


def test_private_ca_file_is_trusted(start, https_webapp, cert):
    https_webapp.always(AUTH, OK)
    d = start(config(https_webapp.url, ", caFile: %s" % cert[0]))
    status, _, body = check(d)
    assert (status, body["auth"]["mxid"]) == (200, "@john:example.org")


def test_verification_can_be_turned_off(start, https_webapp):
    https_webapp.always(AUTH, OK)
    d = start(config(https_webapp.url, ", tlsVerify: false"))
    assert check(d)[2]["auth"]["success"] is True
