"""Figures of drift monitoring: PSI tables and heatmaps, score band, outcome drift,
reference profiles.
"""

from __future__ import annotations

from typing import Any

from mlopskit.plots._common import _axes, _legend

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
    _legend(ax)
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
    _legend(ax)
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
    _legend(ax)
    ax.figure.autofmt_xdate()
    return ax


def plot_reliability(result: Any, ax: Any = None) -> Any:
    """Reliability diagram (mean score vs observed rate per equal-mass bin) of the reference
    period and the latest matured window, on log–log axes (fraud scores are small)."""
    ax = _axes(ax, figsize=(5.4, 5.6))
    series = [("reference", result.reference)]
    matured = [w for w in result.windows if w.reliability_score]
    if matured:
        series.append((f"window {matured[-1].window_start.date()}", matured[-1]))
    lo, hi = 1.0, 0.0
    for _, w in series:
        vals = [v for v in (*w.reliability_score, *w.reliability_rate) if v > 0]
        if vals:
            lo, hi = min(lo, *vals), max(hi, *vals)
    floor = lo / 2  # bins with no positive are drawn here (log axes have no 0)
    empty_total = 0
    for (name, w), colour in zip(series, ("#24292f", "#cf222e"), strict=False):
        pairs = list(zip(w.reliability_score, w.reliability_rate, strict=True))
        xs = [v for v, r in pairs if r > 0]
        ys = [r for _, r in pairs if r > 0]
        empty = [v for v, r in pairs if r <= 0 and v > 0]
        empty_total += len(empty)
        ax.plot(
            xs, ys, marker="o", color=colour, label=f"{name} (ECE {w.ece:.4f}, {len(pairs)} bins)"
        )
        # counts per bin: "positives/rows" beside each point (the rows a point rests on)
        counts = list(getattr(w, "reliability_n", ()) or ())
        pos = list(getattr(w, "reliability_positives", ()) or ())
        if len(counts) == len(pairs) and len(pos) == len(pairs):
            dy = 6 if colour == "#24292f" else -10
            for (v, r), n_b, k in zip(pairs, counts, pos, strict=True):
                if v > 0:
                    ax.annotate(
                        f"{int(k):,}/{n_b:,}",
                        (v, r if r > 0 else floor),
                        textcoords="offset points",
                        xytext=(4, dy),
                        fontsize=6.5,
                        color=colour,
                    )
        if empty:
            ax.plot(
                empty,
                [floor] * len(empty),
                ls="none",
                marker="v",
                mfc="none",
                color=colour,
                label=f"{name}: {len(empty)} bin(s) with no positive (at the floor)",
            )
    if hi > lo:
        ax.plot([lo, hi], [lo, hi], color="#8c959f", ls="--", lw=1, label="perfect calibration")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("mean score in bin")
    ax.set_ylabel("observed positive rate")
    ax.set_title(
        f"Reliability ({result.ece_bins} equal-mass bins; labels: positives/rows per bin"
        + (f"; {empty_total} with no positive at the floor)" if empty_total else ")")
    )
    # legend below the x-axis label (a fixed 0.55 in under the axes): to the right, its long
    # labels left the square log–log axes no width and constrained layout collapsed
    from matplotlib.transforms import ScaledTranslation

    below = ax.transAxes + ScaledTranslation(0.0, -0.55, ax.figure.dpi_scale_trans)
    _legend(ax, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below)
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
    _legend(ax)
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
