"""Master-key rotation, online: a new key set, re-wrapping in chunks, retiring the old key.

1. ``new_master`` writes a key set whose master key is new and whose previous key is the old one
   (``kit.keyset``); the server(s) restart on it: new data keys are wrapped under the new key,
   and keys wrapped under either open.
2. ``rotate`` re-wraps every data key still under an old key, one chunk per transaction, while
   the server keeps serving (``profiles.rewrap``: compare-and-swap, so an erasure meanwhile is
   never undone). A stopped run is continued by running it again.
3. ``retire`` writes the key set without the old key, and refuses while any data key is still
   wrapped under it. Backups taken before the rotation need the old key: they become
   unreadable with it (and so do the subjects erased since, in them).

Each step is audited with counts and key ids only (a key id is a fingerprint, not the key).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from rujai.errors import Conflict
from rujai.kit import keyset
from rujai.kit.crypto import Keyring
from rujai.profiles import rewrap
from rujai.writer import session_scope


class RotationUnderWay(Conflict):
    """A new master key was asked for while the previous rotation is not finished."""


class OldKeyStillInUse(Conflict):
    """The old master key cannot be destroyed: some data keys are still wrapped under it."""


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What one ``rotate`` run did and what is left (counts and key ids only)."""

    master_key_id: str
    rewrapped: int
    skipped: int
    chunks: int
    remaining: int

    @property
    def is_done(self) -> bool:
        return self.remaining == 0


def census(factory: sessionmaker[Session], *, keyring: Keyring) -> rewrap.KeyCensus:
    """Count the data keys under the current master key and under others."""
    with session_scope(factory) as session:
        return rewrap.census(session, keyring=keyring)


def new_master(
    factory: sessionmaker[Session], *, keyring: Keyring, out: Path, now: datetime, actor: str
) -> Keyring:
    """Write a key set with a new master key (the current one kept as previous) to ``out``."""
    if keyring.previous:
        raise RotationUnderWay(
            f"master key {keyring.key_id} still has previous key(s) "
            f"{', '.join(keyring.previous_ids)}: finish `rujai keys rotate-master` and "
            "`rujai keys destroy-old-master` first"
        )
    fresh = keyset.with_new_master(keyring)
    with session_scope(factory) as session:
        keyset.write(out, fresh)  # the file first: no entry for a key set that was not written
        _audit(session, "keys.master.created", now, actor, master_key_id=fresh.key_id,
               previous_key_ids=list(fresh.previous_ids))  # fmt: skip
    return fresh


def rotate(
    factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    clock: Callable[[], datetime],
    actor: str,
    chunk: int = rewrap.CHUNK,
    max_chunks: int | None = None,
) -> RotationReport:
    """Re-wrap data keys under the current master key, chunk by chunk; resumable by a re-run."""
    after: uuid.UUID | None = None
    rewrapped = skipped = chunks = 0
    while max_chunks is None or chunks < max_chunks:
        with session_scope(factory) as session:
            done = rewrap.rewrap_chunk(
                session, keyring=keyring, after=after, now=clock(), actor=actor, limit=chunk
            )
        if done.last_id is None:
            break
        after, chunks = done.last_id, chunks + 1
        rewrapped, skipped = rewrapped + done.rewrapped, skipped + done.skipped
    left = census(factory, keyring=keyring).other
    report = RotationReport(keyring.key_id, rewrapped, skipped, chunks, left)
    if report.is_done:
        with session_scope(factory) as session:
            _audit(session, "keys.master.rotated", clock(), actor, master_key_id=keyring.key_id,
                   rewrapped=rewrapped, previous_key_ids=list(keyring.previous_ids))  # fmt: skip
    return report


def retire(
    factory: sessionmaker[Session], *, keyring: Keyring, out: Path, now: datetime, actor: str
) -> Keyring:
    """Write the key set without its old master keys; refuse while any data key needs them."""
    with session_scope(factory) as session:
        counted = rewrap.census(session, keyring=keyring)
        if counted.other:
            raise OldKeyStillInUse(
                f"{counted.other} data key(s) are not wrapped under master key "
                f"{keyring.key_id} yet: run `rujai keys rotate-master` until none is left"
            )
        kept = keyset.without_previous(keyring)
        keyset.write(out, kept)
        _audit(session, "keys.master.retired", now, actor, master_key_id=keyring.key_id,
               retired_key_ids=list(keyring.previous_ids))  # fmt: skip
    return kept


def _audit(session: Session, action: str, now: datetime, actor: str, **detail: object) -> None:
    audit_service.record(
        session, actor=actor, action=action, now=now, outcome="recorded", detail=detail
    )
