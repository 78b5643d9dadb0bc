"""The append-only ledger (TH-CON-04): history, state at any past time, export and erasure."""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from rujai.consent import history as consent_history, service as consent_service
from rujai.consent.models import ConsentRecord, ConsentState
from rujai.policy.rules import SubjectFacts
from tests.consent.helpers import count_queries
from tests.factories import NOW, consent_change, make_consent, make_subject, rights_permit

TICK = timedelta(microseconds=1)


def _facts(session, keyring, subject_id, *, at=None) -> SubjectFacts:
    return consent_service.subject_facts(
        session, keyring=keyring, subject_id=subject_id, now=NOW + timedelta(days=3650), at=at
    )


def test_history_is_append_only(session, keyring, policy):
    """Each change adds a row; earlier rows stay exactly as they were."""
    subject = make_subject(session, keyring)
    seen = []
    steps = [("grant", "self"), ("withdraw", "self"), ("grant", "parent"), ("grant", "self")]
    for minute, (action, actor) in enumerate(steps):
        make_consent(
            session,
            keyring,
            policy,
            "recommendations",
            action=action,
            actor=actor,
            now=NOW + timedelta(minutes=minute),
        )
        rows = consent_history.history(session, subject_id=subject.id)
        assert len(rows) == len(seen) + 1
        assert rows[: len(seen)] == seen
        seen = rows
    assert [r.action for r in seen] == ["grant", "withdraw", "grant", "grant"]
    permit = rights_permit(session, keyring, policy, subject.id)
    assert consent_history.export_subject(session, permit=permit, subject_id=subject.id) == seen


def test_subject_facts_of_an_anonymous_subject_have_no_consents(session, keyring):
    facts = consent_service.subject_facts(session, keyring=keyring, subject_id=None, now=NOW)
    assert facts == SubjectFacts(subject_id=None)


def test_subject_facts_from_the_projection_take_two_queries(session, keyring, policy):
    """The hot path of every check and decide."""
    subject = make_subject(session, keyring, age_band="10_19", is_restricted=True)
    make_consent(session, keyring, policy, "recommendations")
    make_consent(session, keyring, policy, "recommendations", actor="parent")
    make_consent(session, keyring, policy, "analytics", action="withdraw")
    session.commit()
    session.expunge_all()
    with count_queries(session) as statements:
        facts = consent_service.subject_facts(
            session, keyring=keyring, subject_id=subject.id, now=NOW
        )
    assert len(statements) == 2
    assert (facts.age, facts.is_restricted) == (15, True)
    assert set(facts.consents) == {"recommendations", "analytics"}
    assert set(facts.consents["recommendations"]) == {"subject", "guardian"}
    assert facts.consents["analytics"]["subject"].action == "withdraw"


def test_subject_facts_many_equal_one_by_one_and_take_two_queries(session, keyring, policy):
    """The batch hot path (track): two queries whatever the batch size."""
    adult = make_subject(session, keyring, "C-0001")
    minor = make_subject(session, keyring, "C-0002", age_band="10_19")
    bare = make_subject(session, keyring, "C-0003")
    make_consent(session, keyring, policy, "analytics", customer_id="C-0001")
    make_consent(session, keyring, policy, "recommendations", customer_id="C-0002")
    make_consent(session, keyring, policy, "recommendations", customer_id="C-0002", actor="parent")
    session.commit()
    session.expunge_all()
    ids = {adult.id, minor.id, bare.id, uuid.uuid4()}
    with count_queries(session) as statements:
        many = consent_service.subject_facts_many(
            session, keyring=keyring, subject_ids=ids, now=NOW
        )
    assert len(statements) == 2
    assert set(many) == {adult.id, minor.id, bare.id}
    for subject in (adult, minor, bare):
        assert many[subject.id] == _facts(session, keyring, subject.id, at=None)
    assert many[bare.id].consents == {}


def test_subject_facts_many_of_no_subjects_asks_nothing(session, keyring):
    with count_queries(session) as statements:
        many = consent_service.subject_facts_many(
            session, keyring=keyring, subject_ids=set(), now=NOW
        )
    assert many == {}
    assert statements == []


def test_subject_facts_at_a_past_time_fold_the_ledger(session, keyring, policy):
    subject = make_subject(session, keyring)
    make_consent(session, keyring, policy, "analytics", now=NOW)
    withdraw = consent_change(policy, "analytics", "withdraw")
    consent_service.record(
        session,
        keyring=keyring,
        policy=policy,
        customer_id="C-0001",
        change=withdraw,
        now=NOW + timedelta(hours=1),
        evidence_ip=None,
        evidence_user_agent=None,
    )
    assert _facts(session, keyring, subject.id, at=NOW - TICK).consents == {}
    granted = _facts(session, keyring, subject.id, at=NOW + timedelta(minutes=59))
    assert granted.consents["analytics"]["subject"].action == "grant"
    now_state = _facts(session, keyring, subject.id, at=NOW + timedelta(hours=1))
    assert now_state.consents == _facts(session, keyring, subject.id).consents


def test_erase_subject_deletes_the_ledger_and_projection(session, keyring, policy):
    kept = make_subject(session, keyring, "C-KEEP-1")
    make_consent(session, keyring, policy, "analytics", customer_id="C-KEEP-1")
    gone = make_subject(session, keyring, "C-GONE-1")
    for purpose in ("analytics", "recommendations"):
        make_consent(session, keyring, policy, purpose, customer_id="C-GONE-1")
    assert consent_history.erase_subject(session, subject_id=gone.id) == 2
    assert consent_history.history(session, subject_id=gone.id) == []
    assert _facts(session, keyring, gone.id).consents == {}
    remaining = session.scalars(select(ConsentState.subject_id)).all()
    assert remaining == [kept.id]
    assert session.scalar(select(func.count()).select_from(ConsentRecord)) == 1


STEP = st.tuples(
    st.sampled_from(["recommendations", "personalized_offers"]),
    st.sampled_from(["self", "staff", "parent", "guardian"]),
    st.sampled_from(["grant", "withdraw"]),
    st.integers(min_value=1, max_value=100_000),  # seconds after the previous step
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=6))
def test_state_rebuilt_from_the_ledger_equals_the_projection_at_every_past_time(
    session, keyring, policy, steps
):
    """TH-CON-04: reconstruct the state at any past time from the ledger alone."""
    customer_id = f"C-PROP-{uuid.uuid4().hex[:12]}"
    subject = make_subject(session, keyring, customer_id)
    moment = NOW
    snapshots = []
    for purpose, actor, action, gap in steps:
        moment += timedelta(seconds=gap)
        make_consent(
            session,
            keyring,
            policy,
            purpose,
            customer_id=customer_id,
            action=action,
            actor=actor,
            now=moment,
        )
        snapshots.append((moment, _facts(session, keyring, subject.id).consents))
    first = snapshots[0][0]
    assert _facts(session, keyring, subject.id, at=first - TICK).consents == {}
    for index, (moment, projected) in enumerate(snapshots):
        assert _facts(session, keyring, subject.id, at=moment).consents == projected
        if index + 1 < len(snapshots):
            just_before_next = snapshots[index + 1][0] - TICK
            assert _facts(session, keyring, subject.id, at=just_before_next).consents == projected
