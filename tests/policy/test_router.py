"""GET /v1/purposes and GET /v1/notice: public, JSON or HTML, bad parameters named in a 422.

The routes are tested on a small app holding only the policy router and the shared error handlers:
they need no database, so the tests stay fast and independent of the other domains.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rujai.errors import PROBLEM_JSON, install_handlers
from rujai.policy.router import router
from rujai.policy.schemas import Policy


@pytest.fixture
def api(policy: Policy) -> Iterator[TestClient]:
    app = FastAPI()
    install_handlers(app)
    app.include_router(router, prefix="/v1")
    app.state.policy = policy
    with TestClient(app) as client:
        yield client


def test_list_purposes_is_public_and_lists_every_purpose(api: TestClient, policy: Policy) -> None:
    response = api.get("/v1/purposes")
    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body] == list(policy.purposes)
    health = next(p for p in body if p["id"] == "health_tailored_offers")
    assert health["sensitive"] is True
    assert health["basis"] == "explicit_consent"
    assert health["title"]["th"] == policy.purposes["health_tailored_offers"].title.th


def test_notice_defaults_to_the_policy_language(api: TestClient, policy: Policy) -> None:
    response = api.get("/v1/notice")
    assert response.status_code == 200
    body = response.json()
    assert body["lang"] == policy.default_language == "th"
    assert body["dpo"]["email"] == "dpo@example.com"
    assert [r["id"] for r in body["rights"]][-1] == "withdraw_consent"


def test_notice_in_english_as_json(api: TestClient) -> None:
    body = api.get("/v1/notice", params={"lang": "en"}).json()
    assert body["lang"] == "en"
    assert body["title"] == "Privacy notice"
    assert body["purposes"][0]["basis_label"] == "Your consent"


def test_notice_as_html_page(api: TestClient) -> None:
    response = api.get("/v1/notice", params={"lang": "en", "format": "html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in response.text
    assert "Privacy notice" in response.text


@pytest.mark.parametrize(("param", "value"), [("lang", "fr"), ("format", "pdf")])
def test_bad_parameter_is_422_naming_it(api: TestClient, param: str, value: str) -> None:
    response = api.get("/v1/notice", params={param: value})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["field"] == param
