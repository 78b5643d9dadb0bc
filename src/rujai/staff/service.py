"""Staff accounts of the console: roles, argon2 passwords, login with lock-out (TH-SEC-01).

Owns: staff_user (``web.staff_models``). Roles follow least privilege: a ``marketer`` sees the
dashboard, offers and previews; a ``dpo`` sees the dashboard, requests, policy, notice, record of
processing, audit log (read-only, TH-DPO-01) and customer lookup; an ``admin`` sees everything.
``PAGES`` is the one table the console router checks.

Passwords are hashed with argon2id. Five wrong passwords in a row lock the account for 15 minutes;
the failure is counted (and audited) even though the request that carried it fails, through
``db.keep_even_on_rollback``. ``LoginThrottle`` adds a per-address limit in memory.
"""

from __future__ import annotations

import uuid
from collections import deque
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, NoReturn, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from rujai import db
from rujai.audit import service as audit_service
from rujai.db import keep_even_on_rollback
from rujai.errors import AppError, Conflict, NotFound, Unauthorized
from rujai.kit.time import as_utc
from rujai.staff.models import StaffUser

Role = Literal["marketer", "dpo", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD = 12
USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{2,31}$"
MAX_TRACKED_ADDRESSES = 10_000

# What each role may open (TH-SEC-01 least privilege; TH-DPO-01 read-only DPO access).
PAGES: dict[str, frozenset[Role]] = {
    "dashboard": frozenset({"marketer", "dpo", "admin"}),
    "offers": frozenset({"marketer", "admin"}),
    "preview": frozenset({"marketer", "admin"}),
    "requests": frozenset({"dpo", "admin"}),
    "policy": frozenset({"dpo", "admin"}),
    "audit": frozenset({"dpo", "admin"}),
    "customers": frozenset({"dpo", "admin"}),
    "staff": frozenset({"admin"}),
}

DEMO_STAFF: tuple[tuple[str, Role, str, str], ...] = (
    ("marketer", "marketer", "Somchai Marketing (demo)", "marketer-demo-2569"),
    ("dpo", "dpo", "Malee DPO (demo)", "dpo-demo-2569"),
    ("admin", "admin", "Admin (demo)", "admin-demo-2569"),
)

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (argon2-cffi's default)


class LoginFailed(Unauthorized):
    """Wrong username or password: one message for both, so names cannot be probed."""

    code = "login_failed"
    title = "Wrong username or password"


class AccountLocked(Unauthorized):
    """Too many wrong passwords in a row; the account is locked for a while (TH-SEC-01)."""

    code = "account_locked"
    title = "Account locked"


class TooManyAttempts(AppError):
    """Too many failed logins from one address (in-memory throttle)."""

    status: ClassVar[int] = 429
    code: ClassVar[str] = "too_many_attempts"
    title: ClassVar[str] = "Too many attempts"


class StaffExists(Conflict):
    """A staff user with this username exists."""


class StaffNotFound(NotFound):
    """No staff user with this id or username."""


def _no_control(value: str) -> str:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


Username = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=USERNAME_PATTERN)
]
DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_no_control),
]


class StaffCreate(BaseModel):
    """A new console account; the password is at least 12 characters (TH-SEC-01)."""

    model_config = ConfigDict(extra="forbid")

    username: Username = Field(description="3-32 of a-z, 0-9, '.', '_', '-'; starts a letter.")
    display_name: DisplayName
    role: Role
    password: SecretStr = Field(min_length=MIN_PASSWORD, max_length=256)


class StaffRead(BaseModel):
    """A console account without its password hash."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None

    @property
    def actor(self) -> str:
        """The audit actor for this staff member."""
        return f"staff:{self.username}"

    def may_open(self, page: str) -> bool:
        """Return True if this role may open ``page`` (see ``PAGES``)."""
        return self.role in PAGES.get(page, frozenset())


def may_open(role: str, page: str) -> bool:
    """Return True if ``role`` may open the console page ``page``."""
    return role in PAGES.get(page, frozenset())


def create(session: Session, *, body: StaffCreate, now: datetime, actor: str) -> StaffRead:
    """Create a console account with an argon2id password hash; 409 if the username is taken."""
    if _find(session, body.username) is not None:
        raise StaffExists("a staff user with this username exists", field="username")
    row = StaffUser(
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password_hash=_hasher.hash(body.password.get_secret_value()),
        failed_logins=0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    detail = {"staff_id": str(row.id), "role": row.role}
    audit_service.record(session, actor=actor, action="staff.create", now=now, detail=detail)
    return StaffRead.model_validate(row)


def list_staff(session: Session) -> list[StaffRead]:
    """Return every console account by username."""
    rows = session.scalars(select(StaffUser).order_by(StaffUser.username))
    return [StaffRead.model_validate(row) for row in rows]


def get(session: Session, *, staff_id: uuid.UUID) -> StaffRead:
    """Return one account; ``StaffNotFound`` if it is gone."""
    row = session.get(StaffUser, staff_id)
    if row is None:
        raise StaffNotFound("no such staff user")
    return StaffRead.model_validate(row)


def find(session: Session, *, staff_id: uuid.UUID) -> StaffRead | None:
    """Return one account, or None if it is gone (a console session outliving its account)."""
    row = session.get(StaffUser, staff_id)
    return StaffRead.model_validate(row) if row is not None else None


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> StaffRead:
    """Check a password; count failures and lock after five in a row for 15 min (TH-SEC-01)."""
    row = _find(session, username.strip().lower())
    if row is None:
        _verify(_dummy_hash(), password)  # the same work as for a real account
        raise LoginFailed("wrong username or password")
    if row.locked_until is not None and as_utc(row.locked_until) > now:
        raise AccountLocked(_locked_message(row.locked_until, now))
    if not _verify(row.password_hash, password):
        _count_failure(session, row, now)
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if _hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = _hasher.hash(password)
    staff_id, actor = row.id, f"staff:{row.username}"

    def write(s: Session) -> None:
        s.execute(update(StaffUser).where(StaffUser.id == staff_id).values(**values))
        audit_service.record(s, actor=actor, action="staff.login", now=now, outcome="ok")

    # The password is checked on whatever session the caller has (in the server a read-only
    # one, so the writer never waits for argon2); only the short update goes to the writer.
    db.write(session, write)
    read = StaffRead.model_validate(row)
    return read.model_copy(update={k: v for k, v in values.items() if k != "password_hash"})


def _count_failure(session: Session, row: StaffUser, now: datetime) -> NoReturn:
    locks = row.failed_logins + 1 >= MAX_FAILURES
    staff_id, actor = row.id, f"staff:{row.username}"

    def write(s: Session) -> None:
        reached = StaffUser.failed_logins + 1 >= MAX_FAILURES
        s.execute(
            update(StaffUser)
            .where(StaffUser.id == staff_id)
            .values(
                failed_logins=case((reached, 0), else_=StaffUser.failed_logins + 1),
                locked_until=case((reached, now + LOCK_FOR), else_=StaffUser.locked_until),
            )
        )
        outcome = "locked" if locks else "failed"
        audit_service.record(s, actor=actor, action="staff.login", now=now, outcome=outcome)

    keep_even_on_rollback(session, write)
    if locks:
        raise AccountLocked(_locked_message(now + LOCK_FOR, now))
    raise LoginFailed("wrong username or password")


def _locked_message(until: datetime, now: datetime) -> str:
    minutes = max(1, int((as_utc(until) - now).total_seconds() + 59) // 60)
    return (
        f"too many wrong passwords: the account is locked for {minutes} more minute(s) (TH-SEC-01)"
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    """Return a hash to verify against for unknown usernames (made on first use, per hasher)."""
    found = _DUMMY_HASHES.get(id(_hasher))
    if found is None:
        found = _DUMMY_HASHES[id(_hasher)] = _hasher.hash("rujai: no such staff user")
    return found


_DUMMY_HASHES: dict[int, str] = {}


def _find(session: Session, username: str) -> StaffUser | None:
    return session.scalars(select(StaffUser).where(StaffUser.username == username)).first()


def ensure_demo_staff(session: Session, *, now: datetime) -> list[tuple[str, str, str]]:
    """Create the demo accounts that are missing; return (username, role, password) of each
    demo account that still has its demo password (demo only: never use these in production)."""
    logins: list[tuple[str, str, str]] = []
    for username, role, display_name, password in DEMO_STAFF:
        row = _find(session, username)
        if row is None:
            body = StaffCreate(
                username=username,
                display_name=display_name,
                role=role,
                password=SecretStr(password),
            )
            create(session, body=body, now=now, actor="demo")
        elif not _verify(row.password_hash, password):
            continue
        logins.append((username, role, password))
    return logins


class LoginThrottle:
    """Login attempts per client address in a sliding window, in memory (one per app).

    Complements the per-account lock-out: it slows down guessing across many usernames.
    """

    def __init__(self, *, max_attempts: int = 30, window: timedelta = LOCK_FOR) -> None:
        self.max_attempts = max_attempts
        self.window = window
        self._attempts: dict[str, deque[datetime]] = {}

    def attempt(self, address: str, now: datetime) -> None:
        """Count one login attempt from ``address``; raise ``TooManyAttempts`` over the limit."""
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
