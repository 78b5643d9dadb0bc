"""Checkpoints: signed audit heads appended to a JSON-lines file outside the database (TH-SEC-01).

A hash chain inside the database proves nothing to someone who can rewrite the whole table: they
can delete the newest entries and move the head back, or edit an entry and recompute every later
hash. A checkpoint is the head (seq, hash) signed with the Ed25519 key of ``audit.signing``,
appended to a file the database cannot reach; ``verify`` then checks that the chain still holds
each checkpointed hash at its seq. Receipts carry the newest checkpoint of their time as a second,
independent copy (``service.current_head``).

Appends are safe across processes: the file is opened with ``O_APPEND``, locked with ``flock``
while the last line is read and the new one written (one ``write``, then ``fsync``), so lines are
whole and their seqs never go down. ``Anchor.tick`` is cheap enough to call every second: when the
head has not moved since its last checkpoint it reads one row and touches no file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit.chain import appended_in, entry_hashes, read_head
from rujai.audit.errors import AuditHistoryRewritten
from rujai.audit.schemas import SignedHead
from rujai.audit.signing import Signer, load_or_create_signer
from rujai.config import AuditSettings

logger = logging.getLogger(__name__)
TAIL_BLOCK = 4096
ANCHOR_INFO_KEY = "rujai.audit.anchor"  # an ``Anchor`` in the session's info (``current_head``)


def checkpoint(session: Session, signer: Signer, path: Path, now: datetime) -> SignedHead | None:
    """Append a signed head to ``path`` if the log grew since its last line; return the newest.

    Idempotent: with no new entries it writes nothing and returns the last line (None while the
    log is empty). It never signs over history that contradicts the last checkpoint: it raises
    ``AuditHistoryRewritten`` instead. ``session`` must not have appended to the log in its open
    transaction (a head that may still roll back must not be signed).
    """
    if appended_in(session):
        raise ValueError("checkpoint needs a session without uncommitted audit entries")
    with _locked(path) as fd:
        last = _parse_last(_tail_lines(fd))
        seq, chain_hash = read_head(session)
        if last is not None and seq == last.seq and chain_hash != last.hash:
            raise AuditHistoryRewritten(f"the head at #{seq} differs from its checkpoint")
        if seq == 0 or (last is not None and seq <= last.seq):
            return last  # nothing new (or an older snapshot than the file: verify will judge)
        if last is not None:
            _check_still_there(session, last)
        at = max(now, last.at) if last is not None else now
        head = signer.sign_head(seq=seq, chain_hash=chain_hash, at=at)
        _append_line(fd, head)
        return head


def latest_checkpoint(path: Path) -> SignedHead | None:
    """Return the newest readable checkpoint in ``path``; None if there is none (or no file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return _parse_last(_tail_lines(fd))
    finally:
        os.close(fd)


def read_checkpoints(path: Path) -> Iterator[tuple[int, SignedHead | None]]:
    """Yield (line number, head) for each non-blank line; head is None when it is unreadable."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, _parse(line)


class Anchor:
    """Writes checkpoints now and then and remembers the newest; for the server's writer thread.

    ``tick`` is safe to call every second from one thread while request threads call ``latest``.
    """

    def __init__(self, signer: Signer, path: Path, *, every_s: float = 1.0) -> None:
        self.signer = signer
        self.path = path
        self.every_s = every_s
        self._lock = threading.Lock()
        self._latest: SignedHead | None = None
        self._read_at: float | None = None  # monotonic time the file was last read
        self._ticked_at: datetime | None = None
        self._refused: str | None = None  # the last refusal logged

    @classmethod
    def from_settings(cls, settings: AuditSettings) -> Anchor:
        """Return an anchor on the configured key (created if absent) and checkpoint file."""
        signer = load_or_create_signer(settings.signing_key_file)
        return cls(signer, settings.checkpoint_file, every_s=settings.checkpoint_every_s)

    def tick(self, session: Session, now: datetime, *, force: bool = False) -> SignedHead | None:
        """Checkpoint the head if ``every_s`` has passed (or ``force``) and it moved; newest head.

        A rewritten history is logged and not signed (``None`` is returned); nothing raises for it,
        so a background loop keeps running and ``verify`` reports the problem.
        """
        with self._lock:
            if not force and self._too_soon(now):
                return self._latest
            self._ticked_at = now
            latest = self._latest
            if latest is not None and read_head(session) == (latest.seq, latest.hash):
                return latest  # idle: one row read, no file touched
            try:
                self._remember(checkpoint(session, self.signer, self.path, now))
            except AuditHistoryRewritten as e:
                if e.message != self._refused:  # once per problem, not once per tick
                    logger.error(
                        "audit checkpoint refused: %s (run `rujai audit verify`)", e.message
                    )
                    self._refused = e.message
                return None
            return self._latest

    def latest(self) -> SignedHead | None:
        """Return the newest checkpoint, re-reading the file at most every ``every_s`` seconds."""
        with self._lock:
            return self._cached_or_read()

    def attach(self, factory: sessionmaker[Session]) -> None:
        """Make sessions of ``factory`` carry this anchor, so receipts embed its newest head."""
        attach_head_source(factory, self)

    def _too_soon(self, now: datetime) -> bool:
        last = self._ticked_at
        return last is not None and (now - last).total_seconds() < self.every_s

    def _cached_or_read(self) -> SignedHead | None:
        stale = self._read_at is None or time.monotonic() - self._read_at >= self.every_s
        if stale:
            self._remember(latest_checkpoint(self.path))
        return self._latest

    def _remember(self, head: SignedHead | None) -> None:
        self._read_at = time.monotonic()
        if head is not None and (self._latest is None or head.seq >= self._latest.seq):
            self._latest = head


class CheckpointFile:
    """Reads the newest checkpoint of a file: for processes that issue receipts but never sign."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def latest(self) -> SignedHead | None:
        """Return the newest checkpoint in the file (None if none)."""
        return latest_checkpoint(self.path)


def attach_head_source(factory: sessionmaker[Session], source: Anchor | CheckpointFile) -> None:
    """Make sessions of ``factory`` carry ``source`` (``audit.service.current_head`` reads it)."""
    info = factory.kw.setdefault("info", {})
    info[ANCHOR_INFO_KEY] = source


def _check_still_there(session: Session, last: SignedHead) -> None:
    """Raise unless the chain still holds the last checkpoint's hash at its seq."""
    stored = entry_hashes(session, [last.seq]).get(last.seq)
    if stored != last.hash:
        raise AuditHistoryRewritten(
            f"entry #{last.seq} no longer matches the checkpoint signed at {last.at.isoformat()}"
        )


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    """Open ``path`` for appending (creating it) and hold an exclusive lock until closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def _append_line(fd: int, head: SignedHead) -> None:
    """Write one whole line in one ``write`` call and flush it to disk."""
    line = head.model_dump_json().encode() + b"\n"
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        line = b"\n" + line  # a torn last line (a crash mid-write) stays a line of its own
    os.write(fd, line)
    os.fsync(fd)


def _tail_lines(fd: int) -> list[bytes]:
    """Return the last complete non-blank lines of the file, reading a few KB from its end."""
    size = os.fstat(fd).st_size
    block = TAIL_BLOCK
    while True:
        start = max(0, size - block)
        lines = os.pread(fd, size - start, start).split(b"\n")
        if start > 0:
            lines = lines[1:]  # the first may be cut
        found = [line for line in lines if line.strip()]
        if found or start == 0:
            return found
        block *= 4


def _parse_last(lines: list[bytes]) -> SignedHead | None:
    for line in reversed(lines):
        head = _parse(line)
        if head is not None:
            return head
    return None


def _parse(line: bytes) -> SignedHead | None:
    try:
        return SignedHead.model_validate_json(line)
    except ValidationError:
        return None
