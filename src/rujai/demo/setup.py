"""Everything ``rujai demo`` prepares after migrations: seed, offers, insights, recommender."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from rujai.demo import seed as demo_seed
from rujai.demo.offers import DEMO_OFFERS
from rujai.kit.crypto import Keyring
from rujai.personalize import (
    insights as insights_service,
    offers as offers_service,
    recommend as recommend_service,
)
from rujai.policy.schemas import Policy
from rujai.writer import session_scope

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoReady:
    seeded: bool
    customers: int
    model_version: str | None
    seconds: float


def prepare(
    factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    policy: Policy,
    customers: int,
    now: datetime,
    say: Say,
    seed: int = 7,
) -> DemoReady:
    """Seed the brand once, then add offers, compute insights and train the recommender."""
    started = time.perf_counter()
    seeded = demo_seed.ensure_seeded(
        factory,
        keyring=keyring,
        policy=policy,
        seed=seed,
        customers=customers,
        now=now,
        progress=lambda done, total: _every(done, total, say),
    )
    with session_scope(factory) as session:
        if not offers_service.list_offers(session):
            offers = offers_service.parse_offers(DEMO_OFFERS)
            offers_service.create_many(session, policy=policy, offers=offers, now=now, actor="demo")
    say("computing insights (RFM, VIP tiers, churn risk, category affinity)")
    insights_service.refresh_all(factory, keyring=keyring, policy=policy, now=now, actor="demo")
    with session_scope(factory) as session:
        info = recommend_service.train(
            session, keyring=keyring, policy=policy, now=now, actor="demo"
        )
    say(f"recommender {info.version}: {info.n_users} customers, {info.n_items} products")
    return DemoReady(seeded, customers, info.version, time.perf_counter() - started)


def _every(done: int, total: int, say: Say) -> None:
    if done == total or done % 500 == 0:
        say(f"seeded {done:,}/{total:,} customers")
