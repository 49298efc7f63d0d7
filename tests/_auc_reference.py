"""Independent DeLong reference used by the AUC and gate tests (not a test module)."""

from __future__ import annotations

import numpy as np


def brute_delong(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837–845, by the O(mn) kernel
    ψ(x, z) = 1, ½, 0 for x >, =, < z (no ranks: independent of the midrank algorithm).

    Returns ``(auc, v10, v01)``, one row per score vector: AUC = mean ψ, V10 = row means of
    ψ over the positives, V01 = column means over the negatives.
    """
    s = np.atleast_2d(scores)
    v10, v01, auc = [], [], []
    for row in s:
        x, z = row[y == 1], row[y == 0]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
        auc.append(psi.mean())
    return np.array(auc), np.array(v10), np.array(v01)


def delong_cov(y: np.ndarray, *scores: np.ndarray) -> np.ndarray:
    """DeLong covariance matrix of the AUCs of ``scores`` on the same rows:
    ``S = cov(V10)/m + cov(V01)/n`` (ddof = 1), from :func:`brute_delong`."""
    yy = np.asarray(y).astype(int)
    _, v10, v01 = brute_delong(np.vstack(scores), yy)
    m, n = v10.shape[1], v01.shape[1]
    return np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
