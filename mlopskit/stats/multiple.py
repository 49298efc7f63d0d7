"""Multiplicity corrections: Benjamini–Hochberg (false discovery rate) and Holm (FWER).

Both return adjusted p-values in the input order; NaN p-values (tests that could not run)
stay NaN and do not count towards the number of hypotheses.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _prepare(p_values: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"`p_values` must be one-dimensional; got shape {p.shape}.")
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError(
            f"`p_values` must lie in [0, 1]; got {p[ok][(p[ok] < 0) | (p[ok] > 1)][:5]}."
        )
    return p, ok


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg step-up adjusted p-values (``statsmodels`` ``fdr_bh`` convention).

    ``q_(i) = min_{j ≥ i} min(1, m · p_(j) / j)`` over the ``m`` non-NaN p-values.
    """
    p, ok = _prepare(p_values)
    out = np.full(p.shape, np.nan)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="mergesort")
    ranked = q[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def holm(p_values: ArrayLike) -> NDArray[np.float64]:
    """Holm step-down adjusted p-values: ``max_{j ≤ i} min(1, (m − j + 1) · p_(j))``."""
    p, ok = _prepare(p_values)
    out = np.full(p.shape, np.nan)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="mergesort")
    ranked = q[order] * (m - np.arange(m))
    adj = np.maximum.accumulate(np.minimum(ranked, 1.0))
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out
