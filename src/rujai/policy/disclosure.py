"""The pure decision on a disclosure: may this recipient get data for this purpose now?

A disclosure (``Action.DISCLOSE``) is decided in two steps, both pure (no I/O, no clock, no ORM):

1. the recipient, once per flow (``recipient_refusal``): declared (TH-USE-01), declared for the
   purpose on either side (as ``notice.recipients_of``), abroad (its country is not the
   controller's) only with a transfer mechanism recorded and in force at ``now`` (TH-XB-01), and a
   processor only under a data processing agreement that is signed, not expired and permits the
   purpose (PDPA s.40, TH-PRC-01);
2. each subject (``evaluate_disclosure``): the ordinary ``rules.evaluate`` with ``Action.DISCLOSE``
   (the categories in the purpose, consent, withdrawal, restriction, objection, minors).

The mechanism ``consent`` (PDPA s.28: the subject consented after being told the destination
lacks adequate protection) is checked simply and honestly: the purpose must be consent-based, the
notice text of that purpose (``notice.purpose_notice_text``, the text a grant is given under)
must name the recipient and its country, and step 2 requires the subject's grant to that purpose
to be current. What is *not* checked: that the very notice version the subject saw already named
this recipient; a recipient added to a purpose must come with a new material notice version
(``notice.material_version``), which makes older grants lapse (``notice_outdated``).

Dates in the policy (``mechanism_expires``, ``agreement.expires``, ``agreement.signed``) are days
in Bangkok; an instrument is in force through its expiry day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from rujai.kit.time import bangkok_date
from rujai.policy.notice import purpose_notice_text, recipients_of
from rujai.policy.rules import Action, Reason, SubjectFacts, Verdict, decide
from rujai.policy.schemas import (
    LANGS,
    MECHANISMS_WITH_EXPIRY,
    Lang,
    Policy,
    Recipient,
    TransferMechanism,
)

# The reasons a recipient is refused for, whatever the subject (each with its PDPA.md id).
RECIPIENT_REASONS: dict[Reason, str] = {
    Reason.UNKNOWN_RECIPIENT: "TH-USE-01",
    Reason.UNKNOWN_PURPOSE: "TH-USE-01",
    Reason.UNKNOWN_CATEGORY: "TH-MIN-02",
    Reason.CATEGORY_NOT_IN_PURPOSE: "TH-PUR-01",
    Reason.RECIPIENT_NOT_FOR_PURPOSE: "TH-USE-01",
    Reason.NO_TRANSFER_MECHANISM: "TH-XB-01",
    Reason.TRANSFER_MECHANISM_EXPIRED: "TH-XB-01",
    Reason.TRANSFER_CONSENT_NOT_INFORMED: "TH-XB-01",
    Reason.NO_PROCESSOR_AGREEMENT: "TH-PRC-01",
    Reason.PROCESSOR_AGREEMENT_EXPIRED: "TH-PRC-01",
    Reason.PURPOSE_NOT_IN_AGREEMENT: "TH-PRC-01",
}


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a flow to one recipient is, as the log records it (no subject in it)."""

    recipient: str
    name: str
    country: str
    abroad: bool
    mechanism: str
    processor: bool


def transfer_of(policy: Policy, recipient_id: str) -> Transfer:
    """Return the recipient's transfer facts (the recipient must be declared)."""
    recipient = policy.recipients[recipient_id]
    abroad = recipient.country != policy.controller.country
    mechanism = recipient.mechanism.value if abroad else TransferMechanism.NONE.value
    return Transfer(
        recipient=recipient_id,
        name=recipient.name,
        country=recipient.country,
        abroad=abroad,
        mechanism=mechanism,
        processor=recipient.processor,
    )


def recipient_refusal(
    policy: Policy, *, recipient: str, purpose: str, categories: Sequence[str], now: datetime
) -> Reason | None:
    """Return why ``recipient`` may not get ``categories`` for ``purpose`` at ``now``, or None.

    Default deny: an undeclared recipient or purpose, a category outside the purpose, a transfer
    abroad without a mechanism in force, a processor without an agreement in force for the
    purpose are all refused, whoever the subjects are.
    """
    declared = policy.recipients.get(recipient)
    if declared is None:
        return Reason.UNKNOWN_RECIPIENT  # TH-USE-01
    entry = policy.index.purposes.get(purpose)
    if entry is None:
        return Reason.UNKNOWN_PURPOSE
    for category in categories:
        if category not in policy.index.known_categories:
            return Reason.UNKNOWN_CATEGORY
        if category not in entry.categories:
            return Reason.CATEGORY_NOT_IN_PURPOSE  # TH-PUR-01
    if recipient not in recipients_of(policy, purpose):
        return Reason.RECIPIENT_NOT_FOR_PURPOSE  # TH-USE-01
    today = bangkok_date(now)
    if declared.country != policy.controller.country:
        refusal = _transfer_refusal(policy, recipient, declared, purpose, today)
        if refusal is not None:
            return refusal
    if declared.processor:
        return _agreement_refusal(declared, purpose, today)
    return None


def _transfer_refusal(
    policy: Policy, recipient_id: str, recipient: Recipient, purpose: str, today: date
) -> Reason | None:
    """A recipient abroad (TH-XB-01): a mechanism recorded and in force today."""
    mechanism = recipient.mechanism
    if mechanism is TransferMechanism.NONE:
        return Reason.NO_TRANSFER_MECHANISM
    if mechanism in MECHANISMS_WITH_EXPIRY:
        if not recipient.mechanism_reference or recipient.mechanism_expires is None:
            return Reason.NO_TRANSFER_MECHANISM  # clauses or rules not on file
        if recipient.mechanism_expires < today:
            return Reason.TRANSFER_MECHANISM_EXPIRED
    if mechanism is TransferMechanism.CONSENT and not _informed(policy, recipient_id, purpose):
        return Reason.TRANSFER_CONSENT_NOT_INFORMED
    return None


def _informed(policy: Policy, recipient_id: str, purpose: str) -> bool:
    """The purpose is consent-based and its notice names the recipient and its country."""
    if not policy.purposes[purpose].basis.is_consent:
        return False
    recipient = policy.recipients[recipient_id]
    named = f"{recipient.name} ({recipient.country})"
    return all(named in purpose_notice_text(policy, purpose, lang) for lang in LANGS)


def _agreement_refusal(recipient: Recipient, purpose: str, today: date) -> Reason | None:
    """A processor (PDPA s.40, TH-PRC-01): a signed agreement in force that permits the purpose."""
    agreement = recipient.agreement
    if agreement is None or agreement.signed is None or agreement.signed > today:
        return Reason.NO_PROCESSOR_AGREEMENT
    if agreement.expires is not None and agreement.expires < today:
        return Reason.PROCESSOR_AGREEMENT_EXPIRED
    if purpose not in agreement.purposes:
        return Reason.PURPOSE_NOT_IN_AGREEMENT
    return None


def evaluate_disclosure(
    policy: Policy,
    facts: SubjectFacts,
    *,
    recipient: str,
    purpose: str,
    categories: Sequence[str],
    now: datetime,
) -> Verdict:
    """Decide one subject's disclosure to ``recipient``: the recipient first, then the basis."""
    refusal = recipient_refusal(
        policy, recipient=recipient, purpose=purpose, categories=categories, now=now
    )
    verdict = decide(
        policy, facts, purpose=purpose, categories=categories, action=Action.DISCLOSE, now=now
    )
    if refusal is None:
        return verdict
    return Verdict(
        allowed=False,
        reason=refusal,
        purpose=purpose,
        categories=tuple(categories),
        lawful_basis=verdict.lawful_basis,
        consent_record_ids=(),
        policy_version=policy.version,
        subject_id=facts.subject_id,
    )


def refusal_text(policy: Policy, *, recipient: str, reason: Reason, lang: Lang) -> str:
    """Say why a flow to ``recipient`` is refused, naming the recipient and country (no person)."""
    declared = policy.recipients.get(recipient)
    who = f"{declared.name} ({declared.country})" if declared is not None else repr(recipient)
    th, en = _REFUSAL.get(reason, (reason.value, reason.value))
    return f"{who}: {th}" if lang == "th" else f"{who}: {en}"


_REFUSAL: dict[Reason, tuple[str, str]] = {
    Reason.UNKNOWN_RECIPIENT: ("ไม่มีผู้รับข้อมูลรายนี้ในนโยบาย", "this recipient is not declared"),
    Reason.UNKNOWN_PURPOSE: ("ไม่มีวัตถุประสงค์นี้ในนโยบาย", "the purpose is not declared"),
    Reason.UNKNOWN_CATEGORY: ("มีประเภทข้อมูลที่ไม่มีในนโยบาย", "a category is not declared"),
    Reason.CATEGORY_NOT_IN_PURPOSE: (
        "วัตถุประสงค์นี้ไม่ได้ประกาศว่าใช้ข้อมูลบางประเภทที่ขอ",
        "the purpose does not declare a category asked for",
    ),
    Reason.RECIPIENT_NOT_FOR_PURPOSE: (
        "ไม่ได้ประกาศเป็นผู้รับข้อมูลสำหรับวัตถุประสงค์นี้",
        "not declared as a recipient for this purpose",
    ),
    Reason.NO_TRANSFER_MECHANISM: (
        "อยู่ต่างประเทศและไม่มีมาตรการรองรับการโอนข้อมูล",
        "abroad, with no transfer mechanism on file",
    ),
    Reason.TRANSFER_MECHANISM_EXPIRED: (
        "มาตรการรองรับการโอนข้อมูลไปต่างประเทศหมดอายุแล้ว",
        "the transfer mechanism has expired",
    ),
    Reason.TRANSFER_CONSENT_NOT_INFORMED: (
        "การโอนอาศัยความยินยอม แต่ประกาศของวัตถุประสงค์นี้ไม่ได้แจ้งผู้รับและประเทศปลายทาง",
        "the transfer relies on consent, but this purpose's notice does not name the recipient "
        "and its country",
    ),
    Reason.NO_PROCESSOR_AGREEMENT: (
        "เป็นผู้ประมวลผลข้อมูลที่ไม่มีสัญญาประมวลผลข้อมูลที่ลงนามแล้ว",
        "a processor without a signed processing agreement",
    ),
    Reason.PROCESSOR_AGREEMENT_EXPIRED: (
        "สัญญาประมวลผลข้อมูลหมดอายุแล้ว",
        "the processing agreement has expired",
    ),
    Reason.PURPOSE_NOT_IN_AGREEMENT: (
        "สัญญาประมวลผลข้อมูลไม่ครอบคลุมวัตถุประสงค์นี้",
        "the processing agreement does not permit this purpose",
    ),
}
