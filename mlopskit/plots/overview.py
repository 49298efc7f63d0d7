"""Figures of the data overview: volumes, label glance, score distributions."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

from mlopskit.plots._common import _axes, _legend


def volumes(counts: Any, ax: Any = None) -> Any:
    """Rows per day, one line per source (``counts``: ``day, source, n``)."""
    ax = _axes(ax, figsize=(8.0, 3.4))
    for source, g in counts.groupby("source", sort=False):
        ax.plot(g["day"], g["n"], label=str(source), linewidth=1.4)
    ax.set_yscale("log")
    ax.set_title("Rows per day by source")
    ax.set_xlabel("day")
    ax.set_ylabel("rows per day (log scale)")
    _legend(ax)
    ax.figure.autofmt_xdate()
    return ax


def label_glance(cohorts: Any, mature_rate: float | None, horizon_days: int, ax: Any = None) -> Any:
    """Arrived positive-label rate per weekly cohort; immature cohorts lighter."""
    ax = _axes(ax, figsize=(8.0, 3.4))
    colours = ["#0969da" if m else "#9ecbff" for m in cohorts["mature"]]
    ax.bar(cohorts["cohort"], 100 * cohorts["positive_rate"], width=6, color=colours)
    if mature_rate is not None:
        ax.axhline(100 * mature_rate, color="#57606a", linestyle="--", linewidth=1)
        ax.annotate(
            "mature rate",
            (cohorts["cohort"].iloc[0], 100 * mature_rate),
            textcoords="offset points",
            xytext=(0, 4),
            fontsize="small",
            color="#57606a",
        )
    ax.set_title(f"Arrived positive labels by weekly cohort (dark: older than {horizon_days} d)")
    ax.set_xlabel("cohort (week of the event)")
    ax.set_ylabel("positive labels arrived (% of events)")
    ax.figure.autofmt_xdate()
    return ax


def score_distributions(hist: Any, thresholds: Any, ax: Any = None) -> Any:
    """Score histograms (share of rows per bin) on a log score axis, thresholds dashed."""
    import numpy as np

    ax = _axes(ax, figsize=(8.0, 3.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (series, g) in enumerate(hist.groupby("series", sort=False)):
        total = g["n"].sum()
        share = g["n"].to_numpy() / total if total else np.zeros(len(g))
        lower = g["lower"].to_numpy().astype(float)
        upper = g["upper"].to_numpy().astype(float)
        # per-decade density so bins of different log-width compare; a bin starting at 0
        # has no width on a log axis: it is not drawn, its share goes into the legend
        below = lower <= 0
        label = str(series)
        if below.any():
            label += f" ({100 * share[below].sum():.2g}% of rows below {upper[below].max():g}, not drawn)"
        keep = ~below
        share, lower, upper = share[keep], lower[keep], upper[keep]
        density = share / np.log10(upper / lower)
        colour = colours[i % len(colours)]
        if len(density):
            ax.stairs(density, np.append(lower, upper[-1]), label=label, color=colour)
        if series in thresholds:
            ax.axvline(float(thresholds[series]), color=colour, linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_title("Score distributions (dashed: decision thresholds)")
    ax.set_xlabel("score (log scale)")
    ax.set_ylabel("share of rows per decade")
    _legend(ax)
    return ax
