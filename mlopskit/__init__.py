"""mlopskit: statistics you can defend for model rollout decisions.

The public API, by the question it answers (nothing runs at import):

* shadow — :func:`shadow_profile`
* canary — :func:`canary_test`, :func:`canary_history`, metric declarations, planning
* monitoring — :func:`profile`, :func:`psi_table`, :func:`output_drift`,
  :func:`outcome_drift`, :func:`monitor`
* retraining — :func:`label_maturity`, :func:`drift_vs_label_lag`
* lifecycle — :func:`open_registry` and the CI gates

Imports are lazy: ``import mlopskit`` loads this file only; each public name imports
its module on first use (module-level ``__getattr__``, PEP 562), so scipy, statsmodels,
matplotlib, papermill and nbconvert load when an analysis needs them.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers and IDEs
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

    # no-redef: mypy also sees the submodules drift/psi.py and monitoring/monitor.py
    from mlopskit.drift import (  # type: ignore[no-redef]
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
    from mlopskit.monitoring import MonitoringResult, monitor  # type: ignore[no-redef]
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

# public name → (module, attribute); attribute None: the module itself
_LAZY: dict[str, tuple[str, str]] = {
    "CanaryHistory": ("mlopskit.canary", "CanaryHistory"),
    "CanaryResult": ("mlopskit.canary", "CanaryResult"),
    "Mean": ("mlopskit.canary", "Mean"),
    "Proportion": ("mlopskit.canary", "Proportion"),
    "Ratio": ("mlopskit.canary", "Ratio"),
    "canary_history": ("mlopskit.canary", "canary_history"),
    "canary_test": ("mlopskit.canary", "canary_test"),
    "default_metrics": ("mlopskit.canary", "default_metrics"),
    "canary_mde": ("mlopskit.canary", "minimum_detectable_effect"),
    "canary_power": ("mlopskit.canary", "power"),
    "canary_sample_size": ("mlopskit.canary", "sample_size"),
    "OutcomeDrift": ("mlopskit.drift", "OutcomeDrift"),
    "OutputDrift": ("mlopskit.drift", "OutputDrift"),
    "PSIOverTime": ("mlopskit.drift", "PSIOverTime"),
    "PSITable": ("mlopskit.drift", "PSITable"),
    "ReferenceProfile": ("mlopskit.drift", "ReferenceProfile"),
    "outcome_drift": ("mlopskit.drift", "outcome_drift"),
    "output_drift": ("mlopskit.drift", "output_drift"),
    "profile": ("mlopskit.drift", "profile"),
    "psi": ("mlopskit.drift", "psi"),
    "psi_over_time": ("mlopskit.drift", "psi_over_time"),
    "psi_table": ("mlopskit.drift", "psi_table"),
    "LabelMaturity": ("mlopskit.labels", "LabelMaturity"),
    "RetrainAssessment": ("mlopskit.labels", "RetrainAssessment"),
    "drift_vs_label_lag": ("mlopskit.labels", "drift_vs_label_lag"),
    "label_maturity": ("mlopskit.labels", "label_maturity"),
    "MonitoringResult": ("mlopskit.monitoring", "MonitoringResult"),
    "monitor": ("mlopskit.monitoring", "monitor"),
    "Policy": ("mlopskit.policy", "Policy"),
    "load_policy": ("mlopskit.policy", "load_policy"),
    "Registry": ("mlopskit.registry", "Registry"),
    "Stage": ("mlopskit.registry", "Stage"),
    "open_registry": ("mlopskit.registry", "open_registry"),
    "gates": ("mlopskit.registry", "gates"),
    "feature_parity_gate": ("mlopskit.registry.gates", "feature_parity_gate"),
    "model_quality_gate": ("mlopskit.registry.gates", "model_quality_gate"),
    "staging_smoke_test": ("mlopskit.registry.gates", "staging_smoke_test"),
    "ShadowProfile": ("mlopskit.shadow", "ShadowProfile"),
    "shadow_profile": ("mlopskit.shadow", "shadow_profile"),
    "CanaryVerdict": ("mlopskit.verdict", "CanaryVerdict"),
    "MonitorVerdict": ("mlopskit.verdict", "MonitorVerdict"),
    "Reason": ("mlopskit.verdict", "Reason"),
    "RetrainVerdict": ("mlopskit.verdict", "RetrainVerdict"),
    "ShadowVerdict": ("mlopskit.verdict", "ShadowVerdict"),
}

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


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562) and cache the value."""
    target = _LAZY.get(name)
    if target is None:
        # a subpackage (``mlopskit.demo`` …) reached as an attribute, as with eager imports
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module 'mlopskit' has no attribute {name!r}")
    module, attr = target
    mod = importlib.import_module(module)
    value = (
        getattr(mod, attr) if hasattr(mod, attr) else importlib.import_module(f"{module}.{attr}")
    )
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
