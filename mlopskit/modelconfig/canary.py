"""The ``canary:`` section of a model config: the model's own canary metrics and margins.

::

    canary:
      label_window_days: 60          # label-based metrics count units this old (default:
                                     # the policy's canary.maturity_days)
      metrics:
        - name: missed_default_rate  # an identifier, unique
          kind: proportion           # proportion | mean | ratio
          events: label & ~flagged   # proportion: flag columns joined by & (~ negates)
          direction: lower           # lower | higher is better (default lower)
          margin: 0.004              # largest tolerated harm on canary − control
          relative: false            # true: the margin is a fraction of control
          role: primary              # primary | guardrail (default) | secondary
          label_based: true          # default: the metric uses `label` or `loss`
          words: missed defaults     # what the report calls it (default: the name)
        - {name: scoring_ms, kind: mean, column: latency_ms, margin: 5, unit: ms,
           cap: 2000, cap_margin: 0.01}   # optional: decide on mean(min(y, 2000)), and the
                                          # share above 2000 must not rise by > 0.01
        - {name: loss_rate, kind: ratio, numerator: loss, denominator: amount,
           margin: 0.1, relative: true, role: secondary}

Columns are the canary log's contract names (``label``, ``flagged``, ``latency_ms``, …) or
any other column of the data; a mapped column's own name (``declined``) is read as its
contract name (``flagged``), so labels keep the config's positive value and maturity.
With a ``canary`` section the report and the promotion gate use exactly these metrics
(their margins replace the policy's canary margins); without one, the default metrics.
Nothing here touches data; :meth:`CanaryMetricConfig.metric` builds the
:class:`mlopskit.canary.Metric` (its rules are checked when the config is parsed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlopskit.canary.metrics import Metric

KINDS = ("proportion", "mean", "ratio")
#: the keys each kind takes besides the common ones.
_KIND_KEYS: dict[str, tuple[str, ...]] = {
    "proportion": ("events",),
    "mean": ("column", "fill_missing", "fill_when", "unit", "cap", "cap_margin"),
    "ratio": ("numerator", "denominator", "cap", "cap_margin"),
}
_COMMON = ("name", "kind", "direction", "margin", "relative", "role", "label_based", "words")


@dataclass(frozen=True, slots=True)
class CanaryMetricConfig:
    """One declared metric of a config's ``canary.metrics`` (columns already in contract
    names); :meth:`metric` builds the :class:`~mlopskit.canary.Metric`."""

    name: str
    kind: str
    numerator: str
    margin: float
    denominator: str | None = None
    direction: str = "lower"
    relative: bool = False
    role: str = "guardrail"
    label_based: bool | None = None
    fill_missing: float | None = None
    fill_when: str | None = None
    words: str | None = None
    unit: str = ""
    cap: float | None = None
    cap_margin: float | None = None

    def metric(self) -> Metric:
        from mlopskit.canary import metrics as m

        common: dict[str, Any] = {
            "margin": self.margin,
            "direction": self.direction,
            "relative": self.relative,
            "role": self.role,
            "label_based": self.label_based,
        }
        if self.kind == "proportion":
            return m.Proportion(self.name, self.numerator, **common)
        if self.kind == "mean":
            return m.Mean(
                self.name,
                self.numerator,
                fill_missing=self.fill_missing,
                fill_when=self.fill_when,
                cap=self.cap,
                cap_margin=self.cap_margin,
                **common,
            )
        return m.Ratio(
            self.name,
            self.numerator,
            str(self.denominator),
            cap=self.cap,
            cap_margin=self.cap_margin,
            **common,
        )


@dataclass(frozen=True, slots=True)
class CanarySection:
    """A config's ``canary`` section: its metrics and the label window of label-based ones."""

    metrics: tuple[CanaryMetricConfig, ...]
    label_window_days: float | None = None

    def build(self) -> tuple[Metric, ...]:
        return tuple(c.metric() for c in self.metrics)


def _to_contract(expr: str, columns: Mapping[str, str]) -> str:
    """``expr`` (``a & ~b`` or one column) with each of the data's mapped names replaced by
    its contract name (``declined`` → ``flagged``); other names are kept."""
    back = {user: canon for canon, user in columns.items()}
    terms = []
    for raw in expr.split("&"):
        t = raw.strip()
        neg = t.startswith("~")
        name = t[1:].strip() if neg else t
        terms.append(("~" if neg else "") + back.get(name, name))
    return " & ".join(terms)


def parse_canary(
    r: Any, raw: Any, canary_columns: Mapping[str, str] | None, error: type[ValueError]
) -> CanarySection | None:
    """Validate the ``canary`` section (``None`` when absent); errors name the key path.

    ``r`` is the schema's key-path reader, ``error`` its ``ConfigError`` (passed in: this
    module does not import the schema)."""
    if raw is None:
        return None
    top = r.mapping(raw, "canary", ("metrics", "label_window_days"))
    if canary_columns is None:
        raise error(
            f"{r.where}: `canary`: declares canary metrics but the config has no "
            "`logs.canary_log` to compute them on."
        )
    window = top.get("label_window_days")
    lw = None if window is None else r.number(window, "canary.label_window_days", 0.0, 3650.0)
    items = top.get("metrics")
    if not isinstance(items, list) or not items:
        raise r.fail("canary.metrics", "a non-empty list of metrics", items)
    out: list[CanaryMetricConfig] = []
    for i, item in enumerate(items):
        key = f"canary.metrics[{i}]"
        kind = item.get("kind") if isinstance(item, Mapping) else None
        if kind not in KINDS:
            if isinstance(item, Mapping) and "kind" in item:
                raise r.fail(f"{key}.kind", f"one of {list(KINDS)}", kind)
            r.mapping(item, key, None)  # not a mapping: named as such
            raise r.fail(f"{key}.kind", f"one of {list(KINDS)}", None)
        m = r.mapping(item, key, _COMMON + _KIND_KEYS[kind])
        name = r.string(m.get("name"), f"{key}.name")
        if kind == "proportion":
            num, den = r.string(m.get("events"), f"{key}.events"), None
        elif kind == "mean":
            num, den = r.string(m.get("column"), f"{key}.column"), None
        else:
            num = r.string(m.get("numerator"), f"{key}.numerator")
            den = r.string(m.get("denominator"), f"{key}.denominator")
        if "margin" not in m:
            raise r.fail(f"{key}.margin", "the largest tolerated harm (a non-zero number)", None)
        margin = r.number(m["margin"], f"{key}.margin", -float("inf"), float("inf"))
        direction = m.get("direction", "lower")
        if direction not in ("lower", "higher"):
            raise r.fail(f"{key}.direction", "'lower' or 'higher' (is better)", direction)
        role = m.get("role", "guardrail")
        if role not in ("primary", "guardrail", "secondary"):
            raise r.fail(f"{key}.role", "one of ['primary', 'guardrail', 'secondary']", role)
        lb = m.get("label_based")
        fill = m.get("fill_missing")
        when = m.get("fill_when")
        cap, cap_margin = m.get("cap"), m.get("cap_margin")
        cfg = CanaryMetricConfig(
            name=name,
            kind=kind,
            numerator=_to_contract(num, canary_columns),
            margin=margin,
            denominator=None if den is None else _to_contract(den, canary_columns),
            direction=direction,
            relative=r.boolean(m.get("relative", False), f"{key}.relative"),
            role=role,
            label_based=None if lb is None else r.boolean(lb, f"{key}.label_based"),
            fill_missing=None
            if fill is None
            else r.number(fill, f"{key}.fill_missing", -float("inf"), float("inf")),
            fill_when=None
            if when is None
            else _to_contract(r.string(when, f"{key}.fill_when"), canary_columns),
            words=r.opt_string(m.get("words"), f"{key}.words"),
            unit=str(r.opt_string(m.get("unit"), f"{key}.unit") or ""),
            cap=None if cap is None else r.number(cap, f"{key}.cap", 0.0, float("inf")),
            cap_margin=None
            if cap_margin is None
            else r.number(cap_margin, f"{key}.cap_margin", 0.0, 1.0),
        )
        try:  # the Metric's own rules (identifier name, margin sign, one column for means)
            cfg.metric()
        except ValueError as exc:
            raise error(f"{r.where}: `{key}`: {exc}") from None
        out.append(cfg)
    names = [c.name for c in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise r.fail("canary.metrics", "each metric name once", dup)
    return CanarySection(tuple(out), lw)
