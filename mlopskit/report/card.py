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
import re
from collections.abc import Mapping, Sequence
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
            "fail": "worse than control beyond what the margin allows",
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
    waiting = None
    if str(canary.verdict) == "CONTINUE" and ended:
        label_based = [m.metric.name for m in canary.metrics if m.metric.label_based]
        mature = end + pd.Timedelta(days=float(canary.maturity_days))
        if label_based and mature > as_of:
            waiting = (
                f"labels: the last exposed units' labels mature by {_day(mature)} "
                f"({fmt.days(canary.maturity_days)} label window) for "
                f"{', '.join(label_based)}; no new traffic is needed"
            )
        else:
            waiting = "a decision on data already collected: enrolment has ended"
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
    )


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
            f"Money at stake at full traffic: {fmt.money(self.per_month, sign=True)} fraud loss "
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
# Reasons ranked by what decided
# ----------------------------------------------------------------------------------------
def ranked_reasons(
    verdict: str, reasons: Sequence[Reason], chip_list: Sequence[Chip] = ()
) -> list[tuple[Reason, bool]]:
    """``(reason, decided)`` pairs, the reasons that decided ``verdict`` first.

    ``reasons`` arrive ranked by :func:`mlopskit.report.decision.rollout_decision` (failing
    critical checks first for a stop, passing checks first for a go); on top of that:

    * PROMOTE: the all-non-inferior rule, then the gating metrics (primary first) decided
      it; secondary metrics are reported, not gated, and go last;
    * CONTINUE: what the decision waits for (days to a decision, minimum days, a margin not
      excluded, the maximum duration) comes first;
    * any other verdict keeps the order it was given; the failing checks decided it.
    """
    gating = [c.metric for c in chip_list if c.gating]
    secondary = {c.metric for c in chip_list if not c.gating}
    waiting = ("days_to_decision", "min_days", "margin_not_excluded", "max_duration")

    def rank(r: Reason) -> int:
        if r.code in secondary:
            return 9
        if verdict == "PROMOTE":
            if r.code == "non_inferior_all":
                return 0
            if r.code in gating:
                return 1 + gating.index(r.code) / 100
            return 2
        if verdict == "CONTINUE" and r.code in waiting:
            return 0
        return 2

    order = sorted(reasons, key=rank)

    def decided(r: Reason) -> bool:
        if verdict == "PROMOTE":
            return rank(r) < 2 or (not gating and r.passed is True)
        if verdict in ("READY_FOR_CANARY", "OK", "NO_ACTION"):
            return r.passed is True
        return rank(r) == 0 or r.passed is False

    return [(r, decided(r)) for r in order]


# ----------------------------------------------------------------------------------------
# Warning codes
# ----------------------------------------------------------------------------------------
_WARNING_CODES: tuple[tuple[str, str], ...] = (
    (r"statistically worse than control but within the margin", "canary.worse_within_margin"),
    (r"have no `score", "shadow.missing_scores"),
    (r"sha256 differs from manifest", "inputs.hash_mismatch"),
    (r"partial window", "outcome.partial_window"),
    (r"^calibration_arrival_bias", "labels.calibration_arrival_bias"),
    (r"[Aa]rrival bias", "labels.arrival_bias"),
    (r"burn-in|insufficient data", "canary.insufficient_data"),
    (r"immature|not matured|maturity", "labels.immature"),
    (r"shadow covers .* recommended", "shadow.short"),
    (r"sparse|fewer than", "data.sparse"),
)


def plain_warnings(warnings: Sequence[str], chip_list: Sequence[Chip]) -> list[str]:
    """Warnings with the card's words and units where a chip says the same thing (a metric
    worse than control within its margin); the rest unchanged, duplicates dropped."""
    by_metric = {c.metric: c for c in chip_list}
    out = []
    for w in warnings:
        head = w.split(":", 1)[0].strip()
        c = by_metric.get(head)
        if c is not None and warning_code(w) == "canary.worse_within_margin":
            w = (
                f"{c.label}: statistically worse than control but within the margin "
                f"({c.effect_text}, interval {c.interval_text}, margin {c.margin_text})."
            )
        out.append(w)
    return list(dict.fromkeys(out))


def warning_code(message: str) -> str:
    """A stable code for a warning message: a known pattern, or ``other.<prefix>`` from the
    message's leading ``name:`` (``other.general`` without one)."""
    for pattern, code in _WARNING_CODES:
        if re.search(pattern, message):
            return code
    head = re.match(r"^\s*([A-Za-z_][\w ·.-]{0,40}?):", message)
    slug = re.sub(r"[^a-z0-9]+", "_", head.group(1).lower()).strip("_") if head else ""
    return f"other.{slug or 'general'}"


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


def headline(model: str, verdict: str, chip_list: Sequence[Chip], w: CanaryWindow | None) -> str:
    """One sentence in business units that says what the verdict rests on."""
    gating = [c for c in chip_list if c.gating]
    primary = next((c for c in gating if c.role == "primary"), gating[0] if gating else None)
    ran = (
        f" after {fmt.days(w.exposure_days)} of canary on {fmt.count(w.units_canary, 'units')}"
        if w
        else ""
    )
    if verdict == "INVALID" and w is not None:
        return (
            f"The canary split is broken ({fmt.percent(w.observed_share, 3)} of units on the "
            f"challenger vs {fmt.percent(w.expected_share, 3)} planned, "
            f"{fmt.p_equals(w.srm_p)}): no effect of {model} is read."
        )
    if primary is None:
        return ""
    lead = f"{primary.label} {primary.effect_text} (interval {primary.interval_text})"
    if verdict == "PROMOTE":
        marg = [c.label for c in gating if c.status == "marginal"]
        tail = f"; {', '.join(marg)} worse than control but within the margin" if marg else ""
        return (
            f"{model} is no worse than the champion on all {len(gating)} gating metrics{ran}: "
            f"{lead}, inside the margin of {primary.margin_text}{tail}."
        )
    if verdict == "ROLLBACK":
        bad = [c for c in gating if c.status == "fail"] or [primary]
        b = bad[0]
        return (
            f"{model} is worse than the champion on {b.label}{ran}: {b.effect_text} "
            f"(interval {b.interval_text}), beyond the margin of {b.margin_text}."
        )
    if verdict == "CONTINUE":
        open_ = [c.label for c in gating if c.status == "pending"] or [primary.label]
        if w is not None and w.waiting_for:
            return (
                f"Canary enrolment ended on {_day(w.end)}; the decision on {', '.join(open_)} "
                f"waits for {w.waiting_for}. So far: {lead}."
            )
        return f"Not decided yet on {', '.join(open_)}{ran}: {lead}."
    return f"{lead}."


def timeline(
    *,
    shadow: Any = None,
    window: CanaryWindow | None = None,
    drift: Any = None,
    current: tuple[Any, Any] | None = None,
    as_of: Any = None,
) -> tuple[TimelineSpan, ...]:
    """The evidence timeline: shadow window, canary exposure, label window, drift, as-of."""
    spans: list[TimelineSpan] = []
    if shadow is not None and hasattr(shadow, "ts_min"):
        spans.append(
            TimelineSpan(
                "shadow",
                pd.Timestamp(shadow.ts_min),
                pd.Timestamp(shadow.ts_max),
                f"{fmt.days(shadow.duration_days)}, {fmt.count(shadow.n_requests, 'requests')}",
            )
        )
    if window is not None and window.start is not None and window.end is not None:
        spans.append(
            TimelineSpan(
                "canary exposure",
                pd.Timestamp(window.start),
                pd.Timestamp(window.end),
                f"{fmt.days(window.exposure_days)}, {fmt.percent(window.expected_share, 2)} planned",
            )
        )
        mature = pd.Timestamp(window.end) + pd.Timedelta(days=window.maturity_days)
        spans.append(
            TimelineSpan(
                "labels maturing",
                pd.Timestamp(window.start),
                mature,
                f"{fmt.days(window.maturity_days)} label window after each exposure",
            )
        )
    if current is not None:
        flagged = list(getattr(drift, "flagged", ()) or ())
        spans.append(
            TimelineSpan(
                "input drift window",
                pd.Timestamp(current[0]),
                pd.Timestamp(current[1]),
                f"{len(flagged)} feature(s) moved: {', '.join(map(str, flagged))}"
                if flagged
                else "no feature moved",
            )
        )
    if as_of is not None:
        spans.append(TimelineSpan("as-of", pd.Timestamp(as_of)))
    return tuple(spans)


def plain_reasons(
    reasons: Sequence[Reason], chip_list: Sequence[Chip], w: CanaryWindow | None
) -> list[Reason]:
    """The canary's reasons with their messages in business units (same numbers, the
    chips' words): metric reasons take their chip's sentence, the split check and the
    all-non-inferior rule name what they covered, and a CONTINUE waiting on labels after
    enrolment ended says so instead of asking for more traffic."""
    by_metric = {c.metric: c for c in chip_list}
    gating = [c.label for c in chip_list if c.gating]
    secondary = [c.label for c in chip_list if not c.gating]
    out = []
    for r in reasons:
        c = by_metric.get(r.code)
        if c is not None:
            r = replace(r, message=c.sentence())
        elif r.code == "srm" and w is not None:
            r = replace(
                r,
                message=(
                    f"Split check: {fmt.count(w.units_control)} control vs "
                    f"{fmt.count(w.units_canary)} canary units ({fmt.percent(w.observed_share, 3)}"
                    f" vs {fmt.percent(w.expected_share, 3)} planned), chi-square "
                    f"{fmt.p_equals(w.srm_p)} (alarm below {fmt.p_value(r.threshold or 0)})."
                ),
            )
        elif r.code == "non_inferior_all" and gating:
            tail = f"; {', '.join(secondary)} reported, not gated" if secondary else ""
            r = replace(
                r,
                message=(
                    f"All {len(gating)} gating metrics are non-inferior ({', '.join(gating)}): "
                    f"intersection–union test, each one-sided{tail}."
                ),
            )
        elif r.code == "days_to_decision" and w is not None and w.waiting_for:
            r = replace(
                r,
                message=f"Enrolment ended on {_day(w.end)}; the decision waits for {w.waiting_for}.",
            )
        out.append(r)
    return out


def build_card(
    model: str,
    verdict: str,
    reasons: Sequence[Reason],
    *,
    canary: Any = None,
    history: Any = None,
    shadow: Any = None,
    drift: Any = None,
    current: tuple[Any, Any] | None = None,
    policy: Any = None,
    as_of: Any = None,
    words: Mapping[str, MetricWords] | None = None,
    meaning: str = "",
) -> Card:
    """The decision card of a rollout report from its results (any may be ``None``)."""
    if canary is not None and not hasattr(canary, "metrics"):
        canary = None  # a verdict without metrics (a stub, a summary): no card numbers
    chip_list = chips(canary, words) if canary is not None else ()
    w = canary_window(canary, history) if canary is not None else None
    reasons = plain_reasons(reasons, chip_list, w)
    when = as_of if as_of is not None else getattr(canary, "as_of", None)
    text = headline(model, verdict, chip_list, w) if canary is not None else ""
    if not text or verdict in ("FIX", "READY_FOR_CANARY", "CONTINUE_SHADOW", "NOT_ASSESSED"):
        text = meaning
    return Card(
        model=model,
        verdict=verdict,
        headline=text,
        chips=chip_list,
        window=w,
        money=money(canary, w) if canary is not None and w is not None else None,
        timeline=timeline(shadow=shadow, window=w, drift=drift, current=current, as_of=when),
        policy=policy_identity(policy),
        reasons=tuple(ranked_reasons(verdict, reasons, chip_list)),
        as_of=None if when is None else pd.Timestamp(when),
    )


# ----------------------------------------------------------------------------------------
# decision.json
# ----------------------------------------------------------------------------------------
def reason_dicts(card: Card) -> list[dict[str, Any]]:
    """The card's ranked reasons as decision.json ``reasons`` (metric reasons structured)."""
    by_metric = {c.metric: c for c in card.chips}
    out = []
    for r, decided in card.reasons:
        c = by_metric.get(r.code)
        if c is not None:
            out.append(c.to_reason(decided=decided))
        else:
            d = r.to_dict()
            d["value"], d["threshold"] = _num(d["value"]), _num(d["threshold"])
            out.append({**d, "decided": decided})
    listed = {r.code for r, _ in card.reasons}
    # every metric is in decision.json, even when the verdict did not read it (INVALID)
    out += [c.to_reason(decided=False) for c in card.chips if c.metric not in listed]
    return out


def decision_fields(card: Card, warnings: Sequence[str]) -> dict[str, Any]:
    """The decision.json fields (schema version 1) that come from the card."""
    from mlopskit.schemas import DECISION_SCHEMA_VERSION

    return {
        "schema_version": DECISION_SCHEMA_VERSION,
        "headline": card.headline,
        "reasons": reason_dicts(card),
        "warning_codes": [warning_code(w) for w in warnings],
        "canary": None if card.window is None else card.window.to_dict(),
        "policy": card.policy.to_dict(),
        "as_of": _iso(card.as_of),
        "expires": _iso(card.expires),
        "money": None if card.money is None else card.money.to_dict(),
    }
