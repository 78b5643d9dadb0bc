"""Test data as plain functions: each one flushes what it makes and returns a ``*Read`` schema.

All data is fictional. Others add factories here; keep each one small and keyword-driven.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from rujai.consent import service as consent_service
from rujai.consent.receipts import ConsentReceipt
from rujai.consent.schemas import ConsentCreate
from rujai.kit.crypto import Keyring
from rujai.policy import service as policy_service
from rujai.policy.rules import Action, Objection
from rujai.policy.schemas import Policy
from rujai.policy.service import Permit
from rujai.profiles import service as profiles_service
from rujai.profiles.schemas import AgeBand, SubjectRead

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def make_subject(
    session: Session,
    keyring: Keyring,
    customer_id: str = "C-0001",
    *,
    now: datetime = NOW,
    birth_date: date | None = None,
    age_band: AgeBand | None = None,
    is_restricted: bool = False,
    objections: tuple[Objection, ...] = (),
) -> SubjectRead:
    """Get or create a subject and set the given facts through the profiles service."""
    subject = profiles_service.get_or_create(
        session, keyring=keyring, customer_id=customer_id, now=now
    )
    sid = subject.id
    if birth_date is not None:
        profiles_service.set_birth_date(
            session, keyring=keyring, subject_id=sid, birth_date=birth_date, now=now
        )
    if age_band is not None:
        profiles_service.set_age_band(session, subject_id=sid, band=age_band, now=now)
    if is_restricted:
        profiles_service.set_restricted(session, subject_id=sid, restricted=True, now=now)
    for objection in objections:
        profiles_service.set_objection(
            session, subject_id=sid, objection=objection, objected=True, now=now
        )
    return profiles_service.get(session, subject_id=sid)


def consent_change(
    policy: Policy, purpose: str, action: str = "grant", **overrides: Any
) -> ConsentCreate:
    """A valid change for ``purpose``: current notice, Thai, on the web, by the subject."""
    fields: dict[str, Any] = {
        "purpose": purpose,
        "action": action,
        "language": "th",
        "channel": "web",
        "actor": "self",
        "notice_version": policy.purposes[purpose].notice.version,
        "explicit": policy.purposes[purpose].basis.value == "explicit_consent",
    }
    fields.update(overrides)
    if fields["actor"] == "staff" and fields["action"] == "grant":
        fields.setdefault("actor_ref", "staff-test")  # a staff grant names them (TH-CON-01)
    return ConsentCreate(**fields)


def make_consent(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    purpose: str = "recommendations",
    *,
    customer_id: str = "C-0001",
    action: str = "grant",
    now: datetime = NOW,
    age_band: AgeBand | None = "adult",
    **overrides: Any,
) -> ConsentReceipt:
    """Record a grant (or withdrawal) through the consent service and return its receipt.

    The test customers are adults who said so (TH-MIN-01: an unknown age is never taken for an
    adult): a subject with no age yet gets ``age_band`` first; ``age_band=None`` leaves it unknown.
    """
    if age_band is not None and action == "grant":
        declare_age(session, keyring, customer_id, age_band, now)
    return consent_service.record(
        session,
        keyring=keyring,
        policy=policy,
        customer_id=customer_id,
        change=consent_change(policy, purpose, action, **overrides),
        now=now,
        evidence_ip="192.0.2.10",
        evidence_user_agent="Mozilla/5.0 (rujai-test)",
    )


def declare_age(
    session: Session,
    keyring: Keyring,
    customer_id: str,
    band: AgeBand = "adult",
    now: datetime = NOW,
) -> None:
    """Give a customer whose age is unknown a declared age band (TH-MIN-01)."""
    subject = profiles_service.get_or_create(
        session, keyring=keyring, customer_id=customer_id, now=now
    )
    if subject.age_band is None and not subject.has_birth_date:
        profiles_service.set_age_band(session, subject_id=subject.id, band=band, now=now)


def track_event(
    event_type: str = "purchase",
    *,
    customer_id: str | None = "C-0001",
    anonymous_id: str | None = None,
    timestamp: datetime | None = None,
    message_id: str | None = None,
    **properties: Any,
) -> Any:
    """A ``TrackEvent``; without properties, a valid one for ``purchase``/``page_view``/``search``.

    ``timestamp`` defaults to the tests' clock ``NOW`` (in the past of the real clock, which the
    schema checks, and not ahead of ``NOW``, which the gate checks).
    """
    from rujai.events.schemas import TrackEvent  # the events domain is optional for other tests

    defaults: dict[str, dict[str, Any]] = {
        "purchase": {"order_id": "ORD-1", "item_id": "SKU-1", "quantity": 1, "amount": 590.0},
        "page_view": {"path": "/th/products"},
        "search": {"query": "หมอนอิง"},
        "product_view": {"item_id": "SKU-1"},
        "store_visit": {"store_id": "BKK-01"},
    }
    fields: dict[str, Any] = {
        "type": event_type,
        "customer_id": customer_id,
        "anonymous_id": anonymous_id,
        "properties": properties or defaults.get(event_type, {}),
    }
    fields["timestamp"] = timestamp if timestamp is not None else NOW
    if message_id is not None:
        fields["message_id"] = message_id
    return TrackEvent(**fields)


def make_anonymous_subject(
    session: Session, keyring: Keyring, anonymous_id: str = "anon-0001", *, now: datetime = NOW
) -> SubjectRead:
    """Get or create the anonymous profile of a device id (no customer id) and return it."""
    from rujai.profiles import identity_resolve
    from rujai.profiles.schemas import SubjectRef

    ref = SubjectRef(customer_id=None, anonymous_id=anonymous_id)
    resolved = identity_resolve.resolve_many(session, keyring=keyring, refs=[ref], now=now)[ref]
    return profiles_service.get(session, subject_id=resolved.subject_id)


def make_purchase(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    *,
    customer_id: str | None = None,
    anonymous_id: str | None = None,
    order_id: str = "ORD-0001",
    now: datetime = NOW,
) -> str:
    """Track one purchase event (contract basis: always collected) and return its message id."""
    from rujai.events import service as events_service

    event = track_event(
        customer_id=customer_id, anonymous_id=anonymous_id, order_id=order_id,
        item_id="SKU-1", quantity=1, amount=990.0,
    )  # fmt: skip
    result = events_service.track(
        session, keyring=keyring, policy=policy, event=event, now=now, actor="test"
    )
    assert result.status == "accepted", result
    return result.message_id


def rights_permit(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    *,
    now: datetime = NOW,
) -> Permit:
    """A real permit from the door to answer the subject's own request (``ANSWER_RIGHTS``)."""
    return policy_service.authorize(
        session,
        policy=policy,
        keyring=keyring,
        subject_id=subject_id,
        purpose="rights_requests",
        categories=policy.purposes["rights_requests"].categories,
        now=now,
        actor="test",
        action=Action.ANSWER_RIGHTS,
    )
