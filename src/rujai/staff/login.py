"""Console sign-in: argon2id passwords, a per-account lock-out that holds under concurrency,
and a per-address throttle (TH-SEC-01).

Five wrong passwords in a row lock the account for 15 minutes. Each attempt is *claimed* first,
by one conditional UPDATE that counts it only while the account is not locked and has attempts
left, and is committed before the password is compared (``write_now``: the writer, in the
server); only a claimed attempt is compared. So forty concurrent wrong passwords are compared
five times, not forty. The comparison itself (argon2, slow on purpose) runs outside the writer.
A right password resets the count; the fifth wrong one locks the account. Failures are audited
even though the request that carried them fails (``db.keep_even_on_rollback``); where the claim
shares the caller's transaction (the CLI, tests), the failure keeps it (``db.KeepsWrites``).
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar, NoReturn

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from rujai import db
from rujai.audit import service as audit_service
from rujai.db import KeepsWrites, keep_even_on_rollback
from rujai.errors import AppError, Unauthorized
from rujai.kit.time import as_utc
from rujai.staff import service as staff_service
from rujai.staff.models import StaffUser
from rujai.staff.service import StaffRead

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
MAX_TRACKED_ADDRESSES = 10_000

# Runs a write in its own committed unit and returns its result (``Writer.run_sync``).
WriteNow = Callable[[Callable[[Session], Any]], Any]


class LoginFailed(Unauthorized):
    """Wrong username or password: one message for both, so names cannot be probed."""

    code = "login_failed"
    title = "Wrong username or password"


class AccountLocked(Unauthorized):
    """Too many wrong passwords in a row; the account is locked for a while (TH-SEC-01)."""

    code = "account_locked"
    title = "Account locked"


class WrongPassword(LoginFailed, KeepsWrites):
    """A wrong password whose claimed attempt stays counted (``db.KeepsWrites``)."""


class LockedNow(AccountLocked, KeepsWrites):
    """The fifth wrong password in a row: the account is locked from now (the count stays)."""


class TooManyAttempts(AppError):
    """Too many failed logins from one address (in-memory throttle)."""

    status: ClassVar[int] = 429
    code: ClassVar[str] = "too_many_attempts"
    title: ClassVar[str] = "Too many attempts"


@dataclass(frozen=True, slots=True)
class _Claim:
    staff_id: uuid.UUID
    username: str
    attempt: int  # the how-many-th attempt in a row this one is
    password_hash: str


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    write_now: WriteNow | None = None,
) -> StaffRead:
    """Check a password; at most five attempts in a row are compared, then 15 min of lock."""
    name = username.strip().lower()
    claim: _Claim | None = _write_now(session, write_now, partial(_claim, username=name, now=now))
    if claim is None:
        _refuse(session, name, password, now)
    if not staff_service.verify_password(claim.password_hash, password):
        _count_failure(session, claim, now)
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if staff_service.needs_rehash(claim.password_hash):
        values["password_hash"] = staff_service.hash_password(password)

    def write(s: Session) -> None:
        s.execute(update(StaffUser).where(StaffUser.id == claim.staff_id).values(**values))
        audit_service.record(
            s, actor=f"staff:{claim.username}", action="staff.login", now=now, outcome="ok"
        )

    db.write(session, write)  # staged on a read session: committed before the response
    read = staff_service.get(session, staff_id=claim.staff_id)
    return read.model_copy(update={k: v for k, v in values.items() if k != "password_hash"})


def _write_now(session: Session, write_now: WriteNow | None, work: Callable[[Session], Any]) -> Any:
    if write_now is not None:
        return write_now(work)
    if db.is_read_only(session):  # a wiring mistake: the claim must be committed first
        raise RuntimeError("authenticate on a read session needs write_now (the writer)")
    return work(session)


def _claim(session: Session, *, username: str, now: datetime) -> _Claim | None:
    """Count one attempt if the account is not locked and has one left (one statement)."""
    free = or_(StaffUser.locked_until.is_(None), StaffUser.locked_until <= now)
    row = session.execute(
        update(StaffUser)
        .where(StaffUser.username == username, StaffUser.failed_logins < MAX_FAILURES, free)
        .values(failed_logins=StaffUser.failed_logins + 1)
        .returning(
            StaffUser.id, StaffUser.username, StaffUser.failed_logins, StaffUser.password_hash
        )
        .execution_options(synchronize_session=False)
    ).first()
    return _Claim(row[0], row[1], row[2], row[3]) if row is not None else None


def _refuse(session: Session, username: str, password: str, now: datetime) -> NoReturn:
    """No attempt was claimed: an unknown name (the same work as a real one) or a locked one."""
    row = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    if row is None:
        staff_service.verify_password(staff_service.dummy_hash(), password)
        raise LoginFailed("wrong username or password")
    until = row.locked_until if row.locked_until is not None else now + LOCK_FOR
    raise AccountLocked(_locked_message(until, now))


def _count_failure(session: Session, claim: _Claim, now: datetime) -> NoReturn:
    locks = claim.attempt >= MAX_FAILURES

    def write(s: Session) -> None:
        if locks:
            s.execute(
                update(StaffUser)
                .where(StaffUser.id == claim.staff_id)
                .values(failed_logins=0, locked_until=now + LOCK_FOR)
            )
        outcome = "locked" if locks else "failed"
        actor = f"staff:{claim.username}"
        audit_service.record(s, actor=actor, action="staff.login", now=now, outcome=outcome)

    keep_even_on_rollback(session, write)
    if locks:
        raise LockedNow(_locked_message(now + LOCK_FOR, now))
    raise WrongPassword("wrong username or password")


def _locked_message(until: datetime, now: datetime) -> str:
    minutes = max(1, int((as_utc(until) - now).total_seconds() + 59) // 60)
    return (
        f"too many wrong passwords: the account is locked for {minutes} more minute(s) (TH-SEC-01)"
    )


class LoginThrottle:
    """Login attempts per client address in a sliding window, in memory (one per app).

    Complements the per-account lock-out: it slows down guessing across many usernames. The
    check and the count are one step under a lock (requests run in many threads).
    """

    def __init__(self, *, max_attempts: int = 30, window: timedelta = LOCK_FOR) -> None:
        self.max_attempts = max_attempts
        self.window = window
        self._attempts: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def attempt(self, address: str, now: datetime) -> None:
        """Count one login attempt from ``address``; raise ``TooManyAttempts`` over the limit."""
        with self._lock:
            if len(self._attempts) > MAX_TRACKED_ADDRESSES:
                self._forget_idle(now)
            recent = self._attempts.setdefault(address, deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.max_attempts:
                raise TooManyAttempts(
                    "too many sign-in attempts from this address; try again later (TH-SEC-01)"
                )
            recent.append(now)

    def _forget_idle(self, now: datetime) -> None:
        idle = [
            a for a, seen in self._attempts.items() if not seen or seen[-1] <= now - self.window
        ]
        for address in idle:
            del self._attempts[address]
