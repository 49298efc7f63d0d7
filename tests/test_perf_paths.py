"""Speed changes that must not change a number (issue 15, round 2).

* the PSI critical value and p-value call scipy.special's chdtri/chdtrc (what
  scipy.stats.chi2.isf/sf call) instead of importing scipy.stats: identical floats;
* a PSI table from a stored profile reads the current frame once (the ±inf check rides
  on the counting pass) and raises the same error;
* ``from mlopskit.drift import psi_table`` does not import scipy.stats;
* the report's HTML exporter warmed in a thread while the kernel runs gives the same HTML.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats

from mlopskit import frames
from mlopskit.drift import profile, psi_table
from mlopskit.report import notebook as nbmod
from mlopskit.stats.psi import critical_value, psi_p_value


def test_chi2_from_special_is_scipy_stats_chi2() -> None:
    rng = np.random.default_rng(3)
    bins = np.arange(1, 61, dtype=float)
    for alpha in (0.05, 0.01, 1e-6, 0.5):
        got = critical_value(1_000.0, 250.0, bins, alpha=alpha)
        # reference: scipy.stats.chi2.isf(alpha, B - 1) * (1/N + 1/M), NaN for B < 2
        ref = np.where(bins >= 2, stats.chi2.isf(alpha, np.maximum(bins - 1, 1)), np.nan) * (
            1 / 1_000 + 1 / 250
        )
        np.testing.assert_array_equal(got, ref)
    psi = np.concatenate([rng.exponential(0.01, 500), [0.0, -0.0, -1e-12, np.nan, np.inf]])
    b = rng.integers(1, 40, psi.size).astype(float)
    got = psi_p_value(psi, 5_000.0, 800.0, b)
    stat = psi / (1 / 5_000 + 1 / 800)
    # reference: scipy.stats.chi2.sf(PSI/(1/N + 1/M), B - 1) (1 below the support)
    ref = np.where(b >= 2, stats.chi2.sf(stat, np.maximum(b - 1, 1)), np.nan)
    np.testing.assert_array_equal(got, ref)
    assert psi_p_value(0.02, 1e4, 1e3, 10) == stats.chi2.sf(0.02 / (1e-4 + 1e-3), 9)


def _frames(n: int = 4_000) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(7)

    def one(shift: float) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "x": rng.normal(shift, 1, n),
                "y": rng.exponential(1, n).astype(np.float32),
                "k": rng.integers(0, 5, n),
                "c": rng.choice(["a", "b", "c"], n),
            }
        )

    return one(0.0), one(0.2)


def test_psi_table_from_profile_reads_current_once(monkeypatch: pytest.MonkeyPatch) -> None:
    ref, cur = _frames()
    prof = profile(ref)
    calls = {"collect": 0, "collect_all": 0}
    collect, collect_all = pl.LazyFrame.collect, pl.collect_all

    def counting_collect(self: pl.LazyFrame, *a: object, **k: object) -> pl.DataFrame:
        calls["collect"] += 1
        return collect(self, *a, **k)  # type: ignore[arg-type]

    def counting_collect_all(qs: list[pl.LazyFrame], *a: object, **k: object) -> object:
        calls["collect_all"] += 1
        return collect_all(qs, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.LazyFrame, "collect", counting_collect)
    monkeypatch.setattr(pl, "collect_all", counting_collect_all)
    table = psi_table(prof, cur.lazy())
    assert calls == {"collect": 0, "collect_all": 1}
    # the same numbers as counting with the separate ±inf pass (pandas input: other path)
    again = psi_table(prof, cur.to_pandas())
    assert table.to_frame().equals(again.to_frame())


@pytest.mark.parametrize("as_pandas", [False, True])
def test_inf_is_refused_by_the_counting_pass(as_pandas: bool) -> None:
    ref, cur = _frames()
    prof = profile(ref)
    bad = cur.with_columns(
        pl.when(pl.int_range(pl.len()) < 3).then(np.inf).otherwise(pl.col("x")).alias("x")
    )
    frame = bad.to_pandas() if as_pandas else bad
    msg = r"current: features \['x'\] hold ±inf values \(\{'x': 3\} rows\)"
    with pytest.raises(ValueError, match=msg):
        psi_table(prof, frame)
    # check_binnable's own pass (kept for callers that do not count) says the same
    lf = frames.lazy(frame, frame="current")
    specs = [fp.spec for fp in prof.features]
    with pytest.raises(ValueError, match=msg):
        frames.check_binnable(lf, specs, frame="current")
    frames.check_binnable(lf, specs, frame="current", finite=False)  # schema checks only


def test_psi_table_import_leaves_scipy_stats_out() -> None:
    code = (
        "import sys; from mlopskit.drift import psi_table, profile; "
        "print('scipy.stats' in sys.modules, 'matplotlib' in sys.modules); "
        "import mlopskit.drift as d; d.outcome_drift; print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def _executed_like_notebook() -> nbformat.NotebookNode:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("## Shadow profile\n\nBoth models *scored* `x`."),
        nbmod.html_cell("<table><tr><td>1</td></tr></table>", "t"),
        nbmod.html_cell(
            f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="a">', "f"
        ),
    ]
    code = nbformat.v4.new_code_cell("print(1)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells.append(code)
    return nbmod.normalise(nb)


def test_preloaded_exporter_gives_the_same_html() -> None:
    nb = _executed_like_notebook()
    fresh = nbmod.export_html(nb, "m — rollout report")
    pre = nbmod.Preload(("json",))
    warmed = pre.exporter()
    assert warmed is not None
    assert nbmod.export_html(nb, "m — rollout report", warmed) == fresh
    assert nbmod.remote_resources(fresh) == []


def test_failed_preload_is_ignored() -> None:
    pre = nbmod.Preload(("mlopskit.no_such_module",))
    assert pre.exporter() is None
    nb = _executed_like_notebook()
    assert "Shadow profile" in nbmod.export_html(nb, "t", pre.exporter())


def test_polars_counting_pass_equals_the_generic_one() -> None:
    """polars' native boolean sums give the generic (pandas) path's counts: NaN, nulls,
    NaN and nulls in one column, ties on an edge, integers, float32, an all-missing
    column."""
    rng = np.random.default_rng(11)
    n = 3_000
    x = rng.normal(0, 1, n)
    x[:40] = np.nan
    k = rng.integers(0, 4, n)
    cur = pl.DataFrame(
        {
            "x": x,
            "k": k,
            "f32": rng.exponential(1, n).astype(np.float32),
            "tie": np.repeat([0.0, 1.0, 2.0], n // 3),
            "none": np.full(n, np.nan),
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) % 17 == 0).then(None).otherwise("k").alias("k"),
        pl.when(pl.int_range(pl.len()) % 13 == 0).then(None).otherwise("x").alias("xn"),
    )
    specs = [
        frames.BinSpec("x", "numeric", edges=(-1.0, -0.25, 0.0, 0.5, 1.2)),
        frames.BinSpec("k", "numeric", edges=(0.0, 1.0, 2.0)),
        frames.BinSpec("f32", "numeric", edges=(float(np.float32(0.1)), 0.5, 1.0, 2.5)),
        frames.BinSpec("tie", "numeric", edges=(0.0, 1.0)),
        frames.BinSpec("none", "numeric", edges=(0.0,)),
        frames.BinSpec("xn", "numeric", edges=(-0.5, 0.0, 0.7)),  # NaN and nulls
    ]
    _, n_pl, c_pl = frames.bin_counts(frames.lazy(cur, frame="c"), specs, finite_check="c")
    _, n_pd, c_pd = frames.bin_counts(frames.lazy(cur.to_pandas(), frame="c"), specs)
    np.testing.assert_array_equal(n_pl, n_pd)
    for s in specs:
        np.testing.assert_array_equal(c_pl[s.feature], c_pd[s.feature])
    # numpy oracle for x: bin = number of edges below the value, missing last
    xs = cur["x"].to_numpy()
    valid = xs[~np.isnan(xs)]
    want = np.bincount(np.searchsorted(specs[0].edges, valid, side="left"), minlength=6)
    np.testing.assert_array_equal(c_pl["x"][0], [*want, np.isnan(xs).sum()])


def _exact_by_partition(x: np.ndarray, n: int, bins: int) -> frames.NumericReference:
    """The round-2 exact path (np.partition with the kth ranks, then one ``x ≤ q`` count per
    order statistic), kept here as the oracle of the sort-based one."""
    from mlopskit.frames.reference import _edges_and_counts
    from mlopskit.stats.psi import order_statistic_index

    x = x[~np.isnan(x)]
    m = int(x.size)
    if m == 0:
        return _edges_and_counts(np.array([]), np.array([]), 0, n, np.nan, np.nan)
    ks = order_statistic_index(m, bins)
    q = np.partition(x, ks)[ks]
    le = np.array([np.count_nonzero(x <= v) for v in q], dtype=float)
    return _edges_and_counts(q, le, m, n, float(x.min()), float(x.max()))


def test_sorted_exact_reference_equals_the_partition_path() -> None:
    """One sort + binary searches give the same edges, counts, min and max as partition +
    counting passes: NaN (first, last, everywhere), ties across edges, a point mass, ±inf,
    integers, a constant, one value, all-missing, fewer rows than bins."""
    from mlopskit.frames.reference import _exact_numpy

    rng = np.random.default_rng(5)
    n = 10_007
    heavy = rng.lognormal(2, 1.5, n).round(1)
    mass = np.where(rng.random(n) < 0.6, 0.0, rng.exponential(3, n))
    nan = rng.normal(size=n)
    nan[rng.random(n) < 0.3] = np.nan
    nan[0] = nan[-1] = np.nan
    infs = rng.normal(size=n)
    infs[:3], infs[-2:] = -np.inf, np.inf
    cases = {
        "heavy": heavy,
        "mass": mass,
        "nan": nan,
        "infs": infs,
        "ints": rng.poisson(1.5, n).astype(float),
        "const": np.full(n, 2.5),
        "one": np.array([np.nan, 7.0, np.nan]),
        "empty": np.full(50, np.nan),
        "few": np.array([3.0, 1.0, 2.0]),
        "f32": rng.random(n).astype(np.float32).astype(float),
    }
    for name, x in cases.items():
        for bins in (2, 7, 10, 20):
            got = _exact_numpy(x.copy(), x.size, bins)
            want = _exact_by_partition(x.copy(), x.size, bins)
            assert got.edges == want.edges and got.counts == want.counts, (name, bins)
            assert (got.n_valid, got.n_missing) == (want.n_valid, want.n_missing), name
            np.testing.assert_array_equal([got.min, got.max], [want.min, want.max], name)


def test_pandas_nullable_columns_profile_like_polars() -> None:
    """pandas nullable dtypes (Float64, Int64, string with pd.NA) take the in-memory numpy
    path: the same edges and counts as polars, pd.NA counted as missing (not '<NA>')."""
    df = pd.DataFrame(
        {
            "a": pd.array([1.5, None, 2.0, 3.0] * 10, dtype="Float64"),
            "b": pd.array([1, None, 2, 3] * 10, dtype="Int64"),
            "c": pd.Series(["x", None, "y", "x"] * 10, dtype="string"),
        }
    )
    got = frames.reference_counts(frames.lazy(df), ["a", "b"], ["c"], 4)
    want = frames.reference_counts(frames.lazy(pl.from_pandas(df)), ["a", "b"], ["c"], 4)
    assert got.numeric == want.numeric and got.n == want.n == 40
    assert got.categorical == want.categorical == {"c": (["x", "y"], [20, 10], 10)}


def _parquet_with_categories(path: Path) -> pd.DataFrame:
    """Three row groups with different dictionaries, nulls, one plain-encoded string
    column, a numeric column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    parts = []
    for g, cats in enumerate((list("abc"), list("bcdef"), ["a", "z", "é", ""])):
        n = 5_000 + 1_000 * g
        c = np.array(cats, dtype=object)[rng.integers(0, len(cats), n)]
        c[rng.random(n) < 0.07] = None
        parts.append(
            pd.DataFrame(
                {
                    "c": c,
                    "plain": c[::-1].copy(),
                    "x": rng.normal(size=n),
                    "k": rng.integers(0, 3, n),
                }
            )
        )
    writer = None
    for p in parts:
        t = pa.Table.from_pandas(p, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, t.schema, use_dictionary=["c"])
        writer.write_table(t)
    assert writer is not None
    writer.close()
    return pd.concat(parts, ignore_index=True)


def test_dictionary_page_counts_equal_the_polars_group_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parquet path counts its string categories from the dictionary pages (pyarrow
    indices + bincount); the counts equal polars' group-by on the same data, on both
    sides (reference profile and current counts), nulls and row groups with different
    dictionaries included; anything but the plain scan of one file takes polars."""
    from mlopskit.frames import parquet_counts

    path = tmp_path / "d.parquet"
    df = _parquet_with_categories(path)
    calls: list[tuple[str, ...]] = []
    orig = parquet_counts.dictionary_counts

    def spy(p: Path, cols: Sequence[str]) -> dict[str, tuple[list[Any], list[int]]]:
        calls.append(tuple(cols))
        return orig(p, cols)

    monkeypatch.setattr("mlopskit.frames.drift.dictionary_counts", spy)
    monkeypatch.setattr("mlopskit.frames.reference.dictionary_counts", spy)
    in_memory = pl.read_parquet(path)
    got = frames.reference_counts(frames.lazy(path), ["x"], ["c", "plain"], 10)
    want = frames.reference_counts(frames.lazy(in_memory), ["x"], ["c", "plain"], 10)
    assert calls == [("c", "plain")]
    assert got == want
    vc = df["c"].value_counts()  # pandas oracle, most frequent first
    assert got.categorical["c"][1] == [int(v) for v in vc.to_numpy()]
    assert got.categorical["c"][2] == int(df["c"].isna().sum())
    prof = profile(in_memory, features=["x", "c", "plain", "k"], categorical=["k"])
    for names, via_dictionary in ((["x", "c", "plain"], True), (["x", "c", "k"], False)):
        specs = [prof.feature(f).spec for f in names]
        k = len(calls)
        _, n1, c1 = frames.bin_counts(frames.lazy(path), specs, finite_check="current")
        _, n2, c2 = frames.bin_counts(frames.lazy(in_memory), specs, finite_check="current")
        # k is an integer column counted as a category: polars counts them all
        assert len(calls) == k + via_dictionary
        np.testing.assert_array_equal(n1, n2)
        for s in specs:
            np.testing.assert_array_equal(c1[s.feature], c2[s.feature], err_msg=s.feature)
    # a renamed scan is a new frame: polars group-by
    k = len(calls)
    renamed = frames.lazy(path).rename({"c": "c2"})
    frames.reference_counts(renamed, [], ["c2"], 10)
    assert len(calls) == k


def test_duckdb_counts_each_side_in_one_query(monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB: the reference profile and the current counts are one query each, with the
    polars path's numbers (categories with nulls, numeric NaN, an integer category); an
    empty current frame still gives its (zero) counts."""
    import duckdb

    from mlopskit.frames import inputs

    rng = np.random.default_rng(9)
    n = 4_000
    df = pd.DataFrame(
        {
            "x": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(0, 1, n)),
            "m": np.where(rng.random(n) < 0.5, 0.0, rng.exponential(1, n)),
            "c": pd.Series(np.array(list("abcd"), dtype=object)[rng.integers(0, 4, n)]),
            "k": rng.integers(0, 3, n),
        }
    )
    df.loc[rng.random(n) < 0.05, "c"] = None
    calls: list[int] = []
    orig = inputs.collect_native

    def spy(lf: Any) -> Any:
        calls.append(1)
        return orig(lf)

    monkeypatch.setattr(inputs, "collect_native", spy)
    con = duckdb.connect()
    feats = ["x", "m", "c", "k"]
    p_duck = profile(con.from_df(df), features=feats, categorical=["k"])
    assert len(calls) == 1
    p_pl = profile(pl.from_pandas(df), features=feats, categorical=["k"])
    assert p_duck == p_pl
    cur = df.sample(frac=1.0, random_state=1).assign(x=lambda d: d["x"] * 1.2)
    specs = [fp.spec for fp in p_pl.features]
    calls.clear()
    _, n_d, c_d = frames.bin_counts(frames.lazy(con.from_df(cur)), specs, finite_check="c")
    assert len(calls) == 1
    _, n_p, c_p = frames.bin_counts(frames.lazy(pl.from_pandas(cur)), specs, finite_check="c")
    np.testing.assert_array_equal(n_d, n_p)
    for s in specs:
        np.testing.assert_array_equal(c_d[s.feature], c_p[s.feature], err_msg=s.feature)
    _, n0, c0 = frames.bin_counts(frames.lazy(con.from_df(cur.iloc[:0])), specs)
    assert n0.tolist() == [0.0] and all(c0[s.feature].sum() == 0 for s in specs)


def test_native_dtype_sorts_equal_the_float64_path() -> None:
    """float32 and integer arrays sorted in their own dtype (round 4) give the float64
    path's edges, counts, min and max: NaN in float32, negative integers, integers beyond
    2⁵³ (they take the float64 path), unsigned, a constant, fewer rows than bins."""
    from mlopskit.frames.reference import _exact_numpy

    rng = np.random.default_rng(8)
    n = 9_001
    f32 = rng.standard_normal(n).astype(np.float32)
    f32[rng.random(n) < 0.1] = np.nan
    big = rng.integers(-3, 4, n).astype(np.int64) + 2**53
    cases: dict[str, np.ndarray] = {
        "f32": f32,
        "f32_ties": rng.integers(0, 5, n).astype(np.float32),
        "i64": rng.poisson(2.0, n).astype(np.int64) - 3,
        "i32": rng.integers(-1000, 1000, n).astype(np.int32),
        "u8": rng.integers(0, 7, n).astype(np.uint8),
        "big": big,  # 2⁵³ ± 3: the float64 cast merges neighbours; the fallback must too
        "const": np.full(n, 4, dtype=np.int64),
        "few": np.array([5, -2, 9], dtype=np.int16),
    }
    scratch = np.empty(8 * n + 24, dtype=np.uint8)  # one worker's reused sort buffer
    for name, x in cases.items():
        for bins in (2, 10, 13):
            got = _exact_numpy(x.copy(), x.size, bins)
            want = _exact_numpy(x.astype(np.float64), x.size, bins)
            assert got == want, (name, bins)
            assert _exact_numpy(x, x.size, bins, scratch) == want, (name, bins)
            assert all(type(e) is float for e in got.edges), name
    small = np.empty(8, dtype=np.uint8)  # too small: sorts a fresh copy
    assert _exact_numpy(f32, n, 10, small) == _exact_numpy(f32.astype(float), n, 10)


def test_polars_native_dtypes_profile_like_pandas_floats() -> None:
    """A polars frame whose columns keep their dtype (Int64 with and without nulls, Int32,
    UInt16, Float32 with NaN and nulls, Boolean cast as before) gives the numbers of the
    pandas path, which casts every column to float64 first."""
    rng = np.random.default_rng(9)
    n = 5_000
    f32 = rng.exponential(1.0, n).astype(np.float32)
    f32[:30] = np.nan
    df = pl.DataFrame(
        {
            "i64": rng.integers(-50, 50, n),
            "i32": rng.integers(0, 9, n).astype(np.int32),
            "u16": rng.integers(0, 300, n).astype(np.uint16),
            "f32": f32,
            "b": rng.random(n) < 0.3,
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) % 11 == 0).then(None).otherwise("i64").alias("i64n"),
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise("f32").alias("f32n"),
    )
    names = ["i64", "i32", "u16", "f32", "b", "i64n", "f32n"]
    got = frames.reference_counts(frames.lazy(df), names, [], 10)
    want = frames.reference_counts(frames.lazy(df.to_pandas()), names, [], 10)
    assert got.numeric == want.numeric
    assert got.numeric["i64n"].n_missing == (n + 10) // 11


def _generic_counts(names: Sequence[str], edges: dict[str, tuple[float, ...]]) -> list[Any]:
    """The round-3 counting select of the sampled path (narwhals Int64 indicators), kept
    here as the oracle of the polars boolean sums."""
    import narwhals.stable.v2 as nw

    out: list[Any] = []
    for j, f in enumerate(names):
        c = nw.col(f).cast(nw.Float64)
        v = nw.when(~c.is_nan()).then(c)
        out += [v.count().alias(f"__m{j}"), v.min().alias(f"__min{j}")]
        out += [v.max().alias(f"__max{j}")]
        out += [
            (v <= float(e)).fill_null(False).cast(nw.Int64).sum().alias(f"__le{j}_{k}")
            for k, e in enumerate(edges[f])
        ]
    return out


def test_sampled_counting_pass_equals_the_generic_indicators() -> None:
    """The sampled reference's exact counting pass (polars boolean sums, min and max that
    skip NaN) equals the generic Int64-indicator select: NaN and nulls in one column,
    ±inf, ties on an edge, integers with nulls, float32, an all-NaN column; and a sampled
    profile of such a frame keeps its counts exact (they add up to the row count)."""
    import narwhals.stable.v2 as nw

    from mlopskit.frames.reference import _sample_counts

    rng = np.random.default_rng(12)
    n = 4_000
    x = rng.normal(0, 1, n)
    x[:50] = np.nan
    x[50:53] = np.inf
    x[53] = -np.inf
    df = pl.DataFrame(
        {
            "x": x,
            "tie": np.repeat([0.0, 1.0, 2.0, 3.0], n // 4),
            "f32": rng.exponential(1, n).astype(np.float32),
            "nan": np.full(n, np.nan),
            "k": rng.integers(0, 5, n),
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) % 9 == 0).then(None).otherwise("x").alias("x"),
        pl.when(pl.int_range(pl.len()) % 5 == 0).then(None).otherwise("k").alias("k"),
    )
    edges = {
        "x": (-1.0, 0.0, 0.3, 1.5),
        "tie": (0.0, 1.0, 2.0),
        "f32": (float(np.float32(0.2)), 1.0, 3.0),
        "nan": (0.0,),
        "k": (1.0, 2.0, 3.0),
    }
    names = list(edges)
    lf = frames.lazy(df)
    got = _sample_counts(lf, names, edges, frames.schema(lf))
    want = frames.collect(lf.select(nw.len().alias("__n"), *_generic_counts(names, edges)))
    want = want.iloc[0]
    for j, f in enumerate(names):
        keys = [f"__m{j}", *[f"__le{j}_{k}" for k in range(len(edges[f]))]]
        assert [int(got[k]) for k in keys] == [int(want[k]) for k in keys], f
        if int(want[f"__m{j}"]):
            assert float(got[f"__min{j}"]) == float(want[f"__min{j}"]), f
            assert float(got[f"__max{j}"]) == float(want[f"__max{j}"]), f
    assert int(got["__n"]) == n
    rc = frames.reference_counts(
        frames.lazy(df.drop("x")), ["tie", "f32", "nan", "k"], [], 10, sample=1_000
    )
    assert rc.method == "sample"
    assert all(sum(r.counts) == n for r in rc.numeric.values())
