"""Resolving subject refs in bulk: creation once, constant queries, merges, erased keys."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rujai.errors import Invalid
from rujai.profiles import identities, identity_resolve
from rujai.profiles.models import Subject
from rujai.profiles.schemas import SubjectRef
from tests.consent.helpers import count_queries
from tests.factories import NOW, make_subject


def _refs(n: int, offset: int = 0) -> list[SubjectRef]:
    return [
        SubjectRef(customer_id=f"C-{i:04d}", anonymous_id=None)
        if i % 2
        else SubjectRef(customer_id=None, anonymous_id=f"anon-{i:04d}")
        for i in range(offset, offset + n)
    ]


def test_resolve_many_creates_each_subject_once_and_finds_it_again(session, keyring):
    refs = _refs(6) + _refs(6)  # every ref twice
    first = identity_resolve.resolve_many(session, keyring=keyring, refs=refs, now=NOW)
    again = identity_resolve.resolve_many(session, keyring=keyring, refs=refs, now=NOW)
    assert len({r.subject_id for r in first.values()}) == 6
    assert {k: v.subject_id for k, v in first.items()} == {
        k: v.subject_id for k, v in again.items()
    }
    assert session.scalar(select(func.count()).select_from(Subject)) == 6
    assert all(r.data_key is not None and not r.partner_notified for r in first.values())


def test_resolve_many_uses_a_constant_number_of_queries(session, keyring):
    with count_queries(session) as small:
        identity_resolve.resolve_many(session, keyring=keyring, refs=_refs(10), now=NOW)
    with count_queries(session) as large:
        identity_resolve.resolve_many(session, keyring=keyring, refs=_refs(400, offset=10), now=NOW)
    with count_queries(session) as existing:
        identity_resolve.resolve_many(session, keyring=keyring, refs=_refs(400, offset=10), now=NOW)
    assert len(large) == len(small)
    assert len(existing) < len(large)


def test_resolve_many_does_not_create_when_told_not_to(session, keyring):
    known = make_subject(session, keyring, "C-0001")
    refs = [
        SubjectRef(customer_id="C-0001", anonymous_id=None),
        SubjectRef(customer_id="C-0404", anonymous_id=None),
        SubjectRef(customer_id=None, anonymous_id="anon-x"),
    ]
    found = identity_resolve.resolve_many(
        session, keyring=keyring, refs=refs, now=NOW, create=False
    )
    assert {ref: r.subject_id for ref, r in found.items()} == {refs[0]: known.id}
    assert session.scalar(select(func.count()).select_from(Subject)) == 1


def test_resolve_many_prefers_the_customer_id_over_the_anonymous_id(session, keyring):
    known = make_subject(session, keyring, "C-0001")
    ref = SubjectRef(customer_id="C-0001", anonymous_id="anon-1")
    found = identity_resolve.resolve_many(session, keyring=keyring, refs=[ref], now=NOW)
    assert found[ref].subject_id == known.id


def test_resolve_many_follows_a_merge_to_the_known_profile(session, keyring):
    known = make_subject(session, keyring, "C-0001")
    anon_ref = SubjectRef(customer_id=None, anonymous_id="anon-1")
    anon = identity_resolve.resolve_many(session, keyring=keyring, refs=[anon_ref], now=NOW)
    session.get(Subject, anon[anon_ref].subject_id).merged_into_id = known.id
    session.flush()
    found = identity_resolve.resolve_many(session, keyring=keyring, refs=[anon_ref], now=NOW)
    assert found[anon_ref].subject_id == known.id


def test_resolve_many_gives_no_key_for_a_shredded_subject(session, keyring):
    subject = make_subject(session, keyring, "C-0001")
    identities.destroy_data_key(session, subject_id=subject.id, now=NOW, actor="test")
    ref = SubjectRef(customer_id="C-0001", anonymous_id=None)
    found = identity_resolve.resolve_many(session, keyring=keyring, refs=[ref], now=NOW)
    assert found[ref].subject_id == subject.id
    assert found[ref].data_key is None


def test_resolve_many_rejects_a_ref_without_any_id(session, keyring):
    with pytest.raises(Invalid) as info:
        identity_resolve.resolve_many(
            session, keyring=keyring, refs=[SubjectRef(None, None)], now=NOW
        )
    assert info.value.field == "customer_id"


def test_concurrent_creator_wins_and_the_losing_anonymous_subject_is_removed(session, keyring):
    ref = SubjectRef(customer_id=None, anonymous_id="anon-1")
    winner = identity_resolve.resolve_many(session, keyring=keyring, refs=[ref], now=NOW)[ref]
    blind = keyring.blind("anonymous", "anon-1")
    # What a second creator that looked before the first one committed would do next.
    found = identity_resolve._create_anonymous(session, keyring, {blind: "anon-1"}, NOW)
    assert {b: row.id for b, row in found.items()} == {blind: winner.subject_id}
    assert session.scalar(select(func.count()).select_from(Subject)) == 1
    customer_blind = keyring.blind("customer", "C-0001")
    first = identity_resolve._create_customers(session, keyring, {customer_blind: "C-0001"}, NOW)
    second = identity_resolve._create_customers(session, keyring, {customer_blind: "C-0001"}, NOW)
    assert first[customer_blind].id == second[customer_blind].id
    assert session.scalar(select(func.count()).select_from(Subject)) == 2
