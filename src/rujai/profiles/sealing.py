"""Sealing under a subject's own data key, and the normal forms identifiers are blind-indexed in.

Every value is sealed with AES-GCM under the subject's data key and bound (AAD) to the subject and
the field, so a sealed value cannot be moved to another row or field (TH-SEC-01). Once the wrapped
data key is destroyed, opening anything of the subject raises ``SubjectErased``, never a crypto
traceback.
"""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.errors import AppError, Invalid
from rujai.kit.crypto import DecryptionFailed, Keyring, open_sealed, seal
from rujai.kit.thai_pii import is_valid_thai_national_id, normalise_email, normalise_phone
from rujai.profiles.errors import SubjectErased, SubjectNotFound
from rujai.profiles.models import Identity, Subject
from rujai.profiles.schemas import IDENTITY_KINDS, IdentityKind, IdentityRead

ANONYMOUS_ID_MAX = 255
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def subject_aad(field: str, subject_id: uuid.UUID) -> bytes:
    """Bind a sealed value to its field and subject (same form as ``profiles.service``)."""
    return f"subject.{field}:".encode() + subject_id.bytes


def unwrap_key(keyring: Keyring, subject_id: uuid.UUID, wrapped: bytes | None) -> bytes:
    """Return the subject's raw data key; raise SubjectErased once it has been destroyed."""
    if wrapped is None:
        raise SubjectErased(
            f"subject {subject_id} has been crypto-shredded: its data can no longer be read"
        )
    try:
        return keyring.unwrap(wrapped)
    except DecryptionFailed as e:
        raise AppError(f"the data key of subject {subject_id} cannot be unwrapped") from e


def subject_key(session: Session, *, keyring: Keyring, subject_id: uuid.UUID) -> bytes:
    """Return the data key of a subject; raise SubjectNotFound or SubjectErased."""
    wrapped = session.execute(
        select(Subject.data_key_wrapped).where(Subject.id == subject_id)
    ).one_or_none()
    if wrapped is None:
        raise SubjectNotFound(f"subject {subject_id} not found")
    return unwrap_key(keyring, subject_id, wrapped[0])


def seal_value(key: bytes, subject_id: uuid.UUID, field: str, value: bytes) -> bytes:
    """Seal ``value`` under the subject's key, bound to ``field`` and the subject."""
    return seal(key, value, subject_aad(field, subject_id))


def open_value(key: bytes, subject_id: uuid.UUID, field: str, sealed: bytes) -> bytes:
    """Open a value made by ``seal_value``; a tampered value is an error, never garbage."""
    try:
        return open_sealed(key, sealed, subject_aad(field, subject_id))
    except DecryptionFailed as e:
        raise AppError(f"a sealed {field} of subject {subject_id} cannot be opened") from e


def field_of_kind(kind: str) -> str:
    """Return the input field that carries an identity of ``kind``."""
    return "anonymous_id" if kind == "anonymous" else kind


def normalise_identity(kind: str, value: str) -> str:
    """Return the form of ``value`` that is blind-indexed; raise Invalid naming the field."""
    if kind not in IDENTITY_KINDS:
        raise Invalid(f"kind must be one of {', '.join(IDENTITY_KINDS)}", field="kind")
    try:
        return _normalise(kind, value)
    except ValueError as e:
        # The message names the field and the problem, never the value (TH-SEC-01).
        raise Invalid(f"{field_of_kind(kind)}: {e}", field=field_of_kind(kind)) from None


def _normalise(kind: str, value: str) -> str:
    if kind == "email":
        return normalise_email(value)
    if kind == "phone":
        return normalise_phone(value)
    if kind == "national_id":
        plain = value.strip().replace("-", "").replace(" ", "").translate(_THAI_DIGITS)
        if not is_valid_thai_national_id(plain):
            raise ValueError("not a valid Thai national ID")
        return plain
    stripped = value.strip()
    if not 1 <= len(stripped) <= ANONYMOUS_ID_MAX:
        raise ValueError(f"must be 1 to {ANONYMOUS_ID_MAX} characters")
    return stripped


def identity_read(key: bytes, row: Identity) -> IdentityRead:
    """Decrypt one identity row into its ``IdentityRead``."""
    value = b""
    if row.value_sealed is not None:
        value = open_value(key, row.subject_id, f"identity.{row.kind}", row.value_sealed)
    return IdentityRead(
        id=row.id,
        subject_id=row.subject_id,
        kind=cast(IdentityKind, row.kind),
        value=value.decode(),
        is_verified=row.is_verified,
        created_at=row.created_at,
        verified_at=row.verified_at,
        verification_method=row.verification_method,
    )
