"""Outcome metrics of probability scores on labelled rows: O/E, Brier, ECE, top-k lift.

Complements :mod:`mlopskit.stats.calibration` (slope/intercept) for outcome drift
(STATISTICS.md §5). All functions take 1-d arrays of scores ``p`` in [0, 1] and 0/1 labels.

* **O/E**: observed over expected positives, ``Σy / Σp``; CI ``exp(ln(O/E) ± z/√O)`` (the
  Poisson approximation for the observed count, Debray et al. 2017; expected treated as fixed).
* **Brier**: ``mean((p − y)²)``.
* **ECE**: ``Σ_b (n_b/n)·|ȳ_b − p̄_b|`` on ``bins`` equal-mass bins of the score (rows sorted by
  score, bin of the row ranked r (0-based) is ``floor(r·B/n)``). Even a perfectly calibrated
  score has ECE > 0 from label noise, so the ECE is reported beside its *no-miscalibration
  reference*: the mean and 95th percentile of the ECE when labels are redrawn as
  ``y* ~ Bernoulli(p)`` row by row (``n_sim`` seeded simulations, exact). The normal
  approximation ``E[ECE] ≈ (1/n)·Σ_b √(2/π)·√(Σ_{i∈b} p_i(1−p_i))`` is given by
  :func:`ece_reference_normal` (accurate when every bin holds many expected positives).
* **Top k%**: precision, capture (recall) and lift (precision / base rate) among the rows
  flagged. With a fixed score ``threshold`` the flagged set does not depend on the labels,
  so precision and capture get Wilson intervals (lift: precision's interval divided by the
  base rate, conditional on it). When the cutoff is the window's own top-k quantile the
  flagged set is data-dependent: percentile intervals from a seeded bootstrap of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from mlopskit.stats.calibration import check_probabilities as _check
from mlopskit.stats.proportions import wilson_ci


@dataclass(frozen=True, slots=True)
class ObservedExpected:
    """O/E ratio with a Poisson-approximation CI (NaN bounds when no positive was observed)."""

    ratio: float
    ci_low: float
    ci_high: float
    observed: float
    expected: float


def observed_expected(p: ArrayLike, y: ArrayLike, *, alpha: float = 0.05) -> ObservedExpected:
    """``O/E = Σy/Σp`` with CI ``exp(ln(O/E) ± z_{1−α/2}/√O)``."""
    pa, ya = _check(p, y)
    o, e = float(ya.sum()), float(pa.sum())
    if e <= 0:
        raise ValueError("`p` sums to 0: the expected count is 0, O/E is undefined.")
    ratio = o / e
    if o == 0:
        return ObservedExpected(ratio, math.nan, math.nan, o, e)
    z = float(stats.norm.isf(alpha / 2))
    half = z / math.sqrt(o)
    return ObservedExpected(ratio, ratio * math.exp(-half), ratio * math.exp(half), o, e)


def brier_score(p: ArrayLike, y: ArrayLike) -> float:
    """``mean((p − y)²)``."""
    pa, ya = _check(p, y)
    return float(np.mean((pa - ya) ** 2))


def equal_mass_bins(p: ArrayLike, bins: int = 10) -> NDArray[np.int64]:
    """Bin of each row: ``floor(rank·B/n)`` with rows ranked by score (stable for ties)."""
    pa = np.asarray(p, dtype=float)
    if bins < 1:
        raise ValueError(f"`bins` must be ≥ 1; got {bins!r}.")
    order = np.argsort(pa, kind="mergesort")
    out = np.empty(pa.size, dtype=np.int64)
    out[order] = (np.arange(pa.size) * bins) // max(pa.size, 1)
    return out


def _ece_from_sums(sum_y: NDArray[Any], sum_p: NDArray[Any], n: float) -> NDArray[np.float64]:
    return np.asarray(np.abs(sum_y - sum_p).sum(axis=-1) / n)


@dataclass(frozen=True, slots=True)
class ECE:
    """Expected calibration error with its no-miscalibration reference.

    Attributes
    ----------
    ece : observed ECE on ``bins`` equal-mass bins.
    expected_null : mean ECE under perfect calibration (``y* ~ Bernoulli(p)``).
    q95_null : its 95th percentile; an ECE above it is miscalibration beyond label noise.
    bins, n_sim, seed : the choices behind the numbers.
    mean_score, observed_rate : per-bin mean score and observed positive rate (reliability).
    counts, positives : rows and positive labels per bin (what each reliability point rests on).
    """

    ece: float
    expected_null: float
    q95_null: float
    bins: int
    n_sim: int
    seed: int
    mean_score: tuple[float, ...]
    observed_rate: tuple[float, ...]
    counts: tuple[int, ...] = ()
    positives: tuple[float, ...] = ()


def expected_calibration_error(
    p: ArrayLike, y: ArrayLike, *, bins: int = 10, n_sim: int = 200, seed: int = 0
) -> ECE:
    """ECE on equal-mass bins with its simulated no-miscalibration reference (module doc)."""
    pa, ya = _check(p, y)
    if n_sim < 1:
        raise ValueError(f"`n_sim` must be ≥ 1; got {n_sim!r}.")
    b = equal_mass_bins(pa, bins)
    k = int(b.max()) + 1
    n_b = np.bincount(b, minlength=k).astype(float)
    sum_p = np.bincount(b, weights=pa, minlength=k)
    sum_y = np.bincount(b, weights=ya, minlength=k)
    ece = float(_ece_from_sums(sum_y, sum_p, pa.size))
    rng = np.random.default_rng(seed)
    null = np.empty(n_sim)
    for s in range(n_sim):  # exact Bernoulli redraws; O(n) per simulation
        ys = (rng.random(pa.size) < pa).astype(float)
        null[s] = _ece_from_sums(np.bincount(b, weights=ys, minlength=k), sum_p, pa.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = sum_p / n_b
        rate = sum_y / n_b
    return ECE(
        ece=ece,
        expected_null=float(null.mean()),
        q95_null=float(np.quantile(null, 0.95)),
        bins=k,
        n_sim=n_sim,
        seed=seed,
        mean_score=tuple(float(v) for v in mean_score),
        observed_rate=tuple(float(v) for v in rate),
        counts=tuple(int(v) for v in n_b),
        positives=tuple(float(v) for v in sum_y),
    )


def ece_reference_normal(p: ArrayLike, *, bins: int = 10) -> float:
    """Normal approximation of the mean ECE under perfect calibration (see module doc)."""
    pa = np.asarray(p, dtype=float)
    b = equal_mass_bins(pa, bins)
    var = np.bincount(b, weights=pa * (1 - pa))
    return float(np.sqrt(2 / np.pi) * np.sqrt(var).sum() / pa.size)


@dataclass(frozen=True, slots=True)
class TopK:
    """Precision, capture and lift among flagged rows, with intervals.

    Attributes
    ----------
    k : requested share flagged (NaN when a fixed threshold was given).
    threshold : the score cutoff used (flag when ``p ≥ threshold``; for a top-k quantile,
        the k-th largest score).
    n_flagged, n_pos_flagged, n, n_pos : counts.
    precision, capture, lift : point estimates; lift = precision / base rate.
    *_low, *_high : interval bounds at level ``1 − alpha``.
    method : ``"wilson"`` (fixed threshold) or ``"bootstrap"`` (data-quantile cutoff).
    n_boot, seed : bootstrap settings (0 / -1 for Wilson).
    """

    k: float
    threshold: float
    n_flagged: float
    n_pos_flagged: float
    n: int
    n_pos: int
    precision: float
    precision_low: float
    precision_high: float
    capture: float
    capture_low: float
    capture_high: float
    lift: float
    lift_low: float
    lift_high: float
    method: str
    alpha: float
    n_boot: int
    seed: int


def top_k_threshold(p: ArrayLike, y: ArrayLike, *, threshold: float, alpha: float = 0.05) -> TopK:
    """Metrics of the rows with ``p ≥ threshold`` (a fixed cutoff) with Wilson intervals."""
    pa, ya = _check(p, y)
    flag = pa >= threshold
    nf, tp = float(flag.sum()), float(ya[flag].sum())
    n, npos = pa.size, float(ya.sum())
    base = npos / n
    prec = tp / nf if nf else math.nan
    cap = tp / npos if npos else math.nan
    plo, phi = (float(v) for v in wilson_ci(tp, nf, alpha=alpha))
    clo, chi = (float(v) for v in wilson_ci(tp, npos, alpha=alpha))
    lift = prec / base if base > 0 else math.nan
    llo = plo / base if base > 0 else math.nan
    lhi = phi / base if base > 0 else math.nan
    return TopK(
        math.nan,
        float(threshold),
        nf,
        tp,
        n,
        int(npos),
        prec,
        plo,
        phi,
        cap,
        clo,
        chi,
        lift,
        llo,
        lhi,
        "wilson",
        alpha,
        0,
        -1,
    )


def _top_mass(
    weights: NDArray[np.float64], y_sorted: NDArray[np.float64], k_rows: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Flagged weight and flagged positive weight of the first ``k_rows`` units of weight.

    ``weights`` has one row per replicate over rows sorted by descending score; the row at
    the boundary is counted fractionally so exactly ``k_rows`` units are flagged. The third
    output marks replicates whose cutoff was reached within the rows given.
    """
    cw = np.cumsum(weights, axis=-1)
    cy = np.cumsum(weights * y_sorted, axis=-1)
    reached = cw[:, -1] >= k_rows
    j = np.argmax(cw >= k_rows[:, None], axis=-1)  # first row reaching the cutoff
    rows = np.arange(weights.shape[0])
    prev_w = np.where(j > 0, cw[rows, j - 1], 0.0)
    prev_y = np.where(j > 0, cy[rows, j - 1], 0.0)
    wj = weights[rows, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(wj > 0, (k_rows - prev_w) / wj, 0.0)
    return prev_w + frac * wj, prev_y + frac * wj * y_sorted[j], reached


def top_k_quantile(
    p: ArrayLike,
    y: ArrayLike,
    *,
    k: float = 0.01,
    alpha: float = 0.05,
    n_boot: int = 500,
    seed: int = 0,
) -> TopK:
    """Metrics of the top ``k`` share of rows by score, with seeded bootstrap intervals.

    The cutoff is the window's own score quantile, so it moves with the data: each bootstrap
    replicate reweights rows with independent Poisson(1) counts (the Poisson bootstrap,
    Hanley & MacGibbon 2006; it approximates multinomial resampling for large n at O(n) per
    replicate), recomputes its top ``k`` share of rows and the metrics; intervals are
    percentile intervals. The boundary row is counted fractionally so
    exactly ``k·n`` rows are flagged (ties in score are broken by row order).
    """
    pa, ya = _check(p, y)
    if not 0 < k < 1:
        raise ValueError(f"`k` must be in (0, 1); got {k!r}.")
    if n_boot < 1:
        raise ValueError(f"`n_boot` must be ≥ 1; got {n_boot!r}.")
    order = np.argsort(-pa, kind="mergesort")
    ys = ya[order]
    n = pa.size
    k_rows = max(k * n, 1.0)
    nf_arr, tp_arr, _ = _top_mass(np.ones((1, n)), ys, np.array([k_rows]))
    nf, tp = float(nf_arr[0]), float(tp_arr[0])
    npos = float(ya.sum())
    base = npos / n
    rng = np.random.default_rng(seed)
    # Only the highest-scored rows can be flagged: draw Poisson weights for the first
    # `head` rows and the weight totals of the remaining rows directly (sums of independent
    # Poisson(1) are Poisson), which is exact and O(k·n) per replicate.
    head = min(n, math.ceil(1.5 * k * n + 10 * math.sqrt(k * n) + 50))
    pos_tail = float(ys[head:].sum())
    prec_b, cap_b, lift_b = [], [], []
    chunk = max(1, int(4e6 // head))
    for start in range(0, n_boot, chunk):
        reps = min(chunk, n_boot - start)
        w = rng.poisson(1.0, size=(reps, head)).astype(float)
        tail_w = rng.poisson(float(n - head), size=reps).astype(float)
        tail_pos = (
            rng.binomial(tail_w.astype(np.int64), pos_tail / (n - head))
            if n > head
            else (np.zeros(reps))
        )
        total = w.sum(axis=1) + tail_w
        f, t, reached = _top_mass(w, ys[:head], np.maximum(k * total, 1.0))
        if not reached.all():  # pragma: no cover - the head margin is ≫ the Poisson spread
            raise RuntimeError("top-k bootstrap: cutoff beyond the simulated head rows.")
        pos_b = w @ ys[:head] + tail_pos
        with np.errstate(invalid="ignore", divide="ignore"):
            prec_b.append(t / f)
            cap_b.append(t / pos_b)
            lift_b.append((t / f) / (pos_b / total))
    q = [alpha / 2, 1 - alpha / 2]

    def ci(v: list[NDArray[np.float64]]) -> tuple[float, float]:
        arr = np.concatenate(v)
        arr = arr[np.isfinite(arr)]
        if arr.size == 0:
            return math.nan, math.nan
        lo, hi = np.quantile(arr, q)
        return float(lo), float(hi)

    prec = tp / nf
    cap = tp / npos if npos else math.nan
    lift = prec / base if base > 0 else math.nan
    return TopK(
        float(k),
        float(pa[order][math.ceil(k_rows) - 1]),
        nf,
        tp,
        n,
        int(npos),
        prec,
        *ci(prec_b),
        cap,
        *ci(cap_b),
        lift,
        *ci(lift_b),
        "bootstrap",
        alpha,
        n_boot,
        seed,
    )
