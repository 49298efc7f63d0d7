"""Aggregations for label maturity and outcome drift: cohort × age triangles, calibration counts, matured pairs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from mlopskit.frames.inputs import (
    WINDOW_COL,
    _days_between,
    _ts_literal,
    _window_expr,
    collect,
    schema,
)


def matured_pairs(
    lf: nw.LazyFrame,
    *,
    score: str,
    label: str,
    label_ts: str,
    ts: str,
    as_of: Any,
    age: pd.Timedelta,
    every: str,
    reference_period: tuple[Any, Any],
    anchor: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outcome drift inputs on equal-age labels (windows as in :func:`bin_counts`).

    A positive counts only when ``label == 1`` and ``label_ts ≤ ts + age``; only events with
    ``ts + age ≤ as_of`` are used. Returns ``(windows, pairs)``: per window the event count
    the matured event count and the count after ``as_of`` (one lazy group-by), and the row-level ``(window, score,
    label, late, in_reference)`` of matured events only (``late``: a positive that arrived
    after the label window, counted so it is never silently a negative) (``windows`` has the window key and its
    ``window_start``) — AUC needs row-level pairs, so these two
    columns (plus two small keys) are the only ones materialized.
    """
    sch = schema(lf)
    dtype = sch[ts]
    cutoff = _ts_literal(pd.Timestamp(_ts_literal(as_of, dtype)) - age, dtype)
    start = _ts_literal(reference_period[0], dtype)
    end = _ts_literal(reference_period[1], dtype)
    key, to_start = _window_expr(lf, ts, every, anchor)
    base = lf.with_columns(
        key.alias(WINDOW_COL),
        (nw.col(ts) <= cutoff).alias("__matured"),
        (nw.col(ts) <= cutoff).cast(nw.Int64).alias("__matured_n"),  # Spark sums no booleans
        (nw.col(ts) > _ts_literal(as_of, dtype)).cast(nw.Int64).alias("__after_n"),
    )
    windows = collect(
        base.group_by(WINDOW_COL)
        .agg(
            nw.len().alias("n_events"),
            nw.col("__matured_n").sum().alias("n_matured"),
            nw.col("__after_n").sum().alias("n_after_as_of"),
            nw.col(ts).min().alias("__t0"),
        )
        .sort(WINDOW_COL)
    )
    lab = nw.col(label).cast(nw.Int64) == 1
    in_time = ((nw.col(label_ts) - nw.col(ts)) <= age).fill_null(False)
    pairs = collect(
        base.filter(nw.col("__matured")).select(
            nw.col(WINDOW_COL),
            nw.col(score).cast(nw.Float64).alias("score"),
            (lab & in_time).fill_null(False).alias("label"),
            (lab & ~in_time).fill_null(False).alias("late"),
            ((nw.col(ts) >= start) & (nw.col(ts) < end)).alias("in_reference"),
        )
    )
    windows["window_start"] = (
        [to_start(k) for k in windows[WINDOW_COL]]
        if to_start is not None  # row chunks start at their first ts
        else [pd.Timestamp(t) for t in windows["__t0"]]
    )
    windows = windows.drop(columns="__t0")
    return windows, pairs


def _label_ts_literal(value: Any, dtype: Any, *, name: str, frame: str) -> Any:
    """A timestamp as a narwhals literal, checked against the column's time zone."""
    ts = pd.Timestamp(value)
    col_tz = getattr(dtype, "time_zone", None)
    if (ts.tzinfo is None) != (col_tz is None):
        raise ValueError(
            f"{frame}: `{name}` ({ts}) and column `ts` (time zone {col_tz}) must both be "
            f"time-zone aware or both naive."
        )
    return nw.lit(ts.floor("us").to_pydatetime())


def label_time_range(lf: nw.LazyFrame, *, as_of: Any, frame: str = "events") -> dict[str, Any]:
    """Rows, first/last ``ts`` and rows at or after ``as_of`` in one lazy pass."""
    lit = _label_ts_literal(as_of, schema(lf)["ts"], name="as_of", frame=frame)
    out = collect(
        lf.select(
            nw.len().alias("n"),
            nw.col("ts").min().alias("ts_min"),
            nw.col("ts").max().alias("ts_max"),
            (nw.col("ts") >= lit).cast(nw.Int64).sum().alias("n_after"),
        )
    ).iloc[0]
    return {
        "n": int(out["n"]),
        "ts_min": pd.Timestamp(out["ts_min"]) if int(out["n"]) else None,
        "ts_max": pd.Timestamp(out["ts_max"]) if int(out["n"]) else None,
        "n_after": int(out["n_after"] or 0),
    }


def _positive(lf: nw.LazyFrame, has_label: bool, as_of_lit: Any) -> Any:
    """A labelled positive known at ``as_of``: label == 1 and label_ts ≤ as_of."""
    arrived = ~nw.col("label_ts").is_null() & (nw.col("label_ts") <= as_of_lit)
    if has_label:
        return (nw.col("label").cast(nw.Int64) == 1).fill_null(False) & arrived
    return arrived


def label_triangle_counts(
    lf: nw.LazyFrame,
    *,
    as_of: Any,
    origin: Any,
    cohort_days: int,
    horizon_days: int,
    has_label: bool,
    splits: Sequence[Any] = (),
    score_edges: Sequence[float] | None = None,
    frame: str = "events",
) -> pd.DataFrame:
    """Cohort × delay counts in ONE lazy group-by (STATISTICS.md §4 triangle).

    Events with ``ts < as_of`` only. Keys: ``cohort`` = floor((ts − origin)/cohort_days),
    ``delay_day`` = floor(label_ts − ts) in days for positives whose label arrived by
    ``as_of`` (capped at ``horizon_days``: the "at or beyond the horizon" bucket; −1 for
    every other row), ``period`` = number of ``splits`` ≤ ts (0 without splits), and
    ``group`` = number of ``score_edges`` ≤ score (0 without edges). Aggregates: ``n`` rows,
    ``n_pos_no_ts`` (label == 1 with no label_ts) and ``age_sum`` (Σ (as_of − ts) in days).
    The result has at most cohorts × (horizon + 2) × periods × groups rows.
    """
    sch = schema(lf)
    lit = _label_ts_literal(as_of, sch["ts"], name="as_of", frame=frame)
    org = _label_ts_literal(origin, sch["ts"], name="origin", frame=frame)
    pos = _positive(lf, has_label, lit)
    delay = _days_between(nw.col("label_ts"), nw.col("ts"), lf).floor()
    delay = nw.when(pos).then(delay.clip(upper_bound=float(horizon_days))).otherwise(-1.0)
    exprs = [
        (_days_between(nw.col("ts"), org, lf) / float(cohort_days))
        .floor()
        .cast(nw.Int64)
        .alias("cohort"),
        delay.cast(nw.Int64).alias("delay_day"),
        _days_between(lit, nw.col("ts"), lf).alias("_age"),
    ]
    period: Any = nw.lit(0)
    for s in splits:
        period = period + (
            nw.col("ts") >= _label_ts_literal(s, sch["ts"], name="split", frame=frame)
        ).cast(nw.Int64)
    exprs.append(period.cast(nw.Int64).alias("period"))
    group: Any = nw.lit(0)
    for e in score_edges or ():
        group = group + (nw.col("score") >= float(e)).cast(nw.Int64)
    exprs.append(group.cast(nw.Int64).alias("group"))
    if has_label:
        no_ts = (nw.col("label").cast(nw.Int64) == 1).fill_null(False) & nw.col(
            "label_ts"
        ).is_null()
    else:
        no_ts = nw.lit(False)
    exprs.append(no_ts.cast(nw.Int64).alias("_no_ts"))
    out = collect(
        lf.filter(nw.col("ts") < lit)
        .with_columns(exprs)
        .group_by("cohort", "delay_day", "period", "group")
        .agg(
            nw.len().alias("n"),
            nw.col("_no_ts").sum().alias("n_pos_no_ts"),
            nw.col("_age").sum().alias("age_sum"),
        )
    )
    for c in ("cohort", "delay_day", "period", "group", "n", "n_pos_no_ts"):
        out[c] = out[c].astype(np.int64)
    out["age_sum"] = out["age_sum"].astype(float)
    return out.sort_values(["cohort", "delay_day", "period", "group"], ignore_index=True)


def label_positive_score_quantiles(
    lf: nw.LazyFrame, *, as_of: Any, probs: Sequence[float], has_label: bool, frame: str = "events"
) -> np.ndarray:
    """Quantiles of ``score`` among positives labelled by ``as_of`` (score-group edges)."""
    lit = _label_ts_literal(as_of, schema(lf)["ts"], name="as_of", frame=frame)
    sel = lf.filter((nw.col("ts") < lit) & _positive(lf, has_label, lit))
    out = collect(
        sel.select(
            [
                nw.col("score").quantile(float(q), interpolation="linear").alias(f"q{i}")
                for i, q in enumerate(probs)
            ]
        )
    )
    return np.asarray(out.iloc[0].to_numpy(dtype=float))


def label_calibration_counts(
    lf: nw.LazyFrame,
    *,
    as_of: Any,
    start: Any,
    has_label: bool,
    bin_width: float = 0.02,
    eps: float = 1e-6,
    frame: str = "events",
) -> pd.DataFrame:
    """Score × age cells of the events in ``[start, as_of)`` for calibration fits.

    Keys: ``logit_bin`` = floor(logit(clip(score, eps, 1 − eps)) / bin_width) and
    ``age_day`` = floor(as_of − ts) in days. Aggregates: ``n`` rows, ``n_pos`` positives
    labelled by ``as_of`` and ``logit_sum`` (Σ logit score, so each cell's mean logit is exact).
    """
    return _calibration_cells(lf, as_of, start, has_label, bin_width, eps, frame, False)[0]


def label_calibration_rows(
    lf: nw.LazyFrame,
    *,
    as_of: Any,
    start: Any,
    has_label: bool,
    bin_width: float = 0.02,
    eps: float = 1e-6,
    frame: str = "events",
) -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`label_calibration_counts`' cells and the rows read, before ``start`` and at or
    after ``as_of`` (row reconciliation), from the same group-by: rows outside the window
    are grouped under their own key instead of being filtered out first."""
    return _calibration_cells(lf, as_of, start, has_label, bin_width, eps, frame, True)


def _calibration_cells(
    lf: nw.LazyFrame,
    as_of: Any,
    start: Any,
    has_label: bool,
    bin_width: float,
    eps: float,
    frame: str,
    count_rows: bool,
) -> tuple[pd.DataFrame, dict[str, int]]:
    sch = schema(lf)
    lit = _label_ts_literal(as_of, sch["ts"], name="as_of", frame=frame)
    st = _label_ts_literal(start, sch["ts"], name="start", frame=frame)
    p = nw.col("score").cast(nw.Float64).clip(eps, 1 - eps)
    lg = (p / (1 - p)).log()
    exprs = {
        "logit_bin": (lg / bin_width).floor().cast(nw.Int64),
        "age_day": _days_between(lit, nw.col("ts"), lf).floor().cast(nw.Int64),
        # scores without labels (CBPE): no positives known, not a missing-column error
        "_pos": (_positive(lf, has_label, lit) if "label_ts" in sch else nw.lit(False)).cast(
            nw.Int64
        ),
        "_lg": lg,
    }
    inside = (nw.col("ts") >= st) & (nw.col("ts") < lit)
    keys = ["logit_bin", "age_day"]
    if count_rows:  # outside rows: one group each side (-1 before start, 1 at/after as_of)
        where = (nw.col("ts") >= lit).cast(nw.Int64) - (nw.col("ts") < st).cast(nw.Int64)
        q = lf.with_columns(
            where.alias("_where"),
            *(nw.when(inside).then(e).otherwise(0).alias(k) for k, e in exprs.items()),
        )
        keys.insert(0, "_where")
    else:
        q = lf.filter(inside).with_columns(*(e.alias(k) for k, e in exprs.items()))
    out = collect(
        q.group_by(*keys).agg(
            nw.len().alias("n"),
            nw.col("_pos").sum().alias("n_pos"),
            nw.col("_lg").sum().alias("logit_sum"),
        )
    )
    rows: dict[str, int] = {}
    if count_rows:
        where_col = out["_where"].astype(np.int64)
        n = out["n"].astype(np.int64)
        rows = {
            "read": int(n.sum()),
            "before": int(n[where_col == -1].sum()),
            "after": int(n[where_col == 1].sum()),
        }
        out = out[where_col == 0].drop(columns="_where")
    for c in ("logit_bin", "age_day", "n", "n_pos"):
        out[c] = out[c].astype(np.int64)
    out["logit_sum"] = out["logit_sum"].astype(float)
    return out.sort_values(["age_day", "logit_bin"], ignore_index=True), rows
