"""Calibration of probability scores: logistic recalibration fits.

The calibration model is ``logit P(y=1) = a + b·logit(p)`` (ideal a = 0, b = 1), fitted by
maximum likelihood (Newton–Raphson / IRLS). ``b`` is the calibration slope; the
*calibration intercept* reported with it is ``a`` of the joint fit. Calibration-in-the-large
is the intercept of the fit with ``b`` fixed at 1 (``logit(p)`` as offset), the "intercept
shift" recalibration. Platt scaling is the joint fit used as a recalibration map.

Scores are clipped to ``[eps, 1 − eps]`` before the logit (``eps`` is a parameter, stored in
the result) because a score of exactly 0 or 1 has an infinite logit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

DEFAULT_EPS = 1e-6


def logit(p: ArrayLike, eps: float = DEFAULT_EPS) -> NDArray[np.float64]:
    q = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    return np.log(q) - np.log1p(-q)


def expit(x: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(stats.logistic.cdf(np.asarray(x, dtype=float)), dtype=float)


def check_probabilities(
    p: ArrayLike, y: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate probability scores ``p`` in [0, 1] and 0/1 labels ``y`` (1-d, same length,
    non-empty); return both as float arrays."""
    pa = np.asarray(p, dtype=float)
    ya = np.asarray(y, dtype=float)
    if pa.shape != ya.shape or pa.ndim != 1:
        raise ValueError(f"`p` and `y` must be 1-d of equal length; got {pa.shape} and {ya.shape}.")
    if pa.size == 0:
        raise ValueError("`p` and `y` must not be empty.")
    if np.any(np.isnan(pa)) or np.any((pa < 0) | (pa > 1)):
        raise ValueError("`p` must lie in [0, 1] with no NaN.")
    if not np.all((ya == 0) | (ya == 1)):
        raise ValueError("`y` must be 0/1.")
    return pa, ya


def _check(p: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    pa, ya = check_probabilities(p, y)
    if ya.min() == ya.max():
        raise ValueError(f"`y` has a single class ({int(ya[0])}); calibration cannot be fitted.")
    return pa, ya


def _newton(
    X: NDArray[np.float64], y: NDArray[np.float64], offset: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        eta = offset + X @ beta
        mu = expit(eta)
        w = mu * (1 - mu)
        grad = X.T @ (y - mu)
        hess = (X * w[:, None]).T @ X
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:  # pragma: no cover - separation or pathological data
        raise ValueError("calibration fit did not converge (perfect separation?).")
    mu = expit(offset + X @ beta)
    cov = np.asarray(np.linalg.inv((X * (mu * (1 - mu))[:, None]).T @ X), dtype=float)
    return beta, cov


@dataclass(frozen=True, slots=True)
class CalibrationFit:
    """``logit P(y) = intercept + slope·logit(p)`` and calibration-in-the-large.

    Attributes
    ----------
    intercept, slope : joint maximum-likelihood fit (Platt map), ideal 0 and 1.
    se_intercept, se_slope : Wald standard errors from the observed information.
    citl : calibration-in-the-large, the intercept with the slope fixed at 1.
    se_citl : its standard error.
    n, n_pos : rows and positives used.
    eps : clipping applied to ``p`` before the logit.
    """

    intercept: float
    slope: float
    se_intercept: float
    se_slope: float
    citl: float
    se_citl: float
    n: int
    n_pos: int
    eps: float

    def apply(self, p: ArrayLike, *, method: str = "platt") -> NDArray[np.float64]:
        """Recalibrated probabilities: ``platt`` (a + b·logit p) or ``intercept`` (citl shift)."""
        lp = logit(p, self.eps)
        if method == "platt":
            return expit(self.intercept + self.slope * lp)
        if method == "intercept":
            return expit(self.citl + lp)
        raise ValueError(f"`method` must be 'platt' or 'intercept'; got {method!r}.")


def calibration_fit(p: ArrayLike, y: ArrayLike, *, eps: float = DEFAULT_EPS) -> CalibrationFit:
    """Fit calibration slope/intercept and calibration-in-the-large.

    Matches ``statsmodels.api.Logit(y, add_constant(logit(p))).fit()`` (joint fit) and
    ``statsmodels.api.GLM(y, ones, family=Binomial(), offset=logit(p)).fit()`` (citl).
    """
    pa, ya = _check(p, y)
    lp = logit(pa, eps)
    X = np.column_stack([np.ones_like(lp), lp])
    beta, cov = _newton(X, ya, np.zeros_like(lp))
    b1, c1 = _newton(np.ones((lp.size, 1)), ya, lp)
    return CalibrationFit(
        intercept=float(beta[0]),
        slope=float(beta[1]),
        se_intercept=float(np.sqrt(cov[0, 0])),
        se_slope=float(np.sqrt(cov[1, 1])),
        citl=float(b1[0]),
        se_citl=float(np.sqrt(c1[0, 0])),
        n=int(ya.size),
        n_pos=int(ya.sum()),
        eps=eps,
    )
