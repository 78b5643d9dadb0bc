"""What a breach touched in the events: set-based queries for the blast radius (TH-BRE-01).

``subject_ids_in_window`` lists ids only (what the door is asked about, as ``bulk.subject_ids_with``
does); ``permitted_counts`` groups the events of the window by subject and category and keeps the
subjects and categories the ``PermitSet`` covers; ``category_counts`` is an anonymous aggregate
(distinct subjects and events per category) for categories the door does not open to a legal
duty, such as sensitive ones (TH-SEN-01). One grouped statement each, never a loop per subject.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from rujai.events.models import Event
from rujai.policy.permit import PermitSet


def _window(
    categories: Collection[str], start: datetime, end: datetime
) -> list[ColumnElement[bool]]:
    return [
        Event.category.in_(list(categories)),
        Event.occurred_at >= start,
        Event.occurred_at <= end,
    ]


def subject_ids_in_window(
    session: Session, *, categories: Collection[str], start: datetime, end: datetime
) -> list[uuid.UUID]:
    """Return the ids of subjects with an event of these categories in the window (ids only)."""
    if not categories:
        return []
    stmt = select(Event.subject_id).where(*_window(categories, start, end)).distinct()
    return sorted(session.scalars(stmt))


def permitted_counts(
    session: Session,
    *,
    permits: PermitSet,
    categories: Collection[str],
    start: datetime,
    end: datetime,
) -> dict[uuid.UUID, dict[str, int]]:
    """Return, per permitted subject, the number of its events per category in the window."""
    if not categories:
        return {}
    stmt = (
        select(Event.subject_id, Event.category, func.count())
        .where(*_window(categories, start, end))
        .group_by(Event.subject_id, Event.category)
    )
    found: dict[uuid.UUID, dict[str, int]] = {}
    for sid, category, count in session.execute(stmt):
        if permits.covers(sid, category):
            found.setdefault(sid, {})[category] = int(count)
    return found


def category_counts(
    session: Session, *, categories: Collection[str], start: datetime, end: datetime
) -> dict[str, tuple[int, int]]:
    """Return, per category, (distinct subjects, events) in the window: counts only."""
    if not categories:
        return {}
    stmt = (
        select(Event.category, func.count(func.distinct(Event.subject_id)), func.count())
        .where(*_window(categories, start, end))
        .group_by(Event.category)
    )
    return {category: (int(n), int(m)) for category, n, m in session.execute(stmt)}
