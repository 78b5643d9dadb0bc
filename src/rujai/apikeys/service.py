"""The API key domain's public API: create, revoke, list and authenticate keys (TH-SEC-01).

A key reads ``rk_<prefix>_<secret>``: ``prefix`` is 8 random letters and digits, stored in clear and
unique, so authentication is one indexed lookup; ``secret`` is 32 random bytes (URL-safe base64) of
which only the SHA-256 is stored. The full key is shown once, when it is created. Authentication
writes nothing (no "last used" column), and every failure gets the same message.

Verified keys are cached per process and database for ``VERIFIED_TTL_S`` (one second): a request
with a key verified less than a second ago compares its secret's hash with the cached one and
skips the query; after that the key row is read again, so a revocation made by another process
(``rujai keys revoke``) takes effect within a second, and one made by ``revoke`` in this process at
once. Failures are never cached.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
import time
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rujai.apikeys.models import ApiKey
from rujai.apikeys.schemas import PARTNER_PREFIX, ApiKeyCreated, ApiKeyRead, Principal, Scope
from rujai.audit import service as audit_service
from rujai.errors import Invalid, NotFound, Unauthorized
from rujai.kit.crypto import sha256_hex

KEY_MARK = "rk"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
SECRET_LENGTH = 43  # URL-safe base64 of 32 bytes, without padding
TOKEN_LENGTH = len(KEY_MARK) + 1 + PREFIX_LENGTH + 1 + SECRET_LENGTH
UNAUTHORIZED_MESSAGE = "missing or invalid API key"
_PREFIX_ALPHABET = string.ascii_letters + string.digits
_URLSAFE = frozenset(string.ascii_letters + string.digits + "-_")
_DUMMY_HASH = sha256_hex("rujai: no such key")
PROCESSOR_SCOPE = re.compile(r"processor:[a-z][a-z0-9_]{0,62}")  # speaks for one recipient
_RECIPIENT_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
VERIFIED_TTL_S = 1.0  # how long a verified key is trusted without reading its row again
_BY_PREFIX = select(
    ApiKey.id, ApiKey.name, ApiKey.secret_hash, ApiKey.scopes, ApiKey.revoked_at
).where(ApiKey.prefix == bindparam("prefix"))


class _Verified(NamedTuple):
    secret_hash: str
    principal: Principal
    at: float  # time.monotonic() of the read


_verified: weakref.WeakKeyDictionary[Engine, dict[str, _Verified]] = weakref.WeakKeyDictionary()


def create(
    session: Session,
    *,
    name: str,
    scopes: Sequence[str],
    now: datetime,
    actor: str = "cli",
) -> ApiKeyCreated:
    """Create a key with ``scopes`` and return it with its full secret, shown only this once."""
    clean_name, scope_list = _clean_name(name), parse_scopes(scopes)
    prefix, secret = _unused_prefix(session), secrets.token_urlsafe(SECRET_BYTES)
    recipient = partner_recipient(scopes)
    scope_values = [
        f"{PARTNER_PREFIX}{recipient}" if s is Scope.PARTNER else s.value for s in scope_list
    ] + processor_scopes(scopes)
    key = ApiKey(
        name=clean_name,
        prefix=prefix,
        secret_hash=sha256_hex(secret),
        scopes=scope_values,
        created_at=now,
    )
    session.add(key)
    session.flush()
    detail = {"key_id": str(key.id), "prefix": prefix, "scopes": key.scopes}
    audit_service.record(session, actor=actor, action="api_key.create", now=now, detail=detail)
    read = _read(key)
    return ApiKeyCreated(
        **read.model_dump(exclude={"revoked_at"}), key=f"{KEY_MARK}_{prefix}_{secret}"
    )


def revoke(session: Session, *, key_id: UUID, now: datetime, actor: str) -> ApiKeyRead:
    """Revoke a key from now on; revoking a revoked key changes nothing."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("API key not found", field="key_id")
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
        _verified.get(session.get_bind().engine, {}).pop(key.prefix, None)
        detail = {"key_id": str(key.id), "prefix": key.prefix}
        audit_service.record(session, actor=actor, action="api_key.revoke", now=now, detail=detail)
    return _read(key)


def list_keys(session: Session) -> list[ApiKeyRead]:
    """Return every key, oldest first, without secrets."""
    keys = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.prefix))
    return [_read(k) for k in keys]


def authenticate(
    session: Session,
    *,
    token: str,
    now: datetime,  # noqa: ARG001 - kept for key expiry; revocation does not depend on the clock
) -> Principal:
    """Return the principal of a valid, unrevoked key; raise Unauthorized otherwise.

    A key verified in this process less than ``VERIFIED_TTL_S`` ago is not read again.
    """
    parsed = _parse_token(token)
    if parsed is None:
        raise Unauthorized(UNAUTHORIZED_MESSAGE)
    prefix, secret = parsed
    digest, clock = sha256_hex(secret), time.monotonic()
    cache = _verified.setdefault(session.get_bind().engine, {})
    hit = cache.get(prefix)
    fresh = hit is not None and clock - hit.at < VERIFIED_TTL_S
    if hit is not None and fresh and hmac.compare_digest(digest, hit.secret_hash):
        return hit.principal
    row = session.execute(_BY_PREFIX, {"prefix": prefix}).first()
    stored = row.secret_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(digest, stored)
    if row is None or not matches or row.revoked_at is not None:
        cache.pop(prefix, None)
        raise Unauthorized(UNAUTHORIZED_MESSAGE)
    principal = Principal(
        key_id=row.id,
        name=row.name,
        scopes=frozenset(_known_scopes(row.scopes)),
        recipient=_stored_recipient(row.scopes),
        processor_of=frozenset(_processors(row.scopes)),
    )
    cache[prefix] = _Verified(row.secret_hash, principal, clock)
    return principal


def parse_scopes(scopes: Sequence[str]) -> list[Scope]:
    """Return the scopes deduplicated, in order; raise Invalid(field="scopes") on unknown ones."""
    if isinstance(scopes, str) or not scopes:
        raise Invalid(
            "give at least one scope: admin, decide, track, consent or dpo", field="scopes"
        )
    parsed = {
        _scope(raw) for raw in scopes if not PROCESSOR_SCOPE.fullmatch(str(raw).strip().lower())
    }
    partner_recipient(scopes)  # a partner scope names exactly one well-formed recipient
    return [s for s in Scope if s in parsed]


def _scope(raw: str) -> Scope:
    """One named scope (``processor:<id>`` scopes are read by ``processor_scopes``)."""
    text = str(raw).strip().lower()
    try:
        return Scope.PARTNER if text.startswith(PARTNER_PREFIX) else Scope(text)
    except ValueError:
        allowed = ", ".join(s.value for s in Scope if s is not Scope.PARTNER)
        raise Invalid(
            f"unknown scope {str(raw)[:32]!r}; use {allowed}, partner:<recipient id> "
            "or processor:<recipient id>",
            field="scopes",
        ) from None


def processor_scopes(scopes: Sequence[str]) -> list[str]:
    """Return the ``processor:<recipient>`` scopes, deduplicated and sorted (TH-PRC-01)."""
    cleaned = {str(raw).strip().lower() for raw in scopes}
    return sorted(s for s in cleaned if PROCESSOR_SCOPE.fullmatch(s))


def _processors(raw: Sequence[str]) -> list[str]:
    return [s.removeprefix("processor:") for s in processor_scopes(raw)]


def partner_recipient(scopes: Sequence[str]) -> str | None:
    """Return the recipient of a ``partner:<recipient id>`` scope (None without one)."""
    named = {str(raw).strip()[len(PARTNER_PREFIX) :] for raw in scopes
             if str(raw).strip().lower().startswith(PARTNER_PREFIX)}  # fmt: skip
    bare = any(str(raw).strip().lower() == Scope.PARTNER.value for raw in scopes)
    if bare or len(named) > 1 or any(not _RECIPIENT_ID.match(r) for r in named):
        raise Invalid(
            "a partner key names one recipient of the policy: partner:<recipient id>",
            field="scopes",
        )
    return next(iter(named), None)


def _clean_name(name: str) -> str:
    clean = name.strip()
    if not 0 < len(clean) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    return clean


def _parse_token(token: str | None) -> tuple[str, str] | None:
    """Split ``rk_<prefix>_<secret>``; return None for anything malformed."""
    if not token or len(token) != TOKEN_LENGTH or not token.startswith(f"{KEY_MARK}_"):
        return None
    prefix = token[len(KEY_MARK) + 1 : len(KEY_MARK) + 1 + PREFIX_LENGTH]
    rest = token[len(KEY_MARK) + 1 + PREFIX_LENGTH :]
    if not rest.startswith("_") or not prefix.isascii() or not prefix.isalnum():
        return None
    secret = rest[1:]
    if not set(secret) <= _URLSAFE:
        return None
    return prefix, secret


def _unused_prefix(session: Session) -> str:
    """Draw random prefixes until one is unused (a clash is a one in 2·10^14 event)."""
    while True:
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        taken = session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix))
        if taken is None:
            return prefix


def _known_scopes(raw: Sequence[str]) -> list[Scope]:
    known = {m.value for m in Scope} - {Scope.PARTNER.value}
    found = [Scope(s) for s in raw if s in known]
    if _stored_recipient(raw) is not None:
        found.append(Scope.PARTNER)
    return [s for s in Scope if s in found]


def _stored_recipient(raw: Sequence[str]) -> str | None:
    for value in raw:
        if value.startswith(PARTNER_PREFIX):
            return value[len(PARTNER_PREFIX) :]
    return None


def _read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=_known_scopes(key.scopes),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        processor_of=_processors(key.scopes),
        recipient=_stored_recipient(key.scopes),
    )
