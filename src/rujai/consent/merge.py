"""The consent side of a profile merge, and of its undo.

The rule (TH-CON-03: a withdrawal holds until the subject grants again): **the most restrictive
consent state wins for every purpose.**

- A purpose withdrawn on EITHER side (some role's latest record is a withdrawal) ends withdrawn on
  the target: unless the target's latest record for it already is a withdrawal, a withdrawal is
  appended to the target's ledger (channel ``merge``, actor ``self``, ``actor_ref`` =
  ``merge:<origin record id>``). So a target grant with an anonymous withdrawal becomes withdrawn.
- A grant on the anonymous side is carried over only when the target has no record at all for that
  purpose: a copy is appended (same notice version, text hash, language, actor, explicitness and
  evidence hashes; ``actor_ref`` = ``merge:<origin record id>``). The copy cannot outlive the
  original: its ``expires_at`` is capped at the original's expiry and validity period.
- Otherwise the target's own state stands.

So the merged profile holds a grant only if the person gave it (theirs, or the copy of the one they
gave as a visitor, by ``POST /v1/consents`` with an ``anonymous_id``), never one nobody gave. The
rule itself is the pure ``merge_steps`` (property-tested in ``tests/consent/test_merge_rule.py``);
the consent README draws it as a table.

The ledger is append-only (TH-CON-04): nothing is updated or deleted, here or on undo. Every record
goes through the consent domain's model, projection and audit code.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, Protocol, TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rujai.consent import service as consent_service
from rujai.consent.models import ConsentRecord, ConsentState
from rujai.consent.schemas import ROLE_OF_ACTOR
from rujai.kit import signals
from rujai.policy.rules import Role
from rujai.policy.schemas import Policy
from rujai.profiles.schemas import ConsentMergeChange, ConsentMergeReason

MERGE_CHANNEL = "merge"
ByRole = dict[Role, ConsentRecord]


class Fact(Protocol):
    """What the merge rule looks at in a record: grant or withdrawal, and when."""

    @property
    def action(self) -> str: ...

    @property
    def recorded_at(self) -> datetime: ...


F = TypeVar("F", bound=Fact)


@dataclass(frozen=True, slots=True)
class Step(Generic[F]):
    """One record the rule appends to the target: a withdrawal or a carried-over grant."""

    purpose: str
    action: Literal["withdraw", "grant"]
    origin: F  # the anonymous side's record it follows
    displaced: F | None = None  # the target's own (subject role) record it overrides


def merge_steps(
    source: Mapping[str, Mapping[Role, F]], target: Mapping[str, Mapping[Role, F]]
) -> list[Step[F]]:
    """The rule, pure: what to append to the target, given the latest record per purpose and role.

    A withdrawal on either side wins (appended unless the target's latest already is one); the
    anonymous side's grants are carried over only where the target has no record at all for the
    purpose; otherwise the target's own state stands. Nothing is ever appended that the person did
    not do: a carried grant is a copy of their own grant, a withdrawal a copy of their own.
    """
    steps: list[Step[F]] = []
    for purpose in sorted(source):
        theirs, ours = source[purpose], target.get(purpose, {})
        withdrawals = [r for r in theirs.values() if r.action == "withdraw"]
        if withdrawals:
            last_ours = max(ours.values(), key=lambda r: r.recorded_at, default=None)
            if last_ours is None or last_ours.action != "withdraw":
                origin = max(withdrawals, key=lambda r: r.recorded_at)
                steps.append(Step(purpose, "withdraw", origin, ours.get("subject")))
        elif not ours:
            steps += [Step(purpose, "grant", row) for row in theirs.values()]
    return steps


def merge_consents(
    session: Session,
    *,
    policy: Policy,
    from_subject_id: uuid.UUID,
    into_subject_id: uuid.UUID,
    now: datetime,
) -> list[ConsentMergeChange]:
    """Append to the target's ledger what the most-restrictive-wins rule requires (TH-CON-03)."""
    source = _latest(session, from_subject_id)
    target = _latest(session, into_subject_id)
    return [
        _withdraw(session, into_subject_id, step.origin, step.displaced, now)
        if step.action == "withdraw"
        else _carry(session, policy, into_subject_id, step.origin, now)
        for step in merge_steps(source, target)
    ]


def unmerge_consents(
    session: Session,
    *,
    policy: Policy,
    changes: Sequence[ConsentMergeChange],
    now: datetime,
) -> list[ConsentMergeChange]:
    """Append compensating records that restore the target's state from before a merge.

    Records the merge appended stay in the ledger (append-only, TH-CON-04). For each of them that
    is still the latest of its role (nothing newer was recorded since, which would stand):

    - a withdrawal appended by the merge is followed by a copy of the grant it displaced; if it
      displaced nothing, it stays (no consent and a withdrawal refuse alike, the safer side);
    - a grant carried over from the anonymous side is followed by a withdrawal.

    The anonymous side's ledger was never changed by the merge, so it needs no compensation.
    """
    undone = [_compensate(session, policy, change, now) for change in changes]
    return [change for change in undone if change is not None]


def _compensate(
    session: Session, policy: Policy, change: ConsentMergeChange, now: datetime
) -> ConsentMergeChange | None:
    row = session.get(ConsentRecord, change.record_id)
    if row is None or not _still_latest(session, row):
        return None
    if change.reason == "grant_carried_over":
        return _undo_carry(session, row, now)
    previous = session.get(ConsentRecord, change.previous_record_id or uuid.UUID(int=0))
    if change.reason == "withdrawn_on_either_side" and previous and previous.action == "grant":
        return _restore(session, policy, row, previous, now)
    return None


def _latest(session: Session, subject_id: uuid.UUID) -> dict[str, ByRole]:
    """Return the latest record per purpose and role, from the projection: one query."""
    rows = session.execute(
        select(ConsentState.role, ConsentRecord)
        .join(ConsentRecord, ConsentRecord.id == ConsentState.record_id)
        .where(ConsentState.subject_id == subject_id)
    )
    latest: dict[str, ByRole] = {}
    for role, row in rows:
        latest.setdefault(row.purpose, {})[cast(Role, role)] = row
    return latest


def _still_latest(session: Session, row: ConsentRecord) -> bool:
    current = session.scalar(
        select(ConsentState.record_id).where(
            ConsentState.subject_id == row.subject_id,
            ConsentState.purpose == row.purpose,
            ConsentState.role == ROLE_OF_ACTOR[row.actor],
        )
    )
    return current == row.id


def _withdraw(
    session: Session,
    subject_id: uuid.UUID,
    origin: ConsentRecord,
    displaced: ConsentRecord | None,
    now: datetime,
) -> ConsentMergeChange:
    row = _append(session, subject_id, origin, "withdraw", "self", f"merge:{origin.id}", now)
    return _change(row, origin, displaced, "withdrawn_on_either_side")


def _carry(
    session: Session,
    policy: Policy,
    subject_id: uuid.UUID,
    origin: ConsentRecord,
    now: datetime,
) -> ConsentMergeChange:
    row = _append(session, subject_id, origin, "grant", origin.actor, f"merge:{origin.id}", now)
    row.expires_at = _capped_expiry(policy, origin)
    session.flush()
    return _change(row, origin, None, "grant_carried_over")


def _undo_carry(session: Session, carried: ConsentRecord, now: datetime) -> ConsentMergeChange:
    subject_id = carried.subject_id
    row = _append(
        session, subject_id, carried, "withdraw", carried.actor, f"undo:{carried.id}", now
    )
    return _change(row, carried, carried, "undo_withdraws_carried_grant")


def _restore(
    session: Session,
    policy: Policy,
    appended: ConsentRecord,
    previous: ConsentRecord,
    now: datetime,
) -> ConsentMergeChange:
    ref = f"undo:{previous.id}"
    row = _append(session, appended.subject_id, previous, "grant", previous.actor, ref, now)
    row.expires_at = _capped_expiry(policy, previous)
    session.flush()
    return _change(row, previous, appended, "undo_restores_grant")


def _capped_expiry(policy: Policy, origin: ConsentRecord) -> datetime | None:
    """The copy of a grant expires no later than the grant it copies would have."""
    purpose = policy.purposes.get(origin.purpose)
    ends = [origin.expires_at] if origin.expires_at is not None else []
    if purpose is not None and purpose.consent_valid_days is not None:
        ends.append(origin.recorded_at + timedelta(days=purpose.consent_valid_days))
    return min(ends, default=None)


def _append(
    session: Session,
    subject_id: uuid.UUID,
    origin: ConsentRecord,
    action: str,
    actor: str,
    actor_ref: str,
    now: datetime,
) -> ConsentRecord:
    """Append one record modelled on ``origin``, move the projection and audit it."""
    grant = action == "grant"
    row = ConsentRecord(
        id=uuid.uuid4(), subject_id=subject_id, purpose=origin.purpose, action=action,
        notice_version=origin.notice_version, notice_hash=origin.notice_hash,
        language=origin.language, channel=MERGE_CHANNEL, actor=actor, actor_ref=actor_ref,
        evidence_ip_hash=origin.evidence_ip_hash if grant else None,
        evidence_ua_hash=origin.evidence_ua_hash if grant else None,
        is_explicit=origin.is_explicit if grant else False, expires_at=None,
        recorded_at=_after_latest(session, subject_id, origin.purpose, now),
    )  # fmt: skip
    session.add(row)
    session.flush()
    role = ROLE_OF_ACTOR[actor]
    consent_service._project(session, row, role, now)
    consent_service._audit(session, row, role, by="merge", now=now)
    return row


def _after_latest(session: Session, subject_id: uuid.UUID, purpose: str, now: datetime) -> datetime:
    """Return ``now``, or just after the purpose's latest record, so the new one is the latest."""
    latest = session.scalar(
        select(func.max(ConsentRecord.recorded_at)).where(
            ConsentRecord.subject_id == subject_id, ConsentRecord.purpose == purpose
        )
    )
    if latest is None or latest < now:
        return now
    return latest + consent_service.TICK


def _change(
    row: ConsentRecord,
    origin: ConsentRecord,
    previous: ConsentRecord | None,
    reason: ConsentMergeReason,
) -> ConsentMergeChange:
    return ConsentMergeChange(
        subject_id=row.subject_id,
        purpose=row.purpose,
        action="grant" if row.action == "grant" else "withdraw",
        record_id=row.id,
        origin_record_id=origin.id,
        previous_record_id=previous.id if previous is not None else None,
        reason=reason,
    )


def _on_merge(
    session: Session,
    *,
    policy: Policy,
    from_subject_id: uuid.UUID,
    into_subject_id: uuid.UUID,
    now: datetime,
    **_: object,
) -> dict[str, object]:
    changes = merge_consents(
        session, policy=policy, from_subject_id=from_subject_id,
        into_subject_id=into_subject_id, now=now,
    )  # fmt: skip
    return {"consent_changes": [c.model_dump(mode="json") for c in changes]}


def _on_unmerge(
    session: Session, *, policy: Policy, detail: dict[str, Any], now: datetime, **_: object
) -> dict[str, object]:
    changes = [ConsentMergeChange.model_validate(c) for c in detail["consent_changes"]]
    undone = unmerge_consents(session, policy=policy, changes=changes, now=now)
    return {"undo_consent_changes": [c.model_dump(mode="json") for c in undone]}


signals.on_subject_merge("consent", _on_merge, _on_unmerge)  # profiles.merge asks through it
