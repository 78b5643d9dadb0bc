"""PROVISIONAL: two aggregate reads the console dashboard needs and no domain offers yet.

``consent_rates_by_week`` belongs in ``rujai.consent.history`` and ``reach_by_day`` in
``rujai.personalize.decide``: they read those domains' tables, which the web layer must not do
(STYLE.md §1). They are written as those domains' service functions (session first, keyword-only
arguments, schemas out, counts only: no personal data) so that moving them is a cut and paste
plus two imports in ``console.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Date, case, cast, func, select
from sqlalchemy.orm import Session

from rujai.consent.models import ConsentRecord
from rujai.kit.time import as_utc
from rujai.personalize.models import Decision

BANGKOK_OFFSET = timedelta(hours=7)


class ConsentRateRead(BaseModel):
    """Of the subjects asked about a purpose by the end of a week, how many had said yes then."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    week_start: date
    asked: int
    granted: int

    @property
    def rate(self) -> float | None:
        """The share granted, or None when nobody had been asked."""
        return self.granted / self.asked if self.asked else None


class ReachRead(BaseModel):
    """Decisions made on one day (Bangkok time) and how many of them were personalized."""

    model_config = ConfigDict(frozen=True)

    day: date
    decisions: int
    personalized: int

    @property
    def share(self) -> float | None:
        """The share personalized, or None on a day without decisions."""
        return self.personalized / self.decisions if self.decisions else None


def consent_rates_by_week(
    session: Session, *, purposes: Sequence[str], weeks: int, now: datetime
) -> list[ConsentRateRead]:
    """Return, per purpose and week, the subjects asked and those whose latest answer was a grant
    at the week's end (the ledger folded in one ordered pass, TH-CON-04)."""
    ends = [now - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    rows = session.execute(
        select(
            ConsentRecord.subject_id,
            ConsentRecord.purpose,
            ConsentRecord.action,
            ConsentRecord.recorded_at,
        )
        .where(ConsentRecord.purpose.in_(list(purposes)), ConsentRecord.recorded_at <= now)
        .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    )
    latest: dict[tuple[Any, str], str] = {}
    result: list[ConsentRateRead] = []
    pending = list(ends)
    for subject_id, purpose, action, recorded_at in rows:
        while pending and as_utc(recorded_at) > pending[0]:
            result.extend(_snapshot(latest, purposes, pending.pop(0)))
        latest[(subject_id, purpose)] = action
    for end in pending:
        result.extend(_snapshot(latest, purposes, end))
    return result


def _snapshot(
    latest: dict[tuple[Any, str], str], purposes: Sequence[str], end: datetime
) -> list[ConsentRateRead]:
    asked = dict.fromkeys(purposes, 0)
    granted = dict.fromkeys(purposes, 0)
    for (_subject, purpose), action in latest.items():
        asked[purpose] += 1
        granted[purpose] += action == "grant"
    start = (as_utc(end) + BANGKOK_OFFSET).date() - timedelta(days=6)
    return [
        ConsentRateRead(purpose=p, week_start=start, asked=asked[p], granted=granted[p])
        for p in purposes
    ]


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
