"""`window=`: fixed lengths, calendar months and row-count chunks, checked against pandas
(``pd.Grouper(freq="MS")``/``"QS-…"``) and numpy (sorted ``array_split``) references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import mlopskit as mk
from mlopskit import frames


@pytest.mark.parametrize(
    ("window", "kind", "count"),
    [
        ("1D", "time", 1),
        ("7d", "time", 7),
        ("1W", "time", 1),
        ("12h", "time", 12),
        ("30min", "time", 30),
        ("1mo", "months", 1),
        ("3 months", "months", 3),
        ("100000rows", "rows", 100_000),
        ("100_000 rows", "rows", 100_000),
        (100_000, "rows", 100_000),
    ],
)
def test_window_spec_accepts(window: str | int, kind: str, count: int) -> None:
    spec = frames.window_spec(window)
    assert (spec.kind, spec.count) == (kind, count)


@pytest.mark.parametrize("window", ["1M", "1m", "3 fortnights", "0D", "1ms", "1y", "D"])
def test_unknown_or_ambiguous_unit_names_the_accepted_ones(window: str) -> None:
    with pytest.raises(ValueError, match=r"accepted units: D \(days\), W \(weeks\).*mo \(calendar"):
        frames.window_spec(window)


def test_window_spec_refuses_bad_types() -> None:
    with pytest.raises(ValueError, match="row count must be ≥ 1"):
        frames.window_spec(0)
    with pytest.raises(ValueError, match="must be a string"):
        frames.window_spec(True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"fixed-length window.*row-count chunks"):
        frames.parse_window("500rows")


def test_month_ends_are_calendar() -> None:
    spec = frames.window_spec("1mo")
    assert spec.end(pd.Timestamp("2026-01-01")) == pd.Timestamp("2026-02-01")  # 31 days
    assert spec.end(pd.Timestamp("2026-02-01")) == pd.Timestamp("2026-03-01")  # 28 days
    assert frames.window_spec("3mo").end(pd.Timestamp("2025-11-01")) == pd.Timestamp("2026-02-01")


def _events(seed: int = 4, n: int = 9_000, tz: str | None = None) -> pd.DataFrame:
    """Irregular timestamps over ~7 months, month-edge rows included, one numeric and one
    categorical feature whose level moves month to month."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2025-12-20", tz=tz)
    sec = np.sort(rng.choice(200 * 86_400, n, replace=False))  # distinct ts
    ts = t0 + pd.to_timedelta(sec, "s")
    edges = [pd.Timestamp(f"2026-0{m}-01", tz=tz) for m in (1, 2, 3)]
    ts = pd.DatetimeIndex([*ts[:-6], *edges, *(e - pd.Timedelta("1us") for e in edges)])
    month = ts.month.to_numpy()
    df = pd.DataFrame(
        {
            "ts": ts.astype(f"datetime64[us, {tz}]" if tz else "datetime64[us]"),
            "x": rng.normal(0.05 * month, 1, len(ts)),
            "c": np.where(rng.random(len(ts)) < 0.3 + 0.02 * month, "web", "app"),
        }
    )
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)  # unordered rows


def _reference() -> mk.drift.ReferenceProfile:
    rng = np.random.default_rng(0)
    return mk.profile(
        pd.DataFrame(
            {"x": rng.normal(0, 1, 5000), "c": np.where(rng.random(5000) < 0.3, "web", "app")}
        )
    )


@pytest.mark.parametrize("tz", [None, "Europe/Berlin"])
def test_calendar_months_match_pandas_month_start_groups(tz: str | None) -> None:
    df = _events(tz=tz)
    prof = _reference()
    # polars from UTC instants + the zone (pl.from_pandas on a tz-aware column goes through
    # pandas' deprecated Series.values, an error under filterwarnings=error)
    cur = pl.from_pandas(df.assign(ts=df["ts"].dt.tz_convert(None) if tz else df["ts"]))
    if tz:
        cur = cur.with_columns(pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone(tz))
    r = mk.psi_over_time(prof, cur, window="1mo")
    # reference: pandas month-start groups (pd.Grouper(key="ts", freq="MS"))
    groups = {k: g for k, g in df.groupby(pd.Grouper(key="ts", freq="MS")) if len(g)}
    assert list(r.windows) == list(groups)
    assert r.n == tuple(len(g) for g in groups.values())
    for w, g in groups.items():
        one = mk.psi_table(prof, g.drop(columns="ts"))
        got = r.table(w)
        np.testing.assert_allclose([x.psi for x in got.rows], [x.psi for x in one.rows])
    # January has 31 days: its window holds the rows of Jan 1 00:00 – Jan 31 23:59:59.999999
    jan = pd.Timestamp("2026-01-01", tz=tz)
    assert r.n[r.windows.index(jan)] == int(
        ((df.ts >= jan) & (df.ts < pd.Timestamp("2026-02-01", tz=tz))).sum()
    )


def test_multi_month_windows_follow_the_anchor_month() -> None:
    df = _events()
    prof = _reference()
    r = mk.psi_over_time(prof, df, window="3mo", anchor=pd.Timestamp("2026-02-15"))
    # quarters starting Feb/May/Aug/Nov: pandas "QS-NOV"
    groups = {k: len(g) for k, g in df.groupby(pd.Grouper(key="ts", freq="QS-NOV")) if len(g)}
    assert list(r.windows) == list(groups) and r.n == tuple(groups.values())
    r0 = mk.psi_over_time(prof, df, window="3mo")  # no anchor: quarters from January
    groups = {k: len(g) for k, g in df.groupby(pd.Grouper(key="ts", freq="QS-JAN")) if len(g)}
    assert list(r0.windows) == list(groups) and r0.n == tuple(groups.values())


@pytest.mark.parametrize("window", [700, "700rows"])
def test_row_chunks_match_numpy_split_in_ts_order(window: int | str) -> None:
    df = _events()
    prof = _reference()
    r = mk.psi_over_time(prof, df, window=window)
    ordered = df.sort_values("ts").reset_index(drop=True)
    chunks = np.array_split(ordered.index.to_numpy(), np.arange(700, len(ordered), 700))
    assert r.n == tuple(len(c) for c in chunks)
    assert list(r.windows) == [ordered.ts[c[0]] for c in chunks]
    for w, c in zip(r.windows, chunks, strict=True):
        one = mk.psi_table(prof, ordered.loc[c].drop(columns="ts"))
        np.testing.assert_allclose([x.psi for x in r.table(w).rows], [x.psi for x in one.rows])
    # only the last chunk is short: partial, shown not judged
    assert r.complete == (True,) * (len(chunks) - 1) + (False,)
    assert len(chunks[-1]) < 700
    assert r.latest_complete == r.windows[-2]


def test_output_drift_takes_months_and_chunks() -> None:
    rng = np.random.default_rng(8)
    n = 30_000
    ts = pd.Timestamp("2026-01-01") + pd.to_timedelta(
        np.sort(rng.integers(0, 150 * 86_400, n)), "s"
    )
    scores = pd.DataFrame({"ts": ts.astype("datetime64[us]"), "score": rng.beta(2, 20, n)})
    out = mk.output_drift(
        scores, reference_period=("2026-01-01", "2026-03-01"), window="1mo", as_of="2026-05-20"
    )
    assert list(out.windows) == [pd.Timestamp(f"2026-0{m}-01") for m in range(1, 6)]
    assert out.in_reference == (True, True, False, False, False)
    assert out.complete == (True, True, True, True, False)  # May ends after as_of
    chunk = mk.output_drift(scores, reference_period=("2026-01-01", "2026-03-01"), window=2500)
    assert chunk.n == tuple([2500] * 12)
    assert sum(chunk.in_reference) >= 3


def test_outcome_drift_takes_months() -> None:
    rng = np.random.default_rng(9)
    n = 40_000
    ts = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 120 * 86_400, n), "s")
    score = rng.beta(2, 18, n)
    label = (rng.random(n) < score).astype(int)
    label_ts = ts + pd.to_timedelta(rng.gamma(2, 3, n), "D")
    events = pd.DataFrame(
        {
            "ts": ts.astype("datetime64[us]"),
            "score": score,
            "label": label,
            "label_ts": pd.Series(label_ts.astype("datetime64[us]")).where(label == 1),
        }
    )
    r = mk.outcome_drift(
        events, reference_period=("2026-01-01", "2026-02-01"), as_of="2026-05-15", window="1mo"
    )
    starts = [w.window_start for w in r.windows]
    assert starts == [pd.Timestamp(f"2026-0{m}-01") for m in range(1, 5)]
    by_month = events.groupby(pd.Grouper(key="ts", freq="MS")).size()
    assert [w.n_events for w in r.windows] == list(by_month)
