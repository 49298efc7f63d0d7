"""One pass per side (issue 15): the reference profile's edges and counts, the current
window's counts and the sampled (streaming) reference, checked against an independent
numpy pass (``np.sort`` order statistics, ``np.searchsorted`` bins, ``np.unique`` counts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest

from mlopskit import frames
from mlopskit.drift import ReferenceProfile, profile, psi_table
from mlopskit.stats.psi import quantile_edges

Backend = Callable[[pd.DataFrame], Any]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    heavy = rng.lognormal(3, 1.2, n).round(2)
    mass = np.where(rng.random(n) < 0.7, 0.0, rng.exponential(5, n))
    with_nan = rng.normal(0, 1, n)
    with_nan[rng.random(n) < 0.1] = np.nan
    ints = rng.poisson(2, n).astype(float)
    ints[rng.random(n) < 0.05] = np.nan  # nulls in pandas (NaN) and polars (null)
    cats = np.array(["a", "b", "c", "d", "e", "f"])[
        rng.choice(6, n, p=[0.4, 0.2, 0.2, 0.1, 0.07, 0.03])
    ]
    cat = pd.Series(cats, dtype=object)
    cat[rng.random(n) < 0.05] = None
    return pd.DataFrame(
        {
            "heavy": heavy,
            "mass": mass,
            "with_nan": with_nan,
            "ints": ints,
            "const": np.full(n, 3.0),
            "empty": np.full(n, np.nan),
            "f32": rng.random(n).astype(np.float32),
            "cat": cat,
        }
    )


NUMERIC = ["heavy", "mass", "with_nan", "ints", "const", "empty", "f32"]


def _numpy_counts(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Right-closed value bins, then the missing bin (independent of mlopskit.frames)."""
    x = np.asarray(x, dtype=float)
    miss = np.isnan(x)
    idx = np.searchsorted(edges, x[~miss], side="left")
    return np.append(np.bincount(idx, minlength=edges.size + 1), miss.sum())


def test_reference_counts_equal_an_independent_numpy_pass(to_backend: Backend) -> None:
    df = _frame(20_011, 1)
    rc = frames.reference_counts(frames.lazy(to_backend(df)), NUMERIC, ["cat"], 10)
    assert rc.method == "exact" and rc.n == len(df)
    for f in NUMERIC:
        x = df[f].to_numpy(dtype=float)
        edges = quantile_edges(x, 10)  # np.sort order statistics ⌊k(n−1)/B⌋, ties collapsed
        got = rc.numeric[f]
        np.testing.assert_array_equal(np.asarray(got.edges), edges, err_msg=f)
        np.testing.assert_array_equal(np.asarray(got.counts), _numpy_counts(x, edges), err_msg=f)
        assert got.n_valid == int((~np.isnan(x)).sum())
    cats, counts, missing = rc.categorical["cat"]
    vc = df["cat"].value_counts()  # pandas: most frequent first
    assert cats == list(vc.index) and counts == [int(v) for v in vc.to_numpy()]
    assert missing == int(df["cat"].isna().sum())


def test_current_counts_equal_numpy_with_and_without_windows(to_backend: Backend) -> None:
    ref = _frame(5_000, 2)
    prof = profile(to_backend(ref), features=[*NUMERIC, "cat"], max_categories=4)
    cur = _frame(7_000, 3)
    cur["ts"] = pd.Timestamp("2026-06-01") + pd.to_timedelta(np.arange(7_000) * 37, unit="s")
    specs = [fp.spec for fp in prof.features]
    windows, n, counts = frames.bin_counts(frames.lazy(to_backend(cur)), specs, ts="ts", every="1d")
    day = cur["ts"].dt.floor("1D")
    assert windows == list(pd.to_datetime(sorted(day.unique())))
    for i, w in enumerate(windows):
        part = cur[day == w]
        assert n[i] == len(part)
        for fp in prof.features:
            if fp.kind == "numeric":
                want = _numpy_counts(part[fp.feature].to_numpy(dtype=float), np.asarray(fp.edges))
            else:
                v = part[fp.feature]
                known = [int((v == c).sum()) for c in fp.categories]
                miss = int(v.isna().sum())
                want = np.array([*known, len(v) - sum(known) - miss, miss])
            np.testing.assert_array_equal(counts[fp.feature][i], want, err_msg=fp.feature)
    _, _, c1 = frames.bin_counts(frames.lazy(to_backend(cur)), specs)
    for fp in prof.features:
        np.testing.assert_array_equal(c1[fp.feature][0], counts[fp.feature].sum(axis=0))


def test_duckdb_reference_counts_match_polars() -> None:
    df = _frame(3_000, 4)
    a = frames.reference_counts(frames.lazy(pl.from_pandas(df)), NUMERIC, ["cat"], 7)
    b = frames.reference_counts(frames.lazy(duckdb.from_df(df)), NUMERIC, ["cat"], 7)
    assert a.numeric == b.numeric and a.categorical == b.categorical


def test_sampled_reference_has_exact_counts_and_recorded_rank_error() -> None:
    """Edges from a 20,000-row sample of 400,000 rows: each edge's quantile level is within
    4 standard errors (0.5/√20,000 = 0.0035) of its target, the counts are exact for those
    edges, the critical values and statuses do not move and a drifted feature's PSI moves
    by less than 2%, and the profile says how its edges were found."""
    n, k = 400_000, 20_000
    df = _frame(n, 5)
    lf = pl.from_pandas(df).lazy()
    prof_s = profile(lf, features=[*NUMERIC, "cat"], quantile_sample=k, seed=3)
    prof_e = profile(lf, features=[*NUMERIC, "cat"], quantile_sample=0)
    assert prof_e.edges_from == "exact"
    assert prof_s.edges_from.startswith(f"sample of {k:,} rows")
    assert "sample" in prof_s.summary()
    for f in ("heavy", "with_nan", "f32"):
        x = df[f].to_numpy(dtype=float)
        x = np.sort(x[~np.isnan(x)])
        edges = np.asarray(prof_s.feature(f).edges)
        levels = np.searchsorted(x, edges, side="right") / x.size
        target = np.arange(1, 10) / 10
        assert edges.size == 9
        assert np.max(np.abs(levels - target)) < 4 * 0.5 / np.sqrt(k * x.size / n), f
        np.testing.assert_array_equal(
            np.asarray(prof_s.feature(f).counts), _numpy_counts(df[f].to_numpy(float), edges)
        )
    # ties: the point mass at 0 keeps its own bin whichever way the edges were found
    assert prof_s.feature("mass").edges[0] == prof_e.feature("mass").edges[0] == 0.0
    cur = _frame(50_000, 6)
    cur["heavy"] = cur["heavy"] * 1.1
    ts, te = psi_table(prof_s, cur), psi_table(prof_e, cur)
    # under no drift any fixed bins give PSI/(1/N+1/M) ~ χ²(bins−1): same bins, same
    # critical value; under drift the sampled bins measure it within 2%; same statuses
    assert abs(ts.row("heavy").psi / te.row("heavy").psi - 1) < 0.02
    for f in ("heavy", "with_nan", "f32"):
        rs, re_ = ts.row(f), te.row(f)
        assert rs.bins == re_.bins and rs.critical_value == pytest.approx(re_.critical_value)
        assert rs.status == re_.status, f
    back = ReferenceProfile.from_json(prof_s.to_json())
    assert back == prof_s


def test_quantile_sample_must_be_non_negative() -> None:
    with pytest.raises(ValueError, match="quantile_sample"):
        profile(_frame(100, 7), quantile_sample=-1)


def test_old_profile_json_without_edges_from_reads_as_exact() -> None:
    prof = profile(_frame(1_000, 8), features=["heavy", "cat"])
    d = prof.to_dict()
    del d["edges_from"]
    import json

    assert ReferenceProfile.from_json(json.dumps(d)) == prof
