"""AUC point estimate and a seeded, stratified, paired bootstrap of its standard error.

Used by the model-quality CI gate (``mlopskit.gates``) to compare a candidate's AUC on a
frozen test set with a threshold and with the Production model's AUC on the same rows.

* AUC is the Mann–Whitney probability ``P(s⁺ > s⁻) + ½·P(s⁺ = s⁻)`` (midranks for ties).
* The bootstrap resamples positives and negatives separately (stratified, as pROC's
  ``ci.auc(..., method="bootstrap")`` does by default), so every replicate keeps the class
  counts of the test set, the quantity the DeLong variance conditions on.
* Paired: when several score vectors are given they are resampled with the SAME indices,
  so the standard error of their difference accounts for the correlation of models scored
  on the same rows (the paired DeLong analogue).

A replicate is computed without re-sorting: each negative falls in one of ``2U + 1``
buckets defined by the ``U`` distinct positive scores (strictly between two of them, or
tied with one), so ``AUC_b = Σ_i w_i·(N_b(< s_i) + ½·N_b(= s_i)) / (n₁ n₀)`` needs only the
resampled negatives' bucket totals (``w_i``: resample count of positive ``i``). Cost
``O(n_boot · n)``, memory ``O(chunk · n)``.

Pure numpy: no dataframes, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def _binary_labels(y: ArrayLike) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"`y` must be one-dimensional; got shape {arr.shape}.")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError("`y` must not contain NaN; drop unlabelled rows first.")
    values = np.unique(arr)
    if not set(values.tolist()) <= {0, 1}:
        raise ValueError(f"`y` must be 0/1 labels; found values {values[:5].tolist()}.")
    return arr.astype(bool)


def _scores(s: ArrayLike, n: int, name: str = "score") -> np.ndarray:
    arr = np.asarray(s, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},) like `y`; got {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite; found {int((~np.isfinite(arr)).sum())} values.")
    return arr


def auc(y: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve, ``P(s⁺ > s⁻) + ½·P(s⁺ = s⁻)``.

    Equals ``scipy.stats.mannwhitneyu(s[y == 1], s[y == 0]).statistic / (n₁ n₀)``.
    """
    yb = _binary_labels(y)
    s = _scores(score, yb.size)
    n1 = int(yb.sum())
    n0 = yb.size - n1
    if n1 == 0 or n0 == 0:
        raise ValueError(f"`y` must contain both classes; got {n1} positives and {n0} negatives.")
    from scipy.stats import rankdata

    ranks = rankdata(s)  # midranks for ties
    return float((ranks[yb].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass(frozen=True, slots=True)
class AucBootstrap:
    """AUCs of one or more score vectors on the same rows, with bootstrap standard errors.

    Attributes
    ----------
    auc : AUC of each score vector (full sample, not the bootstrap mean).
    se : bootstrap standard error of each AUC (``ddof=1`` over replicates).
    cov : bootstrap covariance matrix of the AUCs (k × k, as nested tuples).
    n_pos, n_neg : class counts (kept fixed in every replicate: stratified bootstrap).
    n_boot : number of replicates.
    seed : seed of ``numpy.random.default_rng`` (the same seed gives the same numbers).
    method : ``"stratified paired bootstrap"``.
    """

    auc: tuple[float, ...]
    se: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    n_pos: int
    n_neg: int
    n_boot: int
    seed: int
    method: str = "stratified paired bootstrap"

    def diff(self, i: int = 0, j: int = 1) -> tuple[float, float]:
        """``(auc[i] − auc[j], SE of the difference)`` from the paired replicates."""
        var = self.cov[i][i] + self.cov[j][j] - 2 * self.cov[i][j]
        return self.auc[i] - self.auc[j], float(np.sqrt(max(var, 0.0)))


def _counts(rng: np.random.Generator, b: int, n: int) -> np.ndarray:
    """Resample counts of ``n`` items for ``b`` replicates (multinomial(n, 1/n) rows)."""
    idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=b * n).reshape(b, n)


def auc_bootstrap(
    y: ArrayLike,
    *scores: ArrayLike,
    n_boot: int = 2000,
    seed: int = 0,
    chunk: int = 64,
) -> AucBootstrap:
    """Stratified paired bootstrap of the AUC of each score vector in ``scores``.

    Parameters
    ----------
    y : 0/1 labels (both classes present).
    *scores : one or more score vectors aligned with ``y`` (same rows, e.g. the candidate
        and the Production model on the frozen test set).
    n_boot : number of bootstrap replicates (≥ 50).
    seed : seed of the random generator; results are reproducible for a given seed.
    chunk : replicates computed at once (memory ``chunk × n`` integers).
    """
    if not scores:
        raise ValueError("`scores`: give at least one score vector.")
    if n_boot < 50:
        raise ValueError(f"`n_boot` must be ≥ 50; got {n_boot!r}.")
    if chunk < 1:
        raise ValueError(f"`chunk` must be ≥ 1; got {chunk!r}.")
    yb = _binary_labels(y)
    ss = [_scores(s, yb.size, f"scores[{k}]") for k, s in enumerate(scores)]
    n1 = int(yb.sum())
    n0 = yb.size - n1
    if n1 < 2 or n0 < 2:
        raise ValueError(f"`y` needs ≥ 2 of each class; got {n1} positives, {n0} negatives.")
    prepared = []
    for s in ss:
        pos, neg = s[yb], s[~yb]
        u = np.unique(pos)  # distinct positive scores, ascending
        p = np.searchsorted(u, neg, side="left")
        tie = (p < u.size) & (u[np.minimum(p, u.size - 1)] == neg)
        # bucket of a negative: 2q (strictly between u[q-1] and u[q]) or 2q+1 (equal to u[q])
        bucket = 2 * p + tie
        q = np.searchsorted(u, pos)  # each positive's index in u
        prepared.append((bucket.astype(np.intp), q, 2 * u.size + 1))
    rng = np.random.default_rng(seed)
    reps = np.empty((n_boot, len(ss)))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        w_pos = _counts(rng, b, n1).astype(float)
        idx = rng.integers(0, n0, size=(b, n0))
        for k, (bucket, q, n_buckets) in enumerate(prepared):
            flat = bucket[idx] + (np.arange(b) * n_buckets)[:, None]
            totals = np.bincount(flat.ravel(), minlength=b * n_buckets).reshape(b, n_buckets)
            cum = np.zeros((b, n_buckets + 1))
            np.cumsum(totals, axis=1, out=cum[:, 1:])
            below = cum[:, 2 * q + 1]  # negatives in buckets 0..2q: strictly below u[q]
            tied = totals[:, 2 * q + 1]
            reps[done : done + b, k] = (w_pos * (below + 0.5 * tied)).sum(axis=1) / (n1 * n0)
        done += b
    cov = np.atleast_2d(np.cov(reps, rowvar=False, ddof=1))
    return AucBootstrap(
        auc=tuple(auc(yb, s) for s in ss),
        se=tuple(float(np.sqrt(cov[k, k])) for k in range(len(ss))),
        cov=tuple(tuple(float(v) for v in row) for row in cov),
        n_pos=n1,
        n_neg=n0,
        n_boot=n_boot,
        seed=seed,
    )
