"""An attacker with write access to the database and the public ``entry_hash``: rewrite history.

Each function reads the whole chain, changes it, recomputes every seq, prev_hash and hash, and moves
the head, so the chain is consistent with itself again (TH-SEC-01: only signed heads catch this).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from rujai.audit import service as audit_service
from rujai.audit.models import AuditEntry, AuditHead

Row = dict[str, Any]
FIELDS = ("at", "actor", "action", "subject_id", "purpose", "outcome", "detail")


def rewrite(engine: Engine, change: Callable[[list[Row]], list[Row]]) -> None:
    """Replace the chain by ``change(entries)``, rehashed and renumbered from 1, head moved."""
    with engine.begin() as conn:
        rows = [
            {f: getattr(r, f) for f in FIELDS}
            for r in conn.execute(select(AuditEntry).order_by(AuditEntry.seq))
        ]
        conn.execute(delete(AuditEntry))
        conn.execute(delete(AuditHead))
        prev, seq = audit_service.GENESIS_HASH, 0
        for fields in change(rows):
            seq += 1
            digest = audit_service.entry_hash(seq=seq, prev_hash=prev, **fields)
            conn.execute(insert(AuditEntry).values(seq=seq, prev_hash=prev, hash=digest, **fields))
            prev = digest
        conn.execute(insert(AuditHead).values(id=1, seq=seq, hash=prev))


def edit(index: int, **values: Any) -> Callable[[list[Row]], list[Row]]:
    """Change fields of the entry at 1-based ``index``."""
    return lambda rows: [{**r, **values} if i == index else r for i, r in enumerate(rows, 1)]


def drop(index: int) -> Callable[[list[Row]], list[Row]]:
    """Remove the entry at 1-based ``index`` (later entries are renumbered)."""
    return lambda rows: [r for i, r in enumerate(rows, 1) if i != index]


def keep_first(count: int) -> Callable[[list[Row]], list[Row]]:
    """Truncate to the first ``count`` entries."""
    return lambda rows: rows[:count]


def insert_at(index: int) -> Callable[[list[Row]], list[Row]]:
    """Insert a forged copy of the entry at ``index`` before it."""
    return lambda rows: [*rows[: index - 1], {**rows[index - 1], "actor": "forged"},
                         *rows[index - 1 :]]  # fmt: skip
