"""The four monitoring layers and their severity rules."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from mlopskit.drift import OutputDrift, PSIOverTime, PSITable
from mlopskit.drift.outcome import OutcomeDrift
from mlopskit.monitoring.service import ServiceHealth
from mlopskit.policy import MonitoringPolicy
from mlopskit.verdict import MonitorVerdict, Reason

LAYERS = ("service_health", "input_drift", "output_drift", "outcome_drift")


_ORDER = {"OK": 0, "WATCH": 1, "ALERT": 2, "PAGE": 3}


NOT_EVALUABLE = "NOT_EVALUABLE"
"""Severity a layer returns when none of its period can be judged yet (shown as not
evaluated, never OK)."""


def _when(t: pd.Timestamp) -> str:
    return str(t.date()) if t == t.normalize() else str(t)


def _max(*sev: str) -> str:
    return max(sev, key=lambda s: _ORDER[s]) if sev else "OK"


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
    """Severity from the latest *complete* window's table (over time); a partial window is
    named and never judged; every flagged feature states its drift onset (or none)."""
    sev, reasons = "OK", []
    if isinstance(r, PSIOverTime):
        reasons += [
            Reason(
                "partial_window",
                f"window {_when(w)} is partial ({r.n[r.windows.index(w)]:,} rows): shown, not "
                "judged",
                None,
            )
            for w in r.partial_windows
        ]
        latest = r.latest_complete
        if latest is None:
            return "OK", [*reasons, Reason("psi", "no complete window yet", None)]
        table = r.table(latest)
        reasons.append(
            Reason("psi_window", f"judged on the latest complete window, {_when(latest)}", None)
        )
    else:
        table = r
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
                f"{row.feature}: PSI {row.psi:.4f} ({row.status}; top bins {row.top_bins(2)})",
                False,
                row.psi,
                tau,
            )
        )
        onset = r.onset(row.feature) if isinstance(r, PSIOverTime) else None
        if onset is not None:
            ok = None if onset.change is None else not onset.fired
            reasons.append(Reason(f"onset:{row.feature}", onset.describe(), ok))
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
    """Severity from the drift onset (the error-controlled change point), sized by the PSI
    of the latest *complete* window; a partial window is named and never judged alone."""
    complete = r.complete or (True,) * len(r.windows)
    done = [j for j, c in enumerate(complete) if c]
    reasons: list[Reason] = []
    if len(done) < len(r.windows) and r.windows:
        k = len(r.windows) - 1
        reasons.append(
            Reason(
                "partial_window",
                f"window {r.windows[k]} is partial ({r.n[k]:,} rows): shown, not judged",
                None,
            )
        )
    if not done:
        return "OK", [*reasons, Reason("score_psi", "no complete window yet", None)]
    i = done[-1]
    v, band, oob = r.psi[i], r.band_upper[i], r.out_of_band[i]
    w = r.windows[i]
    if math.isnan(v):
        return "OK", [
            *reasons,
            Reason("score_psi", f"window {w}: score PSI could not be computed", None),
        ]
    msg = f"window {w}: score PSI {v:.4f} vs band ≤ {band:.4f}" + (" (outside)" if oob else "")
    if r.change is None:  # too few reference windows to date an onset: the band alone
        if not oob:
            sev = "OK"
        elif v >= p.output_severe_psi:
            sev = p.output_severe_severity
        elif v >= r.tau_moderate:
            sev = p.output_moderate_severity
        else:
            sev = p.output_out_of_band_severity
        return sev, [*reasons, Reason("score_psi", msg, not oob, v, band)]
    ctl = (
        f"CUSUM on the window PSI; P(false onset within {r.change.horizon} windows) "
        f"≤ {r.change.alpha:g}"
    )
    if not r.fired:
        note = " — one window outside the band is not an onset" if oob else ""
        return "OK", [
            *reasons,
            Reason("drift_onset", f"no drift onset ({ctl})", True),
            Reason("score_psi", msg + note, None if oob else True, v, band),
        ]
    if v >= p.output_severe_psi:
        sev = p.output_severe_severity
    elif v >= r.tau_moderate:
        sev = p.output_moderate_severity
    else:
        sev = p.output_out_of_band_severity
    onset = (
        f"drift onset {r.onset} (between {r.onset_low} and {r.onset_high}, "
        f"{r.change.level:.0%}; {ctl})"
    )
    return sev, [
        *reasons,
        Reason("drift_onset", onset, False, critical=True),
        Reason("score_psi", msg, not oob, v, band),
    ]


def _outcome_layer(r: OutcomeDrift, p: MonitoringPolicy) -> tuple[str, list[Reason]]:
    full = [w for w in r.windows if w.n_matured and w.n_matured == w.n_events]
    part = [w for w in r.windows if w.n_matured]
    if not part:
        return NOT_EVALUABLE, [
            Reason(
                "not_evaluable",
                f"not evaluable since {r.reference_period[1].date()}: no window after the "
                f"reference has labels matured to the {r.label_age.days} d label window yet",
                None,
            )
        ]
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
    since = getattr(r, "not_evaluable_since", None)
    if since is not None:
        reasons.append(
            Reason(
                "not_evaluable",
                f"outcome judged through {w.window_start.date()} only: windows since "
                f"{since.date()} are not evaluable yet (labels younger than the "
                f"{r.label_age.days} d label window); this layer says nothing about them",
                None,
            )
        )
    ref = r.reference
    if getattr(ref, "n_late", 0) and ref.late_share > 0.05:
        reasons.append(
            Reason(
                "late_positives",
                f"{ref.late_share:.1%} of reference positives arrived after the "
                f"{r.label_age.days} d label window and count as negatives",
                None,
                ref.late_share,
            )
        )
    return sev, reasons
