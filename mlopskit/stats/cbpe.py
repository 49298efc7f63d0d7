"""Performance estimated from the scores before labels arrive (confidence-based estimation).

With probabilities ``p_i`` calibrated on the reference and no concept drift (``P(y | x)``
unchanged), each label is ``y_i ~ Bernoulli(p_i)`` independently, so the confusion matrix at
threshold ``t`` has expectation (STATISTICS.md §7.6; NannyML's CBPE)

    E[TP] = Σ_{s_i ≥ t} p_i    E[FP] = Σ_{s_i ≥ t} (1 − p_i)
    E[FN] = Σ_{s_i < t} p_i    E[TN] = Σ_{s_i < t} (1 − p_i)

and the expected ROC curve follows from those at every threshold; the estimated AUC is its
trapezoid area (ties in the score count one half). Precision and recall at ``t`` are
``E[TP]/(E[TP] + E[FP])`` and ``E[TP]/(E[TP] + E[FN])``.

The interval is a prediction interval for the *realized* metric of this window given its
scores, under the same assumption: labels are drawn ``n_sim`` times from ``Bernoulli(p_i)``
(vectorized per score cell: ``Binomial(n_c, p_c)``), the metric is computed on each draw, and
the interval is the draws' ``(1 − level)/2`` and ``(1 + level)/2`` quantiles. It is blind to
concept drift by construction: a realized value outside it, once labels mature, is evidence
of one.

Inputs are score cells: distinct (or finely binned) scores ``score_c`` with ``n_c`` events and
their mean calibrated probability ``p_c``; one event per cell is the unbinned case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

METRICS = ("auc", "precision", "recall")


@dataclass(frozen=True, slots=True)
class EstimatedMetric:
    """One estimated metric with its prediction interval.

    Attributes
    ----------
    metric : ``auc``, ``precision`` or ``recall``.
    estimate : expected value under the reference calibration.
    ci_low, ci_high : prediction interval for the realized value (``level``).
    level : interval coverage.
    threshold : decision threshold (NaN for AUC).
    n, expected_positives : events and expected positives (Σ p) in the window.
    assumption : the assumption the estimate rests on, in words.
    """

    metric: str
    estimate: float
    ci_low: float
    ci_high: float
    level: float
    threshold: float
    n: int
    expected_positives: float
    assumption: str = (
        "scores calibrated as on the reference and no concept drift (P(y|x) unchanged)"
    )

    def contains(self, realized: float) -> bool:
        """Whether a realized value lies inside the interval."""
        return bool(self.ci_low <= realized <= self.ci_high)


def _cells(
    score: ArrayLike, p: ArrayLike, n: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    s = np.asarray(score, dtype=float).ravel()
    pa = np.asarray(p, dtype=float).ravel()
    na = np.ones_like(s) if n is None else np.asarray(n, dtype=float).ravel()
    if not (s.size == pa.size == na.size) or s.size == 0:
        raise ValueError(
            f"`score`, `p` and `n` must be non-empty and of equal length; got {s.size}, "
            f"{pa.size}, {na.size}."
        )
    if np.any(~np.isfinite(s)):
        raise ValueError("`score` must be finite.")
    if np.any(~np.isfinite(pa)) or np.any((pa < 0) | (pa > 1)):
        raise ValueError("`p` must lie in [0, 1] with no NaN.")
    if np.any(na < 0) or np.any(na != np.round(na)):
        raise ValueError("`n` must hold non-negative integer counts.")
    # merge equal scores into one cell (ties count one half in the AUC)
    order = np.argsort(s, kind="stable")
    s, pa, na = s[order], pa[order], na[order]
    uniq, start = np.unique(s, return_index=True)
    n_c = np.add.reduceat(na, start)
    ep = np.add.reduceat(na * pa, start)
    keep = n_c > 0
    return uniq[keep], ep[keep], n_c[keep]


def _merge(
    ep: NDArray[np.float64], n_c: NDArray[np.float64], flag: NDArray[np.bool_], max_cells: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Merge adjacent ascending score cells into ≤ ``max_cells`` groups of similar event
    counts, keeping the flagged and unflagged sides apart."""
    if n_c.size <= max_cells:
        return ep, n_c, flag
    cum = np.cumsum(n_c)
    group = np.floor((cum - n_c) / cum[-1] * max_cells).astype(np.int64)
    group = group * 2 + flag.astype(np.int64)  # never merge across the threshold
    _, inv = np.unique(group, return_inverse=True)
    m = int(inv.max()) + 1
    out_flag = np.zeros(m, dtype=bool)
    out_flag[inv] = flag
    return (
        np.asarray(np.bincount(inv, weights=ep, minlength=m), dtype=np.float64),
        np.asarray(np.bincount(inv, weights=n_c, minlength=m), dtype=np.float64),
        np.asarray(out_flag, dtype=np.bool_),
    )


def _auc_from_cells(pos: NDArray[np.float64], neg: NDArray[np.float64]) -> NDArray[np.float64]:
    """AUC from positive/negative counts per ascending score cell (last axis), ties ½."""
    neg_below = np.cumsum(neg, axis=-1) - neg
    num = np.sum(pos * (neg_below + 0.5 * neg), axis=-1)
    den = pos.sum(axis=-1) * neg.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(den > 0, num / den, np.nan))


def estimate_performance(
    score: ArrayLike,
    p: ArrayLike,
    n: ArrayLike | None = None,
    *,
    threshold: float,
    level: float = 0.95,
    n_sim: int = 2000,
    max_cells: int = 500,
    seed: int = 0,
) -> dict[str, EstimatedMetric]:
    """Expected AUC, precision and recall at ``threshold`` from calibrated scores.

    Parameters
    ----------
    score : the score the model ranks and thresholds on (per event or per cell).
    p : calibrated probability of a positive label for those events (the cell mean when
        cells are given). When the served score is itself calibrated, ``p = score``.
    n : events per cell (default: one event each).
    threshold : flag when ``score ≥ threshold``.
    level : coverage of the prediction intervals.
    n_sim, seed : label draws for the intervals and their seed.
    max_cells : the draws use at most this many score cells (adjacent cells merged by
        event count, never across the threshold); the interval is the draws' spread around
        the exact estimate, so merging only coarsens the spread, not the centre.

    Returns
    -------
    dict ``metric → EstimatedMetric`` for ``auc``, ``precision`` and ``recall``.
    """
    if not 0 < level < 1:
        raise ValueError(f"`level` must be a float in (0, 1); got {level!r}.")
    if not math.isfinite(threshold):
        raise ValueError(f"`threshold` must be finite; got {threshold!r}.")
    s, ep, n_c = _cells(score, p, n)
    p_c = np.divide(ep, n_c, out=np.zeros_like(ep), where=n_c > 0)
    flag = s >= threshold
    # expectations (CBPE)
    e_pos, e_neg = ep, n_c - ep
    auc = float(_auc_from_cells(e_pos, e_neg))
    # the expected-ROC trapezoid counts the cross-pairs of a cell as ties but also the
    # cell's own pair of an event with itself (p_i(1 − p_i)); remove those self-pairs
    self_pairs = float(np.sum(n_c * p_c * (1 - p_c)))
    tot = float(e_pos.sum() * e_neg.sum() - self_pairs)
    if tot > 0:
        num = auc * float(e_pos.sum() * e_neg.sum()) - 0.5 * self_pairs
        auc = num / tot
    tp, fp, fn = float(ep[flag].sum()), float(e_neg[flag].sum()), float(ep[~flag].sum())
    prec = tp / (tp + fp) if tp + fp > 0 else math.nan
    rec = tp / (tp + fn) if tp + fn > 0 else math.nan
    # prediction intervals: draws of the realized labels on (merged) score cells
    sim_pos, sim_n, sim_flag = _merge(ep, n_c, flag, max_cells)
    sim_p = np.divide(sim_pos, sim_n, out=np.zeros_like(sim_pos), where=sim_n > 0)
    rng = np.random.default_rng(seed)
    pos = rng.binomial(
        sim_n.astype(np.int64)[None, :], np.clip(sim_p, 0, 1)[None, :], (n_sim, sim_n.size)
    ).astype(float)
    neg = sim_n[None, :] - pos
    auc_d = _auc_from_cells(pos, neg)
    tp_d = pos[:, sim_flag].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec_d = tp_d / float(sim_n[sim_flag].sum()) if sim_flag.any() else np.full(n_sim, np.nan)
        rec_d = tp_d / pos.sum(axis=1)
    q = [(1 - level) / 2, (1 + level) / 2]

    def band(d: NDArray[np.float64], est: float) -> tuple[float, float]:
        d = d[np.isfinite(d)]
        if d.size == 0 or not math.isfinite(est):
            return math.nan, math.nan
        lo, hi = np.quantile(d - d.mean(), q)
        return float(est + lo), float(est + hi)

    out = {}
    n_tot, e_tot = int(n_c.sum()), float(ep.sum())
    for name, est, draws, thr in (
        ("auc", auc, auc_d, math.nan),
        ("precision", prec, prec_d, float(threshold)),
        ("recall", rec, rec_d, float(threshold)),
    ):
        lo, hi = band(np.asarray(draws, dtype=float), est)
        out[name] = EstimatedMetric(
            metric=name,
            estimate=float(est),
            ci_low=lo,
            ci_high=hi,
            level=float(level),
            threshold=thr,
            n=n_tot,
            expected_positives=e_tot,
        )
    return out
