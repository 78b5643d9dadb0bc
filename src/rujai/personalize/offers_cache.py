"""An in-process cache of the active offers, for the decide hot path.

Decide runs on every page view, so it must not query the offer table each time. The cache keeps
one snapshot per database: the active offers and, for those with a budget cap, their conversions
so far. A snapshot is trusted for ``REFRESH_SECONDS``; after that one cheap query (count and
newest ``updated_at`` of the offer table) tells whether to reload. Writes through the offer
service invalidate this process's snapshots at once; other processes see them within a second.
Budget caps are therefore enforced to within about a second of conversions.

This is the one piece of module state in the domain, kept on purpose: it holds no personal data.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from time import monotonic
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rujai.personalize.models import DecisionOutcome, Offer
from rujai.personalize.schemas import OfferRead
from rujai.policy.schemas import Text

REFRESH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The active offers of one database at one moment."""

    stamp: tuple[Any, ...]
    offers: tuple[OfferRead, ...]
    converted: Mapping[str, int]
    checked_at: float
    generation: int
    memo: dict[str, tuple[object, frozenset[str]]] = field(default_factory=dict, compare=False)


class _Cache:
    def __init__(self) -> None:
        self.snapshots: dict[str, Snapshot] = {}
        self.generation = 0
        self.lock = threading.Lock()


_cache = _Cache()
_keys: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()  # engine -> its URL


def invalidate() -> None:
    """Forget every snapshot of this process (call after writing offers or counted outcomes)."""
    with _cache.lock:
        _cache.generation += 1
        _cache.snapshots.clear()


def note_conversion(offer_id: str) -> None:
    """Invalidate this process's snapshots if ``offer_id`` has a budget cap (it counts)."""
    snaps = list(_cache.snapshots.values())
    if any(o.id == offer_id and o.budget_cap for snap in snaps for o in snap.offers):
        invalidate()


def snapshot(session: Session) -> Snapshot:
    """Return the active offers of ``session``'s database, querying at most once a second."""
    engine = session.get_bind().engine
    key = _keys.get(engine)
    if key is None:
        key = _keys[engine] = engine.url.render_as_string(hide_password=True)
    generation, now = _cache.generation, monotonic()
    current = _cache.snapshots.get(key)
    if current is not None and current.generation == generation:
        if now - current.checked_at < REFRESH_SECONDS:
            return current
        stamp = _stamp(session)
        if stamp == current.stamp:
            converted = _converted(session, current.offers)
            fresh = replace(current, checked_at=now, converted=converted, memo=current.memo)
            return _store(key, fresh)
    else:
        stamp = _stamp(session)
    offers = _load(session)
    return _store(key, Snapshot(stamp, offers, _converted(session, offers), now, generation))


def _store(key: str, snap: Snapshot) -> Snapshot:
    with _cache.lock:
        if snap.generation == _cache.generation:
            _cache.snapshots[key] = snap
    return snap


def _stamp(session: Session) -> tuple[Any, ...]:
    row = session.execute(select(func.count(), func.max(Offer.updated_at))).one()
    return tuple(row)


def _load(session: Session) -> tuple[OfferRead, ...]:
    rows = session.scalars(select(Offer).where(Offer.is_active).order_by(Offer.id))
    return tuple(read(row) for row in rows)


def _converted(session: Session, offers: tuple[OfferRead, ...]) -> dict[str, int]:
    capped = [o.id for o in offers if o.budget_cap]
    if not capped:
        return {}
    rows = session.execute(
        select(DecisionOutcome.offer_id, func.count())
        .where(DecisionOutcome.kind == "converted", DecisionOutcome.offer_id.in_(capped))
        .group_by(DecisionOutcome.offer_id)
    )
    return {str(offer_id): int(n) for offer_id, n in rows}


def read(row: Offer) -> OfferRead:
    """Return the schema of an offer row."""
    return OfferRead(
        id=row.id,
        kind=row.kind,
        title=Text(th=row.title_th, en=row.title_en),
        purpose=row.purpose,
        is_generic=row.is_generic,
        is_active=row.is_active,
        eligibility=dict(row.eligibility or {}),
        variants={k: Text(**v) for k, v in (row.variants or {}).items()},
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        budget_cap=row.budget_cap,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
