"""Identities of subjects: link e-mails and phones, find subjects by them, crypto-shred.

Every identifier is stored twice and never in plaintext (TH-SEC-01): a keyed blind index of its
normalised form for exact-match lookups, and the value sealed (AES-GCM) under the subject's own data
key, bound to the subject and the field. Destroying the wrapped data key (``destroy_data_key``)
makes every sealed copy unreadable at once: customer id, identities, traits and events. Resolving
callers' ids in bulk is ``identity_resolve`` (``resolve_many`` is also importable from here).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Conflict
from rujai.kit.crypto import Keyring
from rujai.policy.permit import Permit
from rujai.profiles import sealing, service as profiles_service
from rujai.profiles.errors import SubjectNotFound
from rujai.profiles.identity_resolve import identity_values, insert_ignore
from rujai.profiles.models import Identity, Subject
from rujai.profiles.schemas import IdentityKind, IdentityLinkRead, IdentityRead, SubjectRead
from rujai.profiles.sealing import field_of_kind, normalise_identity, seal_value, subject_key

CONFLICT_ACTION = "identity.conflict"  # an identifier held by another subject, queued for review
# The category an identity's value belongs to, for permit checks (STYLE §3).
CATEGORY_OF_KIND: dict[str, str] = {
    "email": "contact",
    "phone": "contact",
    "anonymous": "device",
    "national_id": "identity",
}


class IdentityHeld(Conflict):
    """The identifier is linked to another subject (409 where the caller may know that)."""


def add_identity(
    session: Session,
    *,
    keyring: Keyring,
    subject_id: uuid.UUID,
    kind: IdentityKind,
    value: str,
    verified: bool,
    now: datetime,
) -> IdentityLinkRead:
    """Link an identifier to a subject; refuse one already linked to another subject (409)."""
    linked = link_unless_held(
        session, keyring=keyring, subject_id=subject_id, kind=kind, value=value,
        verified=verified, now=now,
    )  # fmt: skip
    if linked is None:
        field = field_of_kind(kind)
        # Never the value in the message: only which kind of identifier clashed (TH-SEC-01).
        raise IdentityHeld(f"this {field} is already linked to another subject", field=field)
    return linked


def link_unless_held(
    session: Session,
    *,
    keyring: Keyring,
    subject_id: uuid.UUID,
    kind: IdentityKind,
    value: str,
    verified: bool,
    now: datetime,
) -> IdentityLinkRead | None:
    """Link an identifier to a subject; None (nothing linked) if another subject holds it."""
    normalised = normalise_identity(kind, value)
    blind = keyring.blind(kind, normalised)
    row, is_new = _identity_by_blind(session, kind, blind), False
    if row is None:
        row, is_new = _insert_identity(
            session, keyring, subject_id, kind, normalised, blind, verified, now
        )
    if row.subject_id != subject_id:
        return None
    if verified and not row.is_verified:
        row.is_verified = True
    if is_new or verified:
        _audit_identity(session, row, now, is_new=is_new)
    return _link_read(row, is_new)


def queue_conflict(
    session: Session,
    *,
    keyring: Keyring,
    subject_id: uuid.UUID,
    kind: IdentityKind,
    value: str,
    now: datetime,
) -> None:
    """Hold an identifier another subject has for review instead of linking it (audited).

    The caller answers as if it had been linked, so that the answer never tells whether someone
    else holds the identifier; a DPO reviews the entries (``identity.conflict``, pseudonymous ids
    and the kind only) and merges or corrects the profiles.
    """
    holder = find_by_identity(session, keyring=keyring, kind=kind, value=value)
    audit_service.record(
        session, actor="system", action=CONFLICT_ACTION, now=now, subject_id=subject_id,
        outcome="queued", detail={"kind": kind, "held_by": str(holder) if holder else None},
    )  # fmt: skip


def _insert_identity(
    session: Session,
    keyring: Keyring,
    subject_id: uuid.UUID,
    kind: str,
    normalised: str,
    blind: str,
    verified: bool,
    now: datetime,
) -> tuple[Identity, bool]:
    """Insert-or-ignore the identity; return the row now there and whether it is ours."""
    key = subject_key(session, keyring=keyring, subject_id=subject_id)
    sealed = seal_value(key, subject_id, f"identity.{kind}", normalised.encode())
    values = identity_values(subject_id, kind, blind, sealed, verified, now)
    session.execute(insert_ignore(session, Identity, ["kind", "blind"]), values)
    row = cast(Identity, _identity_by_blind(session, kind, blind))
    return row, row.id == values["id"]


def _identity_by_blind(session: Session, kind: str, blind: str) -> Identity | None:
    return session.scalars(
        select(Identity)
        .where(Identity.kind == kind, Identity.blind == blind)
        .execution_options(populate_existing=True)
    ).one_or_none()


def _audit_identity(session: Session, row: Identity, now: datetime, *, is_new: bool) -> None:
    session.flush()
    audit_service.record(
        session,
        actor="system",
        action="identity.linked" if is_new else "identity.verified",
        now=now,
        subject_id=row.subject_id,
        detail={"kind": row.kind, "identity_id": str(row.id), "verified": row.is_verified},
    )


def _link_read(row: Identity, is_new: bool) -> IdentityLinkRead:
    return IdentityLinkRead(
        id=row.id,
        subject_id=row.subject_id,
        kind=cast(IdentityKind, row.kind),
        is_verified=row.is_verified,
        created_at=row.created_at,
        is_new=is_new,
    )


def find_by_identity(
    session: Session, *, keyring: Keyring, kind: IdentityKind, value: str
) -> uuid.UUID | None:
    """Return the subject an identifier belongs to, by blind index of its normalised form."""
    blind = keyring.blind(kind, normalise_identity(kind, value))
    found: uuid.UUID | None = session.scalar(
        select(Identity.subject_id).where(Identity.kind == kind, Identity.blind == blind)
    )
    return found


def list_identities(
    session: Session, *, keyring: Keyring, permit: Permit, subject_id: uuid.UUID
) -> list[IdentityRead]:
    """Return the subject's identities decrypted; the permit must cover ``contact`` (STYLE §3)."""
    permit.require(subject_id, "contact")
    rows = session.scalars(
        select(Identity).where(Identity.subject_id == subject_id).order_by(Identity.created_at)
    ).all()
    covered = [r for r in rows if permit.covers(subject_id, CATEGORY_OF_KIND[r.kind])]
    if not covered:
        return []
    key = subject_key(session, keyring=keyring, subject_id=subject_id)
    return [sealing.identity_read(key, row) for row in covered]


def destroy_customer_key(
    session: Session, *, keyring: Keyring, customer_id: str, now: datetime, actor: str
) -> SubjectRead:
    """Crypto-shred the subject with this customer id (``destroy_data_key``)."""
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    if subject_id is None:
        raise SubjectNotFound("no subject with this customer id")
    return destroy_data_key(session, subject_id=subject_id, now=now, actor=actor)


def destroy_data_key(
    session: Session, *, subject_id: uuid.UUID, now: datetime, actor: str
) -> SubjectRead:
    """Destroy the subject's data key: every sealed value of it becomes unreadable (TH-DSR-04)."""
    row = session.get(Subject, subject_id)
    if row is None:
        raise SubjectNotFound(f"subject {subject_id} not found")
    if row.data_key_wrapped is not None:
        row.data_key_wrapped = None
        row.updated_at = now
        session.flush()
        audit_service.record(
            session,
            actor=actor,
            action="subject.data_key.destroyed",
            now=now,
            subject_id=subject_id,
            detail={"crypto_shredded": True},
        )
    return profiles_service.get(session, subject_id=subject_id)
