"""Pieces of the shadow scan (:mod:`mlopskit.frames.shadow`): lazy bin expressions, the
seeded row sample, the per-segment top flips, the one read of a parquet log and the polars
collect of the fast path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl

from mlopskit.frames.inputs import collect
from mlopskit.frames.parquet_counts import scanned_file, timestamp_maxima
from mlopskit.frames.shadow_grid import clipped_logit


def scores() -> tuple[Any, Any]:
    """The champion's and the challenger's score as Float64, NaN as null (a missing score)."""
    c, h = (
        nw.col(f"score_{m}").cast(nw.Float64).fill_nan(None) for m in ("champion", "challenger")
    )
    return c, h


class SortedIds:
    """The distinct count of an id column given in one or more consecutive pieces, while it
    is null-free and sorted across them (``ok``); ``count`` is then the column's
    ``n_unique``: values that differ from their predecessor, plus one (a piece whose first
    id equals the previous piece's last adds one fewer)."""

    def __init__(self) -> None:
        self.count = 0
        self.last: Any = None
        self.ok = True

    def add(self, ids: pl.Series) -> None:
        if not self.ok or ids.len() == 0:
            return
        if ids.null_count() or not ids.is_sorted():
            self.ok = False
            return
        if self.last is not None and ids[0] < self.last:
            self.ok = False
            return
        new = int((ids != ids.shift(1)).sum()) + 1
        if self.last is not None and ids[0] == self.last:
            new -= 1
        self.count += new
        self.last = ids[-1]


def _score_bin(col: str, n_bins: int, span: float, clip: float, logit: str | None = None) -> Any:
    """Lazy mirror of ``ScoreGrid.index``: floor(n·(logit s + span)/(2 span)), clipped
    (``logit``: a column holding ``clipped_logit`` of ``col`` already)."""
    lg = clipped_logit(nw.col(col), clip) if logit is None else nw.col(logit)
    pos = lg * (n_bins / (2 * span)) + n_bins / 2
    return pos.floor().clip(0, n_bins - 1).cast(nw.Int64)


def _log_bin(col: str, lo: float, hi: float, n_bins: int) -> Any:
    """floor(n·(log10 x − lo)/(hi − lo)), clipped to [0, n − 1]."""
    x = nw.col(col).cast(nw.Float64).clip(10.0**lo, 10.0**hi)
    pos = (x.log(10.0) - lo) * (n_bins / (hi - lo))
    return pos.floor().clip(0, n_bins - 1).cast(nw.Int64)


def _hist(df: pd.DataFrame, key: str, n_bins: int) -> np.ndarray:
    out = np.zeros(n_bins, dtype=np.int64)
    if len(df):
        np.add.at(out, df[key].to_numpy(dtype=np.int64), df["count"].to_numpy(dtype=np.int64))
    return out


_HASH_OVERSAMPLE = 4.0


def _row_sample(
    lf: nw.LazyFrame, size: int, seed: int, n_rows: int | None, keep_hash: bool = False
) -> tuple[Any, str, tuple[np.ndarray, np.ndarray] | None]:
    """A seeded uniform sample of ``size`` complete pairs (``__c``, ``__h`` columns).

    polars: the ``size`` pairs with the smallest 64-bit ``hash(request_id, seed)``
    (bottom-k). When the row count ``n_rows`` is known, rows with a hash above
    ``4·size/n_rows`` of the hash range are dropped first (streaming filter; the bottom-k
    is unchanged unless fewer than ``size`` pairs survive, which the caller detects and
    redoes without the filter). DuckDB: the same with DuckDB's ``hash``. pandas and other
    engines: the pairs are collected (two float columns) and sampled with
    ``numpy.random.default_rng(seed)``. Returns (lazy query or None, method, arrays or None);
    ``keep_hash``: the polars query keeps the ``__hash`` column (to merge the samples of
    pieces of one log: the bottom-k of their bottom-ks is the log's).
    """
    pairs = lf.filter(~nw.col("__c").is_null() & ~nw.col("__h").is_null())
    native = pairs.to_native()
    if isinstance(native, pl.LazyFrame):
        q = native.with_columns(pl.col("request_id").hash(seed).alias("__hash"))
        if n_rows and _HASH_OVERSAMPLE * size < n_rows:
            cut = int(_HASH_OVERSAMPLE * size / n_rows * 2.0**64)
            q = q.filter(pl.col("__hash") < cut)
        q = q.bottom_k(size, by="__hash").select("__c", "__h", *(["__hash"] if keep_hash else []))
        return q, f"polars bottom-{size} of hash(request_id, seed={seed})", None
    if lf.implementation is nw.Implementation.DUCKDB:
        q = (
            native.project(f"__c, __h, hash(request_id, {int(seed)}) AS __hash")
            .order("__hash")
            .limit(size)
        )
        df = q.project("__c, __h").df()
        return (
            None,
            f"DuckDB bottom-{size} of hash(request_id, seed={seed})",
            (
                df["__c"].to_numpy(dtype=float),
                df["__h"].to_numpy(dtype=float),
            ),
        )
    df = collect(pairs.select("__c", "__h"))
    c, h = df["__c"].to_numpy(dtype=float), df["__h"].to_numpy(dtype=float)
    if c.size > size:
        idx = np.sort(np.random.default_rng(seed).choice(c.size, size=size, replace=False))
        c, h = c[idx], h[idx]
    return None, f"numpy default_rng(seed={seed}) sample of {size} pairs", (c, h)


def _top_flips(disagree: nw.LazyFrame, seg: str, keep: Sequence[str], k: int) -> Any:
    """The ``k`` disagreements with the largest ``__abs`` per value of ``seg``."""
    return (
        disagree.with_columns(
            nw.col("__abs").rank("ordinal", descending=True).over(seg).alias("__r")
        )
        .filter(nw.col("__r") <= k)
        .select(
            nw.lit(seg).alias("segment"),
            nw.col(seg).cast(nw.String).alias("value"),
            *[nw.col(c) for c in keep],
        )
    )


def _bool_count(expr: Any) -> Any:
    """Rows where a non-null boolean expression is true (polars sums booleans natively)."""
    return expr.sum().cast(nw.Int64)


def _collect_polars(queries: Sequence[Any], keep: Sequence[int]) -> list[Any]:
    """:func:`inputs._collect_many` for polars queries, the results at ``keep`` left as
    polars frames."""
    natives = [q.to_native() if isinstance(q, nw.LazyFrame) else q for q in queries]
    opt = pl.QueryOptFlags(comm_subplan_elim=False)
    out = pl.collect_all(natives, engine="streaming", optimizations=opt)
    return [df if i in keep else df.to_pandas() for i, df in enumerate(out)]


#: a shadow log given as a parquet path is read into memory once (the needed columns) when
#: its rows × column widths stay under this many bytes; above, the log is read once in
#: pieces, each reduced in memory and the results merged (``frames.shadow_stream``; memory
#: flat in rows). At 10⁷ rows of the benchmark log: ~1.1 GB estimated (0.66 GB
#: actual), peak RSS 0.88 → 1.34 GiB, CPU −2.5 to −3 s (each column decoded once instead of
#: once per query).
IN_MEMORY_MAX_BYTES = 2 * 2**30


def _width(dtype: Any) -> int:
    """Bytes per row of a column in memory (strings: a view plus a short payload)."""
    if dtype == pl.Boolean:
        return 1
    if dtype.is_numeric() or dtype.is_temporal():
        return 8
    return 32


def read_once(
    lf: nw.LazyFrame, data: Any, columns: Sequence[str], unique: str | None = None
) -> tuple[nw.LazyFrame, int | None, int | None]:
    """The log as an in-memory polars frame of ``columns`` when ``data`` is a parquet path
    (file or directory) that fits in :data:`IN_MEMORY_MAX_BYTES`, else ``lf`` unchanged;
    with the row count when it was read from the parquet metadata (else ``None``) and the
    distinct count of the ``unique`` column when it was read into memory sorted without
    nulls (else ``None``: the scan counts it).

    Every shadow query then decodes its columns from memory, not from the file: the
    queries, and so every number, are the same. A sorted id column (a log in request
    order) is counted in one linear pass — values that differ from their predecessor, plus
    one — instead of the scan's sort (``inputs._n_unique_query``, the same number)."""
    native = lf.to_native()
    if not isinstance(native, pl.LazyFrame) or not isinstance(data, str | Path):
        return lf, None, None
    path = Path(data)
    if not (path.is_dir() or path.suffix == ".parquet"):
        return lf, None, None
    n = int(native.select(pl.len()).collect().item())  # parquet metadata only
    sch = native.collect_schema()
    if n * sum(_width(sch[c]) for c in columns) > IN_MEMORY_MAX_BYTES:
        return lf, n, None
    df = native.select(columns).collect(engine="streaming")
    n_unique = None
    if unique is not None and n > 0:
        counter = SortedIds()
        counter.add(df[unique])
        n_unique = counter.count if counter.ok else None
    return nw.from_native(df.lazy()), n, n_unique


def pre_bounds(lf: nw.LazyFrame, aggs: Sequence[Any], n_rows: int | None) -> dict[str, Any]:
    """``lf.select(aggs)`` (``__x_n`` and the ``__x_<col>_max`` of ``ts``/``label_ts``) as a
    dict, as collected. For the plain scan of one parquet file (``frames.lazy``) with its
    row count known from the metadata (``n_rows``), the maxima come from the row groups'
    statistics, converted by the same collect, so no column is read; otherwise (no
    statistics, another unit, any other frame) the query runs."""
    native = lf.to_native()
    path = scanned_file(native) if n_rows is not None else None
    names = [c for c in ("ts", "label_ts") if c in native.collect_schema()] if path else []
    got = timestamp_maxima(path, names) if path else None
    if path is not None and got is not None:
        sch = native.collect_schema()
        if all(getattr(sch[c], "time_unit", None) == got[c][1] for c in names):
            maxima = [
                pl.Series(f"__x_{c}_max", [got[c][0]], dtype=pl.Int64).cast(sch[c]) for c in names
            ]
            frame = pl.LazyFrame([pl.Series("__x_n", [n_rows], dtype=pl.UInt32), *maxima])
            return {str(k): v for k, v in collect(nw.from_native(frame)).iloc[0].items()}
    return {str(k): v for k, v in collect(lf.select(*aggs)).iloc[0].items()}


def _bin_max(df: pd.DataFrame, n_bins: int) -> np.ndarray:
    out = np.full(n_bins, np.nan)
    if len(df):
        out[df["__b"].to_numpy(dtype=np.int64)] = df["max"].to_numpy(dtype=float)
    return out
