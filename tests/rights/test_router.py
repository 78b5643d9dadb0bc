"""The rights requests API: scopes, status codes, problem+json naming the field, ZIP copies."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.config import Settings
from rujai.errors import PROBLEM_JSON
from rujai.rights import processing
from rujai.rights.models import VerificationCode
from rujai.writer import session_scope
from tests.rights.test_requests import CUSTOMER, EMAIL, NOW, code_for, person, submit, verified


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The app with the rights router under /v1 (mounted here until main.py does it)."""
    from rujai.main import create_app
    from rujai.rights.router import router

    app = create_app(settings)
    if not any(getattr(route, "path", "").startswith("/v1/requests") for route in app.routes):
        app.include_router(router, prefix="/v1")
    with TestClient(app) as client:
        yield client


def _key(factory: sessionmaker[Session], *scopes: str) -> dict[str, str]:
    with session_scope(factory) as s:
        created = apikeys_service.create(s, name="test shop", scopes=list(scopes), now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


@pytest.fixture
def known(factory, keyring) -> None:
    with session_scope(factory) as s:
        person(s, keyring)


def _problem(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["field"] == field
    return body


def test_submit_returns_201_with_the_deadline_and_no_identifier(api, factory, known):
    body = {"kind": "access", "channel": "api", "customer_id": CUSTOMER, "email": EMAIL}
    response = api.post("/v1/requests", json=body, headers=_key(factory, "consent"))
    assert response.status_code == 201, response.text
    created = response.json()
    received = datetime.fromisoformat(created["received_at"])
    assert datetime.fromisoformat(created["due_at"]) == received + timedelta(days=30)
    assert (created["status"], created["submitted_by"]) == ("received", "subject")
    assert CUSTOMER not in response.text
    assert EMAIL not in response.text


def test_staff_channel_needs_an_admin_key(api, factory, known):
    body = {"kind": "erasure", "channel": "store", "customer_id": CUSTOMER, "staff_ref": "s-1"}
    _problem(api.post("/v1/requests", json=body, headers=_key(factory, "consent")), 403, "channel")
    staff = api.post("/v1/requests", json=body, headers=_key(factory, "admin"))
    assert staff.status_code == 201, staff.text
    assert staff.json()["submitted_by"] == "staff"


def test_refusal_without_a_reason_code_is_422_naming_refusal_code(api, factory, keyring, policy):
    """Acceptance (TH-DSR-00)."""
    with session_scope(factory) as s:
        person(s, keyring)
        request = submit(s, keyring, policy, "erasure")
    url, admin = f"/v1/requests/{request.id}/refuse", _key(factory, "admin")
    _problem(api.post(url, json={}, headers=admin), 422, "refusal_code")
    _problem(api.post(url, json={"refusal_code": "nope"}, headers=admin), 422, "refusal_code")
    refused = api.post(url, json={"refusal_code": "legal_claims"}, headers=admin)
    assert refused.status_code == 200, refused.text
    assert (refused.json()["status"], refused.json()["refusal_code"]) == ("refused", "legal_claims")
    _problem(api.post(url, json={"refusal_code": "legal_claims"}, headers=admin), 409, "status")


def test_queue_needs_admin_and_flags_overdue_requests(api, factory, keyring, policy):
    """Acceptance: a request past its deadline shows as overdue."""
    with session_scope(factory) as s:
        person(s, keyring)
        late = submit(s, keyring, policy, "access", now=datetime.now(UTC) - timedelta(days=31))
    assert api.get("/v1/requests", headers=_key(factory, "consent")).status_code == 403
    response = api.get("/v1/requests?overdue=true", headers=_key(factory, "admin"))
    assert response.status_code == 200, response.text
    assert [(r["id"], r["is_overdue"]) for r in response.json()] == [(str(late.id), True)]
    one = api.get(f"/v1/requests/{late.id}", headers=_key(factory, "consent"))
    assert one.json()["is_overdue"] is True


def test_verification_over_http_counts_wrong_codes_and_runs_a_restriction(
    api, factory, keyring, known
):
    consent = _key(factory, "consent")
    body = {"kind": "restriction", "channel": "privacy_center", "customer_id": CUSTOMER}
    request_id = uuid.UUID(api.post("/v1/requests", json=body, headers=consent).json()["id"])
    started = api.post(f"/v1/requests/{request_id}/verification", json={}, headers=consent)
    assert started.status_code == 200, started.text
    assert started.json()["sent"] is True
    with factory() as s:
        code = code_for(s, keyring, request_id)
    wrong = "000000" if code != "000000" else "111111"
    url = f"/v1/requests/{request_id}/verification/confirm"
    _problem(api.post(url, json={"code": wrong}, headers=consent), 422, "code")
    with factory() as s:
        assert s.scalars(select(VerificationCode.attempts)).one() == 1  # kept despite the 422
    confirmed = api.post(url, json={"code": code}, headers=consent)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed"
    assert confirmed.json()["result"] == {"is_restricted": True}


def test_processing_an_unverified_request_is_409_naming_status(api, factory, keyring, policy):
    with session_scope(factory) as s:
        person(s, keyring)
        request = submit(s, keyring, policy, "erasure")
    response = api.post(f"/v1/requests/{request.id}/process", headers=_key(factory, "admin"))
    _problem(response, 409, "status")
    unknown = api.post(
        "/v1/requests/00000000-0000-4000-8000-000000000000/process",
        headers=_key(factory, "admin"),
    )
    assert unknown.status_code == 404


def test_extension_over_http_once_with_a_reason(api, factory, keyring, policy):
    """EU-01."""
    with session_scope(factory) as s:
        person(s, keyring)
        request = submit(s, keyring, policy, "access", jurisdiction="EU", now=datetime.now(UTC))
    url, admin = f"/v1/requests/{request.id}/extend", _key(factory, "admin")
    _problem(api.post(url, json={"months": 2, "reason": " "}, headers=admin), 422, "reason")
    extended = api.post(url, json={"months": 2, "reason": "complex request"}, headers=admin)
    assert extended.status_code == 200, extended.text
    assert extended.json()["extended_until"] is not None
    again = api.post(url, json={"months": 1, "reason": "still busy"}, headers=admin)
    _problem(again, 409, "extended_until")


def test_export_is_served_as_a_zip_once_the_access_request_is_completed(
    api, factory, keyring, policy
):
    """TH-DSR-01: built on demand, not stored; the delivery is recorded on the request."""
    with session_scope(factory) as s:
        person(s, keyring)
        request = verified(s, keyring, policy, "portability")
    url, consent = f"/v1/requests/{request.id}/export", _key(factory, "consent")
    _problem(api.get(url, headers=consent), 409, "status")
    with session_scope(factory) as s:
        processing.process(
            s, keyring=keyring, policy=policy, request_id=request.id, now=NOW, actor="staff-1"
        )
    response = api.get(url, headers=consent)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    shown = api.get(f"/v1/requests/{request.id}", headers=consent).json()
    assert shown["result"]["deliveries"] == 1
