"""Every figure of mlopskit; the only module that imports matplotlib (and seaborn).

Each function takes the result object (or its numbers) and ``ax=None``, draws, sets a title
and axis labels, and returns the Axes. Result objects' ``.plot()`` delegate here lazily.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt


def _axes(ax: Any = None, *, figsize: tuple[float, float] = (7.0, 3.6)) -> Any:
    """Return ``ax`` or a new Axes on a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


# ---- overview (demo / foundation) --------------------------------------------------


# ---- end overview ------------------------------------------------------------------


# ---- drift (issue 3) ---------------------------------------------------------------


# ---- end drift ---------------------------------------------------------------------


# ---- labels (issue 4) --------------------------------------------------------------
def plot_maturity_curve(result: Any, ax: Any = None) -> Any:
    """Maturity curve F̂(age) of a ``LabelMaturity`` with its ±z·SE band."""
    import numpy as np

    ax = _axes(ax)
    frame = result.curve_frame()
    ages = np.concatenate([[0], frame["age_days"].to_numpy()])
    mat = np.concatenate([[0.0], frame["maturity"].to_numpy()])
    lo = np.concatenate([[0.0], frame["ci_low"].to_numpy()])
    hi = np.concatenate([[0.0], frame["ci_high"].to_numpy()])
    ax.fill_between(
        ages, lo, hi, alpha=0.25, step=None, label=f"{1 - result.alpha:.0%} band (Mack SE)"
    )
    ax.plot(ages, mat, lw=2, label="F̂(age), chain ladder")
    ax.axhline(
        result.min_maturity, ls=":", color="grey", label=f"min maturity {result.min_maturity}"
    )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, ages[-1])
    ax.set_title(f"Label maturity as of {result.as_of.date()}")
    ax.set_xlabel("age of the event (days)")
    ax.set_ylabel("share of eventual labels known")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_label_triangle(result: Any, ax: Any = None) -> Any:
    """Heatmap of cumulative positives per 1,000 events, cohort × age (blank = not observed)."""
    import numpy as np

    ax = _axes(ax, figsize=(7.0, 5.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = result.triangle / result.n_events[:, None] * 1000.0
    img = ax.imshow(
        np.ma.masked_invalid(rate),
        aspect="auto",
        origin="upper",
        interpolation="nearest",
        extent=(0.5, rate.shape[1] + 0.5, rate.shape[0] - 0.5, -0.5),
    )
    ax.figure.colorbar(img, ax=ax, label="labelled positives per 1,000 events")
    step = max(1, len(result.cohort_start) // 10)
    ticks = np.arange(0, len(result.cohort_start), step)
    ax.set_yticks(ticks)
    ax.set_yticklabels([str(result.cohort_start[i].date()) for i in ticks], fontsize="small")
    ax.set_title(f"Label triangle as of {result.as_of.date()} ({result.cohort} cohorts)")
    ax.set_xlabel("age (days): labels with delay < age")
    ax.set_ylabel("cohort")
    return ax


def plot_arrival_curves(arrival: Any, ax: Any = None) -> Any:
    """Known share of labels by age for each score group of the positives (mature cohorts)."""
    import numpy as np

    ax = _axes(ax)
    ages = np.asarray(arrival.ages)
    n = len(arrival.shares)
    for g, row in enumerate(arrival.shares):
        name = "lowest scores" if g == 0 else "highest scores" if g == n - 1 else f"group {g + 1}"
        ax.plot(
            ages, row, lw=2 if g in (0, n - 1) else 1, label=f"{name} (n={arrival.n_positives[g]})"
        )
    for a in arrival.test_ages:
        ax.axvline(a, ls=":", color="grey")
    ax.set_ylim(0, 1.02)
    state = "arrival bias detected" if arrival.biased else "no arrival bias"
    ax.set_title(f"Label arrival by score group ({state})")
    ax.set_xlabel("age of the event (days)")
    ax.set_ylabel(f"share of labels known by age {arrival.reference_age}")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_label_forecast(result: Any, ax: Any = None) -> Any:
    """Expected labelled new-world positives by date vs the K* needed to retrain."""
    import numpy as np
    from scipy import stats

    ax = _axes(ax)
    frame = result.forecast_frame()
    if frame.empty:
        raise ValueError("no forecast to plot (no drift onset or last training date).")
    fc = result.forecast
    extra = np.maximum(fc.expected - fc.observed, 0.0)
    if fc.rate_cv > 0:  # the forecast's Poisson–Gamma (negative binomial) increments
        shape = 1.0 / fc.rate_cv**2
        dist: Any = stats.nbinom(shape, shape / (shape + np.maximum(extra, 1e-12)))
    else:
        dist = stats.poisson(extra)
    lo = fc.observed + dist.ppf(0.1)
    hi = fc.observed + dist.ppf(0.9)
    last = fc.day_probable if fc.day_probable is not None else len(frame) - 1
    sl = slice(0, min(len(frame), int(last * 1.5) + 7))
    dates = frame["date"].iloc[sl]
    ax.fill_between(dates, lo[sl], hi[sl], alpha=0.25, label="10–90% range")
    ax.plot(dates, fc.expected[sl], lw=2, label="expected labelled count")
    ax.axhline(fc.k_star, ls="--", color="black", label=f"K* = {fc.k_star}")
    ax.plot(
        [result.as_of], [fc.observed], "o", color="black", label=f"labelled now ({fc.observed})"
    )
    if result.forecast_date is not None:
        ax.axvline(result.forecast_date, ls=":", color="grey")
        ax.annotate(
            f"{fc.probability:.0%}: {result.forecast_date.date()}",
            (result.forecast_date, fc.k_star),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize="small",
        )
    ax.set_title(f"Labels needed to retrain: {result.verdict}")
    ax.set_xlabel("date")
    ax.set_ylabel("labelled positives since the window start")
    ax.legend(loc="upper left", fontsize="small")
    ax.tick_params(axis="x", labelrotation=30)
    return ax


# ---- end labels --------------------------------------------------------------------


# ---- shadow (issue 5) --------------------------------------------------------------
def plot_shadow_decisions(profile: Any, ax: Any = None) -> Any:
    """Flag rates of both models (Wilson CIs) at the threshold and capacity-matched, with
    the 2×2 counts written under each pair of bars."""
    import numpy as np

    ax = _axes(ax)
    df = profile.to_frame("decisions")
    x = np.arange(len(df))
    for i, (model, colour) in enumerate((("champion", "#57606a"), ("challenger", "#0969da"))):
        rate = df[f"flag_rate_{model}"].to_numpy()
        err = np.vstack(
            [rate - df[f"flag_rate_{model}_ci_low"], df[f"flag_rate_{model}_ci_high"] - rate]
        )
        ax.bar(
            x + (i - 0.5) * 0.38, rate, width=0.36, yerr=err, capsize=3, color=colour, label=model
        )
    labels = [
        f"{r.view} (t={r.threshold:.4g})\nboth {r.both:,} · champ only {r.champion_only:,}\n"
        f"chall only {r.challenger_only:,} · Jaccard {r.jaccard:.2f}"
        for r in df.itertuples()
    ]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_title(f"Shadow decisions: flag rates ({profile.verdict})")
    ax.set_xlabel("decision view")
    ax.set_ylabel("flag rate (95% Wilson CI)")
    ax.legend()
    return ax


def plot_shadow_scores(profile: Any, ax: Any = None) -> Any:
    """Cumulative score distributions on the logit grid: challenger live vs offline, and
    the champion live, with the decision threshold."""
    import numpy as np

    ax = _axes(ax)
    edges = profile.grid.edges()[1:]
    curves = [("champion live", profile.hist_champion, "#57606a", "-")]
    curves.append(("challenger live", profile.hist_challenger, "#0969da", "-"))
    if profile.hist_offline is not None:
        curves.append(("challenger offline", profile.hist_offline, "#0969da", "--"))
    for name, h, colour, style in curves:
        if h.sum():
            ax.plot(edges, np.cumsum(h) / h.sum(), style, color=colour, label=name)
    ax.axvline(profile.threshold, color="#cf222e", lw=1, label=f"threshold {profile.threshold:g}")
    ax.set_xscale("logit")
    lo = profile.grid.quantile(profile.hist_champion, 0.0005)
    hi = profile.grid.quantile(profile.hist_champion, 0.9999)
    ax.set_xlim(max(lo, 1e-7), min(max(hi, 2 * profile.threshold), 0.999))
    ax.set_title("Score distributions: live vs offline")
    ax.set_xlabel("score (logit scale)")
    ax.set_ylabel("cumulative share")
    ax.legend(fontsize=8)
    return ax


def plot_shadow_segments(profile: Any, ax: Any = None, top: int = 15) -> Any:
    """Disagreement rate by segment value (ranked), with the overall rate as a line."""
    df = profile.to_frame("segments")
    df = df[~df["suppressed"].astype(bool)].head(top)
    ax = _axes(ax, figsize=(7.0, max(2.5, 0.3 * len(df) + 1)))
    names = [f"{s}={v}" for s, v in zip(df["segment"], df["value"], strict=True)]
    colours = ["#cf222e" if q < profile.alpha and lift > 1 else "#8c959f"
               for q, lift in zip(df["q_value"], df["lift"], strict=True)]  # fmt: skip
    ax.barh(names[::-1], df["disagreement_rate"].to_numpy()[::-1], color=colours[::-1])
    d = profile.decisions
    ax.axvline(
        (d.champion_only + d.challenger_only) / d.n, color="#1f2328", ls="--", label="overall"
    )
    ax.set_title("Where the models disagree (red: BH-significant excess)")
    ax.set_xlabel("disagreement rate at the threshold")
    ax.set_ylabel("segment value")
    ax.legend()
    return ax


def plot_shadow_latency(profile: Any, ax: Any = None) -> Any:
    """Latency p50/p95/p99 per model (log grid quantiles)."""
    import numpy as np

    ax = _axes(ax)
    ops = profile.to_frame("operations")
    qs = ["p50_ms", "p95_ms", "p99_ms"]
    x = np.arange(len(qs))
    for i, (model, colour) in enumerate((("champion", "#57606a"), ("challenger", "#0969da"))):
        vals = ops.loc[ops["model"] == model, qs].to_numpy(dtype=float).ravel()
        ax.bar(x + (i - 0.5) * 0.38, vals, width=0.36, color=colour, label=model)
    ax.set_xticks(x, ["p50", "p95", "p99"])
    ax.set_title("Latency quantiles per model")
    ax.set_xlabel("quantile")
    ax.set_ylabel("latency (ms)")
    ax.legend()
    return ax


# ---- end shadow --------------------------------------------------------------------


# ---- canary (issue 6) --------------------------------------------------------------
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
    ax.legend(loc="best", fontsize="small")
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
    x = d["days"].to_numpy(float)
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
    ax.set_xlabel("days since first exposure")
    ax.set_ylabel("canary − control")
    ax.set_title(f"{name}: effect and interval by day")
    ax.legend(loc="best", fontsize="small")
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
    ax.legend(loc="best", fontsize="small")
    return ax


# ---- end canary --------------------------------------------------------------------


# ---- monitoring --------------------------------------------------------------------


# ---- end monitoring ----------------------------------------------------------------
