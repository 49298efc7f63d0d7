"""The canary's one read of the log (frames.canary_scan, issue 15) equals the separate passes.

One group-by carries the daily sums, the label-arrival sums and the contract checks; sums
that are equal by construction are summed once (a 0/1 value's events, squares and cubes;
missing = rows − counted; the window-free sums of a label metric shared with the daily
pass) and the unit ids of a log written in id order are counted without a sort. Here each
output is compared with the passes run on their own (`canary_daily_sums` without the 0/1
shortcut, `canary_label_arrivals`) and with pandas.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest

from mlopskit import canary, frames
from mlopskit.canary.metrics import default_metrics
from mlopskit.frames import canary_pass

START = pd.Timestamp("2026-03-02")
ENGINES = {
    "polars": lambda df: pl.from_pandas(df).lazy(),
    "duckdb": lambda df: duckdb.connect().from_df(df),
}


def _log(n: int = 6000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = START + pd.to_timedelta(rng.uniform(0, 24, n), unit="D").round("s")
    arm = np.where(rng.random(n) < 0.3, "canary", "control")
    label = (rng.random(n) < 0.2).astype(float)
    label[rng.random(n) < 0.05] = np.nan  # unlabelled units: dropped, counted
    delay = pd.to_timedelta(rng.exponential(6, n) + (rng.random(n) < 0.1) * 40, unit="D")
    label_ts = (ts + delay.round("s")).to_numpy().copy()
    label_ts[np.isnan(label)] = np.datetime64("NaT")
    loss = np.where(label == 1, rng.lognormal(3, 1.2, n), 0.0)
    latency = rng.gamma(2.0, 40.0, n)
    error = rng.random(n) < 0.03
    latency[error] = np.nan
    latency[rng.random(n) < 0.01] = np.nan  # missing without an error: dropped, counted
    return pd.DataFrame(
        {
            "unit_id": np.arange(n) if seed % 2 else rng.permutation(n),
            "ts": ts,
            "arm": arm,
            "score": rng.random(n),
            "flagged": rng.random(n) < 0.25,
            "label": pd.Series(label).astype("Int64"),  # 0/1 with nulls
            "label_ts": label_ts,
            "amount": rng.gamma(2.0, 50.0, n),
            "loss": loss,
            "latency_ms": latency,
            "error": error,
        }
    )


def _metrics() -> tuple[canary.Metric, ...]:
    return (
        *default_metrics(),
        canary.Mean("loss_c", "loss", margin=5.0, cap=60.0, label_based=True),
        canary.Proportion("fp", "flagged & ~label", margin=0.02),
    )


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("seed", [7, 8])  # ids in order (no sort) / shuffled (sorted count)
def test_one_scan_equals_the_separate_passes(engine: str, seed: int) -> None:
    df = _log(seed=seed)
    as_of, mat, horizon = START + pd.Timedelta(days=30), 10.0, 25
    specs = [m.spec() for m in _metrics()]
    first = specs[:-1]  # the last label metric is in the arrival pass only: not shared
    needed = sorted({c for s in specs for c in s.columns})
    _, daily, arr = frames.canary_scan(
        ENGINES[engine](df), first, columns=None, needed=needed, as_of=as_of,
        maturity_days=mat, label_specs=specs, horizon_days=horizon,
    )  # fmt: skip
    ref_lf = frames.canary_validate(ENGINES[engine](df), columns=None, needed=needed)
    ref = frames.canary_daily_sums(ref_lf, first, as_of=as_of, maturity_days=mat)
    ref_arr = frames.canary_label_arrivals(ref_lf, specs, as_of=as_of, horizon_days=horizon)
    np.testing.assert_array_equal(daily.day_starts, ref.day_starts)
    np.testing.assert_allclose(daily.exposure_days, ref.exposure_days, rtol=1e-12)
    assert (daily.first_ts, daily.last_ts, daily.late) == (ref.first_ts, ref.last_ts, ref.late)
    assert daily.late["control"] + daily.late["canary"] == int((df.ts > as_of).sum())
    for a in ("control", "canary"):
        np.testing.assert_array_equal(daily.units[a], ref.units[a])
        for s in first:
            for f in frames.CANARY_SUM_FIELDS:
                got, want = daily.daily[s.name][a][f], ref.daily[s.name][a][f]
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=f"{s.name} {f}")
                np.testing.assert_allclose(
                    daily.final[s.name][a][f], ref.final[s.name][a][f], rtol=1e-12
                )
    assert set(arr) == set(ref_arr) == {"fraud_missed_rate", "false_positive_rate",
                                         "loss_per_dollar", "loss_c", "fp"}  # fmt: skip
    seen = df[df.ts <= as_of]
    for name, x in arr.items():
        y = ref_arr[name]
        assert x.sign == y.sign
        for a in ("control", "canary"):
            np.testing.assert_allclose(x.base[a], y.base[a], rtol=1e-12)
            np.testing.assert_allclose(x.delay_sums[a], y.delay_sums[a], rtol=1e-12)
            for f in frames.CANARY_SUM_FIELDS:
                np.testing.assert_allclose(x.all_labels[a][f], y.all_labels[a][f], rtol=1e-12)
            # the shortcuts against pandas: a 0/1 value's powers and events are its sum;
            # missing = rows − counted
            rows = seen[seen.arm == a]
            al = x.all_labels[a]
            if name in ("fraud_missed_rate", "fp"):
                known = (rows.label_ts <= as_of) & (rows.label == 1)
                yv = (known & ~rows.flagged) if name != "fp" else (rows.flagged & ~known)
                yv = yv & rows.label.notna()
                assert al["sum"] == al["sum_squares"] == al["sum_cubes"] == al["events"]
                assert al["sum"] == yv.sum()
                assert al["missing"] == rows.label.isna().sum()
                assert al["n"] + al["missing"] == len(rows)


def test_unit_ids_in_order_are_counted_without_a_sort() -> None:
    rng = np.random.default_rng(3)
    cases = {
        "increasing": np.arange(0, 3000, 3),
        "shuffled": rng.permutation(1000),
        "sorted_repeat": np.sort(np.r_[np.arange(999), 500]),
        "shuffled_repeat": rng.permutation(np.r_[np.arange(999), 17]),
        "decreasing": np.arange(1000)[::-1].copy(),
        "one": np.array([5]),
    }
    for name, ids in cases.items():
        lf = pl.DataFrame({"unit_id": ids}).lazy()
        q, fast = canary_pass._side_query(frames.lazy(lf), {})
        assert fast
        row = q.collect().to_pandas()
        got = canary_pass._n_unique(frames.lazy(lf), row, fast)
        assert got == len(np.unique(ids)), name
    with_null = pl.DataFrame({"unit_id": [1, 2, None, 4]}, schema={"unit_id": pl.Int64}).lazy()
    q, fast = canary_pass._side_query(frames.lazy(with_null), {})
    assert canary_pass._n_unique(frames.lazy(with_null), q.collect().to_pandas(), fast) == 4


@pytest.mark.parametrize(
    "column, value",
    [("score", 1.5), ("label_ts", START - pd.Timedelta(days=1)), ("arm", "other"),
     ("loss", -1.0), ("unit_id", None)],
)  # fmt: skip
def test_a_broken_contract_raises_what_validate_raises(column: str, value: object) -> None:
    df = _log(800)
    df[column] = df[column].astype(object) if value is None else df[column]
    df.loc[df.index[[5, 9]], column] = value
    specs = [m.spec() for m in _metrics()]
    needed = sorted({c for s in specs for c in s.columns})
    with pytest.raises(ValueError) as want:
        frames.canary_validate(df, columns=None, needed=needed)
    with pytest.raises(ValueError) as got:
        frames.canary_scan(
            df, specs, columns=None, needed=needed, as_of=START + pd.Timedelta(days=30),
            maturity_days=10.0, label_specs=specs, horizon_days=25,
        )  # fmt: skip
    assert str(got.value) == str(want.value)
    assert f"`{column}`" in str(got.value) and "found 2 of 800 rows" in str(got.value)
