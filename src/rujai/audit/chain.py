"""The hash chain itself: how an entry is hashed, and reading the head and stored hashes.

The lowest module of the audit package: ``service`` appends with it, ``checker`` walks the chain
with it, ``anchor`` and ``anchor_check`` compare signed heads with it. It imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from rujai.audit.detail import canonical_numbers, utc
from rujai.audit.models import AuditEntry, AuditHead
from rujai.kit.crypto import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64
HEAD_ID = 1
VERIFY_BATCH = 1000
# The session's info key for the head as its open transaction left it: (transaction, seq, hash).
HEAD_CACHE = "rujai.audit.head"

ENTRY_TABLE: Table = AuditEntry.__table__  # type: ignore[assignment]  # a Table at runtime
HEAD_TABLE: Table = AuditHead.__table__  # type: ignore[assignment]  # a Table at runtime
ENTRY_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.at,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.subject_id,
    AuditEntry.purpose,
    AuditEntry.outcome,
    AuditEntry.detail,
    AuditEntry.prev_hash,
    AuditEntry.hash,
)


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject_id: UUID | None,
    purpose: str | None,
    outcome: str | None,
    detail: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """Return the SHA-256 (hex) of an entry's canonical JSON, chained to ``prev_hash``."""
    payload = {
        "seq": seq,
        "at": utc(at).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject_id": str(subject_id) if subject_id is not None else None,
        "purpose": purpose,
        "outcome": outcome,
        "detail": canonical_numbers(detail),
        "prev_hash": prev_hash,
    }
    return sha256_hex(canonical_json(payload))


def read_head(session: Session) -> tuple[int, str]:
    """Return the head's (seq, hash) without locking it; (0, genesis) when there is none."""
    head = session.execute(
        select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash).where(HEAD_TABLE.c.id == HEAD_ID)
    ).first()
    return (int(head.seq), str(head.hash)) if head is not None else (0, GENESIS_HASH)


def entry_hashes(session: Session, seqs: Sequence[int]) -> dict[int, str]:
    """Return the stored hash of each of ``seqs`` that exists."""
    found: dict[int, str] = {}
    for start in range(0, len(seqs), VERIFY_BATCH):
        chunk = list(seqs[start : start + VERIFY_BATCH])
        rows = session.execute(
            select(ENTRY_TABLE.c.seq, ENTRY_TABLE.c.hash).where(ENTRY_TABLE.c.seq.in_(chunk))
        )
        found.update({int(row.seq): str(row.hash) for row in rows})
    return found


def appended_in(session: Session) -> bool:
    """Return True if this transaction has appended or queued entries not yet committed."""
    cached = session.info.get(HEAD_CACHE)
    in_this = cached is not None and cached[0] is session.get_transaction()
    return in_this
