"""Canary vs control: outcome tests with power, non-inferiority, safe daily peeking, a verdict.

The challenger ("canary" arm) makes real decisions for a share κ of randomized units; the
champion serves the rest ("control"). Every day the question is PROMOTE, ROLLBACK or
CONTINUE — and INVALID when the split itself is broken (sample-ratio mismatch).
The statistics follow STATISTICS.md §2–§3:

* metrics are declared with a direction and a non-inferiority margin Δ (absolute, or
  relative to control): :func:`Proportion`, :func:`Mean`, :func:`Ratio`;
* each arm reduces to additive sufficient statistics (:class:`ArmStats`), computed lazily
  where the data lives (``frames.canary_daily_sums``) or entered from SQL;
* intervals: unpooled Wald (Newcombe below 10 events/non-events) for proportions, Welch for
  means, the delta method for ratios and relative effects, CUPED with a pre-exposure
  covariate; with ``sequential=True`` decisions use the one-sided asymptotic confidence
  sequences (running intersection over daily looks), so looking every day is safe;
* the decision taxonomy (rows 0–7) per metric, Holm across metrics for "shows harm", the
  intersection–union rule for "all non-inferior", design power and days to a decision.

Units: the canary log has one row per randomization unit (``unit_id`` unique). A unit in
both arms is an assignment leak and an error; a per-event log (repeated ``unit_id``) is an
error too — aggregate per unit and declare :func:`Ratio` metrics (the delta method then
accounts for the correlation of events within a unit).
"""

from __future__ import annotations

from mlopskit.canary.api import (
    canary_history,
    canary_test,
)
from mlopskit.canary.evaluate import (
    classify,
)
from mlopskit.canary.looks import (
    ArmStats,
    CanaryLook,
)
from mlopskit.canary.metrics import (
    ROLES,
    TAXONOMY,
    Direction,
    Kind,
    Mean,
    Metric,
    Proportion,
    Ratio,
    Role,
    default_metrics,
)
from mlopskit.canary.planning import (
    CanaryPlan,
    minimum_detectable_effect,
    power,
    sample_size,
)
from mlopskit.canary.results import (
    CanaryHistory,
    CanaryResult,
    MetricResult,
)

__all__ = [
    "ROLES",
    "TAXONOMY",
    "ArmStats",
    "CanaryHistory",
    "CanaryLook",
    "CanaryPlan",
    "CanaryResult",
    "Direction",
    "Kind",
    "Mean",
    "Metric",
    "MetricResult",
    "Proportion",
    "Ratio",
    "Role",
    "canary_history",
    "canary_test",
    "classify",
    "default_metrics",
    "minimum_detectable_effect",
    "power",
    "sample_size",
]
