"""The door around ``evaluate``: check, authorize, Permit, and the audit of every decision."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from rujai.audit.models import AuditEntry
from rujai.consent import service as consent_service
from rujai.errors import PolicyDenied
from rujai.policy import service as policy_service
from rujai.policy.service import Permit, PermitSet
from rujai.writer import session_scope
from tests.factories import NOW, consent_change, declare_age, make_subject


def _grant(session, keyring, policy, customer_id, purpose, action="grant"):
    declare_age(session, keyring, customer_id)  # an adult by their own word (TH-MIN-01)
    consent_service.record(
        session,
        keyring=keyring,
        policy=policy,
        customer_id=customer_id,
        change=consent_change(policy, purpose, action),
        now=NOW,
        evidence_ip=None,
        evidence_user_agent=None,
    )


def _audits(session, outcome=None):
    q = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "policy.check")
    if outcome:
        q = q.where(AuditEntry.outcome == outcome)
    return session.scalar(q)


def test_check_allows_after_grant_and_audits_it(session, keyring, policy):
    subject = make_subject(session, keyring, "C-2001")
    _grant(session, keyring, policy, "C-2001", "recommendations")
    verdict = policy_service.check(
        session,
        policy=policy,
        keyring=keyring,
        subject_id=subject.id,
        purpose="recommendations",
        categories=["purchase_history"],
        now=NOW,
        actor="test",
    )
    assert verdict.allowed
    assert len(verdict.consent_record_ids) == 1
    assert _audits(session, "allowed_consent") == 1


def test_withdrawal_takes_effect_on_the_very_next_check(session, keyring, policy):
    """TH-CON-03."""
    subject = make_subject(session, keyring, "C-2002")
    _grant(session, keyring, policy, "C-2002", "recommendations")
    _grant(session, keyring, policy, "C-2002", "recommendations", "withdraw")
    verdict = policy_service.check(
        session,
        policy=policy,
        keyring=keyring,
        subject_id=subject.id,
        purpose="recommendations",
        categories=["purchase_history"],
        now=NOW,
        actor="test",
    )
    assert not verdict.allowed
    assert verdict.reason.value == "withdrawn"


def test_authorize_refusal_is_audited_although_the_work_rolls_back(factory, keyring, policy):
    with session_scope(factory) as s:
        subject = make_subject(s, keyring, "C-2003")

    def refused_work():
        with session_scope(factory) as s:
            # an allowed check first holds the audit head in this transaction (no self-deadlock)
            policy_service.check(
                s,
                policy=policy,
                keyring=keyring,
                subject_id=subject.id,
                purpose="order_fulfilment",
                categories=["contact"],
                now=NOW,
                actor="test",
            )
            policy_service.authorize(
                s,
                policy=policy,
                keyring=keyring,
                subject_id=subject.id,
                purpose="recommendations",
                categories=["purchase_history"],
                now=NOW,
                actor="test",
            )

    with pytest.raises(PolicyDenied) as err:
        refused_work()
    assert err.value.reason == "no_consent"
    with session_scope(factory) as s:
        assert _audits(s, "no_consent") == 1
        assert _audits(s, "allowed_basis") == 0  # the rolled-back work is gone


def test_permit_covers_only_its_subject_and_categories(session, keyring, policy):
    subject = make_subject(session, keyring, "C-2004")
    other = make_subject(session, keyring, "C-2005")
    permit = policy_service.authorize(
        session,
        policy=policy,
        keyring=keyring,
        subject_id=subject.id,
        purpose="order_fulfilment",
        categories=["contact"],
        now=NOW,
        actor="test",
    )
    assert permit.covers(subject.id, "contact")
    assert not permit.covers(other.id, "contact")
    assert not permit.covers(subject.id, "purchase_history")
    with pytest.raises(PolicyDenied):
        permit.require(subject.id, "health")


def test_a_permit_cannot_be_forged():
    with pytest.raises(TypeError):
        Permit(verdict=None, issued_at=NOW, _seal=object())  # type: ignore[arg-type]


# -- bulk permits ---------------------------------------------------------------------------------


def _bulk_audits(session):
    stmt = select(AuditEntry).where(AuditEntry.action == "policy.authorize_many")
    return session.scalars(stmt.order_by(AuditEntry.seq)).all()


def test_authorize_many_grants_only_what_each_subject_allows_and_audits_the_batch_once(
    session, keyring, policy
):
    """Bulk work asks the door once per batch (TH-CON-03, TH-DSR-05): counts in the audit only."""
    granted = make_subject(session, keyring, "C-3001")
    withdrawn = make_subject(session, keyring, "C-3002")
    restricted = make_subject(session, keyring, "C-3003", is_restricted=True)
    silent = make_subject(session, keyring, "C-3004")
    _grant(session, keyring, policy, "C-3001", "recommendations")
    _grant(session, keyring, policy, "C-3002", "recommendations")
    _grant(session, keyring, policy, "C-3002", "recommendations", action="withdraw")
    _grant(session, keyring, policy, "C-3003", "recommendations")
    unknown = uuid.uuid4()
    ids = [granted.id, withdrawn.id, restricted.id, silent.id, unknown]
    permits = policy_service.authorize_many(
        session, policy=policy, keyring=keyring, subject_ids=ids,
        uses={"recommendations": ["browsing", "purchase_history"]}, now=NOW, actor="test",
    )  # fmt: skip
    assert permits.subject_ids == [granted.id]
    assert permits.covers(granted.id, "browsing")
    assert not permits.covers(granted.id, "contact")
    assert not any(permits.covers(sid, "browsing") for sid in ids[1:])
    (entry,) = _bulk_audits(session)
    assert entry.subject_id is None
    assert entry.detail["asked"] == 5
    assert entry.detail["granted"] == 1
    assert entry.detail["verdicts"]["recommendations"] == {
        "allowed": 1, "withdrawn": 1, "restricted": 1, "no_consent": 1, "unknown_subject": 1,
    }  # fmt: skip
    assert "C-300" not in str(entry.detail)  # no customer id, only counts


def test_authorize_many_unions_purposes_and_can_ask_category_by_category(session, keyring, policy):
    subject = make_subject(session, keyring, "C-3101")
    _grant(session, keyring, policy, "C-3101", "recommendations")
    uses = {"recommendations": ["browsing", "health"], "order_fulfilment": ["contact"]}
    whole = policy_service.authorize_many(
        session, policy=policy, keyring=keyring, subject_ids=[subject.id], uses=uses, now=NOW,
        actor="test",
    )  # fmt: skip
    assert whole.categories_of(subject.id) == {"contact"}  # "health" refuses the whole ask
    split = policy_service.authorize_many(
        session, policy=policy, keyring=keyring, subject_ids=[subject.id], uses=uses, now=NOW,
        actor="test", per_category=True,
    )  # fmt: skip
    assert split.categories_of(subject.id) == {"contact", "browsing"}
    assert split.purposes == ("recommendations", "order_fulfilment")


def test_a_permit_set_cannot_be_forged_and_a_permit_becomes_one(session, keyring, policy):
    with pytest.raises(TypeError):
        PermitSet(purposes=(), grants={}, issued_at=NOW, _seal=object())
    subject = make_subject(session, keyring, "C-3201")
    permit = policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=subject.id,
        purpose="order_fulfilment", categories=["contact"], now=NOW, actor="test",
    )  # fmt: skip
    assert permit.as_set().grants == {subject.id: frozenset({"contact"})}
    with pytest.raises(PolicyDenied):
        permit.require_subject(uuid.uuid4())
