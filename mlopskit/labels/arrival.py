"""Arrival bias: do high-score positives get labelled faster?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlopskit.labels.prepare import _Prepared
from mlopskit.stats.multiple import holm
from mlopskit.stats.proportions import ztest_proportions_pooled


# ======================================================================================
# Label maturity
# ======================================================================================
@dataclass(frozen=True, slots=True)
class ArrivalBias:
    """Do positives of high and low scores get labelled at the same speed?

    Compared on mature cohorts (observed to ``reference_age``, where F̂ ≥ the policy's
    reference maturity): for each score quantile group of the labelled positives, the
    share of the labels known by each age among those known by ``reference_age``.

    Attributes
    ----------
    evaluated : False when there were no mature cohorts or too few positives.
    edges : score quantile edges of the labelled positives (group g: edges[g−1] ≤ s < edges[g]).
    reference_age : age (days) the shares are relative to.
    ages : 1..reference_age.
    shares : (groups, ages) known share by age per group.
    n_positives : positives per group in the mature cohorts.
    test_ages, diff, p_value, p_adjusted : top − bottom group difference at each test age,
        pooled two-proportion z test, Holm-adjusted across the test ages.
    biased : a difference both significant (adjusted p < alpha) and ≥ min_diff in size.
    """

    evaluated: bool
    edges: tuple[float, ...] = ()
    reference_age: int = 0
    ages: tuple[int, ...] = ()
    shares: tuple[tuple[float, ...], ...] = ()
    n_positives: tuple[int, ...] = ()
    test_ages: tuple[int, ...] = ()
    diff: tuple[float, ...] = ()
    p_value: tuple[float, ...] = ()
    p_adjusted: tuple[float, ...] = ()
    alpha: float = 0.01
    min_diff: float = 0.05
    biased: bool = False
    note: str = ""


def _arrival_text(a: ArrivalBias) -> str:
    if not a.evaluated:
        return f"Arrival bias not checked: {a.note}"
    parts = [
        f"age {age} d: top − bottom score group {d:+.1%} (Holm p = {p:.2g})"
        for age, d, p in zip(a.test_ages, a.diff, a.p_adjusted, strict=True)
    ]
    head = "Arrival bias DETECTED" if a.biased else "No arrival bias"
    return f"{head} on mature cohorts (ages up to {a.reference_age} d): " + "; ".join(parts)


def _arrival_bias(
    prep: _Prepared, counts: pd.DataFrame, edges: np.ndarray, mat: np.ndarray, latest: np.ndarray
) -> ArrivalBias:
    pol = prep.policy
    a_short, a_long = pol.arrival_age_short, pol.arrival_age_long
    reach = np.flatnonzero(mat >= pol.arrival_reference_maturity)
    ref = int(reach[0]) + 1 if reach.size else len(mat)
    ref = max(ref, a_long)
    mature = np.flatnonzero(latest >= ref)
    if mature.size == 0 or ref > len(mat):
        return ArrivalBias(
            evaluated=False,
            note=f"no cohort is observed to age {ref} days (where F̂ ≥ "
            f"{pol.arrival_reference_maturity}) yet.",
        )
    n_groups = len(edges) + 1
    sel = counts[(counts["delay_day"] >= 0) & counts["cohort"].isin(mature)]
    arr = np.zeros((n_groups, prep.horizon_days + 1))
    np.add.at(arr, (sel["group"].to_numpy(), sel["delay_day"].to_numpy()), sel["n"].to_numpy())
    cum = np.cumsum(arr[:, :ref], axis=1)  # column k-1: delay < k
    total = cum[:, ref - 1]
    if min(total[0], total[-1]) < 20:
        return ArrivalBias(
            evaluated=False,
            note=f"fewer than 20 labelled positives in the top or bottom score group of the "
            f"mature cohorts ({int(total[-1])} / {int(total[0])}).",
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = cum / total[:, None]
    diffs, pv = [], []
    for a in (a_short, a_long):
        x_top, x_bot = cum[-1, a - 1], cum[0, a - 1]
        _, p_arr = ztest_proportions_pooled(x_top, total[-1], x_bot, total[0])
        # pooled share 0 or 1 (no SE): both groups have the same share, no evidence of bias
        p = float(p_arr) if np.isfinite(p_arr) else 1.0
        diffs.append(float(x_top / total[-1] - x_bot / total[0]))
        pv.append(p)
    adj = holm(pv)
    biased = bool(np.any((adj < pol.arrival_alpha) & (np.abs(diffs) >= pol.arrival_min_diff)))
    return ArrivalBias(
        evaluated=True,
        edges=tuple(float(e) for e in edges),
        reference_age=ref,
        ages=tuple(range(1, ref + 1)),
        shares=tuple(tuple(float(v) for v in row) for row in shares),
        n_positives=tuple(int(t) for t in total),
        test_ages=(a_short, a_long),
        diff=tuple(diffs),
        p_value=tuple(float(p) for p in pv),
        p_adjusted=tuple(float(p) for p in adj),
        alpha=pol.arrival_alpha,
        min_diff=pol.arrival_min_diff,
        biased=biased,
    )
