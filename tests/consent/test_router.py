"""The consent API: scopes, status codes, fields named in errors, and no personal data at rest."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.audit.models import AuditEntry
from rujai.consent.models import ConsentRecord
from rujai.consent.receipts import verify_receipt
from rujai.profiles.models import Subject
from tests.consent.helpers import stored_text
from tests.factories import NOW

CUSTOMER = "C-API-0001"
URL = f"/v1/subjects/{CUSTOMER}/consents"
USER_AGENT = "RujaiTestBrowser/1.0 (fictional)"


def _key(factory: sessionmaker[Session], *scopes: str) -> dict[str, str]:
    with factory() as s, s.begin():
        created = apikeys_service.create(s, name="test shop", scopes=list(scopes), now=NOW)
    return {"Authorization": f"Bearer {created.key}", "User-Agent": USER_AGENT}


def _grant(purpose: str = "recommendations", **overrides) -> dict:
    body = {
        "purpose": purpose,
        "action": "grant",
        "language": "th",
        "channel": "web",
        "actor": "self",
        "notice_version": 1,
        "explicit": False,
        "age_band": "adult",  # the customer says they are of full age (TH-MIN-01)
    }
    return {**body, **overrides}


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) or 0
            for m in (ConsentRecord, Subject, AuditEntry)
        )


def test_post_consent_returns_201_and_a_signed_receipt(client, factory, keyring):
    response = client.post(URL, json=_grant(), headers=_key(factory, "consent"))
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert verify_receipt(keyring, receipt)
    assert receipt["purpose"] == "recommendations"
    assert CUSTOMER not in response.text


def test_get_consents_returns_the_status_and_the_history(client, factory):
    headers = _key(factory, "consent")
    client.post(URL, json=_grant(), headers=headers)
    withdraw = {
        "purpose": "recommendations",
        "action": "withdraw",
        "language": "th",
        "channel": "web",
    }
    assert client.post(URL, json=withdraw, headers=headers).status_code == 201
    response = client.get(URL, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = {p["purpose"]: p["status"] for p in body["current"]["purposes"]}
    assert statuses["recommendations"] == "withdrawn"
    assert statuses["analytics"] == "none"
    assert [r["action"] for r in body["history"]] == ["grant", "withdraw"]


def test_get_consents_is_404_when_the_customer_is_unknown(client, factory):
    response = client.get("/v1/subjects/C-API-404/consents", headers=_key(factory, "consent"))
    assert response.status_code == 404
    assert "C-API-404" not in response.text


def test_consent_api_is_401_without_a_key(client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, json=_grant()).status_code == 401


def test_consent_api_is_403_with_a_track_only_key(client, factory):
    headers = _key(factory, "track")
    assert client.get(URL, headers=headers).status_code == 403
    assert client.post(URL, json=_grant(), headers=headers).status_code == 403


def test_post_with_a_bad_purpose_is_422_naming_the_field_and_changes_nothing(client, factory):
    headers = _key(factory, "consent")
    before = _counts(factory)
    response = client.post(URL, json=_grant("spam"), headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "purpose"
    assert _counts(factory) == before == (0, 0, 1)  # only the key creation was audited


def test_post_with_a_bad_action_is_422_naming_the_field_and_changes_nothing(client, factory):
    headers = _key(factory, "consent")
    before = _counts(factory)
    response = client.post(URL, json=_grant(action="maybe"), headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "action"
    assert _counts(factory) == before


def test_post_for_an_old_notice_version_is_409_naming_the_field(client, factory):
    """TH-CON-04: personalized_offers is at notice version 2."""
    headers = _key(factory, "consent")
    response = client.post(URL, json=_grant("personalized_offers"), headers=headers)
    assert response.status_code == 409
    assert response.json()["field"] == "notice_version"
    assert _counts(factory)[0] == 0


def test_no_raw_ip_user_agent_or_customer_id_is_stored(client, factory):
    headers = _key(factory, "consent")
    assert client.post(URL, json=_grant(), headers=headers).status_code == 201
    with factory() as s:
        stored = stored_text(s, "consent_record") + stored_text(s, "audit_entry")
        row = s.scalars(select(ConsentRecord)).one()
    assert row.evidence_ip_hash is not None
    assert row.evidence_ua_hash is not None
    for raw in (CUSTOMER, "testclient", USER_AGENT, "RujaiTestBrowser"):
        assert raw not in stored
