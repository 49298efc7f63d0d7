"""Independent DeLong reference used by the AUC and gate tests (not a test module)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def delong_cov(y: np.ndarray, *scores: np.ndarray) -> np.ndarray:
    """Reference: DeLong, DeLong & Clarke-Pearson (1988) covariance of correlated AUCs,
    computed with the midrank algorithm of Sun & Xu (2014), IEEE SPL 21(11) 1389–1393:
    V10 = (rank in all − rank among positives)/n0, V01 = 1 − (rank in all − rank among
    negatives)/n1, S = cov(V10)/n1 + cov(V01)/n0."""
    y = y.astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    v10, v01 = [], []
    for s in scores:
        x, z = s[y], s[~y]
        tz = rankdata(np.concatenate([x, z]))
        v10.append((tz[:m] - rankdata(x)) / n)
        v01.append(1.0 - (tz[m:] - rankdata(z)) / m)
    return np.atleast_2d(np.cov(np.array(v10))) / m + np.atleast_2d(np.cov(np.array(v01))) / n
