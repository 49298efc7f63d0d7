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
def _figure_of(obj: Any) -> Any:
    """The matplotlib Figure behind an Axes, an array of Axes, or a Figure."""
    if hasattr(obj, "savefig"):  # a Figure (or SubFigure's parent)
        return obj
    if hasattr(obj, "get_figure") and obj.get_figure() is not None:
        return obj.get_figure()
    if hasattr(obj, "flat"):  # numpy array of Axes
        return next(iter(obj.flat)).get_figure()
    raise ValueError(f"expected a matplotlib Axes or Figure; got {type(obj).__name__}.")


def alt_text(fig: Any) -> str:
    """Alt text from each Axes' title and axis labels (suptitle first)."""
    parts = []
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    if suptitle:
        parts.append(suptitle)
    for ax in fig.get_axes():
        desc = ax.get_title() or ax.get_title(loc="left") or "Chart"
        x, y = ax.get_xlabel(), ax.get_ylabel()
        if x and y:
            desc += f" — {y} by {x}"
        elif x or y:
            desc += f" — {x or y}"
        parts.append(desc)
    return "; ".join(parts) or "Figure"


def to_png(obj: Any, *, dpi: int = 100) -> tuple[bytes, str, tuple[int, int]]:
    """Render an Axes/Figure to PNG bytes without metadata and close it.

    Returns the PNG, default alt text (:func:`alt_text`) and the pixel size. The PNG
    carries no ``Software``/date chunks, so the same figure gives the same bytes.
    """
    import io

    fig = _figure_of(obj)
    alt = alt_text(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    png = buf.getvalue()
    # width and height are big-endian uint32 at bytes 16..24 of the IHDR chunk
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    return png, alt, (width, height)


def volumes(counts: Any, ax: Any = None) -> Any:
    """Rows per day, one line per source (``counts``: ``day, source, n``)."""
    ax = _axes(ax, figsize=(8.0, 3.4))
    for source, g in counts.groupby("source", sort=False):
        ax.plot(g["day"], g["n"], label=str(source), linewidth=1.4)
    ax.set_yscale("log")
    ax.set_title("Rows per day by source")
    ax.set_xlabel("day")
    ax.set_ylabel("rows per day (log scale)")
    ax.legend(fontsize="small", frameon=False)
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
        # per-decade density so bins of different log-width compare; bin [0, 1e-4) drawn
        # on [10^-4.5, 1e-4)
        lower = np.where(lower <= 0, upper / 10**0.5, lower)
        density = share / np.log10(upper / lower)
        colour = colours[i % len(colours)]
        ax.stairs(density, np.append(lower, upper[-1]), label=str(series), color=colour)
        if series in thresholds:
            ax.axvline(float(thresholds[series]), color=colour, linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_title("Score distributions (dashed: decision thresholds)")
    ax.set_xlabel("score (log scale)")
    ax.set_ylabel("share of rows per decade")
    ax.legend(fontsize="small", frameon=False)
    return ax


# ---- end overview ------------------------------------------------------------------


# ---- drift (issue 3) ---------------------------------------------------------------


# ---- end drift ---------------------------------------------------------------------


# ---- labels (issue 4) --------------------------------------------------------------


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


# ---- end canary --------------------------------------------------------------------


# ---- monitoring --------------------------------------------------------------------


# ---- end monitoring ----------------------------------------------------------------
