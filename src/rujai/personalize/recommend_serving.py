"""Serving the recommender: a per-process model cache, recommendations, the popularity fallback.

The deserialised newest model is cached per process and database. The newest version is
re-checked with one indexed query at most once a second (monotonic clock) and the model is
reloaded only when it changed, so a decision never deserialises a model; a process that changes
the model re-checks on its next request (``forget``). Popularity (purchase counts, an anonymous
aggregate stored by ``refresh_popular`` and ``train``) and the active catalogue with its names are
cached for a minute. Import it through ``personalize.recommend``.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
import uuid
import weakref
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.catalog import service as catalog_service
from rujai.kit.crypto import Keyring
from rujai.personalize import recommend_data as data
from rujai.personalize.models import InsightModel, RecommenderMember, RecommenderModel
from rujai.personalize.recommend_data import CATEGORIES, PURPOSE
from rujai.personalize.recommender import EaseModel
from rujai.personalize.schemas import RecItem, Recs
from rujai.personalize.serving_cache import CACHE as SERVING_CACHE
from rujai.policy import service as policy_service
from rujai.policy.schemas import Policy
from rujai.policy.service import Permit
from rujai.profiles import service as profiles_service
from rujai.profiles.errors import SubjectNotFound

CHECK_EVERY_S = 1.0  # how often serving re-checks the newest version
AGGREGATES_TTL_S = 60.0  # how long popularity and the active catalogue are cached
RECENT_LIMIT = 200  # newest events read for a consenting subject who is not yet a member
EXPLAIN_LIMIT = 2  # items named in ``because``: a little personal data, not a lot
HEAD_MARGIN = 16  # ranked items read beyond k and the exclusions before the full ranking
POPULAR = "popular_items"  # the insight_model row holding purchase counts (no personal data)
NOT_USED = Recs(items=[], model_version=None, personalized=False)


@dataclass(frozen=True, slots=True)
class _Loaded:
    version: str
    model: EaseModel
    item_ids: tuple[str, ...]
    column: Mapping[str, int]  # item -> column
    vocab: frozenset[int]  # the columns the model can score


@dataclass(frozen=True, slots=True)
class _Aggregates:
    catalogue: Mapping[str, str]  # active item -> product category
    ranked: tuple[str, ...]  # active items, most purchased first
    loaded_at: float
    names: Mapping[str, tuple[str, str]]  # active item -> (Thai name, English name)


@dataclass(slots=True)
class _Slot:
    """What one process caches for one database."""

    loaded: _Loaded | None = None
    checked_at: float = -math.inf
    aggregates: _Aggregates | None = None
    # One thread reloads at a time: concurrent requests must not each deserialise the model.
    model_lock: threading.Lock = field(default_factory=threading.Lock)
    aggregates_lock: threading.Lock = field(default_factory=threading.Lock)


_slots: dict[str, _Slot] = {}
_keys: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()  # engine -> its URL
_MEMBER = RecommenderMember.__table__.c  # ``data.member_items`` as a prebuilt Core query:
_MEMBER_ITEMS = select(_MEMBER.item_ids).where(_MEMBER.subject_id == bindparam("subject_id"))


def recommend_for(
    session: Session,
    *,
    subject_id: uuid.UUID | None,
    k: int,
    exclude: Collection[str] = (),
    now: datetime,
    keyring: Keyring | None = None,
    permit: Permit | None = None,
) -> Recs:
    """Recommend up to ``k`` active items for a subject whose consent the caller has checked.

    Uses the subject's member row, else (given ``keyring`` and the ``permit`` the caller holds
    for the subject) their newest interactions of the categories it covers. Not personalized (no
    items) when there is no model or nothing is known.
    """
    loaded = current_model(session)
    if loaded is None or subject_id is None or k < 1:
        return NOT_USED
    seen: list[str] | None = session.execute(_MEMBER_ITEMS, {"subject_id": subject_id}).scalar()
    if seen is None and keyring is not None and permit is not None:
        permit.require_subject(subject_id)
        newest = data.interactions(
            session, keyring=keyring, permits=permit.as_set(), now=now, limit=RECENT_LIMIT
        )
        seen = sorted(newest.get(subject_id, ()))
    row = data.columns_of(loaded.column, seen or ())
    if loaded.vocab.isdisjoint(row.tolist()):
        return NOT_USED
    items = _ranked(session, loaded, row, k, frozenset(exclude))
    if not items:
        return NOT_USED
    return Recs(items=items, model_version=loaded.version, personalized=True)


def _ranked(
    session: Session, loaded: _Loaded, row: NDArray[np.int64], k: int, exclude: frozenset[str]
) -> list[RecItem]:
    """Walk the model's ranking, skipping excluded and inactive items; explain each pick.

    The walk starts on a short head of the ranking (``k`` + exclusions + ``HEAD_MARGIN``); it is
    kept only if its picks all score strictly above the head's last score, which makes them
    exactly the picks of the full ranking (ties are broken by item index in both). Else the walk
    is redone on the full ranking.
    """
    active = _aggregates(session).catalogue
    head = min(k + len(exclude) + HEAD_MARGIN, len(loaded.vocab))
    ids, scores = loaded.model.recommend(row, head)
    picks = _picks(loaded, ids.tolist(), scores.tolist(), k, exclude, active)
    complete = len(picks) == k and picks[-1][1] > scores[-1]
    if head < len(loaded.vocab) and not complete:
        ids, scores = loaded.model.recommend(row, len(loaded.vocab))
        picks = _picks(loaded, ids.tolist(), scores.tolist(), k, exclude, active)
    return [
        RecItem(item_id=loaded.item_ids[j], score=score, because=_because(loaded, row, j))
        for j, score in picks
    ]


def _picks(
    loaded: _Loaded,
    ids: list[int],
    scores: list[float],
    k: int,
    exclude: frozenset[str],
    active: Mapping[str, str],
) -> list[tuple[int, float]]:
    """The first ``k`` (item index, score) of a ranking that are active and not excluded."""
    ranked = zip(ids, scores, strict=True)
    kept = ((j, s) for j, s in ranked if (i := loaded.item_ids[j]) not in exclude and i in active)
    return list(itertools.islice(kept, k))


def _because(loaded: _Loaded, row: NDArray[np.int64], j: int) -> list[str]:
    reasons = loaded.model.explain(row, j, limit=EXPLAIN_LIMIT)
    return [loaded.item_ids[seen] for seen, _ in reasons]


def popular(
    session: Session, *, k: int, exclude: Collection[str] = (), category: str | None = None
) -> list[str]:
    """Return the ``k`` most purchased active items (an anonymous aggregate; no consent needed)."""
    aggregates = _aggregates(session)
    skip = frozenset(exclude)
    picked = (
        item
        for item in aggregates.ranked
        if item not in skip and (category is None or aggregates.catalogue[item] == category)
    )
    return list(itertools.islice(picked, max(k, 0)))


def item_names(session: Session, *, item_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """``catalog.service.names`` for the hot path: active items from the cache, the rest queried."""
    cached = _aggregates(session).names
    names = {i: cached[i] for i in item_ids if i in cached}
    missing = [i for i in item_ids if i not in cached]
    if missing:
        names.update(catalog_service.names(session, item_ids=missing))
    return names


def refresh_popular(
    session: Session, *, keyring: Keyring, now: datetime, actor: str = "system"
) -> int:
    """Recount purchases per item for ``popular``; audited; return how many items were counted."""
    counts, buyers = data.purchase_counts(session, keyring=keyring)
    audit_service.record(
        session, actor=actor, action="recommender.popular", now=now, purpose=PURPOSE,
        outcome="recorded", detail={"items": len(counts), "buyers": buyers},
    )  # fmt: skip
    store_popular(session, counts, buyers, now)
    return len(counts)


def store_popular(session: Session, counts: dict[str, int], buyers: int, now: datetime) -> None:
    """Replace the stored purchase counts (item -> purchases; no subject in them)."""
    session.execute(delete(InsightModel).where(InsightModel.name == POPULAR))
    values = {"params": {"counts": counts}, "n_subjects": buyers, "fitted_at": now}
    session.execute(insert(InsightModel).values(name=POPULAR, **values))
    forget(session)


def show_for_customer(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    customer_id: str,
    k: int,
    now: datetime,
    actor: str,
) -> Recs:
    """Return what a customer would be recommended; the use is checked and audited by policy."""
    subject_id = profiles_service.find_id(session, keyring=keyring, customer_id=customer_id)
    if subject_id is None:
        raise SubjectNotFound("no subject with this customer id")
    verdict = policy_service.check(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=PURPOSE,
        categories=CATEGORIES, now=now, actor=actor,
    )  # fmt: skip
    if not verdict.allowed:
        return Recs(items=[], model_version=None, personalized=False, reason=verdict.reason.value)
    permit = policy_service.issue_batch_permit(verdict, now=now)  # checked and audited above
    return recommend_for(
        session, subject_id=subject_id, k=k, now=now, keyring=keyring, permit=permit
    )


# --- the caches ----------------------------------------------------------------------------------


def clear_caches() -> None:
    """Forget every cached model, aggregate and serving entry of this process (tests; restore)."""
    _slots.clear()
    SERVING_CACHE.clear()


def forget(session: Session) -> None:
    """Make this process re-check the newest version and reload aggregates on the next request."""
    slot = _slot(session)
    slot.checked_at, slot.aggregates = -math.inf, None


def current_model(session: Session) -> _Loaded | None:
    """Return the newest model: cached, re-checked at most every ``CHECK_EVERY_S`` seconds.

    One thread re-checks at a time. During a periodic re-check the others go on with the cached
    model; before the first load and after ``forget`` they wait for it.
    """
    slot = _slot(session)
    if time.monotonic() - slot.checked_at < CHECK_EVERY_S:
        return slot.loaded
    wait = slot.loaded is None or slot.checked_at == -math.inf
    if not slot.model_lock.acquire(blocking=wait):
        return slot.loaded
    try:
        clock = time.monotonic()
        if clock - slot.checked_at >= CHECK_EVERY_S:
            version = data.newest_version(session)
            if version is None:
                slot.loaded = None
            elif slot.loaded is None or slot.loaded.version != version:
                slot.loaded = _load(session, version)
            slot.checked_at = clock
        return slot.loaded
    finally:
        slot.model_lock.release()


def _slot(session: Session) -> _Slot:
    engine = session.get_bind().engine
    key = _keys.get(engine)
    if key is None:
        key = _keys[engine] = engine.url.render_as_string(hide_password=True)
    return _slots.get(key) or _slots.setdefault(key, _Slot())


def _load(session: Session, version: str) -> _Loaded | None:
    row = session.execute(
        select(RecommenderModel.item_ids, RecommenderModel.blob).where(
            RecommenderModel.version == version
        )
    ).one()
    if not row.blob:
        return None
    model = EaseModel.from_bytes(row.blob)
    items = tuple(row.item_ids)
    column = {item: j for j, item in enumerate(items)}
    return _Loaded(version, model, items, column, frozenset(model.items.tolist()))


def _aggregates(session: Session) -> _Aggregates:
    """Return the active catalogue and the popularity ranking, reloaded once a minute.

    One thread reloads; the others go on with the previous minute's until it is done.
    """
    slot = _slot(session)
    cached = slot.aggregates
    if cached is not None and time.monotonic() - cached.loaded_at < AGGREGATES_TTL_S:
        return cached
    if not slot.aggregates_lock.acquire(blocking=cached is None) and cached is not None:
        return cached
    try:
        fresh = slot.aggregates
        if fresh is None or time.monotonic() - fresh.loaded_at >= AGGREGATES_TTL_S:
            fresh = slot.aggregates = _load_aggregates(session)
        return fresh
    finally:
        slot.aggregates_lock.release()


def _load_aggregates(session: Session) -> _Aggregates:
    clock = time.monotonic()
    catalogue = data.active_items(session)
    params = session.scalar(select(InsightModel.params).where(InsightModel.name == POPULAR))
    counts: dict[str, int] = (params or {}).get("counts", {})
    ranked = sorted((i for i in counts if i in catalogue), key=lambda i: (-counts[i], i))
    names = catalog_service.names(session, item_ids=list(catalogue))
    return _Aggregates(catalogue, tuple(ranked), clock, names)
