"""Traits: declared only (TH-MIN-02), typed, sealed (TH-SEC-01), collected only when permitted."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from rujai.errors import AppError, Invalid
from rujai.policy import service as policy_service
from rujai.profiles import identities, sealing, service as profiles_service, traits
from rujai.profiles.models import Trait
from tests.consent.helpers import stored_text
from tests.factories import NOW, make_consent, make_subject, rights_permit

NAMES = {"first_name": "มาลี", "last_name": "ศรีสุข"}


def _set(session, keyring, policy, subject_id, values, source="api"):
    return traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=subject_id, traits=values,
        source=source, now=NOW,
    )  # fmt: skip


def _permit(session, keyring, policy, subject_id, purpose, categories):
    return policy_service.authorize(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=purpose,
        categories=categories, now=NOW, actor="test",
    )  # fmt: skip


def test_undeclared_trait_is_dropped_and_the_rest_stored_th_min_02(session, keyring, policy):
    subject = make_subject(session, keyring)
    result = _set(session, keyring, policy, subject.id, {**NAMES, "shoe_size": 38})
    assert result.stored == ["first_name", "last_name"]
    assert result.dropped == {"shoe_size": "undeclared"}
    names = set(session.scalars(select(Trait.name).where(Trait.subject_id == subject.id)))
    assert names == {"first_name", "last_name"}


def test_trait_without_a_permitting_purpose_is_dropped(session, keyring, policy):
    subject = make_subject(session, keyring)
    result = _set(session, keyring, policy, subject.id, {"preferred_categories": "kitchen"})
    assert result.stored == []
    assert result.dropped == {"preferred_categories": "no_permitting_purpose"}
    assert session.scalars(select(Trait)).all() == []


def test_trait_is_collected_once_a_purpose_permits_it(session, keyring, policy):
    subject = make_subject(session, keyring)
    make_consent(session, keyring, policy, "recommendations")
    result = _set(session, keyring, policy, subject.id, {"preferred_categories": "kitchen"})
    assert result.stored == ["preferred_categories"]


def test_sensitive_trait_needs_explicit_consent_th_sen_01(session, keyring, policy):
    subject = make_subject(session, keyring)
    make_consent(session, keyring, policy, "recommendations")
    dropped = _set(session, keyring, policy, subject.id, {"allergies": "แพ้ถั่ว"})
    assert dropped.dropped == {"allergies": "no_permitting_purpose"}
    make_consent(session, keyring, policy, "health_tailored_offers")
    stored = _set(session, keyring, policy, subject.id, {"allergies": "แพ้ถั่ว"})
    assert stored.stored == ["allergies"]


def test_restricted_subject_gets_no_traits_collected_th_dsr_05(session, keyring, policy):
    subject = make_subject(session, keyring, is_restricted=True)
    result = _set(session, keyring, policy, subject.id, NAMES)
    assert result.dropped == dict.fromkeys(NAMES, "no_permitting_purpose")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"birth_date": "15/01/1990"}, "traits.birth_date"),
        ({"birth_date": "2999-01-01"}, "traits.birth_date"),
        ({"first_name": 42}, "traits.first_name"),
        ({"first_name": "   "}, "traits.first_name"),
        ({"last_name": None}, "traits.last_name"),
        ({"email": "not-an-address"}, "traits.email"),
        ({"phone": "12345"}, "traits.phone"),
    ],
)
def test_badly_typed_trait_is_refused_naming_the_field(session, keyring, policy, values, field):
    subject = make_subject(session, keyring)
    with pytest.raises(Invalid) as info:
        _set(session, keyring, policy, subject.id, {"gender": "f", **values})
    assert info.value.field == field
    assert session.scalars(select(Trait)).all() == []


def test_unknown_source_is_refused(session, keyring, policy):
    subject = make_subject(session, keyring)
    with pytest.raises(Invalid) as info:
        _set(session, keyring, policy, subject.id, NAMES, source="scraper")
    assert info.value.field == "source"


def test_identifier_traits_become_identities(session, keyring, policy):
    subject = make_subject(session, keyring)
    values = {"email": "Malee.S@Example.com", "phone": "081-234-5678"}
    assert _set(session, keyring, policy, subject.id, values).stored == ["email", "phone"]
    find = identities.find_by_identity
    assert find(session, keyring=keyring, kind="email", value="malee.s@example.com") == subject.id
    assert find(session, keyring=keyring, kind="phone", value="+66 81 234 5678") == subject.id


def test_birth_date_trait_sets_the_subject_birth_date_th_min_01(session, keyring, policy):
    subject = make_subject(session, keyring)
    make_consent(session, keyring, policy, "personalized_offers")
    result = _set(session, keyring, policy, subject.id, {"birth_date": "2012-05-01"})
    assert result.stored == ["birth_date"]
    facts = profiles_service.facts(session, keyring=keyring, subject_id=subject.id, now=NOW)
    assert facts.age == 14


def test_get_traits_returns_only_categories_the_permit_covers(session, keyring, policy):
    subject = make_subject(session, keyring)
    make_consent(session, keyring, policy, "personalized_offers")
    values = {**NAMES, "email": "malee.s@example.com", "gender": "f", "birth_date": "1990-01-15"}
    _set(session, keyring, policy, subject.id, values)
    permit = _permit(session, keyring, policy, subject.id, "order_fulfilment", ["contact"])
    got = traits.get_traits(session, keyring=keyring, permit=permit, subject_id=subject.id)
    assert got == {"email": "malee.s@example.com"}
    permit = _permit(session, keyring, policy, subject.id, "personalized_offers", ["demographics"])
    got = traits.get_traits(session, keyring=keyring, permit=permit, subject_id=subject.id)
    assert got == {"gender": "f"}  # the birth date is in its own category, age (TH-MIN-01)
    permit = _permit(session, keyring, policy, subject.id, "personalized_offers", ["age"])
    got = traits.get_traits(session, keyring=keyring, permit=permit, subject_id=subject.id)
    assert got == {"birth_date": "1990-01-15"}


def test_trait_values_are_stored_only_sealed(session, keyring, policy):
    subject = make_subject(session, keyring)
    _set(session, keyring, policy, subject.id, NAMES)
    text = stored_text(session, "trait")
    for value in NAMES.values():
        assert value not in text
        assert repr(value.encode())[2:-1] not in text


def test_sealed_trait_moved_to_another_subject_cannot_be_opened(session, keyring, policy):
    first = make_subject(session, keyring, "C-0001")
    _set(session, keyring, policy, first.id, NAMES)
    row = session.get(Trait, (first.id, "first_name"))
    key = sealing.subject_key(session, keyring=keyring, subject_id=first.id)
    with pytest.raises(AppError) as info:
        traits.open_trait(key, first.id, "last_name", row.value_sealed)
    assert "มาลี" not in info.value.message


def test_export_and_erase_cover_identities_and_traits(session, keyring, policy):
    subject = make_subject(session, keyring)
    _set(session, keyring, policy, subject.id, {**NAMES, "email": "malee.s@example.com"})
    permit = rights_permit(session, keyring, policy, subject.id)
    exported = traits.export_subject(session, keyring=keyring, permit=permit, subject_id=subject.id)
    assert exported.traits == {**NAMES, "email": "malee.s@example.com"}
    assert [(i.kind, i.value) for i in exported.identities] == [("email", "malee.s@example.com")]
    assert traits.erase_subject(session, subject_id=subject.id) == 4
    empty = traits.export_subject(session, keyring=keyring, permit=permit, subject_id=subject.id)
    assert (empty.traits, empty.identities) == ({}, [])


def test_parse_traits_types_values_per_the_policy(policy):
    parsed, dropped = traits.parse_traits(
        policy, {"birth_date": "1990-01-15", "first_name": "  มาลี ", "x": 1}, now=NOW
    )
    assert parsed == {"birth_date": date(1990, 1, 15).isoformat(), "first_name": "มาลี"}
    assert dropped == {"x": "undeclared"}


def test_the_age_is_kept_without_any_consent_for_checking_capacity(session, keyring, policy):
    """TH-MIN-01: birth date and age band are collected for age_verification (legal obligation,
    PDPA s.20) before any marketing consent; gender (demographics) still needs one."""
    subject = make_subject(session, keyring)
    result = _set(session, keyring, policy, subject.id,
                  {"birth_date": "2012-04-01", "gender": "m"})  # fmt: skip
    assert (result.stored, result.dropped) == (["birth_date"], {"gender": "no_permitting_purpose"})
    facts = profiles_service.facts(session, keyring=keyring, subject_id=subject.id, now=NOW)
    assert facts.age == 14
    other = make_subject(session, keyring, "C-0002")
    banded = _set(session, keyring, policy, other.id, {"age_band": "adult"}, source="subject")
    assert banded.stored == ["age_band"]
    facts = profiles_service.facts(session, keyring=keyring, subject_id=other.id, now=NOW)
    assert (facts.age, facts.is_of_age) == (None, True)


def test_an_age_band_outside_the_bands_is_refused_naming_the_trait(session, keyring, policy):
    subject = make_subject(session, keyring)
    with pytest.raises(Invalid) as e:
        _set(session, keyring, policy, subject.id, {"age_band": "ancient"})
    assert e.value.field == "traits.age_band"
