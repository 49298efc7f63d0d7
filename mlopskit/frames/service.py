"""Aggregations for monitoring's service-health layer (request counts, latency and error statistics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals.stable.v2 as nw
import pandas as pd

from mlopskit.frames.inputs import _float, _ts_literal, collect, schema


def time_range(lf: nw.LazyFrame, ts: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Earliest and latest ``ts`` (one lazy aggregation)."""
    row = collect(lf.select(nw.col(ts).min().alias("a"), nw.col(ts).max().alias("b"))).iloc[0]
    return pd.Timestamp(row["a"]), pd.Timestamp(row["b"])


def range_counts(
    lf: nw.LazyFrame, ts: str, ranges: Sequence[tuple[Any, Any]], *, window: tuple[Any, Any]
) -> tuple[list[int], dict[str, int]]:
    """Rows with ``start ≤ ts < end`` for each range, and the log's rows read, before
    ``window[0]`` and at or after ``window[1]`` (its row reconciliation), in one lazy select."""
    dtype = schema(lf)[ts]
    a, b = _ts_literal(window[0], dtype), _ts_literal(window[1], dtype)
    aggs = [
        ((nw.col(ts) >= _ts_literal(lo, dtype)) & (nw.col(ts) < _ts_literal(hi, dtype)))
        .fill_null(False)
        .cast(nw.Int64)
        .sum()
        .alias(f"r{i}")
        for i, (lo, hi) in enumerate(ranges)
    ]
    aggs += [
        nw.len().alias("read"),
        (nw.col(ts) < a).fill_null(False).cast(nw.Int64).sum().alias("before"),
        (nw.col(ts) >= b).fill_null(False).cast(nw.Int64).sum().alias("after"),
    ]
    row = collect(lf.select(aggs)).iloc[0]
    counts = {k: int(row[k]) for k in ("read", "before", "after")}
    return [int(row[f"r{i}"]) for i in range(len(ranges))], counts


def service_stats(
    lf: nw.LazyFrame, *, latency: str | None, error: str | None, probs: Sequence[float]
) -> dict[str, float]:
    """Row count, error count and latency quantiles of an (already time-filtered) log."""
    aggs: list[Any] = [nw.len().alias("n")]
    if error is not None:
        aggs.append(nw.col(error).cast(nw.Int64).fill_null(0).sum().alias("errors"))
    if latency is not None:
        lat = _float(latency)
        aggs += [
            lat.quantile(float(q), interpolation="linear").alias(f"q{i}")
            for i, q in enumerate(probs)
        ]
    row = collect(lf.select(aggs)).iloc[0].to_dict()
    return {str(k): float(v) if v is not None else float("nan") for k, v in row.items()}
