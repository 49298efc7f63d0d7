"""The reference side of drift (issue 15): edges and counts of every feature of a
reference frame in one pass (see the block comment in :mod:`mlopskit.frames.drift`)."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl

from mlopskit.frames.drift import (
    BinSpec,
    _is_polars,
    _num_counts_pl,
    _nw_category,
    _pl_as_float64,
    _pl_float,
    _value_counts_frame,
    dictionary_source,
)
from mlopskit.frames.inputs import (
    _collect_many,
    _float,
    collect,
    collect_native,
    n_rows,
    schema,
)
from mlopskit.frames.parquet_counts import dictionary_counts, in_background
from mlopskit.stats.psi import edges_from_quantiles, order_statistic_index

EXACT_MAX_ROWS = 20_000_000
"""Above this many rows the reference edges come from a sample (exact counts still)."""

DEFAULT_QUANTILE_SAMPLE = 2_000_000
"""Rows sampled for the edges when the reference is sampled."""

_POLARS_GROUP_VALUES = 20_000_000
"""Exact path: columns per read chosen so that rows × columns stays below this."""


@dataclass(frozen=True, slots=True)
class NumericReference:
    """One numeric column of the reference: edges (ties collapsed, below the maximum), the
    counts of its bins (value bins then ``__missing__``), min, max and valid count."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    min: float
    max: float
    n_valid: int
    n_missing: int


@dataclass(frozen=True, slots=True)
class ReferenceCounts:
    """Everything :func:`mlopskit.drift.reference.profile` needs, from one pass per side.

    ``method`` says how the edges were found: ``"exact"`` (order statistics of all valid
    values) or ``"sample"`` (order statistics of ``sample_size`` sampled rows)."""

    n: int
    numeric: dict[str, NumericReference]
    categorical: dict[str, tuple[list[str], list[int], int]]
    method: str
    sample_size: int | None = None
    sample_seed: int | None = None


def _cum_counts_to_bins(le: Sequence[float], n_valid: float, n_missing: float) -> list[float]:
    """Counts ≤ each edge (increasing) → value-bin counts then the missing count."""
    out, prev = [], 0.0
    for v in le:
        out.append(v - prev)
        prev = v
    out.append(n_valid - prev)
    out.append(n_missing)
    return out


def _edges_and_counts(
    sorted_q: np.ndarray, le: np.ndarray, m: int, n: int, mn: float, mx: float
) -> NumericReference:
    """From the order statistics and their ``≤`` counts (exact path)."""
    if m == 0:
        return NumericReference((), (0, n), math.nan, math.nan, 0, n)
    edges = edges_from_quantiles(sorted_q, maximum=mx)
    pos = {float(q): int(c) for q, c in zip(sorted_q, le, strict=True)}
    cum = [pos[float(e)] for e in edges]
    counts = _cum_counts_to_bins(cum, m, n - m)
    return NumericReference(
        tuple(float(e) for e in edges), tuple(int(c) for c in counts), mn, mx, m, n - m
    )


_EXACT_INT = 2**53
"""Integers up to this magnitude are exact in float64 (the cast is then order-preserving
and one-to-one, so sorting the integers gives the float path's numbers)."""


def _exact_numpy(
    x: np.ndarray, n: int, bins: int, scratch: np.ndarray | None = None
) -> NumericReference:
    """Order statistics ``x_(⌊k(m−1)/B⌋)`` of the valid values and the counts at or below
    each, from one sorted copy: numpy sorts NaN last, so the valid values are the first
    ``m`` (found by a binary search for NaN), the order statistics are gathered by index and
    the counts ``Σ 1{x ≤ q}`` are right-side binary searches. numpy's vectorized sort is
    faster here than ``np.partition`` with nine kth plus nine counting passes (10⁷ float64:
    ~0.2 vs ~0.45 cpu s per column) and gives the same values and counts
    (tests/test_perf_paths.py checks both against the old partition path).

    ``x`` may be float64, float32 or an integer array without missing values (polars
    columns are read in their own dtype): float32 → float64 and integers within ±2⁵³ →
    float64 are exact, order-preserving and one-to-one, so the order statistics (returned
    as float64) and the counts are the float64 path's; sorting float32 or small integers is
    2–5× cheaper and skips the cast. Larger integers take the float64 path.

    ``scratch``: a byte buffer of at least ``x.nbytes`` to sort in (a worker reuses one for
    all its columns: no fresh 80 MB allocation, and its page faults, per 10⁷-row column)."""
    if scratch is not None and scratch.nbytes >= x.nbytes:
        s = scratch[: x.nbytes].view(x.dtype)
        np.copyto(s, x)
        s.sort()
    else:
        s = np.sort(x)
    if x.dtype.kind in "iu":
        if s.size and (int(s[0]) < -_EXACT_INT or int(s[-1]) > _EXACT_INT):
            return _exact_numpy(x.astype(float), n, bins)
        m = int(s.size)
    else:  # the NaN of the array's own dtype: a float64 NaN would upcast a float32 array
        m = int(np.searchsorted(s, s.dtype.type(np.nan), side="left"))
    if m == 0:
        return _edges_and_counts(np.array([]), np.array([]), 0, n, math.nan, math.nan)
    valid = s[:m]
    ks = order_statistic_index(m, bins)
    q = valid[ks]
    le = np.searchsorted(valid, q, side="right").astype(float)
    return _edges_and_counts(q.astype(float), le, m, n, float(valid[0]), float(valid[-1]))


_NATIVE_SORT = (
    "Float64",
    "Float32",
    "Int64",
    "Int32",
    "Int16",
    "Int8",
    "UInt32",
    "UInt16",
    "UInt8",
)
"""polars dtypes read as they are for the numpy path (see :func:`_exact_numpy`)."""


def _exact_columns(
    lf: nw.LazyFrame, numeric: Sequence[str], n: int, bins: int
) -> dict[str, NumericReference]:
    """In-memory exact path (polars, pandas): the columns in small groups, each group read
    and then sorted by one task (:func:`_exact_numpy` per column) in a pool of one worker
    per core. polars releases the GIL while it reads and numpy while it sorts, so one
    worker reads while the other sorts and both cores stay busy to the end (the last task
    is one small group). Memory: the groups in flight, one per worker (rows × columns per
    group below :data:`_POLARS_GROUP_VALUES`, at most a quarter of the columns per group
    so that every worker gets several).

    polars float and integer columns are read in their own dtype (nulls become NaN in
    ``to_numpy``, an integer column with nulls comes back as float64); pandas columns and
    other dtypes are cast to float64 first (pandas nullable dtypes: pd.NA → NaN)."""
    workers = max(1, min(len(numeric), os.cpu_count() or 1, 4))
    per = max(1, min(_POLARS_GROUP_VALUES // max(n, 1), -(-len(numeric) // (2 * workers))))
    groups = [list(numeric[i : i + per]) for i in range(0, len(numeric), per)]
    sch = schema(lf) if _is_polars(lf) else {}

    def read(f: str) -> Any:
        native = f in sch and str(sch[f]) in _NATIVE_SORT
        return (nw.col(f) if native else _float(f)).alias(f)

    local = threading.local()  # one sort buffer per worker, reused for all its columns

    def task(names: list[str]) -> list[NumericReference]:
        got = collect_native(lf.select([read(f) for f in names]))
        rows = len(got)
        out = []
        for f in names:
            x = np.asarray(got.get_column(f).to_numpy())
            x = x if x.dtype.kind in "fiu" else x.astype(float)
            if getattr(local, "buf", None) is None or local.buf.nbytes < x.nbytes:
                local.buf = np.empty(max(x.nbytes, 8 * rows), dtype=np.uint8)
            out.append(_exact_numpy(x, rows, bins, local.buf))
        return out

    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(task, groups))
    return {
        f: r
        for names, got in zip(groups, done, strict=True)
        for f, r in zip(names, got, strict=True)
    }


def _sample_query(
    lf: pl.LazyFrame, names: Sequence[str], n: int, size: int, seed: int
) -> pl.LazyFrame:
    """Rows whose hashed row index falls below ``size/n`` of the 64-bit hash range."""
    cut = min(int(size / n * 2.0**64), 2**64 - 1)
    return (
        lf.select([_pl_float(f).alias(f) for f in names])
        .with_row_index("__i")
        .filter(pl.col("__i").hash(seed) < cut)
        .drop("__i")
    )


def _order_stats_np(x: np.ndarray, bins: int) -> np.ndarray:
    x = np.sort(x[~np.isnan(x)])
    if x.size == 0:
        return np.array([], dtype=float)
    return x[order_statistic_index(x.size, bins)]


def _sample_counts(
    lf: nw.LazyFrame,
    names: Sequence[str],
    edges: Mapping[str, Sequence[float]],
    sch: Mapping[str, Any],
) -> Any:
    """The exact counting pass of the sampled path (polars), one row with ``__n``,
    ``__m{j}``, ``__min{j}``, ``__max{j}``, ``__le{j}_{k}``: the boolean sums of
    :func:`mlopskit.frames.drift._num_counts_pl` (no Int64 indicator per edge; the same
    counts as the generic indicators, tests/test_perf_paths.py) and the min and max of the
    valid values (polars' ``min``/``max`` skip NaN; a column without a valid value has
    ``m = 0`` and its min and max are not read)."""
    specs = [(j, BinSpec(f, "numeric", edges=tuple(edges[f]))) for j, f in enumerate(names)]
    ext = []
    for j, f in enumerate(names):
        x = _pl_as_float64(f, sch[f])
        ext += [x.min().alias(f"__min{j}"), x.max().alias(f"__max{j}")]
    query = lf.to_native().select(pl.len().alias("__n"), *_num_counts_pl(specs, sch), *ext)
    return query.collect(engine="streaming").to_pandas().iloc[0]


def _read_numeric_row(
    row: Any, names: Sequence[str], edges: Mapping[str, Sequence[float]], n: int
) -> dict[str, NumericReference]:
    out = {}
    for j, f in enumerate(names):
        m = int(row[f"__m{j}"] or 0)
        le = [float(row[f"__le{j}_{k}"] or 0) for k in range(len(edges[f]))]
        counts = _cum_counts_to_bins(le, m, n - m)
        out[f] = NumericReference(
            tuple(float(e) for e in edges[f]),
            tuple(int(c) for c in counts),
            float(row[f"__min{j}"]) if m else math.nan,
            float(row[f"__max{j}"]) if m else math.nan,
            m,
            n - m,
        )
    return out


def _category_counts_all(
    lf: nw.LazyFrame, names: Sequence[str], sch: Mapping[str, Any]
) -> dict[str, tuple[list[str], list[int], int]]:
    """Value counts of every categorical column: one native group-by per column on the
    column's own dtype (polars: all of them in one streaming ``collect_all``)."""
    queries = [
        lf.select(_nw_category(f, sch[f]).alias("__v")).group_by("__v").agg(nw.len().alias("__n"))
        for f in names
    ]
    out = {}
    for f, df in zip(names, _collect_many(queries), strict=True):
        out[f] = _value_counts_frame(list(df["__v"].astype(object)), list(df["__n"]))
    return out


def _reference_query_nw(
    lf: nw.LazyFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    bins: int,
) -> nw.LazyFrame:
    """Engines other than polars (DuckDB, Spark, pandas): the whole reference profile as
    ONE query, a vertical union of small parts (``__k`` says which):

    * ``"n"``: the row count;
    * ``"num"``, per numeric column: the valid values (NaN and nulls dropped) ranked by an
      ordinal rank ``__r`` and a max rank ``__le`` (= the count of values ≤ the value),
      with the valid count ``__m`` as a window, filtered to the ranks of the order
      statistics ``⌊k(m−1)/B⌋`` (integer arithmetic in the engine), the minimum and the
      maximum: at most ``B + 1`` rows per column;
    * ``"cat"``, per categorical column: one group-by (value as string, count).
    """
    null_f = nw.lit(None, dtype=nw.Float64)
    null_s = nw.lit(None, dtype=nw.String)
    null_i = nw.lit(None, dtype=nw.Int64)

    def part(kind: str, name: str, v: Any, c: Any, r: Any, le: Any, m: Any) -> list[Any]:
        return [
            nw.lit(kind, dtype=nw.String).alias("__k"),
            nw.lit(name, dtype=nw.String).alias("__f"),
            v.alias("__v"),
            c.alias("__c"),
            r.alias("__r"),
            le.alias("__le"),
            m.alias("__m"),
        ]

    parts = [lf.select(*part("n", "", null_f, null_s, null_i, nw.len().cast(nw.Int64), null_i))]
    one = nw.lit(1, dtype=nw.Int64).alias("__g")
    v = nw.col("__v")
    for f in numeric:
        c = _float(f)
        valid = lf.select(nw.when(~c.is_nan()).then(c).alias("__v"), one).filter(~v.is_null())
        # one descending sort gives both ranks: the ordinal one (position m − r from the
        # bottom) and the min one (1 + #{x > v}, so #{x ≤ v} = m + 1 − rank); the valid
        # count m comes from a one-row join (cheaper than a window over the whole column)
        cnt = v.count().cast(nw.Int64)
        m = valid.select(
            cnt.alias("__m"),
            *[((k * (cnt - 1)) // bins).alias(f"__t{k}") for k in range(1, bins)],
            one,
        )  # the ranks of the order statistics, computed once (one row)
        ranked = valid.with_columns(
            v.rank(method="ordinal", descending=True).cast(nw.Int64).alias("__rd"),
            v.rank(method="min", descending=True).cast(nw.Int64).alias("__ad"),
        ).join(m, on="__g")
        mm = nw.col("__m")
        r = mm - nw.col("__rd")
        keep = (r == 0) | (r == mm - 1)
        for k in range(1, bins):
            keep = keep | (r == nw.col(f"__t{k}"))
        parts.append(
            ranked.filter(keep).select(*part("num", f, v, null_s, r, mm + 1 - nw.col("__ad"), mm))
        )
    for f in categorical:
        g = (
            lf.select(nw.col(f).cast(nw.String).alias("__c"))
            .group_by("__c")
            .agg(nw.len().cast(nw.Int64).alias("__le"))
        )
        parts.append(
            g.select(*part("cat", f, null_f, nw.col("__c"), null_i, nw.col("__le"), null_i))
        )
    return nw.concat(parts, how="vertical")


def _read_reference_query(
    df: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], bins: int
) -> ReferenceCounts:
    """The union of :func:`_reference_query_nw` → the same :class:`ReferenceCounts` as the
    polars exact path."""
    n = int(df.loc[df["__k"] == "n", "__le"].iloc[0])
    num = df[df["__k"] == "num"]
    out: dict[str, NumericReference] = {}
    for f, part in ((f, num[num["__f"] == f]) for f in numeric):
        if part.empty:  # no valid value
            out[f] = _edges_and_counts(np.array([]), np.array([]), 0, n, math.nan, math.nan)
            continue
        m = int(part["__m"].iloc[0])
        at = {
            int(r): (float(v), int(le))
            for r, v, le in zip(part["__r"], part["__v"], part["__le"], strict=True)
        }
        ks = order_statistic_index(m, bins)
        q = np.array([at[k][0] for k in ks], dtype=float)
        le = np.array([at[k][1] for k in ks], dtype=float)
        out[f] = _edges_and_counts(q, le, m, n, at[0][0], at[m - 1][0])
    cat = df[df["__k"] == "cat"]
    cats = {}
    for f in categorical:
        part = cat[cat["__f"] == f]
        cats[f] = _value_counts_frame(list(part["__c"].astype(object)), list(part["__le"]))
    return ReferenceCounts(n, out, cats, "exact")


def reference_counts(
    lf: nw.LazyFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    bins: int,
    *,
    sample: int | None = None,
    seed: int = 0,
) -> ReferenceCounts:
    """Edges and counts of every feature of the reference (see the block comment above).

    ``sample``: ``None`` = exact up to :data:`EXACT_MAX_ROWS` rows, else edges from a
    sample of :data:`DEFAULT_QUANTILE_SAMPLE` rows; ``0`` = always exact; ``k > 0`` = edges
    from a sample of ``k`` rows whenever the frame has more rows."""
    sch = schema(lf)
    if not (_is_polars(lf) or lf.implementation.is_pandas_like()):
        # DuckDB, Spark, …: one query (order statistics by ranks in the engine)
        df = collect(_reference_query_nw(lf, numeric, categorical, bins))
        return _read_reference_query(df, numeric, categorical, bins)
    n = n_rows(lf)
    size = DEFAULT_QUANTILE_SAMPLE if sample is None else int(sample)
    limit = EXACT_MAX_ROWS if sample is None else size
    src = dictionary_source(lf, categorical, sch)
    if src is not None:  # from the dictionary pages, in a thread beside the numeric reads
        pending = in_background(lambda: dictionary_counts(src, categorical))

        def category_counts() -> dict[str, tuple[list[str], list[int], int]]:
            got = pending()
            return {f: _value_counts_frame(*got[f]) for f in categorical}
    else:
        cats = _category_counts_all(lf, categorical, sch)

        def category_counts() -> dict[str, tuple[list[str], list[int], int]]:
            return cats

    if not numeric:
        return ReferenceCounts(n, {}, category_counts(), "exact")
    # sampling needs a row sample of a lazy frame: polars only (hashed row index); other
    # engines (DuckDB spills to disk, Spark is distributed) computed exact edges above,
    # pandas is in memory already
    if size > 0 and n > limit and _is_polars(lf):
        got = _sample_query(lf.to_native(), numeric, n, size, seed).collect(engine="streaming")
        edges = {}
        for f in numeric:
            x = got.get_column(f).to_numpy().astype(float)
            x = x[~np.isnan(x)]
            mx = float(x.max()) if x.size else math.nan
            q = _order_stats_np(x, bins)
            edges[f] = tuple(float(e) for e in edges_from_quantiles(q, maximum=mx))
        row = _sample_counts(lf, numeric, edges, sch)
        num = _read_numeric_row(row, numeric, edges, int(row["__n"]))
        return ReferenceCounts(
            n, num, category_counts(), "sample", sample_size=size, sample_seed=seed
        )
    exact = _exact_columns(lf, numeric, n, bins)
    return ReferenceCounts(n, exact, category_counts(), "exact")
