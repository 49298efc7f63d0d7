"""Every figure of mlopskit; the only module that imports matplotlib (and seaborn).

Each function takes the result object (or its numbers) and ``ax=None``, draws, sets a title
and axis labels, and returns the Axes. Result objects' ``.plot()`` delegate here lazily.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

# No matplotlib.use() here: forcing a backend at import would replace Jupyter's inline
# backend and a bare ``result.plot()`` would never show. Headless runs fall back to Agg.


def use_report_settings() -> None:
    """Deterministic figures for reports: a fixed SVG hash salt (ids do not vary per run)."""
    plt.rcParams["svg.hashsalt"] = "mlopskit"


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
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight")
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
_STATUS_COLOURS = {
    "stable": "#8c959f",
    "moderate": "#d4a72c",
    "significant": "#cf222e",
    "insufficient_data": "#d0d7de",
}


def plot_psi_table(table: Any, ax: Any = None) -> Any:
    """PSI per feature as horizontal bars coloured by status, with the τ lines and each
    feature's sampling critical value ``c_α`` (black tick)."""
    import numpy as np

    rows = list(table.rows)[::-1]
    ax = _axes(ax, figsize=(7.0, max(2.5, 0.35 * len(rows) + 1.2)))
    y = np.arange(len(rows))
    vals = [0.0 if np.isnan(r.psi) else r.psi for r in rows]
    ax.barh(y, vals, color=[_STATUS_COLOURS[r.status] for r in rows], height=0.7)
    for yi, r in zip(y, rows, strict=True):
        if not np.isnan(r.critical_value):
            ax.plot([r.critical_value] * 2, [yi - 0.4, yi + 0.4], color="black", lw=1.5)
    ax.axvline(
        table.tau_moderate,
        color=_STATUS_COLOURS["moderate"],
        ls="--",
        lw=1,
        label=f"τ moderate {table.tau_moderate:g}",
    )
    ax.axvline(
        table.tau_significant,
        color=_STATUS_COLOURS["significant"],
        ls="--",
        lw=1,
        label=f"τ significant {table.tau_significant:g}",
    )
    ax.plot([], [], color="black", lw=1.5, label=f"critical value c_α (α = {table.alpha:g})")
    ax.set_yticks(y, [r.feature for r in rows])
    ax.set_xlabel("PSI")
    ax.set_ylabel("feature")
    ax.set_title("Input drift: PSI per feature")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_psi_heat(over_time: Any, ax: Any = None) -> Any:
    """Feature × window heat strip of PSI (colour capped at 2·τ_significant); flagged
    cells are outlined."""
    import numpy as np

    m = over_time.matrix("psi")
    st = over_time.matrix("status")
    ax = _axes(ax, figsize=(9.0, max(2.5, 0.3 * m.shape[0] + 1.5)))
    vmax = 2 * over_time.tau_significant
    im = ax.imshow(
        m.to_numpy(dtype=float),
        aspect="auto",
        cmap="magma_r",
        vmin=0,
        vmax=vmax,
        interpolation="nearest",
    )
    flagged = np.argwhere(st.isin(["moderate", "significant"]).to_numpy())
    ax.scatter(
        flagged[:, 1],
        flagged[:, 0],
        marker="s",
        s=12,
        facecolors="none",
        edgecolors="#1f6feb",
        linewidths=0.8,
        label="flagged",
    )
    ax.set_yticks(range(m.shape[0]), list(m.index))
    step = max(1, m.shape[1] // 10)
    ax.set_xticks(
        range(0, m.shape[1], step),
        [str(c.date()) for c in m.columns[::step]],
        rotation=45,
        ha="right",
    )
    ax.figure.colorbar(im, ax=ax, label="PSI")
    ax.set_xlabel(f"window ({over_time.window})")
    ax.set_ylabel("feature")
    ax.set_title("Input drift over time: PSI per feature and window")
    return ax


def plot_output_drift(result: Any, ax: Any = None) -> Any:
    """Score PSI per window with its band; reference period shaded, out-of-band windows red."""
    import numpy as np

    ax = _axes(ax, figsize=(9.0, 3.6))
    x = np.array(result.windows)
    psi = np.array(result.psi, dtype=float)
    band = np.array(result.band_upper, dtype=float)
    finite = psi[np.isfinite(psi) & (psi > 0)]
    bottom = float(min(finite.min(), np.nanmin(band))) / 2 if finite.size else 1e-4
    ax.fill_between(x, bottom, band, step="mid", color="#1a7f37", alpha=0.15, label="band")
    ax.plot(x, psi, marker="o", ms=3, lw=1, color="#24292f", label="score PSI")
    oob = np.array(result.out_of_band)
    ax.scatter(x[oob], psi[oob], color="#cf222e", zorder=3, s=18, label="outside band")
    ax.axvspan(
        result.reference_period[0],
        result.reference_period[1],
        color="#8c959f",
        alpha=0.15,
        label="reference period",
    )
    ax.axhline(result.tau_moderate, color="#d4a72c", ls="--", lw=1, label="τ moderate")
    ax.set_yscale("log")
    ax.set_ylim(bottom=bottom)
    ax.set_xlabel(f"window start ({result.window})")
    ax.set_ylabel("PSI vs reference period")
    ax.set_title("Output drift: score distribution per window")
    ax.legend(loc="upper left", fontsize="small")
    ax.figure.autofmt_xdate()
    return ax


def plot_outcome_auc(result: Any, ax: Any = None) -> Any:
    """AUC per window with its CI ribbon, the reference AUC and tolerance, and the region
    whose labels are not yet matured shaded."""
    import numpy as np

    ax = _axes(ax, figsize=(9.0, 3.6))
    w = result.windows
    x = np.array([r.window_start for r in w])
    auc = np.array([r.auc for r in w], dtype=float)
    lo = np.array([r.auc_ci_low for r in w], dtype=float)
    hi = np.array([r.auc_ci_high for r in w], dtype=float)
    ax.fill_between(x, lo, hi, color="#1f6feb", alpha=0.2, label=f"{1 - result.ci_alpha:.0%} CI")
    ax.plot(x, auc, marker="o", ms=3, color="#1f6feb", label="AUC (matured labels)")
    ref = result.reference.auc
    ax.axhline(ref, color="#24292f", lw=1, label="reference AUC")
    ax.axhline(
        ref - result.auc_drop_tolerance,
        color="#cf222e",
        ls="--",
        lw=1,
        label=f"reference − {result.auc_drop_tolerance:g}",
    )
    conf = np.array([r.auc_drop_test == "confirmed" for r in w])
    if conf.any():
        ax.scatter(x[conf], auc[conf], color="#cf222e", zorder=3, s=24, label="drop confirmed")
    if len(x):
        ax.axvspan(
            result.maturity_cutoff,
            max(x.max(), result.as_of),
            color="#8c959f",
            alpha=0.2,
            label="labels not matured",
        )
    ax.set_xlabel(f"window start ({result.window})")
    ax.set_ylabel("AUC")
    ax.set_title(f"Outcome drift: AUC at label age {result.label_age.days} d")
    ax.legend(loc="lower left", fontsize="small")
    ax.figure.autofmt_xdate()
    return ax


def plot_reliability(result: Any, ax: Any = None) -> Any:
    """Reliability diagram (mean score vs observed rate per equal-mass bin) of the reference
    period and the latest matured window, on log–log axes (fraud scores are small)."""
    ax = _axes(ax, figsize=(4.8, 4.4))
    series = [("reference", result.reference)]
    matured = [w for w in result.windows if w.reliability_score]
    if matured:
        series.append((f"window {matured[-1].window_start.date()}", matured[-1]))
    lo, hi = 1.0, 0.0
    for (name, w), colour in zip(series, ("#24292f", "#cf222e"), strict=False):
        xs = [v for v, r in zip(w.reliability_score, w.reliability_rate, strict=True) if r > 0]
        ys = [r for r in w.reliability_rate if r > 0]
        ax.plot(xs, ys, marker="o", color=colour, label=f"{name} (ECE {w.ece:.4f})")
        if xs:
            lo, hi = min(lo, *xs, *ys), max(hi, *xs, *ys)
    if hi > lo:
        ax.plot([lo, hi], [lo, hi], color="#8c959f", ls="--", lw=1, label="perfect calibration")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("mean score in bin")
    ax.set_ylabel("observed positive rate")
    ax.set_title(f"Reliability ({result.ece_bins} equal-mass bins)")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_psi_bins(row: Any, ax: Any = None) -> Any:
    """Reference vs current share per (merged) bin of one feature's PSI."""
    import numpy as np

    ax = _axes(ax, figsize=(max(5.0, 0.55 * len(row.bin_labels) + 2), 3.6))
    x = np.arange(len(row.bin_labels))
    ref = np.asarray(row.reference_counts) / max(sum(row.reference_counts), 1)
    cur = np.asarray(row.current_counts) / max(sum(row.current_counts), 1)
    ax.bar(x - 0.2, ref, width=0.4, color="#8c959f", label="reference")
    ax.bar(x + 0.2, cur, width=0.4, color="#1f6feb", label="current")
    ax.set_xticks(x, list(row.bin_labels), rotation=45, ha="right")
    ax.set_xlabel("bin")
    ax.set_ylabel("share of rows")
    ax.set_title(f"{row.feature}: PSI {row.psi:.4f} ({row.status})")
    ax.legend(fontsize="small")
    return ax


def plot_profile_feature(fp: Any, ax: Any = None) -> Any:
    """Reference shares per bin of one profiled feature."""
    import numpy as np

    ax = _axes(ax, figsize=(max(5.0, 0.55 * len(fp.counts) + 2), 3.6))
    x = np.arange(len(fp.counts))
    ax.bar(x, np.asarray(fp.counts) / max(fp.n, 1), color="#8c959f")
    ax.set_xticks(x, list(fp.labels), rotation=45, ha="right")
    ax.set_xlabel("bin")
    ax.set_ylabel("share of reference rows")
    ax.set_title(f"Reference profile: {fp.feature} ({fp.kind}, n = {fp.n:,})")
    return ax


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
def plot_monitoring(result: Any, ax: Any = None) -> Any:
    """One coloured tile per monitoring layer with its severity and owner."""
    from mlopskit.verdict import VERDICT_COLOURS

    layers = list(result.layers)
    ax = _axes(ax, figsize=(8.0, 1.0 + 0.6 * len(layers)))
    for i, layer in enumerate(layers[::-1]):
        sev = str(layer.severity) if layer.severity else "NOT EVALUATED"
        colour = VERDICT_COLOURS.get(sev, "#d0d7de")
        ax.barh(i, 1.0, color=colour, alpha=0.85, height=0.8)
        ax.text(
            0.02,
            i,
            f"{layer.layer.replace('_', ' ')}: {sev}",
            va="center",
            ha="left",
            color="white" if layer.severity else "black",
            fontweight="bold",
        )
        ax.text(
            0.98,
            i,
            f"owner: {layer.owner}",
            va="center",
            ha="right",
            color="white" if layer.severity else "black",
            fontsize="small",
        )
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xticks([])
    ax.set_xlabel("severity: OK < WATCH < ALERT < PAGE")
    ax.set_ylabel("layer")
    ax.set_title(f"Monitoring: {result.verdict}")
    return ax


def plot_service_health(result: Any, policy: Any, ax: Any = None) -> Any:
    """Latency p50/p95/p99 of the latest window with the WATCH and PAGE lines of p99."""
    ax = _axes(ax, figsize=(5.0, 3.4))
    names = ["p50", "p95", "p99"]
    vals = [result.latency_p50, result.latency_p95, result.latency_p99]
    ax.bar(names, vals, color="#1f6feb")
    ax.axhline(policy.latency_p99_watch_ms, color="#9a6700", ls="--", lw=1, label="p99 watch")
    ax.axhline(policy.latency_p99_page_ms, color="#cf222e", ls="--", lw=1, label="p99 page")
    ax.set_xlabel("latency quantile")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"Service health: error rate {result.error_rate:.3%}, {result.n:,} requests")
    ax.legend(fontsize="small")
    return ax


# ---- end monitoring ----------------------------------------------------------------


# ---- registry / gates (issue 8) ----------------------------------------------------
_STAGE_LEVEL = {"None": 0, "Staging": 1, "Production": 2, "Archived": -1}


def registry_history(history: Any, ax: Any = None) -> Any:
    """Stage of each version after each row of the transitions log (a step chart).

    y levels: Archived −1, None 0, Staging 1, Production 2; forced moves are marked ×.
    """
    ax = _axes(ax)
    stages: dict[str, list[tuple[int, int]]] = {}
    forced_x, forced_y = [], []
    for i, t in enumerate(history.transitions):
        level = _STAGE_LEVEL[str(t.to_stage)]
        stages.setdefault(t.display, []).append((i, level))
        if t.forced:
            forced_x.append(i)
            forced_y.append(level)
    n = len(history.transitions)
    for model, points in stages.items():
        xs = [p[0] for p in points] + [max(n - 1, 0)]
        ys = [p[1] for p in points] + [points[-1][1]]
        ax.step(xs, ys, where="post", label=model, linewidth=2)
    if forced_x:
        ax.scatter(forced_x, forced_y, marker="x", s=60, color="#cf222e", label="forced", zorder=3)
    ax.set_yticks(sorted(_STAGE_LEVEL.values()))
    ax.set_yticklabels(sorted(_STAGE_LEVEL, key=_STAGE_LEVEL.__getitem__))
    ax.set_title(f"Registry stages of {history.name}")
    ax.set_xlabel("transitions log row")
    ax.set_ylabel("stage")
    if stages:
        ax.legend(loc="best", fontsize="small")
    return ax


def quality_gate(result: Any, ax: Any = None) -> Any:
    """Each metric's estimate with its one-sided (1 − α) bounds and threshold."""
    ax = _axes(ax)
    for i, m in enumerate(result.metrics):
        colour = "#1a7f37" if m.threshold_passed is not False else "#cf222e"
        ax.errorbar(
            [i],
            [m.estimate],
            yerr=[[m.estimate - m.ci_low], [m.ci_high - m.estimate]],
            fmt="o",
            color=colour,
            capsize=6,
            label=f"{m.metric} (candidate)",
        )
        if m.production_estimate is not None:
            ax.plot(
                [i + 0.15],
                [m.production_estimate],
                "s",
                color="#57606a",
                label=f"{m.metric} (Production)",
            )
        if m.threshold is not None:
            ax.hlines(
                m.threshold,
                i - 0.3,
                i + 0.3,
                colors="#9a6700",
                linestyles="--",
                label=f"{m.metric} threshold",
            )
    ax.set_xticks(range(len(result.metrics)))
    ax.set_xticklabels([m.metric for m in result.metrics])
    ax.set_title(f"Model-quality gate: {result.model} ({'PASS' if result.passed else 'FAIL'})")
    ax.set_xlabel("metric")
    ax.set_ylabel(f"estimate with {1 - 2 * result.alpha:.0%} interval")
    ax.legend(loc="best", fontsize="small")
    return ax


def parity_gate(result: Any, ax: Any = None) -> Any:
    """Share of mismatching rows per feature (feature parity gate)."""
    ax = _axes(ax)
    df = result.to_frame()
    colours = ["#cf222e" if k > 0 else "#1a7f37" for k in df["n_mismatch"]]
    ax.barh(df["feature"], df["share_mismatch"].fillna(0.0), color=colours)
    ax.set_title(f"Feature parity: {result.model} ({'PASS' if result.passed else 'FAIL'})")
    ax.set_xlabel("share of rows that differ")
    ax.set_ylabel("feature")
    return ax


def smoke_latency(result: Any, ax: Any = None) -> Any:
    """Histogram of per-request latency of the staging smoke test, with the p99 budget."""
    ax = _axes(ax)
    if result.latency_ms:
        ax.hist(result.latency_ms, bins=30, color="#0969da")
    ax.axvline(result.latency_p99_budget_ms, color="#cf222e", linestyle="--", label="p99 budget")
    ax.set_title(f"Staging smoke test latency: {result.model}")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("requests")
    ax.legend(loc="best")
    return ax


# ---- end registry / gates ----------------------------------------------------------
