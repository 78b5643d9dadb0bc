"""What processing a verified request does: restriction, objection, withdrawal, rectification,
erasure and access copies, each through the owning domain's service.
"""

from __future__ import annotations

import uuid
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from rujai.consent import history as consent_history
from rujai.personalize import insights
from rujai.policy import service as policy_service
from rujai.policy.rules import Reason
from rujai.profiles import service as profiles_service, traits as profiles_traits
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.models import TraitRevision
from rujai.profiles.sealing import subject_key
from rujai.rights import processing, service, verification
from rujai.rights.errors import ExportNotAvailable
from rujai.rights.models import RightsRequest
from tests.factories import make_consent, make_purchase, rights_permit
from tests.rights.test_requests import (
    CUSTOMER,
    EMAIL,
    NOW,
    code_for,
    outbox,
    person,
    submit,
    verified,
)


def _allowed(session, keyring, policy, subject_id, purpose, categories=("browsing",)):
    return policy_service.check(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=purpose,
        categories=list(categories), now=NOW, actor="test",
    )  # fmt: skip


def _confirm_and_run(session, keyring, policy, kind, **fields):
    """Submit, send the code, confirm it: automatic kinds are processed at once."""
    request = submit(session, keyring, policy, kind, **fields)
    verification.start_verification(
        session, keyring=keyring, policy=policy, request_id=request.id, now=NOW
    )
    return processing.confirm_and_run(
        session, keyring=keyring, policy=policy, request_id=request.id,
        code=code_for(session, keyring, request.id), now=NOW,
    )  # fmt: skip


def _process(session, keyring, policy, request_id, **kwargs):
    return processing.process(
        session, keyring=keyring, policy=policy, request_id=request_id, now=NOW, actor="staff-1",
        **kwargs,
    )  # fmt: skip


def test_restriction_stops_processing_and_a_new_request_lifts_it(session, keyring, policy):
    """TH-DSR-05: kept but excluded from every purpose; reversible by a new request."""
    subject_id = person(session, keyring)
    make_consent(session, keyring, policy, "recommendations", customer_id=CUSTOMER, now=NOW)
    assert _allowed(session, keyring, policy, subject_id, "recommendations").allowed
    restricted = _confirm_and_run(session, keyring, policy, "restriction")
    assert (restricted.status, restricted.result) == ("completed", {"is_restricted": True})
    verdict = _allowed(session, keyring, policy, subject_id, "recommendations")
    assert (verdict.allowed, verdict.reason) == (False, Reason.RESTRICTED)
    assert not _allowed(
        session, keyring, policy, subject_id, "order_fulfilment", ["contact"]
    ).allowed
    lifted = _confirm_and_run(session, keyring, policy, "restriction_lift")
    assert lifted.status == "completed"
    assert _allowed(session, keyring, policy, subject_id, "recommendations").allowed


def test_objection_to_direct_marketing_stops_it_at_once_everywhere(session, keyring, policy):
    """TH-DSR-03: processed as soon as verified; every direct-marketing purpose is denied."""
    subject_id = person(session, keyring)
    for purpose in ("personalized_offers", "email_marketing", "recommendations"):
        make_consent(session, keyring, policy, purpose, customer_id=CUSTOMER, now=NOW)
    done = _confirm_and_run(session, keyring, policy, "objection")
    assert done.status == "completed"
    assert "direct_marketing" in done.result["objections"]
    for purpose in ("personalized_offers", "email_marketing"):
        verdict = _allowed(session, keyring, policy, subject_id, purpose, ["contact"])
        assert verdict.reason == Reason.OBJECTED_DIRECT_MARKETING
    assert _allowed(session, keyring, policy, subject_id, "recommendations").allowed
    _confirm_and_run(session, keyring, policy, "objection_lift")
    assert _allowed(session, keyring, policy, subject_id, "email_marketing", ["contact"]).allowed


def test_objection_to_legitimate_interest_stops_it_at_verification(session, keyring, policy):
    """TH-DSR-03: in force once verified, while staff weigh compelling grounds; upheld after."""
    subject_id = person(session, keyring)
    waiting = _confirm_and_run(session, keyring, policy, "objection",
                               detail={"objection": "legitimate_interest"})  # fmt: skip
    assert waiting.status == "verified"
    verdict = _allowed(session, keyring, policy, subject_id, "fraud_prevention", ["device"])
    assert verdict.reason == Reason.OBJECTED_LEGITIMATE_INTEREST
    done = _process(session, keyring, policy, waiting.id)
    assert done.status == "completed"
    verdict = _allowed(session, keyring, policy, subject_id, "fraud_prevention", ["device"])
    assert verdict.reason == Reason.OBJECTED_LEGITIMATE_INTEREST


def test_withdrawal_is_recorded_in_the_ledger_with_the_requests_channel(session, keyring, policy):
    """TH-CON-03, TH-CON-04: staff at the call center withdraw for the subject."""
    subject_id = person(session, keyring)
    make_consent(session, keyring, policy, "recommendations", customer_id=CUSTOMER, now=NOW)
    done = _confirm_and_run(session, keyring, policy, "withdrawal", channel="call_center",
                            staff=True, staff_ref="agent-42")  # fmt: skip
    assert done.status == "completed"
    last = consent_history.history(session, subject_id=subject_id)[-1]
    assert (last.action, last.channel, last.actor, last.actor_ref) == (
        "withdraw",
        "call_center",
        "staff",
        "agent-42",
    )
    assert str(last.id) == done.result["consent_record_id"]
    assert (
        _allowed(session, keyring, policy, subject_id, "recommendations").reason == Reason.WITHDRAWN
    )


def test_rectification_keeps_the_previous_value_as_history(session, keyring, policy):
    """TH-DSR-06: the corrected trait is stored; the old sealed value goes to trait_revision."""
    subject_id = person(session, keyring)
    profiles_traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=subject_id,
        traits={"first_name": "มาลี"}, source="api", now=NOW - timedelta(days=9),
    )  # fmt: skip
    request = verified(session, keyring, policy, "rectification",
                       detail={"traits": {"first_name": "มาลัย"}})  # fmt: skip
    assert request.status == "verified"  # corrections wait for staff
    done = _process(session, keyring, policy, request.id)
    assert done.status == "completed"
    expected = {"stored": ["first_name"], "not_permitted": [], "revisions": ["first_name"]}
    assert done.result == expected
    permit = rights_permit(session, keyring, policy, subject_id)
    export = profiles_traits.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    assert export.traits["first_name"] == "มาลัย"
    [revision] = session.scalars(select(TraitRevision)).all()
    key = subject_key(session, keyring=keyring, subject_id=subject_id)
    old = profiles_traits.open_trait(key, subject_id, "first_name", revision.value_sealed)
    assert (old, revision.reason, revision.replaced_at) == ("มาลี", "rectification", NOW)


@pytest.mark.parametrize(
    ("traits", "note"),
    [
        ({"nickname": "น้อย"}, "1 undeclared trait"),
        ({"first_name": ""}, "traits.first_name"),
        ({"birth_date": "2999-01-01"}, "traits.birth_date"),
    ],
)
def test_refused_correction_is_recorded_with_its_reason(session, keyring, policy, traits, note):
    """TH-DSR-06: a correction that cannot be made is a refusal kept for the record (s.39(7))."""
    subject_id = person(session, keyring)
    request = verified(session, keyring, policy, "rectification", detail={"traits": traits})
    refused = _process(session, keyring, policy, request.id)
    assert (refused.status, refused.refusal_code) == ("refused", "invalid_correction")
    assert note in (refused.refusal_note or "")
    assert "น้อย" not in (refused.refusal_note or "")
    assert [r.request_id for r in service.refusals_for_ropa(session)] == [request.id]
    permit = rights_permit(session, keyring, policy, subject_id)
    export = profiles_traits.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    assert export.traits == {}


def test_an_inferred_interest_can_be_removed(session, keyring, policy):
    """TH-DSR-06: inferred interests are corrected too and stay out of later refreshes."""
    subject_id = person(session, keyring)
    request = verified(session, keyring, policy, "rectification",
                       detail={"remove_interest": "kitchen"})  # fmt: skip
    done = _process(session, keyring, policy, request.id)
    assert done.result == {"removed_interest": True}
    found = {
        i.name: i.value
        for i in insights.export_subject(
            session,
            permit=rights_permit(session, keyring, policy, subject_id),
            subject_id=subject_id,
        )
    }
    assert found["suppressed_interests"] == ["kitchen"]
    assert "kitchen" not in str(session.get(RightsRequest, request.id).detail)


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[uuid.UUID, str, str]] = []

    def send(self, session, *, subject_id, channel, recipient, template, body, now) -> None:
        self.sent.append((subject_id, recipient, template))


def test_erasure_request_runs_the_cascade_and_keeps_the_request(session, keyring, policy):
    """TH-DSR-04 through ``rights.erasure.erase``; the request stays, unlinked (TH-DSR-00)."""
    subject_id = person(session, keyring)
    make_consent(session, keyring, policy, "recommendations", customer_id=CUSTOMER, now=NOW)
    make_purchase(session, keyring, policy, customer_id=CUSTOMER, now=NOW)
    request = verified(session, keyring, policy, "erasure")
    recorder = RecordingNotifier()
    done = _process(session, keyring, policy, request.id, notifier=recorder)
    assert (done.status, done.subject_id) == ("completed", None)
    assert done.result["is_complete"] is True
    assert done.result["request_id"] == str(request.id)
    assert recorder.sent == [(subject_id, EMAIL, "request_completed")]  # told before the cascade
    with pytest.raises(SubjectNotFound):
        profiles_service.get(session, subject_id=subject_id)
    kept = session.get(RightsRequest, request.id)
    assert (kept.status, kept.subject_id) == ("completed", None)


def test_access_copy_is_built_on_demand_and_each_delivery_recorded(session, keyring, policy):
    """TH-DSR-01: the ZIP is not stored; the request records when it was delivered."""
    person(session, keyring)
    request = verified(session, keyring, policy, "access", language="en")
    with pytest.raises(ExportNotAvailable) as early:
        processing.deliver_export(session, keyring=keyring, policy=policy,
                                  request_id=request.id, now=NOW, actor="test")  # fmt: skip
    assert early.value.field == "status"
    done = _process(session, keyring, policy, request.id)
    assert done.result["export"] == "ready"
    bodies = {m.template: m.body or "" for m in outbox(session, keyring)}
    assert "has been completed" in bodies["request_completed"]
    data = processing.deliver_export(session, keyring=keyring, policy=policy,
                                     request_id=request.id, now=NOW, actor="test")  # fmt: skip
    with data:
        assert zipfile.ZipFile(data).namelist()
    again = service.get(session, request_id=request.id, now=NOW)
    assert again.result["deliveries"] == 1
    assert again.result["first_delivered_at"] == NOW.isoformat()
    assert session.get(RightsRequest, request.id).result.get("zip") is None
