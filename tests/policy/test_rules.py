"""The pure chokepoint ``evaluate``: decision tables and properties.

Properties (hypothesis) over random subjects, consent histories, purposes and categories:
- a consent purpose is never allowed without a current grant for a valid notice version (TH-CON-04);
- a sensitive category is never allowed without explicit consent (TH-SEN-01);
- a withdrawal always denies the next check, and a re-grant allows again (TH-CON-03);
- a restricted subject is denied everything but storage and answering their own requests
  (TH-DSR-05, TH-DSR-01);
- answering a rights request is allowed only for a legal-obligation purpose, whatever the subject's
  restriction, objections and consents;
- profiling or marketing is never allowed for a subject whose age is unknown, and is refused with
  ``age_unknown`` once a record exists (TH-MIN-01, EU-03);
- a verified objection to one legitimate-interest purpose refuses that purpose, and only it, at
  once (TH-DSR-03).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from rujai.policy.rules import (
    REASON_TEXT,
    Action,
    CheckRequest,
    ConsentFact,
    Reason,
    SubjectFacts,
    evaluate,
)
from rujai.policy.schemas import AgeRule, LawfulBasis
from tests.policy.rules_policy import make_rules_policy

POLICY = make_rules_policy()
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SID = uuid.UUID(int=7)
PURPOSES = sorted(POLICY.purposes)
CATEGORIES = sorted(POLICY.categories)


def fact(action="grant", version=3, *, days_ago=10, expires_in=None, explicit=False):
    return ConsentFact(
        record_id=uuid.uuid4(),
        action=action,
        notice_version=version,
        recorded_at=NOW - timedelta(days=days_ago),
        expires_at=None if expires_in is None else NOW + timedelta(days=expires_in),
        is_explicit=explicit,
    )


def subject(consents=None, **kw):
    """A subject of full age by their own word unless ``age`` says otherwise (TH-MIN-01)."""
    return SubjectFacts(subject_id=SID, consents=consents or {}, **{"is_of_age": True, **kw})


def run(purpose, categories, subj, action=Action.USE):
    return evaluate(CheckRequest(purpose, tuple(categories), action), POLICY, subj, NOW)


# -- decision table -------------------------------------------------------------------------------

CASES = [
    ("unknown purpose", "nope", ["browsing"], subject(), Reason.UNKNOWN_PURPOSE),
    ("unknown category", "recommendations", ["dna"], subject(), Reason.UNKNOWN_CATEGORY),
    (
        "undeclared category",
        "recommendations",
        ["contact"],
        subject(),
        Reason.CATEGORY_NOT_IN_PURPOSE,
    ),
    ("no consent", "recommendations", ["browsing"], subject(), Reason.NO_CONSENT),
    (
        "active consent",
        "recommendations",
        ["browsing"],
        subject({"recommendations": {"subject": fact(version=1)}}),
        Reason.ALLOWED_CONSENT,
    ),
    (
        "withdrawn",
        "recommendations",
        ["browsing"],
        subject({"recommendations": {"subject": fact("withdraw", 1)}}),
        Reason.WITHDRAWN,
    ),
    (
        "expired by date",
        "recommendations",
        ["browsing"],
        subject({"recommendations": {"subject": fact(version=1, expires_in=-1)}}),
        Reason.EXPIRED,
    ),
    (
        "expired by validity period",
        "analytics",
        ["browsing"],
        subject({"analytics": {"subject": fact(version=1, days_ago=400)}}),
        Reason.EXPIRED,
    ),
    (
        "grant for a notice before the material change",
        "offers",
        ["contact"],
        subject({"offers": {"subject": fact(version=1)}}),
        Reason.NOTICE_OUTDATED,
    ),
    (
        "grant for a non-material older notice",
        "offers",
        ["contact"],
        subject({"offers": {"subject": fact(version=2)}}),
        Reason.ALLOWED_CONSENT,
    ),
    ("contract basis", "fulfilment", ["contact"], subject(), Reason.ALLOWED_BASIS),
    ("legitimate interest", "fraud", ["browsing"], subject(), Reason.ALLOWED_BASIS),
    (
        "objection to legitimate interest",
        "fraud",
        ["browsing"],
        subject(objections=frozenset({"legitimate_interest"})),
        Reason.OBJECTED_LEGITIMATE_INTEREST,
    ),
    (
        "objection to direct marketing",
        "offers",
        ["contact"],
        subject({"offers": {"subject": fact()}}, objections=frozenset({"direct_marketing"})),
        Reason.OBJECTED_DIRECT_MARKETING,
    ),
    (
        "objection to profiling",
        "recommendations",
        ["browsing"],
        subject(
            {"recommendations": {"subject": fact(version=1)}}, objections=frozenset({"profiling"})
        ),
        Reason.OBJECTED_PROFILING,
    ),
    (
        "restricted",
        "fulfilment",
        ["contact"],
        subject(is_restricted=True),
        Reason.RESTRICTED,
    ),
    (
        "sensitive without explicit flag",
        "health_offers",
        ["health"],
        subject({"health_offers": {"subject": fact(version=1)}}),
        Reason.SENSITIVE_NEEDS_EXPLICIT_CONSENT,
    ),
    (
        "sensitive with explicit consent",
        "health_offers",
        ["health"],
        subject({"health_offers": {"subject": fact(version=1, explicit=True)}}),
        Reason.ALLOWED_CONSENT,
    ),
    (
        "child of 8, own grant only",
        "recommendations",
        ["browsing"],
        subject({"recommendations": {"subject": fact(version=1)}}, age=8),
        Reason.GUARDIAN_CONSENT_REQUIRED,
    ),
    (
        "child of 8, guardian grant",
        "recommendations",
        ["browsing"],
        subject({"recommendations": {"guardian": fact(version=1)}}, age=8),
        Reason.ALLOWED_CONSENT,
    ),
    (
        "minor of 15, profiling without guardian",
        "recommendations",
        ["browsing"],
        subject({"recommendations": {"subject": fact(version=1)}}, age=15),
        Reason.GUARDIAN_CO_CONSENT_PENDING,
    ),
    (
        "minor of 15, profiling with guardian",
        "recommendations",
        ["browsing"],
        subject(
            {
                "recommendations": {
                    "subject": fact(version=1),
                    "guardian": fact(version=1, days_ago=5),
                }
            },
            age=15,
        ),
        Reason.ALLOWED_CONSENT,
    ),
    (
        "minor of 15, no profiling: own consent suffices",
        "analytics",
        ["browsing"],
        subject({"analytics": {"subject": fact(version=1)}}, age=15),
        Reason.ALLOWED_CONSENT,
    ),
    (
        "incapacitated adult, own grant only",
        "analytics",
        ["browsing"],
        subject({"analytics": {"subject": fact(version=1)}}, is_incapacitated=True),
        Reason.GUARDIAN_CONSENT_REQUIRED,
    ),
    (
        "guardian withdrew after the minor granted",
        "analytics",
        ["browsing"],
        subject(
            {
                "analytics": {
                    "subject": fact(version=1, days_ago=9),
                    "guardian": fact("withdraw", 1, days_ago=1),
                }
            },
            age=15,
        ),
        Reason.WITHDRAWN,
    ),
]


@pytest.mark.parametrize(
    ("purpose", "categories", "subj", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decision_table(purpose, categories, subj, expected):
    verdict = run(purpose, categories, subj)
    assert verdict.reason is expected
    assert verdict.allowed == expected.value.startswith("allowed")
    assert verdict.text("th")
    assert verdict.text("en")
    assert verdict.policy_version == POLICY.version


def test_allowed_consent_names_the_records_it_relied_on():
    own, guardian = fact(version=1), fact(version=1, days_ago=2)
    verdict = run(
        "recommendations",
        ["browsing"],
        subject({"recommendations": {"subject": own, "guardian": guardian}}, age=15),
    )
    assert verdict.consent_record_ids == (own.record_id, guardian.record_id)
    assert verdict.lawful_basis is LawfulBasis.CONSENT


def test_a_purpose_that_does_not_collect_never_allows_collection():
    policy = POLICY.model_copy(
        update={
            "purposes": {
                **POLICY.purposes,
                "rights": POLICY.purposes["fulfilment"].model_copy(update={"collects": False}),
            }
        }
    )
    request = CheckRequest("rights", ("contact",), Action.COLLECT)
    assert evaluate(request, policy, subject(), NOW).reason is Reason.PURPOSE_DOES_NOT_COLLECT
    use = CheckRequest("rights", ("contact",), Action.USE)
    assert evaluate(use, policy, subject(), NOW).allowed


def test_restricted_subject_may_still_be_stored():
    verdict = run("fulfilment", ["contact"], subject(is_restricted=True), Action.STORE)
    assert verdict.allowed


def test_every_reason_has_thai_and_english_text():
    assert set(REASON_TEXT) == set(Reason)
    assert all(th and en and th != en for th, en in REASON_TEXT.values())


# -- properties -----------------------------------------------------------------------------------

facts_st = st.builds(
    ConsentFact,
    record_id=st.uuids(),
    action=st.sampled_from(["grant", "withdraw"]),
    notice_version=st.integers(1, 4),
    recorded_at=st.integers(1, 800).map(lambda d: NOW - timedelta(days=d)),
    expires_at=st.one_of(st.none(), st.integers(-30, 30).map(lambda d: NOW + timedelta(days=d))),
    is_explicit=st.booleans(),
)
roles_st = st.dictionaries(st.sampled_from(["subject", "guardian"]), facts_st, max_size=2)
subjects_st = st.builds(
    SubjectFacts,
    subject_id=st.just(SID),
    age=st.one_of(st.none(), st.integers(0, 90)),
    is_of_age=st.booleans(),
    is_incapacitated=st.booleans(),
    is_restricted=st.booleans(),
    objections=st.frozensets(
        st.sampled_from(
            ["direct_marketing", "legitimate_interest", "profiling", "legitimate_interest:fraud"]
        )
    ),
    consents=st.dictionaries(st.sampled_from(PURPOSES), roles_st, max_size=4),
)
requests_st = st.builds(
    CheckRequest,
    purpose=st.sampled_from([*PURPOSES, "unknown"]),
    categories=st.lists(st.sampled_from([*CATEGORIES, "dna"]), min_size=1, max_size=3).map(tuple),
    action=st.sampled_from(list(Action)),
)


def _relied_on(verdict, subj):
    facts = subj.consents.get(verdict.purpose, {})
    by_id = {f.record_id: f for f in facts.values()}
    return [by_id[i] for i in verdict.consent_record_ids]


@settings(max_examples=400, deadline=None)
@given(requests_st, subjects_st)
def test_consent_purpose_never_allowed_without_current_grant(request, subj):
    verdict = evaluate(request, POLICY, subj, NOW)
    purpose = POLICY.purposes.get(request.purpose)
    if not verdict.allowed or purpose is None or not purpose.basis.is_consent:
        return
    relied = _relied_on(verdict, subj)
    assert relied, "an allowed consent verdict must name the grants it relied on"
    for f in relied:
        assert f.action == "grant"
        assert f.notice_version >= purpose.notice.material_version
        assert f.expires_at is None or f.expires_at > NOW


@settings(max_examples=400, deadline=None)
@given(requests_st, subjects_st)
def test_sensitive_category_never_allowed_without_explicit_consent(request, subj):
    verdict = evaluate(request, POLICY, subj, NOW)
    if not any(
        POLICY.categories.get(c) and POLICY.categories[c].sensitive for c in request.categories
    ):
        return
    if verdict.allowed:
        assert verdict.lawful_basis is LawfulBasis.EXPLICIT_CONSENT
        assert all(f.is_explicit for f in _relied_on(verdict, subj))


@settings(max_examples=300, deadline=None)
@given(requests_st, subjects_st, st.sampled_from(["subject", "guardian"]))
def test_withdrawal_denies_the_next_check_and_regrant_allows_again(request, subj, role):
    if (
        request.purpose not in POLICY.purposes
        or not POLICY.purposes[request.purpose].basis.is_consent
    ):
        return
    withdrawal = ConsentFact(uuid.uuid4(), "withdraw", 3, NOW - timedelta(seconds=1))
    roles = {**subj.consents.get(request.purpose, {}), role: withdrawal}
    after = SubjectFacts(
        subject_id=SID,
        age=subj.age,
        is_of_age=subj.is_of_age,
        is_incapacitated=subj.is_incapacitated,
        is_restricted=subj.is_restricted,
        objections=subj.objections,
        consents={**subj.consents, request.purpose: roles},
    )
    assert not evaluate(request, POLICY, after, NOW).allowed
    # A plain adult who grants again (explicitly, for the current notice) is allowed again.
    regrant = ConsentFact(uuid.uuid4(), "grant", 3, NOW, is_explicit=True)
    adult = SubjectFacts(
        subject_id=SID, is_of_age=True, consents={request.purpose: {**roles, "subject": regrant}}
    )
    again = evaluate(request, POLICY, adult, NOW)
    scope_ok = all(c in POLICY.purposes[request.purpose].categories for c in request.categories)
    answers_rights = request.action is Action.ANSWER_RIGHTS  # never on consent (legal duty only)
    assert again.allowed == (scope_ok and not answers_rights)


@settings(max_examples=300, deadline=None)
@given(requests_st, subjects_st)
def test_restricted_subject_is_denied_everything_but_storage(request, subj):
    restricted = SubjectFacts(
        subject_id=SID, age=subj.age, is_restricted=True, consents=subj.consents
    )
    verdict = evaluate(request, POLICY, restricted, NOW)
    if request.action not in (Action.STORE, Action.ANSWER_RIGHTS):
        assert not verdict.allowed
        if request.purpose in POLICY.purposes and verdict.reason not in (
            Reason.UNKNOWN_CATEGORY,
            Reason.CATEGORY_NOT_IN_PURPOSE,
        ):
            assert verdict.reason is Reason.RESTRICTED


@settings(max_examples=300, deadline=None)
@given(requests_st, subjects_st)
def test_answering_rights_needs_a_legal_obligation_and_nothing_else(request, subj):
    """TH-DSR-01, TH-DSR-05: a restricted or objecting subject still gets their own copy."""
    ask = CheckRequest(request.purpose, request.categories, Action.ANSWER_RIGHTS)
    verdict = evaluate(ask, POLICY, subj, NOW)
    purpose = POLICY.purposes.get(request.purpose)
    in_scope = purpose is not None and all(c in purpose.categories for c in request.categories)
    legal = purpose is not None and purpose.basis is LawfulBasis.LEGAL_OBLIGATION
    sensitive = any(c in POLICY.index.sensitive_categories for c in request.categories)
    assert verdict.allowed == (in_scope and legal and not sensitive)
    if in_scope and not legal:
        assert verdict.reason is Reason.NOT_A_RIGHTS_PURPOSE


def test_a_copied_policy_rebuilds_its_lookup_tables():
    _ = POLICY.index, POLICY.strictest_age_rule
    rule = AgeRule(majority_age=18, guardian_only_below=7)
    thai_only = POLICY.model_copy(update={"age_rules": {"TH": rule}})
    assert thai_only.strictest_age_rule.majority_age == 18
    fewer = POLICY.model_copy(update={"purposes": {"fraud": POLICY.purposes["fraud"]}})
    assert set(fewer.index.purposes) == {"fraud"}


def test_a_withdrawal_at_the_same_instant_as_a_grant_wins():
    same = NOW - timedelta(days=1)
    grant = ConsentFact(uuid.uuid4(), "grant", 3, same)
    withdraw = ConsentFact(uuid.uuid4(), "withdraw", 3, same)
    for roles in (
        {"subject": grant, "guardian": withdraw},
        {"guardian": withdraw, "subject": grant},
    ):
        verdict = run("recommendations", ["browsing"], subject({"recommendations": roles}))
        assert verdict.reason is Reason.WITHDRAWN


# -- age unknown (TH-MIN-01, EU-03) and objections to one LI purpose (TH-DSR-03) -------------------

AGE_MATTERS = [p for p, v in POLICY.purposes.items() if v.profiling or v.direct_marketing]


@settings(max_examples=300, deadline=None)
@given(requests_st, subjects_st)
def test_profiling_or_marketing_is_never_allowed_when_the_age_is_unknown(request, subj):
    """TH-MIN-01: an unknown age is never taken for an adult's."""
    unknown = SubjectFacts(
        subject_id=SID, is_restricted=subj.is_restricted, objections=subj.objections,
        consents=subj.consents,
    )  # fmt: skip
    verdict = evaluate(request, POLICY, unknown, NOW)
    if request.purpose in AGE_MATTERS:
        assert not verdict.allowed
        early = verdict.reason not in (Reason.ALLOWED_CONSENT, Reason.GUARDIAN_CO_CONSENT_PENDING)
        assert early
    known = SubjectFacts(
        subject_id=SID, is_of_age=True, is_restricted=subj.is_restricted,
        objections=subj.objections, consents=subj.consents,
    )  # fmt: skip
    if verdict.reason is Reason.AGE_UNKNOWN:  # the same facts with a declared full age decide on
        assert request.purpose in AGE_MATTERS
        assert evaluate(request, POLICY, known, NOW).reason is not Reason.AGE_UNKNOWN


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(AGE_MATTERS), st.sampled_from(["subject", "guardian"]))
def test_a_grant_from_someone_whose_age_is_unknown_is_age_unknown(purpose, role):
    """TH-MIN-01: a grant with no age is refused ``age_unknown``; with a known age it decides."""
    grant = ConsentFact(uuid.uuid4(), "grant", 3, NOW - timedelta(days=1), is_explicit=True)
    categories = (POLICY.purposes[purpose].categories[0],)
    unknown = SubjectFacts(subject_id=SID, consents={purpose: {role: grant}})
    assert run(purpose, categories, unknown).reason is Reason.AGE_UNKNOWN
    none = SubjectFacts(subject_id=SID)
    assert run(purpose, categories, none).reason is Reason.NO_CONSENT
    adult = SubjectFacts(subject_id=SID, age=35, consents={purpose: {role: grant}})
    assert run(purpose, categories, adult).reason is not Reason.AGE_UNKNOWN


def test_an_unknown_age_does_not_matter_for_a_purpose_without_profiling_or_marketing():
    """TH-MIN-01: analytics (no profiling, no marketing) on a grant whatever the age."""
    unknown = SubjectFacts(subject_id=SID, consents={"analytics": {"subject": fact(version=1)}})
    assert run("analytics", ["browsing"], unknown).reason is Reason.ALLOWED_CONSENT


@settings(max_examples=200, deadline=None)
@given(subjects_st, st.sampled_from(list(Action)))
def test_an_objection_to_one_li_purpose_refuses_that_purpose_only(subj, action):
    """TH-DSR-03: ``legitimate_interest:fraud`` refuses fraud, never another purpose."""
    marked = SubjectFacts(
        subject_id=SID, age=40, consents=subj.consents,
        objections=frozenset({"legitimate_interest:fraud"}),
    )  # fmt: skip
    plain = SubjectFacts(subject_id=SID, age=40, consents=subj.consents)
    fraud = run("fraud", ["browsing"], marked, action)
    if action is Action.ANSWER_RIGHTS:
        assert fraud.reason is Reason.NOT_A_RIGHTS_PURPOSE
    else:
        assert fraud.reason is Reason.OBJECTED_LEGITIMATE_INTEREST
    for purpose in PURPOSES:
        if purpose == "fraud":
            continue
        categories = (POLICY.purposes[purpose].categories[0],)
        assert run(purpose, categories, marked, action) == run(purpose, categories, plain, action)
