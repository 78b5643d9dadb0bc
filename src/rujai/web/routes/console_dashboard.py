"""The dashboard's four charts: consent rates, personalization reach, offer lift, request queue.

Shapes the numbers the services return into ``charts`` SVGs and the tables shown beside them;
counts only, no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from rujai.consent import history as consent_history
from rujai.consent.schemas import ConsentRateRead
from rujai.personalize import offers as offers_service, reach as reach_service
from rujai.personalize.decision_schemas import ReachRead
from rujai.personalize.schemas import LiftRead
from rujai.policy.schemas import Policy
from rujai.rights import service as rights_service
from rujai.rights.schemas import OPEN_STATUSES, RequestRead
from rujai.web import charts
from rujai.web.i18n import Lang, translate

WEEKS = 12
DAYS = 30

THAI_SHORT_MONTHS = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
# Deadline buckets of open requests: (message key, days left at most); the first is "overdue".
QUEUE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("console.queue.overdue", 0.0),
    ("console.queue.within_3", 3.0),
    ("console.queue.within_7", 7.0),
    ("console.queue.within_14", 14.0),
    ("console.queue.later", float("inf")),
)


@dataclass(frozen=True, slots=True)
class DashboardData:
    consent: list[ConsentRateRead]
    reach: list[ReachRead]
    lift: LiftRead
    queue: list[RequestRead]


def gather(session: Session, *, policy: Policy, now: datetime) -> DashboardData:
    """Read the four dashboards' numbers from their services (counts only)."""
    purposes = [pid for pid, p in policy.purposes.items() if p.basis.is_consent]
    return DashboardData(
        consent=consent_history.consent_rates_by_week(
            session, purposes=purposes, weeks=WEEKS, now=now
        ),
        reach=reach_service.reach_by_day(session, days=DAYS, now=now),
        lift=offers_service.lift_report(session),
        queue=[
            item
            for status in sorted(OPEN_STATUSES)
            for item in rights_service.list_requests(
                session, now=now, status=status, limit=rights_service.MAX_LIST
            )
        ],
    )


def short_date(day: date, lang: Lang) -> str:
    """Format a day compactly for an axis: ``3 พ.ย.`` or ``3 Nov``."""
    if lang == "th":
        return f"{day.day} {THAI_SHORT_MONTHS[day.month - 1]}"
    return f"{day.day} {day:%b}"


def dashboard_context(
    data: DashboardData, *, policy: Policy, lang: Lang, now: datetime
) -> dict[str, Any]:
    """Return the dashboard template's context: four charts and their tables."""
    open_requests = sorted(
        (r for r in data.queue if r.status in OPEN_STATUSES), key=lambda r: r.effective_due_at
    )
    return {
        "consent_chart": _consent_chart(data.consent, policy, lang),
        "consent_table": _consent_table(data.consent, policy, lang),
        "reach_chart": _reach_chart(data.reach, lang),
        "reach": data.reach,
        "lift_chart": _lift_chart(data.lift, lang),
        "lift": data.lift,
        "queue_chart": _queue_chart(open_requests, lang, now),
        "queue": open_requests,
    }


def _weeks(rates: list[ConsentRateRead]) -> list[date]:
    return sorted({r.week_start for r in rates})


def _consent_chart(rates: list[ConsentRateRead], policy: Policy, lang: Lang) -> Any:
    weeks = _weeks(rates)
    by_key = {(r.purpose, r.week_start): r.rate for r in rates}
    purposes = sorted({r.purpose for r in rates}, key=list(policy.purposes).index)
    series = [
        charts.Series(policy.purposes[p].title.get(lang), [by_key.get((p, w)) for w in weeks])
        for p in purposes
    ]
    return charts.line_chart(
        chart_id="chart-consent",
        title=translate("console.chart.consent.title", lang),
        desc=translate("console.chart.consent.desc", lang),
        x_labels=[short_date(w, lang) for w in weeks],
        series=series,
        empty=translate("console.chart.empty", lang),
    )


def _consent_table(rates: list[ConsentRateRead], policy: Policy, lang: Lang) -> dict[str, Any]:
    weeks = _weeks(rates)
    purposes = sorted({r.purpose for r in rates}, key=list(policy.purposes).index)
    by_key = {(r.purpose, r.week_start): r for r in rates}
    return {
        "purposes": [policy.purposes[p].title.get(lang) for p in purposes],
        "rows": [
            (short_date(w, lang), [by_key[(p, w)] for p in purposes if (p, w) in by_key])
            for w in weeks
        ],
    }


def _reach_chart(reach: list[ReachRead], lang: Lang) -> Any:
    return charts.line_chart(
        chart_id="chart-reach",
        title=translate("console.chart.reach.title", lang),
        desc=translate("console.chart.reach.desc", lang),
        x_labels=[short_date(r.day, lang) for r in reach],
        series=[
            charts.Series(translate("console.chart.reach.series", lang), [r.share for r in reach])
        ],
        empty=translate("console.chart.empty", lang),
    )


def _lift_chart(lift: LiftRead, lang: Lang) -> Any:
    rows = []
    if lift.treatment_rate is not None:
        rows.append(charts.Interval(translate("console.lift.treatment", lang), lift.treatment_rate))
    if lift.holdout_rate is not None:
        rows.append(charts.Interval(translate("console.lift.holdout", lang), lift.holdout_rate))
    if lift.lift is not None:
        rows.append(
            charts.Interval(translate("console.lift.lift", lang), lift.lift, lift.low, lift.high)
        )
    return charts.interval_chart(
        chart_id="chart-lift",
        title=translate("console.chart.lift.title", lang),
        desc=translate("console.chart.lift.desc", lang),
        rows=rows,
        empty=translate("console.chart.lift.empty", lang),
    )


def queue_buckets(requests: list[RequestRead], now: datetime) -> list[int]:
    """Count open requests per deadline bucket (overdue first)."""
    counts = [0] * len(QUEUE_BUCKETS)
    for request in requests:
        if request.is_overdue:
            counts[0] += 1
            continue
        days_left = (request.effective_due_at - now) / timedelta(days=1)
        index = next(i for i, (_, most) in enumerate(QUEUE_BUCKETS) if i and days_left <= most)
        counts[index] += 1
    return counts


def _queue_chart(requests: list[RequestRead], lang: Lang, now: datetime) -> Any:
    counts = queue_buckets(requests, now)
    bars = [
        charts.Bar(translate(key, lang), float(n), alert=i == 0)
        for i, ((key, _), n) in enumerate(zip(QUEUE_BUCKETS, counts, strict=True))
    ]
    return charts.bar_chart(
        chart_id="chart-queue",
        title=translate("console.chart.queue.title", lang),
        desc=translate("console.chart.queue.desc", lang),
        bars=bars,
        empty=translate("console.chart.queue.empty", lang),
        alert_label=translate("console.queue.overdue_alert", lang),
    )
