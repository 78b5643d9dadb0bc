"""RFM summaries, quintile scores, named segments and VIP tiers; pure numpy, no database.

Time unit: ``recency`` and ``T`` are in units of ``unit_days`` days (default 7: weeks, the unit of
the BG/NBD benchmark); ``days_since_last`` is always in days. Purchases are grouped by UTC day, so
several purchases on one day are one transaction (the BG/NBD convention).

Segments and tiers are insights about a subject: usable only where the categories they were
computed from are permitted, and part of the subject's access copy (TH-DSR-01). Segments must not
target or infer sensitive categories (TH-SEN-01); RFM uses purchase data only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rujai.errors import Invalid

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

WEEK_DAYS = 7.0


@dataclass(frozen=True)
class Label:
    """A display label in Thai (default, TH-CON-05) and English."""

    th: str
    en: str


@dataclass(frozen=True)
class Summary:
    """One customer's purchase summary at the end of a calibration period.

    ``frequency``: repeat purchases = distinct purchase days - 1. ``recency``: first to last
    purchase and ``T``: first purchase to the end, both in ``unit_days`` units. ``monetary``: mean
    spend per repeat purchase day (0 without repeats). ``days_since_last`` in days, ``orders`` =
    purchase rows, ``total_spend`` = sum of all amounts.
    """

    frequency: int
    recency: float
    T: float
    monetary: float
    days_since_last: float
    orders: int
    total_spend: float


@dataclass(frozen=True)
class Summaries:
    """Summaries of many customers as parallel arrays; ``customer`` holds the sorted keys."""

    customer: NDArray[np.generic]
    frequency: IntArray
    recency: FloatArray
    T: FloatArray
    monetary: FloatArray
    days_since_last: FloatArray
    orders: IntArray
    total_spend: FloatArray

    def row(self, i: int) -> Summary:
        """Return customer ``i`` as a ``Summary``."""
        return Summary(
            frequency=int(self.frequency[i]),
            recency=float(self.recency[i]),
            T=float(self.T[i]),
            monetary=float(self.monetary[i]),
            days_since_last=float(self.days_since_last[i]),
            orders=int(self.orders[i]),
            total_spend=float(self.total_spend[i]),
        )


def summarize_arrays(
    customer: ArrayLike,
    day: ArrayLike,
    amount: ArrayLike,
    *,
    end_day: int,
    unit_days: float = WEEK_DAYS,
) -> Summaries:
    """Summarise purchases given as parallel arrays (customer key, integer day number, amount).

    Purchases after ``end_day`` (the last day of the calibration period, inclusive) are ignored;
    customers whose first purchase is after it do not appear.
    """
    if unit_days <= 0:
        raise Invalid("unit_days must be > 0", field="unit_days")
    cust, days, amounts = np.asarray(customer), np.asarray(day, np.int64), np.asarray(amount, float)
    if not cust.shape == days.shape == amounts.shape or cust.ndim != 1:
        raise Invalid("customer, day and amount must be 1-d arrays of one length", field="day")
    keep = days <= end_day
    cust, days, amounts = cust[keep], days[keep], amounts[keep]
    keys, cust_idx, orders = np.unique(cust, return_inverse=True, return_counts=True)
    total = np.asarray(np.bincount(cust_idx, weights=amounts, minlength=keys.size), np.float64)
    first, last, frequency, first_spend = _transactions(cust_idx, days, amounts, keys.size)
    monetary = np.divide(
        total - first_spend, frequency, out=np.zeros(keys.size), where=frequency > 0
    )
    return Summaries(
        customer=keys,
        frequency=frequency,
        recency=(last - first) / unit_days,
        T=(end_day - first) / unit_days,
        monetary=monetary,
        days_since_last=(end_day - last).astype(np.float64),
        orders=orders.astype(np.int64),
        total_spend=total,
    )


def _transactions(
    cust_idx: IntArray, days: IntArray, amounts: FloatArray, n: int
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Return per customer: first day, last day, repeat transactions, spend on the first day.

    A transaction is a distinct (customer, day) pair; ``np.unique`` sorts them by customer, day.
    """
    pairs, pair_idx = np.unique(np.stack([cust_idx, days]), axis=1, return_inverse=True)
    day_spend = np.bincount(pair_idx.ravel(), weights=amounts, minlength=pairs.shape[1])
    owner, pair_day = pairs[0], pairs[1]
    first_pos = np.searchsorted(owner, np.arange(n))
    last = np.maximum.reduceat(pair_day, first_pos) if n else pair_day[:0]
    frequency = (np.bincount(owner, minlength=n) - 1).astype(np.int64)
    return pair_day[first_pos], last, frequency, np.asarray(day_spend[first_pos], np.float64)


def summarize(
    purchases: Sequence[tuple[datetime, float]], *, end: datetime, unit_days: float = WEEK_DAYS
) -> Summary:
    """Summarise one customer's (timestamp, amount) purchases at ``end`` (inclusive, UTC days)."""
    if not purchases:
        raise Invalid("a summary needs at least one purchase", field="purchases")
    days = [_day_number(ts) for ts, _ in purchases]
    amounts = [amount for _, amount in purchases]
    end_day = _day_number(end)
    if min(days) > end_day:
        raise Invalid("the first purchase is after the end of the period", field="end")
    result = summarize_arrays(
        np.zeros(len(days), np.int64), days, amounts, end_day=end_day, unit_days=unit_days
    )
    return result.row(0)


def _day_number(value: datetime) -> int:
    """Return the UTC day ordinal of an aware (or naive, taken as UTC) timestamp."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return date.toordinal(aware.astimezone(UTC).date())


def quintile_scores(values: ArrayLike) -> IntArray:
    """Return quintile scores 1..5: 1 + floor(5 * share of customers with a strictly lower value).

    Ties share a score, and a value shared by many customers (a single order) scores by the
    customers below it, so it scores low rather than in the middle of its tie.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    below = np.searchsorted(np.sort(v), v, side="left")
    return np.minimum(1 + (5 * below) // v.size, 5).astype(np.int64)


def rfm_scores(summaries: Summaries | Sequence[Summary]) -> tuple[IntArray, IntArray, IntArray]:
    """Return R, F, M quintile scores 1..5 (R from days since last purchase, lower is better;
    F from order count; M from total spend)."""
    if isinstance(summaries, Summaries):
        since, orders, spend = summaries.days_since_last, summaries.orders, summaries.total_spend
    else:
        since = np.array([s.days_since_last for s in summaries], dtype=np.float64)
        orders = np.array([s.orders for s in summaries], dtype=np.int64)
        spend = np.array([s.total_spend for s in summaries], dtype=np.float64)
    return quintile_scores(-since), quintile_scores(orders), quintile_scores(spend)


SEGMENT_LABELS: Mapping[str, Label] = {
    "champions": Label("ลูกค้าชั้นยอด", "Champions"),
    "loyal": Label("ลูกค้าประจำ", "Loyal customers"),
    "potential_loyalist": Label("ลูกค้าที่มีแววเป็นลูกค้าประจำ", "Potential loyalists"),
    "new": Label("ลูกค้าใหม่", "New customers"),
    "promising": Label("ลูกค้าที่มีแนวโน้มดี", "Promising"),
    "need_attention": Label("ลูกค้าที่ควรดูแลเป็นพิเศษ", "Need attention"),
    "about_to_sleep": Label("ลูกค้าที่เริ่มห่างหาย", "About to sleep"),
    "at_risk": Label("ลูกค้าที่เสี่ยงจะเลิกซื้อ", "At risk"),
    "cannot_lose": Label("ลูกค้าสำคัญที่ห้ามเสียไป", "Cannot lose them"),
    "hibernating": Label("ลูกค้าที่ห่างหายไปนาน", "Hibernating"),
    "lost": Label("ลูกค้าที่เสียไปแล้ว", "Lost"),
}

# Rows: R score 1..5; columns: FM = round-half-up((F + M) / 2) 1..5. Adapted from the common
# 11-segment RFM scheme (R against the mean of F and M), made non-overlapping.
_SEGMENT_GRID = np.array(
    [
        ["lost", "hibernating", "at_risk", "cannot_lose", "cannot_lose"],
        ["hibernating", "about_to_sleep", "at_risk", "at_risk", "cannot_lose"],
        ["about_to_sleep", "need_attention", "need_attention", "loyal", "loyal"],
        ["promising", "potential_loyalist", "loyal", "champions", "champions"],
        ["new", "potential_loyalist", "potential_loyalist", "champions", "champions"],
    ]
)


def rfm_segments(r: ArrayLike, f: ArrayLike, m: ArrayLike) -> NDArray[np.str_]:
    """Return the segment name for each (R, F, M) score triple; scores must be 1..5."""
    scores = [np.asarray(s) for s in np.broadcast_arrays(r, f, m)]
    for name, s in zip("rfm", scores, strict=True):
        if not (np.issubdtype(s.dtype, np.integer) and np.all((s >= 1) & (s <= 5))):
            raise Invalid("RFM scores must be whole numbers 1..5", field=name)
    rs, fs, ms = scores
    fm = (fs + ms + 1) // 2
    segments: NDArray[np.str_] = _SEGMENT_GRID[rs - 1, fm - 1]
    return segments


def rfm_segment(r: int, f: int, m: int) -> str:
    """Return the segment name (a key of ``SEGMENT_LABELS``) for one customer's scores."""
    return str(np.asarray(rfm_segments(np.int64(r), np.int64(f), np.int64(m))).item())


NO_TIER = "none"

DEFAULT_VIP_THRESHOLDS: Mapping[str, float] = {
    "bronze": 0.0,
    "silver": 5_000.0,
    "gold": 20_000.0,
    "platinum": 50_000.0,
}

TIER_LABELS: Mapping[str, Label] = {
    NO_TIER: Label("ไม่มีระดับสมาชิก", "No tier"),
    "bronze": Label("ระดับทองแดง", "Bronze"),
    "silver": Label("ระดับเงิน", "Silver"),
    "gold": Label("ระดับทอง", "Gold"),
    "platinum": Label("ระดับแพลทินัม", "Platinum"),
}


def vip_tiers(total_spend: ArrayLike, thresholds: Mapping[str, float]) -> NDArray[np.str_]:
    """Return each customer's tier: the highest threshold <= spend, else ``NO_TIER``."""
    if not thresholds:
        raise Invalid("at least one tier threshold is needed", field="thresholds")
    names = np.array(list(thresholds), dtype=np.str_)
    limits = np.array(list(thresholds.values()), dtype=np.float64)
    if not np.all(np.isfinite(limits)):
        raise Invalid("tier thresholds must be finite", field="thresholds")
    order = np.argsort(limits, kind="stable")
    spend = np.asarray(total_spend, dtype=np.float64)
    if np.any(np.isnan(spend)):
        raise Invalid("total spend must be a number", field="total_spend")
    position = np.searchsorted(limits[order], spend, side="right") - 1
    labels = np.append(names[order], np.str_(NO_TIER))
    tiers: NDArray[np.str_] = labels[position]  # -1 (below every threshold) is NO_TIER
    return tiers


def vip_tier(total_spend: float, thresholds: Mapping[str, float] = DEFAULT_VIP_THRESHOLDS) -> str:
    """Return the VIP tier for one customer's total spend (see ``TIER_LABELS`` for Thai names)."""
    return str(np.asarray(vip_tiers(total_spend, thresholds)).item())
