"""Reach of personalization for the console: decisions per day and how many were personalized.

Counts only, no personal data: what the console's dashboard charts next to consent rates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from rujai.kit.time import as_utc
from rujai.personalize.decision_schemas import ReachRead
from rujai.personalize.models import Decision

BANGKOK_OFFSET = timedelta(hours=7)


def reach_by_day(session: Session, *, days: int, now: datetime) -> list[ReachRead]:
    """Return, for each of the last ``days`` days (Bangkok time), the decisions made and how many
    were personalized (counts only)."""
    today = (as_utc(now) + BANGKOK_OFFSET).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo) - BANGKOK_OFFSET
    day = _bangkok_day(session)
    query = (
        select(
            day,
            func.count(),
            func.sum(case((Decision.personalized, 1), else_=0)),
        )
        .where(Decision.created_at >= as_utc(since), Decision.created_at <= now)
        .group_by(day)
    )
    counts = {_as_date(d): (int(n), int(p or 0)) for d, n, p in session.execute(query)}
    return [
        ReachRead(day=d, decisions=counts.get(d, (0, 0))[0], personalized=counts.get(d, (0, 0))[1])
        for d in (first + timedelta(days=i) for i in range(days))
    ]


def _bangkok_day(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("Asia/Bangkok", Decision.created_at), Date)
    return func.date(Decision.created_at, "+7 hours")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
