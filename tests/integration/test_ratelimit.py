"""Rate limits on failed password checks: per user id and per caller
address, answered 429 without asking the webapp once reached, cleared by
a success (per user) or by the end of the window."""

import time

from conftest import HEAD
from fakeapp import Reply

CHECK = "/_matrix-internal/identity/v1/check_credentials"
AUTH = "/_mxisd/identity/api/v1/auth"


def config(webapp, limits):
    return HEAD + """\
rest: {enabled: true, host: "%s"}
auth.rateLimit: {%s}
""" % (webapp.url, limits)


def check(d, user, password="guess"):
    return d.request("POST", CHECK, {"user": {"id": user,
                                              "password": password}})


def password_is(good):
    """The webapp: right only for the password good."""
    def answer(j):
        if j["auth"]["password"] == good:
            return Reply(200, {"auth": {"success": True, "id": {
                "type": "localpart", "value": j["auth"]["localpart"]}}})
        return Reply(200, {"auth": {"success": False}})
    return answer


def test_per_user_limit(start, webapp):
    webapp.dynamic(AUTH, password_is("right"))
    d = start(config(webapp, "maxFailuresPerUser: 3, window: 2"))
    t0 = time.monotonic()
    for _ in range(3):
        st, _, body = check(d, "@a:example.org")
        assert (st, body["auth"]["success"]) == (200, False)
    st, _, body = check(d, "@a:example.org", "right")
    assert st == 429 and body["errcode"] == "M_LIMIT_EXCEEDED"
    assert 0 < body["retry_after_ms"] <= 2000
    assert len(webapp.calls(AUTH)) == 3  # the fourth never reached it
    # Others are not affected.
    assert check(d, "@b:example.org", "right")[2]["auth"]["success"]
    # The window ends; the webapp is asked again.
    deadline = t0 + 6
    while check(d, "@a:example.org", "right")[0] == 429:
        assert time.monotonic() < deadline, "still limited"
        time.sleep(0.1)
    assert time.monotonic() - t0 >= 1.9


def test_success_clears_the_users_count(start, webapp):
    webapp.dynamic(AUTH, password_is("right"))
    d = start(config(webapp, "maxFailuresPerUser: 3"))
    for password in ("x", "y", "right", "x", "y"):
        assert check(d, "@a:example.org", password)[0] == 200
    assert check(d, "@a:example.org", "z")[0] == 200
    assert check(d, "@a:example.org", "z")[0] == 429


def test_per_address_limit(start, webapp):
    webapp.dynamic(AUTH, password_is("right"))
    d = start(config(webapp, "maxFailuresPerUser: 0, "
                     "maxFailuresPerAddress: 2"))
    assert check(d, "@a:example.org")[0] == 200
    assert check(d, "@b:example.org")[0] == 200
    st, _, body = check(d, "@c:example.org", "right")
    assert st == 429 and body["errcode"] == "M_LIMIT_EXCEEDED"
    assert len(webapp.calls(AUTH)) == 2


def test_webapp_errors_do_not_count(start, webapp):
    webapp.always(AUTH, Reply(500, {}))
    d = start(config(webapp, "maxFailuresPerUser: 1"))
    for _ in range(3):
        assert check(d, "@a:example.org")[0] == 502
    assert len(webapp.calls(AUTH)) == 3


def test_limits_off(start, webapp):
    webapp.dynamic(AUTH, password_is("right"))
    d = start(config(webapp, "maxFailuresPerUser: 0"))
    for _ in range(15):
        assert check(d, "@a:example.org")[0] == 200
    assert len(webapp.calls(AUTH)) == 15
