"""Offer bandit: Thompson sampling, exact unlearning, the persistent holdout and lift."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from rujai.errors import Invalid
from rujai.personalize import bandit
from rujai.personalize.bandit import BetaArm


def subject_keys(n: int, seed: int = 0) -> list[str]:
    raw = np.random.default_rng(seed).bytes(16 * n)
    return [str(uuid.UUID(bytes=raw[i : i + 16])) for i in range(0, 16 * n, 16)]


@pytest.mark.parametrize("share", [0.05, 0.2])
def test_holdout_share_is_close_to_the_configured_share(share):
    keys = subject_keys(100_000)
    held = sum(bandit.in_holdout(k, share, salt="exp-1") for k in keys)
    assert abs(held / len(keys) - share) < 5 * np.sqrt(share * (1 - share) / len(keys))


def test_holdout_assignment_is_stable_per_subject():
    keys = subject_keys(2_000, seed=1)
    first = [bandit.in_holdout(k, salt="exp-1") for k in keys]
    again = [bandit.in_holdout(k, salt="exp-1") for k in keys]
    assert first == again
    assert any(first)


def test_holdout_assignment_changes_with_the_salt():
    keys = subject_keys(20_000, seed=2)
    a = np.array([bandit.in_holdout(k, 0.5, salt="exp-1") for k in keys])
    b = np.array([bandit.in_holdout(k, 0.5, salt="exp-2") for k in keys])
    assert 0.45 < np.mean(a == b) < 0.55  # independent groups agree about half the time


def test_holdout_is_empty_at_share_zero_and_everyone_at_share_one():
    keys = subject_keys(500, seed=3)
    assert not any(bandit.in_holdout(k, 0.0, salt="s") for k in keys)
    assert all(bandit.in_holdout(k, 1.0, salt="s") for k in keys)


def test_in_holdout_rejects_a_share_outside_zero_to_one():
    with pytest.raises(Invalid) as e:
        bandit.in_holdout("x", 1.5, salt="s")
    assert e.value.field == "share"


def test_thompson_picks_the_clearly_best_arm_after_learning():
    rng = np.random.default_rng(11)
    rates = {"voucher": 0.02, "free_shipping": 0.05, "bundle": 0.12}
    stats: dict[tuple[str, str], BetaArm] = {}
    chosen = []
    for _ in range(3_000):
        arms = bandit.arms_for_segment(stats, "loyal", list(rates))
        offer = bandit.thompson_choose(arms, rng)
        converted = bool(rng.random() < rates[offer])
        stats[(offer, "loyal")] = bandit.update(arms[offer], converted)
        chosen.append(offer)
    assert chosen[-500:].count("bundle") / 500 > 0.85
    assert sum(arm.impressions for arm in stats.values()) == 3_000


def test_thompson_choose_accepts_posterior_parameters():
    rng = np.random.default_rng(5)
    arms = {"a": (1.0, 1000.0), "b": (1000.0, 1.0)}
    assert [bandit.thompson_choose(arms, rng) for _ in range(20)] == ["b"] * 20


def test_thompson_index_chooses_per_row_of_a_batch():
    rng = np.random.default_rng(6)
    alpha = np.array([[1.0, 900.0], [900.0, 1.0], [1.0, 900.0]])
    chosen = bandit.thompson_index(alpha, alpha[:, ::-1], rng)
    assert chosen.tolist() == [1, 0, 1]


def test_thompson_choose_rejects_no_offers():
    with pytest.raises(Invalid) as e:
        bandit.thompson_choose({}, np.random.default_rng(0))
    assert e.value.field == "arms"


@pytest.mark.parametrize("converted", [True, False])
def test_unlearn_inverts_update(converted):
    arm = BetaArm(alpha=2.0, beta=3.0, conversions=4, impressions=20)
    assert bandit.unlearn(bandit.update(arm, converted), converted) == arm


def test_unlearn_removes_one_subjects_outcomes_exactly_for_erasure():
    """TH-DSR-04: after unlearning, the arm equals one that never saw the erased subject."""
    rng = np.random.default_rng(8)
    outcomes = rng.random(300) < 0.1
    erased = rng.random(300) < 0.2
    learned, without = BetaArm(), BetaArm()
    for outcome, is_erased in zip(outcomes, erased, strict=True):
        learned = bandit.update(learned, bool(outcome))
        if not is_erased:
            without = bandit.update(without, bool(outcome))
    for outcome in outcomes[erased][::-1]:
        learned = bandit.unlearn(learned, bool(outcome))
    assert learned == without
    assert learned.posterior() == (
        1 + without.conversions,
        1 + 300 - erased.sum() - without.conversions,
    )


def test_unlearn_rejects_an_outcome_never_recorded():
    with pytest.raises(Invalid) as e:
        bandit.unlearn(BetaArm(conversions=0, impressions=1), True)
    assert e.value.field == "converted"
    with pytest.raises(Invalid):
        bandit.unlearn(BetaArm(), False)


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        ((56, 70, 48, 80), 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.1705, 0.8090),
        ((5, 56, 0, 29), -0.0381, 0.1926),
        ((0, 10, 0, 20), -0.1611, 0.2775),
    ],
)
def test_lift_matches_newcombes_published_intervals(counts, low, high):
    """Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10."""
    diff, lo, hi = bandit.lift(*counts)
    assert diff == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (lo, hi) == pytest.approx((low, high), abs=1e-4)


def test_lift_interval_contains_the_true_difference_in_a_seeded_simulation():
    rng = np.random.default_rng(21)
    p_treatment, p_holdout, n_treatment, n_holdout = 0.10, 0.07, 9_500, 500
    truth = p_treatment - p_holdout
    covered = 0
    for _ in range(400):
        t = int(rng.binomial(n_treatment, p_treatment))
        h = int(rng.binomial(n_holdout, p_holdout))
        _, low, high = bandit.lift(t, n_treatment, h, n_holdout)
        covered += low <= truth <= high
    assert 0.92 <= covered / 400 <= 0.98


def test_lift_rejects_more_conversions_than_impressions():
    with pytest.raises(Invalid) as e:
        bandit.lift(5, 10, 11, 10)
    assert e.value.field == "holdout_n"
