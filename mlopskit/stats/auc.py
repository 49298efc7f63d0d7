"""AUC: precision of an AUC estimate (Hanley–McNeil) and, with the drift work, DeLong.

Hanley & McNeil (1982), "The meaning and use of the area under a ROC curve", Radiology
143:29–36, eq. (2): with ``Q1 = A/(2 − A)`` and ``Q2 = 2A²/(1 + A)``,
``Var(Â) = [A(1 − A) + (n₁ − 1)(Q1 − A²) + (n₀ − 1)(Q2 − A²)] / (n₁ n₀)`` where n₁ is the
number of positives ("abnormal", n_A in the paper) and n₀ of negatives ("normal", n_N).
DeLong's variance (single and paired) is the one used on observed data (outcome drift, the
model-quality CI gate); Hanley–McNeil is used for planning, where only the AUC and the
counts are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats


def _check_auc(auc: float) -> None:
    if not 0.5 <= auc < 1:
        raise ValueError(f"`auc` must be in [0.5, 1); got {auc!r}.")


def hanley_mcneil_se(auc: float, n_pos: float, n_neg: float) -> float:
    """Standard error of an AUC estimate by Hanley & McNeil (1982), eq. (2).

    ``n_neg`` may be ``math.inf`` (a known, effectively unlimited negative class).
    """
    _check_auc(auc)
    if n_pos < 1 or n_neg < 1:
        raise ValueError(f"`n_pos` and `n_neg` must be ≥ 1; got {n_pos!r}, {n_neg!r}.")
    q1 = auc / (2 - auc)
    q2 = 2 * auc**2 / (1 + auc)
    if math.isinf(n_neg):
        var = (q2 - auc**2) / n_pos  # the limit of eq. (2) as n_neg → ∞
    else:
        var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
            n_pos * n_neg
        )
    return math.sqrt(var)


def positives_for_auc_precision(
    *,
    auc: float,
    detectable_drop: float,
    alpha: float = 0.05,
    power: float = 0.8,
    prevalence: float | None = None,
) -> int:
    """Positives needed so an AUC drop of ``detectable_drop`` is detected (one-sided).

    Target ``SE(Â) ≤ drop / (z_{1−α} + z_{power})``; solves Hanley–McNeil for n₁ with
    ``n₀ = n₁(1 − π)/π`` when ``prevalence`` π is given, else ``n₀ → ∞``.
    STATISTICS.md §4: a 0.02 drop at AUC 0.9 with power 0.8 needs SE ≤ 0.0080, ≈ 660 positives.
    """
    _check_auc(auc)
    if not 0 < detectable_drop < auc:
        raise ValueError(f"`detectable_drop` must be in (0, auc); got {detectable_drop!r}.")
    if prevalence is not None and not 0 < prevalence < 1:
        raise ValueError(f"`prevalence` must be in (0, 1); got {prevalence!r}.")
    target = detectable_drop / (stats.norm.isf(alpha) + stats.norm.ppf(power))

    def se(n1: int) -> float:
        n0 = math.inf if prevalence is None else max(1.0, n1 * (1 - prevalence) / prevalence)
        return hanley_mcneil_se(auc, n1, n0)

    lo, hi = 1, 2
    while se(hi) > target:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if se(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


# --------------------------------------------------------------------------------------
# DeLong (drift work, issue 3)
# --------------------------------------------------------------------------------------
def _midrank(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Midranks (1-based; ties get the average of their ranks), as in Sun & Xu (2014)."""
    return np.asarray(stats.rankdata(x, method="average"), dtype=float)


def _split(scores: ArrayLike, labels: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels)
    if s.ndim not in (1, 2) or y.ndim != 1 or s.shape[-1] != y.size:
        raise ValueError(
            f"`scores` must be 1-d (or 2-d, one row per model) with one entry per label; "
            f"got shapes {s.shape} and {y.shape}."
        )
    if np.any(np.isnan(s)):
        raise ValueError("`scores` must not contain NaN.")
    yf = y.astype(float)
    if not np.all((yf == 0) | (yf == 1)):
        raise ValueError("`labels` must be 0/1.")
    pos = yf == 1
    if pos.all() or not pos.any():
        raise ValueError(
            f"AUC needs both classes; got {int(pos.sum())} positives and "
            f"{int((~pos).sum())} negatives."
        )
    return s, pos


def _structural_components(
    s: NDArray[np.float64], pos: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """DeLong placement values by midranks (Sun & Xu 2014, eqs. 9–11), one row per model.

    ``V10_i = (T_i − T^X_i)/n`` over the m positives and ``V01_j = 1 − (T_j − T^Y_j)/m`` over
    the n negatives, with ``T`` midranks in the pooled sample and ``T^X``, ``T^Y`` within
    positives and negatives. AUC = mean(V10) = mean(V01).
    """
    s2 = np.atleast_2d(s)
    m = int(pos.sum())
    n = int((~pos).sum())
    v10 = np.empty((s2.shape[0], m))
    v01 = np.empty((s2.shape[0], n))
    for k in range(s2.shape[0]):
        x, y = s2[k, pos], s2[k, ~pos]
        t = _midrank(s2[k])
        tx, ty = _midrank(x), _midrank(y)
        v10[k] = (t[pos] - tx) / n
        v01[k] = 1.0 - (t[~pos] - ty) / m
    auc = v10.mean(axis=1)
    return auc, v10, v01


@dataclass(frozen=True, slots=True)
class DeLongAUC:
    """AUC with DeLong's variance.

    Attributes
    ----------
    auc : Mann–Whitney AUC (ties count one half).
    se : DeLong standard error, ``sqrt(S10/m + S01/n)`` (sample variances, ddof = 1).
    n_pos, n_neg : positives (m) and negatives (n).
    """

    auc: float
    se: float
    n_pos: int
    n_neg: int

    def ci(self, alpha: float = 0.05) -> tuple[float, float]:
        """Two-sided Wald interval ``auc ± z_{1−α/2}·se``, clipped to [0, 1]."""
        z = float(stats.norm.isf(alpha / 2))
        return max(0.0, self.auc - z * self.se), min(1.0, self.auc + z * self.se)


def delong_auc(scores: ArrayLike, labels: ArrayLike) -> DeLongAUC:
    """AUC and its DeLong (1988) variance by the fast midrank algorithm (Sun & Xu 2014).

    ``O(N log N)``; ties are handled exactly (they count one half in the AUC and in the
    placement values), matching the brute-force ``O(mn)`` kernel computation.
    """
    s, pos = _split(scores, labels)
    if s.ndim != 1:
        raise ValueError(f"`scores` must be 1-d for one model; got shape {s.shape}.")
    auc, v10, v01 = _structural_components(s, pos)
    m, n = v10.shape[1], v01.shape[1]
    s10 = float(np.var(v10[0], ddof=1)) if m > 1 else 0.0
    s01 = float(np.var(v01[0], ddof=1)) if n > 1 else 0.0
    return DeLongAUC(float(auc[0]), math.sqrt(s10 / m + s01 / n), m, n)


@dataclass(frozen=True, slots=True)
class PairedDeLong:
    """Two correlated AUCs on the same rows (DeLong et al. 1988, paired test).

    Attributes
    ----------
    auc_a, auc_b : the two AUCs.
    difference : ``auc_a − auc_b``.
    se : standard error of the difference, ``sqrt(Var_a + Var_b − 2 Cov_ab)``.
    z : ``difference / se``.
    p_value : two-sided normal p-value.
    covariance : the 2×2 DeLong covariance matrix (row-major, as a tuple).
    n_pos, n_neg : class counts.
    """

    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float
    covariance: tuple[float, float, float, float]
    n_pos: int
    n_neg: int


def delong_paired(scores_a: ArrayLike, scores_b: ArrayLike, labels: ArrayLike) -> PairedDeLong:
    """Paired DeLong test of two models scoring the same rows (covariance by midranks)."""
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"`scores_a` and `scores_b` must be 1-d of equal length; got {a.shape} and {b.shape}."
        )
    s, pos = _split(np.vstack([a, b]), labels)
    auc, v10, v01 = _structural_components(s, pos)
    m, n = v10.shape[1], v01.shape[1]
    if m < 2 or n < 2:
        raise ValueError(f"paired DeLong needs ≥ 2 positives and negatives; got {m} and {n}.")
    cov = np.cov(v10) / m + np.cov(v01) / n
    diff = float(auc[0] - auc[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = math.sqrt(max(var, 0.0))
    if se > 0:
        z = diff / se
        p = float(2 * stats.norm.sf(abs(z)))
    else:
        z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p = 1.0 if diff == 0 else 0.0
    return PairedDeLong(
        auc_a=float(auc[0]),
        auc_b=float(auc[1]),
        difference=diff,
        se=se,
        z=z,
        p_value=p,
        covariance=(float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 0]), float(cov[1, 1])),
        n_pos=m,
        n_neg=n,
    )


def auc_drop_test(
    reference: DeLongAUC, current: DeLongAUC, *, tolerance: float = 0.02, alpha: float = 0.05
) -> tuple[str, float, float]:
    """ "AUC dropped by more than ``tolerance``" on independent samples (STATISTICS.md §5).

    ``D = AUC_ref − AUC_cur``, ``SE_D = sqrt(SE_ref² + SE_cur²)``. Returns
    ``(outcome, D, SE_D)`` with outcome ``"confirmed"`` iff ``D − z_{1−α}·SE_D > tolerance``,
    ``"cleared"`` iff ``D + z_{1−α}·SE_D < tolerance``, else ``"inconclusive"``.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be in (0, 1); got {alpha!r}.")
    d = reference.auc - current.auc
    se = math.hypot(reference.se, current.se)
    z = float(stats.norm.isf(alpha))
    if d - z * se > tolerance:
        outcome = "confirmed"
    elif d + z * se < tolerance:
        outcome = "cleared"
    else:
        outcome = "inconclusive"
    return outcome, d, se
