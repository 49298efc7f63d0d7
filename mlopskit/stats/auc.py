"""AUC: precision of an AUC estimate (Hanley–McNeil) and, with the drift work, DeLong.

Hanley & McNeil (1982), "The meaning and use of the area under a ROC curve", Radiology
143:29–36, eq. (2): with ``Q1 = A/(2 − A)`` and ``Q2 = 2A²/(1 + A)``,
``Var(Â) = [A(1 − A) + (n₁ − 1)(Q1 − A²) + (n₀ − 1)(Q2 − A²)] / (n₁ n₀)`` where n₁ is the
number of positives ("abnormal", n_A in the paper) and n₀ of negatives ("normal", n_N).
DeLong's variance (the drift work) is the one used on observed data; Hanley–McNeil is used
for planning, where only the AUC and the counts are known.
"""

from __future__ import annotations

import math

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
