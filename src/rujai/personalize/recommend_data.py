"""What the recommender reads: consent-scoped interactions, the catalogue, purchase counts.

Every read of a subject's events goes through the door: training asks ``authorize_many`` for a
``PermitSet`` (purpose ``recommendations``, action ``USE``, audited once with counts), and the
events domain reads only the subjects and categories it covers (``events.bulk``), so restricted
subjects (TH-DSR-05), subjects objecting to profiling (EU-02) and hidden partner data (TH-IND-01)
are left out by the chokepoint's own rules. Purchase counts are an anonymous aggregate that the
events domain computes (``events.bulk.purchase_counts``: counts only).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.catalog import service as catalog_service
from rujai.events import bulk as events_bulk
from rujai.kit.crypto import Keyring
from rujai.personalize.models import RecommenderMember, RecommenderModel
from rujai.personalize.schemas import TrainingSet
from rujai.policy import service as policy_service
from rujai.policy.schemas import Policy
from rujai.policy.service import PermitSet

PURPOSE = "recommendations"
CATEGORIES = ("purchase_history", "browsing")
INTERACTIONS = ("purchase", "add_to_cart", "product_view")
IN_CHUNK = 500  # rows per INSERT of members
CATALOGUE_PAGE = 500  # catalog_service.list_items allows at most 500 per page
ACTOR = "system"


def training_set(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    now: datetime,
    purpose: str = PURPOSE,
    categories: Sequence[str] = CATEGORIES,
    actor: str = ACTOR,
) -> TrainingSet:
    """Return the binary subjects x active-items matrix of everyone the policy lets us train on."""
    item_ids = list(active_items(session))
    column = {item: j for j, item in enumerate(item_ids)}
    candidates = events_bulk.subject_ids_with(session, types=INTERACTIONS, categories=categories)
    permits = policy_service.authorize_many(
        session, policy=policy, keyring=keyring, subject_ids=candidates,
        uses={purpose: categories}, now=now, actor=actor,
    )  # fmt: skip
    seen = interactions(session, keyring=keyring, permits=permits, now=now)
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
    actor: str = ACTOR,
) -> set[uuid.UUID]:
    """Return the subjects whose verdict allows ``USE`` of ``categories`` for ``purpose`` now."""
    permits = policy_service.authorize_many(
        session, policy=policy, keyring=keyring, subject_ids=subject_ids,
        uses={purpose: categories}, now=now, actor=actor,
    )  # fmt: skip
    return set(permits.subject_ids)


def interactions(
    session: Session,
    *,
    keyring: Keyring,
    permits: PermitSet,
    now: datetime,
    limit: int | None = None,
) -> dict[uuid.UUID, set[str]]:
    """Return the items each permitted subject bought, carted or viewed (``limit``: newest only).

    Only events of the categories the permits cover that happened by ``now``; partner data only
    once the subject was notified (TH-IND-01); erased subjects have nothing left to read.
    """
    return events_bulk.newest_items(
        session, keyring=keyring, permits=permits, types=INTERACTIONS, until=now, limit=limit
    )


def purchase_counts(session: Session, *, keyring: Keyring) -> tuple[dict[str, int], int]:
    """Count purchases per item over all readable purchases; also return how many buyers."""
    return events_bulk.purchase_counts(session, keyring=keyring)


def _binary(rows: Sequence[Sequence[int]], n_items: int) -> Any:
    """Return a binary CSR matrix whose row i has ones in the (sorted) columns ``rows[i]``."""
    indptr = np.zeros(len(rows) + 1, np.int64)
    indptr[1:] = np.cumsum([len(row) for row in rows])
    indices = np.fromiter((j for row in rows for j in row), np.int64, count=int(indptr[-1]))
    data = np.ones(indices.size, np.float64)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), n_items))


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
