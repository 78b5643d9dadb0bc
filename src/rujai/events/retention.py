"""Retention of stored events (TH-RET-01): which categories are stored, and purging by age.

``rights.retention`` decides the cut-off per category from the policy; this module counts or
deletes the rows. Counts only leave it: no event, no subject.
"""

from __future__ import annotations

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
