"""Label lag: how mature are the labels, and should we retrain now, wait, or recalibrate?

Two questions a fraud data scientist asks once a drift alarm fires (STATISTICS.md §4):

* :func:`label_maturity` — of the labels (chargebacks) that will eventually arrive, what
  share is known today, per cohort and per age? The chain ladder on the cohort × age
  triangle of cumulative positives gives the maturity curve F̂(age) with Mack standard
  errors, eventual-rate estimates per cohort, and an arrival-bias check (do high-score
  frauds get reported faster, which inflates AUC and lift on immature windows?).
* :func:`drift_vs_label_lag` — given a drift onset, are there enough labelled positives
  from the new world to retrain (K*), when will there be (the date the count reaches K*
  with 90% probability), and meanwhile is a recalibration worth shipping as a stopgap?
  Scheduled and monitoring retraining triggers are combined into one verdict
  ``RETRAIN_NOW | WAIT_FOR_LABELS | RECALIBRATE_STOPGAP | NO_ACTION`` with its reasons.

Data enter through :mod:`mlopskit.frames` (pandas, polars eager/lazy, DuckDB, paths) and are
reduced lazily to a few thousand counts; the statistics live in :mod:`mlopskit.stats.maturity`.
"""

from __future__ import annotations

from mlopskit.labels.arrival import ArrivalBias
from mlopskit.labels.calibration import CalibrationCheck
from mlopskit.labels.lag import drift_vs_label_lag
from mlopskit.labels.maturity import LabelMaturity, label_maturity
from mlopskit.labels.retrain import RetrainAssessment
from mlopskit.labels.triggers import Trigger

__all__ = [
    "ArrivalBias",
    "CalibrationCheck",
    "LabelMaturity",
    "RetrainAssessment",
    "Trigger",
    "drift_vs_label_lag",
    "label_maturity",
]
