"""Consent at a past time (TH-CON-04): what the ledger proves, with the records it rests on.

``state_at`` folds the ledger up to ``at`` (only rows recorded at or before it) into the latest
row per purpose and role, and asks the same pure ``policy.rules.decide`` the door uses, on the
facts ``consent.service.subject_facts`` builds as of ``at``, so the answer is the decision the
door would have made then for the action asked about. A time in the future is refused (the
ledger proves nothing about it yet), naming the field ``at``.

Known limits: restriction and objections are not historised (the profile's current ones are
used), and the policy is the one loaded now.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.consent import service as consent_service
from rujai.consent.models import ConsentRecord
from rujai.consent.schemas import (
    ROLE_OF_ACTOR,
    ConsentsAtRead,
    LedgerRecordRef,
    PastState,
    PurposeAtRead,
)
from rujai.errors import Invalid
from rujai.kit.crypto import Keyring
from rujai.policy import rules
from rujai.policy.rules import Action, Role
from rujai.policy.schemas import Lang, Policy, Purpose, Text
from rujai.profiles import service as profiles_service
from rujai.profiles.errors import SubjectNotFound

Rows = dict[str, dict[Role, ConsentRecord]]


def state_at(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    at: datetime,
    now: datetime,
    purpose: str | None = None,
    action: Action = Action.USE,
) -> ConsentsAtRead:
    """Return per consent purpose the state the ledger proves at ``at`` and the door's verdict."""
    at = _in_utc(at)
    if at > now:
        raise Invalid("at is in the future: the ledger proves nothing about it yet", field="at")
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    if subject_id is None:
        raise SubjectNotFound("no subject with this customer id")
    facts = consent_service.subject_facts(
        session, keyring=keyring, subject_id=subject_id, now=at, at=at
    )
    rows = latest_rows_at(session, subject_id=subject_id, at=at)
    purposes = [
        _purpose_at(pid, p, rows.get(pid, {}), rules.decide(
            policy, facts, purpose=pid, categories=p.categories, action=action, now=at))
        for pid, p in _purposes(policy, purpose).items()
    ]  # fmt: skip
    return ConsentsAtRead(
        subject_id=subject_id, at=at, action=action.value, policy_version=policy.version,
        purposes=purposes,
    )  # fmt: skip


def _in_utc(at: datetime) -> datetime:
    """Return ``at`` in UTC; a naive or unrepresentable time is refused naming ``at``."""
    if at.tzinfo is None:
        raise Invalid("at needs a UTC offset", field="at")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise Invalid("at is out of range", field="at") from None


def _purposes(policy: Policy, purpose: str | None) -> dict[str, Purpose]:
    if purpose is None:
        return {pid: p for pid, p in policy.purposes.items() if p.basis.is_consent}
    if purpose not in policy.purposes:
        raise Invalid(f"unknown purpose {purpose!r} (TH-LB-01)", field="purpose")
    return {purpose: policy.purposes[purpose]}


def latest_rows_at(session: Session, *, subject_id: uuid.UUID, at: datetime) -> Rows:
    """Return the latest ledger row per purpose and role recorded at or before ``at``."""
    found: Rows = {}
    for row in session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.subject_id == subject_id, ConsentRecord.recorded_at <= at)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    ):
        found.setdefault(row.purpose, {})[ROLE_OF_ACTOR[row.actor]] = row
    return found


def past_state(latest: dict[Role, ConsentRecord]) -> tuple[PastState, ConsentRecord | None]:
    """Return the state the newest of these rows proves (none without any) and that row."""
    if not latest:
        return "none", None
    row = max(latest.values(), key=lambda r: r.recorded_at)
    return ("granted" if row.action == "grant" else "withdrawn"), row


def _purpose_at(
    pid: str, purpose: Purpose, latest: dict[Role, ConsentRecord], verdict: rules.Verdict
) -> PurposeAtRead:
    state, row = past_state(latest)
    by: Literal["self", "guardian"] | None = None
    if row is not None:
        by = "guardian" if ROLE_OF_ACTOR[row.actor] == "guardian" else "self"
    return PurposeAtRead(
        purpose=pid, title=purpose.title, basis=purpose.basis, state=state, by=by,
        notice_version=row.notice_version if row else None,
        language=cast(Lang, row.language) if row else None,
        allowed=verdict.allowed, reason=verdict.reason.value,
        reason_text=Text(th=verdict.text("th"), en=verdict.text("en")),
        records=[_ref(role, r) for role, r in sorted(latest.items())],
    )  # fmt: skip


def _ref(role: Role, row: ConsentRecord) -> LedgerRecordRef:
    return LedgerRecordRef(
        record_id=row.id, role=role, action=cast(Literal["grant", "withdraw"], row.action),
        actor=cast(Literal["self", "parent", "guardian", "curator", "staff"], row.actor),
        notice_version=row.notice_version, notice_hash=row.notice_hash,
        language=cast(Lang, row.language), channel=row.channel, recorded_at=row.recorded_at,
        expires_at=row.expires_at,
    )  # fmt: skip
