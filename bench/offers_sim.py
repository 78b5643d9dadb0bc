"""Offer bandit simulation: Thompson sampling per segment vs random vs oracle, and a 5% holdout.

    python bench/offers_sim.py

5 segments x 6 offers with hidden conversion rates (1-15%, each segment prefers another offer),
200,000 impressions from 50,000 simulated subjects, fixed seed. Every policy sees the same
impression sequence and the same uniform draw per impression (common random numbers), so an
impression converts under a policy iff its draw is below the chosen offer's rate. Thompson keeps
one Beta(1, 1) arm per (offer, segment) and refreshes its posteriors every 100 impressions, as a
service that batches feedback would. The holdout run serves the non-personalized fallback (a
random offer) to subjects with ``in_holdout`` and Thompson to the rest, then measures the lift.
Prints ``name = value unit``; ``holdout_lift*`` are absolute differences in percentage points.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
from _common import figure
from numpy.typing import NDArray

from rujai.personalize import bandit

SEED = 20_240_601
IMPRESSIONS = 200_000
SUBJECTS = 50_000
BATCH = 100
SEGMENTS = ("champions", "loyal", "new", "at_risk", "hibernating")
SEGMENT_SHARE = np.array([0.15, 0.25, 0.25, 0.2, 0.15])
OFFERS = ("free_shipping", "discount_10", "bundle", "points_x2", "new_arrivals", "win_back")
# Hidden conversion rates, rows = segments, columns = offers.
RATES = np.array(
    [
        [0.06, 0.05, 0.09, 0.15, 0.11, 0.02],
        [0.05, 0.06, 0.07, 0.10, 0.08, 0.02],
        [0.08, 0.12, 0.04, 0.02, 0.06, 0.03],
        [0.04, 0.07, 0.03, 0.02, 0.03, 0.09],
        [0.02, 0.04, 0.01, 0.01, 0.02, 0.05],
    ]
)

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


def thompson(seg: IntArray, u: NDArray[np.float64], rng: np.random.Generator) -> BoolArray:
    """Return per-impression conversions of Thompson sampling with one arm per (segment, offer)."""
    alpha = np.ones(RATES.shape)
    beta = np.ones(RATES.shape)
    converted = np.zeros(seg.size, dtype=bool)
    for start in range(0, seg.size, BATCH):
        s = seg[start : start + BATCH]
        choice = bandit.thompson_index(alpha[s], beta[s], rng)
        conv = u[start : start + BATCH] < RATES[s, choice]
        np.add.at(alpha, (s, choice), conv)
        np.add.at(beta, (s, choice), ~conv)
        converted[start : start + BATCH] = conv
    return converted


def holdout_mask(subject: IntArray, rng: np.random.Generator) -> BoolArray:
    """Return per-impression holdout membership from each subject's persistent assignment."""
    keys = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(SUBJECTS)]
    in_holdout = np.array([bandit.in_holdout(k, salt="offers-sim") for k in keys])
    return in_holdout[subject]


def main() -> None:
    """Run the three policies and the holdout experiment and print the figures."""
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    subject_segment = rng.choice(len(SEGMENTS), size=SUBJECTS, p=SEGMENT_SHARE)
    subject = rng.integers(SUBJECTS, size=IMPRESSIONS)
    seg = subject_segment[subject]
    u = rng.random(IMPRESSIONS)

    ts = int(thompson(seg, u, rng).sum())
    random_choice = rng.integers(len(OFFERS), size=IMPRESSIONS)
    rnd = int((u < RATES[seg, random_choice]).sum())
    oracle = int((u < RATES.max(axis=1)[seg]).sum())

    held = holdout_mask(subject, rng)
    treated = thompson(seg[~held], u[~held], rng)
    fallback = u[held] < RATES[seg[held], random_choice[held]]
    figure("impressions", IMPRESSIONS, "count")
    figure("thompson_conversions", ts, "count")
    figure("random_conversions", rnd, "count")
    figure("oracle_conversions", oracle, "count")
    figure("thompson_regret_pct", round(100 * (oracle - ts) / oracle, 2), "%")
    figure("lift_vs_random_pct", round(100 * (ts - rnd) / rnd, 2), "%")
    report_holdout(held, treated, fallback)
    figure("run_s", round(time.perf_counter() - started, 2), "s")


def report_holdout(held: BoolArray, treated: BoolArray, fallback: BoolArray) -> None:
    """Print the measured lift of treatment over the holdout, in percentage points."""
    diff, low, high = bandit.lift(
        int(treated.sum()), treated.size, int(fallback.sum()), fallback.size
    )
    figure("holdout_share_pct", round(100 * held.mean(), 2), "%")
    figure("holdout_treatment_rate_pct", round(100 * treated.mean(), 3), "%")
    figure("holdout_control_rate_pct", round(100 * fallback.mean(), 3), "%")
    figure("holdout_lift_pct", round(100 * diff, 3), "pp")
    figure("holdout_lift_low_pct", round(100 * low, 3), "pp")
    figure("holdout_lift_high_pct", round(100 * high, 3), "pp")
    figure("holdout_relative_lift_pct", round(100 * diff / fallback.mean(), 2), "%")


if __name__ == "__main__":
    main()
