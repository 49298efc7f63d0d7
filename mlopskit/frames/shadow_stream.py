"""A shadow log too large to read into memory whole (``shadow_parts.IN_MEMORY_MAX_BYTES``),
reduced in one streaming read: the log arrives in consecutive pieces of bounded size, each
piece is reduced in memory by the same queries as a log that fits (``shadow._aggregate``),
and the pieces' aggregates are merged exactly.

Exact, because every aggregate is decomposable: counts and histograms add; bin maxima and
timestamp bounds take the larger / smaller; segment tables and agreement grids add by key;
the per-segment top flips of the log are the top of the pieces' tops (ties kept in row
order, as the log's ordinal rank keeps them); the seeded sample is the bottom-k by hash of
the pieces' bottom-ks. The unique-id count of a log whose ids arrive sorted is counted
piece by piece (values that differ from their predecessor, across piece boundaries too);
otherwise one more query reads the id column alone (a hash set of every id cannot be
split into pieces).

Before this, a polars scan above the limit ran 8–9 streaming scans of the file in one
``collect_all`` (the totals, two score histograms, two latency histograms, the segment
grids, the flips, the sample and the unique-id count each decoded the columns again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl

from mlopskit.frames import shadow_parts
from mlopskit.frames.contracts import ValidationPlan
from mlopskit.frames.inputs import _n_unique_query, collect

#: rows of a piece are sized to this share of ``IN_MEMORY_MAX_BYTES`` (estimated widths,
#: ``shadow_parts._width``): the streaming read holds about two pieces at a time, and the
#: reduction of one adds the two logit columns and its group-by tables
PIECE_SHARE = 0.25
#: fewest rows in a piece, whatever the limit (tests set the limit to 0)
PIECE_MIN_ROWS = 1_000


def streams(data: Any, lf: nw.LazyFrame, read: nw.LazyFrame) -> bool:
    """Whether the log is reduced in pieces: a polars query that reads a file (a parquet
    path, or the user's own ``pl.LazyFrame`` whose plan scans one) and was not read into
    memory whole (``read`` is ``lf``, unchanged by ``shadow_parts.read_once``). A lazy
    frame over data already in memory (``df.lazy()``) keeps the direct queries."""
    native = lf.to_native()
    if read is not lf or not isinstance(native, pl.LazyFrame):
        return False
    if isinstance(data, str | Path):
        return True
    return isinstance(data, pl.LazyFrame) and " SCAN " in native.explain(optimized=False)


def piece_rows(lf: nw.LazyFrame, columns: Sequence[str]) -> int:
    """Rows per piece for ``columns`` of ``lf``."""
    sch = lf.to_native().collect_schema()
    width = max(1, sum(shadow_parts._width(sch[c]) for c in columns))
    share = int(shadow_parts.IN_MEMORY_MAX_BYTES * PIECE_SHARE) // width
    return max(PIECE_MIN_ROWS, share)


def pieces(
    lf: nw.LazyFrame, columns: Sequence[str], rows: int, n_rows: int | None
) -> Iterator[pl.DataFrame]:
    """``columns`` of ``lf`` in consecutive in-memory pieces of ``rows`` rows (the last one
    shorter), in the log's order. A parquet scan whose row count is known (``n_rows``, from
    the metadata) is read slice by slice: each slice decodes only its row groups, one piece
    is in memory at a time. Any other polars query runs once, streaming, handing over
    pieces as they fill (it reads ahead: about two pieces in memory)."""
    native = lf.to_native().select(columns)
    if n_rows is not None:
        for start in range(0, n_rows, rows):
            yield native.slice(start, rows).collect(engine="streaming")
        return
    batches = getattr(native, "collect_batches", None)  # polars >= 1.33
    if batches is None:  # older polars: slices of the query (each runs it up to its end)
        n = int(native.select(pl.len()).collect().item())
        yield from pieces(lf, columns, rows, n)
        return
    yield from batches(chunk_size=rows, maintain_order=True, engine="streaming")


def _by_key(frames: Sequence[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Count tables with the same key columns added by key, sorted by the keys."""
    cols = list(frames[0].columns)
    df = pd.concat(frames, ignore_index=True)
    out = df.groupby(keys, sort=True, dropna=False).sum().reset_index()
    counts = [c for c in cols if c not in keys]
    out[counts] = out[counts].astype(np.int64)
    return out[cols]


def _bound(a: Any, b: Any, pick: Callable[[list[Any]], Any]) -> Any:
    vals = [v for v in (a, b) if v is not None and not pd.isna(v)]
    return pick(vals) if vals else a


_MIN = ("__x_ts_min",)
_MAX = ("__x_ts_max", "__x_label_ts_max")


def _extra(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The extra totals (``shadow._bound_aggs``, the plan's counts) of two pieces."""
    out = {}
    for k, v in a.items():
        if k in _MIN:
            out[k] = _bound(v, b[k], min)
        elif k in _MAX:
            out[k] = _bound(v, b[k], max)
        elif k != "__x_sample_hash":
            out[k] = v + b[k]
    return out


def merge(
    a: tuple[Any, dict[str, Any]],
    b: tuple[Any, dict[str, Any]],
    *,
    flips_per_segment: int,
    sample_size: int,
) -> tuple[Any, dict[str, Any]]:
    """The aggregates of two consecutive pieces of one log (``a`` first) as those of the
    two together: ``(ShadowAggregates, extra totals)`` from ``shadow._aggregate``."""
    (x, ex), (y, ey) = a, b
    flips = pd.concat([x.flips, y.flips], ignore_index=True)
    flips["__abs"] = flips["delta"].abs()  # delta = h − c, so |delta| is the query's __abs
    flips = flips.sort_values(
        ["segment", "value", "__abs"], ascending=[True, True, False], kind="stable"
    )
    flips = flips.groupby(["segment", "value"], dropna=False, sort=False).head(flips_per_segment)
    flips = flips.drop(columns="__abs").reset_index(drop=True)
    smp = pl.DataFrame(
        {
            "__c": np.concatenate([x.sample_champion, y.sample_champion]),
            "__h": np.concatenate([x.sample_challenger, y.sample_challenger]),
            "__hash": np.concatenate([ex["__x_sample_hash"], ey["__x_sample_hash"]]),
        }
    ).bottom_k(sample_size, by="__hash")
    agg = replace(
        x,
        totals={k: v + y.totals[k] for k, v in x.totals.items()},
        hist_champion=x.hist_champion + y.hist_champion,
        hist_challenger=x.hist_challenger + y.hist_challenger,
        latency_champion=x.latency_champion + y.latency_champion,
        latency_challenger=x.latency_challenger + y.latency_challenger,
        latency_bin_max_champion=np.fmax(x.latency_bin_max_champion, y.latency_bin_max_champion),
        latency_bin_max_challenger=np.fmax(
            x.latency_bin_max_challenger, y.latency_bin_max_challenger
        ),
        segments={s: _by_key([df, y.segments[s]], ["value"]) for s, df in x.segments.items()},
        segment_pairs={
            k: _by_key([df, y.segment_pairs[k]], ["value_1", "value_2", "gc", "gh"])
            for k, df in (x.segment_pairs or {}).items()
        },
        segment_grids={
            s: _by_key([df, y.segment_grids[s]], ["value", "gc", "gh"])
            for s, df in (x.segment_grids or {}).items()
        },
        flips=flips,
        sample_champion=smp["__c"].to_numpy(),
        sample_challenger=smp["__h"].to_numpy(),
    )
    extra = _extra(ex, ey)
    extra["__x_sample_hash"] = smp["__hash"].to_numpy()
    return agg, extra


def aggregate_pieces(
    aggregate: Callable[..., tuple[Any, dict[str, Any]]],
    plan: ValidationPlan,
    columns: Sequence[str],
    n_rows: int | None,
    **kw: Any,
) -> tuple[Any, dict[str, Any]]:
    """``aggregate(plan.lf, plan=plan, **kw)`` (``shadow._aggregate``) computed piece by
    piece in one read of ``columns`` (``n_rows``: the log's row count when the parquet
    metadata gave it), the contract checks run on the merged totals."""
    rows = piece_rows(plan.lf, columns)
    merge_kw = {k: kw[k] for k in ("flips_per_segment", "sample_size")}
    ids = shadow_parts.SortedIds()
    acc: tuple[Any, dict[str, Any]] | None = None
    try:
        for df in pieces(plan.lf, columns, rows, n_rows):
            if df.height == 0:
                continue
            if plan.unique is not None:
                ids.add(df[plan.unique])
            # with the log's row count every piece keeps the hashes below the log's cut
            # (shadow_parts._row_sample), so the merged bottom-k is the log's
            part = aggregate(
                nw.from_native(df.lazy()), **kw, n_rows=n_rows, in_memory=True, keep_hash=True
            )
            acc = part if acc is None else merge(acc, part, **merge_kw)
    except Exception:
        plan.run()  # raises the contract error that made the engine fail, if any
        raise
    if acc is None:  # an empty log: the checks say so
        return aggregate(plan.lf, plan=plan, **kw, n_rows=0)
    agg, extra = acc
    extra.pop("__x_sample_hash")
    size = kw["sample_size"]
    if len(agg.sample_champion) < min(size, agg.totals["pairs"]):  # the cut kept too few
        agg = replace(agg, **_full_sample(plan.lf, size, kw["seed"]))
    if plan.unique is not None:
        if ids.ok:
            extra["__x___n_unique"] = ids.count
        else:  # ids out of order: one more query reads the id column alone
            q = _n_unique_query(plan.lf, plan.unique, "__x___n_unique")
            extra["__x___n_unique"] = collect(q)["__x___n_unique"].iloc[0]
    plan.check(extra, "__x_")
    return agg, extra


def _full_sample(lf: nw.LazyFrame, size: int, seed: int) -> dict[str, np.ndarray]:
    """The seeded sample drawn again over the whole log without the hash cut (one more read
    of the id and score columns; rare: fewer than ``size`` pairs had a hash below a cut
    that expects 4·``size``)."""
    sc, sh = shadow_parts.scores()
    base = lf.with_columns(sc.alias("__c"), sh.alias("__h"))
    q = shadow_parts._row_sample(base, size, seed, None)[0]
    smp = q.collect(engine="streaming")
    return {
        "sample_champion": smp["__c"].to_numpy().astype(float),
        "sample_challenger": smp["__h"].to_numpy().astype(float),
    }
