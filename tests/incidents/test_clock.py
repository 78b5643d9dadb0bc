"""The 72-hour clock and the risk rule as properties (TH-BRE-01, EU-04)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from rujai.incidents.clock import LEVELS, clock, deadline_of, risk_of, thai_datetime

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
hours = st.integers(-500, 500).map(lambda h: timedelta(minutes=h * 30))
levels = st.sampled_from(LEVELS)

RANK = {"none": 0, "risk": 1, "high": 2}


@given(aware=moments, offset=hours, stopped=st.booleans())
def test_the_deadline_is_72_hours_and_overdue_only_past_it_th_bre_01_eu_04(aware, offset, stopped):
    now = aware + offset
    found = clock(aware, now, stopped=stopped)
    assert found.deadline == aware + timedelta(hours=72) == deadline_of(aware)
    assert found.is_overdue == (now > found.deadline and not stopped)
    assert not (found.is_overdue and found.is_due_soon)
    if found.is_due_soon:
        assert timedelta(0) <= found.deadline - now <= timedelta(hours=24)


@given(aware=moments)
def test_thai_readers_see_the_buddhist_era_in_bangkok_time_th_bre_01(aware):
    text = thai_datetime(aware)
    local = aware.astimezone(UTC) + timedelta(hours=7)
    assert f"พ.ศ. {local.year + 543}" in text
    assert text.endswith(f"{local:%H:%M} น.")


@given(a=levels, b=levels, c=levels, d=levels, sensitive=st.booleans(), minors=st.booleans())
def test_more_likely_or_more_severe_harm_never_lowers_the_risk(a, b, c, d, sensitive, minors):
    low, high = sorted((a, c), key=LEVELS.index), sorted((b, d), key=LEVELS.index)
    lesser = risk_of(low[0], high[0], sensitive=sensitive, minors=minors)
    greater = risk_of(low[1], high[1], sensitive=sensitive, minors=minors)
    assert RANK[lesser] <= RANK[greater]
    plain = risk_of(a, b, sensitive=False, minors=False)
    assert RANK[risk_of(a, b, sensitive=True, minors=minors)] >= RANK[plain]


def test_the_risk_table_corners():
    assert risk_of("low", "low", sensitive=False, minors=False) == "none"
    assert risk_of("medium", "medium", sensitive=False, minors=False) == "risk"
    assert risk_of("high", "high", sensitive=False, minors=False) == "high"
    assert risk_of("high", "medium", sensitive=True, minors=False) == "high"
