"""The decision card: the first screen of a rollout report, built from the results.

An approver reads, top to bottom: the verdict; one sentence in the model's business units;
one chip per gating metric (effect, interval and margin in units and as % of control); the
money at stake; an evidence timeline; the policy's identity (a banner when it is not the
default); the reasons that decided, ranked. Every number is computed here once, from the
result objects, and the same :class:`Card` feeds the HTML and ``decision.json`` — so the
banner, the tables and the JSON cannot disagree.

No statistics happen here: effects, intervals and decisions come from the canary result
(:class:`mlopskit.canary.CanaryResult`); this module chooses units and words.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from mlopskit import _format as fmt
from mlopskit.verdict import Reason

#: days a rendered decision stays valid (``expires = as_of + EXPIRY_DAYS``): after a week of
#: new traffic the evidence must be rendered again before anyone acts on it.
EXPIRY_DAYS = 7
#: days in the "per month" of the money estimate.
DAYS_PER_MONTH = 30.0


@dataclass(frozen=True, slots=True)
class MetricWords:
    """How a metric reads in the model's business: ``label`` ("missed fraud"), ``kind``
    (``rate``: per unit, shown per 10,000 ``per``; ``quantity``: in ``unit``; ``relative``:
    as % of control) and the unit counted (``per``, e.g. "transactions")."""

    label: str
    kind: str = "rate"
    unit: str = ""
    per: str = "units"


#: default words for the default fraud metrics (a model config may override them).
DEFAULT_WORDS: dict[str, MetricWords] = {
    "fraud_missed_rate": MetricWords("missed fraud", "rate", per="transactions"),
    "false_positive_rate": MetricWords("good transactions flagged", "rate", per="transactions"),
    "error_rate": MetricWords("errors and timeouts", "rate", per="requests"),
    "latency_ms": MetricWords("latency", "quantity", unit="ms"),
    "loss_per_dollar": MetricWords("fraud loss per $ of volume", "relative"),
}


def words_for(metric: Any, words: Mapping[str, MetricWords] | None = None) -> MetricWords:
    """The words of ``metric`` (a ``Metric``): from ``words``, the defaults, or its kind."""
    table = {**DEFAULT_WORDS, **dict(words or {})}
    if metric.name in table:
        return table[metric.name]
    if metric.relative:
        return MetricWords(metric.name, "relative")
    if metric.kind == "proportion":
        return MetricWords(metric.name, "rate")
    return MetricWords(metric.name, "quantity")


# ----------------------------------------------------------------------------------------
# Chips: one per metric
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Chip:
    """One metric on the card.

    ``status`` is ``pass`` (non-inferior and not statistically worse), ``marginal``
    (non-inferior but statistically worse than control, within the margin), ``fail``
    (inferior or margin not excluded), ``pending`` (not decided yet) or ``hidden`` (the
    split is INVALID: no effect is read). Numbers are on the metric's own scale
    (``relative``: a ratio minus 1); ``low``/``high`` are the interval the decision used.
    """

    metric: str
    label: str
    role: str
    gating: bool
    status: str
    decision: str
    direction: str
    relative: bool
    mean_control: float
    effect: float
    low: float
    high: float
    margin: float
    words: MetricWords

    @property
    def unit_text(self) -> str:
        """The unit the chip's numbers are in: ``"%"``, ``"per 10,000 transactions"``, ``"ms"``."""
        w = self.words
        if self.relative or w.kind == "relative":
            return "%"
        if w.kind == "rate":
            return f"{fmt.PER_10K} {w.per}"
        return w.unit

    def number(self, x: float, *, sign: bool = True) -> str:
        """``x`` (an effect-scale number) in :attr:`unit_text`, without the unit."""
        w = self.words
        if self.relative or w.kind == "relative":
            scaled, digits = 100.0 * x, 2
        elif w.kind == "rate":
            scaled, digits = 1e4 * x, 2
        else:
            scaled, digits = x, 3
        body = fmt.sig(abs(scaled), digits)
        return fmt.signed(body, scaled) if sign else body

    def value(self, x: float, *, sign: bool = True) -> str:
        """``x`` (an effect-scale number) with its business unit."""
        unit = self.unit_text
        return f"{self.number(x, sign=sign)}{'' if unit == '%' else ' '}{unit}"

    def pct_of_control(self, x: float) -> str:
        """``x`` as a share of the control level (relative metrics are already a share)."""
        if self.relative or self.words.kind == "relative":
            return fmt.percent(abs(x), 2)
        return fmt.share_of(abs(x), self.mean_control)

    @property
    def effect_text(self) -> str:
        return self.value(self.effect)

    @property
    def interval_text(self) -> str:
        unit = self.unit_text
        return (
            f"[{self.number(self.low)}, {self.number(self.high)}]{'' if unit == '%' else ' '}{unit}"
        )

    @property
    def margin_text(self) -> str:
        worse = "+" if self.direction == "lower" else "−"
        return f"{worse}{self.value(self.margin, sign=False)} ({self.pct_of_control(self.margin)} of control)"

    def sentence(self) -> str:
        """The chip in one sentence (used in the headline and the reasons)."""
        if self.status == "hidden":
            return f"{self.label}: not read (the split is invalid)."
        what = {
            "pass": "no worse than control",
            "marginal": "worse than control but within the margin",
            "fail": "worse than control beyond the margin"
            if self.decision == "inferior"
            else "worse than control, and the margin is not excluded",
            "pending": "not decided yet",
        }[self.status]
        return (
            f"{self.label}: {what} — {self.effect_text}, interval {self.interval_text}, "
            f"margin {self.margin_text}."
        )

    def to_reason(self, *, decided: bool) -> dict[str, Any]:
        """The chip as a structured reason of ``decision.json``."""
        passed: bool | None = {
            "pass": True,
            "marginal": True,
            "fail": False,
            "pending": None,
            "hidden": None,
        }[self.status]
        hidden = self.status == "hidden"
        return {
            "code": self.metric,
            "message": self.sentence(),
            "passed": passed,
            "critical": self.status == "fail" and self.gating,
            "value": None if hidden else _num(self.effect),
            "threshold": _num(self.margin),
            "decided": decided,
            "metric": self.metric,
            "role": self.role,
            "direction": self.direction,
            "relative": self.relative,
            "unit": _unit_name(self.words, self.relative),
            "mean_control": None if hidden else _num(self.mean_control),
            "effect": None if hidden else _num(self.effect),
            "ci_low": None if hidden else _num(self.low),
            "ci_high": None if hidden else _num(self.high),
            "margin": _num(self.margin),
            "decision": "not_assessed" if hidden else self.decision,
        }


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _unit_name(w: MetricWords, relative: bool) -> str:
    if relative or w.kind == "relative":
        return "ratio to control minus 1"
    if w.kind == "rate":
        return f"share of {w.per}"
    return w.unit


def _status(m: Any, verdict: str) -> str:
    if verdict == "INVALID":
        return "hidden"
    t = str(m.taxonomy)
    if t in ("inferior", "worse_margin_not_excluded"):
        return "fail"
    if t in ("superior", "non_inferior"):
        sign = 1.0 if m.metric.direction == "lower" else -1.0
        worse_low = sign * m.decision_low if sign > 0 else -m.decision_high
        return "marginal" if worse_low > 0 else "pass"
    return "pending"


def chips(canary: Any, words: Mapping[str, MetricWords] | None = None) -> tuple[Chip, ...]:
    """One chip per metric of ``canary`` (a ``CanaryResult``), gating metrics first."""
    out = []
    for m in canary.metrics:
        d = m.metric
        out.append(
            Chip(
                metric=d.name,
                label=words_for(d, words).label,
                role=d.role,
                gating=d.role != "secondary",
                status=_status(m, str(canary.verdict)),
                decision=str(m.taxonomy),
                direction=d.direction,
                relative=bool(d.relative),
                mean_control=float(m.mean_control),
                effect=float(m.effect),
                low=float(m.decision_low),
                high=float(m.decision_high),
                margin=float(d.margin),
                words=words_for(d, words),
            )
        )
    order = {"primary": 0, "guardrail": 1, "secondary": 2}
    return tuple(sorted(out, key=lambda c: order.get(c.role, 3)))


# ----------------------------------------------------------------------------------------
# When the canary ran
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CanaryWindow:
    """First and last exposure, allocation (expected vs observed canary share), and — for
    a CONTINUE after enrolment stopped — what the decision waits for."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    as_of: pd.Timestamp
    exposure_days: float
    ended: bool
    expected_share: float
    observed_share: float
    units_control: int
    units_canary: int
    srm_p: float
    maturity_days: float
    waiting_for: str | None = None
    mature_by: pd.Timestamp | None = None
    """For a CONTINUE waiting on labels: the one date the card, the next steps and
    decision.json quote — the canary's ``decision_expected`` when it has one, else the
    last exposure plus the label window."""
    label_windows: tuple[dict[str, Any], ...] = ()
    """Per label metric (``CanaryResult.label_windows``): window W, F̂(W) per arm, the bias
    from differential maturity, the all-labels sensitivity row."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "as_of": _iso(self.as_of),
            "exposure_days": round(float(self.exposure_days), 6),
            "ended": self.ended,
            "allocation": {
                "expected_canary_share": float(self.expected_share),
                "observed_canary_share": _num(self.observed_share),
                "units_control": int(self.units_control),
                "units_canary": int(self.units_canary),
                "srm_p": _num(self.srm_p),
            },
            "waiting_for": self.waiting_for,
            "decision_expected": _iso(self.mature_by) if self.waiting_for else None,
            "label_windows": [dict(lw) for lw in self.label_windows],
        }

    def sentence(self) -> str:
        units = self.units_control + self.units_canary
        span = (
            f"from {_day(self.start)} to {_day(self.end)} ({fmt.days(self.exposure_days)})"
            if self.start is not None
            else "with no exposure yet"
        )
        return (
            f"Canary ran {span}{', enrolment ended' if self.ended else ', still enrolling'}: "
            f"{fmt.count(units, 'units')}, {fmt.count(self.units_canary, 'units')} on the challenger "
            f"({fmt.percent(self.observed_share, 3)} observed vs "
            f"{fmt.percent(self.expected_share, 3)} planned, split check "
            f"{fmt.p_equals(self.srm_p)})."
        )

    def labels_sentence(self) -> str:
        """The label windows in one line: W and F̂(W) per arm, flagged when biased."""
        if not self.label_windows:
            return ""
        parts = []
        for lw in self.label_windows:
            fc, ft = lw["maturity_control"], lw["maturity_canary"]
            mat = (
                f"F̂ {fmt.percent(fc, 3)} control / {fmt.percent(ft, 3)} canary"
                if fc is not None and ft is not None
                else "F̂ not estimable yet"
            )
            flag = " — arms mature differently: not decided on this window" if lw["biased"] else ""
            if lw.get("late_guarded"):
                flag = (
                    " — labels arriving after W differ between the arms: not decided on this window"
                )
            parts.append(f"{lw['metric']} {fmt.days(lw['window_days'] or 0)} ({mat}){flag}")
        horizon = self.label_windows[0]["horizon_days"]
        tail = (
            f"; decision expected by {_day(self.mature_by)}"
            if self.waiting_for and self.mature_by is not None
            else ""
        )
        return (
            f"Label windows (labels counted within W of exposure; {fmt.days(horizon)} label "
            f"horizon): {'; '.join(parts)}{tail}."
        )


def _iso(t: Any) -> str | None:
    return None if t is None or pd.isna(t) else pd.Timestamp(t).isoformat()


def _day(t: Any) -> str:
    return "—" if t is None or pd.isna(t) else pd.Timestamp(t).strftime("%Y-%m-%d")


def canary_window(canary: Any, history: Any = None) -> CanaryWindow:
    """When the canary ran: enrolment ends at the last daily look whose unit count grew
    (from ``history``; without it, at ``as_of``). ``ended``: no new unit in the last day."""
    as_of = pd.Timestamp(canary.as_of)
    start = canary.first_exposure
    end = as_of
    if history is not None and len(history.verdicts):
        v = history.verdicts
        total = (v["units_control"] + v["units_canary"]).to_numpy()
        grew = [i for i in range(len(total)) if i == 0 or total[i] > total[i - 1]]
        end = pd.Timestamp(v["as_of"].iloc[grew[-1]]) if grew else as_of
    ended = bool(end < as_of - pd.Timedelta(days=1))
    exposure = (end - start) / pd.Timedelta(days=1) if start is not None else 0.0
    units = canary.units_control + canary.units_canary
    waiting = mature = None
    expected = getattr(canary, "decision_expected", None)
    if str(canary.verdict) == "CONTINUE" and ended:
        label_based = [m.metric.name for m in canary.metrics if m.metric.label_based]
        if expected is not None:
            # one date: the canary's own expected decision (units needed + their windows)
            mature = pd.Timestamp(expected)
            waiting = (
                f"labels: the decision on {', '.join(label_based)} is expected by "
                f"{_day(mature)}, once enough {fmt.days(canary.maturity_days)} label windows "
                "have elapsed; no new traffic is needed"
            )
        elif label_based and end + pd.Timedelta(days=float(canary.maturity_days)) > as_of:
            mature = end + pd.Timedelta(days=float(canary.maturity_days))
            waiting = (
                f"labels: the last exposed units' labels mature by {_day(mature)} "
                f"({fmt.days(canary.maturity_days)} label window) for "
                f"{', '.join(label_based)}; no new traffic is needed"
            )
    return CanaryWindow(
        start=start,
        end=end if start is not None else None,
        as_of=as_of,
        exposure_days=max(float(exposure), 0.0),
        ended=ended,
        expected_share=float(canary.expected_split[1]),
        observed_share=canary.units_canary / units if units else float("nan"),
        units_control=int(canary.units_control),
        units_canary=int(canary.units_canary),
        srm_p=float(canary.srm_p),
        maturity_days=float(canary.maturity_days),
        waiting_for=waiting,
        mature_by=mature,
        label_windows=tuple(_label_window(lw) for lw in getattr(canary, "label_windows", ())),
    )


def _label_window(lw: Any) -> dict[str, Any]:
    """decision.json's row of one label window (JSON numbers, ``None`` for undefined)."""
    return {
        "metric": lw.metric,
        "window_days": _num(lw.window_days),
        "horizon_days": int(lw.horizon_days),
        "maturity_control": _num(lw.maturity_control),
        "maturity_canary": _num(lw.maturity_canary),
        "bias": _num(lw.bias),
        "bias_share_of_margin": _num(lw.bias_share),
        "biased": bool(lw.biased),
        "all_labels_effect": _num(lw.all_labels_effect),
        "all_labels_low": _num(lw.all_labels_low),
        "all_labels_high": _num(lw.all_labels_high),
        "all_labels_uncapped_effect": _num(lw.all_labels_uncapped_effect),
        "all_labels_uncapped_low": _num(lw.all_labels_uncapped_low),
        "all_labels_uncapped_high": _num(lw.all_labels_uncapped_high),
        "late_excess": _num(getattr(lw, "late_excess", float("nan"))),
        "late_excess_low": _num(getattr(lw, "late_excess_low", float("nan"))),
        "late_excess_high": _num(getattr(lw, "late_excess_high", float("nan"))),
        "late_excess_share_of_margin": _num(getattr(lw, "late_excess_share", float("nan"))),
        "late_guarded": bool(getattr(lw, "late_guarded", False)),
    }


# ----------------------------------------------------------------------------------------
# Money
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Money:
    """Expected change in the loss metric's money per month at full traffic.

    ``per_month``/``low``/``high``: ``effect × control loss per $ × $ volume per month``
    with the decision interval's bounds (``nan`` when it cannot be computed: ``reason``).
    """

    metric: str | None
    per_month: float
    low: float
    high: float
    volume_per_month: float
    reason: str | None = None

    @property
    def shown(self) -> bool:
        return self.reason is None

    def sentence(self) -> str:
        if not self.shown:
            return f"Money at stake: not shown — {self.reason}"
        span = f"between {fmt.money(self.low, sign=True)} and {fmt.money(self.high, sign=True)}"
        head = (
            f"Money at stake at full traffic: {fmt.money(self.per_month, sign=True)} loss "
            f"per month ({span}; on {fmt.money(self.volume_per_month)} of monthly volume)"
        )
        if self.low < 0 < self.high:
            return head + ": this canary cannot tell a saving from a cost at this volume."
        return head + ("." if self.high <= 0 else ": a cost.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "per_month": _num(self.per_month),
            "low": _num(self.low),
            "high": _num(self.high),
            "volume_per_month": _num(self.volume_per_month),
            "reason": self.reason,
        }


def money(canary: Any, window: CanaryWindow, metric: str | None = None) -> Money:
    """Money at stake from the loss metric (a relative ``Ratio`` of loss over amount)."""
    nan = float("nan")
    cands = [
        m
        for m in canary.metrics
        if (m.metric.name == metric if metric else "loss" in m.metric.name)
        and m.metric.kind == "ratio"
    ]
    if not cands:
        return Money(None, nan, nan, nan, nan, "the canary has no loss-per-amount metric.")
    m = cands[0]
    if str(canary.verdict) == "INVALID":
        return Money(m.metric.name, nan, nan, nan, nan, "the split is invalid.")
    c, t = m.control, m.canary
    n = float(c.n + t.n)
    if n <= 0 or window.exposure_days <= 0 or not math.isfinite(m.mean_control):
        return Money(m.metric.name, nan, nan, nan, nan, "no exposed units with amounts yet.")
    amount_per_unit = float(c.denominator_sum + t.denominator_sum) / n
    units_per_day = (window.units_control + window.units_canary) / window.exposure_days
    volume = amount_per_unit * units_per_day * DAYS_PER_MONTH
    base = float(m.mean_control) * volume  # control's loss per month at full traffic
    if m.metric.relative:
        vals = [x * base for x in (m.effect, m.decision_low, m.decision_high)]
    else:
        vals = [x * volume for x in (m.effect, m.decision_low, m.decision_high)]
    if not all(math.isfinite(v) for v in vals):
        return Money(m.metric.name, nan, nan, nan, volume, "its interval is not finite yet.")
    return Money(m.metric.name, vals[0], vals[1], vals[2], volume)


# ----------------------------------------------------------------------------------------
# Policy identity
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PolicyIdentity:
    """Which policy decided: its file, hash, and whether it is the shipped default (with
    the keys that differ from it when not)."""

    path: str | None
    sha256: str | None
    default: bool
    differs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "default": self.default}


def policy_identity(policy: Any) -> PolicyIdentity:
    """Identity of ``policy`` (a ``Policy``) against ``policies/default.yml``."""
    from mlopskit import policy as pol

    default_path = pol.DEFAULT_POLICY_PATH
    if policy is None or getattr(policy, "path", None) is None:
        return PolicyIdentity(None, None, True)
    default_sha = (
        hashlib.sha256(default_path.read_bytes()).hexdigest() if default_path.is_file() else None
    )
    if policy.sha256 is not None and policy.sha256 == default_sha:
        return PolicyIdentity(str(policy.path), policy.sha256, True)
    differs: list[str] = []
    if default_path.is_file():
        base = pol.load_policy(default_path).raw
        for section in sorted(set(base) | set(policy.raw)):
            a, b = dict(base.get(section) or {}), dict(policy.raw.get(section) or {})
            differs += [f"{section}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return PolicyIdentity(str(policy.path), policy.sha256, False, tuple(differs))


# ----------------------------------------------------------------------------------------
# The card
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TimelineSpan:
    """One span of the evidence timeline (``end`` ``None``: an instant)."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Card:
    """Everything on the first screen, computed once (see the module docstring)."""

    model: str
    verdict: str
    headline: str
    chips: tuple[Chip, ...] = ()
    window: CanaryWindow | None = None
    money: Money | None = None
    timeline: tuple[TimelineSpan, ...] = ()
    policy: PolicyIdentity = field(default_factory=lambda: PolicyIdentity(None, None, True))
    reasons: tuple[tuple[Reason, bool], ...] = ()
    as_of: pd.Timestamp | None = None

    @property
    def expires(self) -> pd.Timestamp | None:
        return None if self.as_of is None else self.as_of + pd.Timedelta(days=EXPIRY_DAYS)

    def with_headline(self, headline: str) -> Card:
        return replace(self, headline=headline)


def policy_from_provenance(prov: Mapping[str, Any]) -> dict[str, Any]:
    """decision.json ``policy`` from a report's provenance (a failed render has no card)."""
    from mlopskit.policy import load_policy

    pol = prov.get("policy") or {}
    path = pol.get("path")
    if not path:
        return {"path": None, "sha256": None, "default": True}
    try:
        return policy_identity(load_policy(path)).to_dict()
    except (OSError, ValueError):
        return {"path": path, "sha256": pol.get("sha256"), "default": False}
