"""Defaults people expect (issue 16): features leave out ids, timestamps, labels and scores;
labels are booleans or 0/1 of any numeric dtype."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import mlopskit as mk


def _frame(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n), unit="h")
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "applied_at": ts.astype(str),  # a string timestamp
            "income": rng.lognormal(10, 0.5, n),
            "region": rng.choice(["north", "south"], n),
            "score": rng.random(n),
            "prediction": rng.integers(0, 2, n),
            "label": rng.integers(0, 2, n).astype(float),
        }
    )


def test_psi_table_leaves_out_ids_timestamps_labels_and_scores() -> None:
    df = _frame()
    table = mk.psi_table(df, df)
    assert list(table.to_frame().feature) == ["income", "region"]
    said = " ".join(table.warnings)
    assert "left out id, timestamp, label and score columns" in said
    for col in ("'id'", "'applied_at'", "'score'", "'prediction'", "'label'"):
        assert col in said
    listed = mk.psi_table(df, df, features=["income", "id"])
    assert list(listed.to_frame().feature) == ["income", "id"]  # listed: included


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "bool"])
def test_labels_accept_bool_and_0_1_of_any_numeric_dtype(dtype: str) -> None:
    rng = np.random.default_rng(1)
    n = 3_000
    ts = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 60 * 86_400, n), "s")
    label = rng.random(n) < 0.1
    events = pd.DataFrame(
        {
            "ts": ts,
            "label": label.astype(dtype),
            "label_ts": (ts + pd.Timedelta(days=5)).where(label),
            "score": rng.random(n),
        }
    )
    ref = mk.label_maturity(events.assign(label=label.astype("int64")), as_of="2026-03-15")
    got = mk.label_maturity(events, as_of="2026-03-15")
    pd.testing.assert_frame_equal(got.to_frame(), ref.to_frame())


@pytest.mark.parametrize("dtype", [pl.Float64, pl.Float32, pl.Int8, pl.Boolean])
def test_polars_labels_of_any_numeric_dtype_with_nulls(dtype: Any, tmp_path: Path) -> None:
    """A float 0/1 label with missing values (what pandas writes to parquet) crashed the
    contract check on polars ≥ 2 (`is_in` refuses Float64 against integers)."""
    rng = np.random.default_rng(2)
    n = 3_000
    ts = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 60 * 86_400, n), "s")
    label = (rng.random(n) < 0.1).astype(float)
    label[rng.random(n) < 0.2] = np.nan  # not labelled yet: null
    events = pl.DataFrame(
        {
            "ts": ts,
            "label": pl.Series(label, nan_to_null=True).cast(dtype),
            "label_ts": (ts + pd.Timedelta(days=5)).where(~np.isnan(label)),
            "score": rng.random(n),
        }
    )
    ref = mk.label_maturity(events.with_columns(pl.col("label").cast(pl.Int64)), as_of="2026-03-15")
    events.write_parquet(tmp_path / "events.parquet")
    for data in (events.lazy(), tmp_path / "events.parquet"):
        got = mk.label_maturity(data, as_of="2026-03-15")
        pd.testing.assert_frame_equal(got.to_frame(), ref.to_frame())


def test_a_polars_float_label_that_is_not_0_1_is_refused() -> None:
    ts = pd.date_range("2026-01-01", periods=5, freq="D")
    events = pl.DataFrame(
        {"ts": ts, "label": [0.0, 1.0, 0.5, float("nan"), None], "label_ts": ts}
    ).lazy()
    # 0.5 and NaN (not null in polars) are neither 0 nor 1; the null is a missing label
    with pytest.raises(
        ValueError, match=r"column `label` must be 0/1 \(or boolean\); found 2 of 5"
    ):
        mk.label_maturity(events, as_of="2026-02-01")


def test_a_label_that_is_not_0_1_is_refused() -> None:
    ts = pd.date_range("2026-01-01", periods=4, freq="D")
    events = pd.DataFrame({"ts": ts, "label": [0.0, 1.0, 0.5, 0.0], "label_ts": ts})
    with pytest.raises(
        ValueError, match=r"column `label` must be 0/1 \(or boolean\); found 1 of 4"
    ):
        mk.label_maturity(events, as_of="2026-02-01")
