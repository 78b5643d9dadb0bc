"""Consent rates for the console: counts only, small counts withheld (an aggregate, no Permit).

``consent_rates_by_week`` folds the ledger in one ordered pass (TH-CON-04) and returns, per purpose
and week, how many subjects had been asked and how many had granted at the week's end. A count
that could single out a person (below k, ``kit.aggregates``) is withheld.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rujai.consent.models import ConsentRecord
from rujai.consent.schemas import ConsentRateRead
from rujai.kit.aggregates import suppress_part
from rujai.kit.time import as_utc

BANGKOK_OFFSET = timedelta(hours=7)


def consent_rates_by_week(
    session: Session, *, purposes: Sequence[str], weeks: int, now: datetime, min_count: int
) -> list[ConsentRateRead]:
    """Return, per purpose and week, the subjects asked and those whose latest answer was a grant
    at the week's end; counts below ``min_count`` are withheld."""
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
    latest: dict[tuple[uuid.UUID, str], str] = {}
    result: list[ConsentRateRead] = []
    pending = list(ends)
    for subject_id, purpose, action, recorded_at in rows:
        while pending and as_utc(recorded_at) > pending[0]:
            result.extend(_snapshot(latest, purposes, pending.pop(0), min_count))
        latest[(subject_id, purpose)] = action
    for end in pending:
        result.extend(_snapshot(latest, purposes, end, min_count))
    return result


def _snapshot(
    latest: dict[tuple[uuid.UUID, str], str], purposes: Sequence[str], end: datetime, k: int
) -> list[ConsentRateRead]:
    asked = dict.fromkeys(purposes, 0)
    granted = dict.fromkeys(purposes, 0)
    for (_subject, purpose), action in latest.items():
        asked[purpose] += 1
        granted[purpose] += action == "grant"
    start = (as_utc(end) + BANGKOK_OFFSET).date() - timedelta(days=6)
    shown = {p: suppress_part(asked[p], granted[p], k) for p in purposes}
    return [
        ConsentRateRead(purpose=p, week_start=start, asked=shown[p][0], granted=shown[p][1])
        for p in purposes
    ]
