"""How the demo customers shop: browsing sessions and CDNOW-shaped orders, as ``TrackEvent``s.

Orders: 8 % of customers never buy; the others buy a first time soon after signing up, then keep
buying with a personal loyalty drawn from Beta(0.9, 0.9) (so about half buy once and a few buy
often, as in CDNOW), with log-normal gaps (median 20 to 120 days, sigma 1: heavy-tailed). Every
order ends a session of search or category page, product views and add-to-cart; extra sessions
browse without buying. Categories follow the customer's own weights, drawn around the segment's.

Properties are exactly those ``examples/policy.yaml`` declares per event type (TH-MIN-02). Message
and order ids are random (from the customer's generator), never derived from the customer id.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from itertools import accumulate
from typing import Any

from rujai.demo.products import (
    BACKGROUND,
    CATEGORY_IDS,
    SEGMENT_SHARES,
    SEGMENTS,
    Product,
    catalogue as build_catalogue,
)
from rujai.events.schemas import TrackEvent

BROWSE_ONLY = 0.08
SESSIONS_WITHOUT_ORDER = 1.6  # mean number of sessions that browse without buying
BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")
MAX_ORDERS = 40
POPULARITY_EXPONENT = 0.9
REFERRERS = ("https://www.google.com/", "https://line.me/", "https://www.facebook.com/", None)
Raw = tuple[datetime, str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Shop:
    """The catalogue with a popularity per item (Zipf over an order that depends on the seed)."""

    products: tuple[Product, ...]
    by_category: dict[str, tuple[Product, ...]]
    cum_weights: dict[str, tuple[float, ...]]
    segment_shares: dict[str, float]

    @classmethod
    def build(cls, seed: int) -> Shop:
        """Return the shop with best-sellers shuffled by ``seed``."""
        rng = random.Random(f"rujai-demo-shop:{seed}")  # noqa: S311 - made-up data, not secrets
        products = tuple(build_catalogue())
        by_category: dict[str, tuple[Product, ...]] = {}
        cum_weights: dict[str, tuple[float, ...]] = {}
        for category in CATEGORY_IDS:
            ranked = [p for p in products if p.category == category]
            rng.shuffle(ranked)
            by_category[category] = tuple(ranked)
            weights = (1 / (rank + 1) ** POPULARITY_EXPONENT for rank in range(len(ranked)))
            cum_weights[category] = tuple(accumulate(weights))
        return cls(products, by_category, cum_weights, dict(SEGMENT_SHARES))

    def pick(self, rng: random.Random, category: str) -> Product:
        """Draw an item of ``category`` by popularity."""
        return rng.choices(self.by_category[category], cum_weights=self.cum_weights[category])[0]

    def top_categories(self, segment: str, count: int) -> list[str]:
        """Return the segment's favourite categories, most liked first."""
        ranked = sorted(SEGMENTS[segment].items(), key=lambda kv: (-kv[1], kv[0]))
        return [category for category, _ in ranked[:count]]


@dataclass(frozen=True, slots=True)
class History:
    """A customer's events in time order, and how many orders they contain."""

    events: tuple[TrackEvent, ...]
    orders: int


def history(
    rng: random.Random,
    shop: Shop,
    *,
    customer_id: str,
    segment: str,
    signup: datetime,
    now: datetime,
) -> History:
    """Draw a customer's browsing and orders between ``signup`` and ``now``."""
    weights = _category_weights(rng, segment)
    raw: list[Raw] = []
    orders = _order_times(rng, signup, now)
    first, last = signup + timedelta(hours=1), now - timedelta(hours=1)
    for at in orders:
        raw += _order_session(rng, shop, weights, _opening_hours(rng, at, first, last))
    for _ in range(min(12, int(rng.expovariate(1 / SESSIONS_WITHOUT_ORDER)))):
        at = first + (last - first) * rng.random()
        raw += _browse_session(rng, shop, weights, _opening_hours(rng, at, first, last))
    return History(events=_track_events(rng, customer_id, raw), orders=len(orders))


def _track_events(rng: random.Random, customer_id: str, raw: list[Raw]) -> tuple[TrackEvent, ...]:
    """Events in time order with random message ids.

    Built without validation: the shapes are right by construction and ingest checks every event
    against the policy anyway (TH-MIN-02).
    """
    raw.sort(key=lambda r: r[0])
    return tuple(
        TrackEvent.model_construct(
            type=kind,
            customer_id=customer_id,
            anonymous_id=None,
            properties=props,
            timestamp=at,
            message_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        )
        for at, kind, props in raw
    )


def _category_weights(rng: random.Random, segment: str) -> dict[str, float]:
    """The customer's taste: the segment's weights plus background, jittered per customer."""
    preferred = SEGMENTS[segment]
    total = sum(preferred.values())
    return {
        c: ((1 - BACKGROUND) * preferred.get(c, 0.0) / total + BACKGROUND / len(CATEGORY_IDS))
        * rng.lognormvariate(0, 0.35)
        for c in CATEGORY_IDS
    }


def _order_times(rng: random.Random, signup: datetime, now: datetime) -> list[datetime]:
    if rng.random() < BROWSE_ONLY:
        return []
    loyalty = rng.betavariate(0.9, 0.9)
    median_gap_days = 20 + 100 * (1 - loyalty)
    at = signup + timedelta(hours=1 + rng.expovariate(1 / 72))
    times: list[datetime] = []
    while at < now - timedelta(hours=1) and len(times) < MAX_ORDERS:
        times.append(at)
        if rng.random() > loyalty:
            break
        at += timedelta(days=rng.lognormvariate(math.log(median_gap_days), 1.0))
    return times


def _opening_hours(rng: random.Random, at: datetime, first: datetime, last: datetime) -> datetime:
    """Move ``at`` to between 08:00 and 23:59 Bangkok time on its day, if that stays in range."""
    local = at.astimezone(BANGKOK)
    moved = local.replace(hour=rng.randint(8, 23), minute=rng.randrange(60)).astimezone(UTC)
    return moved if first <= moved <= last else at


def _pick_category(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _Clock:
    """Moves through a session by a few seconds to a few minutes per step."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def next(self, rng: random.Random) -> datetime:
        self.at += timedelta(seconds=rng.uniform(15, 180))
        return self.at


def _entry(rng: random.Random, clock: _Clock, category: str, product: Product) -> Raw:
    """A session starts with a search (the product's name) or the category page."""
    if rng.random() < 0.5:
        query = product.base.th if rng.random() < 0.7 else product.base.en
        return (clock.next(rng), "search", {"query": query})
    props: dict[str, Any] = {"path": f"/c/{category}"}
    referrer = rng.choice(REFERRERS)
    if referrer is not None:
        props["referrer"] = referrer
    return (clock.next(rng), "page_view", props)


def _view(at: datetime, product: Product) -> Raw:
    return (at, "product_view", {"item_id": product.sku, "category": product.category})


def _quantity(rng: random.Random, price: Decimal) -> int:
    if price < 150:
        return rng.randint(1, 4)
    return 2 if rng.random() < 0.08 else 1


def _order_session(
    rng: random.Random, shop: Shop, weights: dict[str, float], at: datetime
) -> list[Raw]:
    """Browse, put one to three items in the cart and buy them."""
    lines = rng.choices((1, 2, 3), weights=(0.75, 0.2, 0.05))[0]
    bought = [shop.pick(rng, _pick_category(rng, weights)) for _ in range(lines)]
    clock = _Clock(at)
    raw = [_entry(rng, clock, bought[0].category, bought[0])]
    cart: list[tuple[Product, int]] = []
    for product in bought:
        for other in (shop.pick(rng, product.category) for _ in range(rng.randint(0, 2))):
            raw.append(_view(clock.next(rng), other))
        raw.append(_view(clock.next(rng), product))
        quantity = _quantity(rng, product.price)
        cart.append((product, quantity))
        raw.append((clock.next(rng), "add_to_cart", _cart_props(product, quantity)))
    order_id = f"SO-{rng.getrandbits(48):012X}"
    paid_at = clock.next(rng)
    for product, quantity in cart:
        raw.append((paid_at, "purchase", _purchase_props(order_id, product, quantity)))
    return raw


def _browse_session(
    rng: random.Random, shop: Shop, weights: dict[str, float], at: datetime
) -> list[Raw]:
    """Look around a category and sometimes leave something in the cart."""
    category = _pick_category(rng, weights)
    clock = _Clock(at)
    home: dict[str, Any] = {"path": rng.choice(("/", "/", "/promotions", "/new"))}
    raw: list[Raw] = [(clock.next(rng), "page_view", home)]
    viewed = [shop.pick(rng, category) for _ in range(rng.randint(1, 4))]
    raw.append(_entry(rng, clock, category, viewed[0]))
    raw += [_view(clock.next(rng), product) for product in viewed]
    if rng.random() < 0.25:
        product = viewed[-1]
        raw.append((clock.next(rng), "add_to_cart", _cart_props(product, 1)))
    return raw


def _cart_props(product: Product, quantity: int) -> dict[str, Any]:
    return {"item_id": product.sku, "quantity": quantity, "price": float(product.price)}


def _purchase_props(order_id: str, product: Product, quantity: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "item_id": product.sku,
        "category": product.category,
        "quantity": quantity,
        "amount": float(product.price * quantity),
        "currency": "THB",
    }
