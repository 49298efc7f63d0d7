"""The polars fast path of the shadow aggregation (frames/shadow.py: segment tables summed
from the segment-pair group-bys, one disagreement query for the flips, native boolean sums)
gives exactly what the generic narwhals path gives on the same polars log."""

from __future__ import annotations

from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import polars as pl
import pytest

from mlopskit import frames
from mlopskit.frames import shadow as fshadow
from mlopskit.stats.agreement import ScoreGrid

START = pd.Timestamp("2026-06-01")


def _log(n: int, seed: int) -> pl.DataFrame:
    """A shadow log with everything the paths treat differently: missing scores,
    missing latencies, errors, null segment values (and a null in both segments at once),
    a segment with a single value, labels with and without maturity, and exact ties in
    |Δscore| (scores on a coarse grid)."""
    rng = np.random.default_rng(seed)
    champ = np.round(rng.beta(1, 8, n), 3)  # coarse: many tied |Δscore|
    chall = np.round(np.clip(champ + rng.normal(0, 0.08, n), 0, 1), 3)
    ts = START + pd.to_timedelta(np.sort(rng.integers(0, 20 * 86400, n)), unit="s")
    label = (rng.random(n) < champ).astype(float)
    label[rng.random(n) < 0.2] = np.nan
    channel = rng.choice(np.array(["pos", "web", "app", None], dtype=object), n)
    country = rng.choice(np.array(["US", "GB", None], dtype=object), n, p=[0.5, 0.45, 0.05])
    df = pl.DataFrame(
        {
            "request_id": np.arange(n, dtype=np.int64),
            "ts": ts,
            "score_champion": np.where(rng.random(n) < 0.01, np.nan, champ),
            "score_challenger": np.where(rng.random(n) < 0.02, np.nan, chall),
            "latency_ms_champion": np.where(rng.random(n) < 0.01, np.nan, rng.lognormal(3, 1, n)),
            "latency_ms_challenger": rng.lognormal(3.1, 1, n),
            "error_champion": rng.random(n) < 0.005,
            "error_challenger": rng.random(n) < 0.01,
            "label": label,
            "label_ts": ts + pd.to_timedelta(rng.integers(1, 10 * 86400, n), unit="s"),
            "channel": channel.tolist(),
            "country": country.tolist(),
            "tier": np.full(n, "gold"),
            # an integer segment with nulls (grouped by value, not by string)
            "bucket": pl.Series(
                np.where(rng.random(n) < 0.03, None, rng.integers(0, 7, n)).tolist(),
                dtype=pl.Int64,
            ),
        }
    )
    return df.with_columns(  # missing = null in a polars log
        pl.col("score_champion", "score_challenger", "latency_ms_champion").fill_nan(None),
        pl.col("label").fill_nan(None).cast(pl.Int64),
    )


def _scan(df: pl.DataFrame, **kw: Any) -> frames.ShadowAggregates:
    g = ScoreGrid()
    return frames.shadow_scan(
        df.lazy(),
        threshold=0.1,
        score_bins=(g.n_bins, g.span, g.clip),
        latency_bins=(-2.0, 6.0, 1600),
        maturity_days=3.0,
        sample_size=500,
        **kw,
    )


def _assert_same(a: frames.ShadowAggregates, b: frames.ShadowAggregates) -> None:
    assert a.totals == b.totals
    for f in ("hist_champion", "hist_challenger", "latency_champion", "latency_challenger"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    for f in ("latency_bin_max_champion", "latency_bin_max_challenger"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert a.segments.keys() == b.segments.keys()
    for seg in a.segments:
        pd.testing.assert_frame_equal(a.segments[seg], b.segments[seg])
    assert a.segment_pairs is not None and b.segment_pairs is not None
    assert a.segment_pairs.keys() == b.segment_pairs.keys()
    for key in a.segment_pairs:  # group order is the engine's: compare sorted
        pa, pb = (
            d.sort_values(["value_1", "value_2"]).reset_index(drop=True)
            for d in (a.segment_pairs[key], b.segment_pairs[key])
        )
        pd.testing.assert_frame_equal(pa, pb)
    assert a.segment_grids is not None and b.segment_grids is not None
    assert a.segment_grids.keys() == b.segment_grids.keys()
    for seg in a.segment_grids:
        pd.testing.assert_frame_equal(a.segment_grids[seg], b.segment_grids[seg])
    pd.testing.assert_frame_equal(a.flips, b.flips)
    np.testing.assert_array_equal(a.sample_champion, b.sample_champion)
    np.testing.assert_array_equal(a.sample_challenger, b.sample_challenger)
    assert a.sample_method == b.sample_method
    assert a.bounds == b.bounds
    assert a.row_counts == b.row_counts


@pytest.mark.parametrize(
    ("segments", "as_of"),
    [
        (("channel", "country"), None),
        (("channel", "country", "tier"), pd.Timestamp("2026-06-15")),
        (("country",), None),
        (("bucket", "channel"), pd.Timestamp("2026-06-12")),
        ((), pd.Timestamp("2026-06-10")),
    ],
)
def test_polars_fast_path_equals_the_generic_path(
    monkeypatch: pytest.MonkeyPatch, segments: tuple[str, ...], as_of: Any
) -> None:
    df = _log(20_000, seed=len(segments))
    fast = _scan(df, segments=segments, as_of=as_of)
    monkeypatch.setattr(fshadow, "_POLARS_FAST", False)
    generic = _scan(df, segments=segments, as_of=as_of)
    _assert_same(fast, generic)
    # the planted features are present, so the comparison covers them
    assert fast.totals["both_missing"] > 0 and fast.totals["matured_labelled"] > 0
    for seg in segments:
        if seg != "tier":
            assert "__missing__" in set(fast.segments[seg]["value"])
    if segments:
        assert fast.flips["__abs" if "__abs" in fast.flips else "delta"].abs().duplicated().any()


def test_polars_fast_path_takes_every_segments_flips_from_one_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2 segments: totals, 2 score + 2 latency histograms, 1 disagreement query, 1 group-by
    # on (channel, country, packed decisions/error/grid cell) for the segment tables and all
    # grids (frames.shadow_segments), unique ids, sample = 9 queries (the generic path: 2
    # segment tables, one flips query per segment, 1 pair grid + 2 segment grids: 14)
    sizes: list[int] = []
    real = pl.collect_all

    def spy(lfs: Any, **kw: Any) -> Any:
        sizes.append(len(lfs))
        return real(lfs, **kw)

    monkeypatch.setattr(pl, "collect_all", spy)
    df = _log(5_000, seed=3)
    _scan(df, segments=("channel", "country"), as_of=pd.Timestamp("2026-06-15"))
    monkeypatch.setattr(fshadow, "_POLARS_FAST", False)
    _scan(df, segments=("channel", "country"), as_of=pd.Timestamp("2026-06-15"))
    assert sizes == [9, 14]


@pytest.mark.parametrize("dtype", [pl.Int64, pl.Int32, pl.UInt64, pl.UInt8])
def test_sorted_unique_count_equals_polars_n_unique(dtype: Any) -> None:
    # frames.inputs._n_unique_query (sort-based on polars integer ids, used by the shadow
    # and canary scans) = polars' hash-based n_unique, nulls counting as one value
    from mlopskit.frames.inputs import _n_unique_query

    rng = np.random.default_rng(7)
    info = np.iinfo(np.dtype(str(dtype).lower()))
    cases = [
        [],
        [None],
        [None, None],
        [5],
        [3, 3, 3],
        [None, 1, None, 1, 2],
        [int(info.min), int(info.max), int(info.max), None, int(info.min)],
        rng.integers(0, 50, 1_000).tolist(),  # many duplicates
        rng.permutation(10_000).tolist() if info.max > 10_000 else list(range(200)),
    ]
    for values in cases:
        df = pl.DataFrame({"id": values}, schema={"id": dtype})
        lf = nw.from_native(df.lazy())
        got = _n_unique_query(lf, "id", "u", rows="n").collect().to_native()
        assert got["u"][0] == df["id"].n_unique(), values
        assert got["n"][0] == len(values)
    # a string id keeps polars' n_unique
    lf = nw.from_native(pl.DataFrame({"id": ["a", "b", "a", None]}).lazy())
    assert _n_unique_query(lf, "id", "u").collect().to_native()["u"][0] == 3


@pytest.mark.parametrize(
    ("segments", "as_of"),
    [(("channel", "country"), None), (("bucket",), pd.Timestamp("2026-06-12"))],
)
def test_parquet_log_read_once_into_memory_equals_the_file_scan(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, segments: tuple[str, ...], as_of: Any
) -> None:
    # a parquet path that fits in IN_MEMORY_MAX_BYTES is read into memory once and every
    # query runs on that frame (shadow_parts.read_once); above the limit every query scans
    # the file. Both give exactly the same aggregates.
    from mlopskit.frames import shadow_parts

    path = tmp_path / "shadow.parquet"
    _log(20_000, seed=5).write_parquet(path, row_group_size=3_000)
    reads: list[int | None] = []
    real = shadow_parts.read_once

    def spy(lf: Any, data: Any, columns: Any, unique: Any) -> Any:
        out = real(lf, data, columns, unique)
        reads.append(None if out[0] is lf else len(columns))
        return out

    monkeypatch.setattr(fshadow, "read_once", spy)
    g = ScoreGrid()
    kw: dict[str, Any] = dict(
        threshold=0.1,
        score_bins=(g.n_bins, g.span, g.clip),
        latency_bins=(-2.0, 6.0, 1600),
        maturity_days=3.0,
        sample_size=500,
        segments=segments,
        as_of=as_of,
    )
    in_memory = frames.shadow_scan(path, **kw)
    monkeypatch.setattr(shadow_parts, "IN_MEMORY_MAX_BYTES", 0)
    scanned = frames.shadow_scan(path, **kw)
    assert reads == [10 + len(segments), None]  # the 10 contract columns + the segments
    _assert_same(in_memory, scanned)
    # and both equal the in-memory polars frame given directly
    _assert_same(in_memory, _scan(pl.read_parquet(path), segments=segments, as_of=as_of))


@pytest.mark.parametrize("order", ["sorted", "shuffled", "sorted_duplicate", "null"])
def test_parquet_log_unique_ids_counted_in_memory_like_the_scan(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, order: str
) -> None:
    # read_once counts a sorted, null-free id column in one pass; otherwise the scan's
    # query counts it. Same aggregates, and the same contract error for a duplicated or
    # missing id, with the log in memory or scanned.
    from mlopskit.frames import shadow_parts

    df = _log(5_000, seed=9)
    ids = np.arange(5_000, dtype=np.int64) * 3 - 7_000  # negative and positive, sorted
    if order == "shuffled":
        ids = np.random.default_rng(1).permutation(ids)
    if order == "sorted_duplicate":
        ids[2_500] = ids[2_499]
    df = df.with_columns(request_id=pl.Series(ids))
    if order == "null":
        df = df.with_columns(
            request_id=pl.when(pl.int_range(pl.len()) == 10).then(None).otherwise("request_id")
        )
    path = tmp_path / "shadow.parquet"
    df.write_parquet(path)
    g = ScoreGrid()
    kw: dict[str, Any] = dict(
        threshold=0.1,
        score_bins=(g.n_bins, g.span, g.clip),
        latency_bins=(-2.0, 6.0, 1600),
        maturity_days=3.0,
        sample_size=500,
        segments=("channel",),
    )
    counted: list[int | None] = []
    real = shadow_parts.read_once

    def spy(lf: Any, data: Any, columns: Any, unique: Any) -> Any:
        out = real(lf, data, columns, unique)
        counted.append(out[2])
        return out

    monkeypatch.setattr(fshadow, "read_once", spy)
    errors = []
    results = []
    for limit in (shadow_parts.IN_MEMORY_MAX_BYTES, 0):
        monkeypatch.setattr(shadow_parts, "IN_MEMORY_MAX_BYTES", limit)
        try:
            results.append(frames.shadow_scan(path, **kw))
        except ValueError as exc:
            errors.append(str(exc))
    if order in ("sorted", "shuffled"):
        assert counted == [5_000 if order == "sorted" else None, None]
        _assert_same(results[0], results[1])
    else:
        assert counted == [4_999 if order == "sorted_duplicate" else None, None]
        assert len(errors) == 2 and errors[0] == errors[1]
        assert ("request_id" in errors[0]) and ("dupl" in errors[0] or "null" in errors[0])


@pytest.mark.parametrize(
    "case", ["naive_ms", "utc_us", "berlin_ns", "label_ts_all_null", "one_group_null", "no_stats"]
)
def test_default_as_of_bounds_from_parquet_statistics_equal_the_query(
    tmp_path: Any, case: str
) -> None:
    # shadow_parts.pre_bounds: ts / label_ts maxima of a parquet file scan from its row
    # groups' statistics = the same maxima read by the query (as collected, with units and
    # time zones), and the query itself when the file has no statistics
    from mlopskit.frames import shadow_parts
    from mlopskit.frames.inputs import lazy

    n = 9_000
    rng = np.random.default_rng(11)
    unit, tz = {"utc_us": ("us", "UTC"), "berlin_ns": ("ns", "Europe/Berlin")}.get(
        case, ("ms", None)
    )
    ts = pl.Series(START + pd.to_timedelta(rng.integers(0, 10**9, n), unit="ms"))
    ts = ts.cast(pl.Datetime(unit))
    if tz:
        ts = ts.dt.replace_time_zone(tz)
    label_ts = ts + pl.Series(pd.to_timedelta(rng.integers(1, 10**8, n), unit="ms"))
    df = pl.DataFrame({"ts": ts, "label_ts": label_ts, "x": np.arange(n)})
    if case == "label_ts_all_null":
        df = df.with_columns(pl.lit(None, dtype=df.schema["label_ts"]).alias("label_ts"))
    if case == "one_group_null":  # rows 3000–5999 (the second row group) without labels
        df = df.with_columns(
            pl.when(pl.int_range(pl.len()).is_between(3_000, 5_999))
            .then(None)
            .otherwise(pl.col("label_ts"))
            .alias("label_ts")
        )
    path = tmp_path / "log.parquet"
    df.write_parquet(path, row_group_size=3_000, statistics=case != "no_stats")
    lf = lazy(path)
    aggs = [
        nw.len().alias("__x_n"),
        nw.col("ts").min().alias("__x_ts_min"),
        nw.col("ts").max().alias("__x_ts_max"),
        nw.col("label_ts").max().alias("__x_label_ts_max"),
    ]
    queried = shadow_parts.pre_bounds(lf, aggs, None)  # row count unknown: the query
    from_stats = shadow_parts.pre_bounds(lf, aggs, n)
    assert "__x_ts_min" in queried
    assert ("__x_ts_min" in from_stats) == (case == "no_stats")  # only the query reads it
    for k in ("__x_n", "__x_ts_max", "__x_label_ts_max"):
        a, b = queried[k], from_stats[k]
        assert (pd.isna(a) and pd.isna(b)) or (a == b and type(a) is type(b)), (k, a, b)
        if isinstance(a, pd.Timestamp):
            assert (a.unit, str(a.tz)) == (b.unit, str(b.tz))
    assert pd.isna(queried["__x_label_ts_max"]) == (case == "label_ts_all_null")
    # any other frame than the plain file scan: the query
    renamed = lf.rename({"x": "y"})
    assert "__x_ts_min" in shadow_parts.pre_bounds(renamed, aggs, n)
