"""Contacts: only a verified identity on file is opened, and only with a permit (TH-DSR-00)."""

from __future__ import annotations

import pytest

from rujai.errors import PolicyDenied
from rujai.policy import service as policy_service
from rujai.policy.rules import Action
from rujai.profiles import contacts, identities
from tests.factories import NOW, make_subject, rights_permit

EMAIL, OLD_EMAIL, PHONE = "malee.s@example.com", "malee.old@example.com", "081 234 5678"


def _person(session, keyring):
    subject = make_subject(session, keyring, "C-CONTACT-1")
    for kind, value, verified in (("email", OLD_EMAIL, False), ("phone", PHONE, True)):
        identities.add_identity(
            session, keyring=keyring, subject_id=subject.id, kind=kind, value=value,
            verified=verified, now=NOW,
        )  # fmt: skip
    return subject.id


def test_verified_contact_opens_only_a_verified_identity_in_the_order_asked(
    session, keyring, policy
):
    sid = _person(session, keyring)
    permit = rights_permit(session, keyring, policy, sid)
    found = contacts.verified_contact(
        session, keyring=keyring, permit=permit, subject_id=sid, kinds=("email", "phone")
    )
    assert found is not None
    assert (found.kind, found.value, found.is_verified) == ("phone", "+66812345678", True)
    none = contacts.verified_contact(
        session, keyring=keyring, permit=permit, subject_id=sid, kinds=("email",)
    )
    assert none is None  # the e-mail on file is not verified
    assert (
        contacts.verified_contact(session, keyring=keyring, permit=permit, subject_id=sid, kinds=())
        is None
    )


def test_verified_contact_needs_a_permit_for_this_subject_covering_contact(
    session, keyring, policy
):
    sid = _person(session, keyring)
    other = make_subject(session, keyring, "C-CONTACT-2").id
    elsewhere = rights_permit(session, keyring, policy, other)
    narrow = policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=sid, purpose="rights_requests",
        categories=["identity"], now=NOW, actor="test", action=Action.ANSWER_RIGHTS,
    )  # fmt: skip
    for permit in (elsewhere, narrow):
        with pytest.raises(PolicyDenied):
            contacts.verified_contact(
                session, keyring=keyring, permit=permit, subject_id=sid, kinds=("phone",)
            )


def test_find_identity_answers_with_ids_by_blind_index(session, keyring):
    sid = _person(session, keyring)
    found = contacts.find_identity(session, keyring=keyring, kind="phone", value="+66812345678")
    assert found is not None
    assert found[0] == sid
    assert contacts.find_identity(session, keyring=keyring, kind="email", value=EMAIL) is None
