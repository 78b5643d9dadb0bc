"""Audit test helpers: build a chain, and tamper with stored rows behind the service's back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.audit.models import AuditEntry, AuditHead

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)
SUBJECT = uuid.UUID("6f1c1b0e-3f1e-4c55-9b1a-2d9a6d2a0c01")


def build_chain(session: Session, count: int, *, start: datetime = T0) -> list[int]:
    """Append ``count`` varied entries and return their seqs."""
    seqs = []
    for i in range(count):
        seqs.append(
            audit_service.record(
                session,
                actor="key:00000000-0000-0000-0000-00000000000a" if i % 2 else "system",
                action="policy.decide" if i % 3 else "consent.grant",
                now=start + timedelta(seconds=i, microseconds=i),
                subject_id=SUBJECT if i % 2 == 0 else None,
                purpose="recommendations" if i % 4 == 0 else None,
                outcome="allow" if i % 5 else "deny",
                detail={"i": i, "reason": "ok", "counts": {"accepted": i, "dropped": 0}},
            )
        )
    return seqs


def tamper(target: Engine | Connection, seq: int, /, **values: Any) -> None:
    """UPDATE one stored entry directly, as an attacker with database access would."""
    stmt = update(AuditEntry).where(AuditEntry.seq == seq).values(**values)
    _run(target, stmt)


def delete_entry(target: Engine | Connection, seq: int) -> None:
    """DELETE one stored entry directly."""
    _run(target, delete(AuditEntry).where(AuditEntry.seq == seq))


def set_head(target: Engine | Connection, **values: Any) -> None:
    """UPDATE the head row directly."""
    _run(target, update(AuditHead).where(AuditHead.id == 1).values(**values))


def _run(target: Engine | Connection, stmt: Any) -> None:
    if isinstance(target, Engine):
        with target.begin() as conn:
            conn.execute(stmt)
    else:
        target.execute(stmt)
