"""Canary metric declarations (Proportion, Mean, Ratio), roles, the decision taxonomy and default metrics."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from mlopskit import _display, frames
from mlopskit.policy import CanaryPolicy, Policy, as_policy

if TYPE_CHECKING:
    from pathlib import Path


Kind = Literal["proportion", "mean", "ratio"]


Direction = Literal["lower", "higher"]


Role = Literal["primary", "guardrail", "secondary"]


ROLES = ("primary", "guardrail", "secondary")


#: taxonomy row → label (STATISTICS.md §2)
TAXONOMY: dict[int, str] = {
    0: "invalid",
    1: "insufficient_data",
    2: "superior",
    3: "non_inferior",
    4: "inferior",
    5: "worse_margin_not_excluded",
    6: "inconclusive",
    7: "inconclusive",
}


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------------------
# Metric declarations
# --------------------------------------------------------------------------------------
def _parse_events(expr: str, what: str) -> tuple[tuple[str, bool], ...]:
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError(f"`{what}` must be a column name or 'a & ~b'; got {expr!r}.")
    terms: list[tuple[str, bool]] = []
    for raw in expr.split("&"):
        t = raw.strip()
        neg = t.startswith("~")
        name = t[1:].strip() if neg else t
        if not _NAME.match(name):
            raise ValueError(
                f"`{what}` must be flag columns joined by '&', each optionally negated with "
                f"'~' (e.g. 'label & ~flagged'); could not read {t!r} in {expr!r}."
            )
        terms.append((name, neg))
    return tuple(terms)


@dataclass(frozen=True, slots=True)
class Metric:
    """One declared canary metric. Build it with :func:`Proportion`, :func:`Mean`, :func:`Ratio`.

    Attributes
    ----------
    name : identifier used in results (``to_frame()`` column ``metric``).
    kind : ``"proportion"`` (0/1 per unit), ``"mean"`` (a number per unit) or ``"ratio"``
        (``Σ numerator / Σ denominator``, delta method).
    numerator : column, or for proportions flag columns joined by ``&`` with optional ``~``
        (``"label & ~flagged"`` = missed fraud).
    denominator : ratio metrics only.
    direction : ``"lower"`` or ``"higher"`` is better.
    margin : non-inferiority margin Δ on ``d = canary − control`` — the largest tolerated
        harm: ``> 0`` for lower-is-better, ``< 0`` for higher-is-better metrics.
    relative : the effect is ``canary/control − 1`` and Δ a fraction of control.
    role : ``"primary"`` or ``"guardrail"`` — must be shown non-inferior for PROMOTE —
        or ``"secondary"`` — reported, and stops the canary when it shows harm, but not
        required to be non-inferior (for metrics too noisy to prove it at the planned
        volume, like dollar-weighted loss). Each role is its own Holm family for harm.
    label_based : counts only matured units (``ts + maturity_days ≤ as_of``) with labels
        inside the window. Defaults to "uses ``label`` or ``loss``".
    fill_missing : declared value for a unit whose value is missing (mean metrics), e.g. the
        timeout cap for a latency; ``None`` (default) drops missing values — counted per arm
        and tested for a difference between arms, never silently.
    fill_when : flag column restricting ``fill_missing`` to rows where it is 1 (``"error"``:
        a latency missing because the call failed is a timeout at the cap); other missing
        values are dropped and counted.
    window_days : label window W of a label-based metric: a unit counts once ``ts + W ≤
        as_of``, with the labels that arrived within W. ``None``: ``canary_test``'s
        ``maturity_days``, else ``policy.canary.maturity_days``, else the labels' horizon
        (``policy.labels.horizon_days``, 90). The result reports ``F̂(W)`` per arm and flags
        a window the arms mature through differently (:mod:`mlopskit.canary.labels`).
    cap : declared upper cap of a mean metric's value or a ratio's numerator (winsorized at a
        fixed number): the test decides on the capped estimand, ``mean(min(y, cap))`` (or
        ``Σ min(y, cap)/Σ x``), whose skewness — and so the normal-approximation gate — is
        bounded; the result states per arm the share of values above the cap and the
        uncapped difference beside it. ``None`` (default): no cap. A pre-declared number,
        not a quantile of the data (a data-derived cap moves with the canary).
    cap_margin : non-inferiority margin of the companion metric ``<name>_above_cap``, the
        share of values above the cap (absolute increase, > 0): PROMOTE needs that share
        shown not to rise by more than ``cap_margin``, so a canary moving mass beyond the
        cap cannot pass on the capped mean alone. ``None``: ``policy.canary.cap_share_margin``.
    """

    name: str
    kind: Kind
    numerator: str
    margin: float
    denominator: str | None = None
    direction: Direction = "lower"
    relative: bool = False
    role: Role = "guardrail"
    label_based: bool = False
    fill_missing: float | None = None
    fill_when: str | None = None
    window_days: float | None = None
    cap: float | None = None
    cap_margin: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"metric `name` must be an identifier; got {self.name!r}.")
        where = f"metric `{self.name}`"
        if self.kind not in ("proportion", "mean", "ratio"):
            raise ValueError(f"{where}: `kind` must be proportion/mean/ratio; got {self.kind!r}.")
        if self.direction not in ("lower", "higher"):
            raise ValueError(
                f"{where}: `direction` must be 'lower' or 'higher' (is better); "
                f"got {self.direction!r}."
            )
        if self.role not in ROLES:
            raise ValueError(f"{where}: `role` must be one of {ROLES}; got {self.role!r}.")
        if (self.kind == "ratio") != (self.denominator is not None):
            raise ValueError(
                f"{where}: a denominator is required for ratio metrics and only for them; "
                f"got kind={self.kind!r}, denominator={self.denominator!r}."
            )
        terms = _parse_events(self.numerator, f"{where} numerator")
        if self.kind != "proportion" and (len(terms) > 1 or terms[0][1]):
            raise ValueError(
                f"{where}: a {self.kind} metric takes one column; got {self.numerator!r}."
            )
        if self.denominator is not None:
            _parse_events(self.denominator, f"{where} denominator")
        m = self.margin
        if not (isinstance(m, float | int) and np.isfinite(m) and m != 0):
            raise ValueError(f"{where}: `margin` must be a finite non-zero number; got {m!r}.")
        if self.direction == "lower" and m < 0:
            raise ValueError(
                f"{where}: for a lower-is-better metric the margin is the largest tolerated "
                f"increase and must be > 0; got margin={m!r}."
            )
        if self.direction == "higher" and m > 0:
            raise ValueError(
                f"{where}: for a higher-is-better metric the margin is the largest tolerated "
                f"decrease and must be < 0; got margin={m!r}."
            )
        if self.relative and m <= -1:
            raise ValueError(f"{where}: a relative margin must be > −1; got {m!r}.")
        f = self.fill_missing
        if f is not None and not (
            self.kind == "mean" and isinstance(f, float | int) and np.isfinite(f)
        ):
            raise ValueError(
                f"{where}: `fill_missing` must be a finite number, for mean metrics only; got "
                f"{f!r} for a {self.kind} metric."
            )
        if self.fill_when is not None:
            if f is None:
                raise ValueError(
                    f"{where}: `fill_when` needs `fill_missing`; got fill_missing=None."
                )
            _parse_events(self.fill_when, f"{where} fill_when")
        wd = self.window_days
        if wd is not None:
            if not self.label_based:
                raise ValueError(
                    f"{where}: `window_days` applies to label-based metrics only; got "
                    f"window_days={wd!r} for a metric without labels."
                )
            if isinstance(wd, bool) or not (
                isinstance(wd, float | int) and np.isfinite(wd) and wd > 0
            ):
                raise ValueError(f"{where}: `window_days` must be a number > 0; got {wd!r}.")
        _check_cap(self, where)

    @property
    def sign(self) -> float:
        """+1 when higher values are harm (lower is better), −1 otherwise."""
        return 1.0 if self.direction == "lower" else -1.0

    @property
    def columns(self) -> tuple[str, ...]:
        return self.spec().columns

    def spec(self) -> frames.CanaryMetricSpec:
        den = self.denominator.strip() if self.denominator else None
        return frames.CanaryMetricSpec(
            self.name,
            _parse_events(self.numerator, "numerator"),
            den,
            self.label_based,
            None if self.fill_missing is None else float(self.fill_missing),
            self.fill_when.strip() if self.fill_when else None,
            None if self.cap is None else float(self.cap),
        )

    @property
    def above_cap_name(self) -> str:
        """Name of the companion metric: the share of values above the cap."""
        return f"{self.name}_above_cap"

    def above_cap_metric(self, default_margin: float) -> Metric:
        """The companion :func:`Proportion` of a capped metric: values above the cap.

        Same direction and column; role ``guardrail`` (``secondary`` for a secondary
        metric); margin ``cap_margin`` (or ``default_margin``) with the metric's sign: for a
        lower-is-better value more mass above the cap is harm, for higher-is-better less.
        Its statistics come from the capped metric's aggregation (``above_cap``)."""
        if self.cap is None:
            raise ValueError(f"metric `{self.name}` has no cap; it has no above-cap metric.")
        mg = float(default_margin if self.cap_margin is None else self.cap_margin)
        return Metric(
            self.above_cap_name,
            "proportion",
            self.numerator,
            self.sign * mg,
            None,
            self.direction,
            False,
            "secondary" if self.role == "secondary" else "guardrail",
            self.label_based,
        )


def _check_cap(m: Metric, where: str) -> None:
    for key in ("cap", "cap_margin"):
        v = getattr(m, key)
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, float | int) or not np.isfinite(v) or v <= 0
        ):
            raise ValueError(f"{where}: `{key}` must be a finite number > 0; got {v!r}.")
    if m.cap is not None and m.kind == "proportion":
        raise ValueError(
            f"{where}: `cap` applies to mean metrics and ratio numerators, not to a 0/1 "
            f"proportion; got cap={m.cap!r}."
        )
    if m.cap_margin is not None and m.cap is None:
        raise ValueError(f"{where}: `cap_margin` needs `cap`; got cap=None.")
    if m.cap is not None and m.fill_missing is not None and m.fill_missing > m.cap:
        raise ValueError(
            f"{where}: `fill_missing` ({m.fill_missing!r}) is above `cap` ({m.cap!r}); a "
            "filled value would be capped — declare fill_missing ≤ cap."
        )


def _label_based(cols: Sequence[str], given: bool | None) -> bool:
    if given is not None:
        return bool(given)
    return any(c in frames.CANARY_LABEL_COLUMNS for c in cols)


def Proportion(
    name: str,
    events: str,
    *,
    margin: float,
    direction: Direction = "lower",
    relative: bool = False,
    role: Role = "guardrail",
    label_based: bool | None = None,
    window_days: float | None = None,
) -> Metric:
    """A per-unit 0/1 outcome, e.g. ``Proportion("fraud_missed_rate", "label & ~flagged",
    margin=0.0005)``. ``events`` is flag columns joined by ``&`` (``~`` negates)."""
    cols = [c for c, _ in _parse_events(events, f"metric `{name}` events")]
    return Metric(
        name,
        "proportion",
        events,
        margin,
        None,
        direction,
        relative,
        role,
        _label_based(cols, label_based),
        window_days=window_days,
    )


def Mean(
    name: str,
    column: str,
    *,
    margin: float,
    direction: Direction = "lower",
    relative: bool = False,
    role: Role = "guardrail",
    label_based: bool | None = None,
    fill_missing: float | None = None,
    fill_when: str | None = None,
    window_days: float | None = None,
    cap: float | None = None,
    cap_margin: float | None = None,
) -> Metric:
    """A per-unit number averaged over units (loss per unit, latency), Welch's t.

    ``fill_missing``/``fill_when`` declare what a missing value means (see :class:`Metric`):
    ``Mean("latency_ms", "latency_ms", margin=5, fill_missing=250, fill_when="error")``
    counts a failed call without latency as a 250 ms timeout. ``cap=2000`` decides on
    ``mean(min(latency_ms, 2000))`` and adds the guard ``latency_ms_above_cap`` (the share
    of values above 2,000 must not rise by more than ``cap_margin``)."""
    return Metric(
        name,
        "mean",
        column,
        margin,
        None,
        direction,
        relative,
        role,
        _label_based([column], label_based),
        fill_missing,
        fill_when,
        window_days,
        cap,
        cap_margin,
    )


def Ratio(
    name: str,
    numerator: str,
    denominator: str,
    *,
    margin: float,
    direction: Direction = "lower",
    relative: bool = False,
    role: Role = "guardrail",
    label_based: bool | None = None,
    window_days: float | None = None,
    cap: float | None = None,
    cap_margin: float | None = None,
) -> Metric:
    """``Σ numerator / Σ denominator`` over units (loss per dollar), delta-method variance.

    ``cap`` caps each unit's numerator (``Σ min(loss, cap)/Σ amount``; see :class:`Metric`)."""
    return Metric(
        name,
        "ratio",
        numerator,
        margin,
        denominator,
        direction,
        relative,
        role,
        _label_based([numerator, denominator], label_based),
        window_days=window_days,
        cap=cap,
        cap_margin=cap_margin,
    )


def default_metrics(policy: Policy | CanaryPolicy | str | Path | None = None) -> tuple[Metric, ...]:
    """The fraud metrics of the demo world, margins from the policy's ``canary`` section.

    * ``fraud_missed_rate`` (primary): ``label & ~flagged`` per unit, lower is better.
    * ``false_positive_rate``: ``flagged & ~label`` per unit (customer friction).
    * ``loss_per_dollar`` (secondary): ``Σ loss / Σ amount``, relative margin. Dollar
      losses are few and heavy-tailed: at 5% of 40,000 units a day for 28 days its relative
      SE is ~13%, so a 10% margin cannot be shown; it still triggers ROLLBACK on harm.
    * ``latency_ms``: mean latency per unit; a call with ``error = 1`` and no latency
      counts as a timeout at ``policy.latency_timeout_ms`` (other missing latencies are
      dropped, counted and compared between arms); capped at ``policy.latency_cap_ms``
      when that is set. ``error_rate``: errors/timeouts per unit.
    """
    cfg = _policy(policy)
    return (
        Proportion(
            "fraud_missed_rate",
            "label & ~flagged",
            margin=cfg.margin_fraud_missed_rate,
            role="primary",
        ),
        Proportion(
            "false_positive_rate", "flagged & ~label", margin=cfg.margin_false_positive_rate
        ),
        Ratio(
            "loss_per_dollar",
            "loss",
            "amount",
            margin=cfg.margin_loss_per_dollar,
            relative=True,
            role="secondary",
        ),
        Mean(
            "latency_ms",
            "latency_ms",
            margin=cfg.margin_latency_ms,
            fill_missing=cfg.latency_timeout_ms,
            fill_when="error",
            cap=cfg.latency_cap_ms,
        ),
        Proportion("error_rate", "error", margin=cfg.margin_error_rate),
    )


def _policy(policy: Policy | CanaryPolicy | str | Path | None) -> CanaryPolicy:
    if isinstance(policy, CanaryPolicy):
        return policy
    return as_policy(policy).section("canary", CanaryPolicy)


def _fmt(v: float) -> str:
    return _display._fmt(float(v), 4)
