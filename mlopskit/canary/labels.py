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

**Late labels (heavy tails).** The ratio ``F̂_t/F̂_c`` is a value-weighted chain ladder:
when a few huge values arrive late in one arm its Mack SE is enormous and the rule above
has no power (canary ``F̂(7)`` 0.0007 vs control 0.71, "not significant") — and a window
that misses all of them PROMOTEd a canary whose all-labels difference was 200× the
margin. The late-labels guard (:func:`late_excess`, :func:`late_guard`) tests the same
question on unit-level sums: on the cohorts whose horizon has elapsed, the canary's label
mass arriving after ``W`` beyond what the control's late-to-window ratio predicts, with
its delta-method SE. A window decision is refused (CONTINUE) when that excess works
against the decision beyond ``τ·|Δ|`` at one-sided α; under equal arms it fires with
probability ≤ α per look, whatever the tail (simulated in
tests/test_canary_late_labels.py).
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
    delay_squares, delay_cross : ``{arm: (D, K)}`` like ``delay_sums``, of the part squared
        and of the part times the unit's denominator (ratios; the part itself otherwise);
        base_squares : ``{arm: (D,)}`` ``Σ denominator²`` (ratios; units otherwise). They
        give the late-labels guard its unit-level variance; ``None`` (hand-built arrivals
        without them): the guard is not computed (``nan``, not guarded).
    """

    day_starts: np.ndarray
    as_of: pd.Timestamp
    base: Mapping[str, np.ndarray]
    delay_sums: Mapping[str, np.ndarray]
    sign: float = 1.0
    all_labels: Mapping[str, Any] | None = None
    delay_squares: Mapping[str, np.ndarray] | None = None
    delay_cross: Mapping[str, np.ndarray] | None = None
    base_squares: Mapping[str, np.ndarray] | None = None
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
    late_excess, late_excess_low, late_excess_high : the late-labels guard's statistic
        (:func:`late_excess`) on the effect's scale with its fixed ``1 − 2α`` CI: the
        canary's label mass after W beyond what the control's maturing predicts (``nan``
        before the first cohort is ``horizon`` days old, or W = horizon); late_excess_share
        ``|excess|/|Δ|`` on the analysis scale; late_guarded : the guard refused the
        window's decision at this look.
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
    late_excess: float = float("nan")
    late_excess_low: float = float("nan")
    late_excess_high: float = float("nan")
    late_excess_share: float = float("nan")
    late_guarded: bool = False

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


@dataclass(frozen=True, slots=True)
class LateExcess:
    """The late-labels guard's statistic at one look (module docstring, "late labels").

    ``excess``: the canary's label-dependent mass arriving after ``W`` (and within the
    horizon) beyond what it would be if the canary's labels matured like the control's,
    on the analysis scale (log for relative metrics), signed like the effect; ``se`` its
    standard error (delta method on unit-level sums); ``effect``/``low``/``high`` the same
    on the effect's scale with a fixed ``1 − 2α`` interval; ``units`` the units (per arm)
    of the cohorts (all exposed cohorts; each delay column uses those old enough)."""

    excess: float
    se: float
    effect: float
    low: float
    high: float
    units_control: float
    units_canary: float


LATE_LEVEL = 0.2  # the guard tests at α/5 (see late_guard)
_NO_LATE = LateExcess(*(float("nan"),) * 5, 0.0, 0.0)


def late_excess(
    arr: LabelArrivals,
    t: pd.Timestamp,
    window: float,
    horizon: int,
    relative: bool,
    mean_canary: float,
    alpha1: float,
) -> LateExcess:
    """Late-labels excess of the canary at look ``t`` (``_NO_LATE`` until the oldest
    cohort has reached the horizon: every delay column must be observed).

    Per arm, per unit of base (units, or ``Σ x`` for ratios): ``P`` the label part arrived
    within ``W`` (whole-day delays ``< ⌈W⌉``), ``L`` the part arrived after it (``⌈W⌉ ≤
    delay < H``), each the sum over delay columns ``j`` of the column's mean ``μ_j =
    Σ part_j/Σ base`` over the cohorts old enough to observe column ``j`` (the additive,
    per-delay estimate: every observed cell is used, no chain-ladder ratio);
    ``r = L_c/P_c`` the control's late-to-window ratio. The excess
    ``D = L_t − r·P_t`` is 0 when the arms mature alike (whatever the tail), and is the
    canary's eventual extra on top of its window mean otherwise. Variance (delta method,
    unit-level; a unit's label falls in one delay cell): the sum of squared influences
    ``φ_i = Σ_j c_j(l_ij − μ_j·x_i)/B_j`` over the columns the unit's cohort observes, with
    ``c_j = 1`` (late) / ``−r`` (window) in the canary and ``P_t/P_c``·(1 / ``−r``) in the
    control (the ratio ``r̂``), computed from the cells' ``Σ part``, ``Σ part²``,
    ``Σ part·x`` and the cohorts' ``Σ x²``. With every cohort past the horizon it is
    ``Σ_t(l − r·w − D·x)²/X_t² + P_t²·Σ_c(l − r·w)²/S_{w,c}²``. Unlike the chain
    ladder's ratio ``F̂_t/F̂_c`` (Mack SE over a few cohorts' totals, no power when a few
    huge values arrive late), this is a unit-level mean difference: 30 late losses of
    50,000–200,000 among 4,000 canary units give z ≈ 5. The analysis scale: absolute
    ``s·D`` (``s`` the label's sign); relative ``ln(1 + s·D/E)``, ``E = m_t + s·r·P_t``
    the canary's eventual mean had it matured like the control."""
    if arr.delay_squares is None or arr.delay_cross is None or arr.base_squares is None:
        return _NO_LATE
    age = _ages(arr, t)
    w = int(np.ceil(window - 1e-9))
    k_max = min(horizon, np.asarray(arr.delay_sums["control"]).shape[1])
    if w >= k_max or not np.max(age, initial=0.0) >= k_max:
        return _NO_LATE
    # column j (delay [j, j+1) days) is complete for the cohorts at least j + 1 days old
    obs = age[:, None] >= np.arange(1, k_max + 1)[None, :]  # (D, K)
    late = np.arange(k_max) >= w
    cols: dict[str, tuple[np.ndarray, ...]] = {}
    for arm in ("control", "canary"):
        ks, qs, cs = (
            np.where(obs, np.asarray(v[arm], dtype=float)[:, :k_max], 0.0)
            for v in (arr.delay_sums, arr.delay_squares, arr.delay_cross)
        )
        x = np.asarray(arr.base[arm], dtype=float)
        b = (obs * x[:, None]).sum(axis=0)  # B_j: base of the cohorts observing column j
        cols[arm] = (ks, qs, cs, x, np.asarray(arr.base_squares[arm], dtype=float), b)
    if not all((cols[a][5] > 0).all() for a in cols):
        return _NO_LATE

    def means(arm: str) -> tuple[float, float, np.ndarray]:
        ks, b = cols[arm][0], cols[arm][5]
        mu = ks.sum(axis=0) / b  # per column, per unit of base
        return float(mu[~late].sum()), float(mu[late].sum()), mu

    def var(arm: str, c_late: float, c_win: float) -> float:
        """Σ_i φ_i² for the linear combination Σ_j c_j·μ_j (c_j = c_late or c_win),
        from the cells' sums: φ_i = g_{c,j_i}·l_i − x_i·h_c, ``g_cj = c_j/B_j`` on the
        columns cohort ``c`` observes, ``h_c = Σ_j g_cj·μ_j``."""
        ks, qs, cs, _, x2, b = cols[arm]
        mu = ks.sum(axis=0) / b
        g = np.where(obs, np.where(late, c_late, c_win)[None, :] / b[None, :], 0.0)
        h = (g * mu[None, :]).sum(axis=1)
        return float(((g * g * qs).sum(axis=1) - 2 * h * (g * cs).sum(axis=1) + h * h * x2).sum())

    pc, lc, _ = means("control")
    pt, lt, _ = means("canary")
    xc, xt = float(cols["control"][3].sum()), float(cols["canary"][3].sum())
    if not pc > 0:
        return LateExcess(*(float("nan"),) * 5, xc, xt)
    r = lc / pc
    d = lt - r * pt
    # the canary's term with the per-unit variance pooled over both arms (a score-type
    # test: under equal arms both estimate it, and the control's 1/κ more units keep a
    # few huge canary values from inflating the SE that judges them; with the canary's
    # own variance a Pareto(1.5) late tail 30× the margin was "not significant" in 18% of
    # runs at z_{0.025}, pooled in 0.5% at z_{0.005})
    s_t = var("canary", 1.0, -r) * xt
    s_c = var("control", 1.0, -r) * xc
    var_t = (xc * s_c + xt * s_t) / (xc + xt) / xt
    var_r = var("control", pt / pc, -pt * r / pc)  # P_t²·Var(r̂), delta method
    se = float(np.sqrt(max(var_t, 0.0) + max(var_r, 0.0)))
    s = arr.sign
    z = float(_dist.norm_isf(alpha1))
    if relative:
        e = mean_canary + s * r * pt
        if not (e > 0 and e + s * d > 0):
            return LateExcess(*(float("nan"),) * 5, xc, xt)
        ex, se_a = float(np.log1p(s * d / e)), se / e
    else:
        ex, se_a = float(s * d), se
    b = [float(np.expm1(v)) if relative else v for v in (ex, ex - z * se_a, ex + z * se_a)]
    return LateExcess(ex, se_a, b[0], b[1], b[2], xc, xt)


def late_guard(
    late: LateExcess, sign_metric: float, row: int, margin_a: float, alpha1: float, tol: float
) -> bool:
    """Whether the late labels refuse the window's decision ``row``: for a non-inferior
    row (2/3) a late excess against the canary beyond ``tol·|margin|`` shown at one-sided
    ``alpha1`` (``(h − τ|Δ|)/SE > z``, ``h`` harm-oriented); for a harm row (4/5) the same
    in the canary's favour. The test is one-sided at ``α·LATE_LEVEL`` (α/5): the pooled-
    variance z has a heavier right tail than normal when both arms carry a heavy late tail
    (Pareto(1.5) in both arms: 5.5% above z_{0.025}, 1.5% above z_{0.005}), so the stricter
    level keeps equal arms' false refusals ≤ α (tests/test_canary_late_labels.py). A
    refusal is a CONTINUE (and, once every cohort is past the horizon, a lasting one)
    It detects a late excess; it does not show the late part small (no non-inferiority
    test of it): a canary worse by exactly the margin only through ~7 late Pareto(1.5)
    values per run is still PROMOTEd in 28% of runs (50% without the guard). Requiring
    ``h + z·SE < |Δ|`` as well was measured: 16% there, but equal arms with heavy late
    tails then never decide on W (PROMOTE 0.99 → 0.00) — not adopted."""
    if row not in (2, 3, 4, 5) or not (np.isfinite(late.excess) and late.se > 0):
        return False
    h = sign_metric * late.excess * (1.0 if row in (2, 3) else -1.0)
    z = float(_dist.norm_isf(alpha1 * LATE_LEVEL))
    return bool((h - tol * abs(margin_a)) / late.se > z)
