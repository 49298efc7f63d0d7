"""Staging smoke test of the Staging artifact (see :mod:`mlopskit.registry.gates`)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display, frames
from mlopskit.policy import Policy, RegistryPolicy, as_policy
from mlopskit.registry.gates.base import (
    STAGING_SMOKE,
    _Gate,
    _head,
)
from mlopskit.registry.records import ArtifactError
from mlopskit.registry.store import Registry, open_registry
from mlopskit.rows import RowCounts
from mlopskit.verdict import Reason


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
    row_counts : requests sent (read), scored (used) and failed by reason (raised, or not
        one probability in [0, 1]); ``by["offline parity"]``: scored requests compared with
        their offline prediction and those without one.
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
    row_counts: RowCounts | None = None

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
        if self.row_counts is not None:
            lines.append(f"  rows: {self.row_counts.summary()}")
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
            "row_counts": None if self.row_counts is None else self.row_counts.to_dict(),
        }

    def _repr_html_(self) -> str:
        return self._banner("Staging smoke test") + _display.table_html(self.to_frame())

    def plot(self, ax: Any = None) -> Any:
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
    columns: Mapping[str, str] | None = None,
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
    columns : mapping ``key`` or one of the run's features → your column in ``requests``
        (the model then receives its own feature names).
    """
    pol = as_policy(policy).section("registry", RegistryPolicy)
    reg = registry if registry is not None else open_registry()
    n = pol.smoke_sample_size if n is None else int(n)
    if n < 1:
        raise ValueError(f"`n` (requests to score) must be an integer ≥ 1; got {n!r}.")
    max_error_rate = pol.smoke_max_error_rate if max_error_rate is None else float(max_error_rate)
    budget = pol.smoke_latency_p99_ms if latency_p99_ms is None else float(latency_p99_ms)
    atol = pol.smoke_parity_atol if parity_atol is None else float(parity_atol)
    mv = reg.get(model)
    accepted = {key, *mv.run.features}
    requests = frames.rename_columns(requests, columns, accepted, frame="requests")
    base: dict[str, Any] = dict(
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
            row_counts=RowCounts.of(0, unit="requests sent"),
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
            row_counts=RowCounts.of(0, unit="requests sent"),
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
    n_raised = n_bad_score = 0
    for i, k in enumerate(keys):
        row = sample.iloc[[i]]
        t0 = time.perf_counter()
        try:
            out = np.asarray(scorer.score(row), dtype=float).ravel()
        except Exception as exc:  # a failing request is the finding; kept with its type
            latencies.append((time.perf_counter() - t0) * 1e3)
            errors.append(f"{key}={k!r}: {type(exc).__name__}: {exc}")
            n_raised += 1
            continue
        latencies.append((time.perf_counter() - t0) * 1e3)
        if out.size != 1 or not np.isfinite(out[0]) or not 0 <= out[0] <= 1:
            errors.append(f"{key}={k!r}: score {out.tolist()} is not one probability in [0, 1]")
            n_bad_score += 1
            continue
        if k in offline:
            diffs.append(abs(float(out[0]) - offline[k]))
    n_done = len(keys)
    q99 = float(np.percentile(latencies, 99)) if latencies else float("nan")
    err_rate = len(errors) / n_done if n_done else 1.0
    missing = sum(1 for k in keys if k not in offline)
    max_diff = max(diffs) if diffs else None
    n_scored = n_done - n_raised - n_bad_score
    rows = RowCounts.of(
        n_done,
        {"failed: raised an error": n_raised, "failed: not one probability in [0, 1]": n_bad_score},
        by={
            "offline parity": RowCounts.of(
                n_scored, {"no recorded offline prediction": n_scored - len(diffs)}, unit="scored"
            )
        },
        unit="requests sent",
    )
    reasons = [
        Reason(
            "sample",
            f"scored {n_done} of {n} recorded requests one by one"
            + (
                ""
                if n_done == n
                else f"; fewer recorded requests than the smoke sample size `n` = {n}: record "
                "more requests or lower `n`"
            ),
            n_done == n,
            float(n_done),
            float(n),
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
        row_counts=rows,
        **base,
    )
