"""The four monitoring layers: who acts, on what threshold, how loudly, and how.

1. **service health** — latency, error rate, throughput of the scoring service;
2. **input drift** — PSI per feature (:func:`mlopskit.drift.psi_table`);
3. **output drift** — the score distribution against its band (:func:`mlopskit.drift.output_drift`);
4. **outcome drift** — AUC / calibration / lift on matured labels
   (:func:`mlopskit.outcome.outcome_drift`).

Each layer has an owner, thresholds, a severity (``OK < WATCH < ALERT < PAGE``) and a runbook,
all from the policy's ``monitoring`` section. Page-worthy alerts are reserved for service
health and outcome regressions; input drift is a non-paging alert for the next business day
(the policy refuses ``PAGE`` for it); output drift pages only if a team configures it.
:func:`monitor` combines the layer results into a :class:`MonitoringResult` whose verdict is
the most severe layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlopskit import _display, frames
from mlopskit.drift import OutputDrift, PSIOverTime, PSITable
from mlopskit.outcome import OutcomeDrift
from mlopskit.policy import MonitoringPolicy, Policy, as_policy
from mlopskit.verdict import MonitorVerdict, Reason

LAYERS = ("service_health", "input_drift", "output_drift", "outcome_drift")
_ORDER = {"OK": 0, "WATCH": 1, "ALERT": 2, "PAGE": 3}


def _max(*sev: str) -> str:
    return max(sev, key=lambda s: _ORDER[s]) if sev else "OK"


# --------------------------------------------------------------------------------------
# Service health
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """Latest window of the scoring service against its recent baseline.

    Attributes
    ----------
    window_start, window_end : the latest window ``[as_of − window, as_of)``.
    n, errors, error_rate : requests, failed requests and their share in the window.
    latency_p50, latency_p95, latency_p99 : latency quantiles (ms, linear interpolation).
    throughput_per_hour, baseline_throughput_per_hour : request rates of the window and of
        the same clock window on each of the ``baseline_days`` previous days that the log covers
        (averaged, so the daily traffic cycle cancels); ``throughput_ratio`` is their ratio.
    warnings : data problems (no latency or error column, empty baseline).
    """

    window_start: pd.Timestamp
    window_end: pd.Timestamp
    n: int
    errors: float
    error_rate: float
    latency_p50: float
    latency_p95: float
    latency_p99: float
    throughput_per_hour: float
    baseline_throughput_per_hour: float
    throughput_ratio: float
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "window_start": self.window_start,
                    "window_end": self.window_end,
                    "n": self.n,
                    "errors": self.errors,
                    "error_rate": self.error_rate,
                    "latency_p50": self.latency_p50,
                    "latency_p95": self.latency_p95,
                    "latency_p99": self.latency_p99,
                    "throughput_per_hour": self.throughput_per_hour,
                    "baseline_throughput_per_hour": self.baseline_throughput_per_hour,
                    "throughput_ratio": self.throughput_ratio,
                }
            ]
        )

    __repr__ = _display.short_repr

    def summary(self) -> str:
        return (
            f"Service health {self.window_start} – {self.window_end}: {self.n:,} requests, "
            f"error rate {self.error_rate:.4%}, p99 latency {self.latency_p99:.1f} ms, "
            f"throughput {self.throughput_ratio:.2f}× baseline"
        )

    def plot(self, ax: Any = None, *, policy: Policy | str | Path | None = None) -> Any:
        """Latency quantiles with the policy's WATCH / PAGE lines."""
        from mlopskit import plots

        return plots.plot_service_health(
            self, as_policy(policy).section("monitoring", MonitoringPolicy), ax=ax
        )

    def _repr_html_(self) -> str:
        df = self.to_frame().astype({"window_start": str, "window_end": str})
        return (
            f"<div><strong>{_display.escape(self.summary())}</strong>"
            f"{_display.table_html(df)}{_display.warnings_html(self.warnings)}</div>"
        )


def service_health(
    log: frames.FrameLike,
    *,
    ts: str = "ts",
    latency: str | None = "latency_ms",
    error: str | None = "error",
    as_of: Any = None,
    window: str | None = None,
    baseline_days: int = 7,
    policy: Policy | str | Path | None = None,
) -> ServiceHealth:
    """Latency quantiles, error rate and throughput of the latest window of a request log.

    ``as_of`` defaults to the latest ``ts``; the window is policy ``monitoring.service_window``
    (``"1h"``); the throughput baseline is the same clock window on each of the
    ``baseline_days`` previous days. Pass ``latency=None`` / ``error=None`` when the log lacks
    them. Two lazy aggregations.
    """
    pol = as_policy(policy).section("monitoring", MonitoringPolicy)
    _, length = frames.parse_window(window or pol.service_window)
    mapping = {
        "ts": ts,
        **({"latency_ms": latency} if latency else {}),
        **({"error": error} if error else {}),
    }
    contract = frames.SERVICE_LOG.without(
        *[c for c, v in (("latency_ms", latency), ("error", error)) if not v]
    )
    lf = frames.validate(log, contract, columns=mapping, frame="service log")
    sch = frames.schema(lf)
    warn: list[str] = []
    lat = "latency_ms" if "latency_ms" in sch else None
    err = "error" if "error" in sch else None
    if lat is None:
        warn.append("service log has no latency column; latency quantiles are NaN.")
    if err is None:
        warn.append("service log has no error column; error rate is NaN.")
    first, last = frames.time_range(lf, "ts")
    end = last.floor("us") + pd.Timedelta(microseconds=1) if as_of is None else pd.Timestamp(as_of)
    start = end - length
    cur = frames.service_stats(
        frames.time_filter(lf, "ts", start, end), latency=lat, error=err, probs=(0.5, 0.95, 0.99)
    )
    day = pd.Timedelta(days=1)
    ranges = [(start - k * day, end - k * day) for k in range(1, baseline_days + 1)]
    ranges = [r for r in ranges if r[0] >= first]  # days before the log began are unknown
    base_n = frames.range_counts(lf, "ts", ranges) if ranges else []
    n = int(cur["n"])
    if n == 0:
        raise ValueError(f"service log: no requests in the latest window {start} – {end}.")
    hours = length / pd.Timedelta(hours=1)
    rate = n / hours
    base_rate = float(np.mean(base_n)) / hours if base_n else math.nan
    if len(ranges) < baseline_days:
        warn.append(
            f"service log: the throughput baseline uses {len(ranges)} of {baseline_days} previous "
            "days (the log starts later)."
        )
    if base_n and sum(base_n) == 0:
        warn.append(
            f"service log: no requests in the same window on the {len(ranges)} previous days; "
            "throughput ratio is NaN."
        )
    errors = cur.get("errors", math.nan)
    return ServiceHealth(
        window_start=start,
        window_end=end,
        n=n,
        errors=errors,
        error_rate=errors / n,
        latency_p50=cur.get("q0", math.nan),
        latency_p95=cur.get("q1", math.nan),
        latency_p99=cur.get("q2", math.nan),
        throughput_per_hour=rate,
        baseline_throughput_per_hour=base_rate,
        throughput_ratio=rate / base_rate if base_rate > 0 else math.nan,
        warnings=tuple(warn),
    )


# --------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LayerStatus:
    """One monitoring layer's outcome.

    Attributes
    ----------
    layer : ``service_health | input_drift | output_drift | outcome_drift``.
    severity : ``OK | WATCH | ALERT | PAGE``, or ``None`` when the layer was not evaluated.
    owner, runbook : from the policy.
    reasons : the checks behind the severity (decisions as data).
    """

    layer: str
    severity: MonitorVerdict | None
    owner: str
    runbook: str
    reasons: tuple[Reason, ...] = ()

    @property
    def pages(self) -> bool:
        return self.severity == MonitorVerdict.PAGE


def _service_layer(r: ServiceHealth, p: MonitoringPolicy) -> tuple[str, list[Reason]]:
    checks = [
        ("error_rate", r.error_rate, p.error_rate_watch, p.error_rate_page, "error rate"),
        (
            "latency_p99",
            r.latency_p99,
            p.latency_p99_watch_ms,
            p.latency_p99_page_ms,
            "p99 latency (ms)",
        ),
    ]
    sev, reasons = "OK", []
    for code, v, watch, page, name in checks:
        if math.isnan(v):
            reasons.append(Reason(code, f"{name} not measured", None))
            continue
        s = "PAGE" if v >= page else "WATCH" if v >= watch else "OK"
        sev = _max(sev, s)
        reasons.append(
            Reason(
                code,
                f"{name} {v:.4g} (watch ≥ {watch:g}, page ≥ {page:g})",
                s == "OK",
                v,
                watch if s != "PAGE" else page,
                s == "PAGE",
            )
        )
    t = r.throughput_ratio
    if not math.isnan(t):
        low = t < p.throughput_drop_page
        sev = _max(sev, "PAGE" if low else "OK")
        reasons.append(
            Reason(
                "throughput",
                f"throughput {t:.2f}× the baseline (page below {p.throughput_drop_page:g}×)",
                not low,
                t,
                p.throughput_drop_page,
                low,
            )
        )
    return sev, reasons


def _input_layer(r: PSITable | PSIOverTime, p: MonitoringPolicy) -> tuple[str, list[Reason]]:
    table = r.table(r.windows[-1]) if isinstance(r, PSIOverTime) else r
    sev, reasons = "OK", []
    for row in table.rows:
        if row.status == "significant":
            s = p.input_significant_severity
        elif row.status == "moderate":
            s = p.input_moderate_severity
        else:
            continue
        sev = _max(sev, s)
        tau = table.tau_significant if row.status == "significant" else table.tau_moderate
        reasons.append(
            Reason(
                f"psi:{row.feature}",
                f"{row.feature}: PSI {row.psi:.3f} ({row.status}; top bins {row.top_bins(2)})",
                False,
                row.psi,
                tau,
            )
        )
    n_insuf = sum(r_.status == "insufficient_data" for r_ in table.rows)
    if n_insuf:
        reasons.append(
            Reason(
                "psi:insufficient_data",
                f"{n_insuf} features could not be assessed (insufficient data)",
                None,
            )
        )
    if not reasons:
        reasons.append(Reason("psi", f"all {len(table.rows)} features stable", True))
    return sev, reasons


def _output_layer(r: OutputDrift, p: MonitoringPolicy) -> tuple[str, list[Reason]]:
    i = len(r.windows) - 1
    v, band, oob = r.psi[i], r.band_upper[i], r.out_of_band[i]
    w = r.windows[i]
    if math.isnan(v):
        return "OK", [Reason("score_psi", f"window {w}: score PSI could not be computed", None)]
    if not oob:
        sev = "OK"
    elif v >= p.output_severe_psi:
        sev = p.output_severe_severity
    elif v >= r.tau_moderate:
        sev = p.output_moderate_severity
    else:
        sev = p.output_out_of_band_severity
    msg = f"window {w}: score PSI {v:.4f} vs band ≤ {band:.4f}" + (" (outside)" if oob else "")
    return sev, [Reason("score_psi", msg, not oob, v, band)]


def _outcome_layer(r: OutcomeDrift, p: MonitoringPolicy) -> tuple[str, list[Reason]]:
    full = [w for w in r.windows if w.n_matured and w.n_matured == w.n_events]
    part = [w for w in r.windows if w.n_matured]
    if not part:
        return "OK", [Reason("outcome", "no window has matured labels yet", None)]
    w = (full or part)[-1]
    sev, reasons = "OK", []
    if w.auc_drop_test == "confirmed":
        sev = _max(sev, p.outcome_auc_drop_severity)
    elif w.auc_drop_test == "inconclusive" and w.auc_drop > r.auc_drop_tolerance:
        sev = _max(sev, p.outcome_auc_inconclusive_severity)
    reasons.append(
        Reason(
            "auc_drop",
            f"window {w.window_start.date()}: AUC {w.auc:.4f} vs reference {r.reference.auc:.4f}, "
            f"drop {w.auc_drop:.4f} ± {w.auc_drop_se:.4f} → {w.auc_drop_test}",
            None
            if w.auc_drop_test in ("inconclusive", "not_evaluated")
            else w.auc_drop_test == "cleared",
            w.auc_drop,
            r.auc_drop_tolerance,
            w.auc_drop_test == "confirmed",
        )
    )
    lo, hi = w.oe_vs_reference_ci_low, w.oe_vs_reference_ci_high
    if not math.isnan(lo):
        outside = lo > p.outcome_oe_high or hi < p.outcome_oe_low
        if outside:
            sev = _max(sev, p.outcome_calibration_severity)
        reasons.append(
            Reason(
                "calibration_oe",
                f"O/E relative to the reference {w.oe_vs_reference:.3f} [{lo:.3f}, {hi:.3f}] "
                f"(band {p.outcome_oe_low:g} – {p.outcome_oe_high:g})",
                not outside,
                w.oe_vs_reference,
            )
        )
    return sev, reasons


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
    """

    verdict: MonitorVerdict
    layers: tuple[LayerStatus, ...]
    warnings: tuple[str, ...] = ()

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

    def summary(self) -> str:
        lines = [
            f"Monitoring: {self.verdict}"
            + (f" (pages: {', '.join(self.pages)})" if self.pages else "")
        ]
        for layer in self.layers:
            sev = str(layer.severity) if layer.severity else "not evaluated"
            lines.append(f"  {layer.layer:<15} {sev:<6} owner: {layer.owner}")
            lines += [f"      - {r.message}" for r in layer.reasons]
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
    the last window of a PSI-over-time table); the last score window; the latest outcome
    window whose labels are fully matured (else the latest partially matured one). A layer
    passed as ``None`` is reported as not evaluated.
    """
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
        layers.append(LayerStatus(name, MonitorVerdict(sev), owner, runbook, tuple(reasons)))
        warn += [f"{name}: {w}" for w in getattr(res, "warnings", ())]
    evaluated = [str(layer.severity) for layer in layers if layer.severity is not None]
    if not evaluated:
        raise ValueError("monitor: pass at least one layer result (service, input_drift, …).")
    return MonitoringResult(MonitorVerdict(_max(*evaluated)), tuple(layers), tuple(warn))
