"""Small-count suppression for aggregates, so that no count singles out a person.

A count below ``k`` (but above zero) is withheld as None; so is a part whose complement in its
total is below ``k`` (10 asked and 9 granted would otherwise tell that one person said no). With
``k = 1`` nothing is withheld. The threshold is ``RUJAI_PRIVACY__MIN_AGGREGATE_COUNT``.
"""

from __future__ import annotations


def suppress(count: int, k: int) -> int | None:
    """Return ``count``, or None when it is small enough to point at someone (0 < count < k)."""
    return None if 0 < count < k else count


def suppress_part(total: int, part: int, k: int) -> tuple[int | None, int | None]:
    """Return (total, part) with each withheld where it, or the part's complement, is below k."""
    shown_total = suppress(total, k)
    if shown_total is None or suppress(part, k) is None or suppress(total - part, k) is None:
        return shown_total, None
    return shown_total, part
