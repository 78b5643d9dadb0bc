"""The recommender as a service: consent-scoped training, versioned models, serving, unlearning.

``train`` fits ``recommender.EaseModel`` on the subjects whose consent covers the recommendations
purpose and its categories (``recommend_data.training_set``), stores it as a new
``recommender_model`` version and records in ``recommender_member`` exactly the items each
subject's row holds. When a subject withdraws (TH-CON-03), objects (TH-DSR-03, EU-02), is
restricted (TH-DSR-05) or is erased (TH-DSR-04), the ``subject_narrowed`` signal runs
``unlearn_subject`` in that same transaction: their row leaves the newest model exactly (rank-one
Sherman-Morrison), so every other subject's scores equal those of a retrain without them, and the
result is stored as a new version. The blobs of older versions, which still hold the subject, are
emptied (TH-DSR-04: models are copies too); only their metadata stays.

Serving reads a per-process cache of the deserialised newest model: the newest version is
re-checked with one indexed query at most once a second, and a process that changes the model
re-checks on its next request. Decisions record the version they used.

Concurrency: every model writer writes its audit entry first (which locks the audit chain's head
until commit), then takes the recommender lock (``pg_advisory_xact_lock``; SQLite has a single
writer anyway) and checks that the version it built on is still the newest. ``subject_narrowed``
is sent after the caller's own audit entry, so withdrawals never race; the fixed order (audit
head, then recommender lock) cannot deadlock. A direct call that lost a race raises ``Conflict``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from rujai.audit import service as audit_service
from rujai.errors import Conflict, Invalid
from rujai.kit import signals
from rujai.kit.crypto import Keyring
from rujai.kit.time import utcnow
from rujai.personalize import recommend_data as data
from rujai.personalize.models import RecommenderMember, RecommenderModel
from rujai.personalize.recommend_data import CATEGORIES, PURPOSE, training_set
from rujai.personalize.recommend_serving import (
    clear_caches,
    forget,
    popular,
    recommend_for,
    refresh_popular,
    show_for_customer,
    store_popular,
)
from rujai.personalize.recommender import EaseModel
from rujai.personalize.schemas import ModelInfo, RecommenderMemberRead, TrainingSet
from rujai.policy import service as policy_service
from rujai.policy.schemas import Policy
from rujai.policy.service import Permit

__all__ = [
    "CATEGORIES",
    "PURPOSE",
    "clear_caches",
    "erase_subject",
    "export_subject",
    "is_member",
    "learn_subject",
    "popular",
    "recommend_for",
    "refresh_popular",
    "show_for_customer",
    "train",
    "training_set",
    "unlearn_subject",
]

DEFAULT_L2 = 200.0
KEEP_BLOBS = 3  # model versions whose matrices are kept (older ones keep metadata only)
ACTOR = "system"
_LOCK_KEY = 0x72756A6169  # "rujai": the recommender's advisory lock on PostgreSQL


# --- training ------------------------------------------------------------------------------------


def train(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    now: datetime,
    l2: float | None = None,
    min_item_count: int = 1,
    actor: str = ACTOR,
) -> ModelInfo:
    """Fit a new version on every subject the policy allows, store it and its members; audited."""
    dataset = training_set(session, keyring=keyring, policy=policy, now=now)
    counts, buyers = data.purchase_counts(session, keyring=keyring)
    lam = DEFAULT_L2 if l2 is None else l2
    model, members, fit_s = _fit(dataset, lam, min_item_count, _generation(session) + 1)
    detail = {"l2": lam, "min_item_count": min_item_count, "popular_items": len(counts)}
    _audit(session, "recommender.train", now, actor, None, model, None, **detail)
    _lock(session)
    _store(session, model, dataset.item_ids, change="fit", parent=None, now=now)
    _replace_members(session, members, model.version, now)
    store_popular(session, counts, buyers, now)
    # TH-CON-03: a withdrawal committed while we trained is visible now; unlearn it exactly.
    stale = set(members) - data.permitted(
        session, keyring=keyring, policy=policy, subject_ids=list(members), now=now
    )
    version: str | None = model.version
    for sid in sorted(stale):
        reason = "no_longer_permitted"
        version = unlearn_subject(session, subject_id=sid, now=now, reason=reason, actor=actor)
    n_users, n_items = model.n_users - len(stale), int(model.items.size)
    return ModelInfo(version=str(version), n_users=n_users, n_items=n_items, fit_s=fit_s)


def _fit(
    dataset: TrainingSet, l2: float, min_item_count: int, generation: int
) -> tuple[EaseModel, dict[uuid.UUID, list[str]], float]:
    """Fit on the rows with an item in the vocabulary; return the model, members and seconds."""
    if min_item_count < 1:
        raise Invalid("min_item_count must be at least 1", field="min_item_count")
    x = dataset.matrix
    vocab = np.flatnonzero(np.bincount(x.indices, minlength=x.shape[1]) >= min_item_count)
    keep = np.flatnonzero(np.diff(x[:, vocab].tocsr().indptr) > 0)
    if keep.size == 0:
        raise Invalid(
            "nothing to train on: no subject whose consent covers recommendations has "
            f"interactions with an active item bought or viewed by {min_item_count}+ subjects",
            field="min_item_count",
        )
    started = time.perf_counter()
    model = EaseModel.fit(x[keep], l2=l2, items=vocab, generation=generation)
    fit_s = time.perf_counter() - started
    in_vocab = set(vocab.tolist())
    members = {
        dataset.subject_ids[i]: [dataset.item_ids[j] for j in x[i].indices if j in in_vocab]
        for i in keep.tolist()
    }
    return model, members, fit_s


def _replace_members(
    session: Session, members: Mapping[uuid.UUID, list[str]], version: str, now: datetime
) -> None:
    session.execute(delete(RecommenderMember))
    rows = [
        {"subject_id": sid, "item_ids": items, "model_version": version, "added_at": now}
        for sid, items in members.items()
    ]
    for start in range(0, len(rows), data.IN_CHUNK):
        session.execute(insert(RecommenderMember), rows[start : start + data.IN_CHUNK])


# --- unlearning and learning ---------------------------------------------------------------------


def unlearn_subject(
    session: Session, *, subject_id: uuid.UUID, now: datetime, reason: str, actor: str = ACTOR
) -> str | None:
    """Remove a member from the newest model exactly, as a new version; return it (TH-DSR-04).

    Scores for every other subject then equal a retrain without them over the same items.
    Returns None when the subject is not a member. Run it after the transaction's own audit
    entry (as ``subject_narrowed`` listeners are), else a concurrent model change is a Conflict.
    """
    items = data.member_items(session, subject_id)
    if items is None:
        return None
    base = _newest(session)
    if base is None or not base.blob:
        session.execute(delete(RecommenderMember).where(RecommenderMember.subject_id == subject_id))
        return None
    model = EaseModel.from_bytes(base.blob)
    model.unlearn(_columns(base.item_ids, items))
    _audit(
        session, "recommender.unlearn", now, actor, subject_id, model, base.version, reason=reason
    )
    _lock(session, built_on=base.version)
    _store(session, model, base.item_ids, change="unlearn", parent=base.version, now=now)
    session.execute(delete(RecommenderMember).where(RecommenderMember.subject_id == subject_id))
    return model.version


def learn_subject(
    session: Session,
    *,
    keyring: Keyring,
    policy: Policy,
    subject_id: uuid.UUID,
    now: datetime,
    actor: str = ACTOR,
) -> str | None:
    """Fold a consenting subject who is not yet a member into the newest model exactly."""
    verdict = policy_service.check(
        session, policy=policy, keyring=keyring, subject_id=subject_id, purpose=PURPOSE,
        categories=CATEGORIES, now=now, actor=actor,
    )  # fmt: skip
    base = _newest(session)
    if not verdict.allowed or base is None or not base.blob:
        return None
    if data.member_items(session, subject_id) is not None:
        return None
    permit = policy_service.issue_batch_permit(verdict, now=now)  # checked and audited above
    seen = data.interactions(session, keyring=keyring, permits=permit.as_set(), now=now).get(
        subject_id, set()
    )
    model = EaseModel.from_bytes(base.blob)
    row = np.intersect1d(_columns(base.item_ids, seen), model.items)
    if row.size == 0:
        return None
    model.learn(row)
    _audit(session, "recommender.learn", now, actor, subject_id, model, base.version)
    _lock(session, built_on=base.version)
    _store(session, model, base.item_ids, change="learn", parent=base.version, now=now)
    items = [base.item_ids[j] for j in row.tolist()]
    _replace_one_member(session, subject_id, items, model.version, now)
    return model.version


def _replace_one_member(
    session: Session, subject_id: uuid.UUID, items: list[str], version: str, now: datetime
) -> None:
    values = {"item_ids": items, "model_version": version, "added_at": now}
    session.execute(insert(RecommenderMember).values(subject_id=subject_id, **values))


def _on_subject_narrowed(
    session: Session,
    *,
    subject_id: uuid.UUID,
    reason: str,
    now: datetime | None = None,
    **context: Any,
) -> None:
    """Unlearn a member whose permissions narrowed, in the caller's transaction (TH-CON-03)."""
    purpose = context.get("purpose")
    if purpose is not None and purpose != PURPOSE:
        return  # e.g. a withdrawal from email marketing leaves the recommender alone
    unlearn_subject(session, subject_id=subject_id, now=now or utcnow(), reason=reason)


signals.on_subject_narrowed(_on_subject_narrowed)


# --- storing versions ----------------------------------------------------------------------------


def _newest(session: Session) -> Any:
    """Return the newest version's row (id, version, item_ids, blob), or None."""
    return session.execute(
        select(
            RecommenderModel.id,
            RecommenderModel.version,
            RecommenderModel.item_ids,
            RecommenderModel.blob,
        )
        .order_by(RecommenderModel.id.desc())
        .limit(1)
    ).one_or_none()


def _generation(session: Session) -> int:
    version = data.newest_version(session)
    return int(version.split("-", 1)[0]) if version else 0


def _lock(session: Session, *, built_on: str | None = None) -> None:
    """Serialise model writers; with ``built_on``, insist it is still the newest version."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    if built_on is not None and data.newest_version(session) != built_on:
        raise Conflict(
            "the recommender model changed while this update was prepared; retry",
            field="model_version",
        )


def _store(
    session: Session,
    model: EaseModel,
    item_ids: Sequence[str],
    *,
    change: str,
    parent: str | None,
    now: datetime,
) -> None:
    """Insert a version, empty the blobs that must go, and make this process re-check."""
    values = {
        "version": model.version, "parent_version": parent, "change": change,
        "n_users": model.n_users, "n_items": int(model.items.size), "item_ids": list(item_ids),
        "blob": model.to_bytes(), "created_at": now,
    }  # fmt: skip
    stmt = insert(RecommenderModel).values(**values).returning(RecommenderModel.id)
    new_id = session.execute(stmt).scalar_one()
    if change == "unlearn":
        cutoff = new_id  # TH-DSR-04: every older version still holds the unlearned subject
    else:
        older = select(RecommenderModel.id).order_by(RecommenderModel.id.desc())
        cutoff = session.scalar(older.offset(KEEP_BLOBS - 1).limit(1)) or 0
    session.execute(
        update(RecommenderModel)
        .where(RecommenderModel.id < cutoff, func.length(RecommenderModel.blob) > 0)
        .values(blob=b"")
    )
    forget(session)


def _audit(
    session: Session,
    action: str,
    now: datetime,
    actor: str,
    subject_id: uuid.UUID | None,
    model: EaseModel,
    parent: str | None,
    **detail: Any,
) -> None:
    """Audit a model change: versions and counts, never items (no personal data)."""
    audit_service.record(
        session, actor=actor, action=action, now=now, subject_id=subject_id, purpose=PURPOSE,
        outcome="recorded",
        detail={"version": model.version, "parent_version": parent, "n_users": model.n_users,
                "n_items": int(model.items.size), **detail},
    )  # fmt: skip


def _columns(item_ids: Sequence[str], items: Collection[str]) -> NDArray[np.int64]:
    return data.columns_of({item: j for j, item in enumerate(item_ids)}, items)


# --- access and erasure --------------------------------------------------------------------------


def export_subject(
    session: Session, *, permit: Permit, subject_id: uuid.UUID
) -> RecommenderMemberRead | None:
    """Return the subject's membership: the items their row holds and the versions (TH-DSR-01)."""
    permit.require_subject(subject_id)
    row = session.execute(
        select(
            RecommenderMember.item_ids, RecommenderMember.model_version, RecommenderMember.added_at
        ).where(RecommenderMember.subject_id == subject_id)
    ).one_or_none()
    if row is None:
        return None
    return RecommenderMemberRead(
        subject_id=subject_id,
        item_ids=list(row.item_ids),
        model_version=row.model_version,
        current_version=data.newest_version(session),
        added_at=row.added_at,
    )


def is_member(session: Session, *, subject_id: uuid.UUID) -> bool:
    """Return True if the recommender holds a row of the subject (``export_subject`` says which)."""
    found = session.scalar(
        select(RecommenderMember.subject_id).where(RecommenderMember.subject_id == subject_id)
    )
    return found is not None


def erase_subject(session: Session, *, subject_id: uuid.UUID, now: datetime) -> int:
    """Unlearn the subject exactly and delete their membership; return rows deleted (TH-DSR-04)."""
    if data.member_items(session, subject_id) is None:
        return 0
    unlearn_subject(session, subject_id=subject_id, now=now, reason="erased")
    return 1
