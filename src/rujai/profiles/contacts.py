"""Contacts: the verified identity on file a message may go to, and whose identity a value is.

A message to a subject (a verification code, a request's outcome) only ever goes to an identity
already on file **and verified**, never to an address typed into a request (TH-DSR-00).
``verified_contact`` opens that one identity and takes a ``Permit`` covering ``contact``;
``find_identity`` answers by blind index with ids only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from rujai.kit.crypto import Keyring
from rujai.policy.permit import Permit
from rujai.profiles.errors import SubjectErased, SubjectNotFound
from rujai.profiles.models import Identity
from rujai.profiles.schemas import IdentityKind, IdentityRead
from rujai.profiles.sealing import identity_read, normalise_identity, subject_key

CONTACT_CATEGORY = "contact"  # e-mail addresses and phone numbers


def verified_contact(
    session: Session,
    *,
    keyring: Keyring,
    permit: Permit,
    subject_id: uuid.UUID,
    kinds: Sequence[str],
    identity_id: uuid.UUID | None = None,
) -> IdentityRead | None:
    """Return the subject's verified identity of ``kinds`` (in that preference) opened, or None."""
    permit.require(subject_id, CONTACT_CATEGORY)
    row = _verified_identity(session, subject_id, kinds, identity_id)
    if row is None:
        return None
    try:
        key = subject_key(session, keyring=keyring, subject_id=subject_id)
    except (SubjectErased, SubjectNotFound):
        return None  # crypto-shredded: nothing can be read or sent any more
    return identity_read(key, row)


def _verified_identity(
    session: Session,
    subject_id: uuid.UUID,
    kinds: Sequence[str],
    identity_id: uuid.UUID | None,
) -> Identity | None:
    if not kinds:
        return None
    preference = case({kind: rank for rank, kind in enumerate(kinds)}, value=Identity.kind)
    stmt = (
        select(Identity)
        .where(
            Identity.subject_id == subject_id,
            Identity.kind.in_(list(kinds)),
            Identity.is_verified.is_(True),
            Identity.value_sealed.is_not(None),
        )
        .order_by(preference, Identity.created_at.desc())
        .limit(1)
    )
    if identity_id is not None:
        stmt = stmt.where(Identity.id == identity_id)
    return session.scalars(stmt).first()


def find_identity(
    session: Session, *, keyring: Keyring, kind: IdentityKind, value: str
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Return (subject id, identity id) of the identity with this value, or None (blind index)."""
    blind = keyring.blind(kind, normalise_identity(kind, value))
    row = session.execute(
        select(Identity.subject_id, Identity.id).where(
            Identity.kind == kind, Identity.blind == blind
        )
    ).one_or_none()
    return (row.subject_id, row.id) if row is not None else None
