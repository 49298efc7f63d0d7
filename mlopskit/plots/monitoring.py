"""Figures of monitoring: the four layers, service health."""

from __future__ import annotations

from typing import Any

from mlopskit.plots._common import _axes, _legend


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
    _legend(ax)
    return ax


def plot_estimate_check(check: Any, ax: Any = None) -> Any:
    """Positives per window: expected by the estimate (with its bound) vs arrived so far.

    Arrived labels can only grow, so a window whose arrived positives are above the bound
    refutes the estimate's assumption (``check.diverged``, marked)."""
    ax = _axes(ax, figsize=(8.0, 3.6))
    xs = list(check.windows)
    ax.plot(
        xs,
        check.expected_positives,
        color="#1f6feb",
        marker="o",
        ms=3,
        label="expected by the estimate (Σ score)",
    )
    ax.plot(
        xs,
        check.bound,
        color="#1f6feb",
        ls="--",
        lw=1,
        label=f"upper bound (family-wise error {check.alpha:g})",
    )
    ax.plot(xs, check.arrived, color="#24292f", marker="s", ms=3, label="positives labelled so far")
    div = [(x, a) for x, a, d in zip(xs, check.arrived, check.diverged, strict=True) if d]
    if div:
        ax.plot(
            [x for x, _ in div],
            [a for _, a in div],
            ls="none",
            marker="o",
            ms=10,
            mfc="none",
            color="#cf222e",
            label="diverges (above the bound)",
        )
    part = [(x, a) for x, a, c in zip(xs, check.arrived, check.complete, strict=True) if not c]
    if part:
        ax.plot(
            [x for x, _ in part],
            [a for _, a in part],
            ls="none",
            marker="s",
            ms=8,
            mfc="white",
            color="#57606a",
            label="partial window (shown, never flagged)",
        )
    young = [x for x, m in zip(xs, check.matured, strict=True) if not m]
    if young:
        ax.axvspan(
            young[0], check.windows[-1], color="#eaeef2", zorder=0, label="labels still arriving"
        )
    ax.set_xlabel("window start")
    ax.set_ylabel("positive labels per window")
    ax.set_title("Estimated vs arrived positives per window")
    ax.figure.autofmt_xdate()
    _legend(ax)
    return ax
