"""Identities the brand verified itself: import them with the evidence (TH-SEC-01, TH-DSR-00).

A one-time code for a rights request or a privacy-center sign-in goes only to a verified identity
on file (``rights.verification``). Brands verify their customers' e-mails and phones in their own
systems (an e-mail link, an SMS code, an ID check in a store); ``record_verified`` records such an
identity as verified with the method, the time and the brand's own evidence reference, sealed and
blind-indexed like every identity. The audit entry holds the kind, the method and ids, never the
value. An identifier of an erased person (suppressed, TH-DSR-04) or one that another customer holds
is refused, naming only the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Conflict, Invalid
from rujai.kit.crypto import Keyring
from rujai.profiles import identities, service as profiles_service, suppression
from rujai.profiles.models import Identity
from rujai.profiles.schemas import VerifiedIdentityCreate, VerifiedIdentityRead
from rujai.profiles.sealing import normalise_identity

ACTION = "identity.verified_imported"


class IdentitySuppressed(Conflict):
    """The identifier belongs to a person who was erased (TH-DSR-04); it is not re-linked."""


def record_verified(
    session: Session,
    *,
    keyring: Keyring,
    customer_id: str,
    body: VerifiedIdentityCreate,
    now: datetime,
    actor: str,
) -> VerifiedIdentityRead:
    """Link the identity to the customer as verified, keep the evidence and audit (no value)."""
    normalised = _checked(session, keyring, customer_id, body, now)
    subject = profiles_service.get_or_create(
        session, keyring=keyring, customer_id=customer_id, now=now
    )
    link = identities.add_identity(
        session, keyring=keyring, subject_id=subject.id, kind=body.kind, value=normalised,
        verified=True, now=now,
    )  # fmt: skip
    row = cast(Identity, session.get(Identity, link.id))
    row.verified_at = body.verified_at
    row.verification_method = body.method
    row.verification_ref = body.evidence_ref
    session.flush()
    audit_service.record(
        session, actor=actor, action=ACTION, now=now, subject_id=subject.id, outcome="recorded",
        detail={"kind": body.kind, "identity_id": str(row.id), "method": body.method,
                "has_evidence_ref": body.evidence_ref is not None, "is_new": link.is_new},
    )  # fmt: skip
    return VerifiedIdentityRead(
        id=row.id, subject_id=subject.id, kind=body.kind, is_verified=True,
        verified_at=body.verified_at, method=body.method,
        is_new=link.is_new,
    )  # fmt: skip


def _checked(
    session: Session,
    keyring: Keyring,
    customer_id: str,
    body: VerifiedIdentityCreate,
    now: datetime,
) -> str:
    """Refuse before writing anything: future time, bad value, erased person, held by another."""
    try:
        body.verified_at.astimezone(UTC)
    except OverflowError:
        raise Invalid("verified_at is out of range", field="verified_at") from None
    if body.verified_at > now:
        raise Invalid("verified_at is in the future", field="verified_at")
    normalised = _normalised(body)
    customer_ref = keyring.blind(
        suppression.CUSTOMER_KIND, profiles_service.normalise_customer_id(customer_id)
    )
    if suppression.is_suppressed(session, suppression.CUSTOMER_KIND, customer_ref):
        raise IdentitySuppressed("this customer was erased (TH-DSR-04)", field="customer_id")
    if suppression.is_suppressed(session, body.kind, keyring.blind(body.kind, normalised)):
        raise IdentitySuppressed(
            f"this {body.kind} belongs to an erased person (TH-DSR-04)", field="value"
        )
    holder = identities.find_by_identity(session, keyring=keyring, kind=body.kind, value=normalised)
    if holder is not None:
        own = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
        if holder != own:
            # An admin may learn that; the value itself never goes in the message (TH-SEC-01).
            raise identities.IdentityHeld(
                f"this {body.kind} is already linked to another subject", field="value"
            )
    return normalised


def _normalised(body: VerifiedIdentityCreate) -> str:
    """Return the normalised identifier; an unusable one is refused naming ``value``."""
    try:
        return normalise_identity(body.kind, body.value)
    except Invalid as error:  # the message names the kind and the problem, never the value
        raise Invalid(str(error), field="value") from None
