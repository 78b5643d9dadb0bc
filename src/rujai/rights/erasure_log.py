"""The erasure log: an append-only file, outside the database, naming every erasure begun.

``rights.erasure.erase`` appends one line before it deletes anything, and ``fsync``s it, so every
erasure that may have committed has its line: a database restored from a backup taken before it,
or an erasure cut off by a crash, can be told apart and finished by ``rights.replay`` before the
server serves (``rujai restore``, ``rujai rights resume``, ``rujai serve`` on start). A line
(JSON) holds what suppression keeps and what the audit log keeps, nothing more: the time, the
request id, the erased profiles' pseudonymous UUIDs and their keyed blind indexes::

    {"at": "...", "request_id": "..." | null, "subjects": ["<uuid>", ...],
     "suppress": [["email", "<blind index>"], ...]}

The log lives beside the audit checkpoints (``RUJAI_RIGHTS__ERASURE_LOG_FILE``), never in a backup,
and must be kept as long as any backup may be restored. Appends are whole lines under ``flock``
(one ``write``, then ``fsync``), safe across the processes of one host.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from sqlalchemy.orm import Session, sessionmaker

ERASURE_LOG_INFO_KEY = "rujai.rights.erasure_log"


class ErasureLogUnreadable(ValueError):
    """A line of the erasure log that is not a whole entry (other than a torn last line)."""


@dataclass(frozen=True, slots=True)
class ErasureEntry:
    """One erasure begun: when, for which request, which profiles, which blind indexes."""

    __personal__: ClassVar[bool] = True  # pseudonymous ids and blind indexes of a person

    at: datetime
    request_id: uuid.UUID | None
    subjects: tuple[uuid.UUID, ...]
    suppress: tuple[tuple[str, str], ...]

    def line(self) -> bytes:
        data = {
            "at": self.at.isoformat(),
            "request_id": str(self.request_id) if self.request_id else None,
            "subjects": [str(sid) for sid in self.subjects],
            "suppress": [list(pair) for pair in self.suppress],
        }
        return (json.dumps(data, separators=(",", ":")) + "\n").encode()

    @classmethod
    def parse(cls, line: bytes) -> ErasureEntry:
        data = json.loads(line)
        request = data.get("request_id")
        return cls(
            at=datetime.fromisoformat(data["at"]),
            request_id=uuid.UUID(request) if request else None,
            subjects=tuple(uuid.UUID(sid) for sid in data["subjects"]),
            suppress=tuple((str(kind), str(blind)) for kind, blind in data["suppress"]),
        )


@dataclass(frozen=True)
class ErasureLog:
    """The log file at ``path``."""

    path: Path

    def append(self, entry: ErasureEntry) -> None:
        """Append one whole line and make it durable before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, entry.line())
            os.fsync(fd)
        finally:
            os.close(fd)

    def entries(self) -> Iterator[ErasureEntry]:
        """Yield every entry in order; a torn last line (a crash while appending) is skipped."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        lines = data.split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield ErasureEntry.parse(line)
            except (ValueError, KeyError, TypeError) as e:
                if number == len(lines):  # no newline after it: the append never finished
                    return
                raise ErasureLogUnreadable(f"{self.path} line {number} is not an entry") from e

    def count(self) -> int:
        """Return how many entries the log holds."""
        return sum(1 for _ in self.entries())


def attach(factory: sessionmaker[Session], log: ErasureLog) -> None:
    """Make erasures in sessions of ``factory`` append to ``log`` before they delete anything."""
    factory.kw.setdefault("info", {})[ERASURE_LOG_INFO_KEY] = log


def record(
    session: Session,
    *,
    subjects: Sequence[uuid.UUID],
    suppress: Sequence[tuple[str, str]],
    request_id: uuid.UUID | None,
    now: datetime,
) -> bool:
    """Append an entry to the session's log, if it has one; return True if one was written."""
    log = session.info.get(ERASURE_LOG_INFO_KEY)
    if not isinstance(log, ErasureLog):
        return False
    log.append(ErasureEntry(now, request_id, tuple(subjects), tuple(dict.fromkeys(suppress))))
    return True
