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
from mlopskit.frames.inputs import FrameLike, _collect_many, _count, collect, schema
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
    latency_champion, latency_challenger : latency counts on the latency grid.
    segments : segment column → one row per value with ``n, pairs, both, champion_only,
        challenger_only, neither, missing_challenger, error_challenger``.
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
    bounds: dict[str, Any] = field(default_factory=dict)
    row_counts: RowCounts | None = None


def _score_bin(col: str, n_bins: int, span: float, clip: float) -> Any:
    """Lazy mirror of ``ScoreGrid.index``: floor(n·(logit s + span)/(2 span)), clipped."""
    s = nw.col(col).clip(clip, 1 - clip)
    pos = (s.log() - (1 - s).log()) * (n_bins / (2 * span)) + n_bins / 2
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


_HASH_OVERSAMPLE = 4.0


def _row_sample(
    lf: nw.LazyFrame, size: int, seed: int, n_rows: int | None
) -> tuple[Any, str, tuple[np.ndarray, np.ndarray] | None]:
    """A seeded uniform sample of ``size`` complete pairs (``__c``, ``__h`` columns).

    polars: the ``size`` pairs with the smallest 64-bit ``hash(request_id, seed)``
    (bottom-k). When the row count ``n_rows`` is known, rows with a hash above
    ``4·size/n_rows`` of the hash range are dropped first (streaming filter; the bottom-k
    is unchanged unless fewer than ``size`` pairs survive, which the caller detects and
    redoes without the filter). DuckDB: the same with DuckDB's ``hash``. pandas and other
    engines: the pairs are collected (two float columns) and sampled with
    ``numpy.random.default_rng(seed)``. Returns (lazy query or None, method, arrays or None).
    """
    pairs = lf.filter(~nw.col("__c").is_null() & ~nw.col("__h").is_null())
    native = pairs.to_native()
    if isinstance(native, pl.LazyFrame):
        q = native.with_columns(pl.col("request_id").hash(seed).alias("__hash"))
        if n_rows and _HASH_OVERSAMPLE * size < n_rows:
            cut = int(_HASH_OVERSAMPLE * size / n_rows * 2.0**64)
            q = q.filter(pl.col("__hash") < cut)
        q = q.bottom_k(size, by="__hash").select("__c", "__h")
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


def shadow_aggregates(
    lf: nw.LazyFrame,
    *,
    threshold: float,
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
    threshold : decision threshold; a request is flagged when ``score ≥ threshold``.
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
) -> tuple[ShadowAggregates, dict[str, Any]]:
    """:func:`shadow_aggregates`; ``extra_totals`` (aggregations named ``__x_*``) ride in the
    totals query and come back as the second value; ``plan``'s checks run on the totals
    before anything is derived from them."""
    n_bins, span, clip = score_bins
    lat_lo, lat_hi, lat_n = latency_bins
    sch = schema(lf)
    has_label = "label" in sch and matured_before is not None
    c, h = nw.col("__c"), nw.col("__h")
    base = lf.with_columns(
        nw.col("score_champion").cast(nw.Float64).fill_nan(None).alias("__c"),
        nw.col("score_challenger").cast(nw.Float64).fill_nan(None).alias("__h"),
        nw.col("error_champion").cast(nw.Int64).fill_null(0).alias("__ec"),
        nw.col("error_challenger").cast(nw.Int64).fill_null(0).alias("__eh"),
    ).with_columns(
        nw.when(c.is_null())
        .then(nw.lit(2))
        .otherwise((c >= threshold).cast(nw.Int64))
        .alias("__fc"),
        nw.when(h.is_null())
        .then(nw.lit(2))
        .otherwise((h >= threshold).cast(nw.Int64))
        .alias("__fh"),
    )
    if has_label:
        matured = (nw.col("ts") <= matured_before) & ~nw.col("label").is_null()
        base = base.with_columns(
            nw.when(matured).then(nw.col("label").cast(nw.Int64)).otherwise(nw.lit(2)).alias("__l")
        )
    else:
        base = base.with_columns(nw.lit(2).alias("__l"))
    fc, fh = nw.col("__fc"), nw.col("__fh")
    cells = {
        "pairs": (fc != 2) & (fh != 2),
        "both": (fc == 1) & (fh == 1),
        "champion_only": (fc == 1) & (fh == 0),
        "challenger_only": (fc == 0) & (fh == 1),
        "neither": (fc == 0) & (fh == 0),
    }
    totals_q = base.select(
        nw.len().alias("n"),
        *[_count(e).alias(k) for k, e in cells.items()],
        _count(fc != 2).alias("scored_champion"),
        _count(fh != 2).alias("scored_challenger"),
        _count((fc == 1) & (fh == 2)).alias("champion_flag_challenger_missing"),
        _count((fc == 0) & (fh == 2)).alias("champion_noflag_challenger_missing"),
        _count((fc == 2) & (fh == 2)).alias("both_missing"),
        nw.col("__ec").sum().alias("error_champion"),
        nw.col("__eh").sum().alias("error_challenger"),
        _count((fc == 2) & (nw.col("__ec") == 0)).alias("missing_champion_no_error"),
        _count((fh == 2) & (nw.col("__eh") == 0)).alias("missing_challenger_no_error"),
        _count((fh != 2) & (nw.col("__eh") == 1)).alias("error_challenger_with_score"),
        _count(nw.col("latency_ms_champion").is_null()).alias("latency_missing_champion"),
        _count(nw.col("latency_ms_challenger").is_null()).alias("latency_missing_challenger"),
        _count(nw.col("__l") != 2).alias("matured_labelled"),
        *extra_totals,
    )
    hist_c_q = (
        base.filter(~c.is_null())
        .with_columns(_score_bin("__c", n_bins, span, clip).alias("__b"))
        .group_by("__b")
        .agg(nw.len().alias("count"))
    )
    hist_h_q = (
        base.filter(~h.is_null())
        .with_columns(_score_bin("__h", n_bins, span, clip).alias("__b"))
        .group_by("__fc", "__l", "__b")
        .agg(nw.len().alias("count"))
    )
    lat_qs = [
        base.filter(~nw.col(col).is_null())
        .with_columns(_log_bin(col, lat_lo, lat_hi, lat_n).alias("__b"))
        .group_by("__b")
        .agg(nw.len().alias("count"))
        for col in ("latency_ms_champion", "latency_ms_challenger")
    ]
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
    disagree = base.filter(((fc == 1) & (fh == 0)) | ((fc == 0) & (fh == 1))).with_columns(
        (h - c).alias("delta"), (h - c).abs().alias("__abs")
    )
    keep = ["request_id", "ts", "score_champion", "score_challenger", "delta", "__abs"]
    flip_qs = []
    for seg in segments:
        flip_qs.append(
            disagree.with_columns(
                nw.col("__abs").rank("ordinal", descending=True).over(seg).alias("__r")
            )
            .filter(nw.col("__r") <= flips_per_segment)
            .select(
                nw.lit(seg).alias("segment"),
                nw.col(seg).cast(nw.String).alias("value"),
                *[nw.col(k) for k in keep],
            )
        )
    if not segments:
        flip_qs.append(
            disagree.top_k(flips_per_segment, by="__abs").select(
                nw.lit("(all)").alias("segment"),
                nw.lit("(all)").alias("value"),
                *[nw.col(k) for k in keep],
            )
        )
    sample_q, sample_method, sample_arrays = _row_sample(base, sample_size, seed, n_rows)
    queries: list[Any] = [totals_q, hist_c_q, hist_h_q, *lat_qs, *seg_qs, *flip_qs]
    if sample_q is not None:
        queries.append(sample_q)
    try:
        res = _collect_many(queries)
    except Exception:
        if plan is not None:
            plan.run()  # raises the contract error that made the engine fail, if any
        raise
    row = {str(k): v for k, v in res[0].iloc[0].to_dict().items()}
    extra = {k: row.pop(k) for k in list(row) if k.startswith("__x_")}
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
    seg_frames = {}
    for seg, df in zip(segments, res[k : k + len(segments)], strict=True):
        df = df.rename(columns={seg: "value"})
        counts = [c for c in df.columns if c != "value"]
        df[counts] = df[counts].astype(np.int64)
        df["value"] = (
            df["value"].astype(object).where(df["value"].notna(), "__missing__").astype(str)
        )
        seg_frames[seg] = df.sort_values("value", kind="stable").reset_index(drop=True)
    k += len(segments)
    flips = pd.concat(res[k : k + len(flip_qs)], ignore_index=True)
    flips = flips.sort_values(
        ["segment", "value", "__abs"], ascending=[True, True, False], kind="stable"
    )
    flips = flips.drop(columns="__abs").reset_index(drop=True)
    if sample_q is not None:
        smp = res[-1]
        if len(smp) < min(sample_size, totals["pairs"]):  # the hash pre-filter kept too few
            smp = (
                _row_sample(base, sample_size, seed, None)[0]
                .collect(engine="streaming")
                .to_pandas()
            )
        sample_arrays = (smp["__c"].to_numpy(dtype=float), smp["__h"].to_numpy(dtype=float))
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
    ), extra


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
    lf = plan.lf
    sch = schema(lf)
    has_label_ts = "label_ts" in sch
    ts_zone = getattr(sch["ts"], "time_zone", None)
    n_rows = None
    bounds: dict[str, Any] = {}
    if as_of is not None:
        as_of_ts = pd.Timestamp(as_of)
        if (as_of_ts.tzinfo is None) != (ts_zone is None):
            raise ValueError(
                f"`as_of` ({as_of_ts}) and the log's `ts` ({sch['ts']}) must both be time-zone "
                "aware or both naive."
            )
    elif "label" in sch:
        first = collect(lf.select(nw.len().alias("__x_n"), *_bound_aggs(has_label_ts)))
        pre = first.iloc[0].to_dict()
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
    agg, extra = _aggregate(
        lf,
        threshold=threshold,
        score_bins=score_bins,
        latency_bins=latency_bins,
        segments=segments,
        matured_before=matured_before,
        flips_per_segment=flips_per_segment,
        sample_size=sample_size,
        seed=seed,
        n_rows=n_rows,
        plan=plan,
        extra_totals=[
            *plan.aggregations("__x_"),
            *_bound_aggs(has_label_ts),
            *([_count(~nw.col("label").is_null()).alias("__x_labelled")] if "label" in sch else []),
        ],
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
