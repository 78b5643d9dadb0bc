"""Identities: bulk resolution, blind-index lookups and linking (TH-SEC-01)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rujai.errors import Conflict, Invalid, PolicyDenied
from rujai.policy import service as policy_service
from rujai.profiles import identities
from rujai.profiles.models import Identity, Subject
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
    first = identities.resolve_many(session, keyring=keyring, refs=refs, now=NOW)
    again = identities.resolve_many(session, keyring=keyring, refs=refs, now=NOW)
    assert len({r.subject_id for r in first.values()}) == 6
    assert {k: v.subject_id for k, v in first.items()} == {
        k: v.subject_id for k, v in again.items()
    }
    assert session.scalar(select(func.count()).select_from(Subject)) == 6
    assert all(r.data_key is not None and not r.partner_notified for r in first.values())


def test_resolve_many_uses_a_constant_number_of_queries(session, keyring):
    with count_queries(session) as small:
        identities.resolve_many(session, keyring=keyring, refs=_refs(10), now=NOW)
    with count_queries(session) as large:
        identities.resolve_many(session, keyring=keyring, refs=_refs(400, offset=10), now=NOW)
    with count_queries(session) as existing:
        identities.resolve_many(session, keyring=keyring, refs=_refs(400, offset=10), now=NOW)
    assert len(large) == len(small)
    assert len(existing) < len(large)


def test_resolve_many_does_not_create_when_told_not_to(session, keyring):
    known = make_subject(session, keyring, "C-0001")
    refs = [
        SubjectRef(customer_id="C-0001", anonymous_id=None),
        SubjectRef(customer_id="C-0404", anonymous_id=None),
        SubjectRef(customer_id=None, anonymous_id="anon-x"),
    ]
    found = identities.resolve_many(session, keyring=keyring, refs=refs, now=NOW, create=False)
    assert {ref: r.subject_id for ref, r in found.items()} == {refs[0]: known.id}
    assert session.scalar(select(func.count()).select_from(Subject)) == 1


def test_resolve_many_prefers_the_customer_id_over_the_anonymous_id(session, keyring):
    known = make_subject(session, keyring, "C-0001")
    ref = SubjectRef(customer_id="C-0001", anonymous_id="anon-1")
    found = identities.resolve_many(session, keyring=keyring, refs=[ref], now=NOW)
    assert found[ref].subject_id == known.id


def test_resolve_many_follows_a_merge_to_the_known_profile(session, keyring):
    known = make_subject(session, keyring, "C-0001")
    anon_ref = SubjectRef(customer_id=None, anonymous_id="anon-1")
    anon = identities.resolve_many(session, keyring=keyring, refs=[anon_ref], now=NOW)[anon_ref]
    session.get(Subject, anon.subject_id).merged_into_id = known.id
    session.flush()
    found = identities.resolve_many(session, keyring=keyring, refs=[anon_ref], now=NOW)
    assert found[anon_ref].subject_id == known.id


def test_resolve_many_gives_no_key_for_a_shredded_subject(session, keyring):
    subject = make_subject(session, keyring, "C-0001")
    identities.destroy_data_key(session, subject_id=subject.id, now=NOW, actor="test")
    ref = SubjectRef(customer_id="C-0001", anonymous_id=None)
    found = identities.resolve_many(session, keyring=keyring, refs=[ref], now=NOW)
    assert found[ref].subject_id == subject.id
    assert found[ref].data_key is None


def test_resolve_many_rejects_a_ref_without_any_id(session, keyring):
    with pytest.raises(Invalid) as info:
        identities.resolve_many(session, keyring=keyring, refs=[SubjectRef(None, None)], now=NOW)
    assert info.value.field == "customer_id"


def test_concurrent_creator_wins_and_the_losing_anonymous_subject_is_removed(session, keyring):
    ref = SubjectRef(customer_id=None, anonymous_id="anon-1")
    winner = identities.resolve_many(session, keyring=keyring, refs=[ref], now=NOW)[ref]
    blind = keyring.blind("anonymous", "anon-1")
    # What a second creator that looked before the first one committed would do next.
    found = identities._create_anonymous(session, keyring, {blind: "anon-1"}, NOW)
    assert {b: row.id for b, row in found.items()} == {blind: winner.subject_id}
    assert session.scalar(select(func.count()).select_from(Subject)) == 1
    customer_blind = keyring.blind("customer", "C-0001")
    first = identities._create_customers(session, keyring, {customer_blind: "C-0001"}, NOW)
    second = identities._create_customers(session, keyring, {customer_blind: "C-0001"}, NOW)
    assert first[customer_blind].id == second[customer_blind].id
    assert session.scalar(select(func.count()).select_from(Subject)) == 2


@pytest.mark.parametrize(
    ("kind", "stored", "lookups"),
    [
        ("phone", "+66 81 234 5678", ["081-234-5678", "0812345678", "+66812345678"]),
        ("email", "Somchai.J@Example.com", ["somchai.j@example.com", " SOMCHAI.J@EXAMPLE.COM "]),
    ],
)
def test_blind_index_finds_a_subject_by_any_input_form(session, keyring, kind, stored, lookups):
    subject = make_subject(session, keyring, "C-0001")
    identities.add_identity(
        session, keyring=keyring, subject_id=subject.id, kind=kind, value=stored, verified=False,
        now=NOW,
    )  # fmt: skip
    for form in lookups:
        assert identities.find_by_identity(session, keyring=keyring, kind=kind, value=form) == (
            subject.id
        )
    other = "+66 89 999 0000" if kind == "phone" else "other@example.com"
    assert identities.find_by_identity(session, keyring=keyring, kind=kind, value=other) is None


def test_identity_linked_to_another_subject_is_refused_without_the_value(session, keyring):
    first = make_subject(session, keyring, "C-0001")
    second = make_subject(session, keyring, "C-0002")
    kwargs = {"keyring": keyring, "kind": "email", "verified": False, "now": NOW}
    identities.add_identity(session, subject_id=first.id, value="malee.s@example.com", **kwargs)
    with pytest.raises(Conflict) as info:
        identities.add_identity(
            session, subject_id=second.id, value="MALEE.S@example.com", **kwargs
        )
    assert info.value.field == "email"
    assert "malee" not in info.value.message.lower()


def test_adding_the_same_identity_again_only_verifies_it(session, keyring):
    subject = make_subject(session, keyring, "C-0001")
    kwargs = {"keyring": keyring, "subject_id": subject.id, "kind": "phone", "now": NOW}
    first = identities.add_identity(session, value="0812345678", verified=False, **kwargs)
    again = identities.add_identity(session, value="+66 81 234 5678", verified=True, **kwargs)
    assert (first.is_new, first.is_verified) == (True, False)
    assert (again.id, again.is_new, again.is_verified) == (first.id, False, True)
    assert session.scalar(select(func.count()).select_from(Identity)) == 1


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("email", "not-an-address", "email"),
        ("phone", "12345", "phone"),
        ("national_id", "1-2345-67890-12-0", "national_id"),
        ("anonymous", "   ", "anonymous_id"),
    ],
)
def test_add_identity_rejects_a_malformed_value_naming_the_field(
    session, keyring, kind, value, field
):
    subject = make_subject(session, keyring, "C-0001")
    with pytest.raises(Invalid) as info:
        identities.add_identity(
            session, keyring=keyring, subject_id=subject.id, kind=kind, value=value,
            verified=False, now=NOW,
        )  # fmt: skip
    assert info.value.field == field
    assert value.strip() == "" or value not in info.value.message


def _permit(session, keyring, policy, subject_id, purpose, categories):
    return policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=purpose,
        categories=categories, now=NOW, actor="test",
    )  # fmt: skip


def test_list_identities_decrypts_under_a_permit_covering_contact(session, keyring, policy):
    subject = make_subject(session, keyring, "C-0001")
    kwargs = {"keyring": keyring, "subject_id": subject.id, "verified": True, "now": NOW}
    identities.add_identity(session, kind="email", value="Malee.S@example.com", **kwargs)
    identities.add_identity(session, kind="phone", value="081-234-5678", **kwargs)
    permit = _permit(session, keyring, policy, subject.id, "order_fulfilment", ["contact"])
    listed = identities.list_identities(
        session, keyring=keyring, permit=permit, subject_id=subject.id
    )
    assert sorted((i.kind, i.value) for i in listed) == [
        ("email", "malee.s@example.com"),
        ("phone", "+66812345678"),
    ]


def test_list_identities_refuses_a_permit_without_contact(session, keyring, policy):
    subject = make_subject(session, keyring, "C-0001")
    permit = _permit(session, keyring, policy, subject.id, "accounting_records", ["identity"])
    with pytest.raises(PolicyDenied):
        identities.list_identities(session, keyring=keyring, permit=permit, subject_id=subject.id)


def test_identity_values_are_stored_only_sealed(session, keyring):
    subject = make_subject(session, keyring, "C-0001")
    identities.add_identity(
        session, keyring=keyring, subject_id=subject.id, kind="email",
        value="malee.s@example.com", verified=False, now=NOW,
    )  # fmt: skip
    row = session.scalars(select(Identity)).one()
    assert b"malee" not in row.value_sealed
    assert "malee" not in row.blind
