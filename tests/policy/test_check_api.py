"""POST /v1/check through the real app, and the HTTP edge: auth, problem+json, 413."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from rujai.apikeys import service as apikeys_service
from rujai.audit.models import AuditEntry
from rujai.writer import session_scope


def _key(factory, *scopes):
    with session_scope(factory) as s:
        return apikeys_service.create(
            s, name="test", scopes=list(scopes), now=datetime.now(UTC)
        ).key


def _auth(key):
    return {"Authorization": f"Bearer {key}"}


def test_check_answers_with_basis_and_reason_in_both_languages(client, factory):
    key = _key(factory, "decide", "consent")
    grant = {
        "purpose": "recommendations",
        "action": "grant",
        "language": "th",
        "channel": "web",
        "actor": "self",
        "notice_version": 1,
        "age_band": "adult",  # TH-MIN-01: the age is known before a profiling grant counts
    }
    body = {"customer_id": "C-3001", "purpose": "recommendations", "categories": ["browsing"]}
    denied = client.post("/v1/check", json=body, headers=_auth(key))
    assert denied.status_code == 200
    assert denied.json()["allowed"] is False
    assert denied.json()["reason"] == "no_consent"
    version = client.get("/v1/purposes").json()
    grant["notice_version"] = next(p for p in version if p["id"] == "recommendations")[
        "notice_version"
    ]
    assert (
        client.post("/v1/subjects/C-3001/consents", json=grant, headers=_auth(key)).status_code
        == 201
    )
    allowed = client.post("/v1/check", json=body, headers=_auth(key)).json()
    assert allowed["allowed"] is True
    assert allowed["lawful_basis"] == "consent"
    assert allowed["reason_text"]["th"]
    assert allowed["reason_text"]["en"]
    assert len(allowed["consent_record_ids"]) == 1


def test_check_needs_a_key_with_the_decide_scope(client, factory):
    body = {"customer_id": "C-3002", "purpose": "analytics", "categories": ["browsing"]}
    assert client.post("/v1/check", json=body).status_code == 401
    track_only = _key(factory, "track")
    response = client.post("/v1/check", json=body, headers=_auth(track_only))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_bad_check_input_names_the_field_and_changes_nothing(client, factory):
    key = _key(factory, "decide")
    with session_scope(factory) as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    response = client.post(
        "/v1/check",
        json={"customer_id": "C-3003", "purpose": "analytics", "categories": []},
        headers=_auth(key),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "categories"
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_oversized_body_gets_413(client, factory, settings):
    key = _key(factory, "decide")
    big = "x" * (settings.api.max_body_bytes + 10)
    response = client.post(
        "/v1/check",
        content=big,
        headers={**_auth(key), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["field"] == "body"


def test_public_endpoints_answer(client):
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/v1/purposes").status_code == 200
    notice = client.get("/v1/notice?lang=th")
    assert notice.status_code == 200
    assert client.get("/docs").status_code == 200
