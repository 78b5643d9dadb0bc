"""Retention of decisions (TH-RET-01): purging the decision log by age; counts only.

``rights.retention`` sets the cut-off (the longest retention among the purposes decisions are
made for); a decision's outcomes go with it (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rujai.kit.purge import count_or_delete
from rujai.personalize.models import Decision


def purge_decisions(session: Session, *, cut_off: datetime, dry_run: bool) -> int:
    """Delete the decisions made before ``cut_off`` (dry: count them); return how many."""
    return count_or_delete(session, Decision, Decision.created_at < cut_off, dry_run=dry_run)
