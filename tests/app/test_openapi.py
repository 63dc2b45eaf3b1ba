"""The served OpenAPI description stays true to the app."""

import re

import pytest
from openapi_spec_validator import validate

from server.api.openapi import SPEC


def test_spec_is_valid_openapi(client):
    served = client.get("/api/openapi.json").json
    assert served == SPEC
    validate(served)


def flask_paths(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api") or rule.rule == "/healthz":
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            routes |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_every_route_is_documented_and_every_documented_route_exists(app):
    documented = {(path, method) for path, item in SPEC["paths"].items() for method in item}
    assert documented == flask_paths(app)


CALLS = pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", "/api/predict", {"json": {"image": "@@"}}),
        ("post", "/api/number", {"json": {"image": "@@"}}),
        ("get", "/api/attempts", {}),
        ("get", "/api/attempts", {"query_string": {"limit": 0}}),
        ("get", "/api/attempts/{attempt_id}", {}),
        ("get", "/api/attempts/{attempt_id}/image", {}),
        ("delete", "/api/attempts/{attempt_id}", {}),
        ("get", "/api/attempts/{attempt_id}", {"headers": {"X-Owner-Token": "not-its-token"}}),
        ("put", "/api/attempts/{attempt_id}/label", {"json": {"label": 3}}),
        ("get", "/api/stats", {}),
        ("get", "/api/openapi.json", {}),
        ("get", "/healthz", {}),
        ("get", "/api/models", {}),
        ("post", "/api/models/{version}/activate", {}),
        ("post", "/api/models/rollback", {}),
        ("delete", "/api/models/{version}", {}),
        ("get", "/api/retrain", {}),
        ("put", "/api/attempts/{attempt_id}/hidden", {"json": {"hidden": True}}),
        ("put", "/api/attempts/{attempt_id}/hidden", {"json": {"hidden": "yes"}}),
        ("get", "/api/rooms/{code}/attempts.csv", {}),
        ("get", "/api/rooms/{code}/drawings.zip", {}),
        ("get", "/api/rooms/{code}/attempts.csv", {"path": "/api/rooms/a-code-far-too-long/attempts.csv"}),
    ],
)


def assert_documented_status(client, method: str, path: str, kwargs: dict) -> None:
    url = path.replace("{attempt_id}", "00000000-0000-4000-8000-000000000000").replace("{version}", "no-such-version")
    kwargs = dict(kwargs)
    url = kwargs.pop("path", url.replace("{code}", "123456"))  # a call may name its own (malformed) path
    response = getattr(client, method)(url, **kwargs)
    assert str(response.status_code) in SPEC["paths"][path][method]["responses"], response.status_code


@CALLS
def test_real_responses_use_documented_status_codes(client, method, path, kwargs):
    assert_documented_status(client, method, path, kwargs)


@CALLS
def test_responses_while_the_store_is_down_use_documented_status_codes(store_down_app, method, path, kwargs):
    assert_documented_status(store_down_app.test_client(), method, path, kwargs)


@CALLS
def test_responses_without_the_teacher_key_use_documented_status_codes(anonymous, method, path, kwargs):
    assert_documented_status(anonymous, method, path, kwargs)


def test_protected_routes_name_their_security_schemes():
    schemes = set(SPEC["components"]["securitySchemes"])
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            for requirement in operation.get("security", []):
                assert set(requirement) <= schemes, (path, method)
            if operation.get("security"):
                assert "401" in operation["responses"], (path, method)
    assert SPEC["paths"]["/api/attempts"]["get"]["security"] == [{"teacherKey": []}]
    assert "security" not in SPEC["paths"]["/api/predict"]["post"], "drawing needs no key"


def test_health_has_the_documented_fields(client):
    health = client.get("/healthz").json
    documented = SPEC["components"]["schemas"]["Health"]["properties"]
    assert set(health) == set(documented)
    for part in ("model", "store"):
        assert set(health[part]) == set(documented[part]["properties"]), part
    assert set(health["model"]["workers"]) == set(documented["model"]["properties"]["workers"]["properties"])
