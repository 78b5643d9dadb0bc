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

from rujai.policy.reasons import REASON_TEXT as REASON_TEXT, Reason as Reason
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
    """What the decision needs to know about a subject; ``consents[purpose][role]``.

    ``age`` is the age in years (from the birth date, or an age inside the declared band);
    ``is_of_age`` says the subject declared being of full age without a number. Neither known
    means the age is unknown: profiling and marketing are then refused (TH-MIN-01, EU-03).
    ``objections`` holds objection kinds (``Objection``) and per-purpose objections to a
    legitimate-interest purpose, ``legitimate_interest:<purpose>`` (TH-DSR-03).
    """

    __personal__: ClassVar[bool] = True  # holds a person's data: returned only behind a Permit

    subject_id: UUID | None
    age: int | None = None
    is_of_age: bool = False
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
    return _objection(request.purpose, entry, subject.objections)


def objected_purposes(policy: Policy, objection: Objection | str) -> tuple[str, ...]:
    """Return the purposes an objection stops, as ``evaluate`` refuses them (TH-DSR-03, EU-02)."""
    kinds = frozenset({Objection(objection).value})
    entries = policy.index.purposes.items()
    return tuple(sorted(pid for pid, entry in entries if _objection(pid, entry, kinds) is not None))


def purpose_objection(purpose_id: str) -> str:
    """Return the objection marker for one legitimate-interest purpose (TH-DSR-03)."""
    return f"{Objection.LEGITIMATE_INTEREST.value}:{purpose_id}"


def _objection(purpose_id: str, entry: PurposeIndex, objections: frozenset[str]) -> Reason | None:
    purpose = entry.purpose
    if purpose.direct_marketing and Objection.DIRECT_MARKETING in objections:
        return Reason.OBJECTED_DIRECT_MARKETING  # TH-DSR-03: always honoured
    if purpose.profiling and Objection.PROFILING in objections:
        return Reason.OBJECTED_PROFILING  # EU-02
    if entry.li_like and (
        Objection.LEGITIMATE_INTEREST in objections or purpose_objection(purpose_id) in objections
    ):
        return Reason.OBJECTED_LEGITIMATE_INTEREST  # TH-DSR-03: from verification on
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
    if needs_age(subject, purpose):
        # TH-MIN-01, EU-03: never assume an adult; ask for the age (birth date or age band).
        return (Reason.AGE_UNKNOWN if facts else Reason.NO_CONSENT, ())
    if _guardian_only(subject, rule):
        return _guardian_consent(guardian, purpose, sensitive, now)
    if own is None:
        return (Reason.NO_CONSENT, ())
    own_reason = _valid(own, purpose, sensitive, now)
    if own_reason is not Reason.ALLOWED_CONSENT:
        return (own_reason, ())
    if subject.age is None or subject.age >= rule.majority_age:  # of full age, or not needed
        return (Reason.ALLOWED_CONSENT, (own.record_id,))
    return _minor_consent(own, guardian, purpose, sensitive, now)


def age_matters(purpose: Purpose) -> bool:
    """Return True if consent to ``purpose`` depends on the subject's age (TH-MIN-01)."""
    return purpose.profiling or purpose.direct_marketing


def age_known(subject: SubjectFacts) -> bool:
    """Return True if the age is known: a number, a declared full age, or incapacity decides."""
    return subject.age is not None or subject.is_of_age or subject.is_incapacitated


def needs_age(subject: SubjectFacts, purpose: Purpose) -> bool:
    """Return True if a consent to ``purpose`` cannot count until the age is known (TH-MIN-01)."""
    return age_matters(purpose) and not age_known(subject)


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
