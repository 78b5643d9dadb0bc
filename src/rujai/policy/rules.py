"""The pure decision: may this purpose use these categories of this subject now, and on what basis?

``evaluate`` takes everything it needs as arguments (no I/O, no clock, no ORM) and is the only place
where the law's rules for using personal data are decided. Default deny: anything not positively
allowed is refused with a reason code. See ``policy/README.md`` for the pipeline and every code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from rujai.policy.schemas import (
    AgeRule,
    LawfulBasis,
    Policy,
    PolicyIndex,
    Purpose,
    PurposeIndex,
)

Role = Literal["subject", "guardian"]


class Action(StrEnum):
    """What is done with the data. Restriction (TH-DSR-05) leaves only STORE and ANSWER_RIGHTS."""

    COLLECT = "collect"
    STORE = "store"
    USE = "use"
    DISCLOSE = "disclose"
    # Serving the subject's own rights request (a copy, a correction, an erasure): only for a
    # legal-obligation purpose, and not stopped by a restriction or an objection (PDPA s.30-34).
    ANSWER_RIGHTS = "answer_rights"


KEPT_UNDER_RESTRICTION = frozenset({Action.STORE, Action.ANSWER_RIGHTS})  # TH-DSR-05


class Objection(StrEnum):
    """What a subject may object to (TH-DSR-03, EU-02)."""

    DIRECT_MARKETING = "direct_marketing"
    LEGITIMATE_INTEREST = "legitimate_interest"
    PROFILING = "profiling"


class Reason(StrEnum):
    ALLOWED_CONSENT = "allowed_consent"
    ALLOWED_BASIS = "allowed_basis"
    UNKNOWN_PURPOSE = "unknown_purpose"
    UNKNOWN_CATEGORY = "unknown_category"
    CATEGORY_NOT_IN_PURPOSE = "category_not_in_purpose"
    PURPOSE_DOES_NOT_COLLECT = "purpose_does_not_collect"
    RESTRICTED = "restricted"
    OBJECTED_DIRECT_MARKETING = "objected_direct_marketing"
    OBJECTED_PROFILING = "objected_profiling"
    OBJECTED_LEGITIMATE_INTEREST = "objected_legitimate_interest"
    SENSITIVE_NEEDS_EXPLICIT_CONSENT = "sensitive_needs_explicit_consent"
    NO_CONSENT = "no_consent"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    NOTICE_OUTDATED = "notice_outdated"
    GUARDIAN_CONSENT_REQUIRED = "guardian_consent_required"
    GUARDIAN_CO_CONSENT_PENDING = "guardian_co_consent_pending"
    NOT_A_RIGHTS_PURPOSE = "not_a_rights_purpose"
    OUTSIDE_CONTROLLER_INSTRUCTIONS = "outside_controller_instructions"  # TH-PRC-01


REASON_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.ALLOWED_CONSENT: ("ได้รับความยินยอมจากคุณสำหรับวัตถุประสงค์นี้", "You consented to this purpose."),
    Reason.ALLOWED_BASIS: (
        "ใช้ฐานทางกฎหมายอื่นที่ไม่ใช่ความยินยอม",
        "Allowed on a lawful basis other than consent.",
    ),
    Reason.UNKNOWN_PURPOSE: ("ไม่มีวัตถุประสงค์นี้ในนโยบาย", "This purpose is not in the policy."),
    Reason.UNKNOWN_CATEGORY: ("ไม่มีประเภทข้อมูลนี้ในนโยบาย", "This data category is not in the policy."),
    Reason.CATEGORY_NOT_IN_PURPOSE: (
        "วัตถุประสงค์นี้ไม่ได้ประกาศว่าใช้ข้อมูลประเภทนี้",
        "This purpose does not declare this data category.",
    ),
    Reason.PURPOSE_DOES_NOT_COLLECT: (
        "วัตถุประสงค์นี้ใช้ได้เฉพาะข้อมูลที่มีอยู่แล้ว ไม่ใช่เหตุให้เก็บข้อมูลใหม่",
        "This purpose only uses data already held; it is no reason to collect more.",
    ),
    Reason.RESTRICTED: ("คุณขอให้ระงับการใช้ข้อมูล", "You asked us to restrict the use of your data."),
    Reason.OBJECTED_DIRECT_MARKETING: (
        "คุณคัดค้านการตลาดแบบตรง",
        "You objected to direct marketing.",
    ),
    Reason.OBJECTED_PROFILING: ("คุณคัดค้านการทำโปรไฟล์", "You objected to profiling."),
    Reason.OBJECTED_LEGITIMATE_INTEREST: (
        "คุณคัดค้านการใช้ข้อมูลโดยอาศัยประโยชน์โดยชอบด้วยกฎหมาย",
        "You objected to processing based on legitimate interest.",
    ),
    Reason.SENSITIVE_NEEDS_EXPLICIT_CONSENT: (
        "ข้อมูลอ่อนไหวต้องได้รับความยินยอมโดยชัดแจ้ง",
        "Sensitive data needs your explicit consent.",
    ),
    Reason.NO_CONSENT: ("ยังไม่ได้รับความยินยอม", "You have not consented to this purpose."),
    Reason.WITHDRAWN: ("คุณถอนความยินยอมแล้ว", "You withdrew your consent."),
    Reason.EXPIRED: ("ความยินยอมหมดอายุแล้ว", "Your consent has expired."),
    Reason.NOTICE_OUTDATED: (
        "ประกาศความเป็นส่วนตัวเปลี่ยนแปลง ต้องขอความยินยอมใหม่",
        "The privacy notice changed; we need your consent again.",
    ),
    Reason.GUARDIAN_CONSENT_REQUIRED: (
        "ต้องได้รับความยินยอมจากผู้ใช้อำนาจปกครอง",
        "A parent or guardian must consent.",
    ),
    Reason.GUARDIAN_CO_CONSENT_PENDING: (
        "รอความยินยอมจากผู้ใช้อำนาจปกครอง",
        "Waiting for a parent or guardian to consent as well.",
    ),
    Reason.NOT_A_RIGHTS_PURPOSE: (
        "วัตถุประสงค์นี้ไม่ใช่การดำเนินการตามคำขอใช้สิทธิตามกฎหมาย",
        "This purpose is not the legal duty of answering your requests.",
    ),
    Reason.OUTSIDE_CONTROLLER_INSTRUCTIONS: (
        "ผู้ประมวลผลข้อมูลใช้ข้อมูลได้เฉพาะตามคำสั่งของผู้ควบคุมข้อมูลที่ยังมีผลอยู่",
        "As a processor we may use data only on the controller's current instructions.",
    ),
}


@dataclass(frozen=True, slots=True)
class ConsentFact:
    """The latest consent record of one role for one purpose."""

    record_id: UUID
    action: Literal["grant", "withdraw"]
    notice_version: int
    recorded_at: datetime
    expires_at: datetime | None = None
    is_explicit: bool = False


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """What the decision needs to know about a subject; ``consents[purpose][role]``."""

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    subject_id: UUID | None
    age: int | None = None
    is_incapacitated: bool = False
    is_restricted: bool = False
    objections: frozenset[str] = frozenset()
    consents: Mapping[str, Mapping[Role, ConsentFact]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckRequest:
    purpose: str
    categories: tuple[str, ...]
    action: Action = Action.USE


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: Reason
    purpose: str
    categories: tuple[str, ...]
    lawful_basis: LawfulBasis | None
    consent_record_ids: tuple[UUID, ...]
    policy_version: str
    subject_id: UUID | None

    def text(self, lang: Literal["th", "en"]) -> str:
        """Return the reason as a sentence for the subject."""
        th, en = REASON_TEXT[self.reason]
        return th if lang == "th" else en


def evaluate(
    request: CheckRequest, policy: Policy, subject: SubjectFacts, now: datetime
) -> Verdict:
    """Decide whether ``request`` is lawful for ``subject`` at ``now`` (default deny)."""
    index = policy.index
    entry = index.purposes.get(request.purpose)
    if entry is None:
        return _deny(request, policy, subject, Reason.UNKNOWN_PURPOSE, None)
    if index.instructed_purposes is not None and not _instructed(index, request.purpose, now):
        return _deny(request, policy, subject, Reason.OUTSIDE_CONTROLLER_INSTRUCTIONS, entry.basis)
    refusal = _scope_refusal(request, index, entry) or _subject_refusal(request, entry, subject)
    if refusal is not None:
        return _deny(request, policy, subject, refusal, entry.basis)
    sensitive = not index.sensitive_categories.isdisjoint(request.categories)
    if sensitive and not entry.is_explicit:
        return _deny(request, policy, subject, Reason.SENSITIVE_NEEDS_EXPLICIT_CONSENT, entry.basis)
    if not entry.is_consent:
        return _verdict(request, policy, subject, Reason.ALLOWED_BASIS, entry.basis, ())
    reason, ids = _consent(policy, entry.purpose, subject, sensitive, request.purpose, now)
    if reason is not Reason.ALLOWED_CONSENT:
        return _deny(request, policy, subject, reason, entry.basis)
    return _verdict(request, policy, subject, reason, entry.basis, ids)


def _instructed(index: PolicyIndex, purpose: str, now: datetime) -> bool:
    """In processor mode: is the purpose instructed, and do the instructions still hold?"""
    until = index.instructions_until
    if until is not None and now >= until:
        return False  # TH-PRC-01: expired instructions allow nothing
    return purpose in (index.instructed_purposes or ())


def _scope_refusal(request: CheckRequest, index: PolicyIndex, entry: PurposeIndex) -> Reason | None:
    if request.action is Action.COLLECT and not entry.collects:
        return Reason.PURPOSE_DOES_NOT_COLLECT  # TH-PUR-01
    if request.action is Action.ANSWER_RIGHTS and entry.basis is not LawfulBasis.LEGAL_OBLIGATION:
        return Reason.NOT_A_RIGHTS_PURPOSE
    for category in request.categories:
        if category not in index.known_categories:
            return Reason.UNKNOWN_CATEGORY
        if category not in entry.categories:
            return Reason.CATEGORY_NOT_IN_PURPOSE
    return None


def _subject_refusal(
    request: CheckRequest, entry: PurposeIndex, subject: SubjectFacts
) -> Reason | None:
    if subject.is_restricted and request.action not in KEPT_UNDER_RESTRICTION:
        return Reason.RESTRICTED  # TH-DSR-05
    if not subject.objections or request.action is Action.ANSWER_RIGHTS:
        return None
    return _objection(entry, subject.objections)


def _objection(entry: PurposeIndex, objections: frozenset[str]) -> Reason | None:
    purpose = entry.purpose
    if purpose.direct_marketing and Objection.DIRECT_MARKETING in objections:
        return Reason.OBJECTED_DIRECT_MARKETING  # TH-DSR-03: always honoured
    if purpose.profiling and Objection.PROFILING in objections:
        return Reason.OBJECTED_PROFILING  # EU-02
    if entry.li_like and Objection.LEGITIMATE_INTEREST in objections:
        return Reason.OBJECTED_LEGITIMATE_INTEREST
    return None


def _consent(
    policy: Policy,
    purpose: Purpose,
    subject: SubjectFacts,
    sensitive: bool,
    purpose_id: str,
    now: datetime,
) -> tuple[Reason, tuple[UUID, ...]]:
    facts = subject.consents.get(purpose_id, {})
    own, guardian = facts.get("subject"), facts.get("guardian")
    latest = max(facts.values(), key=_recency, default=None)
    if latest is not None and latest.action == "withdraw":
        return (Reason.WITHDRAWN, ())  # TH-CON-03: whoever withdrew last, it stops at once
    rule = policy.strictest_age_rule
    if _guardian_only(subject, rule):
        return _guardian_consent(guardian, purpose, sensitive, now)
    if own is None:
        return (Reason.NO_CONSENT, ())
    own_reason = _valid(own, purpose, sensitive, now)
    if own_reason is not Reason.ALLOWED_CONSENT:
        return (own_reason, ())
    if subject.age is None or subject.age >= rule.majority_age:
        return (Reason.ALLOWED_CONSENT, (own.record_id,))
    return _minor_consent(own, guardian, purpose, sensitive, now)


def _guardian_only(subject: SubjectFacts, rule: AgeRule) -> bool:
    """Return True where only a parent, guardian or curator can consent (TH-MIN-01)."""
    age = subject.age
    return subject.is_incapacitated or (age is not None and age < rule.guardian_only_below)


def _guardian_consent(
    guardian: ConsentFact | None, purpose: Purpose, sensitive: bool, now: datetime
) -> tuple[Reason, tuple[UUID, ...]]:
    if guardian is None:
        return (Reason.GUARDIAN_CONSENT_REQUIRED, ())
    return _valid(guardian, purpose, sensitive, now), (guardian.record_id,)


def _minor_consent(
    own: ConsentFact,
    guardian: ConsentFact | None,
    purpose: Purpose,
    sensitive: bool,
    now: datetime,
) -> tuple[Reason, tuple[UUID, ...]]:
    """A minor who may consent, with a valid grant of their own: does a guardian co-consent?"""
    if guardian is None:
        if purpose.profiling or purpose.direct_marketing:
            return (Reason.GUARDIAN_CO_CONSENT_PENDING, ())  # TH-MIN-01: pending until it arrives
        return (Reason.ALLOWED_CONSENT, (own.record_id,))
    guardian_reason = _valid(guardian, purpose, sensitive, now)
    if guardian_reason is not Reason.ALLOWED_CONSENT:
        return (guardian_reason, ())
    return (Reason.ALLOWED_CONSENT, (own.record_id, guardian.record_id))


def _recency(fact: ConsentFact) -> tuple[datetime, bool]:
    return (fact.recorded_at, fact.action == "withdraw")  # at the same instant, withdrawal wins


def _valid(fact: ConsentFact, purpose: Purpose, sensitive: bool, now: datetime) -> Reason:
    if fact.action == "withdraw":
        return Reason.WITHDRAWN
    if fact.expires_at is not None and fact.expires_at <= now:
        return Reason.EXPIRED
    valid_days = purpose.consent_valid_days
    if valid_days is not None and fact.recorded_at + timedelta(days=valid_days) <= now:
        return Reason.EXPIRED
    if fact.notice_version < purpose.notice.material_version:
        return Reason.NOTICE_OUTDATED
    if sensitive and not fact.is_explicit:
        return Reason.SENSITIVE_NEEDS_EXPLICIT_CONSENT
    return Reason.ALLOWED_CONSENT


def _verdict(
    request: CheckRequest,
    policy: Policy,
    subject: SubjectFacts,
    reason: Reason,
    basis: LawfulBasis | None,
    ids: tuple[UUID, ...],
) -> Verdict:
    return Verdict(
        allowed=True,
        reason=reason,
        purpose=request.purpose,
        categories=request.categories,
        lawful_basis=basis,
        consent_record_ids=ids,
        policy_version=policy.version,
        subject_id=subject.subject_id,
    )


def _deny(
    request: CheckRequest,
    policy: Policy,
    subject: SubjectFacts,
    reason: Reason,
    basis: LawfulBasis | None,
) -> Verdict:
    return Verdict(
        allowed=False,
        reason=reason,
        purpose=request.purpose,
        categories=request.categories,
        lawful_basis=basis,
        consent_record_ids=(),
        policy_version=policy.version,
        subject_id=subject.subject_id,
    )


def decide(
    policy: Policy,
    facts: SubjectFacts,
    *,
    purpose: str,
    categories: Sequence[str],
    action: Action,
    now: datetime,
) -> Verdict:
    """Evaluate one use without loading or auditing (the door and batch paths that audit once)."""
    request = CheckRequest(purpose=purpose, categories=tuple(categories), action=action)
    return evaluate(request, policy, facts, now)
