"""Web forms pass the one input boundary too: a NUL in any field is a 422 naming the field, shown
as HTML, and nothing is stored (privacy center and console; SQLite and PostgreSQL).

A lone surrogate cannot arrive in a form (Starlette decodes form bodies leniently, so invalid
UTF-8 becomes replacement characters); the boundary checks for it all the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rujai.audit import service as audit_service
from rujai.kit.time import utcnow
from rujai.personalize import offers as offers_service
from rujai.rights import notifier
from rujai.rights.models import RightsRequest, VerificationCode
from rujai.staff import service as staff
from rujai.writer import session_scope
from tests.web.conftest import csrf_of

PASSWORD = "marketer-pass-0001"


def _field_named(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f"<code>{field}</code>" in response.text


def _count(factory: Any, model: Any) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_nul_in_the_sign_in_form_is_422_naming_it_and_sends_nothing(web_client, factory, keyring):
    token = csrf_of(web_client.get("/privacy/").text)
    form = {"identifier": "C-100\x00", "csrf_token": token}
    _field_named(web_client.post("/privacy/sign-in", data=form), "identifier")
    assert _count(factory, VerificationCode) == 0
    with session_scope(factory) as s:
        assert notifier.list_outbox(s, keyring=keyring, now=datetime.now(UTC), actor="t") == []


def test_a_nul_in_a_request_form_is_422_naming_it_and_stores_no_request(signed_in, factory):
    token = csrf_of(signed_in.get("/privacy/data").text)
    form = {"kind": "rectification", "trait": "first_name", "value": "ส\x00", "csrf_token": token}
    response = signed_in.post("/privacy/requests", data=form, headers={"HX-Request": "true"})
    _field_named(response, "value")
    assert _count(factory, RightsRequest) == 0


@pytest.fixture
def marketer(factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One marketer (argon2id with small parameters, as in test_console)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(staff, "_hasher", cheap)
    body = {"username": "marketer", "display_name": "M", "role": "marketer", "password": PASSWORD}
    with session_scope(factory) as s:
        staff.create(s, body=staff.StaffCreate.model_validate(body), now=utcnow(), actor="test")


def _console_token(client: TestClient, path: str) -> str:
    return csrf_of(client.get(path).text)


def test_a_nul_in_the_console_login_is_422_naming_it_without_a_sign_in(web_client, marketer):
    form = {"username": "marketer\x00", "password": PASSWORD}
    form["csrf_token"] = _console_token(web_client, "/console/login")
    response = web_client.post("/console/login", data=form, headers={"HX-Request": "true"})
    _field_named(response, "username")
    with session_scope(web_client.app.state.session_factory) as s:
        assert audit_service.list_entries(s, action="staff.login") == []


def test_a_nul_in_a_console_offer_form_is_422_naming_it_and_stores_no_offer(
    web_client, marketer, factory
):
    form = {"username": "marketer", "password": PASSWORD}
    form["csrf_token"] = _console_token(web_client, "/console/login")
    signed = web_client.post("/console/login", data=form, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    offer = {
        "id": "rainy-season",
        "kind": "coupon",
        "title.th": "คูปอง\x00",
        "title.en": "Coupon",
        "variant.default.th": "ลด 10%",
        "variant.default.en": "10% off",
        "csrf_token": _console_token(web_client, "/console/offers/new"),
    }
    response = web_client.post("/console/offers/new", data=offer, headers={"HX-Request": "true"})
    _field_named(response, "title.th")
    with session_scope(factory) as s:
        assert offers_service.list_offers(s) == []
