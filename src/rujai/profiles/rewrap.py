"""Re-wrapping the subjects' data keys under the current master key (``rujai keys rotate-master``).

A data key is never re-generated: it is unwrapped under whichever master key wrapped it and
wrapped again under the current one, so every sealed value stays as it is. Each chunk is one
transaction and one audit entry with counts; the rows still to do are those whose wrapped key
does not start with the current key's id (``Keyring.wrap_header``), so a run that stopped is
continued by running it again. Every update is a compare-and-swap on the wrapped key it read: a
key destroyed (erasure) or replaced meanwhile by the running server is never written back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, not_, select, update
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.kit.crypto import WRAP_HEADER_BYTES, WRAPPED_BYTES, DecryptionFailed, Keyring
from rujai.profiles.errors import DataKeyUnreadable
from rujai.profiles.models import Subject

CHUNK = 500


@dataclass(frozen=True, slots=True)
class KeyCensus:
    """How many subjects' data keys are under the current master key, under another, destroyed."""

    master_key_id: str
    current: int
    other: int
    destroyed: int


@dataclass(frozen=True, slots=True)
class RewrapChunk:
    """One chunk: keys re-wrapped, keys changed meanwhile (left for the next run), the last id."""

    rewrapped: int
    skipped: int
    last_id: uuid.UUID | None


def _under_current(keyring: Keyring) -> ColumnElement[bool]:
    wrapped = Subject.data_key_wrapped
    return (func.length(wrapped) == WRAPPED_BYTES) & (
        func.substr(wrapped, 1, WRAP_HEADER_BYTES) == keyring.wrap_header
    )


def census(session: Session, *, keyring: Keyring) -> KeyCensus:
    """Count data keys by the master key that wraps them (counts only)."""
    alive = Subject.data_key_wrapped.is_not(None)
    current = session.scalar(select(func.count()).where(alive, _under_current(keyring)))
    total = session.scalar(select(func.count()).select_from(Subject))
    live = session.scalar(select(func.count()).where(alive))
    return KeyCensus(
        master_key_id=keyring.key_id,
        current=int(current or 0),
        other=int(live or 0) - int(current or 0),
        destroyed=int(total or 0) - int(live or 0),
    )


def rewrap_chunk(
    session: Session,
    *,
    keyring: Keyring,
    after: uuid.UUID | None,
    now: datetime,
    actor: str,
    limit: int = CHUNK,
) -> RewrapChunk:
    """Re-wrap up to ``limit`` data keys not yet under the current master key, after ``after``.

    Raises ``DataKeyUnreadable`` (naming the subject by its UUID only) when no loaded master key
    opens a key: the old key must stay loaded until the rotation is done.
    """
    stmt = (
        select(Subject.id, Subject.data_key_wrapped)
        .where(Subject.data_key_wrapped.is_not(None), not_(_under_current(keyring)))
        .order_by(Subject.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Subject.id > after)
    rows = session.execute(stmt).all()
    rewrapped = 0
    for subject_id, wrapped in rows:
        rewrapped += _swap(session, keyring, subject_id, cast(bytes, wrapped))
    done = RewrapChunk(rewrapped, len(rows) - rewrapped, rows[-1][0] if rows else None)
    if rows:
        audit_service.record(
            session, actor=actor, action="keys.master.rewrapped", now=now, outcome="recorded",
            detail={"rewrapped": done.rewrapped, "skipped": done.skipped,
                    "master_key_id": keyring.key_id},
        )  # fmt: skip
    return done


def _swap(session: Session, keyring: Keyring, subject_id: uuid.UUID, wrapped: bytes) -> int:
    try:
        fresh = keyring.wrap(keyring.unwrap(wrapped))
    except DecryptionFailed as e:
        raise DataKeyUnreadable(
            f"the data key of subject {subject_id} opens under no loaded master key: keep the "
            "old key in the key set until the rotation is done"
        ) from e
    result = session.execute(
        update(Subject)
        .where(Subject.id == subject_id, Subject.data_key_wrapped == wrapped)
        .values(data_key_wrapped=fresh)
    )
    return int(cast("CursorResult[Any]", result).rowcount)
