"""Subjects: the customer id kept only sealed plus a blind index, and the facts decisions read."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit.models import AuditEntry
from rujai.errors import Invalid, PolicyDenied
from rujai.kit.crypto import open_sealed
from rujai.policy import service as policy_service
from rujai.policy.rules import Action, Objection
from rujai.profiles import service as profiles_service
from rujai.profiles.errors import SubjectErased, SubjectNotFound
from rujai.profiles.models import Subject
from tests.consent.helpers import count_queries, stored_text
from tests.factories import NOW, make_anonymous_subject, make_subject, rights_permit


def _subject_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Subject)) or 0


def test_get_or_create_returns_the_same_subject_for_the_same_customer_id(session, keyring):
    first = profiles_service.get_or_create(session, keyring=keyring, customer_id="C-0001", now=NOW)
    again = profiles_service.get_or_create(
        session, keyring=keyring, customer_id="  C-0001 ", now=NOW + timedelta(hours=1)
    )
    other = profiles_service.get_or_create(session, keyring=keyring, customer_id="C-0002", now=NOW)
    assert again.id == first.id
    assert other.id != first.id
    assert _subject_count(session) == 2
    assert first.created_at == NOW
    assert (first.is_restricted, first.objections, first.age_band) == (False, [], None)


def test_customer_id_is_stored_only_sealed_and_blind_indexed_when_created(session, keyring):
    """TH-SEC-01: identifiers are encrypted; lookups use a keyed blind index."""
    subject = make_subject(session, keyring, "C-SEAL-0042")
    row = session.get(Subject, subject.id)
    assert row is not None
    assert row.data_key_wrapped is not None
    assert row.customer_ref == keyring.blind("customer", "C-SEAL-0042")
    key = keyring.unwrap(row.data_key_wrapped)
    aad = b"subject.customer_id:" + subject.id.bytes
    assert open_sealed(key, row.customer_id_sealed, aad) == b"C-SEAL-0042"
    assert "C-SEAL-0042" not in stored_text(session, "subject")
    assert "C-SEAL-0042" not in repr(subject.model_dump())


def test_each_subject_gets_its_own_data_key(session, keyring):
    one = make_subject(session, keyring, "C-0001")
    two = make_subject(session, keyring, "C-0002")
    rows = [session.get(Subject, s.id) for s in (one, two)]
    keys = [keyring.unwrap(r.data_key_wrapped) for r in rows if r and r.data_key_wrapped]
    assert len(keys) == 2
    assert keys[0] != keys[1]


@pytest.mark.parametrize("customer_id", ["", "   ", "x" * 129])
def test_get_or_create_rejects_customer_id_when_blank_or_too_long(session, keyring, customer_id):
    with pytest.raises(Invalid) as caught:
        profiles_service.get_or_create(session, keyring=keyring, customer_id=customer_id, now=NOW)
    assert caught.value.field == "customer_id"
    assert _subject_count(session) == 0


def test_get_or_create_accepts_customer_id_of_128_characters(session, keyring):
    subject = make_subject(session, keyring, "x" * 128)
    assert profiles_service.find_id(session, keyring=keyring, customer_id="x" * 128) == subject.id


def test_find_id_returns_none_when_customer_is_unknown(session, keyring):
    make_subject(session, keyring, "C-0001")
    assert profiles_service.find_id(session, keyring=keyring, customer_id="C-9999") is None


def test_get_raises_subject_not_found_when_id_is_unknown(session):
    missing = uuid.uuid4()
    with pytest.raises(SubjectNotFound) as caught:
        profiles_service.get(session, subject_id=missing)
    assert str(missing) in caught.value.message
    assert caught.value.status == 404


def test_concurrent_creates_of_one_customer_make_one_subject(
    factory: sessionmaker[Session], keyring
):
    """The second create waits on the unique customer_ref, then reads the first one's row."""
    results: dict[str, uuid.UUID] = {}
    errors: list[BaseException] = []

    def create_in_other_session() -> None:
        try:
            with factory() as other, other.begin():
                made = profiles_service.get_or_create(
                    other, keyring=keyring, customer_id="C-RACE-1", now=NOW
                )
                results["other"] = made.id
        except BaseException as e:  # noqa: BLE001 - reported to the main thread
            errors.append(e)

    with factory() as first:
        results["first"] = profiles_service.get_or_create(
            first, keyring=keyring, customer_id="C-RACE-1", now=NOW
        ).id
        thread = threading.Thread(target=create_in_other_session)
        thread.start()
        time.sleep(0.3)  # let the other insert block on the uncommitted row
        first.commit()
    thread.join(timeout=30)
    assert errors == []
    assert results["other"] == results["first"]
    with factory() as check:
        assert _subject_count(check) == 1


def test_facts_give_age_from_the_sealed_birth_date_when_set(session, keyring):
    subject = make_subject(session, keyring, birth_date=date(2011, 12, 2))
    row = session.get(Subject, subject.id)
    assert row is not None
    assert row.birth_date_sealed is not None
    assert b"2011-12-02" not in row.birth_date_sealed
    day_before_birthday = profiles_service.facts(
        session, keyring=keyring, subject_id=subject.id, now=NOW
    )
    on_birthday = profiles_service.facts(
        session, keyring=keyring, subject_id=subject.id, now=NOW + timedelta(days=1)
    )
    assert (day_before_birthday.age, on_birthday.age) == (14, 15)
    assert profiles_service.get(session, subject_id=subject.id).has_birth_date


@pytest.mark.parametrize(("band", "age"), [("under_10", 9), ("10_19", 15), ("adult", None)])
def test_facts_give_age_from_the_band_when_no_birth_date(session, keyring, band, age):
    """TH-MIN-01: a band places the subject under its rule."""
    subject = make_subject(session, keyring, age_band=band)
    facts = profiles_service.facts(session, keyring=keyring, subject_id=subject.id, now=NOW)
    assert facts.age == age
    assert profiles_service.get(session, subject_id=subject.id).age_band == band


def test_facts_prefer_the_birth_date_over_the_band(session, keyring):
    subject = make_subject(session, keyring, age_band="adult", birth_date=date(2018, 1, 1))
    facts = profiles_service.facts(session, keyring=keyring, subject_id=subject.id, now=NOW)
    assert facts.age == 8


def test_facts_have_no_age_when_nothing_is_known(session, keyring):
    subject = make_subject(session, keyring)
    facts = profiles_service.facts(session, keyring=keyring, subject_id=subject.id, now=NOW)
    assert (facts.age, facts.is_restricted, facts.objections) == (None, False, frozenset())


def test_facts_read_the_subject_in_one_query(session, keyring):
    subject = make_subject(session, keyring, birth_date=date(1990, 5, 5))
    session.commit()
    session.expunge_all()
    with count_queries(session) as statements:
        facts = profiles_service.facts(session, keyring=keyring, subject_id=subject.id, now=NOW)
    assert facts.age == 36
    assert len(statements) == 1


def test_set_birth_date_rejects_a_date_in_the_future(session, keyring):
    subject = make_subject(session, keyring)
    with pytest.raises(Invalid) as caught:
        profiles_service.set_birth_date(
            session, keyring=keyring, subject_id=subject.id, birth_date=date(2027, 1, 1), now=NOW
        )
    assert caught.value.field == "birth_date"


def test_set_birth_date_refuses_when_the_data_key_is_destroyed(session, keyring):
    """TH-DSR-04 crypto-shredding: nothing new can be sealed for an erased subject."""
    subject = make_subject(session, keyring)
    row = session.get(Subject, subject.id)
    assert row is not None
    row.data_key_wrapped = None
    session.flush()
    with pytest.raises(SubjectErased):
        profiles_service.set_birth_date(
            session, keyring=keyring, subject_id=subject.id, birth_date=date(2000, 1, 1), now=NOW
        )


def test_set_age_band_rejects_an_unknown_band(session, keyring):
    subject = make_subject(session, keyring)
    with pytest.raises(Invalid) as caught:
        profiles_service.set_age_band(session, subject_id=subject.id, band="teen", now=NOW)  # type: ignore[arg-type]
    assert caught.value.field == "age_band"


def test_set_age_band_clears_the_band_when_none(session, keyring):
    subject = make_subject(session, keyring, age_band="10_19")
    cleared = profiles_service.set_age_band(session, subject_id=subject.id, band=None, now=NOW)
    assert cleared.age_band is None


def test_restriction_is_set_and_lifted_and_audited(session, keyring):
    """TH-DSR-05: restriction keeps the data but the facts say restricted."""
    subject = make_subject(session, keyring)
    later = NOW + timedelta(minutes=5)
    restricted = profiles_service.set_restricted(
        session, subject_id=subject.id, restricted=True, now=later
    )
    assert restricted.is_restricted
    assert restricted.updated_at == later
    assert profiles_service.facts(
        session, keyring=keyring, subject_id=subject.id, now=NOW
    ).is_restricted
    profiles_service.set_restricted(session, subject_id=subject.id, restricted=False, now=later)
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.subject_id == subject.id)
        .order_by(AuditEntry.seq)
    ).all()
    assert actions == ["subject.restriction.set", "subject.restriction.lifted"]


def test_objections_are_recorded_and_lifted(session, keyring):
    """TH-DSR-03: an objection to direct marketing is kept until lifted."""
    subject = make_subject(session, keyring)
    sid = subject.id
    for objection in (Objection.DIRECT_MARKETING, Objection.PROFILING, Objection.DIRECT_MARKETING):
        profiles_service.set_objection(
            session, subject_id=sid, objection=objection, objected=True, now=NOW
        )
    lifted = profiles_service.set_objection(
        session, subject_id=sid, objection=Objection.PROFILING, objected=False, now=NOW
    )
    assert lifted.objections == ["direct_marketing"]
    facts = profiles_service.facts(session, keyring=keyring, subject_id=sid, now=NOW)
    assert facts.objections == frozenset({"direct_marketing"})


def test_profile_audit_entries_hold_no_personal_data(session, keyring):
    subject = make_subject(
        session,
        keyring,
        "C-AUDIT-7",
        birth_date=date(2001, 2, 3),
        age_band="adult",
        is_restricted=True,
        objections=(Objection.PROFILING,),
    )
    audited = session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.subject_id == subject.id)
    )
    assert audited == 4
    stored = stored_text(session, "audit_entry")
    for secret in ("C-AUDIT-7", "2001-02-03", "2001, 2, 3"):
        assert secret not in stored


# --- reads of the sealed values, through a permit (STYLE §3) --------------------------------------


def _answer_rights(session, keyring, policy, subject_id, categories):
    return policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose="rights_requests",
        categories=categories, now=NOW, actor="test", action=Action.ANSWER_RIGHTS,
    )  # fmt: skip


def test_customer_id_of_opens_it_only_with_a_permit_covering_identity(session, keyring, policy):
    subject = make_subject(session, keyring, "C-OPEN-1")
    permit = _answer_rights(session, keyring, policy, subject.id, ["identity"])
    assert profiles_service.customer_id_of(session, keyring=keyring, permit=permit) == "C-OPEN-1"
    contact_only = _answer_rights(session, keyring, policy, subject.id, ["contact"])
    with pytest.raises(PolicyDenied):
        profiles_service.customer_id_of(session, keyring=keyring, permit=contact_only)


def test_customer_id_of_an_anonymous_profile_is_not_found(session, keyring, policy):
    anon = make_anonymous_subject(session, keyring, "device-open-1")
    permit = _answer_rights(session, keyring, policy, anon.id, ["identity"])
    with pytest.raises(SubjectNotFound):
        profiles_service.customer_id_of(session, keyring=keyring, permit=permit)


def test_export_subject_opens_the_row_for_its_own_subject_only(session, keyring, policy):
    subject = make_subject(session, keyring, "C-OPEN-2", birth_date=date(1990, 5, 17))
    other = make_subject(session, keyring, "C-OPEN-3")
    permit = rights_permit(session, keyring, policy, subject.id)
    row = profiles_service.export_subject(
        session, keyring=keyring, permit=permit, subject_id=subject.id
    )
    assert (row.customer_id, row.birth_date, row.merged_profiles) == (
        "C-OPEN-2", date(1990, 5, 17), [],
    )  # fmt: skip
    with pytest.raises(PolicyDenied):
        profiles_service.export_subject(
            session, keyring=keyring, permit=permit, subject_id=other.id
        )
