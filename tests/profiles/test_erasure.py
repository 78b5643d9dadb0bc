"""Erasing profiles: the person's profiles, their blind indexes, merges and rows (TH-DSR-04)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from rujai.profiles import erasure, identities, merge as profiles_merge, traits
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.models import Subject, SubjectMerge, TraitRevision
from rujai.profiles.schemas import IdentifyCreate
from tests.factories import NOW, make_anonymous_subject, make_subject

CUSTOMER, DEVICE, EMAIL = "C-ERASE-P1", "device-erase-p1", "somsri.e@example.com"


def _merged(session, keyring, policy):
    anon = make_anonymous_subject(session, keyring, DEVICE)
    profiles_merge.identify(
        session, keyring=keyring, policy=policy, now=NOW, actor="test",
        body=IdentifyCreate(customer_id=CUSTOMER, anonymous_id=DEVICE, traits={"email": EMAIL}),
    )  # fmt: skip
    known = session.scalar(select(Subject.id).where(Subject.id != anon.id))
    return known, anon.id


def test_family_of_lists_merged_profiles_first_then_the_subject(session, keyring, policy):
    known, anon = _merged(session, keyring, policy)
    make_subject(session, keyring, "C-BYSTANDER")
    assert erasure.family_of(session, subject_id=known) == [anon, known]
    with pytest.raises(SubjectNotFound):
        erasure.family_of(session, subject_id=uuid.uuid4())


def test_blind_indexes_are_the_customer_ref_and_every_identity(session, keyring, policy):
    known, anon = _merged(session, keyring, policy)
    blinds = erasure.blind_indexes(session, subject_ids=[anon, known])
    assert sorted(blinds) == sorted(
        [
            ("customer", keyring.blind("customer", CUSTOMER)),
            ("email", keyring.blind("email", EMAIL)),
            ("anonymous", keyring.blind("anonymous", DEVICE)),
        ]
    )
    assert all(CUSTOMER not in blind and EMAIL not in blind for _kind, blind in blinds)


def test_merges_revisions_and_subject_rows_are_erased(session, keyring, policy):
    known, anon = _merged(session, keyring, policy)
    traits.rectify(
        session, keyring=keyring, policy=policy, subject_id=known, traits={"email": EMAIL},
        source="subject", now=NOW,
    )  # fmt: skip
    assert session.scalar(select(func.count()).select_from(TraitRevision)) == 1
    assert erasure.erase_merges(session, subject_id=known) == 1
    assert session.scalar(select(func.count()).select_from(SubjectMerge)) == 0
    for sid in (anon, known):
        traits.erase_subject(session, subject_id=sid)
        identities.destroy_data_key(session, subject_id=sid, now=NOW, actor="test")
    assert session.scalar(select(func.count()).select_from(TraitRevision)) == 0
    assert erasure.delete_subjects(session, subject_ids=[anon, known]) == 2
    assert session.scalar(select(func.count()).select_from(Subject)) == 0
