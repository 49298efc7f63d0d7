"""Lean report sections: the canary's tables in the card's units, history folded.

The result objects keep every number (``to_frame()``, ``decision.json``); a report shows
what an approver reads: one row per metric with effect, interval and margin in business
units (the chips' numbers, the same ones), the daily verdicts folded behind a one-line
summary, and no internal columns (taxonomy row numbers, standard errors, method names).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlopskit import _format as fmt
from mlopskit._display import escape, table_html
from mlopskit.report.card import Chip, chips

#: tables longer than this are folded behind a one-line summary.
FOLD_ROWS = 15


def folded(inner_html: str, summary: str, *, open_: bool = False) -> str:
    """``inner_html`` under a ``<details>`` whose summary line is ``summary``."""
    return (
        f'<details class="mk-details"{" open" if open_ else ""}><summary>{escape(summary)}'
        f"</summary>{inner_html}</details>"
    )


def _level(c: Chip, x: float) -> str:
    w = c.words
    if w.kind == "rate":
        return fmt.rate(x)
    if w.kind == "quantity":
        return fmt.quantity(x, w.unit, 3)
    return f"{fmt.sig(x, 3)} per $"


def canary_frame(canary: Any, words: Any = None) -> pd.DataFrame:
    """One row per metric, every cell a formatted string with its unit."""
    by = {m.metric.name: m for m in canary.metrics}
    rows = []
    for c in chips(canary, words):
        m = by[c.metric]
        hidden = c.status == "hidden"
        rows.append(
            {
                "metric": c.label,
                "role": c.role if c.gating else "secondary (not gating)",
                "status": c.status if not hidden else "not read",
                "control": _level(c, m.mean_control),
                "canary": "—" if hidden else _level(c, m.mean_canary),
                "effect": "—" if hidden else c.effect_text,
                "interval (decision)": "—" if hidden else c.interval_text,
                "margin": c.margin_text,
                "power at margin": fmt.percent(m.design_power, 2),
                "labels matured": fmt.percent(m.matured_share, 3),
            }
        )
        if any(x.metric.cap is not None for x in canary.metrics):
            rows[-1]["cap (decided on the capped mean)"] = _cap_cell(m)
    return pd.DataFrame(rows)


def _cap_cell(m: Any) -> str:
    """ "capped at 2,000: 0.4% of control, 0.6% of canary values above; uncapped …"."""
    cap = m.metric.cap
    if cap is None:
        return "—"
    scale = "relative " if m.metric.relative else ""
    return (
        f"capped at {cap:,g}: {fmt.percent(m.above_cap_control)} of control, "
        f"{fmt.percent(m.above_cap_canary)} of canary values above the cap; uncapped "
        f"{scale}difference {fmt.sig(m.uncapped_effect)} "
        f"{fmt.interval(m.uncapped_ci_low, m.uncapped_ci_high)}"
    )


def canary_html(canary: Any, words: Any = None) -> str:
    """The canary section: the per-metric table, effects hidden when the split is invalid."""
    if canary is None:
        return '<p class="mk-note"><em>No canary log in the data: this section is empty.</em></p>'
    kind = "confidence sequences (safe under daily looks)" if canary.sequential else "fixed CIs"
    cap = (
        f"Canary vs control at {canary.as_of:%Y-%m-%d}: decisions on {kind}, each one-sided at "
        f"{fmt.sig(canary.alpha, 2)}; margins are how much worse the canary may be."
    )
    note = ""
    if str(canary.verdict) == "INVALID":
        note = (
            '<p class="mk-note"><strong>The split is invalid (sample-ratio mismatch): no '
            "effect is read.</strong> Fix the assignment or logging and restart the canary.</p>"
        )
    html = note + table_html(canary_frame(canary, words), caption=cap)
    labels = label_windows_frame(canary, words)
    if len(labels) and str(canary.verdict) != "INVALID":
        html += table_html(
            labels,
            caption=(
                "Label windows: a unit counts once its window W has elapsed, with the labels "
                "that arrived within it. F̂(W) = share of the arm's eventual labels known at "
                "age W (chain ladder per arm); when the arms mature differently the window is "
                "biased and not decided on. The effect on all labels arrived by the as-of is a "
                "sensitivity check, not a decision."
            ),
        )
    return html


def label_windows_frame(canary: Any, words: Any = None) -> pd.DataFrame:
    """One row per label metric: window, F̂(W) per arm, bias, the all-labels row."""
    by = {c.metric: c for c in chips(canary, words)}
    caps = {m.metric.name: m.metric.cap for m in getattr(canary, "metrics", ())}
    capped = any(caps.get(lw.metric) is not None for lw in getattr(canary, "label_windows", ()))
    short = any(lw.window_days < lw.horizon_days for lw in getattr(canary, "label_windows", ()))
    rows = []
    for lw in getattr(canary, "label_windows", ()):
        c = by.get(lw.metric)
        if c is None:
            continue
        rows.append(
            {
                "metric": c.label,
                "window W": fmt.days(lw.window_days),
                "F̂(W) control": fmt.percent(lw.maturity_control, 3),
                "F̂(W) canary": fmt.percent(lw.maturity_canary, 3),
                "bias (share of margin)": fmt.percent(lw.bias_share, 2),
                "window biased": "yes: not decided" if lw.biased else "no",
                "effect on all labels": c.value(lw.all_labels_effect),
                "interval (all labels, fixed)": (
                    f"[{c.number(lw.all_labels_low)}, {c.number(lw.all_labels_high)}]"
                    f"{'' if c.unit_text == '%' else ' '}{c.unit_text}"
                ),
            }
        )
        if short:  # the late-labels guard (labels after W beyond the control's maturing)
            rows[-1]["late labels beyond control's maturing (share of margin)"] = (
                "—"
                if pd.isna(lw.late_excess)
                else f"{c.value(lw.late_excess)} ({fmt.percent(lw.late_excess_share, 2)})"
                + ("; not decided" if lw.late_guarded else "")
            )
        if capped:  # F̂, bias and the all-labels effect are on the capped values
            cap = caps.get(lw.metric)
            rows[-1]["cap (F̂ and all labels on the capped values)"] = (
                "—"
                if cap is None
                else f"capped at {cap:,g}; uncapped difference on all labels "
                f"{fmt.sig(lw.all_labels_uncapped_effect)} "
                f"{fmt.interval(lw.all_labels_uncapped_low, lw.all_labels_uncapped_high)}"
            )
    return pd.DataFrame(rows)


def history_html(history: Any) -> str:
    """Boundary crossings (one row per metric) and the daily verdicts, folded."""
    if history is None:
        return ""
    cross = history.crossings.copy()
    for col in cross.columns:
        if col != "metric":
            cross[col] = [
                "—" if pd.isna(t) else pd.Timestamp(t).strftime("%Y-%m-%d") for t in cross[col]
            ]
    v = history.verdicts
    daily = pd.DataFrame(
        {
            "date": [pd.Timestamp(t).strftime("%Y-%m-%d") for t in v["as_of"]],
            "units control": [fmt.count(x) for x in v["units_control"]],
            "units canary": [fmt.count(x) for x in v["units_canary"]],
            "split check p": [fmt.p_value(x) for x in v["srm_p"]],
            "verdict": [str(x) for x in v["verdict"]],
        }
    )
    changes = (daily["verdict"] != daily["verdict"].shift()).sum()
    summary = (
        f"Verdict by day: {fmt.count(len(daily))} daily looks, {fmt.count(changes)} verdict "
        f"change(s), last {daily['verdict'].iloc[-1] if len(daily) else '—'}"
    )
    return table_html(
        cross, caption="First day each boundary was crossed (decision interval)"
    ) + folded(table_html(daily), summary, open_=len(daily) <= FOLD_ROWS)


class Html:
    """A ready HTML fragment for a notebook cell (``_repr_html_``; short text repr)."""

    __slots__ = ("html", "what")

    def __init__(self, html: str, what: str = "section") -> None:
        self.html = html
        self.what = what

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<{self.what}: {len(self.html):,} characters of HTML>"


def canary(result: Any, words: Any = None) -> Html:
    """The canary section of a report (see :func:`canary_html`)."""
    return Html(canary_html(result, words), "canary section")


def history(result: Any) -> Html:
    """The canary's daily looks (see :func:`history_html`)."""
    return Html(history_html(result), "canary history")


def canary_figures(result: Any, daily: Any = None) -> Any:
    """The forest plot of effects and the funnel of the decision interval over days; none
    when the split is invalid (no effect is read)."""
    from mlopskit.report.rendering import Figures, Note, figure

    if result is None:
        return Note("No figure: the section has no data.")
    if str(result.verdict) == "INVALID":
        return Note("No effect figure: the split is invalid, so no effect is read.")
    figs = [figure(result.plot())]
    if daily is not None:
        figs.append(figure(daily.plot()))
    return Figures(tuple(figs))
