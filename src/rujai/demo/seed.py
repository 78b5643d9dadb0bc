"""Seed the demo: Baan Suay Living's catalogue and made-up customers with consents and histories.

Everything goes through the domain services (consent ledger, profiles, traits, the events ingest
with its consent gate), so the demo data obeys the same rules as real data: browsing events of a
customer without a permitting consent are dropped and counted, never stored (DESIGN "track").

Deterministic: a customer's plan depends only on ``(seed, number, now)`` (its own
``random.Random``), and the catalogue is fixed. Dates fall in the 540 days before ``now``.

Each customer is written in time order, as it would have happened: profile and consents at
signup, traits, then events in batches cut at every later consent change, each batch ingested "as
of" its last event, so the gate applies the consents of that moment (TH-CON-03: events after a
withdrawal are dropped). The consent mix is in ``demo.consents``, the shopping in ``demo.history``.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session, sessionmaker

from rujai.audit import service as audit_service
from rujai.catalog import service as catalog_service
from rujai.catalog.schemas import ItemCreate
from rujai.consent import service as consent_service
from rujai.demo import names
from rujai.demo.consents import OFFERS, Change, consent_plan, weighted
from rujai.demo.history import History, Shop, history
from rujai.errors import Invalid
from rujai.events import service as events_service
from rujai.events.schemas import IngestSummary, TrackEvent
from rujai.kit.crypto import Keyring
from rujai.kit.time import age_on
from rujai.policy.schemas import Policy
from rujai.profiles import (
    identities as profiles_identities,
    service as profiles_service,
    traits as profiles_traits,
)
from rujai.writer import session_scope

WINDOW_DAYS = 540
CHUNK = 200
MAX_CUSTOMERS = 70_000  # fictional phone numbers stay unique up to here (``names.phone``)
ACTOR = "demo-seed"
Progress = Callable[[int, int], None]

PHONE_SHARE = 0.7
ALLERGIES = ("แพ้น้ำหอม", "แพ้ถั่ว", "แพ้ไรฝุ่น", "ผิวแพ้ง่าย")
USER_AGENTS = {"web": "Mozilla/5.0 (demo browser)", "app": "BaanSuayApp/3.2 (demo)"}


class SeedSummary(BaseModel):
    """What a seed run created; ``consent_mix`` counts customers per ``demo.consents`` label.

    ``minors`` are 10 to 19 and ``children`` under 10 at ``now``; ``seconds`` (wall clock) is the
    only field that differs between two runs with the same arguments.
    """

    model_config = ConfigDict(frozen=True)

    items: int
    customers: int
    minors: int
    children: int
    orders: int
    events_sent: int
    events_accepted: int
    events_dropped: int
    dropped_by_reason: dict[str, int]
    undeclared_properties: int
    consent_records: int
    consent_mix: dict[str, int]
    health_explicit: int
    seconds: float


@dataclass(slots=True)
class Plan:
    """Everything one customer will do, decided before anything is written."""

    number: int
    customer_id: str
    person: names.Person
    birth_date: date
    segment: str
    label: str
    signup: datetime
    changes: list[Change]
    history: History
    traits: dict[str, Any] = field(default_factory=dict)


def seed(
    session_factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    policy: Policy,
    seed: int = 7,
    customers: int = 3000,
    now: datetime,
    progress: Progress | None = None,
) -> SeedSummary:
    """Seed the catalogue and ``customers`` made-up customers, 200 per transaction."""
    return _run(session_factory, keyring, policy, seed, customers, now, progress)


def ensure_seeded(
    session_factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    policy: Policy,
    seed: int = 7,
    customers: int = 3000,
    now: datetime,
    progress: Progress | None = None,
) -> bool:
    """Seed only when the catalogue is empty (re-running the demo adds nothing); say if it did."""
    with session_scope(session_factory) as session:
        if catalog_service.count(session) > 0:
            return False
    _run(session_factory, keyring, policy, seed, customers, now, progress)
    return True


def plan_customer(*, seed: int, number: int, now: datetime, policy: Policy, shop: Shop) -> Plan:
    """Decide one customer's profile, consents and history from ``(seed, number, now)`` alone."""
    rng = random.Random(f"rujai-demo:{seed}:{number}")  # noqa: S311 - made-up data, not secrets
    person = names.made_up_person(rng)
    age = _age(rng)
    segment = weighted(rng, shop.segment_shares)
    birth = now.date() - timedelta(days=int(age * 365.25))
    signup = now - timedelta(days=WINDOW_DAYS) + timedelta(days=rng.uniform(0, WINDOW_DAYS - 14))
    customer_id = names.customer_id(number)
    events = history(rng, shop, customer_id=customer_id, segment=segment, signup=signup, now=now)
    label, changes = consent_plan(
        rng, policy, age=age_on(birth, now.date()), signup=signup, now=now, number=number
    )
    plan = Plan(number, customer_id, person, birth, segment, label, signup, changes, events)
    plan.traits = _traits(rng, plan, shop)
    return plan


def _run(
    factory: sessionmaker[Session],
    keyring: Keyring,
    policy: Policy,
    seed: int,
    customers: int,
    now: datetime,
    progress: Progress | None,
) -> SeedSummary:
    if now.tzinfo is None:
        raise Invalid("now must be timezone-aware", field="now")
    if not 0 <= customers <= MAX_CUSTOMERS:
        raise Invalid(f"customers must be 0 to {MAX_CUSTOMERS}", field="customers")
    started = time.perf_counter()
    shop = Shop.build(seed)
    with session_scope(factory) as session:
        items = catalog_service.upsert_many(
            session, items=_items(shop), now=now - timedelta(days=WINDOW_DAYS + 30)
        )
    tally = _Tally()
    for first in range(1, customers + 1, CHUNK):
        last = min(first + CHUNK - 1, customers)
        with (
            session_scope(factory) as session,
            audit_service.batched(session, actor="demo", action="demo.seed", now=now),
        ):
            # Seeding is one operation: one audit entry per chunk, with counts per action.
            for number in range(first, last + 1):
                plan = plan_customer(seed=seed, number=number, now=now, policy=policy, shop=shop)
                _write(session, keyring, policy, plan, now, tally)
        if progress is not None:
            progress(last, customers)
    return tally.summary(items, customers, time.perf_counter() - started)


def _items(shop: Shop) -> list[ItemCreate]:
    return [
        ItemCreate(
            id=p.sku,
            name_th=p.name_th,
            name_en=p.name_en,
            product_category=p.category,
            price_thb=p.price,
        )
        for p in shop.products
    ]


def _age(rng: random.Random) -> float:
    """About 1 % under 10, 6 % 10 to 19, the rest adults (mostly 22 to 55)."""
    u = rng.random()
    if u < 0.01:
        return rng.uniform(7, 9.9)
    if u < 0.07:
        return rng.uniform(10, 19.9)
    return min(78.0, 20 + rng.lognormvariate(math.log(14), 0.55))


def _traits(rng: random.Random, plan: Plan, shop: Shop) -> dict[str, Any]:
    """Contact and identity for all; birth date and gender only where offers may use them.

    The birth date is always stored on the profile first, for the age rules (TH-MIN-01); it is
    also a trait (category ``age``) where offers may use it.
    """
    person = plan.person
    traits: dict[str, Any] = {
        "email": names.email(person, plan.number),
        "first_name": person.first.th,
        "last_name": person.last.th,
    }
    if rng.random() < PHONE_SHARE:
        traits["phone"] = names.phone(plan.number)
    if any(c.consent and c.consent.purpose == OFFERS for c in plan.changes if c.at == plan.signup):
        traits |= {"birth_date": plan.birth_date.isoformat(), "gender": person.gender}
    if rng.random() < 0.4:
        traits["preferred_categories"] = ",".join(shop.top_categories(plan.segment, 2))
    if plan.label == "everything_and_health":
        traits["allergies"] = rng.choice(ALLERGIES)
    return traits


def _write(
    session: Session, keyring: Keyring, policy: Policy, plan: Plan, now: datetime, tally: _Tally
) -> None:
    """Write one customer in time order: profile and consents at signup, traits, then the rest."""
    subject = profiles_service.get_or_create(
        session, keyring=keyring, customer_id=plan.customer_id, now=plan.signup
    )
    # The age comes first (TH-MIN-01): a grant for profiling or marketing needs it.
    profiles_service.set_birth_date(
        session, keyring=keyring, subject_id=subject.id, birth_date=plan.birth_date,
        now=plan.signup,
    )  # fmt: skip
    later = sorted((c for c in plan.changes if c.at > plan.signup), key=lambda c: c.at)
    for change in (c for c in plan.changes if c.at <= plan.signup):
        _apply(session, keyring, policy, plan, subject.id, change, tally)
    stored = profiles_traits.set_traits(
        session, keyring=keyring, policy=policy, subject_id=subject.id, traits=plan.traits,
        source="import", now=plan.signup + timedelta(minutes=1),
    ).stored  # fmt: skip
    if "email" in stored:  # demo customers confirmed their e-mail at sign-up: they can sign in
        profiles_identities.add_identity(
            session, keyring=keyring, subject_id=subject.id, kind="email",
            value=str(plan.traits["email"]), verified=True, now=plan.signup + timedelta(minutes=2),
        )  # fmt: skip
    events = plan.history.events
    done = 0
    for change in later:
        until = bisect_left(events, change.at, lo=done, key=lambda e: e.timestamp)
        _ingest(session, keyring, policy, events[done:until], tally)
        _apply(session, keyring, policy, plan, subject.id, change, tally)
        done = until
    _ingest(session, keyring, policy, events[done:], tally)
    tally.customer(plan, now)


def _apply(
    session: Session, keyring: Keyring, policy: Policy, plan: Plan, subject_id: uuid.UUID,
    change: Change, tally: _Tally,
) -> None:  # fmt: skip
    """Record a consent change, a restriction (TH-DSR-05) or an objection (TH-DSR-03)."""
    if change.consent is not None:
        channel = change.consent.channel
        consent_service.record(
            session, keyring=keyring, policy=policy, customer_id=plan.customer_id,
            change=change.consent, now=change.at,
            evidence_ip=None if channel == "store" else f"192.0.2.{plan.number % 254 + 1}",
            evidence_user_agent=USER_AGENTS.get(channel), by=ACTOR,
        )  # fmt: skip
        tally.consent_records += 1
    elif change.restrict:
        profiles_service.set_restricted(
            session, subject_id=subject_id, restricted=True, now=change.at
        )
    elif change.objection is not None:
        profiles_service.set_objection(
            session, subject_id=subject_id, objection=change.objection, objected=True, now=change.at
        )


def _ingest(
    session: Session,
    keyring: Keyring,
    policy: Policy,
    batch: Sequence[TrackEvent],
    tally: _Tally,
) -> None:
    """Ingest events as they would have arrived: the gate decides on consents as of then."""
    if not batch:
        return
    summary = events_service.ingest(
        session, keyring=keyring, policy=policy, events=batch, source="api",
        is_partner_data=False, now=batch[-1].timestamp, actor=ACTOR, want_results=True,
    )  # fmt: skip
    tally.add(len(batch), summary)


@dataclass
class _Tally:
    sent: int = 0
    accepted: int = 0
    undeclared: int = 0
    orders: int = 0
    consent_records: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    ages: Counter[str] = field(default_factory=Counter)

    def add(self, sent: int, summary: IngestSummary) -> None:
        self.sent += sent
        self.accepted += summary.accepted
        self.dropped.update(summary.dropped_by_reason)
        self.undeclared += sum(len(r.dropped_properties) for r in summary.results or ())

    def customer(self, plan: Plan, now: datetime) -> None:
        self.orders += plan.history.orders
        self.labels[plan.label] += 1
        age = age_on(plan.birth_date, now.date())
        self.ages["child" if age < 10 else "minor" if age < 20 else "adult"] += 1

    def summary(self, items: int, customers: int, seconds: float) -> SeedSummary:
        return SeedSummary(
            items=items, customers=customers, minors=self.ages["minor"],
            children=self.ages["child"], orders=self.orders, events_sent=self.sent,
            events_accepted=self.accepted, events_dropped=sum(self.dropped.values()),
            dropped_by_reason=dict(sorted(self.dropped.items())),
            undeclared_properties=self.undeclared, consent_records=self.consent_records,
            consent_mix=dict(sorted(self.labels.items())),
            health_explicit=self.labels["everything_and_health"], seconds=round(seconds, 2),
        )  # fmt: skip
