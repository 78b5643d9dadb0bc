"""A customer the brand imported with a verified e-mail signs in to the privacy center
(TH-DSR-00: codes go only to a verified identity on file; TH-SEC-01: recorded with evidence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from rujai.apikeys import service as apikeys_service
from rujai.audit import service as audit_service
from rujai.profiles.models import Identity
from rujai.writer import session_scope
from tests.web.conftest import sign_in

EMAIL = "napat.sukjai@example.com"
CUSTOMER = "C-IMP-501"


def _admin(factory) -> dict[str, str]:
    with session_scope(factory) as s:
        key = apikeys_service.create(
            s, name="brand import", scopes=["admin"], now=datetime.now(UTC)
        )
    return {"Authorization": f"Bearer {key.key}"}


def _import(web_client, factory, **overrides):
    body = {
        "kind": "email", "value": EMAIL, "method": "email_link", "evidence_ref": "crm-7781",
        "verified_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
    } | overrides  # fmt: skip
    return web_client.post(
        f"/v1/subjects/{CUSTOMER}/identities/verified", json=body, headers=_admin(factory)
    )


def test_imported_verified_customer_signs_in_with_the_code_from_the_outbox(
    web_client, factory, keyring
):
    """TH-DSR-00, TH-SEC-01: an imported customer (not a seeded one) gets a code and signs in."""
    created = _import(web_client, factory)
    assert created.status_code == 201, created.text
    assert created.json()["method"] == "email_link"
    assert EMAIL not in created.text  # the answer never carries the value
    sign_in(web_client, factory, keyring, EMAIL)  # the code is read from the outbox
    page = web_client.get("/privacy/consents")
    assert page.status_code == 200
    with session_scope(factory) as s:
        row = s.scalars(select(Identity)).one()
        assert (row.is_verified, row.verification_method) == (True, "email_link")
        assert row.verification_ref == "crm-7781"
        [entry] = audit_service.list_entries(s, action="identity.verified_imported")
    assert EMAIL not in str(entry.detail)
    assert entry.detail["method"] == "email_link"


def test_unverified_identity_gets_no_code(web_client, factory, keyring):
    """TH-DSR-00: an identity linked without verification receives nothing."""
    from rujai.profiles import identities, service as profiles_service

    with session_scope(factory) as s:
        subject = profiles_service.get_or_create(
            s, keyring=keyring, customer_id=CUSTOMER, now=datetime.now(UTC)
        )
        identities.add_identity(
            s, keyring=keyring, subject_id=subject.id, kind="email", value=EMAIL,
            verified=False, now=datetime.now(UTC),
        )  # fmt: skip
    token = web_client.get("/privacy/").text
    from tests.web.conftest import csrf_of

    sent = web_client.post(
        "/privacy/sign-in", data={"identifier": EMAIL, "csrf_token": csrf_of(token)}
    )
    assert sent.status_code == 200
    with session_scope(factory) as s:
        assert not [e for e in audit_service.list_entries(s, action="rights.sign_in.started")
                    if e.outcome == "sent"]  # fmt: skip


def test_future_verified_at_is_refused_naming_the_field(web_client, factory):
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    refused = _import(web_client, factory, verified_at=future)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["field"] == "verified_at"


def test_naive_verified_at_and_bad_method_are_refused(web_client, factory):
    naive = _import(web_client, factory, verified_at="2026-01-02T03:04:05")
    assert naive.status_code == 422
    assert "verified_at" in naive.text
    method = _import(web_client, factory, method="guessed")
    assert method.status_code == 422
    assert "method" in method.text


def test_identity_held_by_another_customer_is_refused(web_client, factory):
    assert _import(web_client, factory).status_code == 201
    other = web_client.post(
        "/v1/subjects/C-IMP-999/identities/verified",
        json={"kind": "email", "value": EMAIL.upper(), "method": "sms_otp",
              "verified_at": datetime.now(UTC).isoformat()},
        headers=_admin(factory),
    )  # fmt: skip
    assert other.status_code == 409
    assert EMAIL not in other.text.lower()


def test_batch_keeps_the_good_items_and_names_the_field_of_each_bad_one(
    web_client, factory, keyring
):
    """TH-SEC-01: per-item errors; the good items are recorded and their customers can sign in."""
    when = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    items = [
        {"customer_id": "C-IMP-601", "kind": "email", "value": "pim.boonmee@example.com",
         "verified_at": when, "method": "brand_import"},
        {"customer_id": "C-IMP-602", "kind": "phone", "value": "0812345678",
         "verified_at": "2026-01-01T00:00:00", "method": "sms_otp"},
        {"customer_id": "C-IMP-603", "kind": "email", "value": "bad\u0000@example.com",
         "verified_at": when, "method": "email_link"},
        {"kind": "email", "value": "no.customer@example.com", "verified_at": when,
         "method": "email_link"},
        "not an object",
    ]  # fmt: skip
    answer = web_client.post(
        "/v1/identities/verified", json={"items": items}, headers=_admin(factory)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["recorded"], body["refused"]) == (1, 4)
    assert [(r["status"], r["field"]) for r in body["results"]] == [
        ("recorded", None), ("refused", "verified_at"), ("refused", "value"),
        ("refused", "customer_id"), ("refused", "item"),
    ]  # fmt: skip
    assert "example.com" not in answer.text
    sign_in(web_client, factory, keyring, "pim.boonmee@example.com")
