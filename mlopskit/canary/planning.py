"""Canary planning: sample size, power and minimum detectable effect (CanaryPlan)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlopskit import _display
from mlopskit.policy import CanaryPolicy, Policy
from mlopskit.stats import dist as _dist
from mlopskit.stats import power as _power
from mlopskit.stats import seqpower as _sp
from mlopskit.stats import sequential as _seq

if TYPE_CHECKING:
    from pathlib import Path
from mlopskit.canary.metrics import Metric, _fmt, _policy


# --------------------------------------------------------------------------------------
# Planning: before the canary starts
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CanaryPlan:
    """A non-inferiority design for one metric at canary share κ.

    Attributes
    ----------
    metric : name.  baseline : control rate/mean.  sd_control, sd_canary : per-unit SDs
        (``sqrt(p(1 − p))`` for proportions).  true_effect : assumed ``canary − control``
        (absolute).  margin : Δ (absolute; a relative margin times ``baseline``).
    canary_share : κ.  alpha : one-sided level.  power : power at ``n_total``.
    n_total, n_canary, n_control : units.  daily_units : total units per day (if given);
    days : ``n_total / daily_units``.  sequential : sized for the rule ``canary_test``
    applies by default — one-sided confidence sequences tuned for ``planned_days``, looked
    at daily (running intersection), PROMOTE not before ``min_days``; its power has no
    closed form and comes from :func:`mlopskit.stats.sequential.rule_power` (seeded Gaussian
    paths, MC SE ≤ 0.004). Without ``daily_units`` only the last look is counted (a lower
    bound).  relative : the test decides on ``ln(canary/control)`` and so does the plan
    (margin ``ln(1 + Δ/baseline)``, delta-method variance) — planning ``Δ·baseline`` on the
    absolute scale under-sizes it.  min_days : PROMOTE is not allowed before.
    binomial : a proportion planned from its ``baseline`` rate: with ``sequential`` and
        ``daily_units`` its power comes from binomial counts and the plug-in SEs
        ``canary_test`` uses (:func:`mlopskit.stats.seqpower.proportion_rule_power`,
        10,000 seeded paths, MC SE ≤ 0.005), not from Gaussian paths with a known variance:
        at 1–2% canaries of a 1% rate the decision rests on a few hundred canary events and
        the Gaussian plan missed its power by up to 2 points (relative margins).
    """

    metric: str
    baseline: float
    sd_control: float
    sd_canary: float
    true_effect: float
    margin: float
    canary_share: float
    alpha: float
    power: float
    n_total: float
    daily_units: float | None
    sequential: bool
    planned_days: float | None
    relative: bool = False
    min_days: float = 0.0
    binomial: bool = False

    @property
    def n_canary(self) -> float:
        return self.n_total * self.canary_share

    @property
    def n_control(self) -> float:
        return self.n_total * (1 - self.canary_share)

    @property
    def days(self) -> float:
        return self.n_total / self.daily_units if self.daily_units else float("nan")

    def analysis_scale(self, canary_share: float | None = None) -> tuple[float, float]:
        """``(gap, s²)`` on the scale the test decides on (log ratio when relative)."""
        k = self.canary_share if canary_share is None else canary_share
        b = self.baseline
        return _power.design_on_analysis_scale(
            baseline=b,
            sd_control=self.sd_control,
            sd_canary=self.sd_canary,
            margin=self.margin / abs(b) if self.relative else self.margin,
            true_effect=self.true_effect / abs(b) if self.relative else self.true_effect,
            canary_share=k,
            relative=self.relative,
        )

    def _margin_on_metric_scale(self) -> float:
        """Δ as the metric declares it (a fraction of ``baseline`` when relative)."""
        return self.margin / abs(self.baseline) if self.relative else self.margin

    def power_at(self, n_total: Any, canary_share: float | None = None) -> np.ndarray:
        """Power of this design at other sizes (and shares): the power curve.

        With ``daily_units`` and more than 10 sizes at once (a curve, e.g. :meth:`plot`), the
        power is computed for whole-day canaries from one replay and interpolated linearly
        between days (Gaussian paths: :func:`mlopskit.stats.seqpower.rule_power_by_day`,
        20,000 paths; a binomial plan, see the class: 4,000 binomial paths); up to 10 sizes
        are computed exactly, each at its own (fractional) days. The planned size
        (:func:`sample_size`) never uses the curve."""
        n = np.asarray(n_total, dtype=float)
        gap, s2 = self.analysis_scale(canary_share)
        se = np.sqrt(s2 / n)
        z = _dist.norm_isf(self.alpha)
        if not self.sequential:
            return np.asarray(_dist.norm_sf(z - gap / se), dtype=float)
        if self.daily_units and self.binomial:
            k = self.canary_share if canary_share is None else canary_share
            n_star = (self.planned_days or 28.0) * self.daily_units
            p_t = self.baseline + self.true_effect
            mg = self._margin_on_metric_scale()
            days = n / self.daily_units
            if days.size <= 10:
                return _sp.proportion_rule_power(
                    self.baseline, p_t, mg, relative=self.relative, canary_share=k, days=days,
                    daily_units=self.daily_units, n_star=n_star, alpha=self.alpha,
                    min_days=self.min_days,
                )  # fmt: skip
            # a power curve: whole-day canaries from one replay, linear between days
            paths = _sp.ProportionRulePaths(
                self.baseline, p_t, canary_share=k, daily_units=self.daily_units,
                horizon=max(float(np.nanmax(days)), 1.0), reps=4_000,
            )  # fmt: skip
            by_day = paths.power_by_day(
                mg, relative=self.relative, n_star=n_star, alpha=self.alpha,
                min_days=self.min_days,
            )  # fmt: skip
            grid = np.arange(by_day.size + 1, dtype=float)
            return np.asarray(np.interp(days, grid, np.r_[0.0, by_day]), dtype=float)
        if self.daily_units and n.size > 10:
            # a power curve: whole-day canaries from one replay, linear between days
            n_star = (self.planned_days or 28.0) * self.daily_units
            days = n / self.daily_units
            by_day = _sp.rule_power_by_day(
                gap, s2, days=max(float(np.nanmax(days)), 1.0), daily_units=self.daily_units,
                n_star=n_star, alpha=self.alpha,
            )  # fmt: skip
            grid = np.arange(by_day.size + 1, dtype=float)
            return np.asarray(np.interp(days, grid, np.r_[0.0, by_day]), dtype=float)
        if self.daily_units:
            n_star = (self.planned_days or 28.0) * self.daily_units
            out = [
                _seq.rule_power(
                    gap,
                    s2,
                    days=float(v) / self.daily_units,
                    daily_units=self.daily_units,
                    n_star=n_star,
                    alpha=self.alpha,
                    min_days=self.min_days,
                )
                for v in np.ravel(n)
            ]
            return np.asarray(out, dtype=float).reshape(n.shape)
        rho2 = _seq.rho_squared(self.alpha, n, one_sided=True)
        h = _seq.half_width(n, s2 * np.ones_like(n), rho2, self.alpha, one_sided=True)
        return np.asarray(_dist.norm_cdf((gap - h) / se), dtype=float)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "metric": self.metric,
                    "baseline": self.baseline,
                    "margin": self.margin,
                    "true_effect": self.true_effect,
                    "canary_share": self.canary_share,
                    "alpha": self.alpha,
                    "power": self.power,
                    "n_total": self.n_total,
                    "n_canary": self.n_canary,
                    "n_control": self.n_control,
                    "days": self.days,
                    "sequential": self.sequential,
                }
            ]
        )

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        days = (
            f", {self.days:.1f} days at {self.daily_units:,.0f} units/day"
            if self.daily_units
            else ""
        )
        return (
            f"{self.metric}: {self.n_total:,.0f} units ({self.n_canary:,.0f} canary at "
            f"{self.canary_share:.0%}){days} give power {self.power:.2f} to show "
            f"non-inferiority (margin {_fmt(self.margin)}, true effect "
            f"{_fmt(self.true_effect)}, one-sided alpha {self.alpha:g}"
            f"{', sequential' if self.sequential else ''})."
        )

    def _repr_html_(self) -> str:
        return f"<p>{_display.escape(self.summary())}</p>" + _display.table_html(self.to_frame())

    def plot(self, ax: Any = None, shares: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.5)) -> Any:
        """Power curve against days (or units) for several canary shares."""
        from mlopskit import plots

        return plots.canary_power_curve(self, shares=shares, ax=ax)


def _number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
            low_open: bool = True, high_open: bool = True, why: str = "") -> float:  # fmt: skip
    """``value`` as a finite float in the stated interval, else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"`{name}` must be a number; got {value!r} ({type(value).__name__}).")
    v = float(value)
    bad = not np.isfinite(v)
    if low is not None:
        bad = bad or (v <= low if low_open else v < low)
    if high is not None:
        bad = bad or (v >= high if high_open else v > high)
    if bad:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        a = "-inf" if low is None else f"{low:g}"
        b = "inf" if high is None else f"{high:g}"
        span = "a finite float" if low is None and high is None else f"a float in {lo}{a}, {b}{hi}"
        raise ValueError(f"`{name}` must be {span}{why}; got {value!r}.")
    return v


def _check_plan(
    metric: Metric | str,
    *,
    baseline: Any,
    sd: Any = None,
    canary_share: Any = 0.05,
    alpha: Any = None,
    power: Any = None,
    n_total: Any = None,
    true_effect: Any = 0.0,
    margin: Any = None,
) -> None:
    """Planning inputs that would give NaN, inf, 0 or power 1.0 are errors (issue 14)."""
    if not isinstance(metric, Metric | str) or (isinstance(metric, str) and not metric.strip()):
        raise TypeError(
            f"`metric` must be a Metric (Mean/Proportion/Ratio) or a metric name; got {metric!r}."
        )
    kind = metric.kind if isinstance(metric, Metric) else ("proportion" if sd is None else "mean")
    if kind == "proportion" and sd is None:
        _number("baseline", baseline, low=0.0, high=1.0, why=" (the control rate of a "
                "proportion metric; a rate of exactly 0 or 1 has no variance to plan with)")  # fmt: skip
    else:
        _number("baseline", baseline)
    if sd is not None:
        _number("sd", sd, low=0.0)
    _number("canary_share", canary_share, low=0.0, high=1.0)
    if alpha is not None:
        _number("alpha", alpha, low=0.0, high=0.5, why=" (one-sided)")
    if power is not None:
        _number("power", power, low=0.0, high=1.0)
    if n_total is not None:
        _number("n_total", n_total, low=0.0)
    _number("true_effect", true_effect)
    if margin is not None:
        _number("margin", margin, low=0.0, why=" (a non-inferiority margin)")


def _plan_inputs(
    metric: Metric | str,
    baseline: float,
    sd: float | None,
    true_effect: float,
    margin: float | None,
) -> tuple[str, float, float, float, float]:
    if isinstance(metric, Metric):
        name, kind, rel = metric.name, metric.kind, metric.relative
        mg = metric.margin if margin is None else margin
    else:
        name, kind, rel = str(metric), "proportion" if sd is None else "mean", False
        if margin is None:
            raise ValueError("`margin` is required when `metric` is not a Metric.")
        mg = margin
    if not (isinstance(baseline, float | int) and np.isfinite(baseline)):
        raise ValueError(f"`baseline` must be a finite number; got {baseline!r}.")
    scale = abs(baseline) if rel else 1.0
    mg_abs, eff_abs = mg * scale, true_effect * scale
    if kind == "proportion" and sd is None:
        sd_t, sd_c = _power.proportion_sds(baseline, eff_abs)
    else:
        if sd is None or not sd > 0:
            raise ValueError(
                f"`sd` (per-unit standard deviation) must be > 0 for a {kind} metric; got {sd!r}."
            )
        sd_t = sd_c = float(sd)
    return name, mg_abs, eff_abs, sd_t, sd_c


def _plan(
    metric: Metric | str,
    *,
    baseline: float,
    sd: float | None,
    true_effect: float,
    margin: float | None,
    canary_share: float,
    alpha: float | None,
    n_total: float,
    power: float,
    daily_units: float | None,
    sequential: bool,
    planned_days: float | None,
    policy: Any,
) -> CanaryPlan:
    cfg = _policy(policy)
    name, mg, eff, sd_t, sd_c = _plan_inputs(metric, baseline, sd, true_effect, margin)
    relative = bool(isinstance(metric, Metric) and metric.relative)
    kind = metric.kind if isinstance(metric, Metric) else ("proportion" if sd is None else "mean")
    return CanaryPlan(
        name,
        float(baseline),
        sd_c,
        sd_t,
        eff,
        mg,
        canary_share,
        cfg.alpha if alpha is None else alpha,
        power,
        n_total,
        daily_units,
        sequential,
        cfg.planned_days if planned_days is None else planned_days,
        relative,
        float(cfg.min_days),
        kind == "proportion" and sd is None,
    )


def sample_size(
    metric: Metric | str,
    *,
    baseline: float,
    sd: float | None = None,
    margin: float | None = None,
    true_effect: float = 0.0,
    canary_share: float = 0.05,
    alpha: float | None = None,
    power: float | None = None,
    daily_units: float | None = None,
    sequential: bool = True,
    planned_days: float | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> CanaryPlan:
    """Units (and days) for a non-inferiority canary to pass with ``power``.

    On the scale the test uses (``ln`` ratio for relative metrics, see :class:`CanaryPlan`)
    and with the same one-sided ``alpha`` as ``canary_test``. ``sequential=True`` (default,
    like ``canary_test``): the size at which the rule actually applied — daily looks at a
    one-sided confidence sequence tuned for ``planned_days × daily_units``, PROMOTE from
    ``policy.min_days`` — passes with ``power`` (give ``daily_units``; without it only the
    last look counts). ``sequential=False``: a single fixed look,
    ``n = (z_{1−α} + z_{power})²·s² / gap²``. ``baseline`` is the control
    rate/mean; ``sd`` the per-unit SD (not needed for proportions); relative margins and
    effects are fractions of ``baseline``. Defaults from the policy (α one-sided 0.025,
    power 0.8).
    """
    _check_plan(metric, baseline=baseline, sd=sd, canary_share=canary_share, alpha=alpha,
                power=power, true_effect=true_effect, margin=margin)  # fmt: skip
    cfg = _policy(policy)
    pw = cfg.power if power is None else power
    a = cfg.alpha if alpha is None else alpha
    probe = _plan(
        metric, baseline=baseline, sd=sd, true_effect=true_effect, margin=margin,
        canary_share=canary_share, alpha=a, n_total=1.0, power=pw, daily_units=daily_units,
        sequential=sequential, planned_days=planned_days, policy=cfg,
    )  # fmt: skip
    gap, s2 = probe.analysis_scale()
    z_sum = _dist.norm_isf(a) + _dist.norm_ppf(pw)
    if not gap > 0:
        n = float("inf")
    elif not sequential:
        n = float(s2 * z_sum**2 / gap**2)
    elif daily_units:
        days = _seq.rule_days_for_power(
            gap, s2, daily_units=daily_units, planned_days=float(probe.planned_days or 28.0),
            power=pw, alpha=a, min_days=probe.min_days,
        )  # fmt: skip
        if probe.binomial and np.isfinite(days):
            days = _sp.proportion_rule_days_for_power(
                probe.baseline, probe.baseline + probe.true_effect,
                probe._margin_on_metric_scale(), relative=probe.relative,
                canary_share=canary_share, daily_units=daily_units,
                planned_days=float(probe.planned_days or 28.0), start=days, power=pw, alpha=a,
                min_days=probe.min_days,
            )  # fmt: skip
        n = float(days * daily_units)
    else:
        n_fixed = s2 * z_sum**2 / gap**2
        n = float(_seq.sample_size_for_margin(gap, s2, n_star=n_fixed, alpha=a, power=pw))
    return _plan(
        metric,
        baseline=baseline,
        sd=sd,
        true_effect=true_effect,
        margin=margin,
        canary_share=canary_share,
        alpha=a,
        n_total=n,
        power=pw,
        daily_units=daily_units,
        sequential=sequential,
        planned_days=planned_days,
        policy=cfg,
    )


def power(
    metric: Metric | str,
    *,
    baseline: float,
    n_total: float | None = None,
    days: float | None = None,
    daily_units: float | None = None,
    sd: float | None = None,
    margin: float | None = None,
    true_effect: float = 0.0,
    canary_share: float = 0.05,
    alpha: float | None = None,
    sequential: bool = True,
    planned_days: float | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> CanaryPlan:
    """Design power of a non-inferiority canary at ``n_total`` units (or ``days × daily_units``).

    Of the rule ``canary_test`` applies (sequential by default, see :func:`sample_size`);
    ``sequential=False``: ``π = Φ(gap/SE − z_{1−α})`` on the analysis scale (STATISTICS.md
    §2) — a property of the design, never "observed power".
    """
    if n_total is None:
        if days is None or daily_units is None:
            raise ValueError("give `n_total`, or both `days` and `daily_units`.")
        n_total = days * daily_units
    _check_plan(metric, baseline=baseline, sd=sd, canary_share=canary_share, alpha=alpha,
                n_total=n_total, true_effect=true_effect, margin=margin)  # fmt: skip
    plan = _plan(
        metric,
        baseline=baseline,
        sd=sd,
        true_effect=true_effect,
        margin=margin,
        canary_share=canary_share,
        alpha=alpha,
        n_total=float(n_total),
        power=0.5,
        daily_units=daily_units,
        sequential=sequential,
        planned_days=planned_days,
        policy=policy,
    )
    return replace(plan, power=float(plan.power_at(plan.n_total)))


def minimum_detectable_effect(
    metric: Metric | str,
    *,
    baseline: float,
    n_total: float | None = None,
    days: float | None = None,
    daily_units: float | None = None,
    sd: float | None = None,
    canary_share: float = 0.05,
    alpha: float | None = None,
    power: float | None = None,
    sequential: bool = True,
    planned_days: float | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> float:
    """Smallest margin |Δ| a truly equal canary passes with ``power`` at ``n_total`` units.

    Of the rule applied (see :func:`sample_size`): with ``sequential`` and ``daily_units``
    the daily-look confidence-sequence rule (:func:`mlopskit.stats.sequential.
    rule_margin_for_power`; for a proportion given by its ``baseline``, binomial counts and
    plug-in SEs, :func:`mlopskit.stats.seqpower.proportion_rule_margin_for_power`), with
    ``sequential`` alone the last look, otherwise the fixed
    look ``(z_{1−α} + z_{power})·SE(n)`` (STATISTICS.md §2). In the metric's units, or for a
    relative metric as a fraction of ``baseline`` (the test's ``ln`` margin mapped back,
    ``exp(gap) − 1``). For proportions the SD is ``sqrt(p(1 − p))`` at ``baseline``.
    """
    cfg = _policy(policy)
    if n_total is None:
        if days is None or daily_units is None:
            raise ValueError("give `n_total`, or both `days` and `daily_units`.")
        n_total = days * daily_units
    _check_plan(metric, baseline=baseline, sd=sd, canary_share=canary_share, alpha=alpha,
                power=power, n_total=n_total)  # fmt: skip
    if not n_total > 0:
        raise ValueError(f"`n_total` must be > 0; got {n_total!r}.")
    kind = metric.kind if isinstance(metric, Metric) else ("proportion" if sd is None else "mean")
    if kind == "proportion" and sd is None:
        sd_c = float(np.sqrt(baseline * (1 - baseline)))
    elif sd is None or not sd > 0:
        raise ValueError(f"`sd` must be > 0 for a {kind} metric; got {sd!r}.")
    else:
        sd_c = float(sd)
    a = cfg.alpha if alpha is None else alpha
    pw = cfg.power if power is None else power
    relative = bool(isinstance(metric, Metric) and metric.relative)
    # s² on the analysis scale at δ = 0 (the margin does not enter s²)
    _gap, s2 = _power.design_on_analysis_scale(
        baseline=baseline, sd_control=sd_c, sd_canary=sd_c, margin=1.0 if not relative else 0.5,
        true_effect=0.0, canary_share=canary_share, relative=relative,
    )  # fmt: skip
    n = float(n_total)
    if sequential and daily_units and kind == "proportion" and sd is None:
        pdays = cfg.planned_days if planned_days is None else planned_days
        return _sp.proportion_rule_margin_for_power(
            float(baseline), relative=relative, canary_share=canary_share,
            days=n / daily_units, daily_units=daily_units, n_star=pdays * daily_units,
            power=pw, alpha=a, min_days=cfg.min_days,
        )  # fmt: skip
    if sequential and daily_units:
        pdays = cfg.planned_days if planned_days is None else planned_days
        gap = _seq.rule_margin_for_power(
            s2, days=n / daily_units, daily_units=daily_units, n_star=pdays * daily_units,
            power=pw, alpha=a, min_days=cfg.min_days,
        )  # fmt: skip
    elif sequential:
        se = np.sqrt(s2 / n)
        rho2 = _seq.rho_squared(a, n, one_sided=True)
        gap = float(_seq.half_width(n, s2, rho2, a, one_sided=True)) + _dist.norm_ppf(pw) * se
    else:
        gap = (_dist.norm_isf(a) + _dist.norm_ppf(pw)) * float(np.sqrt(s2 / n))
    return float(np.expm1(gap)) if relative else float(gap)
