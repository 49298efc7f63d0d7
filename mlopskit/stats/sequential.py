"""Always-valid inference for daily peeking: the asymptotic confidence sequence.

Waudby-Smith, Arnold, Wu, Wang, Ramdas (2024), "Time-uniform central limit theory and
asymptotic confidence sequences", Annals of Statistics — the same interval as the
normal-mixture mSPRT of Johari, Koomen, Pekelis, Walsh (2017, 2022) and the one GrowthBook
implements. STATISTICS.md §3 gives the formulas used here.

With ``n`` total units, an estimate ``θ̂`` and its fixed-horizon standard error ``SE``,
``s² = n·SE²`` and a tuning ``N*`` (the expected number of units at the planned decision):

* two-sided: ``ρ² = (−2 ln α + ln(1 − 2 ln α)) / N*`` and
  ``h_n = s·sqrt(2(nρ² + 1)/(n²ρ²) · ln(sqrt(nρ² + 1)/α))``;
* one-sided: ``2α`` in place of ``α`` in ``ρ²``, and ``ln(1 + sqrt(nρ² + 1)/(2α))`` in place
  of ``ln(sqrt(nρ² + 1)/α)``.

The interval ``θ̂ ± h_n`` covers ``θ`` at every ``n`` simultaneously with probability
``≥ 1 − α`` (asymptotically), so the analyst may look every day and stop whenever a bound
crosses a decision boundary. Reports show the running intersection over the looks.
Everything here is vectorized and takes numbers, never frames.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlopskit.stats import dist as _dist
from mlopskit.stats.proportions import _check_alpha, _f

FloatArray = NDArray[np.float64]


def rho_squared(alpha: float, n_star: ArrayLike, *, one_sided: bool = False) -> FloatArray:
    """Mixture tuning ``ρ²`` that makes the boundary tightest at ``n = N*``.

    ``ρ² = (−2 ln a + ln(1 − 2 ln a)) / N*`` with ``a = α`` (two-sided) or ``a = 2α``
    (one-sided), Waudby-Smith et al. (2024) eq. (24) / STATISTICS.md §3.
    """
    _check_alpha(alpha)
    a = 2 * alpha if one_sided else alpha
    if a >= 1:
        raise ValueError(f"`alpha` must be < 0.5 for a one-sided sequence; got {alpha!r}.")
    ns = _f(n_star)
    if np.any(ns <= 0):
        raise ValueError(f"`n_star` must be > 0; got {ns[ns <= 0][:3]}.")
    return (-2 * np.log(a) + np.log(1 - 2 * np.log(a))) / ns


def half_width(
    n: ArrayLike,
    s2: ArrayLike,
    rho2: ArrayLike,
    alpha: float,
    *,
    one_sided: bool = False,
) -> FloatArray:
    """Half-width ``h_n`` of the asymptotic confidence sequence (see module docstring).

    Parameters
    ----------
    n : total units at each look.
    s2 : ``n·SE²`` (the per-unit variance of the estimator) at each look.
    rho2 : the tuning ``ρ²`` (:func:`rho_squared`).
    alpha : error rate (two-sided total, or of the one side when ``one_sided``).
    one_sided : give the one-sided bound's distance from the estimate.
    """
    _check_alpha(alpha)
    n_, s2_, r2 = _f(n), _f(s2), _f(rho2)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(n_ * r2 + 1)
        log_term = np.log1p(root / (2 * alpha)) if one_sided else np.log(root / alpha)
        h = np.sqrt(s2_ * 2 * (n_ * r2 + 1) / (n_**2 * r2) * log_term)
    return np.where(n_ > 0, h, np.nan)


def confidence_sequence(
    effect: ArrayLike,
    se: ArrayLike,
    n: ArrayLike,
    *,
    n_star: ArrayLike,
    alpha: float = 0.05,
    one_sided: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds of the asymptotic confidence sequence at each look.

    Two-sided (default): ``θ̂ ± h_n`` with total error ``α``. ``one_sided=True``: each bound
    is a one-sided sequence at level ``α`` (use it with ``α/2`` per side to keep a
    two-sided total of ``α`` — the form used for non-inferiority and harm decisions).
    Bounds are per look; combine them with :func:`running_intersection`.
    """
    e, se_, n_ = _f(effect), _f(se), _f(n)
    s2 = n_ * se_**2
    h = half_width(
        n_, s2, rho_squared(alpha, n_star, one_sided=one_sided), alpha, one_sided=one_sided
    )
    return e - h, e + h


def running_intersection(
    lower: ArrayLike, upper: ArrayLike, *, axis: int = -1
) -> tuple[FloatArray, FloatArray]:
    """Running intersection of intervals along ``axis`` (NaN looks, e.g. burn-in, skipped).

    ``max_{k ≤ j} L_k`` and ``min_{k ≤ j} U_k``: still a valid confidence sequence, and
    monotone, so a boundary once crossed stays crossed.
    """
    lo = np.fmax.accumulate(_f(lower), axis=axis)
    hi = np.fmin.accumulate(_f(upper), axis=axis)
    return lo, hi


def always_valid_p(
    effect: ArrayLike,
    se: ArrayLike,
    n: ArrayLike,
    *,
    rho2: ArrayLike,
) -> FloatArray:
    """One-sided always-valid p-value for ``H0: θ ≤ 0`` against ``θ > 0`` at each look.

    The smallest ``a`` at which the one-sided sequence's lower bound (with the fixed tuning
    ``ρ²``) exceeds 0: ``p = sqrt(nρ² + 1) / (2·(exp(Q) − 1))`` with
    ``Q = θ̂²n²ρ² / (2s²(nρ² + 1))``, capped at 1 (and 1 when ``θ̂ ≤ 0``). Hence ``p < a`` iff
    the lower bound of :func:`confidence_sequence` (``one_sided=True``, level ``a``, same
    ``ρ²``) is above 0. Take the running minimum over looks; it stays valid (Ville).
    """
    e, se_, n_, r2 = _f(effect), _f(se), _f(n), _f(rho2)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        s2 = n_ * se_**2
        q = e**2 * n_**2 * r2 / (2 * s2 * (n_ * r2 + 1))
        # log(expm1(q)) computed stably for large q
        log_em1 = np.where(q > 30, q, np.log(np.expm1(q)))
        log_p = 0.5 * np.log(n_ * r2 + 1) - np.log(2.0) - log_em1
        p = np.exp(np.minimum(log_p, 0.0))
    p = np.where(e > 0, p, 1.0)
    return np.where(np.isfinite(e) & (se_ > 0), p, np.nan)


def sample_size_for_margin(
    margin: ArrayLike,
    s2: ArrayLike,
    *,
    n_star: ArrayLike,
    alpha: float = 0.025,
    power: float = 0.8,
    true_effect: ArrayLike = 0.0,
) -> FloatArray:
    """Total units ``n`` at which a one-sided sequence shows ``θ < margin`` with ``power``.

    Solves ``margin − true_effect − h_n = z_{power}·s/sqrt(n)`` for ``n`` (``h_n`` the
    one-sided half-width at level ``alpha`` with the tuning of ``n_star``, ``s² = n·SE²``
    per unit) by vectorized bisection on ``log n``. The fixed-horizon analogue is
    ``n = s²(z_{1−α} + z_{power})²/(margin − true_effect)²``. ``inf`` when the gap
    ``margin − true_effect`` is ≤ 0 or ``n`` would exceed 10¹⁵; ``nan`` when ``s²`` is not
    finite.
    """
    gap, s2_, ns = np.broadcast_arrays(_f(margin) - _f(true_effect), _f(s2), _f(n_star))
    rho2 = rho_squared(alpha, np.where(ns > 0, ns, 1.0), one_sided=True)
    z = _dist.norm_ppf(power)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(s2_)

        def slack(n: FloatArray) -> FloatArray:
            h = half_width(n, s2_, rho2, alpha, one_sided=True)
            return gap - h - z * s / np.sqrt(n)

        lo = np.zeros(gap.shape)  # log n
        hi = np.full(gap.shape, np.log(1e15))
        reachable = slack(np.exp(hi)) >= 0
        for _ in range(80):
            mid = (lo + hi) / 2
            good = slack(np.exp(mid)) >= 0
            hi = np.where(good, mid, hi)
            lo = np.where(good, lo, mid)
        out = np.where(reachable, np.exp(hi), np.inf)
    out = np.where(gap > 0, out, np.inf)
    return np.where(np.isfinite(s2_) & (s2_ >= 0), out, np.nan)


def _look_grid(days: float, daily: float) -> FloatArray:
    """Cumulative units at the daily looks of a ``days``-long canary (last look partial)."""
    k = np.arange(1, int(np.ceil(days - 1e-9)) + 1, dtype=float)
    return daily * np.minimum(k, days)


def _rule_looks(
    days: float, daily_units: float, s2: float, n_star: float, alpha: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The rule's daily looks of a ``days``-long canary: cumulative units ``n_k`` (last look
    partial), the one-sided half-widths ``h_k`` of the sequence tuned for ``n_star`` at
    per-unit variance ``s2``, and the random walk's step SDs ``sqrt(n_k − n_{k−1})``."""
    n = _look_grid(days, daily_units)
    rho2 = rho_squared(alpha, n_star, one_sided=True)
    h = half_width(n, s2 * np.ones_like(n), rho2, alpha, one_sided=True)
    return n, h, np.sqrt(np.diff(n, prepend=0.0))


def _running_upper(
    z: FloatArray, s2: float, n: FloatArray, h: FloatArray, step: FloatArray
) -> FloatArray:
    """Running minimum of the upper bounds ``θ̂_k − δ + h_k`` along Gaussian paths drawn
    from standard normals ``z`` (rows: paths, columns: looks)."""
    walk = np.cumsum(z * step, axis=1)
    return np.minimum.accumulate(np.sqrt(s2) * walk / n + h, axis=1)


def rule_power(
    gap: float,
    s2: float,
    *,
    days: float,
    daily_units: float,
    n_star: float,
    alpha: float = 0.025,
    min_days: float = 0.0,
    reps: int = 20_000,
    seed: int = 20260613,
) -> float:
    """Power of the decision rule actually applied: daily looks, running intersection.

    The canary is PROMOTEd on a metric once the running minimum of the one-sided upper
    bounds ``U_k = θ̂_k + h_k`` drops below the margin at or after ``min_days``. With a true
    distance ``gap = Δ − δ > 0`` to the margin (harm-oriented scale) and ``s² = n·SE²`` the
    per-unit variance of the estimator, ``θ̂_k − δ`` is a Gaussian random walk observed at
    the cumulative units ``n_k`` of each day (``daily_units`` per day, last look partial),
    so the crossing probability is a property of ``(gap/s, n_k, N*)`` alone. It has no closed
    form (a boundary-crossing probability of a random walk over up to ``days`` looks);
    it is computed by a seeded simulation of ``reps`` Gaussian paths — no data — with
    common random numbers, so the result is deterministic and monotone in ``gap`` (Monte
    Carlo SE ≤ 0.0036 at 20,000 paths). Competing ROLLBACK (probability ≤ α when the canary
    is not harmful) and the burn-in are ignored. The single-look approximation
    ``Φ((gap − h_N)/SE_N)`` is its lower bound (the final look alone).
    """
    _check_alpha(alpha)
    if not (np.isfinite(s2) and s2 > 0):
        return float("nan")
    if not (days > 0 and daily_units > 0):
        raise ValueError(f"`days` and `daily_units` must be > 0; got {days!r}, {daily_units!r}.")
    n, h, step = _rule_looks(days, daily_units, s2, n_star, alpha)
    rng = np.random.default_rng(seed)
    upper = _running_upper(rng.standard_normal((reps, n.size)), s2, n, h, step)
    usable = n >= daily_units * min(min_days, days)  # PROMOTE allowed from min_days
    crossed = (upper < gap) & usable
    return float(np.mean(crossed.any(axis=1)))


def rule_days_for_power(
    gap: float,
    s2: float,
    *,
    daily_units: float,
    planned_days: float,
    power: float = 0.8,
    alpha: float = 0.025,
    min_days: float = 0.0,
    max_days: float = 3650.0,
    reps: int = 20_000,
    seed: int = 20260613,
) -> float:
    """Days of traffic at which :func:`rule_power` reaches ``power`` (bisection; ``inf`` when
    not reached within ``max_days``). ``N* = planned_days × daily_units``."""
    if not 0 < power < 1:
        raise ValueError(f"`power` must be in (0, 1); got {power!r}.")
    if not gap > 0:
        return float("inf")
    n_star = planned_days * daily_units

    def pw(d: float) -> float:
        return rule_power(
            gap, s2, days=d, daily_units=daily_units, n_star=n_star, alpha=alpha,
            min_days=min_days, reps=reps, seed=seed,
        )  # fmt: skip

    lo, hi = max(min_days, 1.0), max(min_days, 1.0)
    if pw(lo) >= power:
        return lo
    while pw(hi) < power:
        lo, hi = hi, hi * 2
        if hi > max_days:
            return float("inf")
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if pw(mid) >= power else (mid, hi)
        if hi - lo < 0.01:
            break
    return hi


def rule_margin_for_power(
    s2: float,
    *,
    days: float,
    daily_units: float,
    n_star: float,
    power: float = 0.8,
    alpha: float = 0.025,
    min_days: float = 0.0,
    reps: int = 20_000,
    seed: int = 20260613,
) -> float:
    """Smallest ``gap = Δ − δ`` that :func:`rule_power` passes with ``power`` (the MDE of the
    rule actually applied, on the analysis scale)."""
    if not 0 < power < 1:
        raise ValueError(f"`power` must be in (0, 1); got {power!r}.")
    if not (np.isfinite(s2) and s2 > 0):
        return float("nan")
    n = days * daily_units
    se = np.sqrt(s2 / n)
    lo, hi = 0.0, 20 * se
    for _ in range(50):
        mid = (lo + hi) / 2
        p = rule_power(
            mid, s2, days=days, daily_units=daily_units, n_star=n_star, alpha=alpha,
            min_days=min_days, reps=reps, seed=seed,
        )  # fmt: skip
        lo, hi = (lo, mid) if p >= power else (mid, hi)
    return hi
