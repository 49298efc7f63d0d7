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
from scipy import stats

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
    z = stats.norm.ppf(power)
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
