"""Offer selection: Thompson sampling on Beta-Bernoulli arms, a persistent holdout, and lift.

Statistics are kept per ``(offer_id, segment)`` as a ``BetaArm`` holding its prior and integer
counts, so one subject's outcomes can be removed exactly (``unlearn``) when they ask for erasure or
withdraw consent (TH-DSR-04, TH-CON-03). Holdout subjects get the non-personalized fallback, which
is both the control group for ``lift`` and what everyone gets without consent (TH-CON-02).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from math import sqrt

import numpy as np
from numpy.typing import NDArray

from rujai.errors import Invalid

ArmKey = tuple[str, str]  # (offer_id, segment)

HOLDOUT_SHARE = 0.05
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class BetaArm:
    """Beta(alpha, beta) prior plus observed conversions out of impressions for one arm."""

    alpha: float = 1.0
    beta: float = 1.0
    conversions: int = 0
    impressions: int = 0

    def posterior(self) -> tuple[float, float]:
        """Return the posterior Beta parameters (alpha + conversions, beta + non-conversions)."""
        return self.alpha + self.conversions, self.beta + self.impressions - self.conversions


def update(arm: BetaArm, converted: bool) -> BetaArm:
    """Return ``arm`` after one impression with the given outcome."""
    return replace(
        arm, conversions=arm.conversions + int(converted), impressions=arm.impressions + 1
    )


def unlearn(arm: BetaArm, converted: bool) -> BetaArm:
    """Return ``arm`` with one impression's outcome removed: the exact inverse of ``update``.

    Used to forget a subject's contributions on erasure (TH-DSR-04); removing an outcome that was
    never recorded is refused rather than clamped, because it would corrupt the statistics.
    """
    conversions = arm.conversions - int(converted)
    impressions = arm.impressions - 1
    if conversions < 0 or impressions < conversions:
        raise Invalid("cannot unlearn an outcome the arm has not recorded", field="converted")
    return replace(arm, conversions=conversions, impressions=impressions)


def arms_for_segment(
    stats: Mapping[ArmKey, BetaArm], segment: str, offers: list[str]
) -> dict[str, BetaArm]:
    """Return the arms of ``offers`` for ``segment``, with a fresh arm where none is recorded."""
    return {offer: stats.get((offer, segment), BetaArm()) for offer in offers}


def thompson_choose(
    arms: Mapping[str, BetaArm | tuple[float, float]], rng: np.random.Generator
) -> str:
    """Return the offer whose Beta posterior draw is highest (one vectorised draw for all arms).

    ``arms`` maps offer ids to a ``BetaArm`` or directly to posterior ``(alpha, beta)``.
    """
    if not arms:
        raise Invalid("no offers to choose from", field="arms")
    offers = list(arms)
    params = np.array(
        [arm.posterior() if isinstance(arm, BetaArm) else arm for arm in arms.values()],
        dtype=np.float64,
    )
    return offers[int(thompson_index(params[:, 0], params[:, 1], rng))]


def thompson_index(
    alpha: NDArray[np.float64], beta: NDArray[np.float64], rng: np.random.Generator
) -> NDArray[np.intp]:
    """Return the argmax of one Beta draw per arm along the last axis.

    ``alpha`` and ``beta`` hold posterior parameters, shape ``(arms,)`` for one choice or
    ``(choices, arms)`` for a batch of independent choices.
    """
    if alpha.shape != beta.shape or alpha.size == 0:
        raise Invalid("alpha and beta must be non-empty arrays of one shape", field="arms")
    if not (np.all(alpha > 0) and np.all(beta > 0)):
        raise Invalid("Beta parameters must be > 0", field="arms")
    chosen: NDArray[np.intp] = np.argmax(rng.beta(alpha, beta), axis=-1)
    return chosen


def in_holdout(subject_key: str, share: float = HOLDOUT_SHARE, *, salt: str) -> bool:
    """Return whether the subject is in the holdout: sha256(salt ":" key) below ``share``.

    Deterministic and persistent: the same key and salt always give the same group. Pass the
    subject's internal UUID, never an e-mail or phone number; change ``salt`` per experiment.
    """
    if not 0.0 <= share <= 1.0:
        raise Invalid("holdout share must be between 0 and 1", field="share")
    digest = hashlib.sha256(f"{salt}:{subject_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < share


def _wilson(conversions: int, n: int) -> tuple[float, float]:
    """Return the 95% Wilson score interval for a proportion."""
    p = conversions / n
    z2 = Z_95 * Z_95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _check_counts(conversions: int, n: int, field: str) -> None:
    """Raise ``Invalid`` unless 0 <= conversions <= n and n > 0."""
    if n <= 0 or not 0 <= conversions <= n:
        raise Invalid("need 0 <= conversions <= impressions and impressions > 0", field=field)


def lift(
    treatment_conv: int, treatment_n: int, holdout_conv: int, holdout_n: int
) -> tuple[float, float, float]:
    """Return the absolute lift p_treatment - p_holdout with its 95% interval (low, high).

    Newcombe's hybrid score interval (method 10, Newcombe 1998) built from the two Wilson
    intervals: unlike the normal approximation it stays inside [-1, 1] and behaves with few
    conversions.
    """
    _check_counts(treatment_conv, treatment_n, "treatment_n")
    _check_counts(holdout_conv, holdout_n, "holdout_n")
    p1, p2 = treatment_conv / treatment_n, holdout_conv / holdout_n
    l1, u1 = _wilson(treatment_conv, treatment_n)
    l2, u2 = _wilson(holdout_conv, holdout_n)
    diff = p1 - p2
    low = diff - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return diff, low, high
