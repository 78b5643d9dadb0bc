"""Recommender benchmark: rujai's EASE vs implicit's ALS vs popularity, and exact unlearning.

Run ``python bench/recs.py [--data PATH]`` (default ``../shared/data/ml-latest-small``). Ratings
>= 4 are positives; each user with at least 5 positives has 20 % of them held out at random
(fixed seed), the others stay in train only. EASE (l2, min_item_count) and ALS (weighting,
factors, alpha, regularization) are tuned on a validation split carved the same way from train,
never on the test split. Then one median-activity user is unlearned (TH-DSR-04) and compared with
a full retrain over the same item vocabulary (times are medians of repeated runs). Figures go to
stdout as ``name = value unit``; settings and progress go to stderr. ``implicit`` is a
benchmark-only dependency."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import implicit
import numpy as np
import scipy.sparse as sp
from _common import figure, note, peak_rss_mb, shared_data, timed
from implicit.cpu.als import AlternatingLeastSquares
from implicit.nearest_neighbours import bm25_weight
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from rujai.personalize.recommender import (
    EaseModel,
    PopularityModel,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

K = 10
SEED = 20240601
L2_GRID = (200.0, 350.0, 500.0, 800.0)
MIN_COUNT_GRID = (1, 2, 3, 5)
UNLEARN_REPEATS = 5
RETRAIN_REPEATS = 3
Ranker = Callable[[int], NDArray[np.int64]]


@dataclass(frozen=True)
class AlsConfig:
    """One ALS setting: bm25 weighting (K1=100, B=0.8) or raw binary, factors, alpha, ridge."""

    bm25: bool
    factors: int
    alpha: float
    regularization: float
    iterations: int = 15


# regularization 0.05 is implicit's usual setting; 10-50 (with a larger alpha) is where ALS peaks on
# this small data set, so both are in the grid to keep the comparison fair.
ALPHA_REGULARIZATION = ((1.0, 0.05), (5.0, 0.05), (1.0, 10.0), (5.0, 30.0), (10.0, 50.0))
ALS_GRID = [
    AlsConfig(bm25, factors, alpha, regularization)
    for bm25, factors, (alpha, regularization) in itertools.product(
        (False, True), (64, 128), ALPHA_REGULARIZATION
    )
]


def load_positives(data: Path) -> Any:
    """Return a binary users x movies CSR matrix of ratings >= 4."""
    ratings = np.loadtxt(data / "ratings.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2))
    _, users = np.unique(ratings[:, 0], return_inverse=True)
    _, items = np.unique(ratings[:, 1], return_inverse=True)
    keep = ratings[:, 2] >= 4.0
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    return sp.csr_matrix((np.ones(int(keep.sum())), (users[keep], items[keep])), shape=shape)


def split(x: Any, rng: np.random.Generator) -> tuple[Any, list[NDArray[np.int64]]]:
    """Hold out 20 % of each user's positives (users with fewer than 5 stay in train only)."""
    keep = np.ones(x.nnz, dtype=bool)
    heldout = []
    for user in range(x.shape[0]):
        start, stop = int(x.indptr[user]), int(x.indptr[user + 1])
        chosen = np.empty(0, dtype=np.int64)
        if stop - start >= 5:
            size = max(1, round(0.2 * (stop - start)))
            chosen = start + rng.choice(stop - start, size=size, replace=False)
        keep[chosen] = False
        heldout.append(np.sort(x.indices[chosen]).astype(np.int64))
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    train = sp.csr_matrix((x.data[keep], (rows[keep], x.indices[keep])), shape=x.shape)
    return train, heldout


def evaluate(ranker: Ranker, heldout: list[NDArray[np.int64]]) -> tuple[float, float, float]:
    """Return precision, recall and NDCG at K over the users with held-out items."""
    users = [u for u, items in enumerate(heldout) if items.size]
    ranked = [ranker(u) for u in users]
    relevant = [set(heldout[u].tolist()) for u in users]
    return (
        precision_at_k(ranked, relevant, K),
        recall_at_k(ranked, relevant, K),
        ndcg_at_k(ranked, relevant, K),
    )


def model_ranker(model: EaseModel | PopularityModel, train: Any) -> Ranker:
    """Rank the top K unseen items of a user from their train row."""
    return lambda user: model.recommend(train[user], K)[0]


def als_ranker(train: Any, config: AlsConfig) -> Ranker:
    """Fit implicit's ALS on the items seen in train and rank the top K unseen items."""
    columns = np.flatnonzero(np.diff(train.tocsc().indptr))
    x = train[:, columns].tocsr().astype(np.float32)
    weighted = bm25_weight(x.T, K1=100, B=0.8).T.tocsr().astype(np.float32) if config.bm25 else x
    with threadpool_limits(1, "blas"):  # implicit parallelises itself; BLAS threads only contend
        model = AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            alpha=config.alpha,
            iterations=config.iterations,
            random_state=0,
        )
        model.fit(weighted, show_progress=False)
    ids, _ = model.recommend(np.arange(x.shape[0]), x, N=K, filter_already_liked_items=True)
    return lambda user: columns[ids[user][ids[user] >= 0]]


def tune_ease(fit_part: Any, validation: list[NDArray[np.int64]]) -> tuple[float, int]:
    """Return the (l2, min_item_count) with the best validation NDCG@K."""
    scored = []
    for min_count, l2 in itertools.product(MIN_COUNT_GRID, L2_GRID):
        model = EaseModel.fit(fit_part, l2=l2, min_item_count=min_count)
        ndcg = evaluate(model_ranker(model, fit_part), validation)[2]
        note(f"ease l2={l2:g} min_item_count={min_count} items={model.items.size} ndcg={ndcg:.4f}")
        scored.append((ndcg, l2, min_count))
    _, l2, min_count = max(scored)
    return l2, min_count


def tune_als(fit_part: Any, validation: list[NDArray[np.int64]]) -> tuple[AlsConfig, AlsConfig]:
    """Return the ALS settings with the best validation NDCG@K: overall, and at ridge 0.05."""
    scored = []
    for index, config in enumerate(ALS_GRID):
        ndcg = evaluate(als_ranker(fit_part, config), validation)[2]
        note(f"als {config} ndcg={ndcg:.4f}")
        scored.append((ndcg, index))
    usual = [(ndcg, i) for ndcg, i in scored if ALS_GRID[i].regularization == 0.05]
    return ALS_GRID[max(scored)[1]], ALS_GRID[max(usual)[1]]


def report_quality(prefix: str, metrics: tuple[float, float, float]) -> None:
    for name, value in zip(("precision", "recall", "ndcg"), metrics, strict=True):
        figure(f"{prefix}_{name}{K}", value, "score")


def median_user(train: Any) -> int:
    """Return a user with the median number of train positives."""
    activity = np.diff(train.indptr)
    active = np.flatnonzero(activity > 0)
    return int(active[np.argsort(activity[active], kind="stable")[active.size // 2]])


def bench_unlearning(train: Any, model: EaseModel, l2: float) -> None:
    """Time unlearning one median-activity user against a full retrain without them."""
    subject = median_user(train)
    row, others = train[subject], np.delete(np.arange(train.shape[0]), subject)
    retrain_seconds = []
    for _ in range(RETRAIN_REPEATS):
        with timed() as retrain:
            retrained = EaseModel.fit(train[others], l2=l2, items=model.items)
        retrain_seconds.append(retrain.seconds)
    retrain_s = float(np.median(retrain_seconds))
    seconds = []
    for repeat in range(UNLEARN_REPEATS + 1):
        with timed() as unlearn:
            model.unlearn(row)
        seconds.append(unlearn.seconds)
        if repeat < UNLEARN_REPEATS:
            model.learn(row)  # put them back, to time the same unlearning again
    items = model.items
    diff = np.abs(model.scores(train[others])[:, items] - retrained.scores(train[others])[:, items])
    unlearn_s = float(np.median(seconds))
    figure("unlearn_subject_items", int(row.nnz), "items")
    figure("retrain_s", retrain_s, "s")
    figure("unlearn_s", unlearn_s, "s")
    figure("unlearn_ratio", unlearn_s / retrain_s, "x")
    figure("unlearn_max_abs_diff", float(diff.max()), "score")


def bench_quality(
    train: Any, test: list[NDArray[np.int64]], fit_part: Any, validation: list[NDArray[np.int64]]
) -> tuple[EaseModel, float]:
    """Tune on validation, compare EASE, ALS and popularity on test; return EASE and its l2."""
    l2, min_count = tune_ease(fit_part, validation)
    als_best, als_usual = tune_als(fit_part, validation)
    note(f"implicit {implicit.__version__}; ALS {als_best}; best at ridge 0.05: {als_usual}")
    with timed() as fit:
        ease = EaseModel.fit(train, l2=l2, min_item_count=min_count)
    rujai = evaluate(model_ranker(ease, train), test)
    als = evaluate(als_ranker(train, als_best), test)
    report_quality("rujai", rujai)
    report_quality("als", als)
    report_quality("pop", evaluate(model_ranker(PopularityModel.fit(train), train), test))
    figure("ndcg10_ratio_vs_als", rujai[2] / als[2], "x")
    usual = evaluate(als_ranker(train, als_usual), test)[2]
    figure("als_ridge005_ndcg10", usual, "score")
    figure("ndcg10_ratio_vs_als_ridge005", rujai[2] / usual, "x")
    figure("rujai_l2", l2, "lambda")
    figure("rujai_min_item_count", min_count, "interactions")
    figure("rujai_items", int(ease.items.size), "items")
    figure("fit_s", fit.seconds, "s")
    return ease, l2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=shared_data("ml-latest-small"))
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    train, test = split(load_positives(args.data), rng)
    fit_part, validation = split(train, rng)
    ease, l2 = bench_quality(train, test, fit_part, validation)
    bench_unlearning(train, ease, l2)
    figure("peak_rss_mb", peak_rss_mb(), "MB")


if __name__ == "__main__":
    main()
