"""Data contracts: each violation is a ValueError naming frame, column, rule and values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlopskit import frames


def _shadow(n: int = 6) -> pd.DataFrame:
    ts = pd.date_range("2026-01-01", periods=n, freq="h")
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "ts": ts,
            "score_champion": np.linspace(0.01, 0.9, n),
            "score_challenger": np.linspace(0.02, 0.8, n),
            "latency_ms_champion": np.full(n, 10.0),
            "latency_ms_challenger": np.full(n, 12.0),
            "error_champion": np.zeros(n, dtype=bool),
            "error_challenger": np.zeros(n, dtype=bool),
            "label": np.zeros(n, dtype=np.int64),
            "label_ts": ts + pd.Timedelta(days=3),
        }
    )


def _canary(n: int = 6) -> pd.DataFrame:
    ts = pd.date_range("2026-01-01", periods=n, freq="h")
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "ts": ts,
            "arm": ["control", "canary"] * (n // 2),
            "score": np.linspace(0.0, 1.0, n),
            "flagged": np.zeros(n, dtype=bool),
            "amount": np.full(n, 20.0),
        }
    )


def test_valid_shadow_log_passes(to_backend: Callable[[pd.DataFrame], Any]) -> None:
    lf = frames.validate(to_backend(_shadow()), frames.SHADOW_LOG)
    assert frames.n_rows(lf) == 6


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (
            lambda d: d.drop(columns=["score_challenger"]),
            r"shadow log: required column `score_challenger` is missing",
        ),
        (
            lambda d: d.assign(score_champion=d.score_champion.astype(str)),
            r"`score_champion` must have a numeric dtype; found dtype String",
        ),
        (
            lambda d: d.assign(request_id=["r0", "r0", "r1", "r2", "r3", "r4"]),
            r"`request_id` must be unique; found 1 duplicated rows, e\.g\. \['r0'\]",
        ),
        (
            lambda d: d.assign(label_ts=d.ts - pd.Timedelta(hours=1)),
            r"`label_ts` must not be earlier than `ts`; found 6 of 6",
        ),
        (
            lambda d: d.assign(score_challenger=[0.1, 1.2, 0.3, -0.1, 0.5, 0.6]),
            r"`score_challenger` must lie in \[0, 1\]; found 2 of 6 rows violating it, e\.g\. \[1\.2, -0\.1\]",
        ),
        (
            lambda d: d.assign(latency_ms_challenger=[-1.0, 1, 1, 1, 1, 1]),
            r"`latency_ms_challenger` must be ≥ 0",
        ),
    ],
    ids=["missing", "dtype", "duplicate", "label_before_ts", "score_range", "negative"],
)
def test_shadow_contract_violations(
    to_backend: Callable[[pd.DataFrame], Any],
    mutate: Callable[[pd.DataFrame], pd.DataFrame],
    pattern: str,
) -> None:
    data = mutate(_shadow())
    with pytest.raises(ValueError, match=pattern):
        frames.validate(to_backend(data), frames.SHADOW_LOG)


def test_canary_arm_values(to_backend: Callable[[pd.DataFrame], Any]) -> None:
    data = _canary().assign(arm=["control", "canary", "treatment", "control", "canary", "ctrl"])
    with pytest.raises(
        ValueError,
        match=r"canary log: column `arm` must be 'control' or 'canary'; found 2 of 6 rows violating it, e\.g\. \['treatment', 'ctrl'\]",
    ):
        frames.validate(to_backend(data), frames.CANARY_LOG)


def test_nan_score_rejected_where_scores_are_required(
    to_backend: Callable[[pd.DataFrame], Any],
) -> None:
    # polars turns pandas NaN into null; both must be rejected for a required score.
    data = _canary().assign(score=[0.1, np.nan, 0.3, 0.4, 0.5, 0.6])
    with pytest.raises(
        ValueError,
        match=r"canary log: column `score` (must not be null|must lie in \[0, 1\] and not be NaN); found 1 of 6",
    ):
        frames.validate(to_backend(data), frames.CANARY_LOG)


def test_missing_shadow_score_is_allowed(to_backend: Callable[[pd.DataFrame], Any]) -> None:
    # a lost shadow call is data (counted by the shadow profile), not a contract violation
    data = _shadow().assign(score_challenger=[0.1, np.nan, 0.3, 0.4, 0.5, 0.6])
    assert frames.n_rows(frames.validate(to_backend(data), frames.SHADOW_LOG)) == 6


def test_column_mapping_renames_to_canonical(to_backend: Callable[[pd.DataFrame], Any]) -> None:
    data = _canary().rename(columns={"arm": "variant"})
    lf = frames.validate(to_backend(data), frames.CANARY_LOG, columns={"arm": "variant"})
    assert "arm" in frames.schema(lf)
    with pytest.raises(ValueError, match="required column `arm` is missing"):
        frames.validate(to_backend(data), frames.CANARY_LOG)


def test_extra_columns_checked(to_backend: Callable[[pd.DataFrame], Any]) -> None:
    with pytest.raises(
        ValueError, match="column `country` is missing; it was requested as a segment"
    ):
        frames.validate(to_backend(_shadow()), frames.SHADOW_LOG.with_extra("country"))


def test_paths_and_bad_inputs(tmp_path: Any) -> None:
    p = tmp_path / "log.parquet"
    _shadow().to_parquet(p)
    assert frames.n_rows(frames.validate(p, frames.SHADOW_LOG)) == 6
    with pytest.raises(ValueError, match="does not exist"):
        frames.lazy(tmp_path / "nope.parquet", frame="shadow log")
    with pytest.raises(ValueError, match="shadow log: expected a pandas/polars DataFrame"):
        frames.lazy([1, 2, 3], frame="shadow log")


def test_duckdb_relation_accepted() -> None:
    duckdb = pytest.importorskip("duckdb")
    df = _canary()
    rel = duckdb.from_df(df)
    lf = frames.validate(rel, frames.CANARY_LOG)
    assert frames.n_rows(lf) == 6


def test_epoch_seconds_from_calendar_fields_matches_numpy() -> None:
    """The Spark-only duration path (no total_seconds there) counts days from calendar
    fields; evaluated here on polars against numpy's epoch seconds, 1600–2400 and the
    leap-day / century edges."""
    import narwhals.stable.v2 as nw
    import polars as pl

    from mlopskit.frames.inputs import _epoch_seconds

    rng = np.random.default_rng(16)
    lo, hi = (np.datetime64(d, "us").astype(np.int64) for d in ("1600-01-01", "2400-12-31"))
    edges = ["2000-02-29T23:59:59.999999", "2000-03-01", "1970-01-01", "1969-12-31T23:59:59.5",
             "2100-02-28", "2100-03-01", "1600-03-01", "0001-01-01", "0001-03-01"]  # fmt: skip
    ts = np.concatenate(
        [rng.integers(lo, hi, 20_000).astype("datetime64[us]"), np.array(edges, "datetime64[us]")]
    )
    lf = nw.from_native(pl.DataFrame({"t": ts}).lazy())
    got = lf.select(_epoch_seconds(nw.col("t")).alias("s")).collect().to_native()["s"].to_numpy()
    want = (ts - np.datetime64("1970-01-01", "us")) / np.timedelta64(1, "s")  # numpy reference
    # equal to float64 resolution (an ulp at |6e10| s is 7.6e-6 s): every day count and second exact
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
