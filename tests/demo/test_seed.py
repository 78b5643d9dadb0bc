"""The demo seed: deterministic, declared properties only, the consent gate, guardians."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from rujai.catalog import service as catalog_service
from rujai.consent import service as consent_service
from rujai.db import make_engine, make_session_factory, upgrade
from rujai.demo import seed as demo_seed
from rujai.demo.history import Shop
from rujai.demo.names import customer_id
from rujai.demo.products import SEGMENTS, catalogue
from rujai.errors import Invalid
from rujai.events import service as events_service
from rujai.profiles import service as profiles_service, traits as profiles_traits
from rujai.writer import session_scope
from tests.factories import rights_permit

# In the past, so that no event is "in the future" for the wall clock.
NOW = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
# Seed 296's first 30 customers include every kind of customer the checks below need (children,
# teenagers with and without co-consent, a full withdrawal, a refusal, an objection, a restriction),
# so 30 are enough and the module stays fast.
CUSTOMERS = 30
SEED = 296
Seeded = tuple[sessionmaker[Session], demo_seed.SeedSummary, dict[str, Any]]


def _seed(factory, keyring, policy, seed: int = SEED) -> demo_seed.SeedSummary:
    return demo_seed.seed(
        factory, keyring=keyring, policy=policy, seed=seed, customers=CUSTOMERS, now=NOW
    )


def _snapshot(factory, keyring, policy) -> dict[str, Any]:
    """Everything a reader can see through the services, with sealed values opened."""
    with session_scope(factory) as s:
        items = catalog_service.list_items(s, category=None, limit=500, offset=0, active_only=False)
        customers = {}
        for number in range(1, CUSTOMERS + 1):
            cid = customer_id(number)
            subject_id = profiles_service.find_id(s, keyring=keyring, customer_id=cid)
            state = consent_service.current(
                s, keyring=keyring, policy=policy, customer_id=cid, now=NOW
            )
            permit = rights_permit(s, keyring, policy, subject_id)
            events = events_service.export_subject(
                s, keyring=keyring, permit=permit, subject_id=subject_id
            )
            traits = profiles_traits.export_subject(
                s, keyring=keyring, permit=permit, subject_id=subject_id
            )
            customers[cid] = (
                [(p.purpose, p.status) for p in state.purposes],
                # Lines of one order share a time; the order of ties is not part of the data.
                sorted((e.type, e.occurred_at, e.message_id, e.properties) for e in events),
                traits.traits,
            )
    return {"items": [i.model_dump() for i in items], "customers": customers}


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory, keyring, policy) -> Iterator[Seeded]:
    """One SQLite database seeded once for the read-only checks of this module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    summary = _seed(factory, keyring, policy)
    yield factory, summary, _snapshot(factory, keyring, policy)
    engine.dispose()


def _plans(seed: int, policy, customers: int = CUSTOMERS) -> list[demo_seed.Plan]:
    shop = Shop.build(seed)
    return [
        demo_seed.plan_customer(seed=seed, number=number, now=NOW, policy=policy, shop=shop)
        for number in range(1, customers + 1)
    ]


def test_seed_is_deterministic_for_a_seed_across_fresh_databases(
    seeded_db, factory, keyring, policy
):
    """The same seed in another fresh database (SQLite, then PostgreSQL) reads back the same."""
    _, first, seen = seeded_db
    second = _seed(factory, keyring, policy)
    assert _snapshot(factory, keyring, policy) == seen
    assert first.model_dump(exclude={"seconds"}) == second.model_dump(exclude={"seconds"})
    assert len(seen["items"]) == first.items == len(catalogue())
    assert sum(len(c[1]) for c in seen["customers"].values()) == first.events_accepted


def test_different_seeds_give_different_customers(policy):
    one, other = _plans(SEED, policy), _plans(SEED + 1, policy)
    assert [p.history.events for p in one] != [p.history.events for p in other]
    assert [(p.label, p.segment) for p in one] != [(p.label, p.segment) for p in other]


def test_customers_buy_mostly_from_their_segments_favourite_categories(policy):
    plans = _plans(SEED, policy, customers=300)
    lines = [
        (plan.segment, event.properties["category"])
        for plan in plans
        for event in plan.history.events
        if event.type == "purchase"
    ]
    favourite = sum(1 for segment, category in lines if category in SEGMENTS[segment])
    assert favourite / len(lines) > 0.75


def test_orders_per_customer_are_shaped_like_cdnow(policy):
    """Most buyers order once or twice, a few often."""
    orders = [p.history.orders for p in _plans(SEED, policy, customers=300) if p.history.orders]
    once = sum(1 for n in orders if n == 1) / len(orders)
    twice_at_most = sum(1 for n in orders if n <= 2) / len(orders)
    assert 0.4 < once < 0.7
    assert twice_at_most > 0.65
    assert max(orders) >= 8


def test_seeded_events_carry_only_declared_properties_and_catalogue_skus(seeded_db, policy):
    """TH-MIN-02: nothing undeclared is sent, so nothing is stripped by ingest."""
    _, seeded, snapshot = seeded_db
    skus = {p.sku for p in catalogue()}
    events = [e for customer in snapshot["customers"].values() for e in customer[1]]
    assert seeded.undeclared_properties == 0
    assert events
    for kind, _, _, properties in events:
        declared = policy.event_types[kind].properties
        required = {name for name, spec in declared.items() if spec.required}
        assert required <= set(properties) <= set(declared)
        if "item_id" in properties:
            assert properties["item_id"] in skus


def test_seed_drops_browsing_of_customers_without_a_permitting_consent(seeded_db, policy):
    """DESIGN "track" / TH-CON-02: those who declined still buy, but their browsing is not kept."""
    factory, seeded, snapshot = seeded_db
    declined = [p.customer_id for p in _plans(SEED, policy) if p.label == "nothing"]
    kinds = {kind for cid in declined for kind, _, _, _ in snapshot["customers"][cid][1]}
    assert declined
    assert kinds == {"purchase"}
    with session_scope(factory) as s:
        counted = sum(c.count for c in events_service.drop_counts(s))
    assert seeded.dropped_by_reason.get("no_permitting_purpose", 0) > 0
    assert counted == seeded.events_dropped
    assert seeded.events_accepted + seeded.events_dropped == seeded.events_sent


def test_seed_keeps_no_browsing_after_a_full_withdrawal(seeded_db, policy):
    """TH-CON-03: after withdrawing every browsing purpose, later browsing is dropped."""
    _, _, snapshot = seeded_db
    plans = [p for p in _plans(SEED, policy) if p.label == "withdrew"]
    checked = 0
    for plan in plans:
        withdrawn = [c for c in plan.changes if c.consent and c.consent.action == "withdraw"]
        if len(withdrawn) < 3:
            continue
        stored = snapshot["customers"][plan.customer_id][1]
        after = [kind for kind, at, _, _ in stored if at >= withdrawn[0].at]
        assert set(after) <= {"purchase"}
        checked += 1
    assert checked > 0


def test_seeded_minors_have_guardian_consent_records(seeded_db, keyring, policy):
    """TH-MIN-01: young children consent through a parent; older minors get a co-consent."""
    factory, seeded, _ = seeded_db
    plans = _plans(SEED, policy)
    with_guardian = [p for p in plans if p.label in ("guardian_consent", "minor_co_consent")]
    with session_scope(factory) as s:
        for plan in with_guardian:
            ledger = consent_service.overview(
                s, keyring=keyring, policy=policy, customer_id=plan.customer_id, now=NOW
            ).history
            assert "parent" in {r.actor for r in ledger}
    assert with_guardian
    assert seeded.minors + seeded.children >= len(with_guardian)


@pytest.mark.parametrize(
    ("label", "purpose", "status"),
    [
        ("minor_pending", "recommendations", "pending_guardian"),  # TH-MIN-01
        ("guardian_required", "recommendations", "guardian_required"),  # TH-MIN-01
        ("objected_marketing", "personalized_offers", "objected"),  # TH-DSR-03
        ("restricted", "recommendations", "restricted"),  # TH-DSR-05
        ("nothing", "recommendations", "none"),  # TH-CON-01: nothing is pre-ticked
    ],
)
def test_seeded_consent_states_follow_each_customers_story(
    seeded_db, policy, label, purpose, status
):
    """What the chokepoint enforces now matches what each kind of customer did."""
    _, _, snapshot = seeded_db
    chosen = [p.customer_id for p in _plans(SEED, policy) if p.label == label]
    statuses = {dict(snapshot["customers"][cid][0])[purpose] for cid in chosen}
    assert chosen
    assert statuses == {status}


@pytest.mark.parametrize(
    ("field", "overrides"),
    [("now", {"now": datetime(2026, 6, 1)}), ("customers", {"customers": -1})],
)
def test_seed_refuses_bad_arguments_naming_the_field(factory, keyring, policy, field, overrides):
    kwargs = {"keyring": keyring, "policy": policy, "customers": 1, "now": NOW, **overrides}
    with pytest.raises(Invalid) as caught:
        demo_seed.seed(factory, **kwargs)
    with session_scope(factory) as s:
        assert catalog_service.count(s) == 0
    assert caught.value.field == field


def test_ensure_seeded_seeds_an_empty_database_only_once(factory, keyring, policy):
    kwargs = {"keyring": keyring, "policy": policy, "seed": SEED, "customers": 5, "now": NOW}
    first = demo_seed.ensure_seeded(factory, **kwargs)
    again = demo_seed.ensure_seeded(factory, **kwargs)
    with session_scope(factory) as s:
        items = catalog_service.count(s)
    assert (first, again) == (True, False)
    assert items == len(catalogue())
