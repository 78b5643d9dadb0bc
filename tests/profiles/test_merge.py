"""Merging an anonymous profile into a known one, and undoing it (TH-CON-03, TH-CON-04)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rujai.consent import service as consent_service
from rujai.consent.models import ConsentRecord
from rujai.errors import Conflict, NotFound
from rujai.events import service as events_service
from rujai.events.models import Event
from rujai.kit import signals
from rujai.policy import service as policy_service
from rujai.policy.notice import purpose_notice_hash
from rujai.policy.rules import Reason
from rujai.profiles import identities, merge as profiles_merge, traits
from rujai.profiles.models import Identity, Subject, Trait
from tests.factories import (
    NOW,
    make_anonymous_subject,
    make_consent,
    make_purchase,
    make_subject,
    rights_permit,
)

LATER = NOW + timedelta(hours=1)
CUSTOMER = "C-0001"
DEVICE = "anon-0001"


def _anon_consent(session, policy, subject_id, purpose, action="grant", at=NOW, **fields):
    """Append a ledger record for a subject that has no customer id (an anonymous profile)."""
    row = ConsentRecord(
        id=uuid.uuid4(), subject_id=subject_id, purpose=purpose, action=action,
        notice_version=policy.purposes[purpose].notice.version,
        notice_hash=purpose_notice_hash(policy, purpose, "th"), language="th", channel="web",
        actor="self", actor_ref=None, is_explicit=fields.pop("is_explicit", False),
        recorded_at=at, expires_at=fields.pop("expires_at", None),
    )  # fmt: skip
    session.add(row)
    session.flush()
    consent_service._project(session, row, "subject", at)
    return row


def _merge(session, keyring, policy, anon, known, now=LATER):
    return profiles_merge.merge(
        session, keyring=keyring, policy=policy, from_subject_id=anon.id,
        into_subject_id=known.id, now=now, actor="test",
    )  # fmt: skip


def _check(session, keyring, policy, subject_id, purpose, categories, now=LATER):
    return policy_service.check(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=purpose,
        categories=categories, now=now, actor="test",
    )  # fmt: skip


def _ledger_size(session):
    return session.scalar(select(func.count()).select_from(ConsentRecord))


def test_merge_keeps_a_withdrawal_of_the_known_customer_th_con_03(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER)
    make_consent(session, keyring, policy, "recommendations", now=NOW - timedelta(days=2))
    make_consent(
        session, keyring, policy, "recommendations", action="withdraw", now=NOW - timedelta(days=1)
    )
    anon = make_anonymous_subject(session, keyring, DEVICE)
    _anon_consent(session, policy, anon.id, "recommendations")
    merged = _merge(session, keyring, policy, anon, known)
    verdict = _check(session, keyring, policy, known.id, "recommendations", ["browsing"])
    assert (verdict.allowed, verdict.reason) == (False, Reason.WITHDRAWN)
    assert merged.consent_changes == []  # the target's withdrawal already stands
    status = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id=CUSTOMER, now=LATER
    )
    assert {p.purpose: p.status for p in status.purposes}["recommendations"] == "withdrawn"


def test_anonymous_withdrawal_overrides_a_known_grant_th_con_03(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER)
    make_consent(session, keyring, policy, "recommendations", now=NOW - timedelta(days=2))
    anon = make_anonymous_subject(session, keyring, DEVICE)
    _anon_consent(session, policy, anon.id, "recommendations", at=NOW - timedelta(days=3))
    origin = _anon_consent(session, policy, anon.id, "recommendations", "withdraw")
    merged = _merge(session, keyring, policy, anon, known)
    verdict = _check(session, keyring, policy, known.id, "recommendations", ["browsing"])
    assert (verdict.allowed, verdict.reason) == (False, Reason.WITHDRAWN)
    [change] = merged.consent_changes
    assert (change.action, change.reason) == ("withdraw", "withdrawn_on_either_side")
    row = session.get(ConsentRecord, change.record_id)
    assert (row.subject_id, row.channel, row.actor) == (known.id, "merge", "self")
    assert row.actor_ref == f"merge:{origin.id}"


def test_anonymous_grant_is_carried_over_when_the_known_side_has_none(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER, age_band="adult")  # TH-MIN-01
    anon = make_anonymous_subject(session, keyring, DEVICE)
    origin = _anon_consent(session, policy, anon.id, "recommendations")
    assert not _check(session, keyring, policy, known.id, "recommendations", ["browsing"]).allowed
    merged = _merge(session, keyring, policy, anon, known)
    verdict = _check(session, keyring, policy, known.id, "recommendations", ["browsing"])
    assert (verdict.allowed, verdict.reason) == (True, Reason.ALLOWED_CONSENT)
    [change] = merged.consent_changes
    assert (change.reason, change.origin_record_id) == ("grant_carried_over", origin.id)
    copy = session.get(ConsentRecord, change.record_id)
    assert (copy.actor_ref, copy.notice_hash) == (f"merge:{origin.id}", origin.notice_hash)


def test_anonymous_grant_does_not_replace_a_known_record(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER)
    make_consent(session, keyring, policy, "recommendations", action="withdraw")
    anon = make_anonymous_subject(session, keyring, DEVICE)
    _anon_consent(session, policy, anon.id, "recommendations", at=LATER - timedelta(minutes=1))
    assert _merge(session, keyring, policy, anon, known).consent_changes == []
    assert not _check(session, keyring, policy, known.id, "recommendations", ["browsing"]).allowed


def test_carried_grant_cannot_outlive_the_original(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER, age_band="adult")  # TH-MIN-01
    anon = make_anonymous_subject(session, keyring, DEVICE)
    granted_at = NOW - timedelta(days=300)  # health_tailored_offers: consent valid 365 days
    _anon_consent(
        session, policy, anon.id, "health_tailored_offers", at=granted_at, is_explicit=True
    )
    [change] = _merge(session, keyring, policy, anon, known).consent_changes
    copy = session.get(ConsentRecord, change.record_id)
    assert copy.expires_at == granted_at + timedelta(days=365)
    purpose, categories = "health_tailored_offers", ["health"]
    assert _check(session, keyring, policy, known.id, purpose, categories).allowed
    after = granted_at + timedelta(days=366)
    assert not _check(session, keyring, policy, known.id, purpose, categories, now=after).allowed


def _profiles_with_data(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER)
    make_consent(session, keyring, policy, "recommendations", now=NOW - timedelta(days=2))
    anon = make_anonymous_subject(session, keyring, DEVICE)
    _anon_consent(session, policy, anon.id, "recommendations", "withdraw")
    _anon_consent(session, policy, anon.id, "analytics")
    traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=known.id,
        traits={"first_name": "สมชาย"}, source="api", now=NOW,
    )  # fmt: skip
    traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=anon.id,
        traits={"first_name": "ผู้มาเยือน", "last_name": "ใจดี"}, source="api", now=NOW,
    )  # fmt: skip
    make_purchase(session, keyring, policy, anonymous_id=DEVICE, order_id="ORD-A1")
    make_purchase(session, keyring, policy, customer_id=CUSTOMER, order_id="ORD-K1")
    return known, anon


def _events(session, keyring, policy, subject_id):
    permit = rights_permit(session, keyring, policy, subject_id)
    rows = events_service.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject_id
    )
    return sorted(e.properties["order_id"] for e in rows)


def test_merge_moves_identities_missing_traits_and_events(session, keyring, policy):
    known, anon = _profiles_with_data(session, keyring, policy)
    merged = _merge(session, keyring, policy, anon, known)
    assert (merged.identities_moved, merged.traits_moved, merged.events_moved) == (
        1, ["last_name"], 1,
    )  # fmt: skip
    permit = rights_permit(session, keyring, policy, known.id)
    exported = traits.export_subject(session, keyring=keyring, permit=permit, subject_id=known.id)
    assert exported.traits == {"first_name": "สมชาย", "last_name": "ใจดี"}
    assert [i.value for i in exported.identities] == [DEVICE]
    assert _events(session, keyring, policy, known.id) == ["ORD-A1", "ORD-K1"]
    assert session.get(Subject, anon.id).merged_into_id == known.id
    found = identities.find_by_identity(session, keyring=keyring, kind="anonymous", value=DEVICE)
    assert found == known.id


def test_undo_restores_both_sides(session, keyring, policy):
    known, anon = _profiles_with_data(session, keyring, policy)
    merged = _merge(session, keyring, policy, anon, known)
    assert not _check(session, keyring, policy, known.id, "recommendations", ["browsing"]).allowed
    assert _check(session, keyring, policy, known.id, "analytics", ["browsing"]).allowed
    ledger = _ledger_size(session)
    undone = profiles_merge.undo(
        session, keyring=keyring, policy=policy, merge_id=merged.id, now=LATER, actor="test"
    )
    assert undone.undone_at == LATER
    # Known side: its grant is back, the carried grant is gone; the anonymous side is unchanged.
    assert _check(session, keyring, policy, known.id, "recommendations", ["browsing"]).allowed
    assert not _check(session, keyring, policy, known.id, "analytics", ["browsing"]).allowed
    assert not _check(session, keyring, policy, anon.id, "recommendations", ["browsing"]).allowed
    assert _check(session, keyring, policy, anon.id, "analytics", ["browsing"]).allowed
    # Append-only: the merge's records stay, two compensating records were added (TH-CON-04).
    assert _ledger_size(session) == ledger + 2
    assert all(session.get(ConsentRecord, c.record_id) for c in merged.consent_changes)
    assert session.get(Subject, anon.id).merged_into_id is None
    assert _events(session, keyring, policy, anon.id) == ["ORD-A1"]
    assert _events(session, keyring, policy, known.id) == ["ORD-K1"]
    found = identities.find_by_identity(session, keyring=keyring, kind="anonymous", value=DEVICE)
    assert found == anon.id
    permit = rights_permit(session, keyring, policy, anon.id)
    back = traits.export_subject(session, keyring=keyring, permit=permit, subject_id=anon.id)
    assert back.traits == {"first_name": "ผู้มาเยือน", "last_name": "ใจดี"}
    permit = rights_permit(session, keyring, policy, known.id)
    assert traits.export_subject(
        session, keyring=keyring, permit=permit, subject_id=known.id
    ).traits == {"first_name": "สมชาย"}


def test_undo_leaves_a_consent_change_made_after_the_merge(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER)
    anon = make_anonymous_subject(session, keyring, DEVICE)
    _anon_consent(session, policy, anon.id, "recommendations")
    merged = _merge(session, keyring, policy, anon, known)
    make_consent(session, keyring, policy, "recommendations", now=LATER + timedelta(minutes=1))
    undone = profiles_merge.undo(
        session, keyring=keyring, policy=policy, merge_id=merged.id,
        now=LATER + timedelta(minutes=2), actor="test",
    )  # fmt: skip
    assert len(undone.consent_changes) == 1  # only the merge's own record, nothing compensated
    check_at = LATER + timedelta(minutes=3)
    verdict = _check(session, keyring, policy, known.id, "recommendations", ["browsing"], check_at)
    assert verdict.allowed


def test_merge_carries_objections_and_restriction_and_undo_takes_them_back(
    session, keyring, policy
):
    known = make_subject(session, keyring, CUSTOMER)
    anon = make_anonymous_subject(session, keyring, DEVICE)
    row = session.get(Subject, anon.id)
    row.objections, row.is_restricted = ["direct_marketing"], True
    merged = _merge(session, keyring, policy, anon, known)
    target = session.get(Subject, known.id)
    assert (target.objections, target.is_restricted) == (["direct_marketing"], True)
    profiles_merge.undo(
        session, keyring=keyring, policy=policy, merge_id=merged.id, now=LATER, actor="test"
    )
    assert (target.objections, target.is_restricted) == ([], False)


def test_merge_refuses_a_known_customer_itself_and_a_second_merge(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER)
    other = make_subject(session, keyring, "C-0002")
    anon = make_anonymous_subject(session, keyring, DEVICE)
    with pytest.raises(Conflict) as info:
        _merge(session, keyring, policy, other, known)
    assert "C-0002" not in info.value.message
    with pytest.raises(Conflict):
        _merge(session, keyring, policy, known, known)
    _merge(session, keyring, policy, anon, known)
    with pytest.raises(Conflict):
        _merge(session, keyring, policy, anon, other)


def test_undo_twice_or_of_an_unknown_merge_is_refused(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER)
    anon = make_anonymous_subject(session, keyring, DEVICE)
    merged = _merge(session, keyring, policy, anon, known)
    kwargs = {"keyring": keyring, "policy": policy, "now": LATER, "actor": "test"}
    profiles_merge.undo(session, merge_id=merged.id, **kwargs)
    with pytest.raises(Conflict) as info:
        profiles_merge.undo(session, merge_id=merged.id, **kwargs)
    assert info.value.field == "merge_id"
    with pytest.raises(NotFound):
        profiles_merge.undo(session, merge_id=uuid.uuid4(), **kwargs)


def test_list_merges_filters_by_subject(session, keyring, policy):
    known = make_subject(session, keyring, CUSTOMER)
    anon = make_anonymous_subject(session, keyring, DEVICE)
    merged = _merge(session, keyring, policy, anon, known)
    assert [m.id for m in profiles_merge.list_merges(session, subject_id=anon.id)] == [merged.id]
    assert profiles_merge.list_merges(session, subject_id=uuid.uuid4()) == []


def test_merged_rows_are_resealed_for_the_target(session, keyring, policy):
    known, anon = _profiles_with_data(session, keyring, policy)
    _merge(session, keyring, policy, anon, known)
    identity = session.scalars(select(Identity).where(Identity.kind == "anonymous")).one()
    trait = session.get(Trait, (known.id, "last_name"))
    event_count = session.scalar(
        select(func.count()).select_from(Event).where(Event.subject_id == known.id)
    )
    assert (identity.subject_id, trait.subject_id, event_count) == (known.id, known.id, 2)
    # Destroying the anonymous side's key does not touch what moved to the target.
    identities.destroy_data_key(session, subject_id=anon.id, now=LATER, actor="test")
    permit = rights_permit(session, keyring, policy, known.id)
    assert traits.export_subject(
        session, keyring=keyring, permit=permit, subject_id=known.id
    ).traits["last_name"] == ("ใจดี")


def test_a_merge_refuses_to_run_when_a_domain_could_not_move_its_rows(
    session, keyring, policy, monkeypatch
):
    """Profiles asks consent and events to move their rows through signals; without a handler the
    merge stops before changing anything (no events left behind on the anonymous side)."""
    known, anon = _profiles_with_data(session, keyring, policy)
    monkeypatch.setattr(signals, "_merge_parts", {})
    with pytest.raises(signals.MissingHandler, match="consent, events"):
        _merge(session, keyring, policy, anon, known)
    assert session.get(Subject, anon.id).merged_into_id is None
