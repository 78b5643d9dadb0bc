"""Staff accounts of the console: roles, argon2 passwords, changes that end sessions (TH-SEC-01).

Owns: staff_user. Roles follow least privilege: a ``marketer`` sees the dashboard, offers and
previews of test profiles; a ``dpo`` sees the dashboard, requests, policy, notice, record of
processing, audit log (read-only, TH-DPO-01) and customer lookup; an ``admin`` sees everything.
``PAGES`` is the one table the console router checks.

Passwords are hashed with argon2id. A password change, a role change and removing an account end
the staff member's console sessions at once (``sessions``). Signing in, with its lock-out and
throttle, is ``staff.login``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Conflict, Invalid, NotFound
from rujai.sessions import service as sessions_service
from rujai.staff.models import StaffUser

Role = Literal["marketer", "dpo", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
MIN_PASSWORD = 12
USERNAME_PATTERN = r"^[a-z][a-z0-9._-]{2,31}$"

# What each role may open (TH-SEC-01 least privilege; TH-DPO-01 read-only DPO access).
PAGES: dict[str, frozenset[Role]] = {
    "dashboard": frozenset({"marketer", "dpo", "admin"}),
    "offers": frozenset({"marketer", "admin"}),
    "preview": frozenset({"marketer", "admin"}),
    "requests": frozenset({"dpo", "admin"}),
    "policy": frozenset({"dpo", "admin"}),
    "audit": frozenset({"dpo", "admin"}),
    "customers": frozenset({"dpo", "admin"}),
    "processors": frozenset({"dpo", "admin"}),  # the processor outbox, read-only (TH-PRC-01)
    "incidents": frozenset({"dpo", "admin"}),
    "staff": frozenset({"admin"}),
}
# Pages some roles may read but not change: the DPO reads the breach register (TH-DPO-01);
# declaring, assessing and notifying are for admin staff. A page not listed here is writable by
# every role that may open it.
WRITERS: dict[str, frozenset[Role]] = {"incidents": frozenset({"admin"})}
# Who may see identities (customer ids): the roles that may open the customers page.
IDENTITY_PAGE = "customers"

DEMO_STAFF: tuple[tuple[str, Role, str, str], ...] = (
    ("marketer", "marketer", "Somchai Marketing (demo)", "marketer-demo-2569"),
    ("dpo", "dpo", "Malee DPO (demo)", "dpo-demo-2569"),
    ("admin", "admin", "Admin (demo)", "admin-demo-2569"),
)

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (argon2-cffi's default)


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


def may_write(role: str, page: str) -> bool:
    """Return True if ``role`` may change what ``page`` shows (see ``WRITERS``)."""
    writers = WRITERS.get(page)
    return role in PAGES.get(page, frozenset()) and (writers is None or role in writers)


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


class PasswordChange(BaseModel):
    """A new password for a console account (at least 12 characters, TH-SEC-01)."""

    model_config = ConfigDict(extra="forbid")

    password: SecretStr = Field(min_length=MIN_PASSWORD, max_length=256)


def set_password(
    session: Session, *, username: str, change: PasswordChange, now: datetime, actor: str
) -> StaffRead:
    """Set a new password and end every console session of the account at once."""
    row = _get_by_name(session, username)
    row.password_hash = _hasher.hash(change.password.get_secret_value())
    row.failed_logins, row.locked_until = 0, None
    return _changed(session, row, "password_changed", now, actor, {})


def set_role(
    session: Session, *, username: str, role: Role, now: datetime, actor: str
) -> StaffRead:
    """Give the account another role and end its console sessions at once."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    row = _get_by_name(session, username)
    before, row.role = row.role, role
    return _changed(session, row, "role_changed", now, actor, {"from": before, "to": role})


def remove(session: Session, *, username: str, now: datetime, actor: str) -> StaffRead:
    """Delete a console account; its sessions end with it (they are deleted first)."""
    row = _get_by_name(session, username)
    read = StaffRead.model_validate(row)
    sessions_service.forget_staff(session, staff_id=row.id)
    session.delete(row)
    session.flush()
    detail = {"staff_id": str(read.id), "role": read.role}
    audit_service.record(session, actor=actor, action="staff.remove", now=now, detail=detail)
    return read


def _changed(
    session: Session,
    row: StaffUser,
    reason: Literal["password_changed", "role_changed"],
    now: datetime,
    actor: str,
    detail: dict[str, str],
) -> StaffRead:
    session.flush()
    sessions_service.end_for_staff(session, staff_id=row.id, now=now, reason=reason)
    action = "staff.password" if reason == "password_changed" else "staff.role"
    detail = {"staff_id": str(row.id), **detail}
    audit_service.record(session, actor=actor, action=action, now=now, detail=detail)
    return StaffRead.model_validate(row)


def _get_by_name(session: Session, username: str) -> StaffUser:
    row = _find(session, username.strip().lower())
    if row is None:
        raise StaffNotFound("no staff user with this username", field="username")
    return row


def verify_password(password_hash: str, password: str) -> bool:
    """Return True if ``password`` matches the argon2 hash (False for a malformed hash)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older argon2 parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


def dummy_hash() -> str:
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
        elif not verify_password(row.password_hash, password):
            continue
        logins.append((username, role, password))
    return logins
