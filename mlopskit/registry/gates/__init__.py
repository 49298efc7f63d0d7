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

from mlopskit.registry.gates.base import (
    FEATURE_PARITY,
    MODEL_QUALITY,
    QUALITY_METRICS,
    REPORT,
    STAGING_SMOKE,
    GateFailed,
    GateResult,
)
from mlopskit.registry.gates.parity import FeatureParity, ParityGateResult, feature_parity_gate
from mlopskit.registry.gates.quality import QualityGateResult, QualityMetric, model_quality_gate
from mlopskit.registry.gates.report import ReportGateResult, report_gate
from mlopskit.registry.gates.smoke import SmokeTestResult, staging_smoke_test

__all__ = [
    "FEATURE_PARITY",
    "MODEL_QUALITY",
    "QUALITY_METRICS",
    "REPORT",
    "STAGING_SMOKE",
    "FeatureParity",
    "GateFailed",
    "GateResult",
    "ParityGateResult",
    "QualityGateResult",
    "QualityMetric",
    "ReportGateResult",
    "SmokeTestResult",
    "feature_parity_gate",
    "model_quality_gate",
    "report_gate",
    "staging_smoke_test",
]
