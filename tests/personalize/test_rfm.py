"""RFM summaries, quintile scores, segments and VIP tiers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from rujai.errors import Invalid
from rujai.personalize import rfm

BANGKOK = timezone(timedelta(hours=7))


def day(d: int, hour: int = 12) -> datetime:
    return datetime(2024, 1, 1, hour, tzinfo=UTC) + timedelta(days=d)


def test_summary_counts_same_day_purchases_once():
    purchases = [(day(0, 9), 100.0), (day(0, 18), 50.0), (day(7), 200.0), (day(21), 300.0)]
    summary = rfm.summarize(purchases, end=day(28))
    assert summary == rfm.Summary(
        frequency=2,
        recency=3.0,
        T=4.0,
        monetary=250.0,
        days_since_last=7.0,
        orders=4,
        total_spend=650.0,
    )


def test_summary_is_in_days_when_unit_days_is_one():
    summary = rfm.summarize([(day(0), 10.0), (day(7), 20.0)], end=day(28), unit_days=1.0)
    assert (summary.recency, summary.T) == (7.0, 28.0)


def test_summary_ignores_purchases_after_the_end():
    summary = rfm.summarize([(day(0), 10.0), (day(3), 20.0), (day(40), 999.0)], end=day(10))
    assert (summary.frequency, summary.orders, summary.total_spend) == (1, 2, 30.0)


def test_summary_of_one_purchase_has_no_repeats():
    summary = rfm.summarize([(day(2), 80.0)], end=day(9))
    assert (summary.frequency, summary.recency, summary.monetary) == (0, 0.0, 0.0)
    assert summary.T == 1.0


def test_summary_groups_purchases_by_utc_day():
    late_evening = datetime(2024, 1, 1, 23, 30, tzinfo=BANGKOK)  # 16:30 UTC
    next_morning = datetime(2024, 1, 2, 1, 0, tzinfo=BANGKOK)  # 18:00 UTC, same UTC day
    summary = rfm.summarize([(late_evening, 1.0), (next_morning, 2.0)], end=day(5))
    assert (summary.frequency, summary.orders) == (0, 2)


def test_summary_rejects_a_first_purchase_after_the_end():
    with pytest.raises(Invalid) as e:
        rfm.summarize([(day(20), 1.0)], end=day(10))
    assert e.value.field == "end"


def test_summarize_arrays_matches_per_customer_summaries():
    rng = np.random.default_rng(4)
    customer = rng.integers(0, 30, size=400)
    days = rng.integers(0, 120, size=400)
    amount = rng.uniform(5, 500, size=400).round(2)
    many = rfm.summarize_arrays(customer, days, amount, end_day=100)
    assert many.customer.tolist() == sorted(set(customer[days <= 100].tolist()))
    for i, key in enumerate(many.customer):
        mine = customer == key
        purchases = [(day(int(d)), float(a)) for d, a in zip(days[mine], amount[mine], strict=True)]
        expected = rfm.summarize(purchases, end=day(100))
        got = many.row(i)
        assert got.frequency == expected.frequency
        assert got.total_spend == pytest.approx(expected.total_spend)
        assert got.monetary == pytest.approx(expected.monetary)
        assert (got.recency, got.T, got.days_since_last, got.orders) == (
            expected.recency,
            expected.T,
            expected.days_since_last,
            expected.orders,
        )


def test_quintile_scores_split_distinct_values_into_fifths():
    scores = rfm.quintile_scores(np.arange(10.0)[::-1])
    assert scores.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_quintile_scores_give_tied_values_one_score():
    scores = rfm.quintile_scores([1, 1, 1, 1, 1, 1, 2, 3, 5, 8])
    assert scores.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]


def test_rfm_scores_rank_recent_frequent_big_spenders_highest():
    summaries = [
        rfm.Summary(3, 10.0, 12.0, 50.0, days_since_last=2.0, orders=9, total_spend=900.0),
        rfm.Summary(0, 0.0, 30.0, 0.0, days_since_last=210.0, orders=1, total_spend=20.0),
        rfm.Summary(1, 2.0, 20.0, 30.0, days_since_last=120.0, orders=2, total_spend=60.0),
        rfm.Summary(2, 5.0, 25.0, 40.0, days_since_last=60.0, orders=3, total_spend=120.0),
        rfm.Summary(2, 8.0, 22.0, 45.0, days_since_last=30.0, orders=5, total_spend=300.0),
    ]
    r, f, m = rfm.rfm_scores(summaries)
    assert (r.tolist(), f.tolist(), m.tolist()) == (
        [5, 1, 2, 3, 4],
        [5, 1, 2, 3, 4],
        [5, 1, 2, 3, 4],
    )


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, "champions"),
        (4, 4, 5, "champions"),
        (4, 3, 3, "loyal"),
        (5, 2, 3, "potential_loyalist"),
        (5, 1, 1, "new"),
        (4, 1, 1, "promising"),
        (3, 3, 2, "need_attention"),
        (3, 1, 1, "about_to_sleep"),
        (2, 3, 4, "at_risk"),
        (1, 5, 5, "cannot_lose"),
        (2, 1, 1, "hibernating"),
        (1, 1, 1, "lost"),
    ],
)
def test_rfm_segment_names_the_well_known_segments(r, f, m, segment):
    assert rfm.rfm_segment(r, f, m) == segment


def test_every_segment_is_reachable_and_has_thai_and_english_labels():
    grid = np.array(list(itertools.product(range(1, 6), repeat=3)))
    segments = rfm.rfm_segments(grid[:, 0], grid[:, 1], grid[:, 2])
    assert set(segments.tolist()) == set(rfm.SEGMENT_LABELS)
    for label in rfm.SEGMENT_LABELS.values():
        assert any("\u0e00" <= ch <= "\u0e7f" for ch in label.th)  # Thai script (TH-CON-05)
        assert label.en.isascii()


def test_rfm_segment_rejects_scores_outside_one_to_five():
    with pytest.raises(Invalid) as e:
        rfm.rfm_segment(6, 1, 1)
    assert e.value.field == "r"


def test_vip_tier_picks_the_highest_threshold_reached():
    assert rfm.vip_tier(0.0) == "bronze"
    assert rfm.vip_tier(4_999.99) == "bronze"
    assert rfm.vip_tier(5_000.0) == "silver"
    assert rfm.vip_tier(49_999.0) == "gold"
    assert rfm.vip_tier(1e9) == "platinum"


def test_vip_tier_is_none_below_every_threshold():
    thresholds = {"platinum": 100.0, "gold": 10.0}  # order of the mapping does not matter
    tiers = rfm.vip_tiers([5.0, 10.0, 99.0, 100.0], thresholds)
    assert tiers.tolist() == [rfm.NO_TIER, "gold", "gold", "platinum"]
    assert set(rfm.TIER_LABELS) >= {rfm.NO_TIER, *rfm.DEFAULT_VIP_THRESHOLDS}


def test_vip_tier_rejects_empty_thresholds():
    with pytest.raises(Invalid) as e:
        rfm.vip_tier(10.0, {})
    assert e.value.field == "thresholds"
