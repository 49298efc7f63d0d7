"""Canary planning: sample size, power and minimum detectable effect (CanaryPlan)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from mlopskit import _display
from mlopskit.policy import CanaryPolicy, Policy
from mlopskit.stats import power as _power
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
    days : ``n_total / daily_units``.  sequential : sized for confidence sequences
    (wider than a single fixed look) with ``planned_days``.
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

    @property
    def n_canary(self) -> float:
        return self.n_total * self.canary_share

    @property
    def n_control(self) -> float:
        return self.n_total * (1 - self.canary_share)

    @property
    def days(self) -> float:
        return self.n_total / self.daily_units if self.daily_units else float("nan")

    def power_at(self, n_total: Any, canary_share: float | None = None) -> np.ndarray:
        """Power of this design at other sizes (and shares): the power curve."""
        k = self.canary_share if canary_share is None else canary_share
        n = np.asarray(n_total, dtype=float)
        gap = (self.margin - self.true_effect) * np.sign(self.margin)
        se = _power.se_unbalanced(n, k, self.sd_canary, self.sd_control)
        z = stats.norm.isf(self.alpha)
        if not self.sequential:
            return np.asarray(stats.norm.sf(z - gap / se), dtype=float)
        s2 = n * se**2
        n_star = (self.planned_days or 1.0) * (self.daily_units or 1.0)
        rho2 = _seq.rho_squared(self.alpha, n_star, one_sided=True)
        h = _seq.half_width(n, s2, rho2, self.alpha, one_sided=True)
        return np.asarray(stats.norm.cdf((gap - h) / se), dtype=float)

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
    sequential: bool = False,
    planned_days: float | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> CanaryPlan:
    """Units (and days) for a non-inferiority canary to pass with ``power``.

    ``n = (z_{1−α} + z_{power})²(σ_t²/κ + σ_c²/(1 − κ)) / (Δ − δ)²`` on the harm side; with
    ``sequential=True`` the size at which the one-sided confidence sequence (tuned for
    ``planned_days × daily_units``) passes with ``power``. ``baseline`` is the control
    rate/mean; ``sd`` the per-unit SD (not needed for proportions); relative margins and
    effects are fractions of ``baseline``. Defaults from the policy (α one-sided 0.025,
    power 0.8).
    """
    cfg = _policy(policy)
    pw = cfg.power if power is None else power
    a = cfg.alpha if alpha is None else alpha
    _name, mg, eff, sd_t, sd_c = _plan_inputs(metric, baseline, sd, true_effect, margin)
    if sequential:
        pdays = cfg.planned_days if planned_days is None else planned_days
        unit_var = sd_t**2 / canary_share + sd_c**2 / (1 - canary_share)
        n_fixed = _power.sample_size_normal(
            eff,
            sd_canary=sd_t,
            sd_control=sd_c,
            canary_share=canary_share,
            alpha=a,
            power=pw,
            margin=mg,
        )
        n_star = pdays * daily_units if daily_units else n_fixed
        gap = abs(mg)
        n = float(
            _seq.sample_size_for_margin(
                gap, unit_var, n_star=n_star, alpha=a, power=pw, true_effect=eff * np.sign(mg)
            )
        )
    else:
        n = _power.sample_size_normal(
            eff,
            sd_canary=sd_t,
            sd_control=sd_c,
            canary_share=canary_share,
            alpha=a,
            power=pw,
            margin=mg,
        )
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
    sequential: bool = False,
    planned_days: float | None = None,
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> CanaryPlan:
    """Design power of a non-inferiority canary at ``n_total`` units (or ``days × daily_units``).

    ``π = Φ((Δ − δ)/SE − z_{1−α})`` on the harm side (STATISTICS.md §2) — a property of the
    design, never "observed power".
    """
    if n_total is None:
        if days is None or daily_units is None:
            raise ValueError("give `n_total`, or both `days` and `daily_units`.")
        n_total = days * daily_units
    if not n_total > 0:
        raise ValueError(f"`n_total` must be > 0; got {n_total!r}.")
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
    policy: Policy | CanaryPolicy | str | Path | None = None,
) -> float:
    """Smallest margin |Δ| (absolute units of the metric) a truly equal canary passes with
    ``power`` at ``n_total`` units: ``(z_{1−α} + z_{power})·SE(n)`` (STATISTICS.md §2).

    The same number is the smallest true harm the one-sided harm test detects with
    ``power``. For proportions the SD is ``sqrt(p(1 − p))`` at ``baseline``.
    """
    cfg = _policy(policy)
    if n_total is None:
        if days is None or daily_units is None:
            raise ValueError("give `n_total`, or both `days` and `daily_units`.")
        n_total = days * daily_units
    kind = metric.kind if isinstance(metric, Metric) else ("proportion" if sd is None else "mean")
    if kind == "proportion" and sd is None:
        sd_c = float(np.sqrt(baseline * (1 - baseline)))
    elif sd is None or not sd > 0:
        raise ValueError(f"`sd` must be > 0 for a {kind} metric; got {sd!r}.")
    else:
        sd_c = float(sd)
    return _power.minimum_detectable_effect_normal(
        float(n_total),
        sd_canary=sd_c,
        sd_control=sd_c,
        canary_share=canary_share,
        alpha=cfg.alpha if alpha is None else alpha,
        power=cfg.power if power is None else power,
        alternative="one-sided",
    )
