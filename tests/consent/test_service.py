"""Recording grants and withdrawals: validation, the ledger row, projection, audit and status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rujai.audit.models import AuditEntry
from rujai.consent import history as consent_history, service as consent_service
from rujai.consent.errors import ConsentNotApplicable, ExplicitConsentRequired, PurposeUnknown
from rujai.consent.models import ConsentRecord, ConsentState
from rujai.errors import Conflict, Invalid
from rujai.policy import service as policy_service
from rujai.policy.notice import purpose_notice_hash
from rujai.policy.rules import Objection
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.models import Subject
from tests.consent.helpers import stored_text
from tests.factories import NOW, consent_change, declare_age, make_consent, make_subject


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _status(session, keyring, policy, purpose, *, customer_id="C-0001", now=NOW) -> str:
    state = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id=customer_id, now=now
    )
    return next(p.status for p in state.purposes if p.purpose == purpose)


def _record(session, keyring, policy, change, *, customer_id="C-0001", now=NOW):
    purpose = policy.purposes.get(change.purpose)
    if purpose is not None and purpose.basis.is_consent:  # an adult, by their word (TH-MIN-01)
        declare_age(session, keyring, customer_id, now=now)
    return consent_service.record(
        session,
        keyring=keyring,
        policy=policy,
        customer_id=customer_id,
        change=change,
        now=now,
        evidence_ip=None,
        evidence_user_agent=None,
    )


def test_grant_creates_the_subject_and_returns_a_receipt(session, keyring, policy):
    receipt = make_consent(session, keyring, policy, "recommendations")
    subject_id = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id="C-0001", now=NOW
    ).subject_id
    assert receipt.subject_id == subject_id
    assert (receipt.purpose, receipt.action, receipt.actor) == ("recommendations", "grant", "self")
    assert receipt.policy_version == policy.version
    assert receipt.controller == policy.controller.name.th
    assert _status(session, keyring, policy, "recommendations") == "granted"


def test_grant_then_withdraw_then_regrant_moves_the_status(session, keyring, policy):
    """TH-CON-03: withdrawal is the same call with action withdraw, effective at once."""
    make_consent(session, keyring, policy, "email_marketing", now=NOW)
    assert _status(session, keyring, policy, "email_marketing", now=NOW) == "granted"
    withdraw = consent_change(policy, "email_marketing", "withdraw", notice_version=None)
    _record(session, keyring, policy, withdraw, now=NOW + timedelta(minutes=1))
    assert _status(session, keyring, policy, "email_marketing", now=NOW) == "withdrawn"
    make_consent(session, keyring, policy, "email_marketing", now=NOW + timedelta(minutes=2))
    assert _status(session, keyring, policy, "email_marketing", now=NOW) == "granted"
    assert _count(session, ConsentRecord) == 3
    assert _count(session, ConsentState) == 1


def test_record_keeps_the_notice_hash_of_the_language_shown(session, keyring, policy):
    """TH-CON-04 and TH-CON-05: the exact text hash and the language are in the ledger."""
    thai = make_consent(session, keyring, policy, "analytics", language="th")
    english = make_consent(
        session, keyring, policy, "analytics", language="en", now=NOW + timedelta(seconds=1)
    )
    assert thai.notice_hash == purpose_notice_hash(policy, "analytics", "th")
    assert english.notice_hash == purpose_notice_hash(policy, "analytics", "en")
    assert thai.notice_hash != english.notice_hash
    assert english.controller == policy.controller.name.en


def test_record_keeps_only_keyed_hashes_of_the_evidence(session, keyring, policy):
    make_consent(session, keyring, policy, "analytics", customer_id="C-EVID-1")
    row = session.scalars(select(ConsentRecord)).one()
    assert row.evidence_ip_hash == keyring.hash_evidence("192.0.2.10")
    assert row.evidence_ua_hash == keyring.hash_evidence("Mozilla/5.0 (rujai-test)")
    stored = stored_text(session, "consent_record") + stored_text(session, "audit_entry")
    for raw in ("192.0.2.10", "Mozilla", "C-EVID-1"):
        assert raw not in stored


def test_record_without_evidence_stores_none(session, keyring, policy):
    _record(session, keyring, policy, consent_change(policy, "analytics"))
    row = session.scalars(select(ConsentRecord)).one()
    assert (row.evidence_ip_hash, row.evidence_ua_hash) == (None, None)


def test_record_audits_the_change_by_subject_uuid(session, keyring, policy):
    receipt = make_consent(session, keyring, policy, "analytics")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "consent.grant")).one()
    assert (entry.subject_id, entry.purpose, entry.outcome) == (
        receipt.subject_id,
        "analytics",
        "recorded",
    )
    assert entry.detail["record_id"] == str(receipt.receipt_id)
    assert entry.detail["role"] == "subject"


def test_record_refuses_an_unknown_purpose_and_changes_nothing(session, keyring, policy):
    """TH-LB-01: no processing without a registered purpose."""
    with pytest.raises(PurposeUnknown) as caught:
        _record(
            session,
            keyring,
            policy,
            consent_change(policy, "analytics").model_copy(update={"purpose": "spam"}),
        )
    assert caught.value.field == "purpose"
    assert (_count(session, Subject), _count(session, ConsentRecord)) == (0, 0)


@pytest.mark.parametrize("purpose", ["order_fulfilment", "fraud_prevention"])
def test_record_refuses_a_purpose_when_its_basis_is_not_consent(session, keyring, policy, purpose):
    """TH-LB-01: consent does not apply to a contract or legitimate-interest purpose."""
    change = consent_change(policy, "analytics").model_copy(update={"purpose": purpose})
    with pytest.raises(ConsentNotApplicable) as caught:
        _record(session, keyring, policy, change)
    assert caught.value.field == "purpose"
    assert "consent does not apply" in caught.value.message
    assert _count(session, Subject) == 0


def test_grant_of_sensitive_purpose_needs_explicit_consent(session, keyring, policy):
    """TH-SEN-01: explicit consent for health data."""
    change = consent_change(policy, "health_tailored_offers", explicit=False)
    with pytest.raises(ExplicitConsentRequired) as caught:
        _record(session, keyring, policy, change)
    assert caught.value.field == "explicit"
    make_consent(session, keyring, policy, "health_tailored_offers", explicit=True)
    assert _status(session, keyring, policy, "health_tailored_offers") == "granted"


def test_grant_needs_the_notice_version(session, keyring, policy):
    change = consent_change(policy, "analytics", notice_version=None)
    with pytest.raises(Invalid) as caught:
        _record(session, keyring, policy, change)
    assert caught.value.field == "notice_version"
    assert "current notice (version 1)" in caught.value.message


def test_grant_for_an_old_notice_version_is_a_conflict(session, keyring, policy):
    """TH-CON-04: personalized_offers is at notice version 2; version 1 was not the notice shown."""
    change = consent_change(policy, "personalized_offers", notice_version=1)
    with pytest.raises(Conflict) as caught:
        _record(session, keyring, policy, change)
    assert caught.value.field == "notice_version"
    assert caught.value.status == 409
    assert _count(session, ConsentRecord) == 0


def test_withdraw_records_the_current_notice_when_none_is_given(session, keyring, policy):
    change = consent_change(policy, "personalized_offers", "withdraw", notice_version=None)
    receipt = _record(session, keyring, policy, change)
    assert receipt.notice_version == 2


def test_withdraw_is_accepted_for_an_old_notice_version(session, keyring, policy):
    """TH-CON-03: a withdrawal is never refused over the notice."""
    change = consent_change(policy, "personalized_offers", "withdraw", notice_version=1)
    assert _record(session, keyring, policy, change).notice_version == 1


def test_withdraw_cannot_carry_an_expiry(session, keyring, policy):
    change = consent_change(policy, "analytics", "withdraw", expires_at=NOW + timedelta(days=1))
    with pytest.raises(Invalid) as caught:
        _record(session, keyring, policy, change)
    assert caught.value.field == "expires_at"


def test_grant_refuses_an_expiry_in_the_past(session, keyring, policy):
    change = consent_change(policy, "analytics", expires_at=NOW)
    with pytest.raises(Invalid) as caught:
        _record(session, keyring, policy, change)
    assert caught.value.field == "expires_at"


def test_status_is_expired_after_the_grant_expires(session, keyring, policy):
    receipt = make_consent(
        session, keyring, policy, "analytics", expires_at=NOW + timedelta(days=7)
    )
    assert receipt.expires_at is not None
    assert receipt.expires_at.startswith("2026-12-08T09:00")
    assert _status(session, keyring, policy, "analytics", now=NOW + timedelta(days=6)) == "granted"
    assert _status(session, keyring, policy, "analytics", now=NOW + timedelta(days=7)) == "expired"


def test_status_is_expired_after_the_purpose_validity(session, keyring, policy):
    """health_tailored_offers consent is valid for 365 days."""
    make_consent(session, keyring, policy, "health_tailored_offers")
    later = NOW + timedelta(days=365)
    assert _status(session, keyring, policy, "health_tailored_offers", now=later) == "expired"


def test_current_lists_only_consent_based_purposes(session, keyring, policy):
    make_subject(session, keyring)
    state = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id="C-0001", now=NOW
    )
    listed = [p.purpose for p in state.purposes]
    expected = [pid for pid, p in policy.purposes.items() if p.basis.is_consent]
    assert listed == expected
    assert "order_fulfilment" not in listed
    none = state.purposes[0]
    assert (none.status, none.allowed, none.reason, none.last_recorded_at) == (
        "none",
        False,
        "no_consent",
        None,
    )
    assert none.reason_text.th
    assert none.reason_text.en


def test_current_raises_not_found_without_the_customer_id_when_unknown(session, keyring, policy):
    with pytest.raises(SubjectNotFound) as caught:
        consent_service.current(
            session, keyring=keyring, policy=policy, customer_id="C-NOPE-1", now=NOW
        )
    assert "C-NOPE-1" not in caught.value.message


def test_status_is_restricted_when_the_subject_restricted_processing(session, keyring, policy):
    """TH-DSR-05: a restriction wins over a grant, as the chokepoint decides."""
    make_subject(session, keyring, is_restricted=True)
    make_consent(session, keyring, policy, "recommendations")
    assert _status(session, keyring, policy, "recommendations") == "restricted"


def test_status_is_objected_when_the_subject_objected_to_direct_marketing(session, keyring, policy):
    """TH-DSR-03: an objection to direct marketing is always honoured."""
    make_subject(session, keyring, objections=(Objection.DIRECT_MARKETING,))
    make_consent(session, keyring, policy, "email_marketing")
    assert _status(session, keyring, policy, "email_marketing") == "objected"


def test_status_shown_equals_what_the_chokepoint_enforces(session, keyring, policy):
    make_subject(session, keyring, age_band="10_19")
    for purpose in ("recommendations", "analytics", "email_marketing"):
        make_consent(session, keyring, policy, purpose)
    state = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id="C-0001", now=NOW
    )
    for item in state.purposes:
        verdict = policy_service.check(
            session,
            policy=policy,
            keyring=keyring,
            subject_id=state.subject_id,
            purpose=item.purpose,
            categories=policy.purposes[item.purpose].categories,
            now=NOW,
            actor="test",
        )
        assert (item.allowed, item.reason) == (verdict.allowed, verdict.reason.value)


def test_record_after_a_clock_step_back_stays_after_the_previous_record(session, keyring, policy):
    """TH-CON-04: append order and time order agree, so past states can be rebuilt."""
    first = make_consent(session, keyring, policy, "analytics", now=NOW)
    withdraw = consent_change(policy, "analytics", "withdraw")
    second = _record(session, keyring, policy, withdraw, now=NOW - timedelta(seconds=5))
    assert second.recorded_at > first.recorded_at
    assert _status(session, keyring, policy, "analytics") == "withdrawn"


def test_records_by_different_roles_keep_separate_projection_rows(session, keyring, policy):
    make_consent(session, keyring, policy, "analytics", actor="self")
    make_consent(session, keyring, policy, "analytics", actor="parent", actor_ref="G-77")
    make_consent(
        session, keyring, policy, "analytics", actor="staff", actor_ref="S-12",
        now=NOW + timedelta(seconds=1),
    )  # fmt: skip
    roles = session.scalars(select(ConsentState.role).order_by(ConsentState.role)).all()
    assert roles == ["guardian", "subject"]
    records = consent_history.history_for_customer(session, keyring=keyring, customer_id="C-0001")
    assert [r.actor for r in records][-1] == "staff"
