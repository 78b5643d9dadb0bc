"""Identities: blind-index lookups and linking (TH-SEC-01); resolution is test_identity_resolve."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rujai.errors import Conflict, Invalid, PolicyDenied
from rujai.policy import service as policy_service
from rujai.profiles import identities
from rujai.profiles.models import Identity
from tests.factories import NOW, make_subject


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
