"""What insights are computed from, and how: permitted histories in, insight rows out.

Insights are profiling: only categories that a purpose with ``profiling: true`` may use for the
subject now are read, and the door says which (``policy.service.authorize_many``, action ``use``),
so no such consent, an objection (EU-02, TH-DSR-03) or a restriction (TH-DSR-05) yields nothing.
The rows are read by their own domains behind the permits (``profiles.bulk``, ``events.bulk``):
partner data waits until the subject is notified (TH-IND-01), and search queries and page paths
are never opened. Each row records exactly the categories its value came from (its lineage).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sqlalchemy.orm import Session

from rujai.errors import Invalid
from rujai.events import bulk as events_bulk
from rujai.kit.crypto import Keyring
from rujai.kit.time import age_on
from rujai.personalize import clv, rfm
from rujai.policy.rules import Action
from rujai.policy.schemas import Policy
from rujai.policy.service import PermitSet, authorize_many
from rujai.profiles import bulk as profiles_bulk

PURCHASE = "purchase"
BIRTH_DATE = "birth_date"
SUPPRESSED = "suppressed_interests"
MODELS = ("rfm_segment", "churn_risk", "expected_purchases_90d")  # from population models
HORIZON_DAYS = 90
PURCHASE_WEIGHT = 3.0  # a purchase says more about an interest than a view
VIEW_WEIGHT = 1.0
TOP_INTERESTS = 3
ACTOR = "system"
_AGE_BANDS = ((20, "under_20"), (30, "20_29"), (40, "30_39"), (50, "40_49"), (60, "50_59"))


# --- which data may feed insights ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    """What of the policy insights look at: profiling purposes and the categories they read."""

    purposes: tuple[tuple[str, tuple[str, ...]], ...]
    opened_types: frozenset[str]
    birth_date_category: str | None


def scope_of(policy: Policy) -> Scope:
    """Return the profiling purposes with the event and birth-date categories they declare."""
    birth = policy.traits.get(BIRTH_DATE)
    birth_category = birth.category if birth is not None else None
    sources = {t.category for t in policy.event_types.values()} | {birth_category} - {None}
    purposes = tuple(
        (pid, tuple(c for c in p.categories if c in sources))
        for pid, p in policy.purposes.items()
        if p.profiling
    )
    return Scope(purposes, _opened_types(policy), birth_category)


def _opened_types(policy: Policy) -> frozenset[str]:
    """Event types whose properties insights open: purchases and those with a product category."""
    types = policy.event_types.items()
    return frozenset(n for n, t in types if n == PURCHASE or "category" in t.properties)


def permits_for(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_ids: Collection[uuid.UUID],
    now: datetime,
    scope: Scope,
    actor: str = ACTOR,
) -> PermitSet:
    """Ask the door which categories of these subjects some profiling purpose may use now.

    One ``authorize_many`` for every profiling purpose (audited once) with ``per_category``: a
    refusal that depends on a category (a sensitive one, say) is asked again category by category.
    """
    uses = {purpose: categories for purpose, categories in scope.purposes if categories}
    return authorize_many(
        session, policy=policy, keyring=keyring, subject_ids=subject_ids, uses=uses, now=now,
        actor=actor, action=Action.USE, per_category=True,
    )  # fmt: skip


# --- reading permitted histories -----------------------------------------------------------------


@dataclass(slots=True)
class History:
    """What a subject's permitted data says, before population parameters are applied."""

    subject_id: uuid.UUID
    permitted: frozenset[str]
    orders: dict[str, list[float]] = field(default_factory=dict)  # key -> [day, amount]
    purchase_lineage: set[str] = field(default_factory=set)
    interests: dict[str, dict[str, float]] = field(default_factory=dict)  # product -> data -> w
    last_visit_day: int | None = None
    visit_lineage: set[str] = field(default_factory=set)
    age: int | None = None
    age_lineage: tuple[str, ...] = ()


def read_histories(
    session: Session,
    *,
    keyring: Keyring,
    permits: PermitSet,
    scope: Scope,
    now: datetime,
) -> dict[uuid.UUID, History]:
    """Read the permitted histories of the subjects the permits cover (through their domains)."""
    if not len(permits):
        return {}
    subjects = profiles_bulk.readable(
        session, keyring=keyring, permits=permits, birth_date_category=scope.birth_date_category
    )  # a shredded subject (no data key) has nothing left to read
    histories = {sid: History(sid, permits.categories_of(sid)) for sid in subjects}
    events = events_bulk.permitted_events(
        session, permits=permits, subjects=subjects, open_types=scope.opened_types
    )
    for event in events:
        _add_event(histories[event.subject_id], event, _day(event.occurred_at), event.properties)
    for sid, history in histories.items():
        _add_age(history, subjects[sid].birth_date, scope, now)
    return histories


def _day(raw: str | datetime) -> int:
    if isinstance(raw, str):
        return date.fromisoformat(raw[:10]).toordinal()
    return raw.astimezone(UTC).date().toordinal()


def _add_event(history: History, row: Any, day: int, properties: Mapping[str, Any]) -> None:
    interest = properties.get("category")
    if row.type == PURCHASE:
        key = str(properties.get("order_id") or f"line-{len(history.orders)}")  # one per line
        order = history.orders.setdefault(key, [float(day), 0.0])
        order[0] = min(order[0], float(day))
        order[1] += float(properties.get("amount") or 0.0)
        history.purchase_lineage.add(row.category)
        weight = PURCHASE_WEIGHT
    else:
        if history.last_visit_day is None or day > history.last_visit_day:
            history.last_visit_day = day
        history.visit_lineage.add(row.category)
        weight = VIEW_WEIGHT
    if isinstance(interest, str) and interest:
        sources = history.interests.setdefault(interest, {})
        sources[row.category] = sources.get(row.category, 0.0) + weight


def _add_age(history: History, birth_date: date | None, scope: Scope, now: datetime) -> None:
    category = scope.birth_date_category  # opened by profiles only where the permit covers it
    if category is None or birth_date is None or category not in history.permitted:
        return
    history.age = age_on(birth_date, now.date())
    history.age_lineage = (category,)


# --- population parameters -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Population:
    """Parameters fitted across subjects: BG/NBD (weekly units) and RFM quintile cut points."""

    bgnbd: clv.BgNbdParams | None = None
    bgnbd_subjects: int = 0
    rfm_cuts: Mapping[str, list[float]] | None = None
    rfm_subjects: int = 0


def cut_points(values: ArrayLike) -> list[float]:
    """Return 4 cut points: 1 + how many a value exceeds is its ``rfm.quintile_scores`` score
    among ``values``, and scores a later value consistently with them."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    n = ordered.size
    return [float(ordered[-(-k * n // 5) - 1]) for k in range(1, 5)] if n else []


def score(values: ArrayLike, cuts: list[float]) -> NDArray[np.int64]:
    """Return quintile scores 1..5 of ``values`` against stored ``cut_points``."""
    v = np.asarray(values, dtype=np.float64)
    exceeded: NDArray[np.int64] = (v[:, None] > np.asarray(cuts)[None, :]).sum(axis=1)
    return (1 + exceeded).astype(np.int64)


def summaries(histories: Iterable[History], end_day: int) -> tuple[list[History], rfm.Summaries]:
    """Summarise the subjects' orders at ``end_day``; return the purchasers in summary order."""
    buyers = [h for h in histories if h.orders]
    orders = [(i, day, amount) for i, h in enumerate(buyers) for day, amount in h.orders.values()]
    who, day, amount = np.array(orders, dtype=np.float64).reshape(-1, 3).T
    result = rfm.summarize_arrays(who.astype(np.int64), day, amount, end_day=end_day)
    return [buyers[int(i)] for i in result.customer], result


def fit_population(histories: Iterable[History], now: datetime) -> Population:
    """Fit BG/NBD on the permitted purchase histories and take RFM cut points across them."""
    end_day = now.date().toordinal()
    buyers, s = summaries(histories, end_day)
    if not buyers:
        return Population()
    try:
        bgnbd: clv.BgNbdParams | None = clv.fit_bgnbd(s.frequency, s.recency, s.T)
    except Invalid:
        bgnbd = None  # everybody bought for the first time today: nothing to fit yet
    cuts = {"last_day": cut_points(end_day - s.days_since_last), "orders": cut_points(s.orders),
            "total_spend": cut_points(s.total_spend)}  # fmt: skip
    return Population(bgnbd, len(buyers) if bgnbd else 0, cuts, len(buyers))


# --- insight rows --------------------------------------------------------------------------------


def insight_rows(
    histories: Iterable[History],
    *,
    population: Population,
    policy: Policy,
    suppressed: Mapping[uuid.UUID, Collection[str]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Return the insight rows (``subject_id, name, value, categories, computed_at``)."""
    histories = list(histories)
    rows = _purchase_rows(histories, population, policy, now)
    for history in histories:
        rows += _other_rows(history, suppressed.get(history.subject_id, ()), now)
    return rows


def _row(history: History, name: str, value: Any, lineage: Iterable[str], now: datetime) -> Any:
    return {"subject_id": history.subject_id, "name": name, "value": value,
            "categories": tuple(sorted(lineage)), "computed_at": now}  # fmt: skip


def _purchase_rows(
    histories: list[History], population: Population, policy: Policy, now: datetime
) -> list[dict[str, Any]]:
    end_day = now.date().toordinal()
    buyers, s = summaries(histories, end_day)
    if not buyers:
        return []
    columns: dict[str, list[Any]] = {
        "recency_days": [int(v) for v in s.days_since_last],
        "frequency": [int(v) for v in s.frequency],
        "orders": [int(v) for v in s.orders],
        "monetary": [round(float(v), 2) for v in s.total_spend / s.orders],
        "total_spend": [round(float(v), 2) for v in s.total_spend],
        "vip_tier": [str(v) for v in rfm.vip_tiers(s.total_spend, policy.insights.vip_tiers)],
    }
    columns.update(_model_columns(s, population, end_day))
    return _rows_of(buyers, columns, now)


def model_rows(histories: Iterable[History], population: Population, now: datetime) -> list[Any]:
    """Return only the rows that come from the population models (``MODELS``)."""
    end_day = now.date().toordinal()
    buyers, s = summaries(histories, end_day)
    return _rows_of(buyers, _model_columns(s, population, end_day), now)


def _rows_of(buyers: list[History], columns: dict[str, list[Any]], now: datetime) -> list[Any]:
    return [
        _row(history, name, values[i], history.purchase_lineage, now)
        for i, history in enumerate(buyers)
        for name, values in columns.items()
    ]


def _model_columns(s: rfm.Summaries, population: Population, end_day: int) -> dict[str, list[Any]]:
    """RFM segment and BG/NBD values from the population parameters, where they exist."""
    columns: dict[str, list[Any]] = {}
    cuts = population.rfm_cuts
    if cuts is not None:
        r = score(end_day - s.days_since_last, cuts["last_day"])
        f = score(s.orders, cuts["orders"])
        m = score(s.total_spend, cuts["total_spend"])
        columns["rfm_segment"] = [str(v) for v in rfm.rfm_segments(r, f, m)]
    params = population.bgnbd
    if params is not None:
        churn = clv.churn_risk(params, s.frequency, s.recency, s.T)
        horizon = HORIZON_DAYS / rfm.WEEK_DAYS
        expected = clv.expected_purchases(params, horizon, s.frequency, s.recency, s.T)
        columns["churn_risk"] = [round(float(v), 4) for v in churn]
        columns["expected_purchases_90d"] = [round(float(v), 3) for v in expected]
    return columns


def _other_rows(history: History, suppressed: Collection[str], now: datetime) -> list[Any]:
    rows = []
    affinity = category_affinity(history.interests, suppressed)
    if affinity is not None:
        rows.append(_row(history, "category_affinity", affinity[0], affinity[1], now))
    if history.last_visit_day is not None:
        days = max(now.date().toordinal() - history.last_visit_day, 0)
        rows.append(_row(history, "last_visit_days", days, history.visit_lineage, now))
    if history.age is not None:
        rows.append(_row(history, "age_band", age_band(history.age), history.age_lineage, now))
    return rows


def category_affinity(
    interests: Mapping[str, Mapping[str, float]], suppressed: Collection[str]
) -> tuple[list[dict[str, Any]], set[str]] | None:
    """Return the top product categories with their shares and the data categories behind them;
    categories the subject removed (TH-DSR-06) are left out before shares are taken."""
    kept = {c: sources for c, sources in interests.items() if c not in suppressed}
    totals = {c: sum(sources.values()) for c, sources in kept.items()}
    grand = sum(totals.values())
    if grand <= 0:
        return None
    top = sorted(totals, key=lambda c: (-totals[c], c))[:TOP_INTERESTS]
    value = [{"category": c, "share": round(totals[c] / grand, 3)} for c in top]
    lineage = {source for sources in kept.values() for source in sources}
    return value, lineage


def age_band(age: int) -> str:
    """Return a ten-year age band (``under_20``, ``20_29``, ..., ``60_plus``)."""
    for limit, band in _AGE_BANDS:
        if age < limit:
            return band
    return "60_plus"
