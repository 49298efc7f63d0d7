"""Proportions: confidence intervals for one rate and tests comparing two.

Extended by the canary work (two-proportion z, Newcombe, Welch, delta method, CUPED).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats


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
    z = stats.norm.isf(alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi
