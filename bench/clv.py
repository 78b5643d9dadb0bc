"""BG/NBD on the CDNOW master file: 39 weeks calibration, 39 weeks holdout.

    python bench/clv.py [--data PATH]

Customers are those with a first purchase in the calibration period (1997-01-01 .. 1997-09-30,
the whole CDNOW cohort); several purchases on one day count once. Time unit: weeks. Baseline: each
customer keeps repeating at their calibration rate, x / T per week. Prints ``name = value unit``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import figure, shared_data
from numpy.typing import NDArray

from rujai.personalize import clv, rfm

DEFAULT_DATA = shared_data("cdnow/CDNOW_master.txt")  # ../shared/data, never copied in
START = np.datetime64("1997-01-01")
WEEKS = 39


def load(path: Path) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Return (customer id, day number since START, dollar value) for every purchase row."""
    raw = np.loadtxt(path, skiprows=1, dtype=np.int64, usecols=(0, 1))
    amount = np.loadtxt(path, skiprows=1, dtype=np.float64, usecols=3)
    ymd = raw[:, 1]
    dates = np.array(
        [f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in ymd], dtype="datetime64[D]"
    )
    return raw[:, 0], (dates - START).astype(np.int64), amount


def holdout_counts(
    customer: NDArray[np.int64], day: NDArray[np.int64], keys: NDArray[np.generic], lo: int, hi: int
) -> NDArray[np.float64]:
    """Return, per key, the number of distinct purchase days in [lo, hi]."""
    in_window = (day >= lo) & (day <= hi)
    pairs = np.unique(np.stack([customer[in_window], day[in_window]]), axis=1)
    idx = np.searchsorted(keys, pairs[0])
    return np.bincount(idx, minlength=keys.size).astype(np.float64)


def main() -> None:
    """Fit on the calibration weeks, predict the holdout weeks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    customer, day, amount = load(args.data)
    cal_end = 7 * WEEKS - 1  # last calibration day, inclusive: 1997-09-30
    summaries = rfm.summarize_arrays(customer, day, amount, end_day=cal_end)
    x, t_x, big_t = summaries.frequency, summaries.recency, summaries.T

    started = time.perf_counter()
    params = clv.fit_bgnbd(x, t_x, big_t)
    fit_s = time.perf_counter() - started

    actual = holdout_counts(customer, day, summaries.customer, cal_end + 1, cal_end + 7 * WEEKS)
    predicted = clv.expected_purchases(params, WEEKS, x, t_x, big_t)
    naive = np.divide(x * WEEKS, big_t, out=np.zeros(x.size), where=big_t > 0)
    report(params, fit_s, actual, predicted, naive)


def report(
    params: clv.BgNbdParams,
    fit_s: float,
    actual: NDArray[np.float64],
    predicted: NDArray[np.float64],
    naive: NDArray[np.float64],
) -> None:
    """Print the benchmark figures."""
    mae = float(np.mean(np.abs(actual - predicted)))
    naive_mae = float(np.mean(np.abs(actual - naive)))
    figure("customers", int(actual.size), "count")
    figure("fit_s", round(fit_s, 3), "s")
    figure("holdout_actual_total", int(actual.sum()), "purchases")
    figure("holdout_predicted_total", round(float(predicted.sum()), 1), "purchases")
    figure("holdout_mae_per_customer", round(mae, 4), "purchases")
    error_pct = 100 * (predicted.sum() - actual.sum()) / actual.sum()
    figure("holdout_total_error_pct", round(float(error_pct), 2), "%")
    for name in ("r", "alpha", "a", "b"):
        figure(
            f"bgnbd_{name}",
            round(getattr(params, name), 4),
            "weeks" if name == "alpha" else "shape",
        )
    figure("naive_mae_per_customer", round(naive_mae, 4), "purchases")
    figure("mae_ratio_vs_naive", round(mae / naive_mae, 4), "ratio")


if __name__ == "__main__":
    main()
