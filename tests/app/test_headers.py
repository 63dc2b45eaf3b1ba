"""Response headers: no caching of API answers, no device features, HSTS only over (proxied) HTTPS."""

import pytest

from server import SECURITY_HEADERS


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/attempts", "/api/openapi.json"])
def test_security_headers_on_every_answer(client, path):
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/api/health", "/api/attempts", "/api/stats", "/api/nowhere"])
def test_api_answers_are_never_cached(client, path):
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_forwarded_proto_is_ignored_without_a_trusted_proxy(client):
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_behind_a_trusted_proxy_over_https(make_app):
    client = make_app(PROXY_COUNT=1).test_client()
    response = client.get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_clients_forwarded_proto_in_front_of_the_proxy_is_not_trusted(make_app):
    """With one trusted proxy only the last X-Forwarded-Proto counts: the one nginx set ($scheme)."""
    client = make_app(PROXY_COUNT=1).test_client()
    forged = {"X-Forwarded-Proto": "https, http", "X-Forwarded-For": "203.0.113.9, 198.51.100.1"}
    assert "Strict-Transport-Security" not in client.get("/", headers=forged).headers


def test_hsts_over_direct_https(client):
    assert "Strict-Transport-Security" in client.get("/", base_url="https://localhost").headers


def test_the_proxy_names_the_client_address(make_app):
    """Behind PROXY_COUNT=1, client_address() is the address nginx saw, not nginx's own."""
    from server.access.addresses import client_address

    app = make_app(PROXY_COUNT=1)
    seen = []
    app.before_request(lambda: seen.append(client_address()))
    app.test_client().get("/", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert seen == ["203.0.113.9"]
