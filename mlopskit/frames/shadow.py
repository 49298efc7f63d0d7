"""Aggregations for the shadow profile: one batch of lazy queries over the shadow log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl

from mlopskit.frames.contracts import SHADOW_LOG, ValidationPlan, validation_plan
from mlopskit.frames.inputs import (
    FrameLike,
    _collect_many,
    _count,
    _n_unique_query,
    collect,
    schema,
)
from mlopskit.frames.inputs import _count as _count_any
from mlopskit.frames.shadow_grid import AGREEMENT_GRID, clipped_logit, grid_bin, grid_frame
from mlopskit.frames.shadow_parts import (
    _bin_max,
    _bool_count,
    _collect_polars,
    _hist,
    _log_bin,
    _row_sample,
    _score_bin,
    _top_flips,
    pre_bounds,
    read_once,
    scores,
)
from mlopskit.frames.shadow_segments import segment_queries, segment_results
from mlopskit.frames.shadow_stream import aggregate_pieces, streams
from mlopskit.rows import RowCounts


@dataclass(frozen=True, slots=True)
class ShadowAggregates:
    """Everything the shadow profile needs, reduced from the log by one batch of lazy
    aggregations (``shadow_aggregates``).

    Grid resolution: scores are binned on a logit grid (``stats.agreement.ScoreGrid``,
    default 4000 bins of 0.008 in logit), so quantiles, the capacity-matched threshold and
    PSI bin edges read off ``hist_*`` are exact to one bin (0.8% in odds); the KS statistic
    is bracketed by ``[d, d_upper]``. Latencies use a log10 grid (default 1600 bins over
    10⁻² … 10⁶ ms), so latency quantiles are exact to a factor 1.0116.

    Attributes
    ----------
    totals : scalar counts (``n``, ``pairs``, 2×2 cells ``both/champion_only/
        challenger_only/neither`` at the threshold, missing and error counts, latency nulls).
    hist_champion : champion score counts on the score grid (rows with a champion score).
    hist_challenger : challenger score counts on the grid, shape ``(3, 3, n_bins)``, indexed
        by the champion's decision at the threshold (0 no flag, 1 flag, 2 champion score
        missing) and the matured label (0, 1, 2 = not matured or no label).
    latency_champion, latency_challenger : latency counts on the latency grid, calls without
        an error flag only (an errored call's latency is its timeout; the error rate counts it).
    segments : segment column → one row per value with ``n, pairs, both, champion_only,
        challenger_only, neither, missing_challenger, error_challenger``.
    segment_grids : segment column → counts of scored pairs per value on the agreement grid
        (``value, gc, gh, count``: bins of each model's logit relative to its own threshold,
        ``frames.shadow_grid``), for the hot-spot test (``shadow.hotspots``).
    segment_pairs : ``(column 1, column 2)`` → the same grid per pair of values of two
        segment columns (``value_1, value_2, gc, gh, count``), for testing a hot spot
        outside another one.
    latency_bin_max_champion, latency_bin_max_challenger : the largest latency in each bin
        of the latency grid (NaN where empty), so a quantile is never read above the data.
    flips : the disagreements with the largest |Δscore| per segment value.
    sample_champion, sample_challenger : a seeded uniform sample of scored pairs.
    sample_method : how the sample was drawn.
    bounds : from :func:`shadow_scan`: ``n``, ``ts_min``, ``ts_max``, ``label_ts_max``,
        ``as_of`` and ``matured_before`` (empty from :func:`shadow_aggregates`).
    row_counts : from :func:`shadow_scan`: requests read, used in the paired statistics, and
        left out (a missing score), with the matured-label breakdown.
    """

    totals: dict[str, int]
    hist_champion: np.ndarray
    hist_challenger: np.ndarray
    latency_champion: np.ndarray
    latency_challenger: np.ndarray
    segments: dict[str, pd.DataFrame]
    flips: pd.DataFrame
    sample_champion: np.ndarray
    sample_challenger: np.ndarray
    sample_method: str
    segment_pairs: dict[tuple[str, str], pd.DataFrame] | None = None
    segment_grids: dict[str, pd.DataFrame] | None = None
    latency_bin_max_champion: np.ndarray | None = None
    latency_bin_max_challenger: np.ndarray | None = None
    bounds: dict[str, Any] = field(default_factory=dict)
    row_counts: RowCounts | None = None


def shadow_bounds(lf: nw.LazyFrame) -> dict[str, Any]:
    """Row count and time span of a validated shadow log (two columns read)."""
    has_label_ts = "label_ts" in schema(lf)
    aggs = [
        nw.len().alias("n"),
        nw.col("ts").min().alias("ts_min"),
        nw.col("ts").max().alias("ts_max"),
    ]
    if has_label_ts:
        aggs.append(nw.col("label_ts").max().alias("label_ts_max"))
    row = {str(k): v for k, v in collect(lf.select(aggs)).iloc[0].to_dict().items()}
    row.setdefault("label_ts_max", None)
    return row


def score_histogram(
    lf: nw.LazyFrame, column: str, *, n_bins: int, span: float, clip: float
) -> np.ndarray:
    """Counts of a score column (nulls and NaN left out) on the score grid."""
    q = (
        lf.select(nw.col(column).cast(nw.Float64).fill_nan(None).alias("__s"))
        .filter(~nw.col("__s").is_null())
        .with_columns(_score_bin("__s", n_bins, span, clip).alias("__b"))
        .group_by("__b")
        .agg(nw.len().alias("count"))
    )
    return _hist(collect(q), "__b", n_bins)


def shadow_aggregates(
    lf: nw.LazyFrame,
    *,
    threshold: float,
    challenger_threshold: float | None = None,
    score_bins: tuple[int, float, float],
    latency_bins: tuple[float, float, int],
    segments: Sequence[str] = (),
    matured_before: Any = None,
    flips_per_segment: int = 5,
    sample_size: int = 200_000,
    seed: int = 0,
    n_rows: int | None = None,
) -> ShadowAggregates:
    """Reduce a validated shadow log (``validate(data, SHADOW_LOG)``) to small numbers.

    Parameters
    ----------
    threshold : the champion's decision threshold; a request is flagged when
        ``score ≥ threshold``.
    challenger_threshold : the challenger's own threshold (``None``: ``threshold``).
    score_bins : ``(n_bins, span, clip)`` of the logit score grid (``stats.agreement.ScoreGrid``).
    latency_bins : ``(log10 low, log10 high, n_bins)`` of the latency grid.
    segments : segment columns.
    matured_before : rows with ``ts ≤ matured_before`` count as matured for labels
        (``None``: no label analysis).
    flips_per_segment : disagreements kept per segment value for manual review.
    sample_size, seed : the seeded uniform row sample for rank statistics.
    n_rows : the log's row count if known (lets polars pre-filter the hash sample).

    A missing score is null or NaN. All queries go to the engine together: for polars one
    ``collect_all`` (a shared streaming scan), otherwise one query each on the engine.
    """
    return _aggregate(
        lf,
        threshold=threshold,
        challenger_threshold=challenger_threshold,
        score_bins=score_bins,
        latency_bins=latency_bins,
        segments=segments,
        matured_before=matured_before,
        flips_per_segment=flips_per_segment,
        sample_size=sample_size,
        seed=seed,
        n_rows=n_rows,
    )[0]


def _aggregate(
    lf: nw.LazyFrame,
    *,
    threshold: float,
    challenger_threshold: float | None = None,
    score_bins: tuple[int, float, float],
    latency_bins: tuple[float, float, int],
    segments: Sequence[str],
    matured_before: Any,
    flips_per_segment: int,
    sample_size: int,
    seed: int,
    n_rows: int | None,
    plan: ValidationPlan | None = None,
    extra_totals: Sequence[Any] = (),
    agreement_grid: tuple[float, int] = AGREEMENT_GRID,
    n_unique: int | None = None,
    in_memory: bool = False,
    keep_hash: bool = False,
) -> tuple[ShadowAggregates, dict[str, Any]]:
    """:func:`shadow_aggregates`; ``extra_totals`` (aggregations named ``__x_*``) ride in the
    totals query and come back as the second value; ``plan``'s checks run on the totals
    before anything is derived from them (``n_unique``: the unique-id count when known;
    ``in_memory``: ``lf`` is a polars frame in memory; ``keep_hash``: the polars sample's
    hashes come back as ``extra["__x_sample_hash"]``, for :mod:`frames.shadow_stream`)."""
    n_bins, span, clip = score_bins
    lat_lo, lat_hi, lat_n = latency_bins
    sch = schema(lf)
    has_label = "label" in sch and matured_before is not None
    # polars: one collect_all, with the flips of every segment from one disagreement
    # query (see below)
    fast = _POLARS_FAST and isinstance(lf.to_native(), pl.LazyFrame)
    c, h = nw.col("__c"), nw.col("__h")
    sc, sh = scores()
    logit: dict[str, str | None] = {"__c": None, "__h": None}
    if fast and in_memory:  # each score's logit once, beside the log (else once per query)
        lf = lf.with_columns(
            clipped_logit(sc, clip).alias("__lc"), clipped_logit(sh, clip).alias("__lh")
        )
        lf = nw.from_native(lf.to_native().collect().lazy())
        logit = {"__c": "__lc", "__h": "__lh"}
    base = lf.with_columns(
        sc.alias("__c"),
        sh.alias("__h"),
        nw.col("error_champion").cast(nw.Int64).fill_null(0).alias("__ec"),
        nw.col("error_challenger").cast(nw.Int64).fill_null(0).alias("__eh"),
    ).with_columns(
        nw.when(c.is_null())
        .then(nw.lit(2))
        .otherwise((c >= threshold).cast(nw.Int64))
        .alias("__fc"),
        nw.when(h.is_null())
        .then(nw.lit(2))
        .otherwise(
            (h >= (threshold if challenger_threshold is None else challenger_threshold)).cast(
                nw.Int64
            )
        )
        .alias("__fh"),
    )
    if has_label:
        matured = (nw.col("ts") <= matured_before) & ~nw.col("label").is_null()
        label = nw.col("label")
        if sch["label"].is_float():  # pandas: a NaN label is null; the cast must not see it
            label = label.fill_null(0.0)
        base = base.with_columns(
            nw.when(matured).then(label.cast(nw.Int64)).otherwise(nw.lit(2)).alias("__l")
        )
    else:
        base = base.with_columns(nw.lit(2).alias("__l"))
    fc, fh = nw.col("__fc"), nw.col("__fh")
    # every counted expression below is non-null, so polars sums the booleans directly
    count = _bool_count if fast else _count_any
    cells = {
        "pairs": (fc != 2) & (fh != 2),
        "both": (fc == 1) & (fh == 1),
        "champion_only": (fc == 1) & (fh == 0),
        "challenger_only": (fc == 0) & (fh == 1),
        "neither": (fc == 0) & (fh == 0),
    }
    totals_q = base.select(
        nw.len().alias("n"),
        *[count(e).alias(k) for k, e in cells.items()],
        count(fc != 2).alias("scored_champion"),
        count(fh != 2).alias("scored_challenger"),
        count((fc == 1) & (fh == 2)).alias("champion_flag_challenger_missing"),
        count((fc == 0) & (fh == 2)).alias("champion_noflag_challenger_missing"),
        count((fc == 2) & (fh == 2)).alias("both_missing"),
        nw.col("__ec").sum().alias("error_champion"),
        nw.col("__eh").sum().alias("error_challenger"),
        count((fc == 2) & (nw.col("__ec") == 0)).alias("missing_champion_no_error"),
        count((fh == 2) & (nw.col("__eh") == 0)).alias("missing_challenger_no_error"),
        count((fh != 2) & (nw.col("__eh") == 1)).alias("error_challenger_with_score"),
        count(nw.col("latency_ms_champion").is_null()).alias("latency_missing_champion"),
        count(nw.col("latency_ms_challenger").is_null()).alias("latency_missing_challenger"),
        count(nw.col("__l") != 2).alias("matured_labelled"),
        *[
            count(cells[k] & (nw.col("__l") == y)).alias(f"{k}_label{y}")
            for k in ("both", "champion_only", "challenger_only", "neither")
            for y in (0, 1)
        ],
        *extra_totals,
    )
    hist_c_q = (
        base.filter(~c.is_null())
        .with_columns(_score_bin("__c", n_bins, span, clip, logit["__c"]).alias("__b"))
        .group_by("__b")
        .agg(nw.len().alias("count"))
    )
    hist_h_q = (
        base.filter(~h.is_null())
        .with_columns(_score_bin("__h", n_bins, span, clip, logit["__h"]).alias("__b"))
        .group_by("__fc", "__l", "__b")
        .agg(nw.len().alias("count"))
    )
    lat_qs = [
        base.filter(~nw.col(col).is_null() & (nw.col(err) == 0))
        .with_columns(
            _log_bin(col, lat_lo, lat_hi, lat_n).alias("__b"),
            nw.col(col).cast(nw.Float64).alias("__v"),
        )
        .group_by("__b")
        .agg(nw.len().alias("count"), nw.col("__v").max().alias("max"))
        for col, err in (("latency_ms_champion", "__ec"), ("latency_ms_challenger", "__eh"))
    ]
    seg_pairs = [(s1, s2) for i, s1 in enumerate(segments) for s2 in segments[i + 1 :]]
    thr_cl = threshold if challenger_threshold is None else challenger_threshold
    gc = grid_bin("__c", "__fc", threshold, clip, agreement_grid, logit["__c"])
    gh = grid_bin("__h", "__fh", thr_cl, clip, agreement_grid, logit["__h"])
    seg_qs: list[Any] = []
    if fast:  # one group-by per segment pair (frames.shadow_segments)
        pair_qs = segment_queries(base, segments, gc, gh, agreement_grid) if segments else []
    else:
        # simple aggregations only (sums of 0/1 columns) so pandas groups efficiently
        cell_cols = {**cells, "missing_challenger": fh == 2}
        seg_base = base.with_columns(
            *[e.fill_null(False).cast(nw.Int64).alias(f"__{k}") for k, e in cell_cols.items()]
        )
        seg_qs = [
            seg_base.group_by(seg).agg(
                nw.len().alias("n"),
                *[nw.col(f"__{k}").sum().alias(k) for k in cell_cols],
                nw.col("__eh").sum().alias("error_challenger"),
            )
            for seg in segments
        ]
        gbase = base.filter((fc != 2) & (fh != 2)).with_columns(gc.alias("__gc"), gh.alias("__gh"))
        pair_qs = [
            gbase.group_by(s1, s2, "__gc", "__gh").agg(nw.len().alias("count"))
            for s1, s2 in seg_pairs
        ]
        pair_qs += [
            gbase.group_by(s, "__gc", "__gh").agg(nw.len().alias("count")) for s in segments
        ]
    disagree = base.filter(((fc == 1) & (fh == 0)) | ((fc == 0) & (fh == 1))).with_columns(
        (h - c).alias("delta"), (h - c).abs().alias("__abs")
    )
    keep = ["request_id", "ts", "score_champion", "score_challenger", "delta", "__abs"]
    flip_qs = []
    flips_all = None
    if fast and len(segments) >= 2:
        # one query for the disagreements; each segment's top ranks are taken in memory with
        # the same expressions, on the rows in the same order
        flips_all = disagree.select(*dict.fromkeys([*keep, *segments]))
    for seg in segments if flips_all is None else ():
        flip_qs.append(_top_flips(disagree, seg, keep, flips_per_segment))
    if not segments:
        flip_qs.append(
            disagree.top_k(flips_per_segment, by="__abs").select(
                nw.lit("(all)").alias("segment"),
                nw.lit("(all)").alias("value"),
                *[nw.col(k) for k in keep],
            )
        )
    sample_q, sample_method, sample_arrays = _row_sample(base, sample_size, seed, n_rows, keep_hash)
    if flips_all is not None:
        flip_qs.append(flips_all)
    queries: list[Any] = [totals_q, hist_c_q, hist_h_q, *lat_qs, *seg_qs, *flip_qs, *pair_qs]
    # the unique-id count is a hash set of every id: its own query, so it does not keep the
    # totals query from streaming (at 10⁷ rows peak RSS 1.18 GB inside it, 0.7 GB beside it)
    unique_q = None
    if plan is not None and plan.unique is not None and n_unique is None:
        unique_q = _n_unique_query(lf, plan.unique, "__x___n_unique")
        queries.append(unique_q)
    if sample_q is not None:
        queries.append(sample_q)
    try:
        if fast:  # the flips and grid tables stay polars frames (ranked / converted below)
            k0 = 5 + len(seg_qs)
            res = _collect_polars(queries, range(k0, k0 + len(flip_qs) + len(pair_qs)))
        else:
            res = _collect_many(queries)
    except Exception:
        if plan is not None:
            plan.run()  # raises the contract error that made the engine fail, if any
        raise
    row = {str(k): v for k, v in res[0].iloc[0].to_dict().items()}
    extra = {k: row.pop(k) for k in list(row) if k.startswith("__x_")}
    if unique_q is not None:
        k_u = len(queries) - (2 if sample_q is not None else 1)
        extra["__x___n_unique"] = res[k_u]["__x___n_unique"].iloc[0]
    elif n_unique is not None:
        extra["__x___n_unique"] = n_unique
    if plan is not None:
        plan.check(extra, "__x_")
    totals = {k: int(v) for k, v in row.items()}
    hist_c = _hist(res[1], "__b", n_bins)
    hist_h = np.zeros((3, 3, n_bins), dtype=np.int64)
    hh = res[2]
    if len(hh):
        np.add.at(
            hist_h,
            (
                hh["__fc"].to_numpy(dtype=np.int64),
                hh["__l"].to_numpy(dtype=np.int64),
                hh["__b"].to_numpy(dtype=np.int64),
            ),
            hh["count"].to_numpy(dtype=np.int64),
        )
    lat_c, lat_h = (_hist(d, "__b", lat_n) for d in res[3:5])
    k = 5
    seg_results = res[k : k + len(seg_qs)]
    k += len(seg_qs)
    pair_results = res[k + len(flip_qs) : k + len(flip_qs) + len(pair_qs)]
    flip_res = res[k : k + len(flip_qs)]
    if fast:
        if segments:
            tables, pair_grids, seg_grids = segment_results(pair_results, segments, agreement_grid)
            seg_results = [df.to_pandas() for df in tables]
            pair_results = [df.to_pandas() for df in [*pair_grids, *seg_grids]]
        if flips_all is not None:
            frame = nw.from_native(flip_res[0].lazy())
            flip_res = [_top_flips(frame, seg, keep, flips_per_segment) for seg in segments]
            flip_res = [collect(q) for q in flip_res]
        else:
            flip_res = [df.to_pandas() for df in flip_res]
    seg_frames = {}
    for seg, df in zip(segments, seg_results, strict=True):
        df = df.rename(columns={seg: "value"})
        counts = [c for c in df.columns if c != "value"]
        df[counts] = df[counts].astype(np.int64)
        df["value"] = (
            df["value"].astype(object).where(df["value"].notna(), "__missing__").astype(str)
        )
        seg_frames[seg] = df.sort_values("value", kind="stable").reset_index(drop=True)
    flips = pd.concat(flip_res, ignore_index=True)
    pair_frames = {
        (s1, s2): grid_frame(df, {s1: "value_1", s2: "value_2"})
        for (s1, s2), df in zip(seg_pairs, pair_results[: len(seg_pairs)], strict=True)
    }
    grid_frames = {
        s: grid_frame(df, {s: "value"})
        for s, df in zip(segments, pair_results[len(seg_pairs) :], strict=True)
    }
    flips = flips.sort_values(
        ["segment", "value", "__abs"], ascending=[True, True, False], kind="stable"
    )
    flips = flips.drop(columns="__abs").reset_index(drop=True)
    if sample_q is not None:
        smp = res[-1]
        # the hash pre-filter kept too few (a piece's sample is checked once merged)
        if not keep_hash and len(smp) < min(sample_size, totals["pairs"]):
            smp = (
                _row_sample(base, sample_size, seed, None, keep_hash)[0]
                .collect(engine="streaming")
                .to_pandas()
            )
        sample_arrays = (smp["__c"].to_numpy(dtype=float), smp["__h"].to_numpy(dtype=float))
        if keep_hash:
            extra["__x_sample_hash"] = smp["__hash"].to_numpy(dtype=np.uint64)
    assert_arrays = sample_arrays if sample_arrays is not None else (np.empty(0), np.empty(0))
    return ShadowAggregates(
        totals=totals,
        hist_champion=hist_c,
        hist_challenger=hist_h,
        latency_champion=lat_c,
        latency_challenger=lat_h,
        segments=seg_frames,
        flips=flips,
        sample_champion=assert_arrays[0],
        sample_challenger=assert_arrays[1],
        sample_method=sample_method,
        segment_pairs=pair_frames,
        segment_grids=grid_frames,
        latency_bin_max_champion=_bin_max(res[3], lat_n),
        latency_bin_max_challenger=_bin_max(res[4], lat_n),
    ), extra


#: the polars fast path of :func:`_aggregate` (tests switch it off to compare with the
#: generic path, which every other engine takes)
_POLARS_FAST = True


def _bound_aggs(has_label_ts: bool) -> list[Any]:
    aggs = [nw.col("ts").min().alias("__x_ts_min"), nw.col("ts").max().alias("__x_ts_max")]
    if has_label_ts:
        aggs.append(nw.col("label_ts").max().alias("__x_label_ts_max"))
    return aggs


def _default_as_of(ts_max: Any, label_ts_max: Any) -> pd.Timestamp:
    ts_max = pd.Timestamp(ts_max)
    if label_ts_max is None or pd.isna(label_ts_max):
        return ts_max
    return max(ts_max, pd.Timestamp(label_ts_max))


def shadow_scan(
    data: FrameLike,
    *,
    threshold: float,
    challenger_threshold: float | None = None,
    score_bins: tuple[int, float, float],
    latency_bins: tuple[float, float, int],
    maturity_days: float,
    segments: Sequence[str] = (),
    columns: Mapping[str, str] | None = None,
    as_of: Any = None,
    flips_per_segment: int = 5,
    sample_size: int = 200_000,
    seed: int = 0,
) -> ShadowAggregates:
    """Validate a shadow log and reduce it (:func:`shadow_aggregates`) in one read.

    The SHADOW_LOG contract checks are aggregations inside the totals query, next to the
    statistics, with ``ts`` min/max and ``label_ts`` max (``bounds``). Label maturity needs
    ``matured_before = as_of − maturity_days`` inside the query: with an explicit ``as_of``
    (or no ``label`` column) it is known up front and the log is read once; with the default
    ``as_of`` (latest ``ts`` or ``label_ts``) and labels, a first query reads only ``ts`` and
    ``label_ts`` (their maxima and the row count) before the one full read. Raises the errors
    of ``validate(data, SHADOW_LOG.with_extra(*segments))``.
    """
    plan = validation_plan(data, SHADOW_LOG.with_extra(*segments), columns=columns)
    sch = schema(plan.lf)
    needed = [*(c.name for c in SHADOW_LOG.columns if c.name in sch), *segments]
    try:  # a parquet path is read once into memory when it fits (shadow_parts.read_once)
        lf, n_rows, n_unique = read_once(plan.lf, data, list(dict.fromkeys(needed)), plan.unique)
    except Exception:
        plan.run()  # raises the contract error that made the read fail, if any
        raise
    has_label_ts = "label_ts" in sch
    ts_zone = getattr(sch["ts"], "time_zone", None)
    bounds: dict[str, Any] = {}
    if as_of is not None:
        as_of_ts = pd.Timestamp(as_of)
        if (as_of_ts.tzinfo is None) != (ts_zone is None):
            raise ValueError(
                f"`as_of` ({as_of_ts}) and the log's `ts` ({sch['ts']}) must both be time-zone "
                "aware or both naive."
            )
    elif "label" in sch:  # the maxima from parquet statistics when it can (pre_bounds)
        pre = pre_bounds(lf, [nw.len().alias("__x_n"), *_bound_aggs(has_label_ts)], n_rows)
        n_rows = int(pre["__x_n"])
        if n_rows == 0:
            plan.check({"__n": 0})
        as_of_ts = _default_as_of(pre["__x_ts_max"], pre.get("__x_label_ts_max"))
    else:
        as_of_ts = None
    matured_before = None
    if as_of_ts is not None:
        # floor to microseconds: a nanosecond `ts` (pandas' default) would warn on conversion
        matured_before = (as_of_ts - pd.Timedelta(days=maturity_days)).floor("us").to_pydatetime()
    kw: dict[str, Any] = dict(
        threshold=threshold,
        challenger_threshold=challenger_threshold,
        score_bins=score_bins,
        latency_bins=latency_bins,
        segments=segments,
        matured_before=matured_before,
        flips_per_segment=flips_per_segment,
        sample_size=sample_size,
        seed=seed,
        extra_totals=[
            *plan.aggregations("__x_", unique=False),
            *_bound_aggs(has_label_ts),
            *([_count(~nw.col("label").is_null()).alias("__x_labelled")] if "label" in sch else []),
        ],
    )
    if _POLARS_FAST and streams(data, plan.lf, lf):  # too large for memory: in pieces
        agg, extra = aggregate_pieces(_aggregate, plan, list(dict.fromkeys(needed)), n_rows, **kw)
    else:
        agg, extra = _aggregate(
            lf, **kw, n_rows=n_rows, plan=plan, n_unique=n_unique, in_memory=lf is not plan.lf
        )
    label_max = extra.get("__x_label_ts_max")
    if as_of_ts is None:
        as_of_ts = _default_as_of(extra["__x_ts_max"], label_max)
    bounds.update(
        n=agg.totals["n"],
        ts_min=pd.Timestamp(extra["__x_ts_min"]),
        ts_max=pd.Timestamp(extra["__x_ts_max"]),
        label_ts_max=label_max,
        as_of=as_of_ts,
        matured_before=matured_before,
    )
    t = agg.totals
    labelled = int(extra.get("__x_labelled", 0))
    label_rows = RowCounts.of(
        t["n"],
        {
            "no label": t["n"] - labelled,
            f"label younger than {maturity_days:g} days": labelled - t["matured_labelled"],
        },
        unit="requests",
    )
    rows = RowCounts.of(
        t["n"],
        {
            "champion score missing": t["scored_challenger"] - t["pairs"],
            "challenger score missing": t["scored_champion"] - t["pairs"],
            "both scores missing": t["both_missing"],
        },
        by={"precision/recall (matured labels)": label_rows},
        unit="requests",
    )
    return replace(agg, bounds=bounds, row_counts=rows)
