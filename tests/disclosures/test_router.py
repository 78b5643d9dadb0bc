"""The disclosures API: audience exports, the DPO's log, partner keys; problem+json on bad input."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from rujai.apikeys import service as apikeys_service
from rujai.disclosures.models import Disclosure
from rujai.disclosures.pseudonym import subject_ref
from rujai.errors import PROBLEM_JSON
from rujai.writer import session_scope
from tests.disclosures.helpers import customer
from tests.factories import NOW, make_consent


def _key(factory, *scopes: str) -> dict[str, str]:
    with session_scope(factory) as s:
        created = apikeys_service.create(s, name="test partner", scopes=list(scopes), now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def _problem(response, status: int, *, field: str | None = None, reason: str | None = None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    if field is not None:
        assert body["field"] == field
    if reason is not None:
        assert body["reason"] == reason
    return body


BODY = {
    "recipient": "lumen_mail",
    "purpose": "email_marketing",
    "categories": ["contact", "identity"],
    "customer_ids": ["C-1", "C-2"],
}


@pytest.fixture
def audience(factory, keyring, policy) -> dict[str, uuid.UUID]:
    with session_scope(factory) as s:
        return {
            "C-1": customer(s, keyring, policy, "C-1", grants=("email_marketing",)),
            "C-2": customer(
                s,
                keyring,
                policy,
                "C-2",
                grants=("email_marketing",),
                withdraws=("email_marketing",),
            ),
        }


def test_export_returns_the_file_and_counts_refusals_th_use_01(client, factory, audience):
    response = client.post("/v1/disclosures/exports", json=BODY, headers=_key(factory, "admin"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-rujai-disclosed"] == "1"
    assert response.headers["x-rujai-refused"] == "withdrawn=1"
    records = response.json()["records"]
    assert [r["traits"]["email"] for r in records] == ["somchai.j@example.com"]
    assert "C-1" not in response.text
    assert str(audience["C-1"]) not in response.text


def test_export_as_csv(client, factory, audience):
    body = {**BODY, "format": "csv"}
    response = client.post("/v1/disclosures/exports", json=body, headers=_key(factory, "admin"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0] == "subject_ref,email,first_name,events"


def test_a_refused_recipient_is_403_with_its_reason(client, factory, audience):
    body = {**BODY, "recipient": "swift_delivery"}
    response = client.post("/v1/disclosures/exports", json=body, headers=_key(factory, "admin"))
    problem = _problem(response, 403, reason="recipient_not_for_purpose")
    assert "Siam Swift Delivery Co., Ltd. (TH)" in problem["detail"]
    undeclared = client.post(
        "/v1/disclosures/exports",
        json={**BODY, "recipient": "nobody_ltd"},
        headers=_key(factory, "admin"),
    )
    _problem(undeclared, 403, reason="unknown_recipient")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_ids": ["C-\u0000"]}, "customer_ids.0"),
        ({"customer_ids": []}, "customer_ids"),
        ({"categories": ["Contact!"]}, "categories.0"),
        ({"format": "xlsx"}, "format"),
        ({"recipient": "\ud800"}, "recipient"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, factory, change, field):
    headers = {**_key(factory, "admin"), "Content-Type": "application/json"}
    raw = json.dumps({**BODY, **change})  # ASCII escapes: a lone surrogate travels as \ud800
    response = client.post("/v1/disclosures/exports", content=raw, headers=headers)
    _problem(response, 422, field=field)


def test_export_needs_the_admin_scope(client, factory):
    response = client.post("/v1/disclosures/exports", json=BODY, headers=_key(factory, "consent"))
    _problem(response, 403)


def test_the_dpo_log_lists_flows_with_counts_and_rejects_bad_filters(client, factory, audience):
    admin = _key(factory, "admin")
    sent = client.post("/v1/disclosures/exports", json=BODY, headers=admin)
    batches = client.get("/v1/disclosures", params={"recipient": "lumen_mail"}, headers=admin)
    assert batches.status_code == 200, batches.text
    [batch] = batches.json()
    assert batch["batch_id"] == sent.headers["x-rujai-batch-id"]
    assert (batch["subjects"], batch["without_consent"], batch["country"]) == (1, 0, "SG")
    assert "subject_ref" not in batch
    _problem(client.get("/v1/disclosures", params={"limit": 0}, headers=admin), 422, field="limit")
    too_big = {"limit": 2**70}
    _problem(client.get("/v1/disclosures", params=too_big, headers=admin), 422, field="limit")


def _sent(client, factory, body=BODY) -> str:
    response = client.post("/v1/disclosures/exports", json=body, headers=_key(factory, "admin"))
    assert response.status_code == 200, response.text
    return response.headers["x-rujai-batch-id"]


def test_a_partner_key_reads_only_what_was_disclosed_to_its_recipient(
    client, factory, keyring, policy, audience
):
    """TH-USE-01: a key bound to lumen_mail reads the subjects sent to lumen_mail, nothing else."""
    batch = _sent(client, factory)
    with session_scope(factory) as s:
        customer(s, keyring, policy, "C-3")
    _sent(client, factory, {**BODY, "recipient": "swift_delivery", "purpose": "order_fulfilment",
                            "customer_ids": ["C-3"], "categories": ["contact"]})  # fmt: skip
    partner = _key(factory, "partner:lumen_mail")
    mine = subject_ref(keyring, recipient="lumen_mail", subject_id=audience["C-1"])
    read = client.get(f"/v1/partner/subjects/{mine}", headers=partner)
    assert read.status_code == 200, read.text
    assert read.json()["traits"] == {"email": "somchai.j@example.com", "first_name": "สมชาย"}
    # C-2 withdrew before the export: never disclosed, so unknown to this partner
    withdrawn = subject_ref(keyring, recipient="lumen_mail", subject_id=audience["C-2"])
    _problem(client.get(f"/v1/partner/subjects/{withdrawn}", headers=partner), 404)
    # C-3 went to swift_delivery: neither its pseudonym there nor here is lumen_mail's to read
    with session_scope(factory) as s:
        c3 = s.scalars(
            select(Disclosure.subject_id).where(Disclosure.recipient == "swift_delivery")
        )
        c3_id = c3.one()
    for recipient in ("swift_delivery", "lumen_mail"):
        ref = subject_ref(keyring, recipient=recipient, subject_id=c3_id)
        _problem(client.get(f"/v1/partner/subjects/{ref}", headers=partner), 404)
    audience_read = client.get(f"/v1/partner/audiences/{batch}", headers=partner)
    assert [r["subject_ref"] for r in audience_read.json()] == [mine]
    other = _key(factory, "partner:swift_delivery")
    _problem(client.get(f"/v1/partner/audiences/{batch}", headers=other), 404)
    with session_scope(factory) as s:
        pulls = s.scalars(select(Disclosure).where(Disclosure.channel == "partner_pull")).all()
    assert [(p.recipient, p.subject_id) for p in pulls] == [("lumen_mail", audience["C-1"])] * 2


def test_a_partner_read_asks_the_door_again_th_con_03(client, factory, keyring, policy, audience):
    _sent(client, factory)
    with session_scope(factory) as s:
        make_consent(s, keyring, policy, "email_marketing", customer_id="C-1", action="withdraw")
    ref = subject_ref(keyring, recipient="lumen_mail", subject_id=audience["C-1"])
    response = client.get(
        f"/v1/partner/subjects/{ref}", headers=_key(factory, "partner:lumen_mail")
    )
    _problem(response, 403, reason="withdrawn")


def test_partner_routes_refuse_keys_not_bound_to_a_recipient(client, factory):
    ref = "0" * 32
    for scopes in (("admin",), ("consent",)):
        response = client.get(f"/v1/partner/subjects/{ref}", headers=_key(factory, *scopes))
        _problem(response, 403)
    _problem(client.get(f"/v1/partner/subjects/{ref}"), 401)
    bad = client.get(
        "/v1/partner/audiences/not-a-uuid", headers=_key(factory, "partner:lumen_mail")
    )
    _problem(bad, 422, field="batch_id")


@pytest.mark.parametrize("scopes", [["partner"], ["partner:Lumen"], ["partner:a", "partner:b"]])
def test_a_partner_scope_names_exactly_one_recipient_id(factory, scopes):
    from rujai.errors import Invalid

    with pytest.raises(Invalid) as caught, session_scope(factory) as s:
        apikeys_service.create(s, name="bad partner", scopes=scopes, now=NOW)
    assert caught.value.field == "scopes"


def test_a_partner_key_lists_with_its_recipient(factory):
    with session_scope(factory) as s:
        apikeys_service.create(s, name="mailer", scopes=["partner:lumen_mail"], now=NOW)
        [listed] = apikeys_service.list_keys(s)
    assert (listed.scopes, listed.recipient) == (["partner"], "lumen_mail")


def test_check_decides_a_disclosure_with_its_recipient_th_use_01(client, factory, audience):
    """POST /v1/check with action disclose: the recipient is part of the question."""
    decide = _key(factory, "decide")
    ask = {"customer_id": "C-1", "purpose": "email_marketing", "categories": ["contact"],
           "action": "disclose"}  # fmt: skip
    without = client.post("/v1/check", json=ask, headers=decide)
    assert (without.status_code, without.json()["reason"]) == (200, "unknown_recipient")
    allowed = client.post("/v1/check", json={**ask, "recipient": "lumen_mail"}, headers=decide)
    assert (allowed.json()["allowed"], allowed.json()["reason"]) == (True, "allowed_consent")
    elsewhere = client.post(
        "/v1/check", json={**ask, "recipient": "swift_delivery"}, headers=decide
    )
    assert elsewhere.json()["reason"] == "recipient_not_for_purpose"
    _problem(
        client.post("/v1/check", json={**ask, "recipient": ""}, headers=decide),
        422, field="recipient",
    )  # fmt: skip
