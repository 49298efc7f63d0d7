"""Model-quality regression gate on a frozen test set (see :mod:`mlopskit.registry.gates`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from mlopskit import _display, frames
from mlopskit.policy import Policy, RegistryPolicy, as_policy
from mlopskit.registry.gates.base import (
    MODEL_QUALITY,
    QUALITY_METRICS,
    _Gate,
    _head,
)
from mlopskit.registry.records import parse_model
from mlopskit.rows import RowCounts
from mlopskit.stats.auc import delong_auc, delong_paired
from mlopskit.verdict import Reason


# --------------------------------------------------------------------------------------
# Model quality
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QualityMetric:
    """One metric of the model-quality gate.

    ``ci_low``/``ci_high`` are the one-sided (1 − α) bounds ``estimate ∓ z_{1−α}·se`` (together
    a two-sided 1 − 2α interval). ``diff`` is candidate − Production on the same rows, with
    the paired SE; ``non_inferior`` compares the bound on the bad side with the margin.
    ``power_at_equality`` is the probability that a candidate exactly as good as Production
    passes the non-inferiority test on a test set of this size: ``Φ(margin/diff_se − z_{1−α})``.
    """

    metric: str
    direction: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    threshold: float | None
    threshold_passed: bool | None
    production_estimate: float | None = None
    diff: float | None = None
    diff_se: float | None = None
    diff_ci_low: float | None = None
    diff_ci_high: float | None = None
    margin: float | None = None
    non_inferior: bool | None = None
    power_at_equality: float | None = None
    se_method: str = ""


@dataclass(frozen=True, slots=True)
class QualityGateResult(_Gate):
    """Model-quality regression gate on a frozen test set.

    Attributes
    ----------
    model : display form of the candidate, e.g. ``"fraud_v2.3"``.
    passed : every threshold check and every non-inferiority check passed, and the test set
        had at least ``min_positives`` positives.
    metrics : one :class:`QualityMetric` per metric.
    threshold_rule : ``"not_below"`` (fail only when the upper bound of a higher-is-better
        metric is below its threshold: noise cannot fail the build) or ``"above"`` (pass only
        when the lower bound clears the threshold: the quality is demonstrated).
    alpha : one-sided level; n, n_pos : test-set rows and positives.
    production : display form of the Production model compared with, if any.
    row_counts : test-set rows read and used (a missing label or a non-finite score is an
        error, never a drop, so every row read is used).
    """

    model: str
    passed: bool
    metrics: tuple[QualityMetric, ...]
    reasons: tuple[Reason, ...]
    threshold_rule: str
    alpha: float
    n: int
    n_pos: int
    min_positives: int
    production: str | None = None
    warnings: tuple[str, ...] = ()
    gate: str = MODEL_QUALITY
    row_counts: RowCounts | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per metric (estimate, se, ci_low, ci_high, threshold, diff, …)."""
        rows = []
        for m in self.metrics:
            row = {"model": self.model, "n": self.n, "n_pos": self.n_pos, "alpha": self.alpha}
            row.update({f: getattr(m, f) for f in QualityMetric.__dataclass_fields__})
            row["threshold_rule"] = self.threshold_rule
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        lines = [
            _head(self.passed, self.gate, self.model)
            + f" (n={self.n:,}, positives={self.n_pos:,}, one-sided α={self.alpha:g}, "
            f"threshold rule {self.threshold_rule!r})"
        ]
        if self.row_counts is not None:
            lines.append(f"  rows: {self.row_counts.summary()}")
        lines += [f"  {'✔' if r.passed else '✘'} {r.message}" for r in self.reasons]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _details(self) -> dict[str, Any]:
        return {
            "metrics": [
                {f: getattr(m, f) for f in QualityMetric.__dataclass_fields__} for m in self.metrics
            ],
            "threshold_rule": self.threshold_rule,
            "alpha": self.alpha,
            "n": self.n,
            "n_pos": self.n_pos,
            "production": self.production,
            "row_counts": None if self.row_counts is None else self.row_counts.to_dict(),
        }

    def _repr_html_(self) -> str:
        return self._banner("Model-quality gate") + _display.table_html(
            self.to_frame().drop(columns=["model", "se_method"])
        )

    def plot(self, ax: Any = None) -> Any:
        """Each metric's estimate and one-sided bounds against its threshold."""
        from mlopskit import plots

        return plots.quality_gate(self, ax=ax)


def _scores_from(
    source: Any, test_set: Any, cols: Mapping[str, np.ndarray], what: str
) -> np.ndarray:
    if isinstance(source, str):
        return np.asarray(cols[source], dtype=float)
    if hasattr(source, "score"):
        return np.asarray(source.score(test_set), dtype=float)
    raise ValueError(
        f"`{what}` must be a column name or an object with .score(frame); "
        f"got {type(source).__name__}."
    )


def model_quality_gate(
    model: str,
    test_set: frames.FrameLike,
    *,
    scorer: Any,
    label: str = "label",
    thresholds: Mapping[str, float] | None = None,
    production: Any = None,
    production_model: str | None = None,
    margins: Mapping[str, float] | None = None,
    threshold_rule: Literal["not_below", "above"] = "not_below",
    columns: Mapping[str, str] | None = None,
    policy: Policy | str | Path | None = None,
) -> QualityGateResult:
    """Score the frozen test set and compare metrics with thresholds and with Production.

    Parameters
    ----------
    model : display form of the candidate (``"fraud_v2.3"``), recorded in the result.
    test_set : the frozen test set (any frame ``mlopskit.frames`` accepts, or a path).
    scorer : the candidate: an object with ``.score(test_set) → scores`` (it receives
        ``test_set`` as given) or the name of a column holding its scores.
    label : 0/1 label column.
    columns : mapping ``label`` (or a scorer/production column name) → your column name.
    thresholds : metric → threshold, e.g. ``{"auc": 0.85, "brier": 0.01}`` (AUC is
        higher-is-better, Brier lower-is-better).
    production : the Production model on the same rows (scorer or column name); enables the
        paired non-inferiority comparison.
    production_model : its display form, recorded in the result.
    margins : metric → non-inferiority margin (default ``{"auc": policy.auc_margin}``).
    threshold_rule : ``"not_below"`` (default) or ``"above"``; see :class:`QualityGateResult`.
    policy : policy file or object; section ``registry`` (alpha, margin, min positives).

    Notes
    -----
    AUC standard errors are DeLong's (:func:`mlopskit.stats.auc.delong_auc`); the comparison
    with Production uses the paired DeLong covariance of the two AUCs on the same rows
    (:func:`mlopskit.stats.auc.delong_paired`), so the SE of the difference accounts for the
    correlation of two models scored on the same test set. Brier: per-row squared errors,
    ``SE = sd/√n``, paired differences for the comparison. Bounds are normal:
    ``estimate ∓ z_{1−α}·SE``.
    """
    pol = as_policy(policy).section("registry", RegistryPolicy)
    parse_model(model)
    if threshold_rule not in ("not_below", "above"):
        raise ValueError(
            f"`threshold_rule` must be 'not_below' or 'above'; got {threshold_rule!r}."
        )
    thresholds = dict(thresholds or {})
    for name in thresholds:
        if name not in QUALITY_METRICS:
            raise ValueError(
                f"`thresholds`: unknown metric {name!r}; known metrics {sorted(QUALITY_METRICS)}."
            )
    if production is None and not thresholds:
        raise ValueError("give `thresholds` and/or `production`: the gate needs a comparison.")
    margins = dict(margins) if margins is not None else {"auc": pol.auc_margin}
    if production is None:
        margins = {}
    for name, value in margins.items():
        if name not in QUALITY_METRICS or not value >= 0:
            raise ValueError(
                f"`margins`: expected known metric → margin ≥ 0; got {name!r}: {value!r}."
            )
    named = {c: c for c in (scorer, production) if isinstance(c, str)}
    cmap = frames.resolve_columns(columns, frame="test set", **named, label=label)
    label = cmap["label"]
    scorer = cmap.get(scorer, scorer) if isinstance(scorer, str) else scorer
    production = cmap.get(production, production) if isinstance(production, str) else production
    col_names = [label] + [c for c in (scorer, production) if isinstance(c, str)]
    cols = frames.gate_columns(test_set, list(dict.fromkeys(col_names)), frame="test set")
    raw = cols[label]
    if raw.size == 0:
        raise ValueError(
            "test set: the frame is empty (0 rows); the quality gate needs the frozen test set "
            "with labels and scores."
        )
    if raw.dtype.kind not in "biuf":
        raise ValueError(
            f"test set: column `{label}` must be a 0/1 numeric or boolean column; found dtype "
            f"{raw.dtype} (e.g. {raw[:3].tolist()}): labels stored as text? Convert them first."
        )
    y = raw.astype(float)
    if np.isnan(y).any() or not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError(f"test set: column `{label}` must be 0/1 without missing values.")
    s_new = _scores_from(scorer, test_set, cols, "scorer")
    s_old = None if production is None else _scores_from(production, test_set, cols, "production")
    for what, s in (("scorer", s_new), ("production", s_old)):
        if s is not None and (s.shape != y.shape or not np.isfinite(s).all()):
            raise ValueError(
                f"`{what}` scores must be finite with one score per test-set row "
                f"({y.size}); got shape {s.shape}."
            )
    n, n_pos = y.size, int(y.sum())
    z = float(stats.norm.isf(pol.gate_alpha))
    reasons: list[Reason] = []
    warnings: list[str] = []
    if n_pos < pol.min_positives or n - n_pos < pol.min_positives:
        reasons.append(
            Reason(
                "min_positives",
                f"test set has {n_pos:,} positives and {n - n_pos:,} negatives; the gate needs "
                f"≥ {pol.min_positives} of each to judge",
                False,
                float(min(n_pos, n - n_pos)),
                float(pol.min_positives),
                critical=True,
            )
        )
    metrics: list[QualityMetric] = []
    names = sorted(set(thresholds) | set(margins))
    for name in names:
        if name == "auc":
            if n_pos < 2 or n - n_pos < 2:  # no AUC SE; the min_positives check has failed
                continue
            prod_est = diff = diff_se = None
            if s_old is None:
                single = delong_auc(s_new, y)
                est, se = single.auc, single.se
                method = "DeLong"
            else:
                paired = delong_paired(s_new, s_old, y)
                est, se = paired.auc_a, float(np.sqrt(paired.covariance[0]))
                prod_est, diff, diff_se = paired.auc_b, paired.difference, paired.se
                method = "DeLong (paired with Production for the difference)"
        else:  # brier
            e_new = (s_new - y) ** 2
            est, se = float(e_new.mean()), float(e_new.std(ddof=1) / np.sqrt(n))
            method = "per-row squared error, SE = sd/sqrt(n)"
            prod_est = diff = diff_se = None
            if s_old is not None:
                e_old = (s_old - y) ** 2
                d = e_new - e_old
                prod_est, diff, diff_se = (
                    float(e_old.mean()),
                    float(d.mean()),
                    float(d.std(ddof=1) / np.sqrt(n)),
                )
        higher = QUALITY_METRICS[name] == "higher"
        lo, hi = est - z * se, est + z * se
        thr = thresholds.get(name)
        thr_ok: bool | None = None
        if thr is not None:
            if threshold_rule == "not_below":
                thr_ok = hi >= thr if higher else lo <= thr
                bound, word = (hi, "upper") if higher else (lo, "lower")
            else:
                thr_ok = lo >= thr if higher else hi <= thr
                bound, word = (lo, "lower") if higher else (hi, "upper")
            cmp = "≥" if higher else "≤"
            reasons.append(
                Reason(
                    f"{name}_threshold",
                    f"{name} {est:.4f} (SE {se:.4f}); {word} {1 - pol.gate_alpha:.0%} bound "
                    f"{bound:.4f} {'meets' if thr_ok else 'misses'} the threshold {cmp} {thr:g} "
                    f"(rule {threshold_rule!r})",
                    thr_ok,
                    float(bound),
                    float(thr),
                    critical=True,
                )
            )
        margin = margins.get(name)
        ni = d_lo = d_hi = power = None
        if margin is not None and diff is not None and diff_se is not None:
            d_lo, d_hi = diff - z * diff_se, diff + z * diff_se
            ni = d_lo > -margin if higher else d_hi < margin
            power = float(stats.norm.cdf(margin / diff_se - z)) if diff_se > 0 else 1.0
            side = d_lo if higher else d_hi
            reasons.append(
                Reason(
                    f"{name}_non_inferiority",
                    f"{name} vs Production {production_model or ''}: Δ = {diff:+.4f} (paired SE "
                    f"{diff_se:.4f}); {'lower' if higher else 'upper'} bound {side:+.4f} "
                    f"{'clears' if ni else 'does not clear'} the margin "
                    f"{'-' if higher else '+'}{margin:g}",
                    ni,
                    float(side),
                    float(-margin if higher else margin),
                    critical=True,
                )
            )
            if power < 0.8:
                warnings.append(
                    f"{name}: the test set is small for margin {margin:g}: a candidate exactly "
                    f"as good as Production passes only {power:.0%} of the time "
                    f"(paired SE {diff_se:.4f}); enlarge the frozen test set or widen the margin."
                )
        metrics.append(
            QualityMetric(
                name,
                QUALITY_METRICS[name],
                float(est),
                float(se),
                float(lo),
                float(hi),
                thr,
                thr_ok,
                prod_est,
                diff,
                diff_se,
                d_lo,
                d_hi,
                margin,
                ni,
                power,
                method,
            )
        )
    passed = all(r.passed for r in reasons)
    return QualityGateResult(
        model=model,
        passed=passed,
        metrics=tuple(metrics),
        reasons=tuple(reasons),
        threshold_rule=threshold_rule,
        alpha=pol.gate_alpha,
        n=n,
        n_pos=n_pos,
        min_positives=pol.min_positives,
        production=production_model,
        warnings=tuple(warnings),
        row_counts=RowCounts.of(n, unit="test rows"),
    )
