"""Aggregations for the canary: contract validation and per-day, per-arm sufficient statistics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from mlopskit.frames.contracts import CANARY_LOG, Contract, ValidationPlan, validation_plan
from mlopskit.frames.inputs import (
    ARMS,
    FrameLike,
    _n_unique_query,
    collect,
    schema,
)

# ---- canary (issue 6) ----------------------------------------------------------------
#: sufficient-statistic fields per metric and arm (additive over units; see canary.ArmStats)
CANARY_SUM_FIELDS = (
    "n",
    "events",
    "sum",
    "sum_squares",
    "denominator_sum",
    "denominator_sum_squares",
    "sum_products",
    "covariate_sum",
    "covariate_sum_squares",
    "covariate_sum_products",
    "sum_cubes",
    "denominator_sum_cubes",
    "missing",
    "filled",
    "above_cap",
    "uncapped_sum",
    "uncapped_sum_squares",
    "uncapped_sum_products",
    "sum_squares_products",
    "sum_products_squares",
)

#: fields only a ratio metric fills (``Σy²x``, ``Σyx²``: the linearized variable's skewness)
CANARY_RATIO_FIELDS = ("sum_squares_products", "sum_products_squares")

#: fields only a capped metric fills (``nan`` otherwise: not measured)
CANARY_CAP_FIELDS = ("above_cap", "uncapped_sum", "uncapped_sum_squares", "uncapped_sum_products")


#: columns whose values only exist once the label is known (windowed by maturity)
CANARY_LABEL_COLUMNS = ("label", "loss")

#: result columns computed after the collect from summed ones, not summed themselves:
#: ``("copy", col)`` the same sum, ``("rows_minus", col)`` the group's rows (``__units``)
#: minus that sum — exact (integer-valued sums)
Derived = dict[str, tuple[str, str]]


@dataclass(frozen=True, slots=True)
class CanaryMetricSpec:
    """Engine-free description of one canary metric for the lazy aggregation.

    ``numerator`` is a product of columns: ``(column, negated)`` pairs (negation only for
    flag columns, ``1 − value``); ``denominator`` a column for ratio metrics.
    ``label_based`` metrics count only matured units and windowed labels. ``fill`` is a
    declared value for units whose value is missing (counted as ``filled``), only where the
    flag column ``fill_when`` is 1 when that is given; other missing values are dropped and
    counted as ``missing`` — never silently. ``cap``: the value (after ``fill``) is
    winsorized at this number, ``min(y, cap)``, in every sum; units above it are counted
    (``above_cap``) and the uncapped ``Σy``, ``Σy²`` (and ``Σxy``) kept beside.
    """

    name: str
    numerator: tuple[tuple[str, bool], ...]
    denominator: str | None = None
    label_based: bool = False
    fill: float | None = None
    fill_when: str | None = None
    cap: float | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        cols = [c for c, _ in self.numerator]
        if self.denominator is not None:
            cols.append(self.denominator)
        if self.fill_when is not None:
            cols.append(self.fill_when)
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True, slots=True)
class CanaryDaily:
    """Per-day sums of a canary log: the output of :func:`canary_daily_sums`.

    Attributes
    ----------
    day_starts : midnight of each calendar day from the first exposure to ``as_of``.
    first_ts, last_ts : first and last exposure at or before ``as_of``.
    as_of : the analysis time.
    units : ``{arm: int array}`` units first exposed on each day.
    units_total : ``{arm: int}`` units exposed by ``as_of``.
    exposure_days : per day, days from ``first_ts`` to the last exposure up to that day's end.
    daily : ``{metric: {arm: {field: float array}}}`` sums by day — by exposure day, or for
        label-based metrics by the day at whose end the unit has matured.
    final : ``{metric: {arm: {field: float}}}`` sums over the units counted at ``as_of``.
    late : ``{arm: int}`` units of the log exposed after ``as_of`` (left out, counted).
    """

    day_starts: np.ndarray
    first_ts: pd.Timestamp
    last_ts: pd.Timestamp
    as_of: pd.Timestamp
    units: dict[str, np.ndarray]
    units_total: dict[str, int]
    exposure_days: np.ndarray
    daily: dict[str, dict[str, dict[str, np.ndarray]]]
    final: dict[str, dict[str, dict[str, float]]]
    late: dict[str, int] = field(default_factory=dict)


def _canary_as_of(as_of: Any, dtype: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`as_of` must be a timestamp; got {as_of!r}.") from exc
    if ts is pd.NaT:
        raise ValueError(f"`as_of` must be a timestamp; got {as_of!r}.")
    tz = getattr(dtype, "time_zone", None)
    if tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    elif tz is not None:
        ts = ts.tz_convert(tz)
    elif ts.tzinfo is not None:
        raise ValueError(
            f"`as_of` is timezone-aware ({ts.tzinfo}) but the canary log column `ts` is "
            "timezone-naive; pass a naive `as_of` in the log's clock."
        )
    return ts


def _canary_plan(
    data: FrameLike, columns: Mapping[str, str] | None, needed: Sequence[str], frame: str
) -> ValidationPlan:
    known = {c.name for c in CANARY_LOG.columns}
    extra = tuple(c for c in needed if c not in known)
    contract = Contract(CANARY_LOG.frame, CANARY_LOG.columns, None, CANARY_LOG.ordered, extra)
    plan = validation_plan(data, contract, columns=columns, frame=frame)
    sch = schema(plan.lf)
    for col in needed:
        if col not in sch:
            user = plan.mapping.get(col, col)
            raise ValueError(
                f"{frame}: column `{user}` is required by the declared metrics but is "
                f"missing. Columns found: {sorted(sch)[:20]}."
            )
    return plan


def _unit_query(lf: nw.LazyFrame) -> nw.LazyFrame:
    return _n_unique_query(lf, "unit_id", "n_unique", rows="n")


def _check_units(plan: ValidationPlan, n: int, n_unique: int) -> None:
    """A unit in both arms (assignment leak) or repeated within an arm (per-event log)."""
    if n_unique >= n:
        return
    lf, frame = plan.lf, plan.frame
    per_unit = lf.group_by("unit_id").agg(
        nw.col("arm").n_unique().alias("n_arms"), nw.len().alias("rows")
    )
    both = per_unit.filter(nw.col("n_arms") > 1)
    n_both = int(collect(both.select(nw.len().alias("k")))["k"].iloc[0])
    user = plan.mapping.get("unit_id", "unit_id")
    if n_both:
        ex = collect(both.select("unit_id").sort("unit_id").head(5))["unit_id"].tolist()
        raise ValueError(
            f"{frame}: {n_both:,} units appear in both arms (column `{user}`), e.g. {ex}; "
            "each unit must be assigned to exactly one arm. An assignment leak "
            "invalidates the comparison: fix the assignment or drop these units."
        )
    rep = collect(per_unit.filter(nw.col("rows") > 1).select("unit_id").sort("unit_id").head(5))
    raise ValueError(
        f"{frame}: column `{user}` must be unique (one row per randomization unit); "
        f"found {n - n_unique:,} repeated rows, e.g. {rep['unit_id'].tolist()}. For a "
        "per-event log, aggregate events per unit first (sums per unit_id) and declare "
        "Ratio metrics: rows of one unit are correlated and would understate the SEs."
    )


def canary_validate(
    data: FrameLike,
    *,
    columns: Mapping[str, str] | None,
    needed: Sequence[str],
    frame: str = "canary log",
) -> nw.LazyFrame:
    """Validate a canary log (one row per randomization unit) and return it lazily.

    Besides the CANARY_LOG contract (arm values, ``label_ts`` not before ``ts``, amounts,
    losses and latencies ≥ 0), a ``unit_id`` present in both arms is an assignment leak and
    a ``unit_id`` repeated within one arm means the log is per event: both are errors (the
    analysis unit must be the randomization unit; aggregate events per unit first).
    (:func:`~mlopskit.frames.canary_pass.canary_scan` runs the same checks inside its
    aggregation query.)
    """
    plan = _canary_plan(data, columns, needed, frame)
    lf = plan.run()
    counts = collect(_unit_query(lf)).iloc[0]
    _check_units(plan, int(counts["n"]), int(counts["n_unique"]))
    return lf


def _canary_value(name: str, negated: bool, sch: Mapping[str, Any], window: Any | None) -> Any:
    v = nw.col(name).cast(nw.Float64)
    if window is not None and name in CANARY_LABEL_COLUMNS:
        # a label (or loss) arriving after the window is unknown at maturity: count it as 0
        v = nw.when(window).then(v).otherwise(0.0)
    if negated:
        v = 1.0 - v
    return v


def _spec_valid(s: CanaryMetricSpec, sch: Mapping[str, Any]) -> Any:
    """Rows where every value column of metric spec ``s`` (not its ``fill_when`` flag) is
    present."""
    value_cols = [c for c in s.columns if c != s.fill_when]
    valid = _canary_valid(value_cols[0], sch)
    for c in value_cols[1:]:
        valid = valid & _canary_valid(c, sch)
    return valid


def _treat_missing(
    y: Any, valid: Any, s: CanaryMetricSpec, cols: dict[str, Any], p: str, derived: Derived
) -> tuple[Any, Any]:
    """``y`` with a missing value replaced by the spec's declared ``fill`` (where
    ``fill_when`` holds) or 0, and the rows counted; writes the ``n`` (and ``filled``)
    columns under prefix ``p``; ``missing`` is the group's rows minus ``n`` (``derived``)."""
    if s.fill is not None:
        fill_ok = ~valid
        if s.fill_when is not None:
            fill_ok = fill_ok & (nw.col(s.fill_when).cast(nw.Float64) == 1).fill_null(False)
        y = nw.when(valid).then(y).when(fill_ok).then(nw.lit(float(s.fill))).otherwise(0.0)
        cols[p + "filled"] = fill_ok.cast(nw.Float64)
        counted = valid | fill_ok
    else:
        y = nw.when(valid).then(y).otherwise(0.0)
        counted = valid
    cols[p + "n"] = counted.cast(nw.Float64)
    derived[p + "missing"] = ("rows_minus", p + "n")
    return y, counted


def _capped(y: Any, counted: Any, cap: float | None) -> tuple[Any, Any]:
    """``min(y, cap)`` on the counted rows and the "above the cap" indicator (``y``
    unchanged and ``None`` without a cap) — the capped value of every canary pass."""
    if cap is None:
        return y, None
    c = nw.lit(float(cap))
    above = counted & (y > c)
    return nw.when(above).then(c).otherwise(y), above


def _value_sums(
    y: Any,
    counted: Any,
    valid: Any,
    s: CanaryMetricSpec,
    cols: dict[str, Any],
    p: str,
    derived: Derived,
    binary: bool = False,
) -> Any:
    """The sums of a metric's value ``y`` (after the missing-value treatment) under prefix
    ``p``: capped at the spec's ``cap`` (:func:`_capped`; the uncapped ``Σy``, ``Σy²``,
    ``Σxy`` and the units above the cap beside), its powers, the denominator's and the
    products. Returns the capped ``y``. Shared by the daily and the label-arrival passes.
    ``binary`` (a 0/1 value, :func:`_is_binary`): ``y = y² = y³ = [y ≠ 0]`` row by row, so
    the events and the powers are the same sum, summed once (``derived``)."""
    raw = y
    y, above = _capped(y, counted, s.cap)
    if above is not None:
        cols[p + "above_cap"] = above.cast(nw.Float64)
        cols[p + "uncapped_sum"] = raw
        cols[p + "uncapped_sum_squares"] = raw * raw
    cols[p + "sum"] = y
    if binary:
        for f in ("events", "sum_squares", "sum_cubes"):
            derived[p + f] = ("copy", p + "sum")
    else:
        cols[p + "events"] = (counted & (y != 0)).cast(nw.Float64)
        cols[p + "sum_squares"] = y * y
        cols[p + "sum_cubes"] = y * y * y
    if s.denominator is not None:
        x = nw.when(valid).then(nw.col(s.denominator).cast(nw.Float64)).otherwise(0.0)
        cols[p + "denominator_sum"] = x
        cols[p + "denominator_sum_squares"] = x * x
        cols[p + "denominator_sum_cubes"] = x * x * x
        cols[p + "sum_products"] = x * y
        cols[p + "sum_squares_products"] = y * y * x
        cols[p + "sum_products_squares"] = y * x * x
        if above is not None:
            cols[p + "uncapped_sum_products"] = x * raw
    return y


def _flag_columns(sch: Mapping[str, Any], validated: bool) -> frozenset[str]:
    """Columns whose present values are 0/1: booleans, and on a validated log (the contract
    checks run in the same query or before) the CANARY_LOG flag columns."""
    flags = {c for c, d in sch.items() if d == nw.Boolean}
    if validated:
        flags |= {c.name for c in CANARY_LOG.columns if c.kind == "flag" and c.name in sch}
    return frozenset(flags)


def _is_binary(s: CanaryMetricSpec, flags: frozenset[str]) -> bool:
    """The metric's value is 0/1 on every row: a product of flag columns (negated or not;
    a label outside its window counts 0), no denominator, no cap, a 0/1 fill."""
    return (
        s.denominator is None
        and s.cap is None
        and s.fill in (None, 0.0, 1.0)
        and all(c in flags for c, _ in s.numerator)
    )


def _fill_derived(g: pd.DataFrame, derived: Derived) -> pd.DataFrame:
    """Add the ``derived`` columns to the collected group sums ``g``."""
    if not derived:
        return g
    rows = g["__units"].to_numpy(float)
    new: dict[str, np.ndarray] = {}
    for how in ("copy", "rows_minus"):  # a count of rows may come from a copied sum
        for k, (h, src) in derived.items():
            if h == how:
                v = new[src] if src in new else g[src].to_numpy(float)
                new[k] = v if how == "copy" else rows - v
    return pd.concat([g, pd.DataFrame(new, index=g.index)], axis=1)


def _unset(field: str, s: CanaryMetricSpec) -> float:
    """Value of a sum field a metric does not fill: ``nan`` (not measured) for the cap
    fields of an uncapped metric and the ratio-only fields of a non-ratio, else 0."""
    if (field in CANARY_CAP_FIELDS and s.cap is None) or (
        field in CANARY_RATIO_FIELDS and s.denominator is None
    ):
        return float("nan")
    return 0.0


def _canary_valid(name: str, sch: Mapping[str, Any]) -> Any:
    c = nw.col(name)
    ok = ~c.is_null()
    if sch[name].is_float():
        ok = ok & ~c.is_nan().fill_null(True)
    return ok


def canary_daily_sums(
    lf: nw.LazyFrame,
    specs: Sequence[CanaryMetricSpec],
    *,
    as_of: Any,
    maturity_days: float,
    covariate: str | None = None,
    frame: str = "canary log",
    validated: bool = False,
) -> CanaryDaily:
    """One lazy pass: per arm and day, the sufficient statistics of every metric.

    Units exposed after ``as_of`` are dropped. For label-based metrics a unit counts once its
    label window has elapsed (``ts + maturity_days ≤ as_of``) and its label (and loss) only
    if it arrived within the window (``label_ts ≤ ts + maturity_days``), so the outcome of a
    unit never changes with ``as_of`` and any day's look equals a replay at that day.
    The group keys are arm, exposure day, maturity day and "matured at ``as_of``" — a few
    groups per day — and the result is summed per day in numpy. ``validated``: ``lf`` is a
    validated log (:func:`canary_validate`), its flag columns hold 0/1 only.
    """
    query, as_of_ts, any_label, derived = _daily_query(
        lf,
        specs,
        as_of=as_of,
        maturity_days=maturity_days,
        covariate=covariate,
        flags=_flag_columns(schema(lf), validated),
    )
    g = _fill_derived(collect(query), derived)
    return _daily_result(g, specs, as_of_ts, any_label, frame)


def _daily_query(
    lf: nw.LazyFrame,
    specs: Sequence[CanaryMetricSpec],
    *,
    as_of: Any,
    maturity_days: float,
    covariate: str | None,
    indicators: Mapping[str, Any] | None = None,
    flags: frozenset[str] = frozenset(),
    more_keys: Mapping[str, Any] | None = None,
    more_cols: Mapping[str, Any] | None = None,
) -> tuple[nw.LazyFrame, pd.Timestamp, bool, Derived]:
    """The per-(arm, late, day, maturity day, matured) group-by; ``indicators`` are summed.
    ``flags``: the 0/1 columns (:func:`_flag_columns`); ``more_keys``/``more_cols``: further
    group keys and summed columns (the label-arrival pass, read in the same scan). Returns
    the query, ``as_of``, whether a metric is label-based and the result columns derived
    after the collect (:func:`_fill_derived`)."""
    sch = schema(lf)
    as_of_ts = _canary_as_of(as_of, sch["ts"])
    lit_as_of = nw.lit(as_of_ts.to_pydatetime())
    mat = pd.Timedelta(days=float(maturity_days)).to_pytimedelta()
    any_label = any(s.label_based for s in specs)
    has_label_ts = "label_ts" in sch
    window = None
    if any_label and has_label_ts:
        window = (nw.col("label_ts") <= nw.col("ts") + mat).fill_null(False)
    matured = nw.col("ts") + mat
    mday_trunc = matured.dt.truncate("1d")
    keys = {
        "arm": nw.col("arm"),
        "__late": nw.col("ts") > lit_as_of,
        "__day": nw.col("ts").dt.truncate("1d"),
    }
    if any_label:
        keys["__mday"] = (
            nw.when(mday_trunc == matured)
            .then(mday_trunc - pd.Timedelta(days=1).to_pytimedelta())
            .otherwise(mday_trunc)
        )
        keys["__ok"] = matured <= lit_as_of
    if covariate is not None:
        z = nw.col(covariate).cast(nw.Float64)
    if more_keys:
        keys.update(more_keys)
    cols: dict[str, Any] = {}
    derived: Derived = {}
    for i, s in enumerate(specs):
        valid = _spec_valid(s, sch)
        y = None
        for c, neg in s.numerator:
            v = _canary_value(c, neg, sch, window if s.label_based else None)
            y = v if y is None else y * v
        p = f"__m{i}_"
        y, counted = _treat_missing(y, valid, s, cols, p, derived)
        y = _value_sums(y, counted, valid, s, cols, p, derived, _is_binary(s, flags))
        if covariate is not None:
            zv = nw.when(counted).then(z).otherwise(0.0)
            cols[p + "covariate_sum"] = zv
            cols[p + "covariate_sum_squares"] = zv * zv
            cols[p + "covariate_sum_products"] = zv * y
    extra = {**(more_cols or {}), **(indicators or {})}
    lf = lf.with_columns(**keys, **cols, **extra)
    aggs = [
        nw.len().alias("__units"),
        nw.col("ts").min().alias("__first"),
        nw.col("ts").max().alias("__last"),
    ]
    aggs += [nw.col(k).sum().alias(k) for k in [*cols, *extra]]
    return lf.group_by(*keys).agg(*aggs), as_of_ts, any_label, derived


def _daily_result(
    g: pd.DataFrame,
    specs: Sequence[CanaryMetricSpec],
    as_of_ts: pd.Timestamp,
    any_label: bool,
    frame: str,
) -> CanaryDaily:
    late_rows = g["__late"].to_numpy(bool) if len(g) else np.zeros(0, bool)
    late = {
        a: int(g.loc[late_rows & (g["arm"].astype(str) == a).to_numpy(), "__units"].sum())
        for a in ARMS
    }
    g = g.loc[~late_rows].reset_index(drop=True)
    present = sorted(set(g["arm"].astype(str))) if len(g) else []
    missing = [a for a in ARMS if a not in present]
    if missing:
        raise ValueError(
            f"{frame}: arm {missing[0]!r} has no units exposed up to as_of={as_of_ts}; "
            f"found arms {present}. A canary analysis needs both 'control' and 'canary'."
        )
    first = pd.Timestamp(g["__first"].min())
    last = pd.Timestamp(g["__last"].max())
    tz = first.tzinfo
    day0 = first.normalize()
    end_day = (as_of_ts - pd.Timedelta(microseconds=1)).normalize()
    n_days = int((end_day - day0) / pd.Timedelta(days=1)) + 1
    day_starts = pd.date_range(day0, periods=n_days, freq="D", tz=tz).to_numpy()

    def index(col: str) -> np.ndarray:
        d = pd.to_datetime(g[col])
        if tz is not None and d.dt.tz is None:
            d = d.dt.tz_localize(tz)
        return np.asarray(((d - day0) / pd.Timedelta(days=1)).round().astype(int))

    day_idx = index("__day")
    mday_idx = index("__mday") if any_label else day_idx
    arm = g["arm"].astype(str).to_numpy()

    def by_day(values: np.ndarray, idx: np.ndarray, mask: np.ndarray) -> np.ndarray:
        keep = mask & (idx < n_days)
        return np.bincount(idx[keep], weights=values[keep], minlength=n_days).astype(float)

    units = {a: by_day(g["__units"].to_numpy(float), day_idx, arm == a) for a in ARMS}
    units_total = {a: int(g.loc[arm == a, "__units"].sum()) for a in ARMS}
    last_ts = pd.to_datetime(g["__last"])
    if tz is not None and last_ts.dt.tz is None:
        last_ts = last_ts.dt.tz_localize(tz)
    last_rel = np.asarray((last_ts - first) / pd.Timedelta(days=1), dtype=float)
    day_last = np.full(n_days, np.nan)
    np.fmax.at(day_last, np.minimum(day_idx, n_days - 1), last_rel)
    exposure_days = np.fmax.accumulate(day_last)
    daily: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    final: dict[str, dict[str, dict[str, float]]] = {}
    ok = g["__ok"].to_numpy(bool) if any_label else np.ones(len(g), bool)
    for i, s in enumerate(specs):
        idx = mday_idx if s.label_based else day_idx
        in_final = ok if s.label_based else np.ones(len(g), bool)
        daily[s.name], final[s.name] = {}, {}
        for a in ARMS:
            sel = arm == a
            daily[s.name][a], final[s.name][a] = {}, {}
            for f in CANARY_SUM_FIELDS:
                key = f"__m{i}_{f}"
                vals = g[key].to_numpy(float) if key in g else np.full(len(g), _unset(f, s))
                daily[s.name][a][f] = by_day(vals, idx, sel)
                final[s.name][a][f] = float(vals[sel & in_final].sum())
    return CanaryDaily(
        day_starts=day_starts,
        first_ts=first,
        last_ts=last,
        as_of=as_of_ts,
        units={a: units[a].astype(int) for a in ARMS},
        units_total=units_total,
        exposure_days=exposure_days,
        daily=daily,
        final=final,
        late=late,
    )
