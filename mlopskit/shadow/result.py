"""Shadow result objects: ShadowCheck and ShadowProfile."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display
from mlopskit.policy import ShadowPolicy
from mlopskit.rows import RowCounts
from mlopskit.shadow import tables
from mlopskit.stats.agreement import (
    DecisionAgreement,
    RankCorrelation,
    ScoreGrid,
    TopKOverlap,
)
from mlopskit.verdict import Reason, ShadowVerdict

PARTS = (
    "checks",
    "coverage",
    "offline_live",
    "decisions",
    "capacity",
    "ranks",
    "segments",
    "operations",
    "flips",
    "labels",
)


@dataclass(frozen=True, slots=True)
class ShadowCheck:
    """One policy check of the shadow verdict.

    Attributes
    ----------
    code : stable name (``error_rate``, ``p99_latency_ratio``, ``offline_live_psi`` …).
    kind : ``operational`` / ``parity`` (critical: a failure means FIX), ``evidence``
        (a failure means CONTINUE_SHADOW) or ``advisory`` (a failure only warns).
    value : the measured value.
    lower, upper : the tolerance (``value ≥ lower`` and/or ``value ≤ upper``).
    status : ``pass``, ``fail``, ``insufficient`` (too little data to tell) or ``skipped``
        (input not given).
    message : one sentence with the numbers.
    """

    code: str
    kind: str
    value: float
    lower: float | None
    upper: float | None
    status: str
    message: str

    @property
    def critical(self) -> bool:
        return self.kind in ("operational", "parity")

    @property
    def direction(self) -> str:
        if self.lower is not None and self.upper is not None:
            return "within"
        return ">=" if self.lower is not None else "<="

    def reason(self) -> Reason:
        passed = {"pass": True, "fail": False}.get(self.status)
        bound = self.upper if self.upper is not None else self.lower
        value = None if not np.isfinite(self.value) else float(self.value)
        return Reason(self.code, self.message, passed, value, bound, self.critical)


@dataclass(frozen=True, slots=True, eq=False)
class ShadowProfile:
    """Shadow disagreement profile of a challenger against the champion.

    Attributes
    ----------
    verdict, reasons, checks : the decision, one ``Reason`` per check, and the checks with
        direction, tolerance and status.
    threshold : the shared decision threshold (flag when ``score ≥ threshold``).
    capacity_threshold : the challenger threshold (a grid edge) whose flag count is closest
        to the champion's at ``threshold``.
    decisions, capacity : the 2×2 agreement at ``threshold`` and at the capacity-matched
        challenger threshold (complete pairs only; lost calls are in ``coverage``).
    spearman, kendall, top_k : rank agreement on ``sample_n`` pairs (``sample_method``).
    coverage, offline_live, segments, operations, flips, labels : tidy tables (``labels`` is
        empty when there are no matured labels).
    n_requests, duration_days, ts_min, ts_max, as_of : the window (duration in calendar days).
    alpha, min_n, review_k, grid, label_maturity_days, policy : the choices made.
    hist_* : grid histograms kept for the plots.
    warnings : data problems that did not stop the analysis.
    row_counts : requests read, used in the paired statistics and left out (missing score),
        with the matured-label breakdown (:class:`~mlopskit.rows.RowCounts`).
    """

    verdict: ShadowVerdict
    reasons: tuple[Reason, ...]
    checks: tuple[ShadowCheck, ...]
    threshold: float
    capacity_threshold: float
    decisions: DecisionAgreement
    capacity: DecisionAgreement
    spearman: RankCorrelation
    kendall: RankCorrelation
    top_k: TopKOverlap
    coverage: pd.DataFrame
    offline_live: pd.DataFrame
    segments: pd.DataFrame
    operations: pd.DataFrame
    flips: pd.DataFrame
    labels: pd.DataFrame
    n_requests: int
    duration_days: int
    ts_min: pd.Timestamp
    ts_max: pd.Timestamp
    as_of: pd.Timestamp
    sample_n: int
    sample_method: str
    alpha: float
    min_n: int
    review_k: int
    grid: ScoreGrid
    label_maturity_days: int
    policy: ShadowPolicy
    hist_champion: np.ndarray = field(repr=False)
    hist_challenger: np.ndarray = field(repr=False)
    hist_offline: np.ndarray | None = field(repr=False)
    latency_champion: np.ndarray = field(repr=False)
    latency_challenger: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()
    row_counts: RowCounts | None = None

    # ---- tables ------------------------------------------------------------------
    def to_frame(self, part: str = "checks") -> pd.DataFrame:
        """One part of the profile as a tidy table; ``part`` is one of ``PARTS``."""
        if part not in PARTS:
            raise ValueError(f"`part` must be one of {PARTS}; got {part!r}.")
        if part == "checks":
            return pd.DataFrame(
                [
                    {
                        "check": c.code,
                        "kind": c.kind,
                        "critical": c.critical,
                        "direction": c.direction,
                        "value": c.value,
                        "lower": np.nan if c.lower is None else c.lower,
                        "upper": np.nan if c.upper is None else c.upper,
                        "status": c.status,
                        "message": c.message,
                    }
                    for c in self.checks
                ]
            )
        if part in ("decisions", "capacity"):
            rows = [("threshold", self.threshold, self.decisions)]
            rows.append(("capacity_matched", self.capacity_threshold, self.capacity))
            df = pd.DataFrame([tables.agreement_row(v, t, a, self.alpha) for v, t, a in rows])
            return df if part == "decisions" else df.iloc[[1]].reset_index(drop=True)
        if part == "ranks":
            stats_rows: list[dict[str, Any]] = []
            for r in (self.spearman, self.kendall):
                stats_rows.append(
                    {
                        "statistic": r.method,
                        "estimate": r.estimate,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "p_value": r.p_value,
                        "n": r.n,
                        "method": r.se_method or "scipy.stats.kendalltau(variant='b')",
                    }
                )
            t = self.top_k
            stats_rows.append(
                {
                    "statistic": "top_k_overlap",
                    "estimate": t.share,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "p_value": t.p_value,
                    "n": t.n,
                    "method": f"k={t.k} of {t.n} sampled pairs (queue {self.review_k}); "
                    f"overlap {t.overlap} vs random k²/n = {t.expected_random:.1f} "
                    f"(lift {t.lift:.1f})",
                }
            )
            df = pd.DataFrame(stats_rows)
            df["sample"] = self.sample_method
            return df
        return getattr(self, part).copy()

    # ---- text and HTML -----------------------------------------------------------
    __repr__ = _display.short_repr

    def summary(self) -> str:
        d, cap = self.decisions, self.capacity
        lines = [
            f"Shadow verdict: {self.verdict}",
            f"window: {self.ts_min} → {self.ts_max} ({self.duration_days} days), "
            f"{self.n_requests:,} requests, {d.n:,} scored by both",
            *([f"rows: {self.row_counts.summary()}"] if self.row_counts is not None else []),
            f"at threshold {self.threshold:g}: flag rate champion {d.flag_rate_champion:.4%} "
            f"challenger {d.flag_rate_challenger:.4%}; κ {d.kappa.kappa:.3f} "
            f"(SE {d.kappa.se:.3f}); Jaccard {d.jaccard:.3f}; McNemar p "
            f"{d.mcnemar.p_value:.3g}",
            f"capacity-matched challenger threshold {self.capacity_threshold:.4g}: Jaccard "
            f"{cap.jaccard:.3f}",
            f"ranks on {self.sample_n:,} sampled pairs: Spearman {self.spearman.estimate:.3f} "
            f"[{self.spearman.ci_low:.3f}, {self.spearman.ci_high:.3f}], Kendall τ_b "
            f"{self.kendall.estimate:.3f}; top-{self.top_k.k} overlap {self.top_k.share:.2f} "
            f"(random {self.top_k.k / self.top_k.n:.3f})",
            "checks:",
        ]
        mark = {"pass": "✔", "fail": "✘", "insufficient": "?", "skipped": "·"}
        lines += [f"  {mark[c.status]} {c.message}" for c in self.checks]
        top = self.segments[self.segments["rank"] == 1]
        if len(top):
            r = top.iloc[0]
            lines.append(
                f"disagreement concentrates in {r['segment']}={r['value']} "
                f"(lift {r['lift']:.2f}, q {r['q_value']:.3g})"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [
            _display.verdict_html(self.verdict, "Shadow", self.reasons),
            _display.warnings_html(self.warnings),
            _display.table_html(self.to_frame("coverage"), caption="1. Coverage"),
            _display.table_html(self.to_frame("offline_live"), caption="2. Offline vs live"),
            _display.table_html(
                self.to_frame("decisions")
                .set_index("view")
                .T.astype(float)
                .rename_axis("statistic")
                .reset_index(),
                caption="3–4. Decisions at the threshold and capacity-matched",
            ),
            _display.table_html(self.to_frame("ranks"), caption="5. Ranks"),
            _display.table_html(self.to_frame("segments"), caption="6. Segments"),
            _display.table_html(self.to_frame("operations"), caption="7. Operations"),
            _display.table_html(self.to_frame("flips"), caption="8. Flip sample"),
            _display.table_html(self.to_frame("labels"), caption="9. Matured labels"),
        ]
        return "<div class='mk-shadow'>" + "".join(parts) + "</div>"

    def plot(self, kind: str = "decisions", ax: Any = None) -> Any:
        """``kind``: ``decisions`` (flag rates), ``scores`` (live vs offline CDFs),
        ``segments`` (disagreement by segment) or ``latency`` (quantiles per model)."""
        from mlopskit import plots

        funcs = {
            "decisions": plots.plot_shadow_decisions,
            "scores": plots.plot_shadow_scores,
            "segments": plots.plot_shadow_segments,
            "latency": plots.plot_shadow_latency,
        }
        if kind not in funcs:
            raise ValueError(f"`kind` must be one of {tuple(funcs)}; got {kind!r}.")
        return funcs[kind](self, ax=ax)
