"""The console's step on an objection to legitimate interest: compelling grounds per purpose.

TH-DSR-03 (PDPA s.32): the objected purpose is stopped from verification on; the DPO records the
grounds for one purpose and it runs again for the customer; the text is not audited.
"""

from __future__ import annotations

import pytest

from rujai.kit.time import utcnow
from rujai.policy import service as policy_service
from rujai.rights import intake, verification
from rujai.rights.schemas import RequestCreate
from rujai.writer import session_scope
from tests.web.test_console import CUSTOMER, audit_list, customer, latest_code, post, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

GROUNDS = "รูปแบบการสั่งซื้อตรงกับการฉ้อโกงที่ยืนยันแล้ว"


def _objection(factory, keyring, policy):
    body = RequestCreate(
        kind="objection", channel="privacy_center", customer_id=CUSTOMER,
        detail={"objection": "legitimate_interest", "purpose": "fraud_prevention"},
    )  # fmt: skip
    with session_scope(factory) as s:
        request = intake.submit(
            s, keyring=keyring, policy=policy, body=body, now=utcnow(), actor="subject",
            staff=False,
        )  # fmt: skip
        verification.start_verification(
            s, keyring=keyring, policy=policy, request_id=request.id, now=utcnow()
        )
    return request.id


def _fraud_allowed(factory, keyring, policy, subject_id) -> bool:
    with session_scope(factory) as s:
        return policy_service.check(
            s, policy=policy, keyring=keyring, subject_id=subject_id, purpose="fraud_prevention",
            categories=["device"], now=utcnow(), actor="test",
        ).allowed  # fmt: skip


def test_the_dpo_records_grounds_and_the_purpose_runs_again(
    web_client, team, factory, keyring, policy
):
    subject_id = customer(factory, keyring, policy)
    request_id = _objection(factory, keyring, policy)
    sign_in(web_client, "dpo")
    code = {"code": latest_code(factory, keyring)}
    confirmed = post(web_client, f"/console/requests/{request_id}/confirm", code)
    assert 'data-status="verified"' in confirmed.text
    assert 'data-testid="grounds"' in confirmed.text
    assert not _fraud_allowed(factory, keyring, policy, subject_id)  # stopped at verification
    url = f"/console/requests/{request_id}/grounds"
    assert post(web_client, url, {"purpose": "fraud_prevention"}).status_code == 422
    done = post(web_client, url, {"purpose": "fraud_prevention", "grounds": GROUNDS})
    assert done.status_code == 200, done.text
    assert 'data-testid="grounds"' not in done.text  # nothing left to lift
    assert _fraud_allowed(factory, keyring, policy, subject_id)
    entries = [e for e in audit_list(factory) if "grounds" in e.action]
    assert [e.actor for e in entries] == ["staff:dpo"]
    assert all(GROUNDS not in str(e.detail) for e in audit_list(factory))
