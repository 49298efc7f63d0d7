"""Population stability index (PSI) from bin counts, with its sampling noise.

``PSI = Σ_i (a_i − e_i)·ln(a_i/e_i)`` with ``e_i`` the reference shares and ``a_i`` the current
shares (the Jeffreys divergence of the two binned distributions; always ≥ 0).

Conventions (STATISTICS.md §1):

* Shares are smoothed additively on both samples, ``share_i = (count_i + s)/(n + s·B)`` with
  ``s = 0.5`` by default, so an empty bin has a finite log. A fixed floor (1e-4) is *not*
  used: it makes the false-alarm rate explode on sparse bins.
* Empty bins in large samples: with pure additive smoothing an empty bin's share
  ``s/(n + s·B)`` shrinks as the sample grows, so a category that appears (or vanishes)
  gives a PSI that keeps growing with the window size (``+ share·ln 10`` per tenfold rows).
  An *empty* bin's share is therefore computed at a fixed resolution,
  ``s/(min(n, R) + s·B)`` with ``R = 10 000`` rows (``EMPTY_BIN_RESOLUTION``): identical to the
  additive rule for samples of up to R rows, and constant beyond. Non-empty bins are
  untouched. The noise-aware critical value stays right: under no drift, bins hold ≥ 5
  expected rows (sparse bins are merged), an empty bin is rare (≤ e⁻⁵), and when it happens
  the rule raises its share towards the reference, which can only lower the PSI — the
  false-alarm rate of ``c_α`` is unchanged or lower.
* Sampling noise (Yurdakul 2018; R ``PDtoolkit::psi``): under no drift
  ``PSI ≈ (1/N + 1/M)·χ²_{B−1}``. Critical value ``c_α = χ²_{B−1, 1−α}·(1/N + 1/M)``; p-value
  ``chi2.sf(PSI/(1/N + 1/M), B − 1)``. With a known reference (``N = ∞``) the factor is ``1/M``.
* Bins are reduced (adjacent value bins merged) until the smaller sample expects at least
  ``min_expected`` (5) rows in every bin, so the χ² approximation holds.
* Numeric bin edges are reference quantiles (order statistics) with duplicate edges dropped (ties such as a
  point mass at 0), outer bins open, right-closed bins ``(e_{i−1}, e_i]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

# scipy.special, not scipy.stats: the same functions chi2.sf/isf call (chdtrc/chdtri), without
# the ~1 s import of scipy.stats on the PSI path (issue 15)
from scipy import special

DEFAULT_SMOOTHING = 0.5
EMPTY_BIN_RESOLUTION = 10_000.0


def _counts(x: ArrayLike, name: str) -> NDArray[np.float64]:
    a = np.asarray(x, dtype=float)
    if a.ndim < 1 or a.shape[-1] < 1:
        raise ValueError(f"`{name}` must be a non-empty array of bin counts; got shape {a.shape}.")
    if np.any(np.isnan(a)) or np.any(a < 0):
        raise ValueError(f"`{name}` must hold non-negative counts; got {a.ravel()[:10]}.")
    return a


def smoothed_shares(
    counts: ArrayLike,
    smoothing: float = DEFAULT_SMOOTHING,
    *,
    resolution: float | None = EMPTY_BIN_RESOLUTION,
) -> NDArray[np.float64]:
    """``(count_i + s)/(n + s·B)`` along the last axis (additive, Jeffreys-style, smoothing);
    an empty bin gets ``s/(min(n, resolution) + s·B)`` (``resolution=None``: plain additive)."""
    c = _counts(counts, "counts")
    if not smoothing >= 0:
        raise ValueError(f"`smoothing` must be ≥ 0; got {smoothing!r}.")
    if resolution is not None and not resolution > 0:
        raise ValueError(f"`resolution` must be > 0 or None; got {resolution!r}.")
    b = c.shape[-1]
    n = c.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (c + smoothing) / (n + smoothing * b)
        if resolution is not None and smoothing > 0:
            empty = smoothing / (np.minimum(n, resolution) + smoothing * b)
            out = np.where(c == 0, np.broadcast_to(empty, out.shape), out)
        return np.asarray(out)


def psi_contributions(
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    smoothing: float = DEFAULT_SMOOTHING,
    resolution: float | None = EMPTY_BIN_RESOLUTION,
) -> NDArray[np.float64]:
    """Per-bin terms ``(a_i − e_i)·ln(a_i/e_i)`` (each ≥ 0); they sum to the PSI.

    Both arguments are bin counts (last axis = bins; leading axes broadcast, so a batch of
    simulated tables is one call).
    """
    r = _counts(reference_counts, "reference_counts")
    c = _counts(current_counts, "current_counts")
    if r.shape[-1] != c.shape[-1]:
        raise ValueError(
            f"`reference_counts` and `current_counts` must have the same number of bins; "
            f"got {r.shape[-1]} and {c.shape[-1]}."
        )
    e = smoothed_shares(r, smoothing, resolution=resolution)
    a = smoothed_shares(c, smoothing, resolution=resolution)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((a - e) * np.log(a / e))


def psi_from_counts(
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    smoothing: float = DEFAULT_SMOOTHING,
    resolution: float | None = EMPTY_BIN_RESOLUTION,
) -> NDArray[np.float64] | float:
    """PSI of two binned samples (smoothed shares; see module docstring)."""
    out = psi_contributions(
        reference_counts, current_counts, smoothing=smoothing, resolution=resolution
    ).sum(axis=-1)
    return float(out) if np.ndim(out) == 0 else np.asarray(out)


def noise_scale(n_reference: ArrayLike, n_current: ArrayLike) -> NDArray[np.float64]:
    """``1/N + 1/M`` (``N = inf`` for a known reference gives ``1/M``)."""
    n = np.asarray(n_reference, dtype=float)
    m = np.asarray(n_current, dtype=float)
    if np.any(n <= 0) or np.any(m <= 0):
        raise ValueError(
            f"`n_reference` and `n_current` must be > 0 (use inf for a known reference); "
            f"got {n!r} and {m!r}."
        )
    return np.asarray(1.0 / n + 1.0 / m)


def critical_value(
    n_reference: ArrayLike, n_current: ArrayLike, bins: ArrayLike, *, alpha: float = 0.05
) -> NDArray[np.float64] | float:
    """``c_α(N, M, B) = χ²_{B−1, 1−α}·(1/N + 1/M)``; ``n_reference=inf`` for a known reference.

    Vectorized over ``n_reference``, ``n_current`` and ``bins``. ``bins < 2`` gives NaN (no
    degrees of freedom: nothing can be tested).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1); got {alpha!r}.")
    b = np.asarray(bins, dtype=float)
    with np.errstate(invalid="ignore"):
        # = scipy.stats.chi2.isf(alpha, b − 1) (chi2's _isf is chdtri; tests/test_psi.py)
        q = np.where(b >= 2, special.chdtri(np.maximum(b - 1, 1), alpha), np.nan)
    out = q * noise_scale(n_reference, n_current)
    return float(out) if np.ndim(out) == 0 else np.asarray(out)


def psi_p_value(
    psi: ArrayLike, n_reference: ArrayLike, n_current: ArrayLike, bins: ArrayLike
) -> NDArray[np.float64] | float:
    """``chi2.sf(PSI/(1/N + 1/M), B − 1)``: chance of a PSI this large under no drift."""
    v = np.asarray(psi, dtype=float)
    b = np.asarray(bins, dtype=float)
    with np.errstate(invalid="ignore"):
        stat = v / noise_scale(n_reference, n_current)
        # = scipy.stats.chi2.sf(stat, b − 1): chi2's _sf is chdtrc; below the support
        # (stat < 0) chi2.sf is 1, chdtrc NaN, hence the clip at 0
        sf = special.chdtrc(np.maximum(b - 1, 1), np.maximum(stat, 0.0))
        out = np.where(b >= 2, sf, np.nan)
    return float(out) if np.ndim(out) == 0 else np.asarray(out)


def order_statistic_index(n_valid: int, bins: int) -> list[int]:
    """0-based ranks ``⌊k(n−1)/B⌋``, ``k = 1 … B−1``, of the reference quantile edges (exact
    integer arithmetic, so numpy and every dataframe engine pick the same order statistic)."""
    return [(k * (n_valid - 1)) // bins for k in range(1, bins)]


def quantile_edges(values: ArrayLike, bins: int = 10) -> NDArray[np.float64]:
    """Interior bin edges: the reference quantiles ``k/B``, ``k = 1 … B−1``.

    The quantile ``k/B`` is the order statistic ``x_(⌊k(n−1)/B⌋)`` (0-based; numpy's
    ``method="lower"`` computed in exact integer arithmetic), so every edge is a reference
    value, no reference bin is empty, and every dataframe engine gives the same edges.
    Missing values (NaN) are ignored. Duplicate edges (ties, e.g. a point mass at 0) are
    dropped, and so are edges at or above the reference maximum (they would leave the top
    bin empty in the reference). Bins are right-closed ``(e_{i−1}, e_i]`` with open outer
    bins, so a point mass sits alone in the bin closed at its value. A constant or empty
    sample has no interior edge.
    """
    x = np.asarray(values, dtype=float)
    x = np.sort(x[~np.isnan(x)])
    if x.size == 0:
        return np.array([], dtype=float)
    return edges_from_quantiles(x[order_statistic_index(x.size, bins)], maximum=float(x[-1]))


def edges_from_quantiles(quantiles: ArrayLike, *, maximum: float) -> NDArray[np.float64]:
    """Collapse reference quantiles to strictly increasing edges below ``maximum``."""
    q = np.asarray(quantiles, dtype=float)
    q = q[~np.isnan(q)]
    edges = np.unique(q)
    if not math.isnan(maximum):
        edges = edges[edges < maximum]
    return np.asarray(edges, dtype=float)


def bin_index(values: ArrayLike, edges: ArrayLike) -> NDArray[np.int64]:
    """Bin of each value for right-closed bins; NaN → ``len(edges) + 1`` (the missing bin)."""
    x = np.asarray(values, dtype=float)
    e = np.asarray(edges, dtype=float)
    idx = np.searchsorted(e, x, side="left").astype(np.int64)
    idx[np.isnan(x)] = e.size + 1
    return idx


@dataclass(frozen=True, slots=True)
class MergedBins:
    """Result of :func:`merge_sparse_bins`.

    Attributes
    ----------
    groups : for each kept bin, the indices of the original bins merged into it.
    reference_counts, current_counts : counts of the kept bins.
    """

    groups: tuple[tuple[int, ...], ...]
    reference_counts: NDArray[np.float64]
    current_counts: NDArray[np.float64]

    @property
    def bins(self) -> int:
        return len(self.groups)


def merge_sparse_bins(
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    min_count: float,
    n_small: float,
    ordered: bool = True,
    sentinel: ArrayLike | None = None,
) -> MergedBins:
    """Merge bins until each expects at least ``min_count`` rows in a sample of ``n_small``.

    The expected count of bin ``i`` in the smaller sample is ``n_small · e_i`` with ``e_i`` the
    reference share among the non-sentinel bins. ``ordered`` (numeric) bins merge with their
    neighbours left to right (a short tail joins the last group); unordered (categorical)
    bins merge the rarest ones together into one group. *Sentinel* bins (``__missing__``,
    ``__other__``) are never merged; they are kept when either sample has a row in them and
    dropped otherwise. Value bins empty in both samples are dropped as well (they carry no
    degree of freedom).
    """
    r = _counts(reference_counts, "reference_counts")
    c = _counts(current_counts, "current_counts")
    if r.shape != c.shape or r.ndim != 1:
        raise ValueError(f"bin counts must be 1-d and equal length; got {r.shape} and {c.shape}.")
    sent = np.zeros(r.size, dtype=bool) if sentinel is None else np.asarray(sentinel, dtype=bool)
    value_idx = [i for i in range(r.size) if not sent[i] and (r[i] > 0 or c[i] > 0)]
    total = r[value_idx].sum() if value_idx else 0.0
    need = min_count / n_small if n_small > 0 else math.inf
    groups: list[list[int]] = []
    if value_idx and total > 0:
        share = {i: r[i] / total for i in value_idx}
        if ordered:
            acc: list[int] = []
            mass = 0.0
            for i in value_idx:
                acc.append(i)
                mass += share[i]
                if mass >= need:
                    groups.append(acc)
                    acc, mass = [], 0.0
            if acc:
                if groups:
                    groups[-1].extend(acc)
                else:
                    groups.append(acc)
        else:
            big = [i for i in value_idx if share[i] >= need]
            small = sorted((i for i in value_idx if share[i] < need), key=lambda i: share[i])
            groups = [[i] for i in big]
            if small:
                mass = sum(share[i] for i in small)
                if mass >= need or not groups:
                    groups.append(small)
                else:  # the pooled rare bins are still too sparse: join the smallest big bin
                    smallest = min(range(len(groups)), key=lambda g: share[groups[g][0]])
                    groups[smallest] = groups[smallest] + small
    elif value_idx:  # reference has no value rows at all: one pooled value bin
        groups.append(value_idx)
    for i in range(r.size):
        if sent[i] and (r[i] > 0 or c[i] > 0):
            groups.append([i])
    groups_t = tuple(tuple(sorted(g)) for g in groups)
    return MergedBins(
        groups=groups_t,
        reference_counts=np.array([r[list(g)].sum() for g in groups_t], dtype=float),
        current_counts=np.array([c[list(g)].sum() for g in groups_t], dtype=float),
    )
