"""The audit domain's public API: append to, list and verify the hash-chained log (TH-SEC-01).

Each entry's hash covers its own fields and the previous entry's hash, so editing, deleting or
reordering any entry breaks the chain there and ``verify`` names the first broken or missing entry.
The head row (id=1) holds the last seq and hash; the first append of a transaction locks it, so
concurrent appends stay gapless. In the server every append happens in the writer's batch
(``rujai.writer``): entries recorded on a request's read session are deferred and chained, all of
a batch's at once, in one insert under one head lock per batch, never one lock per request.

Entries refer to subjects only by their internal, pseudonymous UUID and ``detail`` refuses keys that
look like personal data. The log is therefore *not* erased by subject (TH-DSR-04 erasure removes the
personal data elsewhere; the accountability record stays and the chain stays verifiable).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rujai.audit.anchor import ANCHOR_INFO_KEY
from rujai.audit.anchor_check import Anchors, verify_anchored
from rujai.audit.chain import (
    ENTRY_COLUMNS,
    ENTRY_TABLE,
    GENESIS_HASH,
    HEAD_CACHE,
    HEAD_ID,
    HEAD_TABLE,
    VERIFY_BATCH,
    appended_in,
    entry_hash,
    entry_hashes,
    read_head,
)
from rujai.audit.checker import verify_chain
from rujai.audit.detail import entry_fields
from rujai.audit.models import AuditEntry
from rujai.audit.schemas import AuditEntryRead, AuditVerifyReport, SignedHead
from rujai.db import Deferred, defer, is_read_only, register_flusher
from rujai.errors import Invalid

MAX_LIST_LIMIT = 500
DETACHED_LOCK_WAIT_MS = 3000

# Prebuilt statements: building .values() per call costs more than the round trip itself.
_INSERT_ENTRY = insert(ENTRY_TABLE)
_MOVE_HEAD = (
    update(HEAD_TABLE)
    .where(HEAD_TABLE.c.id == HEAD_ID)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_LOCK_HEAD_SQLITE = (  # a write, so SQLite's write lock is taken before the head is read
    update(HEAD_TABLE)
    .where(HEAD_TABLE.c.id == HEAD_ID)
    .values(seq=HEAD_TABLE.c.seq)
    .returning(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash)
)
_LOCK_HEAD = (
    select(HEAD_TABLE.c.seq, HEAD_TABLE.c.hash).where(HEAD_TABLE.c.id == HEAD_ID).with_for_update()
)
_NEW_HEAD = {"id": HEAD_ID, "seq": 0, "hash": GENESIS_HASH}
_CREATE_HEAD = {  # insert-or-ignore, safe against two creators racing
    "postgresql": postgresql.insert(HEAD_TABLE).on_conflict_do_nothing(index_elements=["id"]),
    "sqlite": sqlite.insert(HEAD_TABLE).on_conflict_do_nothing(index_elements=["id"]),
}
_BATCH = "rujai.audit.batch"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    now: datetime,
    subject_id: UUID | None = None,
    purpose: str | None = None,
    outcome: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry in the caller's transaction and return its seq (TH-SEC-01).

    Inside ``batched`` the call is counted instead, and the batch writes one entry at its end.
    On a request's read session the entry is checked now and deferred to the writer, which
    chains the entries of its whole batch at once; the call returns 0 (its seq is not known yet).
    """
    batch: Counter[str] | None = session.info.get(_BATCH)
    if batch is not None:
        batch[action] += 1
        return 0
    fields = entry_fields(actor, action, now, subject_id, purpose, outcome, detail)
    if is_read_only(session):  # a request's read session: the writer appends it with its batch
        defer(session, Deferred(DEFERRED_KIND, fields))
        return 0
    return _append(session, [fields])


def _append(session: Session, entries: Sequence[dict[str, Any]]) -> int:
    """Chain ``entries`` after the head, in order, in one insert; move the head; return its seq."""
    seq, prev = _head(session)
    rows = []
    for fields in entries:
        seq += 1
        digest = entry_hash(seq=seq, prev_hash=prev, **fields)
        rows.append({"seq": seq, "prev_hash": prev, "hash": digest, **fields})
        prev = digest
    session.execute(_INSERT_ENTRY, rows if len(rows) > 1 else rows[0])
    session.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    session.info[HEAD_CACHE] = (session.get_transaction(), seq, prev)
    return seq


DEFERRED_KIND = "audit"
# The writer's flusher: a batch's deferred entries, chained in one insert under one head lock.
register_flusher(DEFERRED_KIND, _append)


@contextmanager
def batched(session: Session, *, actor: str, action: str, now: datetime) -> Iterator[None]:
    """Audit everything inside as ONE entry with counts per action (one operation, one entry).

    For bulk operations such as seeding or imports, where one entry per row would be noise.
    """
    counts: Counter[str] = Counter()
    session.info[_BATCH] = counts
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)
    tally = [[name, n] for name, n in sorted(counts.items())]  # actions as values, not keys
    record(session, actor=actor, action=action, now=now, detail={"counts": tally})


def _head(session: Session) -> tuple[int, str]:
    """The head as this transaction left it, else lock and read it (locked until commit)."""
    cached = session.info.get(HEAD_CACHE)
    if cached is not None and cached[0] is session.get_transaction():
        return int(cached[1]), str(cached[2])
    return _lock_head(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_head(session: Session, _previous: Any) -> None:
    session.info.pop(HEAD_CACHE, None)


@event.listens_for(Session, "after_commit")
def _forget_head_on_commit(session: Session) -> None:
    session.info.pop(HEAD_CACHE, None)


def list_entries(
    session: Session,
    *,
    subject_id: UUID | None = None,
    action: str | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[AuditEntryRead]:
    """Return entries newest first, optionally for one subject or action, before a seq."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIST_LIMIT}", field="limit")
    stmt = select(*ENTRY_COLUMNS).order_by(AuditEntry.seq.desc()).limit(limit)
    if subject_id is not None:
        stmt = stmt.where(AuditEntry.subject_id == subject_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    if before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    return [AuditEntryRead.model_validate(row._mapping) for row in session.execute(stmt)]


def verify(
    session: Session,
    *,
    batch_size: int = VERIFY_BATCH,
    anchors: Anchors | None = None,
) -> AuditVerifyReport:
    """Walk the chain and report the first broken or missing entry (see ``audit.checker``).

    With ``anchors`` the chain is also checked against signed checkpoints and receipt heads
    (``audit.anchor_check``): that is what catches truncation and wholesale rewrites.
    """
    report = verify_chain(session, batch_size=batch_size)
    return report if anchors is None else verify_anchored(session, report, anchors)


def current_head(session: Session) -> SignedHead | None:
    """Return the newest signed checkpoint of the anchor attached to the session, if any.

    Receipts carry it (``audit.anchor.Anchor.attach`` puts the anchor in the factory's info).
    """
    source = session.info.get(ANCHOR_INFO_KEY)
    return source.latest() if source is not None else None


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the head row, creating it first if missing; return its (seq, hash). One statement.

    SQLite ignores FOR UPDATE: there a no-op UPDATE ... RETURNING takes the database's write lock
    before the head is read, which is what serialises appends.
    """
    dialect = session.get_bind().dialect.name
    stmt = _LOCK_HEAD_SQLITE if dialect == "sqlite" else _LOCK_HEAD
    head = session.execute(stmt).first()
    if head is None:
        _insert_head_if_missing(session, dialect)
        head = session.execute(stmt).one()
    return int(head.seq), str(head.hash)


def _insert_head_if_missing(session: Session, dialect: str) -> None:
    """Insert head id=1 unless present (insert-or-ignore); safe against two creators racing."""
    session.execute(_CREATE_HEAD[dialect], _NEW_HEAD)  # rujai runs on SQLite and PostgreSQL


__all__: Sequence[str] = (
    "GENESIS_HASH",
    "appended_in",
    "current_head",
    "entry_hash",
    "entry_hashes",
    "list_entries",
    "read_head",
    "record",
    "verify",
)
