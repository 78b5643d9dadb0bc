"""Reach for the console: decisions per day and how many were personalized (counts only).

An aggregate (no Permit): a count that could single out a person (below k, ``kit.aggregates``)
is withheld, and so is a personalized count whose complement is that small.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from rujai.kit.aggregates import suppress_part
from rujai.kit.time import as_utc
from rujai.personalize.decision_schemas import ReachRead
from rujai.personalize.models import Decision

BANGKOK_OFFSET = timedelta(hours=7)


def reach_by_day(session: Session, *, days: int, now: datetime, min_count: int) -> list[ReachRead]:
    """Return, for each of the last ``days`` days (Bangkok time), the decisions made and how many
    were personalized; counts below ``min_count`` are withheld."""
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
    result = []
    for d in (first + timedelta(days=i) for i in range(days)):
        decisions, personalized = suppress_part(*counts.get(d, (0, 0)), min_count)
        result.append(ReachRead(day=d, decisions=decisions, personalized=personalized))
    return result


def _bangkok_day(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("Asia/Bangkok", Decision.created_at), Date)
    return func.date(Decision.created_at, "+7 hours")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
