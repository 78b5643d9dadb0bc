"""Verifying the hash chain: recompute every hash, follow every link, find gaps and a moved head."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from rujai.audit.chain import ENTRY_COLUMNS, GENESIS_HASH, VERIFY_BATCH, entry_hash, read_head
from rujai.audit.models import AuditEntry
from rujai.audit.schemas import AuditVerifyReport


def verify_chain(session: Session, *, batch_size: int = VERIFY_BATCH) -> AuditVerifyReport:
    """Walk the chain in seq order, in batches, and report the first broken or missing entry.

    The walk stops at the head as read when it starts, so appends made meanwhile are not mistaken
    for tampering; a final check still catches entries that no head ever covered.
    """
    head_seq, head_hash = read_head(session)
    last_seq, last_hash, checked = 0, GENESIS_HASH, 0
    for row in _entries_up_to(session, head_seq, batch_size):
        problem = _check_entry(row, expected_seq=last_seq + 1, prev_hash=last_hash)
        if problem is not None:
            return _broken(checked, *problem)
        last_seq, last_hash, checked = row.seq, row.hash, checked + 1
    if last_seq < head_seq:
        missing = last_seq + 1
        return _broken(checked, missing, f"entry #{missing} is missing (head is at #{head_seq})")
    if last_hash != head_hash:
        return _broken(checked, last_seq, "head hash does not match the last entry's hash")
    return _check_nothing_past_head(session, checked)


def _check_entry(row: Row[Any], *, expected_seq: int, prev_hash: str) -> tuple[int, str] | None:
    if row.seq != expected_seq:
        return expected_seq, f"entry #{expected_seq} is missing (next entry is #{row.seq})"
    if row.prev_hash != prev_hash:
        return row.seq, "prev_hash does not match the previous entry's hash"
    fields = {
        k: getattr(row, k) for k in ("at", "actor", "action", "subject_id", "purpose", "outcome")
    }
    recomputed = entry_hash(seq=row.seq, prev_hash=row.prev_hash, detail=row.detail or {}, **fields)
    if recomputed != row.hash:
        return row.seq, "hash does not match the entry's content (entry altered)"
    return None


def _entries_up_to(session: Session, head_seq: int, batch_size: int) -> Iterator[Row[Any]]:
    """Yield entries with seq <= ``head_seq`` in seq order, ``batch_size`` rows per query."""
    last_seq = 0
    while True:
        stmt = (
            select(*ENTRY_COLUMNS)
            .where(AuditEntry.seq > last_seq, AuditEntry.seq <= head_seq)
            .order_by(AuditEntry.seq)
            .limit(batch_size)
        )
        rows = session.execute(stmt).all()
        yield from rows
        if len(rows) < batch_size:
            return
        last_seq = rows[-1].seq


def _check_nothing_past_head(session: Session, checked: int) -> AuditVerifyReport:
    """Flag entries beyond the head (a head rolled back to hide them).

    The newest entry is read before the head: an entry and its head update commit together, so a
    legitimate append seen by the first query is always covered by the head the second one reads.
    """
    newest = session.execute(select(func.max(AuditEntry.seq))).scalar_one_or_none()
    head_seq, _ = read_head(session)
    if newest is not None and newest > head_seq:
        first = head_seq + 1
        return _broken(checked, first, f"entry #{first} is past the head (head is at #{head_seq})")
    return AuditVerifyReport(ok=True, checked=checked)


def _broken(checked: int, seq: int, problem: str) -> AuditVerifyReport:
    return AuditVerifyReport(ok=False, checked=checked, first_bad_seq=seq, problem=problem)
