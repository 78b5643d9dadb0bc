"""Customer lifetime: the BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

Pure numpy/scipy, vectorised over customers, no database. Inputs follow the BG/NBD convention
(see ``rujai.personalize.rfm.Summary``): ``frequency`` x = repeat purchases (distinct purchase
days minus one), ``recency`` t_x = time from the first to the last purchase, ``T`` = time from the
first purchase to the end of the calibration period, all in one time unit (weeks in the
benchmark). ``r, alpha`` shape the gamma-distributed purchase rates, ``a, b`` the beta-distributed
drop-out probabilities.

The results are insights about a subject (churn risk, expected purchases): they may be used only
where the categories they were computed from are permitted, and they are part of the subject's
access copy (TH-DSR-01).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special

from rujai.errors import Invalid

FloatArray = NDArray[np.float64]

_LOG_BOUND = 15.0  # log-parameters stay in [e^-15, e^15]


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters; ``alpha`` is in the time unit of the data it was fitted on."""

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        """Refuse parameters that are not finite and positive."""
        for name in ("r", "alpha", "a", "b"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise Invalid("BG/NBD parameters must be finite and > 0", field=name)

    def as_array(self) -> FloatArray:
        """Return ``[r, alpha, a, b]``."""
        return np.array([self.r, self.alpha, self.a, self.b], dtype=np.float64)


def _validated(
    frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Broadcast to float arrays; check whole frequency >= 0 and 0 <= recency <= T (``age``)."""
    x, t_x, big_t = np.broadcast_arrays(
        np.asarray(frequency, dtype=np.float64),
        np.asarray(recency, dtype=np.float64),
        np.asarray(age, dtype=np.float64),
    )
    if not (np.all(np.isfinite(x)) and np.all(x >= 0) and np.all(x == np.floor(x))):
        raise Invalid("frequency must be whole numbers >= 0", field="frequency")
    if not (np.all(np.isfinite(t_x)) and np.all(t_x >= 0)):
        raise Invalid("recency must be finite and >= 0", field="recency")
    if not (np.all(np.isfinite(big_t)) and np.all(big_t >= t_x)):
        raise Invalid("T must be finite and >= recency", field="T")
    if np.any((x == 0) & (t_x != 0)):
        raise Invalid("recency must be 0 when frequency is 0", field="recency")
    return x, t_x, big_t


def _terms(
    p: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return the common term and the two log-terms of the likelihood (the second -inf at x=0)."""
    r, alpha, a, b = p
    repeat = x > 0
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - special.betaln(a, b)
    alive = special.betaln(a, b + x) - (r + x) * np.log(alpha + big_t)
    safe_q = np.where(repeat, b + x - 1, b)
    dropped = special.betaln(a + 1, safe_q) - (r + x) * np.log(alpha + t_x)
    return common, alive, np.where(repeat, dropped, -np.inf)


def log_likelihood(
    params: BgNbdParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the BG/NBD name (Fader et al.)
) -> FloatArray:
    """Return each customer's BG/NBD log-likelihood (log-sum-exp of the alive and dropped terms)."""
    x, t_x, big_t = _validated(frequency, recency, T)
    common, alive, dropped = _terms(params.as_array(), x, t_x, big_t)
    return common + np.logaddexp(alive, dropped)


def _gradient(p: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray) -> FloatArray:
    """Return the per-customer gradient of the log-likelihood in (r, alpha, a, b), shape (4, n)."""
    r, alpha, a, b = p
    _, alive, dropped = _terms(p, x, t_x, big_t)
    w_alive = np.exp(alive - np.logaddexp(alive, dropped))
    w_dropped = 1.0 - w_alive
    repeat = x > 0
    psi_abx = special.digamma(a + b + x)
    psi_q = special.digamma(np.where(repeat, b + x - 1, b))
    d_r = (
        special.digamma(r + x)
        - special.digamma(r)
        + np.log(alpha)
        - w_alive * np.log(alpha + big_t)
        - w_dropped * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - (r + x) * (w_alive / (alpha + big_t) + w_dropped / (alpha + t_x))
    d_a = (
        w_alive * (special.digamma(a) - psi_abx)
        + w_dropped * (special.digamma(a + 1) - psi_abx)
        - (special.digamma(a) - special.digamma(a + b))
    )
    d_b = (
        w_alive * (special.digamma(b + x) - psi_abx)
        + np.where(repeat, w_dropped * (psi_q - psi_abx), 0.0)
        - (special.digamma(b) - special.digamma(a + b))
    )
    return np.stack([d_r, d_alpha, d_a, d_b])


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the BG/NBD name (Fader et al.)
    *,
    penalizer: float = 0.0,
) -> BgNbdParams:
    """Fit BG/NBD by maximum likelihood: L-BFGS-B on log-parameters with an analytic gradient.

    The objective is the mean negative log-likelihood plus ``penalizer * sum(params ** 2)`` (the
    lifetimes package's L2 penalty). Identical customers are pooled, and time is rescaled so the
    longest ``T`` is 10 units; ``alpha`` is returned in the caller's time unit.
    """
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise Invalid("penalizer must be >= 0", field="penalizer")
    x, t_x, big_t = _validated(frequency, recency, T)
    if x.size == 0 or not np.any(big_t > 0):
        raise Invalid("need at least one customer with T > 0", field="T")
    rows, counts = np.unique(
        np.stack([x.ravel(), t_x.ravel(), big_t.ravel()]), axis=1, return_counts=True
    )
    scale = 10.0 / float(big_t.max())
    pooled = (rows[0], rows[1] * scale, rows[2] * scale, counts / counts.sum(), penalizer)
    result = optimize.minimize(
        _objective,
        np.zeros(4),
        args=pooled,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
    )
    r, alpha, a, b = np.exp(result.x)
    return BgNbdParams(r=float(r), alpha=float(alpha / scale), a=float(a), b=float(b))


def _objective(
    log_p: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    weights: FloatArray,
    penalizer: float,
) -> tuple[float, FloatArray]:
    """Return the weighted mean negative log-likelihood plus L2 penalty and its log-gradient."""
    p = np.exp(log_p)
    common, alive, dropped = _terms(p, x, t_x, big_t)
    value = -float(weights @ (common + np.logaddexp(alive, dropped))) + penalizer * float(p @ p)
    grad = -(_gradient(p, x, t_x, big_t) @ weights) * p + 2.0 * penalizer * p * p
    return value, grad


def probability_alive(
    params: BgNbdParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the BG/NBD name (Fader et al.)
) -> FloatArray:
    """Return P(alive at T | x, t_x, T); exactly 1 for customers without repeat purchases."""
    x, t_x, big_t = _validated(frequency, recency, T)
    r, alpha, a, b = params.as_array()
    log_odds_dead = (
        (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        + np.log(a)
        - np.log(b + np.maximum(x, 1) - 1)
    )
    return np.where(x == 0, 1.0, special.expit(-log_odds_dead))


def churn_risk(
    params: BgNbdParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the BG/NBD name (Fader et al.)
) -> FloatArray:
    """Return the churn risk 1 - P(alive): the posterior probability of having dropped out."""
    return 1.0 - probability_alive(params, frequency, recency, T)


def expected_purchases(
    params: BgNbdParams,
    t: ArrayLike,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,  # noqa: N803 - T is the BG/NBD name (Fader et al.)
) -> FloatArray:
    """Return E[purchases in (T, T + t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10).

    Uses the Gaussian hypergeometric closed form of the lifetimes package; where it is ill-posed
    (a close to 1, hyp2f1 overflow or a non-finite or negative value) the same expectation is
    computed as a one-dimensional integral over the drop-out probability instead.
    """
    x, t_x, big_t = _validated(frequency, recency, T)
    horizon, x, t_x, big_t = np.broadcast_arrays(np.asarray(t, dtype=np.float64), x, t_x, big_t)
    if not (np.all(np.isfinite(horizon)) and np.all(horizon >= 0)):
        raise Invalid("t must be finite and >= 0", field="t")
    value = _closed_form(params, horizon, x, t_x, big_t)
    bad = ~np.isfinite(value) | (value < 0) | (abs(params.a - 1.0) < 1e-4)
    if np.any(bad):
        value = np.array(value, copy=True)
        alive = probability_alive(params, x[bad], t_x[bad], big_t[bad])
        integral = [
            _integral(params, *row) for row in zip(horizon[bad], x[bad], big_t[bad], strict=True)
        ]
        value[bad] = alive * np.asarray(integral)
    return value


def _closed_form(
    params: BgNbdParams, t: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> FloatArray:
    """Return the lifetimes formula; may be non-finite where hyp2f1 fails."""
    r, alpha, a, b = params.as_array()
    with np.errstate(all="ignore"):
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
        log_ratio = (r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t))
        numerator = (1.0 - np.exp(log_ratio) * hyp) * (a + b + x - 1) / (a - 1)
        log_odds = np.log(a) - np.log(b + np.maximum(x, 1) - 1)
        log_odds = log_odds + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        denominator = 1.0 + np.where(x > 0, np.exp(log_odds), 0.0)
        result: FloatArray = numerator / denominator
    return result


def _integral(params: BgNbdParams, t: float, x: float, big_t: float) -> float:
    """Return E[purchases in t | alive] = E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p].

    Given alive at T, the rate is Gamma(r + x, alpha + T) and the drop-out probability is
    Beta(a, b + x); the rate integrates out in closed form, leaving a bounded integrand on [0, 1].
    """
    r, alpha, a, b = params.as_array()
    k = t / (alpha + big_t)
    shape = r + x

    def integrand(p: float) -> float:
        if p == 0.0:
            return float(shape * k)
        return float(-np.expm1(-shape * np.log1p(p * k)) / p)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(
            integrand,
            0.0,
            1.0,
            weight="alg",
            wvar=(a - 1, b + x - 1),
            epsabs=0.0,
            epsrel=1e-10,
            limit=200,
        )  # relative tolerance only: the unnormalised integral is as small as B(a, b + x)
    return float(value * np.exp(-special.betaln(a, b + x)))
