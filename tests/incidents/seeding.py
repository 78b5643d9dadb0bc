"""Seeded data for the breach register's tests: four fictional customers around one window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from rujai.events import service as events_service
from rujai.incidents.schemas import IncidentCreate
from rujai.kit.crypto import Keyring
from rujai.policy.schemas import Policy
from rujai.profiles import traits as profiles_traits
from tests.factories import NOW, make_consent, make_subject, track_event

WINDOW_FROM = NOW - timedelta(days=2)
WINDOW_TO = NOW


@dataclass(frozen=True)
class Seeded:
    adult: object
    minor: object
    outside: object
    sensitive: object


def _purchase(session: Session, keyring: Keyring, policy: Policy, customer: str, order: str, at):
    event = track_event(
        customer_id=customer,
        timestamp=at,
        message_id=order,
        order_id=order,
        item_id="SKU-1",
        quantity=1,
        amount=590.0,
    )
    result = events_service.track(
        session, keyring=keyring, policy=policy, event=event, now=NOW, actor="test"
    )
    assert result.status == "accepted", result


def seed(session: Session, keyring: Keyring, policy: Policy) -> Seeded:
    """A: adult, two purchases in the window and an e-mail; B: a minor (14) with one purchase;
    C: a purchase before the window; D: an allergy (health, sensitive) with explicit consent."""
    adult = make_subject(session, keyring, "C-INC-A", now=NOW - timedelta(days=5))
    _purchase(session, keyring, policy, "C-INC-A", "ORD-A1", NOW - timedelta(hours=1))
    _purchase(session, keyring, policy, "C-INC-A", "ORD-A2", NOW - timedelta(hours=2))
    profiles_traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=adult.id,
        traits={"email": "somsri.a@example.com"}, source="api", now=NOW - timedelta(days=3),
    )  # fmt: skip
    minor = make_subject(session, keyring, "C-INC-B", birth_date=date(2012, 3, 1))
    _purchase(session, keyring, policy, "C-INC-B", "ORD-B1", NOW - timedelta(hours=5))
    outside = make_subject(session, keyring, "C-INC-C")
    _purchase(session, keyring, policy, "C-INC-C", "ORD-C1", NOW - timedelta(days=10))
    sensitive = make_subject(session, keyring, "C-INC-D")
    make_consent(session, keyring, policy, "health_tailored_offers", customer_id="C-INC-D")
    profiles_traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=sensitive.id,
        traits={"allergies": "แพ้ถั่ว"}, source="api", now=NOW - timedelta(days=1),
    )  # fmt: skip
    session.flush()
    return Seeded(adult, minor, outside, sensitive)


def incident_body(**overrides: object) -> IncidentCreate:
    fields: dict[str, object] = {
        "title": "ฐานข้อมูลสำรองเปิดสาธารณะ (backup bucket left public)",
        "description": "A backup bucket was readable without a password for two days.",
        "aware_at": NOW,
        "occurred_from": WINDOW_FROM,
        "occurred_to": WINDOW_TO,
        "systems": ["backup-bucket"],
        "categories": ["purchase_history", "contact", "health"],
    }
    fields.update(overrides)
    return IncidentCreate.model_validate(fields)
