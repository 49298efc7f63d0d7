"""Figures of the canary: forest plot, sequential funnel, power curve."""

from __future__ import annotations

from typing import Any

from mlopskit.plots._common import _axes, _legend


def canary_forest(result: Any, ax: Any = None) -> Any:
    """Forest plot: per metric the effect in units of its own margin.

    Each metric is scaled by ``|Δ|`` and oriented so that right is harm: 0 (no difference)
    and 1 (the margin) are shared reference lines. Thin bars: fixed CI; thick bars: the
    decision interval (confidence sequence when sequential).
    """
    import numpy as np

    rows = list(result.metrics)
    ax = _axes(ax, figsize=(7.0, 0.6 * len(rows) + 1.6))
    for i, r in enumerate(rows):
        m = r.metric
        scale = m.sign / abs(m.margin)
        ci = sorted((r.ci_low * scale, r.ci_high * scale))
        dec = sorted((r.decision_low * scale, r.decision_high * scale))
        y = len(rows) - 1 - i
        ax.plot(ci, [y, y], color="0.55", lw=1.2)
        if np.all(np.isfinite(dec)):
            ax.plot(dec, [y, y], color="C0", lw=4, alpha=0.6, solid_capstyle="butt")
        ax.plot([r.effect * scale], [y], "o", color="C3" if r.row in (4, 5) else "C0")
    ax.axvline(0.0, color="black", lw=1, ls="-")
    ax.axvline(1.0, color="C3", lw=1, ls="--", label="margin (harm side)")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r.metric.name} ({r.taxonomy})" for r in reversed(rows)])
    ax.set_xlabel("effect / |margin|, oriented so that right = harm (0 = no difference)")
    ax.set_ylabel("metric")
    ax.set_title(f"Canary vs control as of {result.as_of:%Y-%m-%d}: {result.verdict}")
    _legend(ax)
    return ax


def canary_funnel(history: Any, metric: str | None = None, ax: Any = None) -> Any:
    """Funnel over days: the decision interval narrowing, with the fixed CI, margin and 0."""
    looks = history.looks
    name = metric or str(looks["metric"].iloc[0])
    d = looks[looks["metric"] == name]
    if d.empty:
        raise ValueError(
            f"`metric` {name!r} is not in the history; got {sorted(set(looks['metric']))}."
        )
    ax = _axes(ax)
    import pandas as pd

    x = pd.to_datetime(d["as_of"]).to_numpy()  # calendar dates, not days since exposure
    ax.fill_between(
        x,
        d["decision_low"],
        d["decision_high"],
        color="C0",
        alpha=0.3,
        label="decision interval (running)",
    )
    ax.plot(x, d["ci_low"], color="0.5", lw=1, ls=":", label="fixed CI (not peeking-safe)")
    ax.plot(x, d["ci_high"], color="0.5", lw=1, ls=":")
    ax.plot(x, d["effect"], color="C0", lw=1.5, label="effect")
    ax.axhline(0.0, color="black", lw=1)
    ax.axhline(float(d["margin"].iloc[0]), color="C3", lw=1, ls="--", label="margin")
    ax.set_xlabel("date (end of each daily look)")
    ax.figure.autofmt_xdate()
    ax.set_ylabel("canary − control")
    ax.set_title(f"{name}: effect and interval by day")
    _legend(ax)
    return ax


def canary_power_curve(
    plan: Any, shares: Any = (0.01, 0.02, 0.05, 0.1, 0.5), ax: Any = None
) -> Any:
    """Power against days (units when no traffic is given), one line per canary share."""
    import numpy as np

    ax = _axes(ax)
    top = max(plan.n_total, 1.0) * 4 if np.isfinite(plan.n_total) else 1e7
    n = np.geomspace(max(top / 1e4, 10.0), top, 200)
    per_day = plan.daily_units
    x = n / per_day if per_day else n
    for k in sorted(set(shares) | {plan.canary_share}):
        ax.plot(
            x,
            plan.power_at(n, canary_share=k),
            lw=2 if k == plan.canary_share else 1,
            label=f"canary share {k:.0%}",
        )
    ax.axhline(plan.power, color="0.5", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("days" if per_day else "total units")
    ax.set_ylabel("power to show non-inferiority")
    ax.set_title(f"{plan.metric}: power (margin {plan.margin:g}, one-sided alpha {plan.alpha:g})")
    _legend(ax)
    return ax
