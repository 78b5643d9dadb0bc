"""An objection to legitimate interest takes effect on verification (TH-DSR-03, PDPA s.32; GDPR
Art. 18(1)(d)): the purpose stops at once, until staff record compelling grounds for it, and stays
stopped when the request is upheld; refusing the request lets it run again.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rujai.audit.models import AuditEntry
from rujai.errors import Invalid
from rujai.policy import service as policy_service
from rujai.policy.rules import Reason
from rujai.profiles import service as profiles_service
from rujai.rights import grounds, processing, service, verification
from rujai.rights.errors import RequestStateConflict
from rujai.rights.schemas import GroundsCreate
from tests.rights.test_requests import NOW, code_for, person, submit

GROUNDS = "คำสั่งซื้อนี้ตรงกับรูปแบบการฉ้อโกงบัตรที่ยืนยันแล้ว / matches a confirmed card-fraud pattern"


def _verdict(session, keyring, policy, subject_id, purpose="fraud_prevention"):
    return policy_service.check(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=purpose,
        categories=["device"], now=NOW, actor="test",
    )  # fmt: skip


def _verified_objection(session, keyring, policy, **detail):
    request = submit(session, keyring, policy, "objection",
                     detail={"objection": "legitimate_interest", **detail})  # fmt: skip
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    return processing.confirm_and_run(
        session, keyring=keyring, policy=policy, request_id=request.id,
        code=code_for(session, keyring, request.id), now=NOW,
    )  # fmt: skip


def _grounds(session, request_id, purpose="fraud_prevention", text=GROUNDS):
    return grounds.record_grounds(
        session, request_id=request_id, body=GroundsCreate(purpose=purpose, grounds=text),
        now=NOW, actor="dpo-1",
    )  # fmt: skip


def test_a_verified_objection_stops_the_purpose_before_staff_act(session, keyring, policy):
    """TH-DSR-03: from verification on, not from processing."""
    subject_id = person(session, keyring)
    assert _verdict(session, keyring, policy, subject_id).allowed
    waiting = _verified_objection(session, keyring, policy, purpose="fraud_prevention")
    assert waiting.status == "verified"
    assert waiting.detail["blocked"] == ["fraud_prevention"]
    verdict = _verdict(session, keyring, policy, subject_id)
    assert (verdict.allowed, verdict.reason) == (False, Reason.OBJECTED_LEGITIMATE_INTEREST)
    assert _verdict(session, keyring, policy, subject_id, "order_fulfilment").reason is not (
        Reason.OBJECTED_LEGITIMATE_INTEREST
    )  # a contract purpose is not objected to


def test_compelling_grounds_lift_the_block_for_that_purpose_and_are_audited_without_text(
    session, keyring, policy
):
    """TH-DSR-03 (s.32 para 2(1)): staff record the grounds; the purpose runs again."""
    subject_id = person(session, keyring)
    waiting = _verified_objection(session, keyring, policy)
    assert waiting.detail["blocked"] == ["fraud_prevention"]  # every LI purpose of the policy
    after = _grounds(session, waiting.id)
    assert after.detail["grounds"]["fraud_prevention"]["text"] == GROUNDS
    assert _verdict(session, keyring, policy, subject_id).allowed
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("rights.%grounds%"))
    ).all()
    assert [e.detail["purpose"] for e in entries] == ["fraud_prevention"]
    audited = " ".join(str(e.detail) for e in session.scalars(select(AuditEntry)))
    assert "ฉ้อโกง" not in audited
    assert "card-fraud" not in audited
    done = processing.process(session, keyring=keyring, policy=policy, request_id=waiting.id,
                              now=NOW, actor="dpo-1")  # fmt: skip
    assert done.status == "completed"
    assert done.result == {"upheld": [], "grounds_for": ["fraud_prevention"]}
    assert _verdict(session, keyring, policy, subject_id).allowed  # the grounds stand


def test_an_upheld_objection_keeps_the_purpose_stopped(session, keyring, policy):
    """TH-DSR-03: processed without grounds, the objection holds for good."""
    subject_id = person(session, keyring)
    waiting = _verified_objection(session, keyring, policy, purpose="fraud_prevention")
    done = processing.process(session, keyring=keyring, policy=policy, request_id=waiting.id,
                              now=NOW, actor="dpo-1")  # fmt: skip
    assert (done.status, done.result["upheld"]) == ("completed", ["fraud_prevention"])
    assert _verdict(session, keyring, policy, subject_id).reason == (
        Reason.OBJECTED_LEGITIMATE_INTEREST
    )


def test_refusing_the_objection_lets_the_purpose_run_again(session, keyring, policy):
    subject_id = person(session, keyring)
    waiting = _verified_objection(session, keyring, policy, purpose="fraud_prevention")
    refused = service.refuse(
        session, keyring=keyring, policy=policy, request_id=waiting.id,
        refusal_code="compelling_grounds", note=None, now=NOW, actor="dpo-1",
    )  # fmt: skip
    assert refused.status == "refused"
    assert _verdict(session, keyring, policy, subject_id).allowed


def test_grounds_are_refused_for_other_requests_purposes_or_twice(session, keyring, policy):
    person(session, keyring)
    waiting = _verified_objection(session, keyring, policy, purpose="fraud_prevention")
    with pytest.raises(Invalid) as other:
        _grounds(session, waiting.id, purpose="recommendations")
    assert other.value.field == "purpose"
    _grounds(session, waiting.id)
    with pytest.raises(Invalid) as twice:
        _grounds(session, waiting.id)
    assert twice.value.field == "purpose"
    marketing = submit(session, keyring, policy, "objection",
                       detail={"objection": "direct_marketing"})  # fmt: skip
    with pytest.raises(RequestStateConflict) as honoured:
        _grounds(session, marketing.id)
    assert honoured.value.field == "kind"  # TH-DSR-03: a direct-marketing objection always holds


def test_an_objection_naming_a_purpose_that_is_not_legitimate_interest_is_422(
    session, keyring, policy
):
    person(session, keyring)
    for detail in (
        {"objection": "legitimate_interest", "purpose": "recommendations"},
        {"objection": "direct_marketing", "purpose": "fraud_prevention"},
    ):
        with pytest.raises(Invalid) as refused:
            submit(session, keyring, policy, "objection", detail=detail)
        assert refused.value.field == "detail.purpose"


def test_lifting_the_objection_also_lifts_per_purpose_blocks(session, keyring, policy):
    subject_id = person(session, keyring)
    _verified_objection(session, keyring, policy, purpose="fraud_prevention")
    profiles_service.set_objection(
        session, subject_id=subject_id, objection="legitimate_interest", objected=False, now=NOW
    )
    assert _verdict(session, keyring, policy, subject_id).allowed


def _admin(factory):
    from rujai.apikeys import service as apikeys_service

    with factory() as s, s.begin():
        created = apikeys_service.create(s, name="dpo desk", scopes=["admin"], now=NOW)
    return {"Authorization": f"Bearer {created.key}"}


def test_the_api_records_grounds_and_names_the_field_of_bad_input(client, factory, keyring, policy):
    """TH-DSR-03: POST /v1/requests/{id}/compelling-grounds (admin scope)."""
    with factory() as s, s.begin():
        subject_id = person(s, keyring)
        waiting = _verified_objection(s, keyring, policy, purpose="fraud_prevention")
    url, headers = f"/v1/requests/{waiting.id}/compelling-grounds", _admin(factory)
    wrong = client.post(url, json={"purpose": "analytics", "grounds": GROUNDS}, headers=headers)
    assert (wrong.status_code, wrong.json()["field"]) == (422, "purpose")
    nul = client.post(
        url, json={"purpose": "fraud_prevention", "grounds": "a\x00b"}, headers=headers
    )
    assert (nul.status_code, nul.json()["field"]) == (422, "grounds")
    with factory() as s:
        assert not _verdict(s, keyring, policy, subject_id).allowed
    done = client.post(
        url, json={"purpose": "fraud_prevention", "grounds": GROUNDS}, headers=headers
    )
    assert done.status_code == 200, done.text
    with factory() as s:
        assert _verdict(s, keyring, policy, subject_id).allowed
    again = client.post(
        url, json={"purpose": "fraud_prevention", "grounds": GROUNDS}, headers=headers
    )
    assert again.status_code == 422
