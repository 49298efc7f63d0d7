"""Report verdicts: the rule that combines a rollout's shadow and canary verdicts, the
monitoring headline, and the banner that shows either on a report's first screen.

The decision rules live here, in the library, not in the report notebooks: a notebook calls
:func:`rollout_decision` / :func:`monitoring_decision` with the results it computed and
displays the returned :class:`Decision` (which also records it for ``decision.json``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlopskit._display import escape, reasons_html
from mlopskit.report.card import EXPIRY_DAYS, Card, policy_identity
from mlopskit.report.card_html import card_html
from mlopskit.report.card_rules import (
    build_card,
    decision_fields,
    plain_warnings,
    warning_code,
)
from mlopskit.report.monitor_card import MonitorCard, build_monitor_card
from mlopskit.report.monitor_card_html import monitor_card_html
from mlopskit.report.notebook import RECORD_MIME, jsonable
from mlopskit.schemas import DECISION_SCHEMA_VERSION
from mlopskit.verdict import VERDICT_COLOURS, Reason

#: verdict when the report has no result that can decide (e.g. no shadow or canary data).
NOT_ASSESSED = "NOT_ASSESSED"

#: one plain sentence per verdict, shown under the verdict word.
VERDICT_MEANING: dict[str, str] = {
    "READY_FOR_CANARY": "The challenger behaved in shadow as expected: start a canary.",
    "FIX": "The challenger has a defect to fix before it serves any decision.",
    "CONTINUE_SHADOW": "Not enough shadow evidence yet: keep shadowing.",
    "PROMOTE": "No gating metric is worse than control beyond its margin: promote the challenger.",
    "ROLLBACK": "The canary is worse than control on a decision metric or guardrail: roll back.",
    "CONTINUE": "The canary has not yet shown a difference either way: keep it running.",
    "INVALID": "The canary's randomization or logging is broken: its numbers cannot be trusted.",
    "OK": "Production is behaving as expected.",
    "WATCH": "Something moved; no monitoring action yet, keep an eye on it.",
    "ALERT": "A monitored layer is outside its band: the owner must look today.",
    "PAGE": "A critical layer failed: page the on-call owner now.",
    "RETRAIN_NOW": "A retraining trigger fired (drift, performance or schedule) and there are "
    "enough fresh labels: retrain.",
    "WAIT_FOR_LABELS": "A retraining trigger fired but fresh labels are too immature: wait.",
    "RECALIBRATE_STOPGAP": "Recalibrate as a stopgap until enough fresh labels arrive.",
    "NO_ACTION": "No retraining needed.",
    NOT_ASSESSED: "No analysis could decide: see the sections below for what is missing.",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict a report argues for, with the reasons that decided it.

    Attributes
    ----------
    model : model name, e.g. ``"fraud_v2.3"``.
    report : report kind (``"rollout"``, ``"monitoring"``).
    verdict : verdict word (a ``Verdict`` value, or ``NOT_ASSESSED``).
    reasons : the checks behind it; the banner shows the first three.
    next_steps : what the reader should do now, one sentence each.
    key_numbers : the numbers a reviewer looks for first (name → value).
    warnings : data problems that did not invalidate the analysis.
    """

    model: str
    report: str
    verdict: str
    reasons: tuple[Reason, ...] = ()
    next_steps: tuple[str, ...] = ()
    key_numbers: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    card: Card | None = None
    policy: Any = None
    as_of: Any = None
    headline_text: str | None = None
    monitor_card: MonitorCard | None = None

    @property
    def headline(self) -> str:
        """The one sentence under the verdict (the card's, in business units)."""
        if self.card is not None and self.card.headline:
            return self.card.headline
        if self.monitor_card is not None:
            return self.monitor_card.headline
        if self.headline_text:
            return self.headline_text
        return VERDICT_MEANING.get(str(self.verdict), "")

    def to_dict(self) -> dict[str, Any]:
        """decision.json's fields that the report computes (schema version 1)."""
        out: dict[str, Any] = {
            "schema_version": DECISION_SCHEMA_VERSION,
            "model": self.model,
            "report": self.report,
            "verdict": str(self.verdict),
            "headline": self.headline,
            "reasons": [{**r.to_dict(), "decided": i < 3} for i, r in enumerate(self.reasons)],
            "next_steps": list(self.next_steps),
            "key_numbers": jsonable(dict(self.key_numbers)),
            "warnings": list(self.warnings),
            "warning_codes": [warning_code(w) for w in self.warnings],
            "canary": None,
            "policy": policy_identity(self.policy).to_dict(),
            "as_of": None if self.as_of is None else pd.Timestamp(self.as_of).isoformat(),
            "expires": None
            if self.as_of is None
            else (pd.Timestamp(self.as_of) + pd.Timedelta(days=EXPIRY_DAYS)).isoformat(),
        }
        if self.card is not None:
            out.update(decision_fields(self.card, self.warnings))
            out["reasons"] = jsonable(out["reasons"])
        if self.monitor_card is not None:
            out["monitoring"] = jsonable(self.monitor_card.to_dict())
            out["reasons"] = jsonable(
                [
                    {**r, "value": _finite(r["value"]), "threshold": _finite(r["threshold"])}
                    for r in out["reasons"]
                ]
            )
        return out

    def summary(self) -> str:
        lines = [f"{self.model} ({self.report} report): {self.verdict}", f"  {self.headline}"]
        lines += [f"  - {r.message}" for r in self.reasons[:3]]
        lines += [f"  next: {s}" for s in self.next_steps]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        if self.card is not None:
            return card_html(self.card, self.next_steps, self.warnings)
        if self.monitor_card is not None:
            return monitor_card_html(self.monitor_card, self.next_steps, self.warnings)
        return banner_html(self)

    def _repr_mimebundle_(self, **_: Any) -> dict[str, Any]:
        return {"text/html": self._repr_html_(), RECORD_MIME: {"decision": self.to_dict()}}


def _finite(x: Any) -> Any:
    """A JSON number or ``None`` (NaN and infinities are not JSON)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def banner_html(decision: Decision) -> str:
    """The first screen: verdict in words and colour, the three deciding reasons, next steps."""
    colour = VERDICT_COLOURS.get(str(decision.verdict), "#57606a")
    meaning = decision.headline
    steps = "".join(f"<li>{escape(s)}</li>" for s in decision.next_steps)
    steps_html = f'<div class="mk-next"><strong>What to do next</strong><ul>{steps}</ul></div>'
    warn = "".join(f"<li>{escape(w)}</li>" for w in decision.warnings)
    warn_html = (
        f'<div class="mk-warnings"><strong>Warnings</strong><ul>{warn}</ul></div>' if warn else ""
    )
    return (
        f'<section class="mk-verdict" id="verdict" data-verdict="{escape(decision.verdict)}" '
        f'style="border-left:8px solid {colour};padding:8px 14px;">'
        f'<div class="mk-banner">{escape(decision.model)} · {escape(decision.report)} report: '
        f'<span class="mk-verdict-word" style="color:{colour}">{escape(decision.verdict)}</span>'
        f'</div><div class="mk-meaning">{escape(meaning)}</div>'
        f"<strong>Why</strong>{reasons_html(decision.reasons[:3])}"
        f"{steps_html if steps else ''}{warn_html}</section>"
    )


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------
def _reasons_of(result: Any, phase: str) -> list[Reason]:
    """A result's reasons as :class:`Reason` objects (plain strings are wrapped); a result
    made of layers (monitoring) contributes its layers' reasons."""
    found = getattr(result, "reasons", None)
    if found is None and result is not None:
        found = [r for layer in getattr(result, "layers", ()) for r in layer.reasons]
    out = []
    for r in found or ():
        if isinstance(r, Reason):
            out.append(r)
        else:
            out.append(Reason(code=phase, message=str(r)))
    return out


#: verdicts that say "go": their deciding reasons are the checks that passed.
GO_VERDICTS = frozenset({"PROMOTE", "READY_FOR_CANARY", "OK", "NO_ACTION"})


def _ranked(reasons: Iterable[Reason], verdict: str | None = None) -> list[Reason]:
    """Order reasons so the ones that decided ``verdict`` come first (stable within groups).

    For a "go" verdict (:data:`GO_VERDICTS`) the passing checks decided it: passing critical,
    passing, unknown, then failing (critical first). For any other verdict the failures
    decided it: failing critical, failing, unknown, passing critical, passing.
    """

    def rank(r: Reason) -> int:
        if verdict in GO_VERDICTS:
            if r.passed is True:
                return 0 if r.critical else 1
            if r.passed is None:
                return 2
            return 3 if r.critical else 4
        if r.passed is False:
            return 0 if r.critical else 1
        if r.passed is None:
            return 2
        return 3 if r.critical else 4

    return sorted(reasons, key=rank)


def _verdict(result: Any) -> str | None:
    return None if result is None else str(result.verdict)


#: what to do next, per verdict; ``{model}`` is replaced by the model name.
NEXT_STEPS: dict[str, tuple[str, ...]] = {
    "READY_FOR_CANARY": (
        "Start a canary for {model} at the allocation the policy allows (1–5 %).",
        "Render this report again once the canary has run its planned duration.",
    ),
    "FIX": ("Fix the failing checks listed above, redeploy {model} to shadow, render again.",),
    "CONTINUE_SHADOW": ("Keep {model} in shadow; render again when more traffic is logged.",),
    "PROMOTE": (
        "Promote {model}: make promote MODEL={model} TO=Production "
        'REPORT="<path of this report>" REASON="canary passed"',
        "Keep the canary report and decision.json with the approval.",
    ),
    "ROLLBACK": (
        "Stop the canary: route all traffic back to the champion.",
        "Investigate the failing metric or guardrail before any new rollout of {model}.",
    ),
    "CONTINUE": ("Keep the canary running; render again after the next day of data.",),
    "INVALID": (
        "Stop reading the canary: fix the assignment or logging (sample ratio mismatch, "
        "missing rows), then restart it.",
    ),
    "OK": (
        "No monitoring action: every layer is within its band; the next scheduled report checks again.",
    ),
    "WATCH": ("No monitoring action yet; the owner reviews the moved layers at the next check.",),
    "ALERT": ("The owner investigates today, following the runbook in the policy.",),
    "PAGE": ("Page the on-call owner now and follow the runbook in the policy.",),
    NOT_ASSESSED: ("Provide the missing data (see the sections below) and render again.",),
}


def _steps(verdict: str, model: str) -> tuple[str, ...]:
    return tuple(s.format(model=model) for s in NEXT_STEPS.get(verdict, ()))


def rollout_decision(
    model: str,
    *,
    shadow: Any = None,
    canary: Any = None,
    key_numbers: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
    history: Any = None,
    drift: Any = None,
    current: tuple[Any, Any] | None = None,
    policy: Any = None,
    as_of: Any = None,
    words: Any = None,
) -> Decision:
    """The verdict of a challenger's rollout report from its shadow and canary results.

    The rule, most severe first:

    1. no shadow and no canary result → ``NOT_ASSESSED``;
    2. canary ``INVALID`` → ``INVALID`` (nothing measured on a broken split counts);
    3. canary ``ROLLBACK`` → ``ROLLBACK``;
    4. shadow ``FIX`` → ``FIX``, whatever the canary says: a defect found in shadow (errors,
       latency, a segment gone wrong) is not cleared by good average outcomes;
    5. canary ``CONTINUE`` / ``PROMOTE`` → that verdict;
    6. no canary yet → the shadow verdict.

    Reasons come from the deciding result first (failing critical checks first), then the
    other phase's failing checks; the banner shows the first three.

    Parameters
    ----------
    model : the challenger, e.g. ``"fraud_v2.3"``.
    shadow, canary : results with ``verdict``, ``reasons`` and ``warnings`` (e.g. from
        ``mlopskit.shadow.shadow_profile`` / ``mlopskit.canary.canary_test``), or ``None``.
    key_numbers : numbers for decision.json (merged after the phases' verdicts).
    warnings : extra warnings for the banner (the results' own are included).
    history, drift, current, policy, as_of, words : for the decision card
        (:func:`mlopskit.report.card_rules.build_card`): the canary's daily looks (end of
        enrolment), the input-drift table and its window, the policy (identity and banner),
        the analysis time, and business words per metric.
    """
    sv, cv = _verdict(shadow), _verdict(canary)
    sr, cr = _reasons_of(shadow, "shadow"), _reasons_of(canary, "canary")
    if shadow is None and canary is None:
        verdict = NOT_ASSESSED
        reasons = [
            Reason(
                code="no_evidence",
                message=f"No shadow or canary result for {model}: nothing to decide on.",
                passed=None,
            )
        ]
    elif cv in ("INVALID", "ROLLBACK"):
        verdict, reasons = str(cv), _ranked(cr) + [r for r in _ranked(sr) if r.passed is False]
    elif sv == "FIX":
        verdict, reasons = "FIX", _ranked(sr) + [r for r in _ranked(cr) if r.passed is False]
        if cv is not None:
            reasons.insert(
                0,
                Reason(
                    code="shadow_fix_overrides_canary",
                    message=f"Shadow found a defect (FIX); the canary's {cv} does not clear it.",
                    passed=False,
                    critical=True,
                ),
            )
    elif cv is not None:
        verdict = str(cv)
        reasons = _ranked(cr, verdict) + [r for r in _ranked(sr) if r.passed is False]
    else:
        verdict, reasons = str(sv), _ranked(sr, str(sv))
    kn: dict[str, Any] = {"shadow_verdict": sv, "canary_verdict": cv, **dict(key_numbers or {})}
    warn = [*getattr(shadow, "warnings", ()), *getattr(canary, "warnings", ()), *warnings]
    card = build_card(
        model,
        verdict,
        reasons,
        canary=canary,
        history=history,
        shadow=shadow,
        drift=drift,
        current=current,
        policy=policy,
        as_of=as_of,
        words=words,
        meaning=VERDICT_MEANING.get(verdict, ""),
    )
    steps = _steps(verdict, model)
    w = card.window
    if verdict == "CONTINUE" and w is not None and w.ended and not w.waiting_for:
        steps = (
            "Waiting adds no data: the canary has ended and its labels have matured. Extend "
            "or restart it (a larger share or more days), or decide by the policy's "
            "inconclusive action.",
        )
    elif verdict == "CONTINUE" and w is not None and w.waiting_for:
        mature = w.mature_by
        steps = (
            "Nothing to run: canary enrolment has ended. Render this report again once the "
            f"labels have matured{'' if mature is None else f' (by {mature:%Y-%m-%d})'}.",
        )
    if canary is not None and w is not None:
        kn["canary"] = {
            **dict(kn.get("canary") or {}),
            "exposure_days": round(w.exposure_days, 6),
        }
    if card.money is not None:
        kn["money"] = card.money.to_dict()
    return Decision(
        model=model,
        report="rollout",
        verdict=verdict,
        reasons=tuple(r for r, _ in card.reasons),
        next_steps=steps,
        key_numbers=kn,
        warnings=tuple(plain_warnings([str(x) for x in warn], card.chips)),
        card=card,
        policy=policy,
        as_of=card.as_of,
    )


def monitoring_decision(
    model: str,
    *,
    monitor: Any = None,
    retrain: Any = None,
    key_numbers: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
    policy: Any = None,
    as_of: Any = None,
    evidence: Any = None,
    unit: str | None = None,
) -> Decision:
    """The headline of the Production model's monitoring report.

    The verdict is the monitoring verdict (``OK | WATCH | ALERT | PAGE``) of ``monitor``;
    the retraining assessment (``retrain``) adds its verdict as a reason and its next step.
    With no monitoring result the verdict is ``NOT_ASSESSED``. Reasons are ranked by what
    decided: the failing checks of the most severe layer first.

    With ``evidence`` (a :class:`~mlopskit.report.evidence.MonitoringEvidence`; ``monitor``
    and ``retrain`` default to its own) the decision carries the monitoring card
    (:mod:`mlopskit.report.monitor_card`): one chip per layer with the number that decided
    it and its window, the onset, the timeline; ``unit`` names what the model scores
    (default: the evidence's words, e.g. a model config's ``domain.events``).
    """
    if evidence is not None:
        monitor = evidence.monitor if monitor is None else monitor
        retrain = evidence.retrain if retrain is None else retrain
    mv, rv = _verdict(monitor), _verdict(retrain)
    reasons = _monitor_reasons(monitor)
    if monitor is None:
        verdict = NOT_ASSESSED
        reasons = [
            Reason(
                code="no_evidence",
                message=f"No monitoring result for {model}: nothing to decide on.",
                passed=None,
            )
        ]
    else:
        verdict = str(mv)
    steps = list(_steps(verdict, model))
    if retrain is not None:
        rr = _ranked(_reasons_of(retrain, "retraining"))
        head = Reason(
            code="retraining",
            message=f"Retraining assessment: {rv}. {VERDICT_MEANING.get(str(rv), '')}".strip(),
            passed=rv == "NO_ACTION",
        )
        # the retraining verdict ranks right after the monitoring reasons that failed
        n_fail = sum(1 for r in reasons if r.passed is False)
        reasons = [*reasons[:n_fail], head, *reasons[n_fail:], *rr]
        if verdict == "OK" and rv != "NO_ACTION":  # "nothing to do … retrain" contradicts
            steps = ["No monitoring alert to act on: every layer is within its band."]
        steps.append(f"Retraining ({rv}): {VERDICT_MEANING.get(str(rv), '')}")
    kn: dict[str, Any] = {
        "monitoring_verdict": mv,
        "retraining_verdict": rv,
        **dict(key_numbers or {}),
    }
    warn = [*getattr(monitor, "warnings", ()), *getattr(retrain, "warnings", ()), *warnings]
    mcard = None
    if evidence is not None and monitor is not None:
        mcard = build_monitor_card(
            model,
            verdict,
            rv,
            reasons,
            evidence=evidence,
            policy_id=policy_identity(policy),
            as_of=as_of,
            unit=unit,
        )
    return Decision(
        model=model,
        report="monitoring",
        monitor_card=mcard,
        verdict=verdict,
        reasons=tuple(reasons),
        next_steps=tuple(s for s in steps if s),
        key_numbers=kn,
        warnings=tuple(dict.fromkeys(str(w) for w in warn)),
        policy=policy,
        as_of=as_of,
        headline_text=None
        if retrain is None or rv == "NO_ACTION" or verdict == NOT_ASSESSED
        else (
            f"{VERDICT_MEANING.get(verdict, '')} Retraining ({rv}): "
            f"{VERDICT_MEANING.get(str(rv), '')}"
        ),
    )


#: severity order of monitoring layers, most severe first (None: not evaluated).
_SEVERITY = {"PAGE": 0, "ALERT": 1, "WATCH": 2, "OK": 3}


def _monitor_reasons(monitor: Any) -> list[Reason]:
    """The monitoring reasons, those that decided first: failing checks of the most severe
    layer, then failing checks of milder layers, then unknown, then passing checks."""
    if monitor is None:
        return []
    layers = list(getattr(monitor, "layers", ()))
    if not layers:
        return _ranked(_reasons_of(monitor, "monitoring"))
    keyed = []
    for layer in layers:
        sev = _SEVERITY.get(str(getattr(layer, "severity", None)), 4)
        for r in layer.reasons:
            status = 0 if r.passed is False else 1 if r.passed is None else 2
            keyed.append(((status, sev, 0 if r.critical else 1), r))
    return [r for _, r in sorted(keyed, key=lambda kr: kr[0])]
