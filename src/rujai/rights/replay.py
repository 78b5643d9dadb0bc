"""Finishing erasures from the erasure log: after a restore, after a crash (TH-DSR-04).

The log (``rights.erasure_log``) names every erasure begun. An entry has work left when a profile
it names still exists with its data key (a restored backup older than the erasure, or an erasure
whose transaction a crash cut off) or when one of its blind indexes is not a suppression entry. For
each such entry, in one transaction:

1. its request, if the restored database still has it waiting (``verified``), is carried out as
   staff would have (``processing.process``: the subject told, the cascade, ``completed``); one
   left ``in_progress`` is erased and completed;
2. every profile it names that still exists is erased (``erasure.erase``: the whole cascade,
   audited, legal holds kept);
3. every blind index it names is kept as a suppression entry.

Replaying is idempotent: an entry with nothing left costs two reads, and an interrupted replay is
continued by running it again. Replays do not append to the log (the entry is already there).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.profiles import erasure as profiles_erasure, suppression
from rujai.rights import erasure, processing, service
from rujai.rights.erasure_log import ERASURE_LOG_INFO_KEY, ErasureEntry, ErasureLog
from rujai.rights.models import RightsRequest
from rujai.writer import session_scope


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay found and did: counts only."""

    entries: int
    replayed: int
    erased: int
    requests_completed: int
    suppressed: int


@dataclass(frozen=True, slots=True)
class _Context:
    keyring: Keyring
    policy: Policy
    now: datetime
    actor: str


def pending(session: Session, entries: Sequence[ErasureEntry]) -> list[ErasureEntry]:
    """Return the entries with work left: a profile still there, or a blind index unsuppressed."""
    live = profiles_erasure.unerased(
        session, subject_ids=[sid for entry in entries for sid in entry.subjects]
    )
    pairs = {pair for entry in entries for pair in entry.suppress}
    kept = suppression.suppressed_many(session, pairs)
    return [
        entry
        for entry in entries
        if live.intersection(entry.subjects) or not kept.issuperset(entry.suppress)
    ]


def replay(
    factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    policy: Policy,
    log: ErasureLog,
    clock: Callable[[], datetime],
    actor: str,
) -> ReplayReport:
    """Finish every erasure of the log that the database does not show done; report counts."""
    entries = list(log.entries())
    with session_scope(factory) as session:
        todo = pending(session, entries)
    erased = completed = suppressed = 0
    for entry in todo:
        with session_scope(factory) as session:
            session.info.pop(ERASURE_LOG_INFO_KEY, None)  # the entry is in the log already
            done = _finish(session, entry, _Context(keyring, policy, clock(), actor))
        erased, completed, suppressed = (
            erased + done[0], completed + done[1], suppressed + done[2]
        )  # fmt: skip
    return ReplayReport(len(entries), len(todo), erased, completed, suppressed)


def _finish(session: Session, entry: ErasureEntry, ctx: _Context) -> tuple[int, int, int]:
    """Erase what is left of one entry; return (profiles erased, requests completed, suppressed)."""
    before = profiles_erasure.unerased(session, subject_ids=entry.subjects)
    completed = _finish_request(session, entry.request_id, before, ctx)
    for sid in reversed(entry.subjects):  # the erased subject last in the entry: it goes first
        if profiles_erasure.unerased(session, subject_ids=[sid]):
            erasure.erase(
                session, keyring=ctx.keyring, policy=ctx.policy, subject_id=sid,
                request_id=entry.request_id, now=ctx.now, actor=ctx.actor,
            )  # fmt: skip
    left = profiles_erasure.unerased(session, subject_ids=entry.subjects)
    added = suppression.suppress(
        session, list(entry.suppress), request_id=entry.request_id, now=ctx.now
    )
    return len(before - left), completed, added


def _finish_request(
    session: Session, request_id: uuid.UUID | None, live: set[uuid.UUID], ctx: _Context
) -> int:
    """Carry out the entry's request if it still waits for this erasure; return 1 if done."""
    row = session.get(RightsRequest, request_id) if request_id else None
    if row is None or row.kind != "erasure" or row.subject_id not in live:
        return 0
    if row.status == "verified":
        processing.process(
            session, keyring=ctx.keyring, policy=ctx.policy, request_id=row.id, now=ctx.now,
            actor=ctx.actor,
        )  # fmt: skip
        return 1
    if row.status != "in_progress" or row.subject_id is None:
        return 0
    report = erasure.erase(
        session, keyring=ctx.keyring, policy=ctx.policy, subject_id=row.subject_id,
        request_id=row.id, now=ctx.now, actor=ctx.actor,
    )  # fmt: skip
    row.subject_id, row.result = None, report.model_dump(mode="json")
    service.move(session, row, "completed", now=ctx.now, actor=ctx.actor,
                 detail={"is_complete": report.is_complete, "replayed": True})  # fmt: skip
    return 1
