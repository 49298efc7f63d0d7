"""Canary result objects: MetricResult, CanaryResult, CanaryHistory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlopskit import _display
from mlopskit.policy import CanaryPolicy
from mlopskit.rows import RowCounts
from mlopskit.verdict import CanaryVerdict, Reason

if TYPE_CHECKING:
    pass
from mlopskit.canary.evaluate import _Evaluation
from mlopskit.canary.labels import LabelWindow
from mlopskit.canary.looks import ArmStats
from mlopskit.canary.metrics import TAXONOMY, Metric


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric at the analysis time.

    Attributes
    ----------
    metric : the declaration (direction, margin, relative, role).
    control, canary : the sufficient statistics behind every number below.
    mean_control, mean_canary : per-arm estimate (rate, mean or ratio; CUPED-adjusted when a
        covariate is used).
    effect : ``canary − control`` (or ``canary/control − 1`` when relative).
    se : standard error of ``effect`` on the scale of ``effect`` (for relative metrics the
        delta-method ``(1 + effect)·se_log``).  se_log : for relative metrics the SE of
        ``ln(canary/control)``, the scale every interval and test of the metric is computed
        on (mapped back with ``exp(x) − 1``); ``nan`` otherwise.
    ci_low, ci_high : fixed-horizon two-sided ``1 − 2·alpha`` CI (one-sided ``alpha`` per
        side).
    ci_method : ``wald``, ``newcombe``, ``welch``, ``normal``, ``delta``,
        ``log ratio (delta)`` or ``cuped, …``.  p_value : two-sided test of no difference
        with the same SE (and df) as the interval: unpooled z for proportions, Welch's t
        for means, z on the log scale for relative metrics.
    cs_low, cs_high : one-sided confidence sequences at ``alpha`` each (running
        intersection over daily looks); ``nan`` before burn-in and until the normal
        approximation is valid.
    p_harm : one-sided p-value of "canary harms this metric" (always-valid when sequential).
    decision_low, decision_high : the interval the taxonomy used (CS or fixed CI).
    row : taxonomy row 1–7 (STATISTICS.md §2); ``taxonomy`` its label.
    design_power : power to show non-inferiority if the true effect is 0, at the current
        size, of the rule applied: ``Φ((|Δ| − h_n)/SE)`` with ``h_n`` the one-sided sequence
        half-width when sequential, ``Φ(|Δ|/SE − z_{1−α})`` for a fixed look (Δ as
        ``ln(1 + Δ)`` when relative); never "observed power".
    n_needed : total units for ``policy.power`` (sequential-aware when sequential).
    days_to_decision : ``(n_needed − n)/units per day``; 0 once decided.
    matured_share : counted units / exposed units (below 1 for label-based metrics).
    theta : CUPED coefficient (``nan`` without covariate).
    skewness : pooled sample skewness of the values (Bernoulli skewness for proportions);
        mean and ratio metrics wait for ``|skewness of the difference| ≤
        1/sqrt(policy.skewness_factor)`` (``normal_ok``).
    missing_control, missing_canary : units whose value was missing and dropped.
    filled_control, filled_canary : missing values replaced by the declared
        ``fill_missing``.  missing_p : p-value of equal missingness in both arms (always
        valid over daily looks when sequential).
    above_cap_control, above_cap_canary : for a capped metric (``metric.cap``), the share of
        values above the cap per arm (every number above is of ``min(y, cap)``; the
        companion metric ``<name>_above_cap`` tests that share).  uncapped_mean_control,
        uncapped_mean_canary, uncapped_effect, uncapped_ci_low, uncapped_ci_high : the
        uncapped estimates and fixed ``1 − 2·alpha`` interval, shown, never decided on
        (``nan`` without a cap).
    """

    metric: Metric
    control: ArmStats
    canary: ArmStats
    mean_control: float
    mean_canary: float
    effect: float
    se: float
    ci_low: float
    ci_high: float
    ci_method: str
    p_value: float
    cs_low: float
    cs_high: float
    p_harm: float
    decision_low: float
    decision_high: float
    row: int
    design_power: float
    n_needed: float
    days_to_decision: float
    matured_share: float
    theta: float
    se_log: float = float("nan")
    skewness: float = float("nan")
    normal_ok: bool = True
    missing_control: float = 0.0
    missing_canary: float = 0.0
    filled_control: float = 0.0
    filled_canary: float = 0.0
    missing_p: float = 1.0
    above_cap_control: float = float("nan")
    above_cap_canary: float = float("nan")
    uncapped_mean_control: float = float("nan")
    uncapped_mean_canary: float = float("nan")
    uncapped_effect: float = float("nan")
    uncapped_ci_low: float = float("nan")
    uncapped_ci_high: float = float("nan")

    @property
    def taxonomy(self) -> str:
        return TAXONOMY[self.row]


#: numbers of a MetricResult read straight from the metric path at one look
_PATH_FIELDS = (
    "mean_control", "mean_canary", "effect", "se", "ci_low", "ci_high", "ci_method",
    "p_value", "cs_low", "cs_high", "p_harm", "decision_low", "decision_high", "row",
    "design_power", "n_needed", "days_to_decision", "theta", "se_log", "skewness",
    "missing_control", "missing_canary", "filled_control", "filled_canary", "missing_p",
    "above_cap_control", "above_cap_canary", "uncapped_mean_control", "uncapped_mean_canary",
    "uncapped_effect", "uncapped_ci_low", "uncapped_ci_high",
)  # fmt: skip


def _metric_results(ev: _Evaluation, k: int, metrics: Sequence[Metric]) -> tuple[MetricResult, ...]:
    look = ev.looks[k]
    units = look.units_control + look.units_canary
    out = []
    for m in metrics:
        a = {key: v[k] for key, v in ev.paths[m.name].items()}
        vals: dict[str, Any] = {
            f: str(a[f]) if f == "ci_method" else int(a[f]) if f == "row" else float(a[f])
            for f in _PATH_FIELDS
        }
        share = float((a["n_control"] + a["n_canary"]) / units) if units else float("nan")
        out.append(
            MetricResult(
                metric=m,
                control=look.control[m.name],
                canary=look.canary[m.name],
                matured_share=share,
                normal_ok=int(a["gate"]) != 2,
                **vals,
            )
        )
    return tuple(out)


#: to_frame() columns, in order (the metric declaration, then the numbers)
_FRAME_COLUMNS = (
    "metric", "role", "kind", "direction", "relative", "margin", "n_control", "n_canary",
    "mean_control", "mean_canary", "effect", "se", "ci_low", "ci_high", "ci_method",
    "p_value", "cs_low", "cs_high", "p_harm", "decision_low", "decision_high", "row",
    "taxonomy", "design_power", "days_to_decision", "matured_share", "se_log", "skewness",
    "normal_ok", "missing_control", "missing_canary", "filled_control", "filled_canary",
    "missing_p", "cap", "above_cap_control", "above_cap_canary", "uncapped_effect",
    "uncapped_ci_low", "uncapped_ci_high",
)  # fmt: skip


def _rows(results: Sequence[MetricResult]) -> pd.DataFrame:
    recs = []
    for r in results:
        m = r.metric
        rec: dict[str, Any] = {
            "metric": m.name,
            "n_control": int(r.control.n),
            "n_canary": int(r.canary.n),
            "cap": float("nan") if m.cap is None else float(m.cap),
        }
        for col in _FRAME_COLUMNS:
            if col not in rec:
                rec[col] = (
                    getattr(m, col)
                    if col in ("role", "kind", "direction", "relative", "margin")
                    else getattr(r, col)
                )
        recs.append(rec)
    return pd.DataFrame(recs, columns=list(_FRAME_COLUMNS))


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """Canary vs control at ``as_of``: the verdict, its reasons and every number behind them.

    Attributes
    ----------
    verdict : PROMOTE | ROLLBACK | CONTINUE | INVALID.
    reasons : the checks behind it, as :class:`~mlopskit.verdict.Reason` data.
    metrics : one :class:`MetricResult` per declared metric.
    as_of, first_exposure, days : analysis time, first exposure, days between them.
    units_control, units_canary : units exposed by ``as_of``; ``srm_p`` the SRM p-value
        against ``expected_split`` (control, canary): always-valid (sequential mixture
        test) when ``sequential``, chi-square otherwise.
    alpha : one-sided error of every decision (harm, non-inferiority, superiority), the
        policy's ``alpha`` (0.025) by default; fixed intervals are two-sided ``1 − 2α``.
    stopped_at : when sequential and an earlier daily look reached a terminal verdict
        (PROMOTE / ROLLBACK / INVALID), the result is that look's (the canary stops at its
        first decision) and ``stopped_at`` its time; ``None`` otherwise.
    sequential : decisions on confidence sequences (safe under daily peeking) or fixed CIs.
    planned_days : tuning of the sequences.  maturity_days : label window.
    covariate : CUPED covariate column, if any.
    days_to_decision : projected days until every undecided metric decides (``nan`` once
        decided); ``days_lower_bound`` when it is only a lower bound (labels not matured).
    policy : the canary policy section used.  warnings : data problems kept with the result.
    row_counts : units read, used (exposed by ``as_of``) and left out, per arm.
    label_windows : one :class:`~mlopskit.canary.labels.LabelWindow` per label metric (when
        label arrival times are known): window W, ``F̂(W)`` per arm, the bias from
        differential maturity and whether it stopped the metric from deciding, the
        all-labels sensitivity effect; ``label_frame()`` shows them as a table.
    decision_expected : for a CONTINUE whose enrolment ended and whose undecided metrics
        are all label-based, the date the decision is expected without new traffic.
    """

    verdict: CanaryVerdict
    reasons: tuple[Reason, ...]
    metrics: tuple[MetricResult, ...]
    as_of: pd.Timestamp
    first_exposure: pd.Timestamp | None
    days: float
    units_control: int
    units_canary: int
    expected_split: tuple[float, float]
    srm_p: float
    alpha: float
    sequential: bool
    planned_days: float
    maturity_days: float
    covariate: str | None
    days_to_decision: float
    days_lower_bound: bool
    policy: CanaryPolicy
    warnings: tuple[str, ...] = ()
    stopped_at: pd.Timestamp | None = None
    row_counts: RowCounts | None = None
    label_windows: tuple[LabelWindow, ...] = ()
    decision_expected: pd.Timestamp | None = None

    def label_frame(self) -> pd.DataFrame:
        """One row per label metric: window, per-arm maturity, bias, sensitivity row."""
        return pd.DataFrame([lw.to_dict() for lw in self.label_windows])

    def __getitem__(self, name: str) -> MetricResult:
        for r in self.metrics:
            if r.metric.name == name:
                return r
        raise KeyError(f"no metric {name!r}; metrics are {[r.metric.name for r in self.metrics]}.")

    def to_frame(self) -> pd.DataFrame:
        """One row per metric (stable snake_case columns)."""
        return _rows(self.metrics)

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        head = (
            f"Canary vs control as of {self.as_of} ({self.days:.1f} days, "
            f"{self.units_control:,} control / {self.units_canary:,} canary units): "
            f"{self.verdict}"
        )
        lines = [head]
        if self.row_counts is not None:
            lines.append(f"rows: {self.row_counts.summary()}")
        lines += [f"  - {r.message}" for r in self.reasons]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  ! {w}" for w in self.warnings]
        cols = [
            "metric",
            "effect",
            "ci_low",
            "ci_high",
            "decision_low",
            "decision_high",
            "margin",
            "taxonomy",
        ]
        lines.append(_display.text_table(self.to_frame()[cols]))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        kind = "confidence sequences" if self.sequential else "fixed CIs"
        cap = (
            f"Decisions on {kind}; each decision one-sided at alpha = {self.alpha:g}; fixed "
            f"intervals two-sided {1 - 2 * self.alpha:.0%}."
        )
        html = (
            _display.verdict_html(self.verdict, "Canary", self.reasons)
            + _display.warnings_html(self.warnings)
            + _display.table_html(self.to_frame(), caption=cap)
        )
        if self.label_windows:
            html += _display.table_html(
                self.label_frame(),
                caption="Label windows: maturity F̂(W) per arm (chain ladder), bias from "
                "differential maturity, and the effect on all labels available (sensitivity).",
            )
        return html

    def plot(self, ax: Any = None) -> Any:
        """Forest plot of effects with CIs, decision intervals, margins and zero."""
        from mlopskit import plots

        return plots.canary_forest(self, ax=ax)


@dataclass(frozen=True, slots=True)
class CanaryHistory:
    """The canary analysis as of the end of every day (and ``as_of``).

    Attributes
    ----------
    looks : per look and metric: ``as_of, days, metric, effect, ci_low, ci_high, cs_low,
        cs_high, decision_low, decision_high, margin, row, taxonomy, p_harm, n_control,
        n_canary, days_to_decision, verdict``.
    verdicts : one row per look: ``as_of, days, units_control, units_canary, srm_p,
        verdict, days_to_decision``.
    crossings : per metric, the first look (``as_of``) at which the decision interval
        crossed each boundary: ``superior`` (upper < 0), ``non_inferior`` (upper < margin),
        ``harm`` (lower > 0), ``inferior`` (lower > margin), on the harm-oriented scale.
    final : the :class:`CanaryResult` at the last look — the first terminal one when the
        canary stopped.
    stopped_at : the look at which the canary reached its first terminal verdict (PROMOTE,
        ROLLBACK or INVALID); the replay ends there (later looks are not shown: a
        sequential canary stops at its first decision). ``None`` if it never did.
    """

    looks: pd.DataFrame
    verdicts: pd.DataFrame
    crossings: pd.DataFrame
    final: CanaryResult
    stopped_at: pd.Timestamp | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """The data problems of the log (those of :attr:`final`)."""
        return self.final.warnings

    @property
    def row_counts(self) -> RowCounts | None:
        """Units read, used and left out at the final look (:attr:`final`)."""
        return self.final.row_counts

    def to_frame(self) -> pd.DataFrame:
        return self.looks

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        rows = f"rows: {self.row_counts.summary()}\n" if self.row_counts is not None else ""
        return (
            f"Canary history: {len(self.verdicts)} looks, final verdict "
            f"{self.final.verdict}.\n"
            + rows
            + _display.text_table(self.crossings)
            + "".join(f"\nwarning: {w}" for w in self.warnings)
        )

    def _repr_html_(self) -> str:
        return (
            _display.verdict_html(self.final.verdict, "Canary (final look)", self.final.reasons)
            + _display.table_html(
                self.crossings,
                caption="Boundary crossings (first look at which each was crossed)",
            )
            + _display.table_html(self.verdicts, caption="Verdict by day")
        )

    def plot(self, metric: str | None = None, ax: Any = None) -> Any:
        """Funnel plot: the confidence sequence narrowing over days, with margin and zero."""
        from mlopskit import plots

        return plots.canary_funnel(self, metric=metric, ax=ax)
