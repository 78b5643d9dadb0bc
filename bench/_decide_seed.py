"""Fast bulk seeding for ``bench/decide.py``: a brand with 10,000+ customers and 2,000+ items.

Everything goes through the domain services, in their bulk forms where they have one: subjects via
``profiles.identity_resolve.resolve_many``, items via ``catalog.service.upsert_many``, events via
``events.service.ingest`` (1,000 per call, the consent gate applies), grants and withdrawals via
``consent.service.record`` (one audit entry per 500-customer chunk: seeding is one operation), the
demo offers, then ``insights.refresh_all`` and ``recommend.train``. Deterministic per seed.

The consent mix (of customers): 70 % recommendations + offers, 10 % of them later withdraw one
or both (TH-CON-03), 10 % recommendations only, 20 % nothing (they still buy, TH-CON-02; their
browsing is dropped at the gate). All data is fictional.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from rujai.apikeys import service as apikeys_service
from rujai.audit import service as audit_service
from rujai.catalog import service as catalog_service
from rujai.catalog.schemas import ItemCreate
from rujai.consent import service as consent_service
from rujai.consent.schemas import ConsentCreate
from rujai.demo.offers import DEMO_OFFERS
from rujai.demo.products import BACKGROUND, CATEGORY_IDS, SEGMENT_SHARES, SEGMENTS, catalogue
from rujai.events import service as events_service
from rujai.events.schemas import TrackEvent
from rujai.kit.crypto import Keyring
from rujai.personalize import (
    insights as insights_service,
    offers as offers_service,
    recommend as recommend_service,
)
from rujai.policy.schemas import Policy
from rujai.profiles import identity_resolve
from rujai.profiles.schemas import SubjectRef
from rujai.writer import session_scope

RECS, OFFERS = "recommendations", "personalized_offers"
CHUNK = 1_000  # customers per resolve_many call; events per ingest call
CONSENT_CHUNK = 500  # customers per consent transaction (one batched audit entry)
HISTORY_DAYS = 300
ACTOR = "bench-seed"
# label, share, purposes granted at signup, purposes withdrawn later
MIX: tuple[tuple[str, float, tuple[str, ...], tuple[str, ...]], ...] = (
    ("recs_offers", 0.63, (RECS, OFFERS), ()),
    ("withdrew_offers", 0.035, (RECS, OFFERS), (OFFERS,)),
    ("withdrew_all", 0.035, (RECS, OFFERS), (RECS, OFFERS)),
    ("recs_only", 0.10, (RECS,), ()),
    ("nothing", 0.20, (), ()),
)
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Seeded:
    """What was seeded: customer ids with their consent label, item ids, the API key."""

    customers: dict[str, str]
    items: list[str]
    events_sent: int
    events_accepted: int
    model_version: str
    api_key: str
    seconds: float


def customer_id(number: int) -> str:
    """A fictional customer id of the bench brand."""
    return f"BD-{number:06d}"


def seed(
    factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    policy: Policy,
    subjects: int,
    items: int,
    now: datetime,
    say: Say,
    seed_value: int = 2026,
) -> Seeded:
    """Seed the whole brand into the (migrated, empty) database behind ``factory``."""
    started = time.perf_counter()
    timed: Say = lambda line: say(f"{line} ({time.perf_counter() - started:.0f} s)")  # noqa: E731
    skus = _seed_items(factory, items, now)
    mix = labels(subjects, seed_value)
    _seed_subjects(factory, keyring, list(mix), now)
    timed(f"{len(skus)} items, {subjects} subjects")
    _seed_consents(factory, keyring, policy, mix, now - timedelta(days=HISTORY_DAYS + 5), "g")
    timed("grants recorded")
    sent, accepted = _seed_events(factory, keyring, policy, mix, skus, seed_value, now, timed)
    _seed_consents(factory, keyring, policy, mix, now - timedelta(hours=2), "w")
    with session_scope(factory) as session:
        offers = offers_service.parse_offers(DEMO_OFFERS)
        offers_service.create_many(session, policy=policy, offers=offers, now=now, actor=ACTOR)
    timed("withdrawals and offers recorded; computing insights")
    insights_service.refresh_all(factory, keyring=keyring, policy=policy, now=now, actor=ACTOR)
    with session_scope(factory) as session:
        info = recommend_service.train(
            session, keyring=keyring, policy=policy, now=now, actor=ACTOR
        )
        key = apikeys_service.create(session, name="bench", scopes=["decide"], now=now)
    timed(f"recommender {info.version}: {info.n_users} members, {info.n_items} items")
    seconds = time.perf_counter() - started
    return Seeded(mix, list(skus), sent, accepted, info.version, key.key, seconds)


# --- items and subjects --------------------------------------------------------------------------


def item_ids(count: int) -> list[str]:
    """The SKUs ``seed`` creates for ``count`` items, in order."""
    return [item.id for item in _item_creates(count)]


def _item_creates(count: int) -> list[ItemCreate]:
    """The 450 demo products, then model variants of them up to ``count`` items."""
    base = catalogue()
    made: list[ItemCreate] = []
    for n in range(count):
        product, model = base[n % len(base)], n // len(base)
        suffix_th, suffix_en = (f" รุ่น {model + 1}", f" (model {model + 1})") if model else ("", "")
        made.append(
            ItemCreate(
                id=product.sku if not model else f"{product.sku}-M{model + 1}",
                name_th=product.name_th + suffix_th,
                name_en=product.name_en + suffix_en,
                product_category=product.category,
                price_thb=product.price,
            )
        )
    return made


def _seed_items(factory: sessionmaker[Session], count: int, now: datetime) -> dict[str, str]:
    """Upsert the items; return each SKU's category."""
    creates = _item_creates(count)
    with session_scope(factory) as session:
        catalog_service.upsert_many(session, items=creates, now=now - timedelta(days=400))
    return {item.id: item.product_category for item in creates}


def labels(subjects: int, seed_value: int) -> dict[str, str]:
    """Each customer's consent label, drawn from ``MIX``."""
    rng = random.Random(f"decide-bench-mix:{seed_value}")
    names = [label for label, *_ in MIX]
    cum = list(accumulate(share for _, share, *_ in MIX))
    return {customer_id(n): rng.choices(names, cum_weights=cum)[0] for n in range(subjects)}


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    return (values[i : i + size] for i in range(0, len(values), size))


def _seed_subjects(
    factory: sessionmaker[Session], keyring: Keyring, customers: list[str], now: datetime
) -> None:
    signup = now - timedelta(days=HISTORY_DAYS + 10)
    for chunk in _chunks(customers, CHUNK):
        refs = [SubjectRef(customer_id=c, anonymous_id=None) for c in chunk]
        with session_scope(factory) as session:
            identity_resolve.resolve_many(
                session, keyring=keyring, refs=refs, now=signup, create=True
            )


# --- consents ------------------------------------------------------------------------------------


def _changes(label: str, step: str) -> list[tuple[str, str]]:
    """(purpose, action) pairs of ``label`` for step ``g`` (grants) or ``w`` (withdrawals)."""
    _, _, granted, withdrawn = next(m for m in MIX if m[0] == label)
    if step == "g":
        return [(p, "grant") for p in granted]
    return [(p, "withdraw") for p in withdrawn]


def _seed_consents(
    factory: sessionmaker[Session],
    keyring: Keyring,
    policy: Policy,
    mix: dict[str, str],
    at: datetime,
    step: str,
) -> None:
    """Record every customer's grants (or withdrawals), 500 customers per transaction."""
    for chunk in _chunks(list(mix), CONSENT_CHUNK):
        with (
            session_scope(factory) as session,
            audit_service.batched(session, actor=ACTOR, action="bench.seed.consents", now=at),
        ):
            for customer in chunk:
                for purpose, action in _changes(mix[customer], step):
                    consent_service.record(
                        session, keyring=keyring, policy=policy, customer_id=customer,
                        change=_consent(policy, purpose, action), now=at,
                        evidence_ip=None, evidence_user_agent=None, by=ACTOR,
                    )  # fmt: skip


def _consent(policy: Policy, purpose: str, action: str) -> ConsentCreate:
    if action == "withdraw":
        return ConsentCreate(purpose=purpose, action="withdraw", language="th", channel="web")
    return ConsentCreate(
        purpose=purpose, action="grant", language="th", channel="web", actor="self",
        notice_version=policy.purposes[purpose].notice.version, explicit=False,
    )  # fmt: skip


# --- events --------------------------------------------------------------------------------------


class _Shop:
    """Items by category, Zipf-popular within each."""

    def __init__(self, category: dict[str, str], rng: random.Random) -> None:
        by_category: dict[str, list[str]] = {c: [] for c in CATEGORY_IDS}
        self.category = category
        for sku, name in category.items():
            by_category[name].append(sku)
        for items in by_category.values():
            rng.shuffle(items)
        self.by_category = by_category
        self.cum = {
            c: list(accumulate(1 / (r + 1) ** 0.9 for r in range(len(items))))
            for c, items in by_category.items()
        }

    def pick(self, rng: random.Random, weights: dict[str, float]) -> str:
        category = rng.choices(list(weights), weights=list(weights.values()))[0]
        return rng.choices(self.by_category[category], cum_weights=self.cum[category])[0]


def _weights(rng: random.Random) -> dict[str, float]:
    segment = rng.choices(list(SEGMENT_SHARES), weights=list(SEGMENT_SHARES.values()))[0]
    preferred = SEGMENTS[segment]
    total = sum(preferred.values())
    return {
        c: (1 - BACKGROUND) * preferred.get(c, 0.0) / total + BACKGROUND / len(CATEGORY_IDS)
        for c in CATEGORY_IDS
    }


def _customer_events(
    rng: random.Random, shop: _Shop, customer: str, now: datetime
) -> list[TrackEvent]:
    """A few orders (1-2 lines each) and product views over the last ``HISTORY_DAYS`` days."""
    weights, events = _weights(rng), []
    for _ in range(min(12, int(rng.expovariate(1 / 2.5)))):
        at = now - timedelta(days=rng.uniform(1, HISTORY_DAYS))
        for line in range(rng.choice((1, 1, 1, 2))):
            sku = shop.pick(rng, weights)
            props = {
                "order_id": f"BO-{rng.getrandbits(40):010X}", "item_id": sku,
                "category": shop.category[sku], "quantity": 1,
                "amount": float(100 + rng.randrange(3000)), "currency": "THB",
            }  # fmt: skip
            events.append(_event("purchase", customer, at + timedelta(seconds=line), props, rng))
    for _ in range(rng.randrange(0, 10)):
        at = now - timedelta(days=rng.uniform(1, HISTORY_DAYS))
        sku = shop.pick(rng, weights)
        props = {"item_id": sku, "category": shop.category[sku]}
        events.append(_event("product_view", customer, at, props, rng))
    return events


def _event(
    kind: str, customer: str, at: datetime, props: dict[str, Any], rng: random.Random
) -> TrackEvent:
    return TrackEvent.model_construct(
        type=kind, customer_id=customer, anonymous_id=None, properties=props, timestamp=at,
        message_id=f"bd-{rng.getrandbits(64):016x}",
    )  # fmt: skip


def _seed_events(
    factory: sessionmaker[Session],
    keyring: Keyring,
    policy: Policy,
    mix: dict[str, str],
    skus: dict[str, str],
    seed_value: int,
    now: datetime,
    say: Say,
) -> tuple[int, int]:
    """Ingest every customer's history, 1,000 events per call; return (sent, accepted)."""
    rng = random.Random(f"decide-bench-events:{seed_value}")
    shop = _Shop(skus, rng)
    pending: list[TrackEvent] = []
    sent = accepted = 0
    for customer in mix:
        pending += _customer_events(rng, shop, customer, now)
        while len(pending) >= CHUNK:
            accepted += _ingest(factory, keyring, policy, pending[:CHUNK], now)
            sent, pending = sent + CHUNK, pending[CHUNK:]
    if pending:
        accepted += _ingest(factory, keyring, policy, pending, now)
        sent += len(pending)
    say(f"{sent} events sent, {accepted} accepted by the consent gate")
    return sent, accepted


def _ingest(
    factory: sessionmaker[Session],
    keyring: Keyring,
    policy: Policy,
    batch: list[TrackEvent],
    now: datetime,
) -> int:
    with session_scope(factory) as session:
        summary = events_service.ingest(
            session, keyring=keyring, policy=policy, events=batch, source="import",
            is_partner_data=False, now=now, actor=ACTOR, want_results=False,
        )  # fmt: skip
    return summary.accepted
