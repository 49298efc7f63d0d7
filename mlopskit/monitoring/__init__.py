"""The four monitoring layers: who acts, on what threshold, how loudly, and how.

1. **service health** — latency, error rate, throughput of the scoring service;
2. **input drift** — PSI per feature (:func:`mlopskit.drift.psi_table`);
3. **output drift** — the score distribution against its band (:func:`mlopskit.drift.output_drift`);
4. **outcome drift** — AUC / calibration / lift on matured labels
   (:func:`mlopskit.drift.outcome.outcome_drift`).

Each layer has an owner, thresholds, a severity (``OK < WATCH < ALERT < PAGE``) and a runbook,
all from the policy's ``monitoring`` section. Page-worthy alerts are reserved for service
health and outcome regressions; input drift is a non-paging alert for the next business day
(the policy refuses ``PAGE`` for it); output drift pages only if a team configures it.
:func:`monitor` combines the layer results into a :class:`MonitoringResult` whose verdict is
the most severe layer.
"""

from __future__ import annotations

from mlopskit.monitoring.layers import (
    LAYERS,
    LayerStatus,
)
from mlopskit.monitoring.monitor import (
    MonitoringResult,
    monitor,
)
from mlopskit.monitoring.service import (
    ServiceHealth,
    service_health,
)

__all__ = [
    "LAYERS",
    "LayerStatus",
    "MonitoringResult",
    "ServiceHealth",
    "monitor",
    "service_health",
]
