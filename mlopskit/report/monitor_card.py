"""The monitoring report's decision card: its first screen, built from the results.

The reader sees, top to bottom: the monitoring verdict (``OK | WATCH | ALERT | PAGE``) and
the retraining verdict in one headline that never contradicts itself; one chip per layer
(service, input, output, outcome) with its status, the **one number** that decided it and
that number's window; the drift onset with its interval; an evidence timeline (reference
window, current window, label window or "not evaluable since D", onset, as-of); the policy's
identity; the reasons ranked by what decided; the next steps.

Every number is read here once from the result objects, and the same :class:`MonitorCard`
feeds the HTML and ``decision.json`` (``monitoring`` object), so the card, the layer text,
the tables and the JSON quote the same window. Partial windows are named and never decide.
No statistics happen here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlopskit import _format as fmt
from mlopskit import frames
from mlopskit.report.card import EXPIRY_DAYS, PolicyIdentity, TimelineSpan, _day, _iso, _num
from mlopskit.verdict import Reason

#: the layers in card order, with their short names.
LAYER_NAMES = {
    "service_health": "service",
    "input_drift": "input",
    "output_drift": "output",
    "outcome_drift": "outcome",
}


@dataclass(frozen=True, slots=True)
class LayerChip:
    """One monitoring layer on the card.

    ``status``: the layer's severity (``OK | WATCH | ALERT | PAGE``) or ``not evaluated``.
    ``quantity``/``value``/``text``: the one number that decided the layer (``text`` is how
    the card prints it, with its unit or statistic name). ``window_start``/``window_end``:
    the window of that number; ``complete`` False marks a partial window (never decides).
    """

    layer: str
    status: str
    quantity: str
    value: float | None
    text: str
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    complete: bool = True
    note: str = ""

    @property
    def name(self) -> str:
        return LAYER_NAMES.get(self.layer, self.layer)

    @property
    def window_text(self) -> str:
        if self.window_start is None:
            return "no window"
        start, stop = self.window_start, self.window_end
        if stop is not None and stop - start < pd.Timedelta(days=1):  # hours: show the times
            span = f"{start:%Y-%m-%d %H:%M} → {stop:%H:%M}"
        elif stop is None or stop - start <= pd.Timedelta(days=1):
            span = _day(start)
        else:  # whole days, end exclusive: the last day shown is the day before the end
            span = f"{_day(start)} → {_day(stop - pd.Timedelta(days=1))}"
        return span + ("" if self.complete else " (partial window)")

    def sentence(self) -> str:
        tail = f"; {self.note}" if self.note else ""
        return f"{self.name} {self.status}: {self.text} (window {self.window_text}){tail}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "status": self.status,
            "quantity": self.quantity,
            "value": _num(self.value),
            "text": self.text,
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "complete": self.complete,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Onset:
    """The drift onset on the output scores and its interval (``level``)."""

    onset: pd.Timestamp
    earliest: pd.Timestamp
    latest: pd.Timestamp
    level: float
    alpha: float
    horizon: int

    def sentence(self) -> str:
        span = (
            f"between {_day(self.earliest)} and {_day(self.latest)}"
            if self.earliest != self.latest
            else f"interval {_day(self.earliest)} to {_day(self.latest)}"
        )
        return (
            f"Drift onset {_day(self.onset)} ({span}, {self.level:.0%}; "
            f"P(false onset over {self.horizon} windows) ≤ {self.alpha:g})."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "onset": _iso(self.onset),
            "earliest": _iso(self.earliest),
            "latest": _iso(self.latest),
            "level": self.level,
            "alpha": self.alpha,
        }


@dataclass(frozen=True, slots=True)
class MonitorCard:
    """Everything on the monitoring report's first screen (see the module docstring)."""

    model: str
    verdict: str
    retraining: str | None
    headline: str
    chips: tuple[LayerChip, ...] = ()
    onset: Onset | None = None
    timeline: tuple[TimelineSpan, ...] = ()
    policy: PolicyIdentity = field(default_factory=lambda: PolicyIdentity(None, None, True))
    reasons: tuple[Reason, ...] = ()
    estimate: str | None = None
    not_evaluable_since: pd.Timestamp | None = None
    as_of: pd.Timestamp | None = None

    @property
    def expires(self) -> pd.Timestamp | None:
        return None if self.as_of is None else self.as_of + pd.Timedelta(days=EXPIRY_DAYS)

    def to_dict(self) -> dict[str, Any]:
        """decision.json's ``monitoring`` object."""
        return {
            "verdict": self.verdict,
            "retraining_verdict": self.retraining,
            "layers": [c.to_dict() for c in self.chips],
            "onset": None if self.onset is None else self.onset.to_dict(),
            "not_evaluable_since": _iso(self.not_evaluable_since),
            "timeline": [
                {"label": s.label, "start": _iso(s.start), "end": _iso(s.end), "note": s.note}
                for s in self.timeline
            ],
            "estimate": self.estimate,
        }


# ----------------------------------------------------------------------------------------
# The one number per layer
# ----------------------------------------------------------------------------------------
def _status(layer: Any) -> str:
    sev = getattr(layer, "severity", None)
    return "not evaluated" if sev is None else str(sev)


def service_chip(layer: Any, service: Any) -> LayerChip:
    """The service number that decided: the check at the layer's severity (error rate,
    p99 latency or throughput), else the p99 latency."""
    status = _status(layer)
    if service is None:
        return LayerChip(layer.layer, status, "none", None, "no service log", None, None)
    failing = [r for r in layer.reasons if r.passed is False]
    code = failing[0].code if failing else "latency_p99"
    if code == "error_rate":
        text = f"error rate {fmt.percent(service.error_rate, 3)}"
        value = service.error_rate
    elif code == "throughput":
        text = f"throughput {service.throughput_ratio:.2f}× the baseline"
        value = service.throughput_ratio
    else:
        code, value = "latency_p99", service.latency_p99
        text = f"p99 latency {fmt.sig(value, 4)} ms"
    return LayerChip(
        layer.layer, status, code, value, text, service.window_start, service.window_end
    )


def input_chip(layer: Any, table: Any, current: tuple[Any, Any]) -> LayerChip:
    """The input number: the largest PSI among the features of the current window (the
    same table the report shows, and the window the layer judged)."""
    status = _status(layer)
    rows = [r for r in getattr(table, "rows", ()) if r.psi is not None and math.isfinite(r.psi)]
    if not rows:
        return LayerChip(layer.layer, status, "psi", None, "no feature assessed", *current)
    top = max(rows, key=lambda r: r.psi)
    flagged = [r.feature for r in table.rows if r.status in ("moderate", "significant")]
    note = (
        f"{len(flagged)} feature(s) moved: {', '.join(flagged)}"
        if flagged
        else f"all {len(table.rows)} features stable"
    )
    return LayerChip(
        layer.layer,
        status,
        f"psi:{top.feature}",
        float(top.psi),
        f"PSI {top.psi:.4f} on {top.feature} ({top.status})",
        pd.Timestamp(current[0]),
        pd.Timestamp(current[1]),
        note=note,
    )


def latest_complete(out: Any) -> int | None:
    """Index of the output drift's latest complete window (``None``: none)."""
    complete = out.complete or (True,) * len(out.windows)
    done = [i for i, c in enumerate(complete) if c and not out.in_reference[i]]
    return done[-1] if done else None


def output_chip(layer: Any, out: Any) -> LayerChip:
    """The output number: score PSI of the latest complete window against its band."""
    status = _status(layer)
    if out is None:
        return LayerChip(
            layer.layer, status, "score_psi", None, "no score drift result", None, None
        )
    i = latest_complete(out)
    if i is None:
        return LayerChip(
            layer.layer, status, "score_psi", None, "no complete window yet", None, None
        )
    start = pd.Timestamp(out.windows[i])
    end = start + frames.parse_window(out.window)[1]
    psi, band = out.psi[i], out.band_upper[i]
    where = "outside" if out.out_of_band[i] else "inside"
    note = "drift onset dated" if getattr(out, "fired", False) else "no drift onset"
    return LayerChip(
        layer.layer,
        status,
        "score_psi",
        float(psi),
        f"score PSI {psi:.4f}, {where} the band ≤ {band:.4f}",
        start,
        end,
        note=note,
    )


def outcome_chip(layer: Any, outcome: Any) -> LayerChip:
    """The outcome number: the AUC drop of the window the layer judged (the latest fully
    matured one), or "not evaluable since D" when no window after the reference matured."""
    status = _status(layer)
    if outcome is None:
        return LayerChip(layer.layer, status, "auc_drop", None, "no outcome result", None, None)
    full = [w for w in outcome.windows if w.n_matured and w.n_matured == w.n_events]
    part = [w for w in outcome.windows if w.n_matured]
    since = getattr(outcome, "not_evaluable_since", None)
    note = "" if since is None else f"not evaluable since {_day(since)}"
    if not part:
        start = outcome.reference_period[1]
        return LayerChip(
            layer.layer,
            status,
            "auc_drop",
            None,
            f"not evaluable since {_day(start)}",
            pd.Timestamp(start),
            None,
            complete=False,
        )
    w = (full or part)[-1]
    length = frames.parse_window(outcome.window)[1]
    return LayerChip(
        layer.layer,
        status,
        "auc_drop",
        float(w.auc_drop),
        f"AUC drop {w.auc_drop:+.4f} ± {w.auc_drop_se:.4f} ({w.auc_drop_test})",
        pd.Timestamp(w.window_start),
        pd.Timestamp(w.window_start) + length,
        complete=bool(full),
        note=note,
    )


# ----------------------------------------------------------------------------------------
# Headline, timeline
# ----------------------------------------------------------------------------------------
#: what a retraining verdict asks, in words that cannot contradict a monitoring verdict.
RETRAIN_WORDS = {
    "RETRAIN_NOW": "retrain now: a retraining trigger fired (drift, performance or schedule) "
    "and enough fresh labels have matured",
    "WAIT_FOR_LABELS": "wait for labels: a retraining trigger fired but too few fresh labels "
    "have matured",
    "RECALIBRATE_STOPGAP": "recalibrate as a stopgap until enough fresh labels arrive",
    "NO_ACTION": "no retraining needed",
}

MONITOR_WORDS = {
    "OK": "every layer is within its band",
    "WATCH": "something moved, no layer needs action yet",
    "ALERT": "a layer is outside its band and its owner must look today",
    "PAGE": "a critical layer failed: page the on-call owner now",
}


def headline(
    model: str,
    verdict: str,
    retraining: str | None,
    chips: Sequence[LayerChip],
    onset: Onset | None,
    *,
    unit: str = "transactions",
) -> str:
    """One sentence: the monitoring verdict, what moved (with its one number), and the
    retraining verdict, joined so they never contradict ("OK … but retrain")."""
    moved = [c for c in chips if c.status in ("WATCH", "ALERT", "PAGE")]
    parts = []
    if onset is not None:
        parts.append(f"the scores of {model}'s {unit} drifted from {_day(onset.onset)}")
    for c in moved:
        if c.layer == "output_drift" and onset is not None:
            continue
        parts.append(f"{c.name} {c.status} ({c.text})")
    blind = next((c for c in chips if c.layer == "outcome_drift" and c.note), None)
    if blind is not None:
        parts.append(f"outcomes are {blind.note} (labels still maturing)")
    head = f"{verdict}: {MONITOR_WORDS.get(verdict, '')}"
    if parts:
        head += " — " + "; ".join(parts)
    if retraining is None:
        return head + "."
    joiner = "but" if verdict == "OK" and retraining != "NO_ACTION" else "and"
    return f"{head}; {joiner} retraining says {retraining}: {RETRAIN_WORDS.get(retraining, '')}."


def timeline(
    reference: tuple[Any, Any] | None,
    current: tuple[Any, Any] | None,
    outcome: Any,
    onset: Onset | None,
    as_of: Any,
) -> tuple[TimelineSpan, ...]:
    """Reference window, current window, label window (judged through D, not evaluable
    since D), the onset with its interval, and the as-of."""
    spans = []
    if reference is not None:
        spans.append(
            TimelineSpan(
                "reference window",
                pd.Timestamp(reference[0]),
                pd.Timestamp(reference[1]),
                "score/outcome reference",
            )
        )
    if current is not None:
        spans.append(
            TimelineSpan(
                "current window",
                pd.Timestamp(current[0]),
                pd.Timestamp(current[1]),
                "input drift vs training",
            )
        )
    if outcome is not None:
        since = getattr(outcome, "not_evaluable_since", None)
        lw = f"{outcome.label_age.days} d label window"
        end = pd.Timestamp(since) if since is not None else pd.Timestamp(as_of)
        spans.append(
            TimelineSpan("labels judged", pd.Timestamp(outcome.reference_period[0]), end, lw)
        )
        if since is not None and as_of is not None:
            spans.append(
                TimelineSpan(
                    "not evaluable",
                    pd.Timestamp(since),
                    pd.Timestamp(as_of),
                    f"since {_day(since)}",
                )
            )
    if onset is not None:
        spans.append(
            TimelineSpan(
                "drift onset",
                onset.earliest,
                onset.latest if onset.latest > onset.earliest else None,
                f"onset {_day(onset.onset)} ({onset.level:.0%} interval)",
            )
        )
    if as_of is not None:
        spans.append(TimelineSpan("as-of", pd.Timestamp(as_of), None, "analysis time"))
    return tuple(spans)


def onset_of(out: Any) -> Onset | None:
    """The output drift's onset (``None`` when no change point fired)."""
    if out is None or not getattr(out, "fired", False):
        return None
    ch = out.change
    return Onset(
        pd.Timestamp(out.onset),
        pd.Timestamp(out.onset_low),
        pd.Timestamp(out.onset_high),
        float(ch.level),
        float(ch.alpha),
        int(ch.horizon),
    )


def build_monitor_card(
    model: str,
    verdict: str,
    retraining: str | None,
    reasons: Sequence[Reason],
    *,
    evidence: Any,
    policy_id: PolicyIdentity,
    as_of: Any = None,
    unit: str | None = None,
) -> MonitorCard:
    """The card from a :class:`~mlopskit.report.evidence.MonitoringEvidence` (``unit``:
    what the model scores; default the evidence's own words)."""
    unit = unit or getattr(evidence, "unit", None) or "transactions"
    mon = evidence.monitor
    layers = {layer.layer: layer for layer in getattr(mon, "layers", ())}
    chips = []
    for name in LAYER_NAMES:
        layer = layers.get(name)
        if layer is None:
            continue
        if name == "service_health":
            chips.append(service_chip(layer, evidence.service))
        elif name == "input_drift":
            chips.append(input_chip(layer, evidence.input_drift, evidence.current))
        elif name == "output_drift":
            chips.append(output_chip(layer, evidence.output_drift))
        else:
            chips.append(outcome_chip(layer, evidence.outcome_drift))
    onset = onset_of(evidence.output_drift)
    check = getattr(evidence, "estimate_check", None)
    outcome = evidence.outcome_drift
    as_of_t = None if as_of is None else pd.Timestamp(as_of)
    return MonitorCard(
        model=model,
        verdict=verdict,
        retraining=retraining,
        headline=headline(model, verdict, retraining, chips, onset, unit=unit),
        chips=tuple(chips),
        onset=onset,
        timeline=timeline(evidence.reference_period, evidence.current, outcome, onset, as_of_t),
        policy=policy_id,
        reasons=tuple(reasons),
        estimate=None if check is None else check.sentence(),
        not_evaluable_since=None
        if outcome is None or getattr(outcome, "not_evaluable_since", None) is None
        else pd.Timestamp(outcome.not_evaluable_since),
        as_of=as_of_t,
    )
