"""Small-count suppression: no aggregate count singles out a person."""

from __future__ import annotations

from hypothesis import given, strategies as st

from rujai.kit.aggregates import suppress, suppress_part


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 50))
def test_no_shown_count_or_complement_is_between_zero_and_k(total, part, k):
    part = min(part, total)
    shown_total, shown_part = suppress_part(total, part, k)
    assert shown_total is None or shown_total == total
    assert shown_total is None or not 0 < shown_total < k
    if shown_part is not None:
        assert shown_part == part
        assert not 0 < part < k
        assert not 0 < total - part < k


def test_k_of_one_shows_everything_and_zero_is_never_withheld():
    assert suppress_part(3, 1, 1) == (3, 1)
    assert suppress(0, 5) == 0
    assert suppress(4, 5) is None
    assert suppress(5, 5) == 5
