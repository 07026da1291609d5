"""Always-on endpoints, routing errors and CORS."""

import pytest


@pytest.mark.parametrize("path", ["/_matrix/identity/api/v1",
                                  "/_matrix/identity/v2"])
def test_discovery_endpoints(signpost, path):
    status, hdrs, body = signpost.request("GET", path)
    assert (status, body) == (200, {})
    assert hdrs["Content-Type"] == "application/json"


def test_versions(signpost):
    status, _, body = signpost.request("GET", "/_matrix/identity/versions")
    assert status == 200
    assert isinstance(body["versions"], list) and body["versions"]


def test_unknown_path_is_404_unrecognized(signpost):
    status, hdrs, body = signpost.request("GET", "/_matrix/identity/nope")
    assert (status, body["errcode"]) == (404, "M_UNRECOGNIZED")
    assert hdrs["Access-Control-Allow-Origin"] == "*"


def test_wrong_method_is_405_unrecognized(signpost):
    status, _, body = signpost.request("POST", "/_matrix/identity/versions",
                                       b"{}")
    assert (status, body["errcode"]) == (405, "M_UNRECOGNIZED")
    status, _, body = signpost.request(
        "GET", "/_matrix-internal/identity/v1/check_credentials")
    assert (status, body["errcode"]) == (405, "M_UNRECOGNIZED")


def test_options_answers_cors_on_any_path(signpost):
    status, hdrs, body = signpost.request("OPTIONS", "/anything/at/all")
    assert (status, body) == (200, {})
    assert hdrs["Access-Control-Allow-Origin"] == "*"
    assert hdrs["Access-Control-Allow-Methods"] == \
        "GET, POST, PUT, DELETE, OPTIONS"
    assert hdrs["Access-Control-Allow-Headers"] == \
        "Origin, X-Requested-With, Content-Type, Accept, Authorization"
