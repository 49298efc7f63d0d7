"""Gates: the evidence a stage change needs, and CI helpers a model repository calls.

* :func:`model_quality_gate` — score the frozen test set and compare metrics with absolute
  thresholds and with the Production model, CI-aware so that test-set noise neither fails a
  good build nor passes a bad one by luck.
* :func:`feature_parity_gate` — features recomputed from raw events equal the training
  features (tolerance), with a readable diff of the mismatches.
* :func:`staging_smoke_test` — load the Staging artifact (sha256 verified), score a fixed
  sample of recorded requests one by one, check errors, latency and parity with the run's
  offline predictions.
* :func:`report_gate` — the ``→ Production`` evidence: a rendered rollout report whose
  ``decision.json`` (beside the HTML) says PROMOTE, records the HTML's sha256 and names the
  model version in its provenance.

Every result has ``passed``, ``reasons`` (:class:`~mlopskit.verdict.Reason`), ``to_frame()``,
``summary()``, ``_repr_html_()``, ``to_record()`` (what the registry stores) and
``raise_if_failed()`` (raises :class:`GateFailed`, an ``AssertionError``, so a pytest test
can simply call it). Record results with ``Registry.record_gate(result)``; ``→ Staging``
requires the latest result of every CI gate recorded for the version to pass.

decision.json fields read by :func:`report_gate`::

    {"model": "fraud_v2.3", "verdict": "PROMOTE", "report": "<html file name>",
     "report_sha256": "<sha256 of the HTML bytes>",
     "provenance": {"model": "fraud_v2.3", "model_sha256": "<optional: model artifact>", ...}}
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from mlopskit import _display, frames
from mlopskit.policy import Policy, RegistryPolicy, as_policy
from mlopskit.registry import ArtifactError, Registry, open_registry, parse_model
from mlopskit.stats.auc_bootstrap import auc_bootstrap
from mlopskit.verdict import Reason

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MODEL_QUALITY = "model_quality"
FEATURE_PARITY = "feature_parity"
STAGING_SMOKE = "staging_smoke"
REPORT = "report"

#: metric → direction ("higher" or "lower" is better).
QUALITY_METRICS: dict[str, str] = {"auc": "higher", "brier": "lower"}


class GateFailed(AssertionError):
    """Raised by ``result.raise_if_failed()``; the message is the result's summary."""


class _Gate:
    """Shared behaviour of gate results (``gate``, ``model``, ``passed``, ``reasons``)."""

    __slots__ = ()
    gate: str
    model: str
    passed: bool
    reasons: tuple[Reason, ...]
    warnings: tuple[str, ...]

    def raise_if_failed(self) -> None:
        """Raise :class:`GateFailed` with the summary when the gate did not pass."""
        if not self.passed:
            raise GateFailed(self.summary())

    def summary(self) -> str:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def _details(self) -> dict[str, Any]:
        return {}

    def to_record(self) -> dict[str, Any]:
        """JSON-safe record kept by the registry (``Registry.record_gate``)."""
        return {
            "gate": self.gate,
            "model": self.model,
            "passed": bool(self.passed),
            "summary": self.summary(),
            "reasons": [r.to_dict() for r in self.reasons],
            "warnings": list(self.warnings),
            "details": self._details(),
        }

    def reasons_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "code": r.code,
                    "passed": r.passed,
                    "value": r.value,
                    "threshold": r.threshold,
                    "message": r.message,
                }
                for r in self.reasons
            ],
            columns=["code", "passed", "value", "threshold", "message"],
        )

    def _banner(self, title: str) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        colour = "#1a7f37" if self.passed else "#cf222e"
        items = "".join(
            f"<li>{'✔' if r.passed else '✘' if r.passed is False else '·'} "
            f"{_display.escape(r.message)}</li>"
            for r in self.reasons
        )
        return (
            f'<div class="mk-verdict" style="border-left:6px solid {colour};padding:6px 12px;">'
            f"<strong>{_display.escape(title)} — {_display.escape(self.model)}: "
            f'<span style="color:{colour}">{verdict}</span></strong><ul>{items}</ul></div>'
            + _display.warnings_html(self.warnings)
        )


def _head(passed: bool, gate: str, model: str) -> str:
    return f"{gate} gate for {model}: {'PASS' if passed else 'FAIL'}"


@dataclass(frozen=True, slots=True)
class GateResult(_Gate):
    """A gate result from elsewhere (e.g. a CI system's own test job) to record as evidence.

    ``GateResult("ci", "fraud_v2.3", passed=True, reasons=(Reason("tests", "412 passed",
    True),))``.
    """

    gate: str
    model: str
    passed: bool
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parse_model(self.model)

    def to_frame(self) -> pd.DataFrame:
        return self.reasons_frame()

    def summary(self) -> str:
        lines = [_head(self.passed, self.gate, self.model)]
        lines += [f"  {'✔' if r.passed else '✘'} {r.message}" for r in self.reasons]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self._banner(f"{self.gate} gate")


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
        }

    def _repr_html_(self) -> str:
        return self._banner("Model-quality gate") + _display.table_html(
            self.to_frame().drop(columns=["model", "se_method"])
        )

    def plot(self, ax: Axes | None = None) -> Axes:
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
    thresholds : metric → threshold, e.g. ``{"auc": 0.85, "brier": 0.01}`` (AUC is
        higher-is-better, Brier lower-is-better).
    production : the Production model on the same rows (scorer or column name); enables the
        paired non-inferiority comparison.
    production_model : its display form, recorded in the result.
    margins : metric → non-inferiority margin (default ``{"auc": policy.auc_margin}``).
    threshold_rule : ``"not_below"`` (default) or ``"above"``; see :class:`QualityGateResult`.
    policy : policy file or object; section ``registry`` (alpha, bootstrap, min positives).

    Notes
    -----
    AUC standard errors come from a stratified, paired bootstrap (``policy.n_boot``
    replicates, ``policy.boot_seed``) — the DeLong variance is not on main yet; both estimate
    the same conditional variance. Brier: per-row squared errors, ``SE = sd/√n``, paired
    differences for the comparison. Bounds are normal: ``estimate ∓ z_{1−α}·SE``.
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
    col_names = [label] + [c for c in (scorer, production) if isinstance(c, str)]
    cols = frames.gate_columns(test_set, list(dict.fromkeys(col_names)), frame="test set")
    y = cols[label].astype(float)
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
    boot = None
    if "auc" in names and n_pos >= 2 and n - n_pos >= 2:
        boot = auc_bootstrap(
            y,
            *([s_new] if s_old is None else [s_new, s_old]),
            n_boot=pol.n_boot,
            seed=pol.boot_seed,
        )
    for name in names:
        if name == "auc":
            if boot is None:
                continue
            est, se = boot.auc[0], boot.se[0]
            method = f"{boot.method} (n_boot={boot.n_boot}, seed={boot.seed})"
            prod_est = diff = diff_se = None
            if s_old is not None:
                prod_est = boot.auc[1]
                diff, diff_se = boot.diff(0, 1)
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
    )


# --------------------------------------------------------------------------------------
# Feature parity
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeatureParity:
    """Parity of one feature: rows compared, mismatches, largest absolute difference."""

    feature: str
    kind: str
    n_compared: int
    n_mismatch: int
    max_abs_diff: float | None


@dataclass(frozen=True, slots=True)
class ParityGateResult(_Gate):
    """Feature parity between recomputed (from raw events) and training features.

    Attributes
    ----------
    features : per-feature :class:`FeatureParity`.
    examples : up to ``max_examples`` mismatching rows per feature, as tuples
        ``(feature, key, training value, recomputed value)``.
    missing_in_recomputed / missing_in_training : ``(count, example keys)`` of rows present
        on one side only (a recompute that drops rows fails the gate).
    schema_problems : features missing from the recomputed frame or with another dtype.
    key, atol, rtol : how rows were matched and the tolerance ``|r − t| ≤ atol + rtol·|t|``.
    """

    model: str
    passed: bool
    reasons: tuple[Reason, ...]
    features: tuple[FeatureParity, ...]
    examples: tuple[tuple[str, Any, Any, Any], ...]
    missing_in_recomputed: tuple[int, tuple[Any, ...]]
    missing_in_training: tuple[int, tuple[Any, ...]]
    schema_problems: tuple[str, ...]
    n_training: int
    n_recomputed: int
    key: tuple[str, ...]
    atol: float
    rtol: float
    warnings: tuple[str, ...] = ()
    gate: str = FEATURE_PARITY

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: feature, kind, n_compared, n_mismatch, share_mismatch, max_abs_diff."""
        df = pd.DataFrame(
            [
                {
                    "feature": f.feature,
                    "kind": f.kind,
                    "n_compared": f.n_compared,
                    "n_mismatch": f.n_mismatch,
                    "share_mismatch": f.n_mismatch / f.n_compared if f.n_compared else np.nan,
                    "max_abs_diff": np.nan if f.max_abs_diff is None else f.max_abs_diff,
                }
                for f in self.features
            ],
            columns=[
                "feature",
                "kind",
                "n_compared",
                "n_mismatch",
                "share_mismatch",
                "max_abs_diff",
            ],
        )
        return df

    def diff_frame(self) -> pd.DataFrame:
        """The mismatching example rows: feature, key, training, recomputed."""
        return pd.DataFrame(
            list(self.examples), columns=["feature", "key", "training", "recomputed"]
        )

    def summary(self) -> str:
        bad = [f for f in self.features if f.n_mismatch]
        n_joined = self.features[0].n_compared if self.features else 0
        lines = [
            _head(self.passed, self.gate, self.model)
            + f": {len(bad)} of {len(self.features)} features differ on {n_joined:,} "
            f"matched rows (tolerance |recomputed − training| ≤ {self.atol:g} + "
            f"{self.rtol:g}·|training|)"
        ]
        key = ",".join(self.key)
        for f in bad:
            share = f.n_mismatch / f.n_compared if f.n_compared else float("nan")
            extra = f", max |diff| {f.max_abs_diff:.6g}" if f.max_abs_diff is not None else ""
            lines.append(f"  {f.feature}: {f.n_mismatch:,} rows differ ({share:.2%}){extra}")
            for feat, k, t, r in self.examples:
                if feat == f.feature:
                    lines.append(f"      {key}={k!r}: training={t!r}  recomputed={r!r}")
        for p in self.schema_problems:
            lines.append(f"  schema: {p}")
        for side, (n, ex) in (
            ("training rows have no recomputed row", self.missing_in_recomputed),
            ("recomputed rows are not in training", self.missing_in_training),
        ):
            if n:
                lines.append(f"  {n:,} {side}, e.g. {key}={list(ex)}")
        return "\n".join(lines)

    def _details(self) -> dict[str, Any]:
        return {
            "features": [
                {"feature": f.feature, "n_mismatch": f.n_mismatch, "max_abs_diff": f.max_abs_diff}
                for f in self.features
            ],
            "missing_in_recomputed": self.missing_in_recomputed[0],
            "missing_in_training": self.missing_in_training[0],
            "schema_problems": list(self.schema_problems),
            "atol": self.atol,
            "rtol": self.rtol,
        }

    def _repr_html_(self) -> str:
        html = self._banner("Feature parity") + _display.table_html(self.to_frame())
        if self.examples:
            html += _display.table_html(self.diff_frame(), caption="Mismatching rows")
        return html

    def plot(self, ax: Axes | None = None) -> Axes:
        """Share of mismatching rows per feature."""
        from mlopskit import plots

        return plots.parity_gate(self, ax=ax)


def feature_parity_gate(
    model: str,
    recomputed: frames.FrameLike,
    training: frames.FrameLike,
    *,
    key: str | Sequence[str],
    features: Sequence[str],
    atol: float | None = None,
    rtol: float | None = None,
    max_examples: int = 5,
    policy: Policy | str | Path | None = None,
) -> ParityGateResult:
    """Features recomputed from raw events must equal the features used in training.

    Rows are matched on ``key``; numeric features within ``atol + rtol·|training|`` (both
    missing counts as equal), other features exactly (compared as strings). Fails on any
    mismatch, any row present on one side only, or a feature missing/with another dtype.
    """
    pol = as_policy(policy).section("registry", RegistryPolicy)
    parse_model(model)
    keys = (key,) if isinstance(key, str) else tuple(key)
    if not keys:
        raise ValueError("`key` must name at least one column.")
    feats = tuple(features)
    if not feats:
        raise ValueError("`features` must name at least one feature column.")
    atol = pol.parity_atol if atol is None else float(atol)
    rtol = pol.parity_rtol if rtol is None else float(rtol)
    if atol < 0 or rtol < 0:
        raise ValueError(f"`atol` and `rtol` must be ≥ 0; got {atol!r}, {rtol!r}.")
    st = frames.feature_parity_stats(
        recomputed,
        training,
        key=keys,
        features=feats,
        atol=atol,
        rtol=rtol,
        max_examples=max_examples,
    )
    n_joined = st["n_joined"]
    per = tuple(
        FeatureParity(r["feature"], r["kind"], n_joined, r["n_mismatch"], r["max_abs_diff"])
        for r in st["features"]
    )
    ex = st["examples"]
    key_vals = (
        ex[keys[0]].tolist() if len(keys) == 1 else list(ex[list(keys)].itertuples(False, None))
    )
    examples = tuple(
        (f, k, _py(t), _py(r))
        for f, k, t, r in zip(
            ex["feature"], key_vals, ex["training"], ex["recomputed"], strict=True
        )
    )
    reasons: list[Reason] = []
    for f in per:
        if f.n_mismatch:
            reasons.append(
                Reason(
                    f"parity_{f.feature}",
                    f"{f.feature}: {f.n_mismatch:,} of {f.n_compared:,} rows differ",
                    False,
                    float(f.n_mismatch),
                    0.0,
                    critical=True,
                )
            )
    for p in st["schema_problems"]:
        reasons.append(Reason("parity_schema", p, False, critical=True))
    n_mr, ex_mr = st["missing_in_recomputed"]
    n_mt, ex_mt = st["missing_in_training"]
    if n_mr:
        reasons.append(
            Reason(
                "parity_rows",
                f"{n_mr:,} training rows have no recomputed row",
                False,
                float(n_mr),
                0.0,
                critical=True,
            )
        )
    if n_mt:
        reasons.append(
            Reason(
                "parity_rows",
                f"{n_mt:,} recomputed rows are not in training",
                False,
                float(n_mt),
                0.0,
                critical=True,
            )
        )
    warnings: tuple[str, ...] = ()
    if n_joined == 0:
        reasons.append(Reason("parity_rows", "no rows matched on the key", False, critical=True))
    if not reasons:
        reasons.append(
            Reason(
                "parity",
                f"all {len(per)} features equal on {n_joined:,} rows within tolerance",
                True,
                0.0,
                0.0,
            )
        )
    return ParityGateResult(
        model=model,
        passed=all(r.passed for r in reasons),
        reasons=tuple(reasons),
        features=per,
        examples=examples,
        missing_in_recomputed=(n_mr, tuple(ex_mr)),
        missing_in_training=(n_mt, tuple(ex_mt)),
        schema_problems=tuple(st["schema_problems"]),
        n_training=st["n_training"],
        n_recomputed=st["n_recomputed"],
        key=keys,
        atol=atol,
        rtol=rtol,
        warnings=warnings,
    )


def _py(value: Any) -> Any:
    """numpy/pandas scalars → plain Python; missing → ``None`` (readable reprs, JSON)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # non-scalar values: keep as they are
        pass
    return value.item() if hasattr(value, "item") else value


# --------------------------------------------------------------------------------------
# Staging smoke test
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SmokeTestResult(_Gate):
    """Staging smoke test: the Staging artifact scores recorded requests correctly and fast.

    Attributes
    ----------
    stage : stage of the version when tested (must be Staging).
    artifact_sha256 : sha256 of the model artifact loaded (verified against the run).
    n : requests scored (one call per request); n_errors : calls that raised or returned a
        non-finite / out-of-[0, 1] score; errors : up to 5 error messages.
    latency_ms : per-call latencies (ms), in sample order.
    max_abs_diff : largest |online − recorded offline score| over the sample (None if no
        offline prediction could be compared).
    budgets : the thresholds applied (error rate, p99 latency ms, parity atol).
    """

    model: str
    passed: bool
    reasons: tuple[Reason, ...]
    stage: str
    artifact_sha256: str | None
    n: int
    n_errors: int
    errors: tuple[str, ...]
    latency_ms: tuple[float, ...]
    max_abs_diff: float | None
    n_missing_offline: int
    max_error_rate: float
    latency_p99_budget_ms: float
    parity_atol: float
    warnings: tuple[str, ...] = ()
    gate: str = STAGING_SMOKE

    def latency_quantiles(self) -> dict[str, float]:
        if not self.latency_ms:
            return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
        lat = np.asarray(self.latency_ms)
        return {f"p{q}": float(np.percentile(lat, q)) for q in (50, 95, 99)}

    def to_frame(self) -> pd.DataFrame:
        q = self.latency_quantiles()
        return pd.DataFrame(
            [
                {
                    "model": self.model,
                    "stage": self.stage,
                    "n": self.n,
                    "n_errors": self.n_errors,
                    "error_rate": self.n_errors / self.n if self.n else np.nan,
                    "latency_p50_ms": q["p50"],
                    "latency_p95_ms": q["p95"],
                    "latency_p99_ms": q["p99"],
                    "max_abs_diff": np.nan if self.max_abs_diff is None else self.max_abs_diff,
                    "passed": self.passed,
                }
            ]
        )

    def summary(self) -> str:
        lines = [_head(self.passed, self.gate, self.model) + f" (stage {self.stage}, n={self.n})"]
        lines += [f"  {'✔' if r.passed else '✘'} {r.message}" for r in self.reasons]
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)

    def _details(self) -> dict[str, Any]:
        return {
            **self.latency_quantiles(),
            "n": self.n,
            "n_errors": self.n_errors,
            "max_abs_diff": self.max_abs_diff,
            "artifact_sha256": self.artifact_sha256,
        }

    def _repr_html_(self) -> str:
        return self._banner("Staging smoke test") + _display.table_html(self.to_frame())

    def plot(self, ax: Axes | None = None) -> Axes:
        """Histogram of per-request latency with the p99 budget."""
        from mlopskit import plots

        return plots.smoke_latency(self, ax=ax)


def staging_smoke_test(
    model: str,
    requests: frames.FrameLike,
    *,
    loader: Callable[[bytes], Any],
    key: str,
    registry: Registry | None = None,
    predictions_kind: str = "eval_predictions",
    prediction_column: str = "score",
    n: int | None = None,
    max_error_rate: float | None = None,
    latency_p99_ms: float | None = None,
    parity_atol: float | None = None,
    policy: Policy | str | Path | None = None,
) -> SmokeTestResult:
    """Load the Staging artifact, score a fixed sample of recorded requests, check it.

    Parameters
    ----------
    model : display form of the version under test (must be in stage Staging).
    requests : recorded requests with ``key`` and the model's features; the sample is the
        ``n`` rows with the smallest ``key`` (fixed, reproducible).
    loader : turns the artifact's bytes into an object with ``.score(frame) → scores``
        (e.g. ``lambda b: LogisticModel.from_json(b.decode())``).
    key : request id column, also the key of the run's offline predictions artifact.
    registry : the registry (default: :func:`mlopskit.registry.open_registry`).
    predictions_kind, prediction_column : the run's artifact holding offline predictions
        (a parquet/CSV file with ``key`` and ``prediction_column``).
    n, max_error_rate, latency_p99_ms, parity_atol : default to the policy's
        ``smoke_sample_size``, ``smoke_max_error_rate``, ``smoke_latency_p99_ms``,
        ``smoke_parity_atol``.
    """
    pol = as_policy(policy).section("registry", RegistryPolicy)
    reg = registry if registry is not None else open_registry()
    n = pol.smoke_sample_size if n is None else int(n)
    max_error_rate = pol.smoke_max_error_rate if max_error_rate is None else float(max_error_rate)
    budget = pol.smoke_latency_p99_ms if latency_p99_ms is None else float(latency_p99_ms)
    atol = pol.smoke_parity_atol if parity_atol is None else float(parity_atol)
    mv = reg.get(model)
    base = dict(
        model=model,
        stage=str(mv.stage),
        max_error_rate=max_error_rate,
        latency_p99_budget_ms=budget,
        parity_atol=atol,
    )
    if str(mv.stage) != "Staging":
        return SmokeTestResult(
            passed=False,
            reasons=(
                Reason(
                    "stage",
                    f"{model} is in stage {mv.stage}; the smoke test loads the Staging artifact",
                    False,
                    critical=True,
                ),
            ),
            artifact_sha256=None,
            n=0,
            n_errors=0,
            errors=(),
            latency_ms=(),
            max_abs_diff=None,
            n_missing_offline=0,
            **base,
        )
    try:
        blob = reg.load_artifact(model, "model")
        pred_path = reg.artifact_path(model, predictions_kind)
    except ArtifactError as exc:
        return SmokeTestResult(
            passed=False,
            reasons=(Reason("artifact", str(exc), False, critical=True),),
            artifact_sha256=None,
            n=0,
            n_errors=0,
            errors=(),
            latency_ms=(),
            max_abs_diff=None,
            n_missing_offline=0,
            **base,
        )
    sha = hashlib.sha256(blob).hexdigest()
    scorer = loader(blob)
    sample = frames.first_rows(requests, key=key, n=n, frame="recorded requests")
    keys = sample[key].tolist()
    offline = frames.lookup(
        pred_path,
        key=key,
        keys=keys,
        column=prediction_column,
        frame=f"{predictions_kind} artifact of {model}",
    )
    latencies: list[float] = []
    errors: list[str] = []
    diffs: list[float] = []
    for i, k in enumerate(keys):
        row = sample.iloc[[i]]
        t0 = time.perf_counter()
        try:
            out = np.asarray(scorer.score(row), dtype=float).ravel()
        except Exception as exc:  # a failing request is the finding; kept with its type
            latencies.append((time.perf_counter() - t0) * 1e3)
            errors.append(f"{key}={k!r}: {type(exc).__name__}: {exc}")
            continue
        latencies.append((time.perf_counter() - t0) * 1e3)
        if out.size != 1 or not np.isfinite(out[0]) or not 0 <= out[0] <= 1:
            errors.append(f"{key}={k!r}: score {out.tolist()} is not one probability in [0, 1]")
            continue
        if k in offline:
            diffs.append(abs(float(out[0]) - offline[k]))
    n_done = len(keys)
    q99 = float(np.percentile(latencies, 99)) if latencies else float("nan")
    err_rate = len(errors) / n_done if n_done else 1.0
    missing = sum(1 for k in keys if k not in offline)
    max_diff = max(diffs) if diffs else None
    reasons = [
        Reason(
            "sample",
            f"scored {n_done} recorded requests one by one",
            n_done > 0,
            float(n_done),
            critical=True,
        ),
        Reason(
            "errors",
            f"{len(errors)} errors ({err_rate:.2%}); allowed {max_error_rate:.2%}",
            err_rate <= max_error_rate,
            err_rate,
            max_error_rate,
            critical=True,
        ),
        Reason(
            "latency_p99",
            f"p99 latency {q99:.2f} ms; budget {budget:g} ms",
            bool(q99 <= budget),
            q99,
            budget,
            critical=True,
        ),
        Reason(
            "offline_coverage",
            f"{missing} of {n_done} sampled requests have no recorded offline prediction",
            missing == 0,
            float(missing),
            0.0,
            critical=True,
        ),
        Reason(
            "offline_parity",
            "no score could be compared with the offline predictions"
            if max_diff is None
            else f"max |online − offline| = {max_diff:.3g}; allowed {atol:g}",
            max_diff is not None and max_diff <= atol,
            max_diff,
            atol,
            critical=True,
        ),
    ]
    return SmokeTestResult(
        passed=all(r.passed for r in reasons),
        reasons=tuple(reasons),
        artifact_sha256=sha,
        n=n_done,
        n_errors=len(errors),
        errors=tuple(errors[:5]),
        latency_ms=tuple(latencies),
        max_abs_diff=max_diff,
        n_missing_offline=missing,
        **base,
    )


# --------------------------------------------------------------------------------------
# Rollout report (→ Production)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReportGateResult(_Gate):
    """The ``→ Production`` evidence check of a rendered rollout report.

    Attributes
    ----------
    report_path : absolute path of the HTML report; report_sha256 : sha256 of its bytes now.
    decision_path : the decision.json beside it; decision_sha256 : sha256 of its bytes.
    decision : the parsed decision.json (empty if unreadable).
    """

    model: str
    passed: bool
    reasons: tuple[Reason, ...]
    report_path: str
    report_sha256: str | None
    decision_path: str
    decision_sha256: str | None
    decision: Mapping[str, Any]
    warnings: tuple[str, ...] = ()
    gate: str = REPORT

    def to_frame(self) -> pd.DataFrame:
        return self.reasons_frame()

    def summary(self) -> str:
        lines = [_head(self.passed, self.gate, self.model) + f" ({self.report_path})"]
        lines += [f"  {'✔' if r.passed else '✘'} {r.message}" for r in self.reasons]
        return "\n".join(lines)

    def _details(self) -> dict[str, Any]:
        return {
            "report_path": self.report_path,
            "report_sha256": self.report_sha256,
            "decision_path": self.decision_path,
            "decision_sha256": self.decision_sha256,
            "verdict": self.decision.get("verdict"),
        }

    def _repr_html_(self) -> str:
        return self._banner("Rollout report gate")


def report_gate(
    report: str | Path,
    model: str,
    *,
    registry: Registry | None = None,
    decision_name: str = "decision.json",
) -> ReportGateResult:
    """Check a rendered rollout report before ``→ Production``.

    Passes iff the HTML exists, ``decision.json`` beside it parses and has ``model`` equal
    to ``model``, ``verdict`` equal to ``"PROMOTE"``, ``report`` equal to the HTML's file
    name, ``report_sha256`` equal to the sha256 of the HTML's bytes (a report edited after
    rendering fails), and ``provenance.model`` equal to ``model``. If the provenance records
    ``model_sha256`` and a registry is given, it must equal the sha256 of the version's
    model artifact (the report was about this exact artifact).
    """
    parse_model(model)
    path = Path(report).expanduser().resolve()
    dpath = path.parent / decision_name
    reasons: list[Reason] = []

    def check(code: str, ok: bool, message: str) -> None:
        reasons.append(Reason(code, message, ok, critical=True))

    report_sha = decision_sha = None
    decision: dict[str, Any] = {}
    if not path.is_file():
        check("report_exists", False, f"report {path} does not exist")
    else:
        report_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if not dpath.is_file():
        check("decision_exists", False, f"{decision_name} not found beside the report ({dpath})")
    else:
        raw = dpath.read_bytes()
        decision_sha = hashlib.sha256(raw).hexdigest()
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as exc:
            loaded = None
            check("decision_json", False, f"{dpath} is not valid JSON: {exc}")
        if loaded is not None and not isinstance(loaded, dict):
            check("decision_json", False, f"{dpath} must hold a JSON object")
        elif isinstance(loaded, dict):
            decision = loaded
    if decision:
        got = decision.get("model")
        check(
            "decision_model",
            got == model,
            f"decision.json is for model {got!r}" + ("" if got == model else f", not {model!r}"),
        )
        verdict = decision.get("verdict")
        check(
            "verdict",
            verdict == "PROMOTE",
            f"decision.json verdict is {verdict!r}"
            + ("" if verdict == "PROMOTE" else "; promotion needs 'PROMOTE'"),
        )
        name = decision.get("report")
        check(
            "report_name",
            name == path.name,
            f"decision.json names report {name!r}"
            + ("" if name == path.name else f", not this file {path.name!r}"),
        )
        recorded = decision.get("report_sha256")
        if report_sha is not None:
            check(
                "report_sha256",
                recorded == report_sha,
                "report sha256 matches decision.json"
                if recorded == report_sha
                else f"report sha256 is {report_sha}, decision.json recorded {recorded!r}: "
                "the report was edited after rendering (or belongs to another run)",
            )
        prov = decision.get("provenance")
        pmodel = prov.get("model") if isinstance(prov, dict) else None
        check(
            "provenance_model",
            pmodel == model,
            f"provenance names model {pmodel!r}" + ("" if pmodel == model else f", not {model!r}"),
        )
        psha = prov.get("model_sha256") if isinstance(prov, dict) else None
        if psha is not None and registry is not None:
            art = registry.get(model).run.artifacts.get("model")
            ok = art is not None and art.sha256 == psha
            check(
                "provenance_artifact",
                ok,
                "provenance model_sha256 matches the registered artifact"
                if ok
                else f"provenance model_sha256 {psha!r} is not the registered artifact's "
                f"{None if art is None else art.sha256!r}",
            )
    return ReportGateResult(
        model=model,
        passed=bool(reasons) and all(r.passed for r in reasons),
        reasons=tuple(reasons),
        report_path=str(path),
        report_sha256=report_sha,
        decision_path=str(dpath),
        decision_sha256=decision_sha,
        decision=decision,
    )
