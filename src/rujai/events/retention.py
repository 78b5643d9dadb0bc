"""Retention of stored events (TH-RET-01): which categories are stored, and purging by age.

``rights.retention`` decides the cut-off per category from the policy; this module counts or
deletes the rows. Counts only leave it: no event, no subject.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.events.models import Event
from rujai.kit.purge import count_or_delete


def stored_categories(session: Session) -> set[str]:
    """Return the data categories of the events stored now."""
    return set(session.scalars(select(Event.category).distinct()))


def purge_older_than(session: Session, *, category: str, cut_off: datetime, dry_run: bool) -> int:
    """Delete the events of ``category`` that occurred before ``cut_off`` (dry: count them)."""
    return count_or_delete(
        session, Event, Event.occurred_at < cut_off, Event.category == category, dry_run=dry_run
    )


def subjects_with_events(session: Session) -> list[uuid.UUID]:
    """Return the ids of the subjects that have any stored event (pseudonymous ids only)."""
    return list(session.scalars(select(Event.subject_id).distinct()))


def purge_subjects_between(
    session: Session,
    *,
    category: str,
    subject_ids: Sequence[uuid.UUID],
    cut_off: datetime,
    floor: datetime,
    dry_run: bool,
) -> int:
    """Delete these subjects' events of ``category`` from ``floor`` up to ``cut_off`` (dry: count).

    Events before ``floor`` are the policy-wide purge's (``purge_older_than``), so a dry run does
    not count them twice.
    """
    if not subject_ids or cut_off <= floor:
        return 0
    return count_or_delete(
        session, Event, Event.subject_id.in_(list(subject_ids)), Event.category == category,
        Event.occurred_at < cut_off, Event.occurred_at >= floor, dry_run=dry_run,
    )  # fmt: skip
