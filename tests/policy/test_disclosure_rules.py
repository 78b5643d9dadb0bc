"""The pure decision on disclosures (``policy.disclosure``): a decision table and properties.

Properties (hypothesis) over random recipients, countries, mechanisms, agreements, dates and
subjects: a disclosure is never allowed to an undeclared recipient (TH-USE-01), abroad without
a mechanism or under an expired one (TH-XB-01), to a processor without an agreement in force or
for a purpose outside it (TH-PRC-01).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from rujai.policy.disclosure import (
    RECIPIENT_REASONS,
    evaluate_disclosure,
    recipient_refusal,
    refusal_text,
)
from rujai.policy.rules import REASON_TEXT, ConsentFact, Reason, SubjectFacts
from rujai.policy.schemas import Policy, TransferMechanism

NOW = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 12:00 in Bangkok
SID = uuid.UUID(int=42)


def _grant(policy: Policy, purpose: str) -> SubjectFacts:
    notice = policy.purposes[purpose].notice.version
    record = ConsentFact(uuid.UUID(int=1), "grant", notice, NOW - timedelta(days=3))
    return SubjectFacts(subject_id=SID, consents={purpose: {"subject": record}}, is_of_age=True)


def _edit(policy: Policy, recipient: str, **fields: Any) -> Policy:
    data = policy.model_dump(mode="json")
    target = data["recipients"][recipient]
    for key, value in fields.items():
        if key.startswith("agreement."):
            target["agreement"][key.split(".", 1)[1]] = value
        else:
            target[key] = value
    return Policy.model_validate(data)


def _add(policy: Policy, rid: str, recipient: dict[str, Any], purpose: str) -> Policy:
    data = policy.model_dump(mode="json")
    data["recipients"][rid] = recipient
    data["purposes"][purpose]["recipients"].append(rid)
    return Policy.model_validate(data)


CASES = [
    ("undeclared_recipient_TH_USE_01", None, "nobody_ltd", "email_marketing",
     Reason.UNKNOWN_RECIPIENT),
    ("recipient_not_for_purpose_TH_USE_01", None, "swift_delivery", "email_marketing",
     Reason.RECIPIENT_NOT_FOR_PURPOSE),
    ("abroad_without_mechanism_TH_XB_01", {"mechanism": "none"}, "lumen_mail", "email_marketing",
     Reason.NO_TRANSFER_MECHANISM),
    ("clauses_not_on_file_TH_XB_01", {"mechanism_reference": None}, "lumen_mail",
     "email_marketing", Reason.NO_TRANSFER_MECHANISM),
    ("expired_mechanism_TH_XB_01", {"mechanism_expires": "2026-05-31"}, "lumen_mail",
     "email_marketing", Reason.TRANSFER_MECHANISM_EXPIRED),
    ("processor_without_agreement_TH_PRC_01", {"agreement": None}, "swift_delivery",
     "order_fulfilment", Reason.NO_PROCESSOR_AGREEMENT),
    ("unsigned_agreement_TH_PRC_01", {"agreement.signed": None}, "swift_delivery",
     "order_fulfilment", Reason.NO_PROCESSOR_AGREEMENT),
    ("agreement_signed_later_TH_PRC_01", {"agreement.signed": "2026-06-02"}, "swift_delivery",
     "order_fulfilment", Reason.NO_PROCESSOR_AGREEMENT),
    ("expired_agreement_TH_PRC_01", {"agreement.expires": "2026-05-31"}, "swift_delivery",
     "order_fulfilment", Reason.PROCESSOR_AGREEMENT_EXPIRED),
    ("purpose_outside_agreement_TH_PRC_01", {"agreement.purposes": ["order_fulfilment"]},
     "chao_phraya_pay", "fraud_prevention", Reason.PURPOSE_NOT_IN_AGREEMENT),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "recipient", "purpose", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_recipient_refusals(policy, edit, recipient, purpose, reason):
    edited = _edit(policy, recipient, **edit) if edit else policy
    categories = edited.purposes[purpose].categories[:1]
    found = recipient_refusal(
        edited, recipient=recipient, purpose=purpose, categories=categories, now=NOW
    )
    assert found is reason
    verdict = evaluate_disclosure(
        edited, _grant(edited, purpose), recipient=recipient, purpose=purpose,
        categories=categories, now=NOW,
    )  # fmt: skip
    assert (verdict.allowed, verdict.reason) == (False, reason)


def test_the_expiry_day_is_still_in_force_in_bangkok(policy):
    """TH-XB-01: an instrument is in force through its last day, a Bangkok day."""
    edited = _edit(policy, "lumen_mail", mechanism_expires="2026-06-01")
    ask = {"recipient": "lumen_mail", "purpose": "email_marketing", "categories": ["contact"]}
    assert recipient_refusal(edited, **ask, now=NOW) is None
    late = datetime(2026, 6, 1, 17, 30, tzinfo=UTC)  # 00:30 on 2 June in Bangkok
    assert recipient_refusal(edited, **ask, now=late) is Reason.TRANSFER_MECHANISM_EXPIRED


def test_categories_outside_the_purpose_are_refused_for_the_flow(policy):
    ask = {"recipient": "lumen_mail", "purpose": "email_marketing", "now": NOW}
    assert recipient_refusal(policy, categories=["health"], **ask) is (
        Reason.CATEGORY_NOT_IN_PURPOSE
    )
    assert recipient_refusal(policy, categories=["tea_leaves"], **ask) is Reason.UNKNOWN_CATEGORY


def test_allowed_abroad_under_clauses_with_a_current_grant(policy):
    """TH-XB-01 and TH-PRC-01 hold for the example's Singapore mailer; then the basis decides."""
    ask = {"recipient": "lumen_mail", "purpose": "email_marketing", "categories": ["contact"]}
    allowed = evaluate_disclosure(policy, _grant(policy, "email_marketing"), **ask, now=NOW)
    assert (allowed.allowed, allowed.reason) == (True, Reason.ALLOWED_CONSENT)
    nobody = SubjectFacts(subject_id=SID)
    refused = evaluate_disclosure(policy, nobody, **ask, now=NOW)
    assert (refused.allowed, refused.reason) == (False, Reason.NO_CONSENT)


def test_withdrawn_subject_is_refused_though_the_recipient_holds(policy):
    """TH-CON-03: the ordinary evaluation with Action.DISCLOSE runs after the recipient check."""
    notice = policy.purposes["email_marketing"].notice.version
    withdrawn = SubjectFacts(
        subject_id=SID,
        consents={"email_marketing": {"subject": ConsentFact(
            uuid.UUID(int=2), "withdraw", notice, NOW - timedelta(hours=1))}},
    )  # fmt: skip
    verdict = evaluate_disclosure(
        policy, withdrawn, recipient="lumen_mail", purpose="email_marketing",
        categories=["contact"], now=NOW,
    )  # fmt: skip
    assert verdict.reason is Reason.WITHDRAWN


def test_contract_disclosure_is_allowed_without_consent(policy):
    """TH-USE-01: a disclosure on another basis (logged as without consent)."""
    verdict = evaluate_disclosure(
        policy, SubjectFacts(subject_id=SID), recipient="swift_delivery",
        purpose="order_fulfilment", categories=["contact"], now=NOW,
    )  # fmt: skip
    assert (verdict.allowed, verdict.reason) == (True, Reason.ALLOWED_BASIS)


def _consent_transfer(policy: Policy, *, named: bool) -> Policy:
    recipient = {"name": "Example Ads GmbH", "country": "DE", "mechanism": "consent",
                 "purposes": [], "processor": False}  # fmt: skip
    edited = _add(policy, "ads_eu", recipient, "email_marketing")
    if named:
        return edited
    data = edited.model_dump(mode="json")
    data["purposes"]["email_marketing"]["recipients"].remove("ads_eu")
    data["recipients"]["ads_eu"]["purposes"] = ["personalized_offers"]
    data["purposes"]["personalized_offers"]["basis"] = "legitimate_interest"
    data["purposes"]["personalized_offers"]["direct_marketing"] = False
    return Policy.model_validate(data)


def test_consent_mechanism_needs_a_consent_purpose_whose_notice_names_the_destination(policy):
    """TH-XB-01 (s.28): consent after being told of the destination, on a consent purpose."""
    named = _consent_transfer(policy, named=True)
    ask = {"recipient": "ads_eu", "categories": ["contact"], "now": NOW}
    assert recipient_refusal(named, purpose="email_marketing", **ask) is None
    other = _consent_transfer(policy, named=False)
    assert recipient_refusal(other, purpose="personalized_offers", **ask) is (
        Reason.TRANSFER_CONSENT_NOT_INFORMED
    )


def test_refusal_text_names_the_recipient_and_country_in_thai_and_english(policy):
    for reason in RECIPIENT_REASONS:
        th = refusal_text(policy, recipient="lumen_mail", reason=reason, lang="th")
        en = refusal_text(policy, recipient="lumen_mail", reason=reason, lang="en")
        assert th.startswith("Lumen Mail Pte. Ltd. (SG): ")
        assert en.startswith("Lumen Mail Pte. Ltd. (SG): ")
        assert th != en
        assert reason in REASON_TEXT


# --- properties ----------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31))
MECHANISMS = st.sampled_from(list(TransferMechanism))


@st.composite
def recipients(draw: st.DrawFn) -> dict[str, Any]:
    agreement = draw(st.none() | st.fixed_dictionaries({
        "reference": st.just("DPA-X"),
        "signed": st.none() | DAYS.map(date.isoformat),
        "expires": st.none() | DAYS.map(date.isoformat),
        "purposes": st.lists(st.sampled_from(["email_marketing", "analytics"]), unique=True),
    }))  # fmt: skip
    return {
        "name": "Example Recipient Co., Ltd.",
        "country": draw(st.sampled_from(["TH", "SG", "DE", "US"])),
        "mechanism": draw(MECHANISMS).value,
        "mechanism_reference": draw(st.none() | st.just("SCC-X")),
        "mechanism_expires": draw(st.none() | DAYS.map(date.isoformat)),
        "purposes": [],
        "processor": draw(st.booleans()),
        "agreement": agreement,
    }


def _lapsed(value: str | None, day: date) -> bool:
    return value is not None and date.fromisoformat(value) < day


def _transfer_holds(recipient: dict[str, Any], day: date) -> bool:
    mechanism = TransferMechanism(recipient["mechanism"])
    if mechanism is TransferMechanism.NONE:
        return False
    if mechanism not in (TransferMechanism.STANDARD_CLAUSES,
                         TransferMechanism.BINDING_CORPORATE_RULES):  # fmt: skip
        return True
    expires = recipient["mechanism_expires"]
    return (
        recipient["mechanism_reference"] is not None
        and expires is not None
        and not _lapsed(expires, day)
    )


def _agreement_holds(agreement: dict[str, Any] | None, day: date) -> bool:
    if agreement is None or agreement["signed"] is None:
        return False
    return not _lapsed(agreement["expires"], day) and "email_marketing" in agreement["purposes"]


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(recipient=recipients(), day=DAYS, declared=st.booleans())
def test_never_allowed_for_an_undeclared_recipient_or_a_lapsed_instrument(
    policy, recipient, day, declared
):
    """TH-USE-01, TH-XB-01, TH-PRC-01: whatever the subject's consent."""
    edited = _add(policy, "rx", recipient, "email_marketing")
    rid = "rx" if declared else "ry"
    now = _moment(day)
    verdict = evaluate_disclosure(
        edited, _grant(edited, "email_marketing"), recipient=rid, purpose="email_marketing",
        categories=["contact"], now=now,
    )  # fmt: skip
    if not declared:
        assert verdict.reason is Reason.UNKNOWN_RECIPIENT
    if recipient["country"] != "TH" and not _transfer_holds(recipient, day):
        assert not verdict.allowed  # TH-XB-01
    if recipient["processor"] and not _agreement_holds(recipient["agreement"], day):
        assert not verdict.allowed  # TH-PRC-01
    if verdict.allowed:
        assert verdict.reason is Reason.ALLOWED_CONSENT


@settings(max_examples=200, deadline=None)
@given(recipient=recipients(), day=DAYS)
def test_a_refused_recipient_is_refused_for_every_subject(policy, recipient, day):
    """The recipient's refusal does not depend on the subject (no person in its reason)."""
    edited = _add(policy, "rx", recipient, "email_marketing")
    now = _moment(day)
    ask = {"recipient": "rx", "purpose": "email_marketing", "categories": ["contact"], "now": now}
    refusal = recipient_refusal(edited, **ask)
    for facts in (_grant(edited, "email_marketing"), SubjectFacts(subject_id=None)):
        verdict = evaluate_disclosure(edited, facts, **ask)
        if refusal is not None:
            assert (verdict.allowed, verdict.reason) == (False, refusal)
