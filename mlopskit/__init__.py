"""mlopskit: statistics you can defend for model rollout decisions.

The public API, by the question it answers (nothing runs at import):

* shadow — :func:`shadow_profile`
* canary — :func:`canary_test`, :func:`canary_history`, metric declarations, planning
* monitoring — :func:`profile`, :func:`psi_table`, :func:`output_drift`,
  :func:`outcome_drift`, :func:`monitor`
* retraining — :func:`label_maturity`, :func:`drift_vs_label_lag`
* lifecycle — :func:`open_registry` and the CI gates
"""

from mlopskit.canary import (
    CanaryHistory,
    CanaryResult,
    Mean,
    Proportion,
    Ratio,
    canary_history,
    canary_test,
    default_metrics,
)
from mlopskit.canary import minimum_detectable_effect as canary_mde
from mlopskit.canary import power as canary_power
from mlopskit.canary import sample_size as canary_sample_size
from mlopskit.drift import (
    OutcomeDrift,
    OutputDrift,
    PSIOverTime,
    PSITable,
    ReferenceProfile,
    outcome_drift,
    output_drift,
    profile,
    psi,
    psi_over_time,
    psi_table,
)
from mlopskit.labels import LabelMaturity, RetrainAssessment, drift_vs_label_lag, label_maturity
from mlopskit.monitoring import MonitoringResult, monitor
from mlopskit.policy import Policy, load_policy
from mlopskit.registry import Registry, Stage, open_registry
from mlopskit.registry import gates as gates
from mlopskit.registry.gates import feature_parity_gate, model_quality_gate, staging_smoke_test
from mlopskit.shadow import ShadowProfile, shadow_profile
from mlopskit.verdict import (
    CanaryVerdict,
    MonitorVerdict,
    Reason,
    RetrainVerdict,
    ShadowVerdict,
)

__version__ = "0.1.0"

__all__ = [
    "CanaryHistory",
    "CanaryResult",
    "CanaryVerdict",
    "LabelMaturity",
    "Mean",
    "MonitorVerdict",
    "MonitoringResult",
    "OutcomeDrift",
    "OutputDrift",
    "PSIOverTime",
    "PSITable",
    "Policy",
    "Proportion",
    "Ratio",
    "Reason",
    "ReferenceProfile",
    "Registry",
    "RetrainAssessment",
    "RetrainVerdict",
    "ShadowProfile",
    "ShadowVerdict",
    "Stage",
    "__version__",
    "canary_history",
    "canary_mde",
    "canary_power",
    "canary_sample_size",
    "canary_test",
    "default_metrics",
    "drift_vs_label_lag",
    "feature_parity_gate",
    "label_maturity",
    "load_policy",
    "model_quality_gate",
    "monitor",
    "open_registry",
    "outcome_drift",
    "output_drift",
    "profile",
    "psi",
    "psi_over_time",
    "psi_table",
    "shadow_profile",
    "staging_smoke_test",
]
