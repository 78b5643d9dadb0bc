"""Every error is a problem document (400, 404, 405 with Allow, 413, 415, 422, 500) and the OpenAPI
document declares each one an operation may answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rujai.config import Settings
from rujai.main import create_app

PROBLEM = "application/problem+json"
PROBLEM_REF = {"schema": {"$ref": "#/components/schemas/Problem"}}


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_an_unknown_path_is_a_404_problem(api):
    response = api.get("/v1/nothing-here")
    assert (response.status_code, response.headers["content-type"]) == (404, PROBLEM)
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/check", "POST"),
        ("PUT", "/v1/items", "GET, POST"),
        ("POST", "/v1/items/SKU-1", "GET, PATCH"),
        ("PUT", "/v1/offers/welcome", "DELETE, GET, PATCH"),
    ],
)
def test_a_wrong_method_is_a_405_problem_with_every_allowed_method(api, method, path, allow):
    response = api.request(method, path)
    assert (response.status_code, response.headers["content-type"]) == (405, PROBLEM)
    assert response.headers["allow"] == allow
    assert response.json()["error"] == "method_not_allowed"


def test_a_body_over_the_limit_is_a_413_problem_naming_body(settings):
    settings.api.max_body_bytes = 1024
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/batch", content=b"x" * 2048)
    assert (response.status_code, response.headers["content-type"]) == (413, PROBLEM)
    assert response.json()["field"] == "body"


def test_a_bug_is_a_500_problem_that_says_nothing_about_it(app):
    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret detail C-0001")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom")
    assert (response.status_code, response.headers["content-type"]) == (500, PROBLEM)
    assert response.json()["error"] == "internal"
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text


def test_every_operation_declares_its_problems_in_openapi(app):
    spec = app.openapi()
    assert spec["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]
    operations = [
        (f"{method.upper()} {path}", op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]
    assert len(operations) > 30
    for name, operation in operations:
        wanted = {"404", "405", "422", "500"}
        if "requestBody" in operation:
            wanted |= {"400", "413", "415"}
        if operation.get("security"):
            wanted |= {"401", "403"}
        answers = operation["responses"]
        assert wanted <= set(answers), name
        for status, answer in answers.items():
            if status[0] in "45":
                assert answer["content"] == {PROBLEM: PROBLEM_REF}, f"{name} {status}"


def test_protected_operations_are_the_ones_with_security_in_openapi(app):
    """The schemathesis run trusts ``security`` to tell which operations need a key."""
    spec = app.openapi()
    public = sorted(
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if not op.get("security")
    )
    assert public == ["GET /healthz", "GET /v1/notice", "GET /v1/purposes"]
