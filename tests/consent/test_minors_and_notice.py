"""Minors (TH-MIN-01) and material notice changes (TH-CON-04), decided by ``rules.evaluate``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rujai.consent import service as consent_service
from rujai.errors import Conflict
from rujai.policy.schemas import Policy
from tests.factories import NOW, consent_change, make_consent, make_subject


def _status(session, keyring, policy, purpose, *, now=NOW) -> str:
    state = consent_service.current(
        session, keyring=keyring, policy=policy, customer_id="C-0001", now=now
    )
    return next(p.status for p in state.purposes if p.purpose == purpose)


# Variants are rebuilt from a dump: ``model_copy`` would carry over the cached age rule.


def _thai_only(policy: Policy) -> Policy:
    """The example policy covers TH and EU (EU: guardian only below 16); keep Thailand's rule."""
    return Policy.model_validate({**policy.model_dump(), "jurisdictions": ["TH"]})


def _with_notice(policy: Policy, purpose: str, version: int, material: int) -> Policy:
    data = policy.model_dump()
    data["purposes"][purpose]["notice"] = {"version": version, "material_version": material}
    return Policy.model_validate(data)


def test_minor_of_15_own_grant_is_pending_until_a_guardian_grants(session, keyring, policy):
    """TH-MIN-01: 10-19 need parental co-consent for marketing and profiling."""
    thai = _thai_only(policy)
    make_subject(session, keyring, birth_date=date(2011, 6, 1))
    make_consent(session, keyring, thai, "personalized_offers", actor="self")
    assert _status(session, keyring, thai, "personalized_offers") == "pending_guardian"
    make_consent(session, keyring, thai, "personalized_offers", actor="parent")
    assert _status(session, keyring, thai, "personalized_offers") == "granted"


def test_minor_of_15_needs_no_co_consent_when_the_purpose_is_neither_marketing_nor_profiling(
    session, keyring, policy
):
    thai = _thai_only(policy)
    make_subject(session, keyring, age_band="10_19")
    make_consent(session, keyring, thai, "analytics", actor="self")
    assert _status(session, keyring, thai, "analytics") == "granted"


def test_minor_of_17_own_grant_is_pending_under_the_example_policy(session, keyring, policy):
    make_subject(session, keyring, birth_date=date(2009, 6, 1))
    make_consent(session, keyring, policy, "recommendations", actor="self")
    assert _status(session, keyring, policy, "recommendations") == "pending_guardian"
    make_consent(session, keyring, policy, "recommendations", actor="guardian")
    assert _status(session, keyring, policy, "recommendations") == "granted"


def test_minor_of_15_needs_a_guardian_under_the_eu_rule_of_the_example_policy(
    session, keyring, policy
):
    """EU-03: with TH and EU the stricter rule applies: only a guardian consents below 16."""
    make_subject(session, keyring, birth_date=date(2011, 6, 1))
    make_consent(session, keyring, policy, "personalized_offers", actor="self")
    assert _status(session, keyring, policy, "personalized_offers") == "guardian_required"


def test_child_of_8_own_grant_does_not_count_but_a_guardian_grant_does(session, keyring, policy):
    """TH-MIN-01: under 10 only a parent or guardian consents."""
    thai = _thai_only(policy)
    make_subject(session, keyring, birth_date=date(2018, 3, 3))
    make_consent(session, keyring, thai, "recommendations", actor="self")
    assert _status(session, keyring, thai, "recommendations") == "guardian_required"
    make_consent(session, keyring, thai, "recommendations", actor="guardian")
    assert _status(session, keyring, thai, "recommendations") == "granted"
    withdraw = consent_change(thai, "recommendations", "withdraw", actor="curator")
    consent_service.record(
        session,
        keyring=keyring,
        policy=thai,
        customer_id="C-0001",
        change=withdraw,
        now=NOW + timedelta(minutes=1),
        evidence_ip=None,
        evidence_user_agent=None,
    )
    assert _status(session, keyring, thai, "recommendations") == "withdrawn"


def test_grant_for_the_old_notice_cannot_be_made_after_a_material_change(session, keyring, policy):
    """TH-CON-04: the subject must be shown the current notice."""
    changed = _with_notice(policy, "recommendations", version=2, material=2)
    with pytest.raises(Conflict) as caught:
        make_consent(session, keyring, changed, "recommendations", notice_version=1)
    assert caught.value.field == "notice_version"


def test_stored_grant_shows_notice_outdated_after_a_material_change(session, keyring, policy):
    make_consent(session, keyring, policy, "recommendations")
    changed = _with_notice(policy, "recommendations", version=2, material=2)
    assert _status(session, keyring, changed, "recommendations") == "notice_outdated"
    make_consent(session, keyring, changed, "recommendations", now=NOW + timedelta(days=1))
    assert _status(session, keyring, changed, "recommendations") == "granted"


def test_stored_grant_stays_granted_after_a_non_material_change(session, keyring, policy):
    make_consent(session, keyring, policy, "recommendations")
    changed = _with_notice(policy, "recommendations", version=2, material=1)
    assert _status(session, keyring, changed, "recommendations") == "granted"
