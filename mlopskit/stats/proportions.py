"""Proportions: confidence intervals for one rate and tests comparing two.

Extended by the canary work (two-proportion z, Newcombe, Welch, delta method, CUPED).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlopskit.stats import dist as _dist


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise ValueError(f"`alpha` must be a float in (0, 1); got {alpha!r}.")


def wilson_ci(
    count: ArrayLike, nobs: ArrayLike, *, alpha: float = 0.05
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval for a binomial proportion (two-sided, level ``1 − alpha``).

    Matches ``statsmodels.stats.proportion.proportion_confint(count, nobs, alpha, method="wilson")``.
    Vectorized over ``count``/``nobs``; ``nobs == 0`` gives ``(nan, nan)``.
    """
    _check_alpha(alpha)
    x = np.asarray(count, dtype=float)
    n = np.asarray(nobs, dtype=float)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("`count` must satisfy 0 ≤ count ≤ nobs.")
    z = _dist.norm_isf(alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi


# --------------------------------------------------------------------------------------
# Two-sample comparisons (canary − control). Everything is vectorized over numpy arrays and
# takes sufficient statistics (counts, means, variances), never raw rows.
# --------------------------------------------------------------------------------------
FloatArray = NDArray[np.float64]


class Difference(NamedTuple):
    """An estimated difference ``canary − control`` with its SE and two-sided CI."""

    effect: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray


class WelchResult(NamedTuple):
    """Welch's t-test of ``mean_canary − mean_control``."""

    effect: FloatArray
    se: FloatArray
    statistic: FloatArray
    df: FloatArray
    p_value: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=float)


def diff_proportions(
    count_canary: ArrayLike,
    nobs_canary: ArrayLike,
    count_control: ArrayLike,
    nobs_control: ArrayLike,
    *,
    alpha: float = 0.05,
) -> Difference:
    """Difference of two proportions ``d = p_canary − p_control`` with the unpooled Wald CI.

    ``SE = sqrt(p_t(1 − p_t)/n_t + p_c(1 − p_c)/n_c)`` (STATISTICS.md §2) and the two-sided
    ``1 − alpha`` interval ``d ± z_{1−α/2}·SE``. Equals
    ``statsmodels.stats.proportion.confint_proportions_2indep(x_t, n_t, x_c, n_c,
    method="wald", compare="diff")``.

    Returns
    -------
    Difference
        ``effect, se, ci_low, ci_high`` arrays broadcast from the inputs.
    """
    _check_alpha(alpha)
    xt, nt, xc, nc = _f(count_canary), _f(nobs_canary), _f(count_control), _f(nobs_control)
    with np.errstate(invalid="ignore", divide="ignore"):
        pt, pc = xt / nt, xc / nc
        se = np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
    d = pt - pc
    z = _dist.norm_isf(alpha / 2)
    return Difference(d, se, d - z * se, d + z * se)


def ztest_proportions_pooled(
    count_canary: ArrayLike,
    nobs_canary: ArrayLike,
    count_control: ArrayLike,
    nobs_control: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Two-sided pooled z-test of equal proportions.

    ``z = (p_t − p_c) / sqrt(p̄(1 − p̄)(1/n_t + 1/n_c))`` with ``p̄`` the pooled proportion.
    Matches ``statsmodels.stats.proportion.proportions_ztest([x_t, x_c], [n_t, n_c])``.

    Returns
    -------
    z, p_value : arrays (``nan`` when the pooled proportion is 0 or 1).
    """
    xt, nt, xc, nc = _f(count_canary), _f(nobs_canary), _f(count_control), _f(nobs_control)
    with np.errstate(invalid="ignore", divide="ignore"):
        pool = (xt + xc) / (nt + nc)
        se = np.sqrt(pool * (1 - pool) * (1 / nt + 1 / nc))
        z = (xt / nt - xc / nc) / se
    z = np.where(se > 0, z, np.nan)
    return z, 2 * _dist.norm_sf(np.abs(z))


def newcombe_ci(
    count_canary: ArrayLike,
    nobs_canary: ArrayLike,
    count_control: ArrayLike,
    nobs_control: ArrayLike,
    *,
    alpha: float = 0.05,
) -> tuple[FloatArray, FloatArray]:
    """Newcombe's hybrid score interval for ``p_canary − p_control`` (method 10, no correction).

    Built from the two Wilson intervals ``[l_t, u_t]``, ``[l_c, u_c]``:
    ``L = d − sqrt((p_t − l_t)² + (u_c − p_c)²)``, ``U = d + sqrt((u_t − p_t)² + (p_c − l_c)²)``.
    Used when an arm has fewer than 10 events or non-events, where Wald undercovers.
    Matches ``statsmodels.stats.proportion.confint_proportions_2indep(x_t, n_t, x_c, n_c,
    method="newcomb", compare="diff")``.
    """
    xt, nt, xc, nc = _f(count_canary), _f(nobs_canary), _f(count_control), _f(nobs_control)
    lt, ut = wilson_ci(xt, nt, alpha=alpha)
    lc, uc = wilson_ci(xc, nc, alpha=alpha)
    pt, pc = xt / nt, xc / nc
    d = pt - pc
    low = d - np.sqrt((pt - lt) ** 2 + (uc - pc) ** 2)
    high = d + np.sqrt((ut - pt) ** 2 + (pc - lc) ** 2)
    return low, high


def moments(
    n: ArrayLike, total: ArrayLike, sum_squares: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Mean and sample variance (``ddof=1``) from ``n``, ``Σy`` and ``Σy²``."""
    n_, s, ss = _f(n), _f(total), _f(sum_squares)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n_
        var = (ss - s * mean) / (n_ - 1)
    return mean, np.maximum(var, 0.0)


def covariance(
    n: ArrayLike, sum_x: ArrayLike, sum_y: ArrayLike, sum_products: ArrayLike
) -> FloatArray:
    """Sample covariance (``ddof=1``) from ``n``, ``Σx``, ``Σy`` and ``Σxy``."""
    n_ = _f(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (_f(sum_products) - _f(sum_x) * _f(sum_y) / n_) / (n_ - 1)


def welch_ttest(
    mean_canary: ArrayLike,
    var_canary: ArrayLike,
    nobs_canary: ArrayLike,
    mean_control: ArrayLike,
    var_control: ArrayLike,
    nobs_control: ArrayLike,
    *,
    alpha: float = 0.05,
) -> WelchResult:
    """Welch's t-test of ``mean_canary − mean_control`` with Welch–Satterthwaite df.

    ``SE² = v_t/n_t + v_c/n_c``; ``df = SE⁴ / ((v_t/n_t)²/(n_t − 1) + (v_c/n_c)²/(n_c − 1))``;
    two-sided p-value and ``1 − alpha`` CI from Student's t with that df. Matches
    ``scipy.stats.ttest_ind_from_stats(m_t, s_t, n_t, m_c, s_c, n_c, equal_var=False)`` and
    ``scipy.stats.ttest_ind(y_t, y_c, equal_var=False)`` (variances with ``ddof=1``).

    Returns
    -------
    WelchResult
        ``effect, se, statistic (t), df, p_value, ci_low, ci_high``.
    """
    _check_alpha(alpha)
    mt, vt, nt = _f(mean_canary), _f(var_canary), _f(nobs_canary)
    mc, vc, nc = _f(mean_control), _f(var_control), _f(nobs_control)
    with np.errstate(invalid="ignore", divide="ignore"):
        at, ac = vt / nt, vc / nc
        se2 = at + ac
        df = se2**2 / (at**2 / (nt - 1) + ac**2 / (nc - 1))
        se = np.sqrt(se2)
        d = mt - mc
        t = d / se
    p = 2 * _dist.t_sf(np.abs(t), df)
    half = _dist.t_isf(alpha / 2, df) * se
    return WelchResult(d, se, t, df, p, d - half, d + half)


def ratio_delta_var(
    n: ArrayLike,
    mean_y: ArrayLike,
    mean_x: ArrayLike,
    var_y: ArrayLike,
    var_x: ArrayLike,
    cov_xy: ArrayLike,
) -> FloatArray:
    """Delta-method variance of the ratio estimator ``R̂ = Ȳ / X̄`` over ``n`` i.i.d. units.

    ``Var(R̂) ≈ (1/n)[σ_Y²/μ_X² − 2μ_Y σ_XY/μ_X³ + μ_Y² σ_X²/μ_X⁴]`` (STATISTICS.md §2; Deng
    et al. 2018, "Applying the delta method in metric analytics"). The covariance term
    matters: numerator and denominator (loss and amount) are strongly correlated per unit.
    """
    n_, my, mx = _f(n), _f(mean_y), _f(mean_x)
    vy, vx, cxy = _f(var_y), _f(var_x), _f(cov_xy)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = (vy / mx**2 - 2 * my * cxy / mx**3 + my**2 * vx / mx**4) / n_
    return np.maximum(v, 0.0)


def relative_delta_var(
    mean_canary: ArrayLike,
    var_mean_canary: ArrayLike,
    mean_control: ArrayLike,
    var_mean_control: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Relative effect ``r = μ_t/μ_c − 1`` and its delta-method variance (independent arms).

    ``Var(r) ≈ Var(μ̂_t)/μ_c² + μ_t² Var(μ̂_c)/μ_c⁴``.
    """
    mt, vt, mc, vc = _f(mean_canary), _f(var_mean_canary), _f(mean_control), _f(var_mean_control)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = mt / mc - 1
        v = vt / mc**2 + mt**2 * vc / mc**4
    return r, v


def cuped_theta(
    n: ArrayLike,
    sum_y: ArrayLike,
    sum_x: ArrayLike,
    sum_x_squares: ArrayLike,
    sum_xy: ArrayLike,
) -> FloatArray:
    """CUPED coefficient ``θ = Cov(Y, X) / Var(X)`` from sums pooled over both arms.

    Pass the sums of the two arms added together (Deng et al. 2013). ``X`` must be measured
    before exposure, so it is independent of the assignment and the adjustment is unbiased.
    Returns ``0`` when ``Var(X) = 0`` (the covariate carries no information).
    """
    _, var_x = moments(n, sum_x, sum_x_squares)
    cov = covariance(n, sum_x, sum_y, sum_xy)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.where(var_x > 0, cov / var_x, 0.0)
    return np.asarray(theta, dtype=float)
