"""Figures of the registry and its gates: stage history, quality, parity, smoke latency."""

from __future__ import annotations

from typing import Any

from mlopskit.plots._common import _axes, _legend

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
        _legend(ax)
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
    _legend(ax)
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
    _legend(ax)
    return ax
