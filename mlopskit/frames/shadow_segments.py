"""The segment tables and agreement grids of the shadow aggregation's polars fast path
(:mod:`mlopskit.frames.shadow`) from one group-by per pair of segment columns.

Every per-row quantity the segment tables and the hot-spot grids count is a small integer:
the two decisions (``__fc``, ``__fh``: 0, 1, 2 = score missing), the challenger's error flag
and, for a scored pair, its cell on the agreement grid. They are packed into one integer key
``__k`` and the log is grouped once by (segment values, ``__k``) — for two segment columns or
more once per pair of columns (segments 0 and 1 from the pair ``(s0, s1)``, segment i from
``(s0, si)``); the tables are integer sums of that small result, in polars, before any
string mapping, so null segment values stay their own group. The generic path (other
engines) groups the log once per table instead; the numbers are the same
(tests/test_shadow_fastpath.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

#: the columns of a segment table, in order (after ``value``)
SEGMENT_COUNTS = (
    "n",
    "pairs",
    "both",
    "champion_only",
    "challenger_only",
    "neither",
    "missing_challenger",
    "error_challenger",
)


def segment_groups(segments: Sequence[str]) -> list[tuple[str, ...]]:
    """The group-by keys (besides ``__k``): every pair of segment columns, or the one
    segment column."""
    if len(segments) == 1:
        return [(segments[0],)]
    return [(s1, s2) for i, s1 in enumerate(segments) for s2 in segments[i + 1 :]]


def segment_queries(
    base: nw.LazyFrame, segments: Sequence[str], gc: Any, gh: Any, grid: tuple[float, int]
) -> list[Any]:
    """One lazy ``group_by(segment columns, __k).len()`` per :func:`segment_groups` entry;
    ``gc``/``gh`` are the agreement-grid bin expressions (used on scored pairs only)."""
    side = 2 * grid[1]
    cells = side * side
    fc, fh = nw.col("__fc"), nw.col("__fh")
    cell = nw.when((fc != 2) & (fh != 2)).then(gc * side + gh).otherwise(nw.lit(cells))
    # __eh is 0/1 once the contract checks (run on the totals first) pass; clipped so a
    # violating value cannot spill into another key before the check raises
    flags = (fc * 3 + fh) * 2 + nw.col("__eh").clip(0, 1)
    keyed = base.with_columns((flags * (cells + 1) + cell).cast(nw.Int64).alias("__k"))
    return [
        keyed.group_by(*g, "__k").agg(nw.len().alias("count")) for g in segment_groups(segments)
    ]


def _decoded(df: pl.DataFrame, grid: tuple[float, int]) -> pl.DataFrame:
    side = 2 * grid[1]
    cells = side * side
    k, count = pl.col("__k"), pl.col("count").cast(pl.Int64)
    flags = k // (cells + 1)
    return df.with_columns(
        count.alias("count"),
        (flags // 6).alias("__fc"),
        ((flags // 2) % 3).alias("__fh"),
        (flags % 2).alias("__eh"),
        (k % (cells + 1)).alias("__cell"),
    ).with_columns(
        pl.when(pl.col("__cell") < cells).then(pl.col("__cell") // side).alias("__gc"),
        pl.when(pl.col("__cell") < cells).then(pl.col("__cell") % side).alias("__gh"),
    )


def segment_results(
    results: Sequence[pl.DataFrame], segments: Sequence[str], grid: tuple[float, int]
) -> tuple[list[pl.DataFrame], list[pl.DataFrame], list[pl.DataFrame]]:
    """From the collected :func:`segment_queries`: per segment its table (``seg`` and
    :data:`SEGMENT_COUNTS`), per pair of segments its grid (``s1, s2, __gc, __gh, count``) and
    per segment its grid (``seg, __gc, __gh, count``) — what the generic path's queries
    return, as polars frames."""
    groups = segment_groups(segments)
    decoded = [_decoded(df, grid) for df in results]
    source: dict[str, pl.DataFrame] = {}
    for g, d in zip(groups, decoded, strict=True):
        for s in g:
            source.setdefault(s, d)
    fc, fh, count = pl.col("__fc"), pl.col("__fh"), pl.col("count")
    conds = {
        "pairs": (fc != 2) & (fh != 2),
        "both": (fc == 1) & (fh == 1),
        "champion_only": (fc == 1) & (fh == 0),
        "challenger_only": (fc == 0) & (fh == 1),
        "neither": (fc == 0) & (fh == 0),
        "missing_challenger": fh == 2,
        "error_challenger": pl.col("__eh") == 1,
    }
    tables = [
        source[s]
        .group_by(s)
        .agg(
            count.sum().alias("n"),
            *[count.filter(e).sum().alias(k) for k, e in conds.items()],
        )
        .select(s, *SEGMENT_COUNTS)
        for s in segments
    ]
    cols = ["__gc", "__gh"]
    scored = {id(d): d.filter(pl.col("__gc").is_not_null()) for d in decoded}
    pair_grids = [
        scored[id(d)].group_by(*g, *cols).agg(count.sum())
        for g, d in zip(groups, decoded, strict=True)
        if len(g) == 2
    ]
    seg_grids = [scored[id(source[s])].group_by(s, *cols).agg(count.sum()) for s in segments]
    return tables, pair_grids, seg_grids
