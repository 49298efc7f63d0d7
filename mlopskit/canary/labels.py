"""Label windows of the canary: per-arm label maturity and the differential-maturity rule.

A label metric (``label``/``loss`` in its numerator) counts a unit once its label window
``W`` has elapsed (``ts + W ≤ as_of``) and only labels that arrived within it
(STATISTICS.md §7.5). If the arms' labels arrive at different speeds — missed frauds are
reported later than caught ones, and a worse model misses more — the ``W``-window effect
is not the eventual effect. With ``F_arm(W)`` the share of an arm's eventual label mass
known at age ``W`` (chain ladder on the arm's cohort × delay triangle, Mack SEs;
:mod:`mlopskit.stats.maturity`), the window mean of the label-dependent part is
``P_arm(W) = F_arm(W)·L_arm``, and the window effect carries the bias

``b = s·P_t(W)·(1 − F_c(W)/F_t(W))``  (absolute scale; ``s = −1`` when the label enters
negated, e.g. ``flagged & ~label``),

the difference between the canary's window mean and the one it would show if its labels
matured like the control's. For relative metrics the bias is ``ln(m_t/(m_t − b))``. The
rule (``policy.canary.label_bias_tolerance`` τ): the window is **biased** when
``|b| > τ·|Δ|`` on the analysis scale and ``|ln F̂_t/F̂_c|`` exceeds ``z_{1−α}`` times its
standard error; a biased label metric is not decided on that window (CONTINUE, with the
window and date that would be unbiased), in either direction: a bias towards the canary
would PROMOTE a worse model, one against it ROLLBACK a good one. Justified by simulation
in tests/test_canary_label_windows.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlopskit.stats import dist as _dist
from mlopskit.stats.maturity import chain_ladder

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True, slots=True)
class LabelArrivals:
    """When the label-dependent part of one metric arrived, per arm (sufficient statistics).

    Attributes
    ----------
    day_starts : (D,) midnight of each exposure day (cohort).
    as_of : the time the arrivals were collected (labels after it are unknown).
    base : ``{arm: (D,)}`` per cohort, the metric's denominator mass: units (proportion,
        mean) or ``Σ denominator`` (ratio).
    delay_sums : ``{arm: (D, K)}`` per cohort and whole-day label delay ``j`` (``label_ts −
        ts`` in ``[j, j+1)`` days, arrived by ``as_of``, ``j < K`` = the label horizon) the sum
        of the label-dependent part of the numerator (labels un-negated: ``flagged·label``
        for ``flagged & ~label``).
    sign : +1 when the metric grows with arriving labels, −1 when it shrinks (negated label).
    all_labels : ``{arm: ArmStats}`` every exposed unit, every label arrived by ``as_of``
        (the sensitivity row); may be empty.
    """

    day_starts: np.ndarray
    as_of: pd.Timestamp
    base: Mapping[str, np.ndarray]
    delay_sums: Mapping[str, np.ndarray]
    sign: float = 1.0
    all_labels: Mapping[str, Any] | None = None
    starts_ns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def __post_init__(self) -> None:
        ns = np.asarray(pd.DatetimeIndex(self.day_starts).as_unit("ns").asi8, dtype=np.int64)
        object.__setattr__(self, "starts_ns", ns)


@dataclass(frozen=True, slots=True)
class ArmMaturity:
    """``F̂(W)`` of one arm at one look: share of the eventual label mass known at age W
    (relative to ``oldest_age`` when the data do not reach the horizon), Mack SE."""

    maturity: float
    se: float
    oldest_age: int
    window_mean: float  # P_arm(W): label-dependent part per unit of base, matured cohorts


def _ages(arr: LabelArrivals, t: pd.Timestamp) -> np.ndarray:
    """Complete ages (days) at ``t`` of each cohort: every unit's labels with a delay below
    this many days have had the time to arrive."""
    return np.floor((pd.Timestamp(t).as_unit("ns").value - arr.starts_ns) / 86_400e9) - 1.0


def _curve(
    arr: LabelArrivals, arm: str, t: pd.Timestamp, horizon: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray] | None:
    """Chain ladder on the arm's triangle as known at ``t``: ``(ages, F̂, SE, K, cohort
    ages)`` with ``ages = 0..K`` (F̂(0) = 0), or None when fewer than 2 ages are observed.
    No look-ahead: a cell whose labels could arrive after ``t`` is unobserved."""
    age = _ages(arr, t)
    delays = np.asarray(arr.delay_sums[arm], dtype=float)
    k_max = int(min(horizon, delays.shape[1], np.max(age, initial=0.0)))
    rows = age >= 1
    if k_max < 2 or not rows.any():
        return None
    cum = np.cumsum(delays[rows, :k_max], axis=1)
    ages = np.arange(1, k_max + 1)
    tri = np.where(ages[None, :] <= age[rows, None], cum, np.nan)
    if not np.nansum(tri) > 0:
        return None
    try:
        fit = chain_ladder(tri)
    except ValueError:
        return None
    x = np.r_[0.0, ages.astype(float)]
    return x, np.r_[0.0, fit.maturity], np.r_[0.0, fit.maturity_se], k_max, age


def arm_maturity(
    arr: LabelArrivals, arm: str, t: pd.Timestamp, window: float, horizon: int
) -> ArmMaturity:
    """``F̂_arm(window)`` at look ``t`` and the arm's window mean of the label part."""
    cv = _curve(arr, arm, t, horizon)
    if cv is None:
        return ArmMaturity(float("nan"), float("nan"), 0, float("nan"))
    x, f, se, k_max, age = cv
    fw = float(np.interp(window, x, f, right=1.0))
    sw = float(np.interp(window, x, se, right=0.0))
    w = int(np.ceil(window - 1e-9))
    done = age >= w
    delays = np.asarray(arr.delay_sums[arm], dtype=float)
    mass = float(np.asarray(arr.base[arm], dtype=float)[done].sum())
    part = float(delays[done, : min(w, delays.shape[1])].sum())
    return ArmMaturity(fw, sw, k_max, part / mass if mass > 0 else float("nan"))


@dataclass(frozen=True, slots=True)
class LabelWindow:
    """The label window of one metric at the analysis time (``CanaryResult.label_windows``).

    Attributes
    ----------
    metric : name.  window_days : W.  horizon_days : the labels' horizon.
    maturity_control, maturity_canary : ``F̂_arm(W)`` (chain ladder per arm; Mack SEs
        ``maturity_se_*``), relative to ``oldest_age`` days when the data are younger than
        the horizon.  maturity_ratio : ``F̂_t/F̂_c``.
    bias : the window effect's bias from differential maturity, on the effect's scale
        (``b`` of the module docstring; for relative metrics on ``ratio − 1``);
        ``bias_share``: ``|b|/|Δ|`` on the analysis scale.  biased : the rule fired.
    matured_control, matured_canary : units counted (window elapsed) / exposed units.
    all_labels_effect, all_labels_low, all_labels_high : sensitivity row — the effect on
        every exposed unit with every label arrived by ``as_of`` (fixed ``1 − 2α`` CI, same
        method as the metric); not a decision (immature units pull it towards 0 labels). For
        a capped metric the effect on the capped values, like the decision (and ``F̂``).
    all_labels_uncapped_effect, all_labels_uncapped_low, all_labels_uncapped_high : a
        capped metric's uncapped difference on all labels, with its CI (``nan`` without a
        cap) — another quantity than ``all_labels_effect``, shown labelled as uncapped.
    window_closes : when the last exposed unit's window elapses (``last exposure + W``).
    unbiased_window : a window at which both arms have ``F̂ ≥ 0.95`` (``nan`` if none is
        observed), with ``unbiased_date`` = last exposure + it.
    """

    metric: str
    window_days: float
    horizon_days: int
    maturity_control: float
    maturity_canary: float
    maturity_se_control: float
    maturity_se_canary: float
    oldest_age: int
    maturity_ratio: float
    bias: float
    bias_share: float
    biased: bool
    matured_control: float
    matured_canary: float
    all_labels_effect: float
    all_labels_low: float
    all_labels_high: float
    window_closes: pd.Timestamp | None
    unbiased_window: float
    unbiased_date: pd.Timestamp | None
    all_labels_uncapped_effect: float = float("nan")
    all_labels_uncapped_low: float = float("nan")
    all_labels_uncapped_high: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.__dataclass_fields__:
            v = getattr(self, f)
            out[f] = v.isoformat() if isinstance(v, pd.Timestamp) else v
        return out


def window_bias(
    sign_metric: float,
    relative: bool,
    margin_a: float,
    mean_canary: float,
    mc: ArmMaturity,
    mt: ArmMaturity,
    sign_label: float,
    alpha1: float,
    tolerance: float,
) -> tuple[float, float, bool]:
    """``(bias on the effect scale, |bias|/|Δ| on the analysis scale, biased)``."""
    fc, ft = mc.maturity, mt.maturity
    if not (fc > 0 and ft > 0 and np.isfinite(mt.window_mean)):
        return float("nan"), float("nan"), False
    r = ft / fc
    b_abs = sign_label * mt.window_mean * (1.0 - 1.0 / r)
    if relative:
        eq = mean_canary - b_abs
        b_a = float(np.log(mean_canary / eq)) if mean_canary > 0 and eq > 0 else float("nan")
        b_eff = float(np.expm1(b_a))
    else:
        b_a = b_eff = float(b_abs)
    share = abs(b_a) / abs(margin_a) if margin_a else float("nan")
    se_log = float(np.hypot(mt.se / ft, mc.se / fc))
    z = float(_dist.norm_isf(alpha1))
    significant = bool(abs(np.log(r)) > z * se_log) if np.isfinite(se_log) else False
    return b_eff, float(share), bool(share > tolerance and significant)


def unbiased_window(
    arr: LabelArrivals, t: pd.Timestamp, horizon: int, level: float = 0.95
) -> float:
    """Smallest whole-day window with ``F̂ ≥ level`` in both arms (``nan`` if not observed)."""
    first = []
    for arm in ("control", "canary"):
        cv = _curve(arr, arm, t, horizon)
        if cv is None:
            return float("nan")
        x, f = cv[0], cv[1]
        hit = np.flatnonzero(f >= level)
        if not hit.size:
            return float("nan")
        first.append(float(x[hit[0]]))
    return max(first)
