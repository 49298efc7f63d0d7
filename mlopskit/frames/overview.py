"""Aggregations for the report overview: daily volumes, label arrivals, time ranges, score histograms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from mlopskit.frames.contracts import _require
from mlopskit.frames.inputs import (
    FrameLike,
    _as_of_filter,
    _ts_literal,
    collect,
    lazy,
    schema,
    time_filter,
)


def daily_counts(
    data: FrameLike,
    *,
    ts: str = "ts",
    by: str | None = None,
    as_of: pd.Timestamp | None = None,
    frame: str = "data",
) -> pd.DataFrame:
    """Rows per calendar day (and per ``by`` value), computed where the data lives.

    Returns a small frame with columns ``day`` (midnight timestamps), ``by`` (when given)
    and ``n`` (int64), sorted by day. Rows at or after ``as_of`` are not counted.
    """
    lf = _as_of_filter(lazy(data, frame=frame), ts, as_of)
    _require(lf, frame, [ts], "datetime")
    keys = ["day"] if by is None else ["day", by]
    if by is not None:
        _require(lf, frame, [by], "any")
    out = collect(
        lf.with_columns(nw.col(ts).dt.truncate("1d").alias("day"))
        .group_by(*keys)
        .agg(nw.len().alias("n"))
        .sort(*keys)
    )
    out["n"] = out["n"].astype("int64")
    out["day"] = pd.to_datetime(out["day"])
    return out.reset_index(drop=True)


def label_arrivals(
    data: FrameLike,
    *,
    as_of: pd.Timestamp,
    ts: str = "ts",
    label: str = "label",
    label_ts: str = "label_ts",
    frame: str = "scored events",
) -> pd.DataFrame:
    """Per event day: events and positive labels that had arrived by ``as_of``.

    A label counts as arrived when ``label == 1`` and ``label_ts <= as_of``; events at or
    after ``as_of`` are not counted. Columns: ``day``, ``n`` (events), ``n_positive`` (arrived
    positive labels), both int64.
    """
    lf = lazy(data, frame=frame)
    _require(lf, frame, [ts, label_ts], "datetime")
    _require(lf, frame, [label], "flag")
    cutoff = pd.Timestamp(as_of)
    arrived = (nw.col(label).cast(nw.Int64) == 1) & (
        nw.col(label_ts) <= _ts_literal(cutoff, schema(lf)[label_ts])
    )
    out = collect(
        time_filter(lf, ts, None, cutoff)
        .with_columns(
            nw.col(ts).dt.truncate("1d").alias("day"),
            arrived.fill_null(False).cast(nw.Int64).alias("__arrived"),
        )
        .group_by("day")
        .agg(nw.len().alias("n"), nw.col("__arrived").sum().alias("n_positive"))
        .sort("day")
    )
    out["n"] = out["n"].astype("int64")
    out["n_positive"] = out["n_positive"].astype("int64")
    out["day"] = pd.to_datetime(out["day"])
    return out.reset_index(drop=True)


def ts_range(
    data: FrameLike, *, ts: str = "ts", before: Any = None, frame: str = "data"
) -> tuple[pd.Timestamp | None, pd.Timestamp | None, int]:
    """First and last ``ts`` and the row count (rows at or after ``before`` excluded)."""
    lf = lazy(data, frame=frame)
    _require(lf, frame, [ts], "datetime")
    if before is not None:
        lf = time_filter(lf, ts, None, before)
    out = collect(
        lf.select(nw.col(ts).min().alias("lo"), nw.col(ts).max().alias("hi"), nw.len().alias("n"))
    ).iloc[0]
    lo = None if pd.isna(out["lo"]) else pd.Timestamp(out["lo"])
    hi = None if pd.isna(out["hi"]) else pd.Timestamp(out["hi"])
    return lo, hi, int(out["n"])


def score_bin_counts(
    data: FrameLike,
    columns: Sequence[str],
    edges: Sequence[float] | np.ndarray,
    *,
    ts: str | None = None,
    as_of: pd.Timestamp | None = None,
    frame: str = "data",
) -> pd.DataFrame:
    """Counts of each score column per bin ``[edges[k], edges[k+1])`` (last bin closed).

    Scores must lie in ``[edges[0], edges[-1]]``; nulls/NaN are counted in ``n_missing``.
    Returns one row per (column, bin): ``column, bin, lower, upper, n`` plus, repeated
    per column, ``n_missing``, ``total`` (non-missing rows) and ``score_sum`` (for means).
    """
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
        raise ValueError(f"`edges` must be a strictly increasing 1-d sequence; got {edges!r}.")
    lf = lazy(data, frame=frame)
    if ts is not None:
        lf = _as_of_filter(lf, ts, as_of)
    _require(lf, frame, columns, "numeric")
    sch = schema(lf)
    exprs = []
    aggs = [nw.len().alias("__rows")]
    for j, c in enumerate(columns):
        col = nw.col(c).cast(nw.Float64)
        missing = col.is_null() | col.is_nan() if sch[c].is_float() else col.is_null()
        idx = sum((col >= float(x)).cast(nw.Int64) for x in e[1:-1])
        exprs += [
            missing.fill_null(True).cast(nw.Int64).alias(f"__miss{j}"),
            nw.when(~missing.fill_null(True)).then(col).otherwise(None).alias(f"__val{j}"),
            nw.when(~missing.fill_null(True)).then(idx).otherwise(None).alias(f"__bin{j}"),
        ]
        aggs += [
            nw.col(f"__miss{j}").sum().alias(f"__nmiss{j}"),
            nw.col(f"__val{j}").sum().alias(f"__sum{j}"),
            nw.col(f"__val{j}").min().alias(f"__min{j}"),
            nw.col(f"__val{j}").max().alias(f"__max{j}"),
        ]
    lf = lf.with_columns(*exprs)
    totals = collect(lf.select(aggs)).iloc[0]
    frames = []
    for j, c in enumerate(columns):
        lo, hi = totals[f"__min{j}"], totals[f"__max{j}"]
        if pd.notna(lo) and (lo < e[0] or hi > e[-1]):
            raise ValueError(
                f"{frame}: column `{c}` must lie in [{e[0]:g}, {e[-1]:g}] to be binned; "
                f"found values from {lo:g} to {hi:g}."
            )
        counts = collect(
            lf.filter(~nw.col(f"__bin{j}").is_null()).group_by(f"__bin{j}").agg(nw.len().alias("n"))
        )
        n = np.zeros(e.size - 1, dtype=np.int64)
        n[counts[f"__bin{j}"].to_numpy(dtype=np.int64)] = counts["n"].to_numpy(dtype=np.int64)
        frames.append(
            pd.DataFrame(
                {
                    "column": c,
                    "bin": np.arange(e.size - 1),
                    "lower": e[:-1],
                    "upper": e[1:],
                    "n": n,
                    "n_missing": int(totals[f"__nmiss{j}"]),
                    "total": int(n.sum()),
                    "score_sum": float(totals[f"__sum{j}"] or 0.0),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
