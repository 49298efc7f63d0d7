"""Label arrivals of the canary's label-based metrics: cohort × delay sums per arm and the
all-labels sums (issue 13, label windows). Split from :mod:`mlopskit.frames.canary`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from mlopskit.frames.canary import (
    CANARY_LABEL_COLUMNS,
    CANARY_SUM_FIELDS,
    CanaryMetricSpec,
    _canary_as_of,
    _canary_value,
    _capped,
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
    dropped, labels arriving after ``as_of`` are unknown (0)."""
    specs = [s for s in specs if s.label_based]
    sch = schema(lf)
    if not specs or "label_ts" not in sch:
        return {}
    as_of_ts = _canary_as_of(as_of, sch["ts"])
    lit_as_of = nw.lit(as_of_ts.to_pydatetime())
    lf = lf.filter(nw.col("ts") <= lit_as_of)
    known = (nw.col("label_ts") <= lit_as_of).fill_null(False)
    secs = seconds_between(nw.col("label_ts"), nw.col("ts"), lf)  # Spark: calendar fields
    delay = nw.when(known).then((secs / 86400.0).floor()).otherwise(-1.0)
    keys = {"arm": nw.col("arm"), "__day": nw.col("ts").dt.truncate("1d"), "__delay": delay}
    cols: dict[str, Any] = {}
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
        y, counted = _treat_missing(y, valid, s, cols, p)
        _value_sums(y, counted, valid, s, cols, p)  # capped as in the daily pass
        part = nw.when(valid).then(part).otherwise(0.0)
        part = _capped(part, valid, s.cap)[0]
        cols[p + "part"] = part
        cols[p + "part2"] = part * part
        if s.denominator is not None:
            x = nw.when(valid).then(nw.col(s.denominator).cast(nw.Float64)).otherwise(0.0)
            cols[p + "partx"] = part * x
    lf = lf.with_columns(**keys, **cols)
    g = collect(lf.group_by(*keys).agg(*[nw.col(k).sum().alias(k) for k in cols]))
    if not len(g):
        return {}
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
    for i, s in enumerate(specs):
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
            day_starts, as_of_ts, base, delays, signs[s.name], allv,
            sq["part2"], sq["partx"], sq["base2"],
        )  # fmt: skip
    return out
