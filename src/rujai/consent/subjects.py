"""Whom a consent is for: a customer (``customer_id``) or a website visitor (``anonymous_id``).

A visitor who has not signed in consents as their anonymous profile (the one profiles keeps for
their events, by the keyed blind index of the device id). On identify the anonymous profile is
merged into the known one and ``consent.merge`` applies the most-restrictive-wins rule; a later
lookup by the anonymous id follows the merge to the known profile.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from rujai.errors import Invalid
from rujai.kit.crypto import Keyring
from rujai.profiles import identity_resolve, service as profiles_service
from rujai.profiles.errors import SubjectErased, SubjectNotFound
from rujai.profiles.schemas import SubjectRef


def subject_ref(customer_id: str | None, anonymous_id: str | None) -> SubjectRef:
    """Return the ref naming exactly one of the two ids; raise Invalid naming the field."""
    if customer_id is not None and anonymous_id is not None:
        raise Invalid("give customer_id or anonymous_id, not both", field="anonymous_id")
    if customer_id is None and anonymous_id is None:
        raise Invalid("customer_id or anonymous_id is required", field="customer_id")
    return SubjectRef(customer_id=customer_id, anonymous_id=anonymous_id)


def get_or_create(
    session: Session, *, keyring: Keyring, ref: SubjectRef, now: datetime
) -> uuid.UUID:
    """Return the subject id of ``ref``, creating the profile when unknown (not an erased one)."""
    if ref.customer_id is not None:
        subject = profiles_service.get_or_create(
            session, keyring=keyring, customer_id=ref.customer_id, now=now
        )
        return subject.id
    resolved = identity_resolve.resolve_many(session, keyring=keyring, refs=[ref], now=now)
    found = resolved.get(ref)
    if found is None or found.data_key is None:  # TH-DSR-04: an erased visitor is not re-created
        raise SubjectErased("this anonymous id belongs to an erased profile", field="anonymous_id")
    return found.subject_id


def find(session: Session, *, keyring: Keyring, ref: SubjectRef) -> uuid.UUID:
    """Return the subject id of ``ref`` (following merges); raise SubjectNotFound naming it."""
    if ref.customer_id is not None:
        found = profiles_service.find_id(session, keyring=keyring, customer_id=ref.customer_id)
        if found is None:
            raise SubjectNotFound("no subject with this customer id", field="customer_id")
        return found
    ids = identity_resolve.resolve_ids(session, keyring=keyring, refs=[ref])
    if ref not in ids:
        raise SubjectNotFound("no subject with this anonymous id", field="anonymous_id")
    return ids[ref]
