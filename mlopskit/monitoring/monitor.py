"""monitor(): the four layers combined into OK / WATCH / ALERT / PAGE with owners and runbooks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlopskit import _display
from mlopskit.drift import OutputDrift, PSIOverTime, PSITable
from mlopskit.drift.outcome import OutcomeDrift
from mlopskit.monitoring.layers import (
    LAYERS,
    NOT_EVALUABLE,
    LayerStatus,
    _input_layer,
    _max,
    _outcome_layer,
    _output_layer,
    _service_layer,
)
from mlopskit.monitoring.service import ServiceHealth
from mlopskit.policy import MonitoringPolicy, Policy, as_policy
from mlopskit.rows import RowCounts
from mlopskit.verdict import MonitorVerdict


# --------------------------------------------------------------------------------------
# Combined result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MonitoringResult:
    """All four layers and the overall verdict (the most severe evaluated layer).

    Attributes
    ----------
    verdict : ``OK | WATCH | ALERT | PAGE``.
    layers : one :class:`LayerStatus` per layer, in the order of :data:`LAYERS`.
    warnings : layers not evaluated and data problems of the inputs.
    row_counts : the layers' inputs' rows (read, used, dropped), per layer in ``by``.
    """

    verdict: MonitorVerdict
    layers: tuple[LayerStatus, ...]
    warnings: tuple[str, ...] = ()
    row_counts: RowCounts | None = None

    @property
    def pages(self) -> tuple[str, ...]:
        """Layers that page."""
        return tuple(layer.layer for layer in self.layers if layer.pages)

    def layer(self, name: str) -> LayerStatus:
        for layer in self.layers:
            if layer.layer == name:
                return layer
        raise ValueError(f"`name` must be one of {LAYERS}; got {name!r}.")

    def to_frame(self) -> pd.DataFrame:
        """One row per layer: ``layer, severity, pages, owner, message, runbook``."""
        return pd.DataFrame(
            [
                {
                    "layer": layer.layer,
                    "severity": str(layer.severity) if layer.severity else "NOT_EVALUATED",
                    "pages": layer.pages,
                    "owner": layer.owner,
                    "message": "; ".join(r.message for r in layer.reasons),
                    "runbook": layer.runbook,
                }
                for layer in self.layers
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "layers": [
                {
                    "layer": layer.layer,
                    "severity": str(layer.severity) if layer.severity else None,
                    "owner": layer.owner,
                    "runbook": layer.runbook,
                    "reasons": [r.to_dict() for r in layer.reasons],
                }
                for layer in self.layers
            ],
            "warnings": list(self.warnings),
        }

    __repr__ = _display.short_repr
    __eq__ = _display.nan_safe_eq

    def summary(self) -> str:
        lines = [
            f"Monitoring: {self.verdict}"
            + (f" (pages: {', '.join(self.pages)})" if self.pages else "")
        ]
        for layer in self.layers:
            sev = str(layer.severity) if layer.severity else "not evaluated"
            lines.append(f"  {layer.layer:<15} {sev:<6} owner: {layer.owner}")
            lines += [f"      - {r.message}" for r in layer.reasons]
        if self.row_counts is not None:
            lines.append(f"rows: {self.row_counts.summary()}")
        return "\n".join([*lines, *(f"warning: {w}" for w in self.warnings)])

    def _repr_html_(self) -> str:
        reasons = [r for layer in self.layers for r in layer.reasons]
        return (
            _display.verdict_html(self.verdict, "Monitoring", reasons)
            + _display.table_html(self.to_frame())
            + _display.warnings_html(self.warnings)
        )

    def plot(self, ax: Any = None) -> Any:
        from mlopskit import plots

        return plots.plot_monitoring(self, ax=ax)


def monitor(
    *,
    service: ServiceHealth | None = None,
    input_drift: PSITable | PSIOverTime | None = None,
    output_drift: OutputDrift | None = None,
    outcome_drift: OutcomeDrift | None = None,
    policy: Policy | str | Path | None = None,
) -> MonitoringResult:
    """Combine the four layers' results into severities, owners and runbooks.

    Each layer looks at its latest evidence: the service's latest window; the PSI table (or
    the latest *complete* window of a PSI-over-time table, with each flagged feature's drift
    onset; a partial window is shown, not judged); the last score window; the latest outcome
    window whose labels are fully matured (else the latest partially matured one). A layer
    passed as ``None`` is reported as not evaluated.
    """
    expected = {
        "service": (service, (ServiceHealth,), "mlopskit.monitoring.service_health(...)"),
        "input_drift": (input_drift, (PSITable, PSIOverTime), "psi_table() or psi_over_time()"),
        "output_drift": (output_drift, (OutputDrift,), "output_drift()"),
        "outcome_drift": (outcome_drift, (OutcomeDrift,), "outcome_drift()"),
    }
    for arg, (value, types, made_by) in expected.items():
        if value is not None and not isinstance(value, types):
            raise TypeError(
                f"`{arg}` must be the result of {made_by} (or None); got "
                f"{type(value).__name__}. Compute the layer's result first, then pass it."
            )
    p = as_policy(policy).section("monitoring", MonitoringPolicy)
    owners = {
        "service_health": (p.service_owner, p.service_runbook),
        "input_drift": (p.input_owner, p.input_runbook),
        "output_drift": (p.output_owner, p.output_runbook),
        "outcome_drift": (p.outcome_owner, p.outcome_runbook),
    }
    inputs: dict[str, Any] = {
        "service_health": (service, _service_layer),
        "input_drift": (input_drift, _input_layer),
        "output_drift": (output_drift, _output_layer),
        "outcome_drift": (outcome_drift, _outcome_layer),
    }
    layers, warn = [], []
    for name in LAYERS:
        res, fn = inputs[name]
        owner, runbook = owners[name]
        if res is None:
            layers.append(LayerStatus(name, None, owner, runbook))
            warn.append(f"layer `{name}` not evaluated (no result given).")
            continue
        sev, reasons = fn(res, p)
        # a layer that cannot judge its period yet is not evaluated, never OK
        level = None if sev == NOT_EVALUABLE else MonitorVerdict(sev)
        layers.append(LayerStatus(name, level, owner, runbook, tuple(reasons)))
        warn += [f"{name}: {w}" for w in getattr(res, "warnings", ())]
    evaluated = [str(layer.severity) for layer in layers if layer.severity is not None]
    if not evaluated:
        raise ValueError("monitor: pass at least one layer result (service, input_drift, …).")
    by = {n: r.row_counts for n, (r, _) in inputs.items() if getattr(r, "row_counts", None)}
    total = None
    if by:
        total = RowCounts.of(0, unit="rows (all layers)")
        for rc in by.values():
            total = total + rc
        total = RowCounts.of(total.read, total.dropped, by=by, unit="rows (all layers)")
    return MonitoringResult(
        MonitorVerdict(_max(*evaluated)), tuple(layers), tuple(warn), row_counts=total
    )
