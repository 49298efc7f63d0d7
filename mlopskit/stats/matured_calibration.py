"""Calibration on partly matured labels, with a known arrival factor per event.

An event with served probability ``p``, whose label window is a fraction ``F`` complete
(``F = F̂_b(age)``, the chain-ladder maturity of its score band ``b`` at its age), has
``P(positive label arrived) = F·σ(a + b·logit p)`` (STATISTICS.md §7.2). Fitting the usual
logistic calibration to arrived labels, or multiplying ``p`` by a single pooled ``F``, biases
the slope when riskier positives are labelled faster; fitting this likelihood with each
event's own ``F`` does not:

    ℓ(a, b) = Σ_c y_c log(F_c μ_c) + (n_c − y_c) log(1 − F_c μ_c),   μ_c = σ(a + b·logit p_c)

over cells ``c`` (``n_c`` events, ``y_c`` arrived positives, a common ``p_c`` and ``F_c``).
Fitted by Fisher scoring: with ``q = Fμ`` the score for the linear predictor is
``(y − nq)(1 − μ)/(1 − q)`` and its information ``n q (1 − μ)²/(1 − q)``; with ``F = 1`` both
reduce to the logistic regression's. Calibration-in-the-large is the intercept with the
slope fixed at 1, as in :func:`mlopskit.stats.calibration.calibration_fit`, and the result is
the same :class:`~mlopskit.stats.calibration.CalibrationFit`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlopskit.stats.calibration import DEFAULT_EPS, CalibrationFit, expit, logit
from mlopskit.stats.maturity import MaturityFn, chain_ladder, maturity_function


def _scoring(
    X: NDArray[np.float64],
    offset: NDArray[np.float64],
    f: NDArray[np.float64],
    n: NDArray[np.float64],
    y: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # start at the identity map (a = 0, b = 1, or CITL = 0): the served scores as they are
    beta = np.zeros(X.shape[1])
    if X.shape[1] == 2:
        beta[1] = 1.0
    for _ in range(200):
        mu = expit(offset + X @ beta)
        q = np.clip(f * mu, 1e-300, 1 - 1e-12)
        score = (y - n * q) * (1 - mu) / (1 - q)
        w = n * q * (1 - mu) ** 2 / (1 - q)
        info = (X * w[:, None]).T @ X
        step = np.linalg.solve(info, X.T @ score)
        # halve steps that would push F·μ to 1 (possible when F is near 1 and μ overshoots)
        for _ in range(30):
            trial = beta + step
            if np.all(f * expit(offset + X @ trial) < 1 - 1e-12):
                break
            step = step / 2
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:  # pragma: no cover - pathological data
        raise ValueError("matured calibration fit did not converge.")
    mu = expit(offset + X @ beta)
    q = f * mu
    w = n * q * (1 - mu) ** 2 / (1 - q)
    cov = np.asarray(np.linalg.inv((X * w[:, None]).T @ X), dtype=float)
    return beta, cov


def matured_calibration_fit(
    p: ArrayLike,
    maturity: ArrayLike,
    positives: ArrayLike,
    n: ArrayLike | None = None,
    *,
    eps: float = DEFAULT_EPS,
) -> CalibrationFit:
    """Calibration slope, intercept and CITL of ``p`` on labels that are partly matured.

    Parameters
    ----------
    p : served probabilities (one per event, or per cell of events sharing ``p``).
    maturity : ``F`` per event/cell in (0, 1]: the share of eventual positive labels that
        have arrived at the event's age *for its score band*.
    positives : arrived positive labels (0/1 per event, or a count per cell).
    n : events per cell (default 1 each).
    eps : clipping of ``p`` before the logit (stored in the result).

    With ``maturity = 1`` this is the logistic calibration fit (statsmodels
    ``GLM(y, [1, logit p], Binomial(), freq_weights=n)``).
    """
    pa = np.asarray(p, dtype=float).ravel()
    fa = np.asarray(maturity, dtype=float).ravel()
    ya = np.asarray(positives, dtype=float).ravel()
    na = np.ones_like(pa) if n is None else np.asarray(n, dtype=float).ravel()
    if not (pa.size == fa.size == ya.size == na.size) or pa.size == 0:
        raise ValueError(
            f"`p`, `maturity`, `positives` and `n` must be non-empty and of equal length; "
            f"got {pa.size}, {fa.size}, {ya.size}, {na.size}."
        )
    if np.any(~np.isfinite(pa)) or np.any((pa < 0) | (pa > 1)):
        raise ValueError("`p` must lie in [0, 1] with no NaN.")
    if np.any(~np.isfinite(fa)) or np.any((fa <= 0) | (fa > 1)):
        bad = fa[~((fa > 0) & (fa <= 1))][:5]
        raise ValueError(f"`maturity` must lie in (0, 1]; got {bad}.")
    if np.any(na < 1) or np.any(ya < 0) or np.any(ya > na):
        raise ValueError("`n` must be ≥ 1 and `positives` within [0, n] in every cell.")
    n_pos = float(ya.sum())
    if n_pos == 0 or n_pos == na.sum():
        raise ValueError(
            f"calibration needs both arrived positives and other events; got {n_pos:g} "
            f"positives among {na.sum():g} events."
        )
    lp = logit(pa, eps)
    X = np.column_stack([np.ones_like(lp), lp])
    beta, cov = _scoring(X, np.zeros_like(lp), fa, na, ya)
    b1, c1 = _scoring(np.ones((lp.size, 1)), lp, fa, na, ya)
    return CalibrationFit(
        intercept=float(beta[0]),
        slope=float(beta[1]),
        se_intercept=float(np.sqrt(cov[0, 0])),
        se_slope=float(np.sqrt(cov[1, 1])),
        citl=float(b1[0]),
        se_citl=float(np.sqrt(c1[0, 0])),
        n=int(na.sum()),
        n_pos=int(n_pos),
        eps=eps,
    )


def band_maturity(
    score: ArrayLike, age: ArrayLike, edges: ArrayLike, curves: list[object]
) -> NDArray[np.float64]:
    """``F̂_b(age)`` per event: ``curves[b]`` (a callable of age) for the score band ``b``
    given by ``edges`` (inner band edges, ascending; band b is ``[e_{b−1}, e_b)``, i.e. the
    number of edges ≤ score, as the label triangle's ``group``)."""
    s = np.asarray(score, dtype=float)
    a = np.asarray(age, dtype=float)
    e = np.asarray(edges, dtype=float)
    if len(curves) != e.size + 1:
        raise ValueError(
            f"`curves` must hold one maturity curve per band ({e.size + 1}); got {len(curves)}."
        )
    band = np.searchsorted(e, s, side="right")
    out = np.empty_like(a)
    for b, fn in enumerate(curves):
        m = band == b
        if m.any():
            out[m] = np.asarray(fn(a[m]), dtype=np.float64)  # type: ignore[operator]
    return out


def band_maturity_curves(
    positives: ArrayLike,
    latest_age: ArrayLike,
    *,
    pooled: MaturityFn,
    min_positives: int = 100,
) -> tuple[list[MaturityFn], tuple[str, ...]]:
    """Chain-ladder maturity curve per score band, pooled over cohorts.

    Parameters
    ----------
    positives : (bands, cohorts, ages) positives by band, cohort and label delay in whole
        days (incremental counts; delay ``d`` counts as arrived at age ``d + 1``).
    latest_age : per cohort, the last complete age observed at as_of (days).
    pooled : the all-band curve, used for a band with fewer than ``min_positives``
        labelled positives or whose triangle cannot be fitted.
    min_positives : positives a band needs for its own curve.

    Returns
    -------
    (curves, notes) : one ``F̂_b`` per band, and a note per band that fell back to the
    pooled curve.
    """
    pos = np.asarray(positives, dtype=float)
    latest = np.asarray(latest_age, dtype=np.int64)
    if pos.ndim != 3 or pos.shape[1] != latest.size:
        raise ValueError(
            f"`positives` must be (bands, cohorts, ages) with one `latest_age` per cohort; got "
            f"shape {pos.shape} and {latest.size} ages."
        )
    k = int(min(pos.shape[2], max(int(latest.max()), 1)))
    ages = np.arange(1, k + 1)
    curves: list[MaturityFn] = []
    notes: list[str] = []
    rows = latest >= 1
    for b in range(pos.shape[0]):
        total = float(pos[b].sum())
        if total < min_positives:
            curves.append(pooled)
            notes.append(f"band {b}: {total:.0f} positives < {min_positives}; pooled curve used")
            continue
        cum = np.cumsum(pos[b][:, :k], axis=1)
        tri = np.where(ages[None, :] <= latest[:, None], cum, np.nan)[rows]
        try:
            fit = chain_ladder(tri)
        except ValueError as exc:
            curves.append(pooled)
            notes.append(f"band {b}: chain ladder failed ({exc}); pooled curve used")
            continue
        mat = np.maximum.accumulate(np.clip(np.nan_to_num(fit.maturity, nan=1.0), 0.0, 1.0))
        curves.append(maturity_function(ages, mat))
    return curves, tuple(notes)
