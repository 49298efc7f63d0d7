"""Every figure of mlopskit; the only package that imports matplotlib (and seaborn).

Each function takes the result object (or its numbers) and ``ax=None``, draws, sets a title
and axis labels, and returns the Axes. Result objects' ``.plot()`` delegate here lazily.
One module per phase: ``shadow``, ``canary``, ``drift``, ``labels``, ``monitoring``,
``registry`` (stages and gates), ``overview``; ``_common`` holds the shared machinery
(report settings, new Axes, PNG export with alt text). Every figure is re-exported here, so
``from mlopskit import plots; plots.plot_psi_table(...)`` works.
"""

from __future__ import annotations

from mlopskit.plots._common import (  # noqa: F401
    _axes,
    _figure_of,
    alt_text,
    literal_text,
    to_png,
    use_report_settings,
)
from mlopskit.plots.canary import canary_forest, canary_funnel, canary_power_curve
from mlopskit.plots.drift import (
    _STATUS_COLOURS,  # noqa: F401
    plot_outcome_auc,
    plot_output_drift,
    plot_profile_feature,
    plot_psi_bins,
    plot_psi_heat,
    plot_psi_table,
    plot_reliability,
)
from mlopskit.plots.labels import (
    plot_arrival_curves,
    plot_label_forecast,
    plot_label_triangle,
    plot_maturity_curve,
)
from mlopskit.plots.monitoring import plot_estimate_check, plot_monitoring, plot_service_health
from mlopskit.plots.overview import label_glance, score_distributions, volumes
from mlopskit.plots.registry import (
    _STAGE_LEVEL,  # noqa: F401
    parity_gate,
    quality_gate,
    registry_history,
    smoke_latency,
)
from mlopskit.plots.shadow import (
    plot_shadow_decisions,
    plot_shadow_latency,
    plot_shadow_scores,
    plot_shadow_segments,
)

__all__ = [
    "alt_text",
    "canary_forest",
    "canary_funnel",
    "canary_power_curve",
    "label_glance",
    "parity_gate",
    "plot_arrival_curves",
    "plot_estimate_check",
    "plot_label_forecast",
    "plot_label_triangle",
    "plot_maturity_curve",
    "plot_monitoring",
    "plot_outcome_auc",
    "plot_output_drift",
    "plot_profile_feature",
    "plot_psi_bins",
    "plot_psi_heat",
    "plot_psi_table",
    "plot_reliability",
    "plot_service_health",
    "plot_shadow_decisions",
    "plot_shadow_latency",
    "plot_shadow_scores",
    "plot_shadow_segments",
    "quality_gate",
    "registry_history",
    "score_distributions",
    "smoke_latency",
    "to_png",
    "use_report_settings",
    "volumes",
]

# Data strings are drawn literally by every figure (issue 14): each public figure function
# is wrapped once here, where result objects' ``.plot()`` look them up.
_HELPERS = {"alt_text", "to_png", "use_report_settings"}
for _name in __all__:
    if _name not in _HELPERS:
        globals()[_name] = literal_text(globals()[_name])
del _name
