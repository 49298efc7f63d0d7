"""Performance estimated from the scores before labels arrive, beside the realized value.

:func:`estimated_performance` applies confidence-based performance estimation
(STATISTICS.md §7.6, :func:`mlopskit.stats.cbpe.estimate_performance`) to every window of
scored events: expected AUC, and precision and recall at the decision threshold, each with a
prediction interval, under the assumption that the served score is calibrated as on the
reference and that ``P(y | x)`` has not changed. Where an :class:`OutcomeDrift` result is given,
the realized AUC of windows whose labels have matured is shown beside the estimate and a
realized value outside the interval is flagged as divergence (evidence of concept drift,
which the estimate cannot see by construction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display, frames
from mlopskit.rows import RowCounts
from mlopskit.stats.calibration import expit
from mlopskit.stats.cbpe import EstimatedMetric, estimate_performance

ASSUMPTION = (
    "the score is calibrated as on the reference and P(y|x) is unchanged (no concept drift); "
    "the estimate cannot see concept drift"
)


@dataclass(frozen=True, slots=True)
class EstimatedPerformance:
    """Estimated (and, where matured, realized) performance per window.

    Attributes
    ----------
    windows : window starts.
    estimates : per window, ``metric → EstimatedMetric`` (``auc``, ``precision``, ``recall``).
    realized_auc : matured AUC of the window from the outcome drift result (NaN otherwise).
    diverged : the realized AUC lies outside the estimate's interval.
    threshold, window, level : the choices behind it.
    assumption : what the estimate assumes, in words.
    row_counts : scored events read, used (in ``[start, as_of)``) and left out (before
        ``start``, at or after ``as_of``), per window in ``by``; from the estimate's group-by.
    """

    windows: tuple[pd.Timestamp, ...]
    estimates: tuple[dict[str, EstimatedMetric], ...]
    realized_auc: tuple[float, ...]
    diverged: tuple[bool, ...]
    threshold: float
    window: str
    level: float
    assumption: str = ASSUMPTION
    row_counts: RowCounts | None = None

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for w, est, real, div in zip(
            self.windows, self.estimates, self.realized_auc, self.diverged, strict=True
        ):
            row: dict[str, Any] = {"window_start": w}
            for m, e in est.items():
                row[f"{m}_estimated"] = e.estimate
                row[f"{m}_ci_low"] = e.ci_low
                row[f"{m}_ci_high"] = e.ci_high
            row["auc_realized"] = real
            row["diverged"] = div
            rows.append(row)
        if self.row_counts is not None and len(self.row_counts.by) == len(rows):
            for row, (_, rc) in zip(rows, self.row_counts.by, strict=True):
                row["n_events"] = rc.used
        return pd.DataFrame(rows)

    def summary(self) -> str:
        n_div = sum(self.diverged)
        head = (
            f"Estimated performance ({self.window} windows, threshold {self.threshold:g}, "
            f"{self.level:.0%} intervals); assumes {self.assumption}."
        )
        if n_div:
            first = next(w for w, d in zip(self.windows, self.diverged, strict=True) if d)
            head += (
                f" Realized AUC diverges from the estimate in {n_div} matured window(s), first "
                f"{first.date()}: the model's relation to the outcome has changed."
            )
        if self.row_counts is not None:
            head += f"\nrows: {self.row_counts.summary()}"
        return head

    def _repr_html_(self) -> str:
        df = self.to_frame()
        df["window_start"] = df["window_start"].astype(str)
        return (
            f"<div><strong>{_display.escape(self.summary())}</strong>"
            f"{_display.table_html(df)}</div>"
        )


def estimated_performance(
    scored: frames.FrameLike,
    *,
    as_of: Any,
    start: Any,
    threshold: float,
    window: str = "7D",
    outcome: Any = None,
    score: str = "score",
    ts: str = "ts",
    level: float = 0.95,
    n_sim: int = 1000,
    seed: int = 0,
) -> EstimatedPerformance:
    """CBPE per window from ``start`` to ``as_of`` (windows anchored at ``start``).

    ``outcome``: an :class:`~mlopskit.drift.outcome.OutcomeDrift` with the same window and
    anchor; its matured windows' AUC is shown beside the estimate, and compared with it only
    when fewer than 5% of the reference positives arrive after its label window (otherwise
    late positives read as negatives and the realized AUC is biased: shown, not compared). Aggregation: one lazy
    group-by of score cells (logit bins of width 0.02, their exact mean logit) × event age.
    """
    contract = frames.SCORED_EVENTS.without("label", "label_ts")
    lf = frames.validate(scored, contract, columns={"score": score, "ts": ts}, frame="scores")
    as_of_t, start_t = pd.Timestamp(as_of), pd.Timestamp(start)
    _, length = frames.parse_window(window)
    cells, read = frames.label_calibration_rows(lf, as_of=as_of_t, start=start_t, has_label=False)
    day = (as_of_t - start_t) / pd.Timedelta(days=1) - cells["age_day"].to_numpy() - 1
    per = length / pd.Timedelta(days=1)
    widx = np.floor(np.maximum(day, 0) / per).astype(int)
    realized = {}
    # a label window shorter than the label delays makes late positives negatives: the
    # realized AUC is then not comparable with the estimate (of eventual labels)
    comparable = outcome is not None and not (getattr(outcome.reference, "late_share", 0.0) > 0.05)
    if outcome is not None:
        realized = {
            pd.Timestamp(w.window_start): w.auc
            for w in outcome.windows
            if w.n_matured and w.n_matured == w.n_events
        }
    wins, ests, reals, divs, by_win = [], [], [], [], {}
    for k in np.unique(widx):
        sel = cells[widx == k]
        p = expit(sel["logit_sum"].to_numpy() / sel["n"].to_numpy())
        est = estimate_performance(
            p,
            p,
            sel["n"].to_numpy(),
            threshold=threshold,
            level=level,
            n_sim=n_sim,
            seed=seed + int(k),
        )
        w0 = start_t + int(k) * length
        by_win[str(w0)] = RowCounts.of(int(sel["n"].sum()), unit="events")
        real = float(realized.get(w0, math.nan))
        wins.append(w0)
        ests.append(est)
        reals.append(real)
        divs.append(bool(comparable and math.isfinite(real) and not est["auc"].contains(real)))
    return EstimatedPerformance(
        windows=tuple(wins),
        estimates=tuple(ests),
        realized_auc=tuple(reals),
        diverged=tuple(divs),
        threshold=float(threshold),
        window=window,
        level=level,
        row_counts=RowCounts.of(
            read["read"],
            {f"before start ({start_t})": read["before"], "at or after as_of": read["after"]},
            by=by_win,
            unit="events",
        ),
    )
