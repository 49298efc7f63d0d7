"""Figures of the shadow profile: decisions, scores, segments, latency."""

from __future__ import annotations

from typing import Any

from mlopskit.plots._common import _axes, _legend


def plot_shadow_decisions(profile: Any, ax: Any = None) -> Any:
    """Flag rates of both models (Wilson CIs), each at its own threshold and with the
    challenger capacity-matched (what-if), with the 2×2 counts under each pair of bars."""
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
        (
            f"own thresholds\nchampion {r.threshold_champion:.4g} · challenger "
            f"{r.threshold_challenger:.4g}\n"
            if r.view == "own_thresholds"
            else "what-if: challenger at the\nchampion's flag count\n"
        )
        + f"both {r.both:,} · champ only {r.champion_only:,}\n"
        f"chall only {r.challenger_only:,} · Jaccard {r.jaccard:.2f}"
        for r in df.itertuples()
    ]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_title(f"Shadow decisions: flag rates ({profile.verdict})")
    ax.set_xlabel("decision view")
    ax.set_ylabel("flag rate (95% Wilson CI)")
    _legend(ax)
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
    ax.axvline(
        profile.threshold, color="#57606a", lw=1, ls=":",
        label=f"champion threshold {profile.threshold:g}",
    )  # fmt: skip
    if profile.challenger_threshold != profile.threshold:
        ax.axvline(
            profile.challenger_threshold, color="#0969da", lw=1, ls=":",
            label=f"challenger threshold {profile.challenger_threshold:g}",
        )  # fmt: skip
    ax.set_xscale("logit")
    lo = profile.grid.quantile(profile.hist_champion, 0.0005)
    hi = profile.grid.quantile(profile.hist_champion, 0.9999)
    top = max(profile.threshold, profile.challenger_threshold)
    ax.set_xlim(max(lo, 1e-7), min(max(hi, 2 * top), 0.999))
    ax.set_title("Score distributions: live vs offline")
    ax.set_xlabel("score (logit scale)")
    ax.set_ylabel("cumulative share")
    _legend(ax)
    return ax


def plot_shadow_segments(profile: Any, ax: Any = None, top: int = 15) -> Any:
    """Disagreement rate by segment value (ranked) against what the other values give at
    the same score positions (black tick); red: a disagreement hot spot."""
    import numpy as np

    df = profile.to_frame("segments")
    df = df[~df["suppressed"].astype(bool)].head(top)
    ax = _axes(ax, figsize=(7.0, max(2.5, 0.3 * len(df) + 1)))
    names = [f"{s}={v}" for s, v in zip(df["segment"], df["value"], strict=True)]
    colours = ["#cf222e" if h else "#8c959f" for h in df["hot_spot"].astype(bool)]
    y = np.arange(len(df))[::-1]
    ax.barh(y, df["disagreement_rate"].to_numpy(), color=colours, label="observed")
    ax.scatter(
        df["expected_disagreement_rate"].to_numpy(), y, marker="|", s=120, color="#1f2328",
        zorder=3, label="expected at its score positions",
    )  # fmt: skip
    ax.set_yticks(y, names)
    ax.set_title("Where the models disagree (red: hot spot, BH across values)")
    ax.set_xlabel("disagreement rate, each model at its own threshold")
    ax.set_ylabel("segment value")
    _legend(ax)
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
    _legend(ax)
    return ax
