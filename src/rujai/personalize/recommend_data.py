"""What the recommender reads: consent-scoped interactions, the catalogue, purchase counts.

Events and subjects are read in bulk, a chunk of subjects per query (as ``insights_compute``
does); the events service reads one subject at a time behind a permit. Every read is scoped
before anything is opened: training reads only subjects whose verdict for the purpose and its
categories allows ``USE`` (so restricted subjects, TH-DSR-05, and subjects objecting to profiling,
EU-02, are left out by the chokepoint's own rules), only events of those categories, and partner
data only once the subject has been notified (TH-IND-01). Purchase counts are an anonymous
aggregate over every purchase, except those of restricted subjects (TH-DSR-05: no processing at
all) and partner data nobody was told about.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from rujai.catalog import service as catalog_service
from rujai.consent import service as consent_service
from rujai.events import service as events_service
from rujai.events.models import Event
from rujai.kit.crypto import Keyring
from rujai.personalize.models import RecommenderMember, RecommenderModel
from rujai.personalize.schemas import TrainingSet
from rujai.policy import service as policy_service
from rujai.policy.rules import Action
from rujai.policy.schemas import Policy
from rujai.profiles.models import Subject
from rujai.profiles.sealing import unwrap_key

PURPOSE = "recommendations"
CATEGORIES = ("purchase_history", "browsing")
INTERACTIONS = ("purchase", "add_to_cart", "product_view")
PURCHASE = "purchase"
IN_CHUNK = 500  # subjects per query; bounds every IN (...) list
CATALOGUE_PAGE = 500  # catalog_service.list_items allows at most 500 per page


def training_set(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    now: datetime,
    purpose: str = PURPOSE,
    categories: Sequence[str] = CATEGORIES,
) -> TrainingSet:
    """Return the binary subjects x active-items matrix of everyone the policy lets us train on."""
    item_ids = list(active_items(session))
    column = {item: j for j, item in enumerate(item_ids)}
    candidates = session.scalars(
        select(Event.subject_id)
        .where(Event.type.in_(INTERACTIONS), Event.category.in_(list(categories)))
        .distinct()
    ).all()
    allowed = permitted(
        session,
        keyring=keyring,
        policy=policy,
        subject_ids=candidates,
        now=now,
        purpose=purpose,
        categories=categories,
    )
    seen = interactions(
        session, keyring=keyring, subject_ids=sorted(allowed), categories=categories, now=now
    )
    rows = {sid: sorted(column[i] for i in items if i in column) for sid, items in seen.items()}
    subject_ids = sorted(sid for sid, row in rows.items() if row)
    matrix = _binary([rows[sid] for sid in subject_ids], len(item_ids))
    return TrainingSet(subject_ids=subject_ids, item_ids=item_ids, matrix=matrix)


def active_items(session: Session) -> dict[str, str]:
    """Return every active catalogue item in SKU order, with its product category."""
    items: dict[str, str] = {}
    offset = 0
    while True:
        page = catalog_service.list_items(
            session, category=None, limit=CATALOGUE_PAGE, offset=offset
        )
        items.update((item.id, item.product_category) for item in page)
        if len(page) < CATALOGUE_PAGE:
            return items
        offset += CATALOGUE_PAGE


def permitted(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_ids: Collection[uuid.UUID],
    now: datetime,
    purpose: str = PURPOSE,
    categories: Sequence[str] = CATEGORIES,
) -> set[uuid.UUID]:
    """Return the subjects whose verdict allows ``USE`` of ``categories`` for ``purpose`` now."""
    allowed: set[uuid.UUID] = set()
    for chunk in _chunks(subject_ids):
        facts = consent_service.subject_facts_many(
            session, keyring=keyring, subject_ids=chunk, now=now
        )
        allowed.update(
            sid
            for sid, fact in facts.items()
            if policy_service.decide(
                policy, fact, purpose=purpose, categories=categories, action=Action.USE, now=now
            ).allowed
        )
    return allowed


def interactions(
    session: Session,
    *,
    keyring: Keyring,
    subject_ids: Collection[uuid.UUID],
    categories: Sequence[str],
    now: datetime,
    limit: int | None = None,
) -> dict[uuid.UUID, set[str]]:
    """Return the items each subject bought, carted or viewed (``limit``: newest events only).

    Only events of ``categories`` that happened by ``now``; partner data only once the subject
    was notified (TH-IND-01); erased subjects (no data key) have nothing left to read.
    """
    found: dict[uuid.UUID, set[str]] = {}
    for chunk in _chunks(subject_ids):
        stmt = _readable(_sealed()).where(
            Event.subject_id.in_(chunk),
            Event.type.in_(INTERACTIONS),
            Event.category.in_(list(categories)),
            Event.occurred_at <= now,
        )
        if limit is not None:
            stmt = stmt.order_by(Event.occurred_at.desc(), Event.id).limit(limit)
        for sid, item in _item_ids(keyring, session.execute(stmt)):
            found.setdefault(sid, set()).add(item)
    return found


def purchase_counts(session: Session, *, keyring: Keyring) -> tuple[dict[str, int], int]:
    """Count purchases per item over all purchase events; also return how many buyers."""
    stmt = _readable(_sealed()).where(Event.type == PURCHASE, Subject.is_restricted.is_(False))
    counts: Counter[str] = Counter()
    buyers: set[uuid.UUID] = set()
    rows = session.execute(stmt.order_by(Event.subject_id).execution_options(yield_per=2000))
    for sid, item in _item_ids(keyring, rows):
        counts[item] += 1
        buyers.add(sid)
    return dict(sorted(counts.items())), len(buyers)


def _sealed() -> Select[uuid.UUID, bytes, bytes | None]:
    return select(Event.subject_id, Event.properties_sealed, Subject.data_key_wrapped)


def _readable(
    stmt: Select[uuid.UUID, bytes, bytes | None],
) -> Select[uuid.UUID, bytes, bytes | None]:
    """Join events to their subjects; keep the readable: not shredded, no hidden partner data."""
    not_hidden: ColumnElement[bool] = or_(
        Event.is_partner_data.is_(False), Subject.partner_notified_at.is_not(None)
    )
    return stmt.join(Subject, Subject.id == Event.subject_id).where(
        Subject.data_key_wrapped.is_not(None), not_hidden
    )


def _item_ids(keyring: Keyring, rows: Iterable[Any]) -> Iterator[tuple[uuid.UUID, str]]:
    """Open each row's sealed properties (one key unwrap per subject) and yield its item id."""
    keys: dict[uuid.UUID, bytes] = {}
    for sid, sealed, wrapped in rows:
        key = keys.get(sid)
        if key is None:
            key = keys[sid] = unwrap_key(keyring, sid, wrapped)
        item = events_service.open_properties(key, sid, sealed).get("item_id")
        if isinstance(item, str) and item:
            yield sid, item


def _binary(rows: Sequence[Sequence[int]], n_items: int) -> Any:
    """Return a binary CSR matrix whose row i has ones in the (sorted) columns ``rows[i]``."""
    indptr = np.zeros(len(rows) + 1, np.int64)
    indptr[1:] = np.cumsum([len(row) for row in rows])
    indices = np.fromiter((j for row in rows for j in row), np.int64, count=int(indptr[-1]))
    data = np.ones(indices.size, np.float64)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), n_items))


def _chunks(values: Collection[uuid.UUID]) -> Iterator[list[uuid.UUID]]:
    items = list(values)
    return (items[i : i + IN_CHUNK] for i in range(0, len(items), IN_CHUNK))


# --- the recommender's own tables ----------------------------------------------------------------


def newest_version(session: Session) -> str | None:
    """Return the newest model version (one indexed query), or None before the first train."""
    stmt = select(RecommenderModel.version).order_by(RecommenderModel.id.desc()).limit(1)
    return session.scalar(stmt)


def member_items(session: Session, subject_id: uuid.UUID) -> list[str] | None:
    """Return the items a member's training row holds, or None if the subject is no member."""
    stmt = select(RecommenderMember.item_ids).where(RecommenderMember.subject_id == subject_id)
    items: list[str] | None = session.scalar(stmt)
    return items


def columns_of(column: Mapping[str, int], items: Collection[str]) -> NDArray[np.int64]:
    """Return the sorted columns of ``items`` (``column``: item -> column; unknown ones dropped)."""
    return np.array(sorted({column[i] for i in items if i in column}), np.int64)
