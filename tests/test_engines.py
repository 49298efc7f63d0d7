"""Every analysis gives the same numbers on polars, DuckDB and PySpark.

The engines are fed the SAME rows (small seeded logs written to parquet); the reference
numbers are the polars results. PySpark runs in a ``local[2]`` session (module scope) with
the session time zone set to UTC; its timestamps are tested both as ``TIMESTAMP_NTZ`` (what
Spark infers from naive parquet timestamps) and as ``TIMESTAMP`` (Spark's default,
instant semantics rendered in the session time zone, which narwhals reports as tz-aware).

The PySpark tests are skipped only when pyspark is not installed; ``make setup`` installs the
``spark`` extra, so they run in CI.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

import mlopskit as mk

# Skipped only when pyspark is absent (a venv made with `make setup EXTRAS=dev`); with
# pyspark installed and no Java the tests fail, they do not hide.
HAS_SPARK = importlib.util.find_spec("pyspark") is not None


# ---------------------------------------------------------------------------------------
# one small world, written once as parquet (every engine reads the same files)
# ---------------------------------------------------------------------------------------
START = pd.Timestamp("2026-03-02")
AS_OF = START + pd.Timedelta(days=56)
THRESHOLD = 0.2


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _frames(seed: int = 11) -> dict[str, pd.DataFrame]:
    """Small logs in the default contracts: events with a drift after day 35, a shadow log
    and a canary log, with score-dependent label delay, missing values and heavy tails."""
    rng = np.random.default_rng(seed)
    n = 14_000
    day = rng.integers(0, 56, n)
    ts = START + pd.to_timedelta(day, unit="D") + pd.to_timedelta(rng.integers(0, 86_400, n), "s")
    drift = day >= 35
    amount = np.exp(rng.normal(3.0 + 0.6 * drift, 1.2, n))  # heavy tail, shifts after day 35
    tenure = rng.gamma(2.0, 200.0, n)
    tenure[rng.random(n) < 0.03] = np.nan
    channel = np.where(
        rng.random(n) < 0.3 + 0.2 * drift, "web", np.where(rng.random(n) < 0.5, "app", "pos")
    )
    visits = rng.poisson(3, n)
    z = -3.0 + 0.5 * (np.log(amount) - 3) - 0.002 * np.nan_to_num(tenure, nan=400) + 0.8 * drift
    score = _expit(z + rng.normal(0, 0.5, n))
    label = (rng.random(n) < _expit(z)).astype(np.int64)
    delay = rng.gamma(2.0, 6.0 * np.exp(-0.5 * (z - z.mean())), n)
    label_ts = ts + pd.to_timedelta(np.round(delay * 86_400), unit="s")
    arrived = label_ts <= AS_OF
    events = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "ts": ts.astype("datetime64[us]"),
            "amount": amount,
            "tenure_days": tenure,
            "visits": visits,
            "channel": pd.Series(channel, dtype=object),
            "score": score,
            "label": np.where(arrived, label, 0),
            "label_ts": pd.Series(label_ts.astype("datetime64[us]")).where(arrived & (label == 1)),
        }
    )
    reference = events[~drift & (day < 28)].drop(columns=["request_id", "label_ts"])
    shadow = events[(day >= 14) & (day < 28)].rename(columns={"score": "score_champion"})
    m = len(shadow)
    shadow = shadow.assign(
        score_challenger=_expit(
            np.log(shadow.score_champion / (1 - shadow.score_champion)) + rng.normal(0.1, 0.3, m)
        ),
        latency_ms_champion=rng.lognormal(np.log(18), 0.35, m),
        latency_ms_challenger=rng.lognormal(np.log(21), 0.35, m),
        error_champion=rng.random(m) < 0.001,
        error_challenger=rng.random(m) < 0.002,
    )[
        [
            "request_id",
            "ts",
            "score_champion",
            "score_challenger",
            "latency_ms_champion",
            "latency_ms_challenger",
            "error_champion",
            "error_challenger",
            "label",
            "label_ts",
            "channel",
        ]
    ]
    k = 30_000
    cday = rng.integers(28, 49, k)
    cts = START + pd.to_timedelta(cday, unit="D") + pd.to_timedelta(rng.integers(0, 86_400, k), "s")
    arm = np.where(rng.random(k) < 0.05, "canary", "control")
    cz = rng.normal(-3.2, 1.0, k)
    cscore = _expit(cz + np.where(arm == "canary", 0.1, 0.0) + rng.normal(0, 0.4, k))
    clabel = (rng.random(k) < _expit(cz)).astype(np.int64)
    cdelay = rng.gamma(2.0, 5.0, k)
    clabel_ts = cts + pd.to_timedelta(np.round(cdelay * 86_400), unit="s")
    carrived = clabel_ts <= AS_OF
    camount = np.exp(rng.normal(3.5, 1.0, k))
    flagged = cscore >= THRESHOLD
    canary = pd.DataFrame(
        {
            "unit_id": np.arange(k, dtype=np.int64),
            "ts": cts.astype("datetime64[us]"),
            "arm": pd.Series(arm, dtype=object),
            "score": cscore,
            "flagged": flagged,
            "label": np.where(carrived, clabel, 0),
            "label_ts": pd.Series(clabel_ts.astype("datetime64[us]")).where(
                carrived & (clabel == 1)
            ),
            "amount": camount,
            "loss": np.where((clabel == 1) & carrived & ~flagged, camount, 0.0),
            "latency_ms": rng.lognormal(np.log(20), 0.4, k),
            "error": rng.random(k) < 0.001,
            "channel": pd.Series(np.where(rng.random(k) < 0.4, "web", "app"), dtype=object),
        }
    )
    return {"reference": reference, "events": events, "shadow_log": shadow, "canary_log": canary}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("engines")
    paths = {}
    for name, df in _frames().items():
        path = out / f"{name}.parquet"
        df.to_parquet(path, index=False)  # every engine reads the same physical types
        paths[name] = path
    return paths


FEATURES = ["amount", "tenure_days", "visits", "channel"]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if not HAS_SPARK:
        pytest.skip("pyspark (the `spark` extra) is not installed")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("mlopskit-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


Reader = Callable[[str], Any]


def _polars(files: dict[str, Path]) -> Reader:
    return lambda name: pl.scan_parquet(files[name])


def _duckdb(files: dict[str, Path]) -> Reader:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    return lambda name: con.read_parquet(str(files[name]))


def _spark(files: dict[str, Path], spark: Any, ltz: bool) -> Reader:
    def read(name: str) -> Any:
        df = spark.read.parquet(str(files[name]))
        if ltz:  # Spark's default TIMESTAMP type: instants shown in the session time zone
            for col, dtype in df.dtypes:
                if dtype == "timestamp_ntz":
                    df = df.withColumn(col, df[col].cast("timestamp"))
        return df

    return read


# Every test runs on DuckDB and on Spark with TIMESTAMP_NTZ columns; the TIMESTAMP
# (session time zone) variant runs on the time-heavy analyses only, to keep CI short.
ENGINES = ["duckdb", "spark_ntz"]
LTZ = pytest.mark.parametrize("engine", ["duckdb", "spark_ntz", "spark_ltz"], indirect=True)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, files: dict[str, Path]) -> Reader:
    if request.param == "duckdb":
        return _duckdb(files)
    if not HAS_SPARK:
        pytest.skip("pyspark (the `spark` extra) is not installed")
    return _spark(files, request.getfixturevalue("spark"), ltz=request.param == "spark_ltz")


def _same(a: pd.DataFrame, b: pd.DataFrame, **kw: Any) -> None:
    """Equal frames; timestamps compared as naive UTC (an engine may hand them back tz-aware)."""

    def norm(df: pd.DataFrame) -> pd.DataFrame:
        df = df.reset_index(drop=True).copy()
        for c in df.columns:
            if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                df[c] = df[c].dt.tz_convert("UTC").dt.tz_localize(None)
            if pd.api.types.is_datetime64_any_dtype(df[c]):
                df[c] = df[c].astype("datetime64[us]")
        return df

    pd.testing.assert_frame_equal(norm(a), norm(b), check_dtype=False, **kw)


# ---------------------------------------------------------------------------------------
# drift
# ---------------------------------------------------------------------------------------
def test_profile_and_psi_table(files: dict[str, Path], engine: Reader) -> None:
    feats = FEATURES
    pol = _polars(files)
    ref_pl = mk.profile(pol("reference"), features=feats, categorical=["channel"])
    ref_eng = mk.profile(engine("reference"), features=feats, categorical=["channel"])
    assert ref_eng == ref_pl
    a = mk.psi_table(ref_pl, pol("events"))
    b = mk.psi_table(ref_pl, engine("events"))
    _same(a.to_frame(), b.to_frame())


def test_psi_over_time(files: dict[str, Path], engine: Reader) -> None:
    pol = _polars(files)
    ref = mk.profile(pol("reference"), features=FEATURES)
    a = mk.psi_over_time(ref, pol("events"), window="7D")
    b = mk.psi_over_time(ref, engine("events"), window="7D")
    _same(a.to_frame(), b.to_frame())


@LTZ
@pytest.mark.parametrize("window", ["1mo", 1500])
def test_psi_over_time_months_and_row_chunks(
    files: dict[str, Path], engine: Reader, window: str | int
) -> None:
    """Calendar months and row chunks (ordinal rank of ts) on every engine, with the
    per-feature onsets on 1-day windows' reference period."""
    pol = _polars(files)
    ref = mk.profile(pol("reference"), features=FEATURES)
    a = mk.psi_over_time(ref, pol("events"), window=window, as_of=AS_OF)
    b = mk.psi_over_time(ref, engine("events"), window=window, as_of=AS_OF)
    _same(a.to_frame(), b.to_frame())
    assert a.n == b.n and a.complete == b.complete


@LTZ
def test_psi_over_time_onsets(files: dict[str, Path], engine: Reader) -> None:
    pol = _polars(files)
    ref = mk.profile(pol("reference"), features=FEATURES)
    kw: dict[str, Any] = {"reference_period": (START, START + pd.Timedelta(days=28))}
    a = mk.psi_over_time(ref, pol("events"), window="1D", **kw)
    b = mk.psi_over_time(ref, engine("events"), window="1D", **kw)
    assert [o.describe() for o in a.onsets] == [o.describe() for o in b.onsets]
    assert a.onset("amount").fired  # amount shifts after day 35


@LTZ
def test_output_drift_row_chunks(files: dict[str, Path], engine: Reader) -> None:
    period = (START, START + pd.Timedelta(days=28))
    a = mk.output_drift(_polars(files)("events"), reference_period=period, window=1000)
    b = mk.output_drift(engine("events"), reference_period=period, window=1000)
    _same(a.to_frame(), b.to_frame())


@LTZ
def test_output_drift(files: dict[str, Path], engine: Reader) -> None:
    period = (START, START + pd.Timedelta(days=28))
    a = mk.output_drift(_polars(files)("events"), reference_period=period, window="7D")
    b = mk.output_drift(engine("events"), reference_period=period, window="7D")
    _same(a.to_frame(), b.to_frame())


def test_outcome_drift(files: dict[str, Path], engine: Reader) -> None:
    period = (START, START + pd.Timedelta(days=21))
    kw: dict[str, Any] = {"reference_period": period, "as_of": AS_OF, "window": "7D"}
    a = mk.outcome_drift(_polars(files)("events"), **kw)
    b = mk.outcome_drift(engine("events"), **kw)
    _same(a.to_frame(), b.to_frame())


# ---------------------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------------------
@LTZ
def test_label_maturity(files: dict[str, Path], engine: Reader) -> None:
    kw: dict[str, Any] = {"as_of": AS_OF, "score": "score"}
    a = mk.label_maturity(_polars(files)("events"), **kw)
    b = mk.label_maturity(engine("events"), **kw)
    _same(a.to_frame(), b.to_frame())


# ---------------------------------------------------------------------------------------
# shadow and canary
# ---------------------------------------------------------------------------------------
def test_shadow_profile(files: dict[str, Path], engine: Reader) -> None:
    kw: dict[str, Any] = {"threshold": THRESHOLD, "segments": ["channel"]}
    a = mk.shadow_profile(_polars(files)("shadow_log"), **kw)
    b = mk.shadow_profile(engine("shadow_log"), **kw)
    for table in ("decisions", "segments"):
        _same(a.to_frame(table), b.to_frame(table))
    assert a.verdict is b.verdict
    assert b.spearman.estimate == pytest.approx(a.spearman.estimate, rel=1e-12)


@LTZ
def test_canary_test(files: dict[str, Path], engine: Reader) -> None:
    a = mk.canary_test(_polars(files)("canary_log"), as_of=AS_OF)
    b = mk.canary_test(engine("canary_log"), as_of=AS_OF)
    _same(a.to_frame(), b.to_frame())
    assert a.verdict is b.verdict


def test_canary_capped_label_metric(files: dict[str, Path], engine: Reader) -> None:
    """A capped loss ratio: the label-arrival pass caps like the daily pass on every engine
    (F̂ per arm, bias, all-labels row), checked against pandas on the capped values."""
    m = mk.canary.Ratio("loss_rate", "loss", "amount", margin=0.5, relative=True, cap=60.0,
                        window_days=7)  # fmt: skip
    a = mk.canary_test(_polars(files)("canary_log"), metrics=[m], as_of=AS_OF)
    b = mk.canary_test(engine("canary_log"), metrics=[m], as_of=AS_OF)
    _same(a.to_frame(), b.to_frame())
    _same(a.label_frame(), b.label_frame())
    # all-labels row: Σ min(loss, cap) / Σ amount per arm over every unit exposed by as_of
    # (losses of labels arrived by then), relative effect ratio_canary / ratio_control − 1
    df = pd.read_parquet(files["canary_log"])
    df = df[df.ts <= AS_OF]
    known = (df.label_ts <= AS_OF).to_numpy()
    capped = np.where(known, np.minimum(df.loss, 60.0), 0.0)
    t = (df.arm == "canary").to_numpy()
    r = [capped[s].sum() / df.amount[s].sum() for s in (t, ~t)]
    lw = b.label_windows[0]
    assert lw.all_labels_effect == pytest.approx(r[0] / r[1] - 1, rel=1e-9)
    assert (capped < df.loss).any() and np.isfinite(lw.maturity_canary)
