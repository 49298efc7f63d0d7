"""Label arrivals of the canary's label-based metrics: cohort × delay sums per arm and the
all-labels sums (issue 13, label windows). Split from :mod:`mlopskit.frames.canary`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from mlopskit.frames.canary import (
    CANARY_LABEL_COLUMNS,
    CANARY_SUM_FIELDS,
    CanaryMetricSpec,
    Derived,
    _canary_as_of,
    _canary_value,
    _capped,
    _fill_derived,
    _flag_columns,
    _is_binary,
    _spec_valid,
    _treat_missing,
    _unset,
    _value_sums,
)
from mlopskit.frames.inputs import ARMS, collect, schema, seconds_between


# ---- label arrivals of label-based canary metrics (issue 13, label windows) ------------
@dataclass(frozen=True, slots=True)
class CanaryArrivals:
    """Output of :func:`canary_label_arrivals` for one metric.

    ``base[arm]`` (D,): per exposure day, units counted (or ``Σ denominator`` for ratios);
    ``delay_sums[arm]`` (D, K): per exposure day and whole-day label delay ``j < K`` the sum
    of the label-dependent part of the numerator (labels un-negated), labels arrived by
    ``as_of``; ``sign`` −1 when the label enters negated; ``all_labels[arm]``: the metric's
    sums (CANARY_SUM_FIELDS) over every exposed unit with every label arrived by ``as_of``.
    A capped metric (``spec.cap``) is capped per unit in both, ``min(y, cap)`` as in
    :func:`~mlopskit.frames.canary.canary_daily_sums`, so ``F̂`` and the all-labels row
    describe the capped estimand the test decides on (the uncapped sums beside, as there).
    ``delay_squares``/``delay_cross`` (D, K): the same cells' ``Σ part²`` and ``Σ part·x``
    (``x`` the denominator; ``Σ part`` for non-ratios), ``base_squares`` (D,) ``Σ x²``
    (units for non-ratios) — the late-labels guard's variance.
    """

    day_starts: np.ndarray
    as_of: pd.Timestamp
    base: dict[str, np.ndarray]
    delay_sums: dict[str, np.ndarray]
    sign: float
    all_labels: dict[str, dict[str, float]]
    delay_squares: dict[str, np.ndarray]
    delay_cross: dict[str, np.ndarray]
    base_squares: dict[str, np.ndarray]


def canary_label_arrivals(
    lf: nw.LazyFrame,
    specs: Sequence[CanaryMetricSpec],
    *,
    as_of: Any,
    horizon_days: int,
) -> dict[str, CanaryArrivals]:
    """One lazy pass over a validated canary log for the label-based ``specs``: when each
    unit's label-dependent value arrived (cohort × delay sums per arm) and the all-labels
    sums at ``as_of`` (the sensitivity row). Needs ``label_ts``; rows after ``as_of`` are
    dropped, labels arriving after ``as_of`` are unknown (0).
    (:func:`~mlopskit.frames.canary_pass.canary_scan` computes the same sums inside the
    daily pass's group-by.)"""
    parts = arrival_parts(lf, specs, as_of=as_of, horizon_days=horizon_days)
    if parts is None:
        return {}
    lit_as_of = nw.lit(parts.as_of.to_pydatetime())
    lf = lf.filter(nw.col("ts") <= lit_as_of)
    keys = {"arm": nw.col("arm"), "__day": nw.col("ts").dt.truncate("1d"), **parts.keys}
    lf = lf.with_columns(**keys, **parts.cols)
    aggs = [nw.len().alias("__units"), *[nw.col(k).sum().alias(k) for k in parts.cols]]
    return arrivals_result(collect(lf.group_by(*keys).agg(*aggs)), parts)


@dataclass(frozen=True, slots=True)
class ArrivalParts:
    """The label-arrival pass as pieces of a group-by (:func:`arrival_parts`): the delay
    key, the summed columns (prefix ``__a{i}_``), the result columns derived after the
    collect, and what :func:`arrivals_result` needs to read the groups."""

    specs: tuple[CanaryMetricSpec, ...]
    as_of: pd.Timestamp
    horizon_days: int
    keys: dict[str, Any]
    cols: dict[str, Any]
    derived: Derived
    signs: dict[str, float]


def arrival_parts(
    lf: nw.LazyFrame,
    specs: Sequence[CanaryMetricSpec],
    *,
    as_of: Any,
    horizon_days: int,
    shared: Mapping[CanaryMetricSpec, str] | None = None,
) -> ArrivalParts | None:
    """Keys and sums of the label-arrival pass over a validated log (None without a
    label-based spec or without ``label_ts``). The caller groups by arm, exposure day
    (``__day``) and these keys, and counts the rows (``__units``); rows after ``as_of``
    must be left out (filtered, or their own groups, dropped before
    :func:`arrivals_result`). ``shared``: specs whose window-independent sums (units
    counted, filled, the denominator's) the same group-by already sums under the given
    prefix (the daily pass): not summed twice. The whole-day delay is clipped at the
    horizon (only delays below it are used; fewer groups)."""
    specs = [s for s in specs if s.label_based]
    sch = schema(lf)
    if not specs or "label_ts" not in sch:
        return None
    as_of_ts = _canary_as_of(as_of, sch["ts"])
    lit_as_of = nw.lit(as_of_ts.to_pydatetime())
    known = (nw.col("label_ts") <= lit_as_of).fill_null(False)
    secs = seconds_between(nw.col("label_ts"), nw.col("ts"), lf)  # Spark: calendar fields
    days = (secs / 86400.0).floor()
    h = float(horizon_days)
    delay = nw.when(~known).then(-1.0).when(days >= h).then(h).otherwise(days)
    flags = _flag_columns(sch, True)
    cols: dict[str, Any] = {}
    derived: Derived = {}
    signs: dict[str, float] = {}
    for i, s in enumerate(specs):
        valid = _spec_valid(s, sch)
        y = part = None
        neg_labels = 0
        for c, neg in s.numerator:
            v = _canary_value(c, neg, sch, known)
            raw = nw.when(known).then(nw.col(c).cast(nw.Float64)).otherwise(0.0)
            if c in CANARY_LABEL_COLUMNS:
                neg_labels += int(neg)
                pv = raw
            else:
                pv = v
            y = v if y is None else y * v
            part = pv if part is None else part * pv
        signs[s.name] = -1.0 if neg_labels % 2 else 1.0
        if s.cap is not None and neg_labels:
            # the capped part would be min(label part, cap), not the capped metric value
            raise ValueError(
                f"canary metric `{s.name}`: `cap` with a negated label column in its "
                f"numerator ({s.numerator!r}) is not supported — the label-arrival pass "
                "caps the label-dependent part, which for a negated label is not the "
                "metric's value; declare the metric without `cap` or without negation."
            )
        p = f"__a{i}_"
        y, counted = _treat_missing(y, valid, s, cols, p, derived)
        # capped as in the daily pass
        _value_sums(y, counted, valid, s, cols, p, derived, _is_binary(s, flags))
        den = s.denominator
        ratio = den is not None
        if s.fill is None and not neg_labels:
            # no negated label, no fill: the label-dependent part is the value itself
            derived[p + "part"] = ("copy", p + "sum")
            derived[p + "part2"] = ("copy", p + "sum_squares")
            if ratio:
                derived[p + "partx"] = ("copy", p + "sum_products")
        else:
            part = nw.when(valid).then(part).otherwise(0.0)
            part = _capped(part, valid, s.cap)[0]
            cols[p + "part"] = part
            if _is_binary(s, flags):  # a 0/1 part: part² = part
                derived[p + "part2"] = ("copy", p + "part")
            else:
                cols[p + "part2"] = part * part
            if den is not None:
                x = nw.when(valid).then(nw.col(den).cast(nw.Float64)).otherwise(0.0)
                cols[p + "partx"] = part * x
        q = (shared or {}).get(s)
        if q is not None:  # counted rows and the denominator do not depend on the window
            for f in ("n", "filled", "denominator_sum", "denominator_sum_squares"):
                _share(cols, derived, p + f, q + f)
            _share(cols, derived, p + "denominator_sum_cubes", q + "denominator_sum_cubes")
    return ArrivalParts(
        tuple(specs), as_of_ts, int(horizon_days), {"__delay": delay}, cols, derived, signs
    )


def _share(cols: dict[str, Any], derived: Derived, name: str, source: str) -> None:
    if name in cols:
        del cols[name]
        derived[name] = ("copy", source)


def arrivals_result(g: pd.DataFrame, parts: ArrivalParts) -> dict[str, CanaryArrivals]:
    """Per spec the cohort × delay sums and all-labels sums from the collected groups
    ``g`` (rows at or before ``as_of`` only; columns of :func:`arrival_parts` summed)."""
    if not len(g):
        return {}
    g = _fill_derived(g, parts.derived)
    as_of_ts, horizon_days = parts.as_of, parts.horizon_days
    day = pd.to_datetime(g["__day"])
    day0 = day.min()
    tz = day0.tzinfo
    n_days = int((as_of_ts.normalize() - day0.normalize()) / pd.Timedelta(days=1)) + 1
    day_starts = pd.date_range(day0, periods=max(n_days, 1), freq="D", tz=tz).to_numpy()
    d_idx = np.asarray(((day - day0) / pd.Timedelta(days=1)).round().astype(int))
    d_idx = np.clip(d_idx, 0, len(day_starts) - 1)
    j = g["__delay"].to_numpy(float)
    arm = g["arm"].astype(str).to_numpy()
    out: dict[str, CanaryArrivals] = {}
    for i, s in enumerate(parts.specs):
        p = f"__a{i}_"
        base: dict[str, np.ndarray] = {}
        delays: dict[str, np.ndarray] = {}
        allv: dict[str, dict[str, float]] = {}
        sq: dict[str, dict[str, np.ndarray]] = {"part2": {}, "partx": {}, "base2": {}}
        ratio = s.denominator is not None
        for a in ARMS:
            sel = arm == a

            def by_day(col: str, sel: np.ndarray = sel) -> np.ndarray:
                w = g[col].to_numpy(float)[sel]
                return np.bincount(d_idx[sel], weights=w, minlength=len(day_starts)).astype(float)

            base[a] = by_day(p + ("denominator_sum" if ratio else "n"))
            sq["base2"][a] = by_day(p + "denominator_sum_squares") if ratio else base[a]
            ok = sel & (j >= 0) & (j < horizon_days)
            for key in ("part", "part2", "partx"):
                if key == "partx" and not ratio:
                    sq[key][a] = delays[a]
                    continue
                tri = np.zeros((len(day_starts), int(horizon_days)))
                np.add.at(tri, (d_idx[ok], j[ok].astype(int)), g[p + key].to_numpy(float)[ok])
                if key == "part":
                    delays[a] = tri
                else:
                    sq[key][a] = tri
            allv[a] = {
                f: float(g[p + f].to_numpy(float)[sel].sum()) if p + f in g else _unset(f, s)
                for f in CANARY_SUM_FIELDS
            }
        out[s.name] = CanaryArrivals(
            day_starts, as_of_ts, base, delays, parts.signs[s.name], allv,
            sq["part2"], sq["partx"], sq["base2"],
        )  # fmt: skip
    return out
