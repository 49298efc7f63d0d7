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
