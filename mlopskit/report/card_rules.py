"""The card's rules: reasons ranked by what decided, their words in business units, the
headline, the evidence timeline, warning codes, and the decision.json fields of a card.

:func:`build_card` is the entry point (used by
:func:`mlopskit.report.decision.rollout_decision`); the card's data types live in
:mod:`mlopskit.report.card`, its HTML in :mod:`mlopskit.report.card_html`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from mlopskit import _format as fmt
from mlopskit.report.card import (
    CanaryWindow,
    Card,
    Chip,
    MetricWords,
    TimelineSpan,
    _day,
    _iso,
    _num,
    canary_window,
    chips,
    money,
    policy_identity,
)
from mlopskit.verdict import Reason


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
    * CONTINUE: what the decision waits for (days to or date of a decision, minimum days, a
      margin not excluded, the maximum duration) comes first;
    * any other verdict keeps the order it was given; the failing checks decided it.
    """
    gating = [c.metric for c in chip_list if c.gating]
    secondary = {c.metric for c in chip_list if not c.gating}
    waiting = (
        "days_to_decision",
        "decision_expected",
        "min_days",
        "margin_not_excluded",
        "max_duration",
    )

    def rank(r: Reason) -> float:
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
    lead = (
        f"{primary.label} {primary.effect_text} (interval {primary.interval_text})"
        if math.isfinite(primary.effect)
        else f"no estimate of {primary.label} yet"  # not "— (interval [—, —])"
    )
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
            f"(interval {b.interval_text}), "
            + ("beyond" if b.decision == "inferior" else "the interval does not exclude")
            + f" the margin of {b.margin_text}."
        )
    if verdict == "CONTINUE":
        open_ = [c.label for c in gating if c.status == "pending"] or [primary.label]
        if w is not None and w.waiting_for:
            return (
                f"Canary enrolment ended on {_day(w.end)}; the decision on {', '.join(open_)} "
                f"waits for {w.waiting_for}. So far: {lead}."
            )
        if w is not None and w.ended:
            return (
                f"Canary enrolment ended on {_day(w.end)} and its labels have matured: the "
                f"collected data cannot decide {', '.join(open_)} ({lead}). Waiting adds no "
                "data: extend or restart the canary."
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
        if window.waiting_for and window.mature_by is not None:
            spans.append(TimelineSpan("decision expected", pd.Timestamp(window.mature_by)))
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
                    f"Split check: {fmt.count(w.units_control, 'units')} in control vs "
                    f"{fmt.count(w.units_canary, 'units')} in the canary "
                    f"({fmt.percent(w.observed_share, 3)} vs {fmt.percent(w.expected_share, 3)} "
                    "planned), chi-square "
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
        elif (
            r.code in ("days_to_decision", "decision_expected") and w is not None and w.waiting_for
        ):
            r = replace(
                r,
                message=f"Enrolment ended on {_day(w.end)}; the decision waits for {w.waiting_for}.",
            )
        elif r.code == "days_to_decision" and w is not None and w.ended:
            r = replace(
                r,
                message=(
                    f"Enrolment ended on {_day(w.end)} and its labels have matured: no new "
                    "units arrive, so more days add no data; the canary must be extended or "
                    "restarted to decide."
                ),
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
