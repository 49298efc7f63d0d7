"""Figures of label maturity and retraining: maturity curve, label triangle, arrival
curves, label forecast.
"""

from __future__ import annotations

from typing import Any

from mlopskit.plots._common import _axes, _legend


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
    _legend(ax)
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
    _legend(ax)
    return ax


def plot_label_forecast(result: Any, ax: Any = None) -> Any:
    """Expected labelled new-world positives by date vs the K* needed to retrain."""
    ax = _axes(ax)
    frame = result.forecast_frame()
    if frame.empty:
        raise ValueError("no forecast to plot (no drift onset or last training date).")
    fc = result.forecast
    lo, hi = fc.quantile(0.1), fc.quantile(0.9)
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
    _legend(ax)
    ax.tick_params(axis="x", labelrotation=30)
    return ax
