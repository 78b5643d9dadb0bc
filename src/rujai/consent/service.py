"""The consent service: record grants and withdrawals, and say what the chokepoint will decide.

Every change appends one ``consent_record`` row (TH-CON-04) and moves the ``consent_state``
projection for the actor's role; nothing is ever updated in the ledger. The status shown to a
subject is computed by ``policy.rules.evaluate`` on the same facts the chokepoint uses, so what the
privacy center says is what is enforced.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from rujai.audit import service as audit_service
from rujai.consent import (
    age as consent_age,
    history as consent_history,
    receipts,
    subjects as consent_subjects,
)
from rujai.consent.errors import (
    ConsentNotApplicable,
    ExplicitConsentRequired,
    NoticeNotCurrent,
    PurposeUnknown,
)
from rujai.consent.models import ConsentRecord, ConsentState
from rujai.consent.receipts import ConsentReceipt
from rujai.consent.schemas import (
    ROLE_OF_ACTOR,
    ConsentCreate,
    ConsentOverviewRead,
    ConsentRecordRead,
    ConsentStatus,
    PurposeConsentRead,
    SubjectConsentsRead,
)
from rujai.errors import Invalid
from rujai.kit import signals
from rujai.kit.crypto import Keyring
from rujai.policy import rules
from rujai.policy.notice import purpose_notice_hash
from rujai.policy.rules import Reason, Role
from rujai.policy.schemas import LawfulBasis, Policy, Purpose, Text
from rujai.profiles import service as profiles_service
from rujai.profiles.schemas import ProfileFacts

TICK = timedelta(microseconds=1)
_R, _S = ConsentRecord.__table__.c, ConsentState.__table__.c
# ``consent_history.projected`` as a prebuilt Core query: ``subject_facts`` runs on every decision.
_PROJECTED = (
    select(_S.role, _R.purpose, _R.id, _R.action, _R.notice_version, _R.recorded_at,
           _R.expires_at, _R.is_explicit)
    .join_from(ConsentState.__table__, ConsentRecord.__table__, _R.id == _S.record_id)
    .where(_S.subject_id == bindparam("subject_id"))
)  # fmt: skip

STATUS_OF: dict[Reason, ConsentStatus] = {
    Reason.ALLOWED_CONSENT: "granted",
    Reason.WITHDRAWN: "withdrawn",
    Reason.NO_CONSENT: "none",
    Reason.EXPIRED: "expired",
    Reason.NOTICE_OUTDATED: "notice_outdated",
    Reason.GUARDIAN_CO_CONSENT_PENDING: "pending_guardian",
    Reason.GUARDIAN_CONSENT_REQUIRED: "guardian_required",
    Reason.RESTRICTED: "restricted",
    Reason.OBJECTED_DIRECT_MARKETING: "objected",
    Reason.OBJECTED_PROFILING: "objected",
    Reason.OBJECTED_LEGITIMATE_INTEREST: "objected",
    Reason.AGE_UNKNOWN: "age_required",
}


def record(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    change: ConsentCreate,
    now: datetime,
    evidence_ip: str | None,
    evidence_user_agent: str | None,
    customer_id: str | None = None,
    anonymous_id: str | None = None,
    by: str = "system",
) -> ConsentReceipt:
    """Append a grant or withdrawal to the ledger, move the projection, audit, return a receipt.

    The subject is a customer or, by ``anonymous_id``, a website visitor (exactly one). A grant
    for profiling or marketing needs the subject's age, which may come with it (TH-MIN-01).
    """
    ref = consent_subjects.subject_ref(customer_id, anonymous_id)
    purpose = consent_purpose(policy, change.purpose)
    notice_version = _checked_notice_version(purpose, change, now)
    subject_id = consent_subjects.get_or_create(session, keyring=keyring, ref=ref, now=now)
    if change.action == "grant":
        consent_age.learn(session, keyring=keyring, policy=policy, subject_id=subject_id,
                          change=change, now=now)  # fmt: skip
        consent_age.require(session, keyring=keyring, policy=policy, purpose=purpose,
                            subject_id=subject_id, change=change, now=now)  # fmt: skip
    role = ROLE_OF_ACTOR[change.actor]
    row = _new_record(policy, subject_id, change, notice_version)
    row.evidence_ip_hash = _evidence(keyring, evidence_ip)
    row.evidence_ua_hash = _evidence(keyring, evidence_user_agent)
    row.recorded_at = _next_time(session, subject_id, change.purpose, role, now)
    session.add(row)
    session.flush()
    _project(session, row, role, now)
    _audit(session, row, role, by=by, now=now)
    if change.action == "withdraw":
        signals.subject_narrowed(
            session, subject_id=subject_id, reason="withdrawn", now=now, purpose=change.purpose
        )
    read = ConsentRecordRead.model_validate(row)
    return receipts.issue(keyring, policy, read, audit_head=audit_service.current_head(session))


def consent_purpose(policy: Policy, purpose_id: str) -> Purpose:
    """Return the purpose if consent applies to it; raise Invalid naming ``purpose`` (TH-LB-01)."""
    purpose = policy.purposes.get(purpose_id)
    if purpose is None:
        raise PurposeUnknown(f"unknown purpose {purpose_id!r} (TH-LB-01)", field="purpose")
    if not purpose.basis.is_consent:
        raise ConsentNotApplicable(
            f"consent does not apply to purpose {purpose_id!r}: its lawful basis is "
            f"{purpose.basis.value}, not consent (TH-LB-01)",
            field="purpose",
        )
    return purpose


def subject_facts(
    session: Session,
    *,
    keyring: Keyring,
    subject_id: uuid.UUID | None,
    now: datetime,
    at: datetime | None = None,
) -> rules.SubjectFacts:
    """Build the input of ``rules.evaluate``: from the projection, or the ledger as of ``at``."""
    if subject_id is None:
        return rules.SubjectFacts(subject_id=None)
    moment = now if at is None else at
    profile = profiles_service.facts(session, keyring=keyring, subject_id=subject_id, now=moment)
    if at is None:
        consents = _projected(session, subject_id)
    else:
        consents = consent_history.consents_at(session, subject_id=subject_id, at=at)
    return _subject_facts(profile, consents)


def _projected(session: Session, subject_id: uuid.UUID) -> consent_history.Consents:
    """What ``consent_history.projected`` returns, read without the ORM (the hot path)."""
    consents: consent_history.Consents = {}
    for row in session.execute(_PROJECTED, {"subject_id": subject_id}):
        consents.setdefault(row.purpose, {})[cast(Role, row.role)] = rules.ConsentFact(
            record_id=row.id, action=row.action, notice_version=row.notice_version,
            recorded_at=row.recorded_at, expires_at=row.expires_at, is_explicit=row.is_explicit,
        )  # fmt: skip
    return consents


def subject_facts_many(
    session: Session, *, keyring: Keyring, subject_ids: Collection[uuid.UUID], now: datetime
) -> dict[uuid.UUID, rules.SubjectFacts]:
    """Build ``evaluate``'s input for a batch of subjects in two queries; unknown ids left out."""
    profiles = profiles_service.facts_many(
        session, keyring=keyring, subject_ids=subject_ids, now=now
    )
    consents = consent_history.projected_many(session, subject_ids=list(profiles))
    return {sid: _subject_facts(p, consents.get(sid, {})) for sid, p in profiles.items()}


def _subject_facts(profile: ProfileFacts, consents: consent_history.Consents) -> rules.SubjectFacts:
    return rules.SubjectFacts(
        subject_id=profile.subject_id,
        age=profile.age,
        is_of_age=profile.is_of_age,
        is_restricted=profile.is_restricted,
        objections=profile.objections,
        consents=consents,
    )


def current(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    now: datetime,
    customer_id: str | None = None,
    anonymous_id: str | None = None,
) -> SubjectConsentsRead:
    """Return every consent-based purpose with the status the chokepoint would enforce now."""
    ref = consent_subjects.subject_ref(customer_id, anonymous_id)
    subject_id = consent_subjects.find(session, keyring=keyring, ref=ref)
    facts = subject_facts(session, keyring=keyring, subject_id=subject_id, now=now)
    purposes = [
        _status(policy, purpose_id, purpose, facts, now)
        for purpose_id, purpose in policy.purposes.items()
        if purpose.basis.is_consent
    ]
    return SubjectConsentsRead(
        subject_id=subject_id, policy_version=policy.version, purposes=purposes,
        age_known=rules.age_known(facts),
    )  # fmt: skip


def overview(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    now: datetime,
    customer_id: str | None = None,
    anonymous_id: str | None = None,
) -> ConsentOverviewRead:
    """Return the current status per purpose and the whole ledger of one customer or visitor."""
    state = current(
        session, keyring=keyring, policy=policy, now=now, customer_id=customer_id,
        anonymous_id=anonymous_id,
    )  # fmt: skip
    return ConsentOverviewRead(
        current=state, history=consent_history.history(session, subject_id=state.subject_id)
    )


def _checked_notice_version(purpose: Purpose, change: ConsentCreate, now: datetime) -> int:
    """Check a change against the purpose; return the notice version to record."""
    current_version = purpose.notice.version
    if change.action == "withdraw":
        # TH-CON-03: nothing beyond what a grant needs; never refuse a withdrawal over the notice.
        if change.expires_at is not None:
            raise Invalid("only a grant can have expires_at", field="expires_at")
        return change.notice_version or current_version
    if change.notice_version != current_version:
        raise _notice_error(change.notice_version, current_version)
    if purpose.basis is LawfulBasis.EXPLICIT_CONSENT and not change.explicit:
        raise ExplicitConsentRequired(
            "this purpose uses sensitive data: the grant must be explicit (TH-SEN-01)",
            field="explicit",
        )
    _check_staff_named(change)
    if change.expires_at is not None and change.expires_at <= now:
        raise Invalid("expires_at must be in the future", field="expires_at")
    return current_version


def _check_staff_named(change: ConsentCreate) -> None:
    """A grant is an act someone answers for: staff recording one must name themselves."""
    if change.actor == "staff" and not change.actor_ref:
        raise Invalid(
            "a grant recorded by staff must name them in actor_ref (TH-CON-01, TH-CON-04)",
            field="actor_ref",
        )


def _notice_error(given: int | None, current_version: int) -> Invalid | NoticeNotCurrent:
    shown = f"the subject must be shown the current notice (version {current_version}) (TH-CON-04)"
    if given is None:
        return Invalid(f"notice_version is required for a grant: {shown}", field="notice_version")
    return NoticeNotCurrent(
        f"notice_version {given} is not the current notice: {shown}", field="notice_version"
    )


def _new_record(
    policy: Policy,
    subject_id: uuid.UUID,
    change: ConsentCreate,
    notice_version: int,
) -> ConsentRecord:
    return ConsentRecord(
        id=uuid.uuid4(),
        subject_id=subject_id,
        purpose=change.purpose,
        action=change.action,
        notice_version=notice_version,
        # TH-CON-04: the hash of the exact text shown, in the language shown.
        notice_hash=purpose_notice_hash(policy, change.purpose, change.language),
        language=change.language,
        channel=change.channel,
        actor=change.actor,
        actor_ref=change.actor_ref,
        is_explicit=change.explicit,
        expires_at=change.expires_at,
    )


def _evidence(keyring: Keyring, value: str | None) -> str | None:
    """Keep only a keyed hash of evidence such as an IP address or user agent, never the value."""
    return keyring.hash_evidence(value) if value else None


def _next_time(
    session: Session, subject_id: uuid.UUID, purpose: str, role: Role, now: datetime
) -> datetime:
    """Return ``now``, or just after the role's previous record if the clock is behind it.

    Times are strictly increasing per subject, purpose and role, so the order of the ledger by
    time is the order of appending and the state at any past time can be rebuilt (TH-CON-04).
    """
    previous = session.scalar(
        select(ConsentRecord.recorded_at)
        .join(ConsentState, ConsentState.record_id == ConsentRecord.id)
        .where(
            ConsentState.subject_id == subject_id,
            ConsentState.purpose == purpose,
            ConsentState.role == role,
        )
        .with_for_update(of=ConsentState)
    )
    if previous is None or previous < now:
        return now
    return previous + TICK


def _project(session: Session, row: ConsentRecord, role: Role, now: datetime) -> None:
    values: dict[str, Any] = {
        "subject_id": row.subject_id,
        "purpose": row.purpose,
        "role": role,
        "record_id": row.id,
        "updated_at": now,
    }
    session.execute(_upsert_state(session, values))


def _upsert_state(session: Session, values: dict[str, Any]) -> Executable:
    """INSERT ... ON CONFLICT (subject_id, purpose, role) DO UPDATE, on PostgreSQL and SQLite."""
    keys = ["subject_id", "purpose", "role"]
    if session.get_bind().dialect.name == "postgresql":
        pg = pg_insert(ConsentState).values(**values)
        return pg.on_conflict_do_update(
            index_elements=keys,
            set_={"record_id": pg.excluded.record_id, "updated_at": pg.excluded.updated_at},
        )
    lite = sqlite_insert(ConsentState).values(**values)
    return lite.on_conflict_do_update(
        index_elements=keys,
        set_={"record_id": lite.excluded.record_id, "updated_at": lite.excluded.updated_at},
    )


def _audit(session: Session, row: ConsentRecord, role: Role, *, by: str, now: datetime) -> None:
    # No personal data in the detail: the subject is its UUID, evidence stays in the ledger.
    audit_service.record(
        session,
        actor=by,
        action=f"consent.{row.action}",
        now=now,
        subject_id=row.subject_id,
        purpose=row.purpose,
        outcome="recorded",
        detail={
            "record_id": str(row.id),
            "role": role,
            "actor": row.actor,
            "notice_version": row.notice_version,
            "language": row.language,
        },
    )


def _status(
    policy: Policy,
    purpose_id: str,
    purpose: Purpose,
    facts: rules.SubjectFacts,
    now: datetime,
) -> PurposeConsentRead:
    request = rules.CheckRequest(purpose=purpose_id, categories=tuple(purpose.categories))
    verdict = rules.evaluate(request, policy, facts, now)
    return PurposeConsentRead(
        purpose=purpose_id,
        title=purpose.title,
        basis=purpose.basis,
        notice_version=purpose.notice.version,
        status=STATUS_OF.get(verdict.reason, "denied"),
        allowed=verdict.allowed,
        reason=verdict.reason.value,
        reason_text=Text(th=verdict.text("th"), en=verdict.text("en")),
        last_recorded_at=consent_history.latest_recorded_at(facts.consents.get(purpose_id, {})),
    )


signals.provide_subject_facts(subject_facts)  # profiles' collection gate reads through it
