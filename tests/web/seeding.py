"""A small fictional shop for the web tests and the docs screenshots.

Twelve customers who consent to recommendations buy from a kitchen-or-fashion catalogue; the
recommender is trained on them. ``SIGNED_IN`` is a customer with a verified e-mail who has not
consented to anything yet (TH-CON-01: everything off until they turn it on).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.catalog import service as catalog_service
from rujai.catalog.schemas import ItemCreate
from rujai.consent import service as consent_service
from rujai.consent.schemas import ConsentCreate
from rujai.events import service as events_service
from rujai.events.schemas import TrackEvent
from rujai.kit.crypto import Keyring
from rujai.personalize import recommend
from rujai.policy.schemas import Policy
from rujai.profiles import identities, service as profiles_service, traits as profiles_traits
from rujai.rights import notifier
from rujai.writer import session_scope
from tests.factories import declare_age

SIGNED_IN = "C-100"
SIGNED_IN_EMAIL = "somchai.jaidee@example.com"
KITCHEN = [f"KIT-{i}" for i in range(6)]
FASHION = [f"FAS-{i}" for i in range(6)]
KITCHEN_NAMES = ["กระทะเหล็กหล่อ", "ชุดมีดครัว", "เขียงไม้สัก", "หม้อหุงข้าว", "ชุดถ้วยชาม", "ผ้ากันเปื้อน"]
CODE = re.compile(r"\b(\d{6})\b")


def items() -> list[ItemCreate]:
    """The catalogue: six kitchen and six fashion products."""
    out = []
    for i, sku in enumerate(KITCHEN + FASHION):
        kitchen = sku.startswith("KIT")
        out.append(
            ItemCreate(
                id=sku,
                name_th=KITCHEN_NAMES[i] if kitchen else f"เสื้อผ้าฝ้าย แบบที่ {i - 5}",
                name_en=f"Kitchen item {i + 1}" if kitchen else f"Cotton shirt {i - 5}",
                product_category="kitchen" if kitchen else "fashion",
                price_thb=Decimal("390"),
            )
        )
    return out


def buy(session: Session, keyring: Keyring, policy: Policy, customer_id: str, skus, now) -> None:
    """Ingest one purchase per SKU, a day apart, ending at ``now``."""
    events = [
        TrackEvent(
            type="purchase",
            customer_id=customer_id,
            timestamp=now - timedelta(days=i + 1),
            properties={
                "order_id": f"O-{customer_id}-{i}",
                "item_id": sku,
                "category": "kitchen" if sku.startswith("KIT") else "fashion",
                "quantity": 1,
                "amount": 390.0,
            },
        )
        for i, sku in enumerate(skus)
    ]
    events_service.ingest(
        session, keyring=keyring, policy=policy, events=events, source="api",
        is_partner_data=False, now=now, actor="test",
    )  # fmt: skip


def grant(session: Session, keyring: Keyring, policy: Policy, customer_id: str, purpose: str, now):
    """Record a grant by an adult customer (declared, TH-MIN-01) on the web, in Thai."""
    declare_age(session, keyring, customer_id, now=now)
    change = ConsentCreate(
        purpose=purpose, action="grant", language="th", channel="web", actor="self",
        notice_version=policy.purposes[purpose].notice.version,
    )  # fmt: skip
    consent_service.record(
        session, keyring=keyring, policy=policy, customer_id=customer_id, change=change,
        now=now, evidence_ip=None, evidence_user_agent=None,
    )  # fmt: skip


def seed_shop(
    factory: sessionmaker[Session], *, keyring: Keyring, policy: Policy, now: datetime | None = None
) -> str:
    """Seed the shop, train the recommender and return an API key with the decide scope."""
    now = now or datetime.now(UTC)
    recommend.clear_caches()
    with session_scope(factory) as s:
        catalog_service.upsert_many(s, items=items(), now=now)
        for n in range(12):
            cid = f"C-{n:03d}"
            skus = KITCHEN if n < 6 else FASHION
            grant(s, keyring, policy, cid, "recommendations", now - timedelta(days=30))
            buy(s, keyring, policy, cid, [skus[(n + j) % 6] for j in range(4)], now)
        subject = profiles_service.get_or_create(s, keyring=keyring, customer_id=SIGNED_IN, now=now)
        profiles_traits.set_traits(
            s, keyring=keyring, policy=policy, subject_id=subject.id, source="api", now=now,
            traits={"email": SIGNED_IN_EMAIL, "first_name": "สมชาย", "last_name": "ใจดี"},
        )  # fmt: skip
        identities.add_identity(
            s, keyring=keyring, subject_id=subject.id, kind="email", value=SIGNED_IN_EMAIL,
            verified=True, now=now,
        )  # fmt: skip
        buy(s, keyring, policy, SIGNED_IN, KITCHEN[:3], now)
        recommend.train(s, keyring=keyring, policy=policy, now=now)
    with session_scope(factory) as s:
        return apikeys_service.create(s, name="web-tests", scopes=["decide"], now=now).key


def latest_code(factory: sessionmaker[Session], *, keyring: Keyring) -> str:
    """Read the newest one-time code from the outbox (the demo's stand-in for e-mail)."""
    with session_scope(factory) as s:
        messages = notifier.list_outbox(
            s, keyring=keyring, limit=5, now=datetime.now(UTC), actor="test"
        )
    for message in messages:
        found = CODE.search(message.body or "")
        if found:
            return found.group(1)
    raise AssertionError("no code in the outbox")
