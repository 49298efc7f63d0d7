"""Reference profiles, PSI tables, PSI over time and output drift (every backend)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlopskit import drift
from mlopskit.stats.multiple import benjamini_hochberg
from mlopskit.stats.psi import bin_index, critical_value, psi_from_counts, quantile_edges

Backend = Callable[[pd.DataFrame], Any]


def _frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = np.where(rng.random(n) < 0.25, 0.0, rng.lognormal(3 + shift, 1.0, n))
    age = rng.exponential(400, n)
    age[rng.random(n) < 0.05] = np.nan  # 5% missing
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "amount": amount,
            "age": age,
            "count": rng.poisson(2, n),
            "channel": rng.choice(["pos", "web", "app"], n, p=[0.5, 0.3, 0.2]),
        }
    )


# ---- profile --------------------------------------------------------------------------------
def test_profile_counts_match_numpy_binning_and_round_trip_exactly(backend_ref: Any) -> None:
    ref_df, prof = backend_ref
    assert prof.n == len(ref_df)
    for name in ("x", "amount", "age", "count"):
        fp = prof.feature(name)
        values = ref_df[name].to_numpy(dtype=float)
        edges = quantile_edges(values, 10)
        assert fp.edges == tuple(edges)
        expected = np.bincount(bin_index(values, edges), minlength=edges.size + 2)
        assert fp.counts == tuple(int(v) for v in expected)
    ch = prof.feature("channel")
    assert ch.kind == "categorical" and ch.categories == ("pos", "web", "app")
    assert ch.counts[:3] == tuple(
        int(v) for v in ref_df.channel.value_counts()[["pos", "web", "app"]]
    )
    assert ch.labels[-2:] == ("__other__", "__missing__")
    # exact JSON round trip, to text and to a file
    text = prof.to_json()
    back = drift.ReferenceProfile.from_json(text)
    assert back == prof
    assert back.feature("x").edges == prof.feature("x").edges  # bit for bit


@pytest.fixture
def backend_ref(to_backend: Backend) -> tuple[pd.DataFrame, drift.ReferenceProfile]:
    df = _frame(5_000, 1)
    return df, drift.profile(to_backend(df))


def test_profile_is_the_same_on_every_backend_and_file_round_trip(
    to_backend: Backend, tmp_path: Any
) -> None:
    df = _frame(3_000, 2).assign(ts=pd.date_range("2026-01-01", periods=3_000, freq="min"))
    base = drift.profile(df, score="x", ts="ts", features=["amount", "age", "channel"])
    prof = drift.profile(to_backend(df), score="x", ts="ts", features=["amount", "age", "channel"])
    assert prof == base
    assert prof.score is not None and prof.score.feature == "x"
    assert prof.period == ("2026-01-01T00:00:00", "2026-01-03T01:59:00")
    path = tmp_path / "profile.json"
    prof.to_json(path)
    assert drift.ReferenceProfile.from_json(path) == prof
    assert "amount" in prof.to_frame().feature.tolist()


# ---- psi_table ---------------------------------------------------------------------------------
def test_psi_table_matches_the_statistics_from_counts(to_backend: Backend) -> None:
    ref, cur = _frame(20_000, 3), _frame(8_000, 4, shift=0.2)
    prof = drift.profile(ref)
    table = drift.psi_table(prof, to_backend(cur))
    for name in ("x", "amount"):
        values = ref[name].to_numpy(dtype=float)
        edges = quantile_edges(values, 10)
        rc = np.bincount(bin_index(values, edges), minlength=edges.size + 2)
        cc = np.bincount(
            bin_index(cur[name].to_numpy(dtype=float), edges), minlength=edges.size + 2
        )
        keep = (rc > 0) | (cc > 0)  # the (empty) missing bin is dropped
        row = table.row(name)
        assert row.bins == int(keep.sum())
        assert row.psi == pytest.approx(psi_from_counts(rc[keep], cc[keep]), rel=1e-12)
        assert row.critical_value == pytest.approx(
            stats.chi2.ppf(0.95, row.bins - 1) * (1 / 20_000 + 1 / 8_000), rel=1e-12
        )
        assert row.p_value == pytest.approx(
            stats.chi2.sf(row.psi / (1 / 20_000 + 1 / 8_000), row.bins - 1), rel=1e-9
        )
    # BH across the table's features
    df = table.to_frame()
    np.testing.assert_allclose(df.p_value_bh, benjamini_hochberg(df.p_value), rtol=1e-12)
    assert list(df.columns) == [
        "feature",
        "kind",
        "psi",
        "n_reference",
        "n_current",
        "bins",
        "critical_value",
        "p_value",
        "p_value_bh",
        "status",
        "top_bins",
    ]
    # the same numbers from a frame reference (profiled on the fly) and from psi() on arrays
    assert drift.psi_table(ref, to_backend(cur)).to_frame().equals(df)
    single = drift.psi(ref.x.to_numpy(), cur.x.to_numpy())
    assert single.psi == pytest.approx(table.row("x").psi, rel=1e-12)


def test_psi_of_the_reference_against_itself_is_zero(to_backend: Backend) -> None:
    ref = _frame(4_000, 5)
    table = drift.psi_table(drift.profile(ref), to_backend(ref))
    assert all(r.psi == 0.0 and r.status == "stable" for r in table.rows)


def test_categorical_unseen_and_missing_bins(to_backend: Backend) -> None:
    ref = _frame(10_000, 6)
    cur = _frame(10_000, 7)
    cur.loc[:1499, "channel"] = "kiosk"  # unseen in the reference → __other__
    cur.loc[1500:1999, "channel"] = None  # → __missing__
    table = drift.psi_table(drift.profile(ref), to_backend(cur))
    row = table.row("channel")
    assert row.bin_labels[-2:] == ("__other__", "__missing__")
    assert row.current_counts[-2:] == (1500.0, 500.0) and row.reference_counts[-2:] == (0.0, 0.0)
    assert row.status == "significant"
    assert row.top_bins(1).startswith("__other__")
    bins = table.bins_frame()
    assert set(bins.columns) >= {
        "feature",
        "bin",
        "reference_share",
        "current_share",
        "contribution",
    }
    chan = bins[bins.feature == "channel"]
    assert chan.contribution.sum() == pytest.approx(row.psi, rel=1e-12)


def test_bad_input_errors(to_backend: Backend) -> None:
    prof = drift.profile(_frame(2_000, 8))
    cur = _frame(2_000, 9)
    with pytest.raises(
        ValueError, match=r"current: feature `age` is missing \(it is in the reference"
    ):
        drift.psi_table(prof, to_backend(cur.drop(columns=["age"])))
    with pytest.raises(
        ValueError,
        match="feature `x` is numeric in the reference profile and must have a numeric dtype; found dtype String",
    ):
        drift.psi_table(prof, to_backend(cur.assign(x=cur.x.astype(str))))
    with pytest.raises(ValueError, match="current: the frame has no rows"):
        drift.psi_table(prof, to_backend(cur.iloc[:0]))
    with pytest.raises(ValueError, match="reference profile has no feature `nope`"):
        drift.psi_table(prof, to_backend(cur), features=["nope"])


def test_constant_and_all_missing_features_give_nan_and_named_warnings(
    to_backend: Backend,
) -> None:
    ref = _frame(3_000, 10).assign(const=7.0, empty=np.nan)
    cur = _frame(3_000, 11).assign(const=7.0, empty=np.nan)
    cur.loc[:, "age"] = np.nan  # everything missing now: a pipeline break
    table = drift.psi_table(drift.profile(to_backend(ref)), to_backend(cur))
    for name, words in (
        ("const", "constant in the reference"),
        ("empty", "all values are missing"),
    ):
        row = table.row(name)
        assert math.isnan(row.psi) and row.status == "insufficient_data"
        assert any(f"feature `{name}`: {words}" in w for w in table.warnings)
    age = table.row("age")
    assert age.status == "significant"  # the missing bin took all the mass
    assert any("feature `age`: all current values are missing" in w for w in table.warnings)
    assert table.row("x").status == "stable"  # the rest of the table is still valid


def test_small_window_is_insufficient_not_stable(to_backend: Backend) -> None:
    prof = drift.profile(_frame(50_000, 12))
    small = drift.psi_table(prof, to_backend(_frame(120, 13)))
    row = small.row("x")
    assert row.critical_value >= 0.10  # 120 rows: c_α(50000, 120, B) ≥ τ
    assert row.status == "insufficient_data"
    # 5 expected per bin in the 120-row sample → at most 24 bins, and every merged bin ≥ 5·
    assert all(120 * r / sum(row.reference_counts) >= 5 for r in row.reference_counts)
    tiny = drift.psi_table(prof, to_backend(_frame(8, 14)))
    assert math.isnan(tiny.row("x").psi)
    assert any("fewer than 2 bins" in w for w in tiny.warnings)


def test_known_reference_uses_one_over_m(to_backend: Backend) -> None:
    prof = drift.profile(_frame(10_000, 15))
    t = drift.psi_table(prof, to_backend(_frame(2_000, 16)), known_reference=True)
    row = t.row("x")
    assert row.critical_value == pytest.approx(critical_value(math.inf, 2_000, row.bins), rel=1e-12)
    assert t.known_reference


@pytest.mark.parametrize(("shift", "status"), [(0.4, "moderate"), (0.8, "significant")])
def test_mean_shift_on_1e4_rows(to_backend: Backend, shift: float, status: str) -> None:
    rng = np.random.default_rng(17)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 10_000)})
    cur = pd.DataFrame({"x": rng.normal(shift, 1, 10_000)})
    assert drift.psi_table(ref, to_backend(cur)).row("x").status == status


@pytest.mark.slow
def test_mean_shift_status_is_reliable_over_seeds() -> None:
    """On 10⁴ vs 10⁴ rows a 0.4 SD shift is moderate and a 0.8 SD shift significant in every
    one of 200 seeded replicates (population decile PSI 0.153 and 0.600), and no shift is
    stable with an alarm rate ≤ α."""
    rng = np.random.default_rng(18)
    out: dict[float, list[str]] = {0.0: [], 0.4: [], 0.8: []}
    for _ in range(200):
        x = rng.normal(0, 1, 10_000)
        for shift in out:
            out[shift].append(drift.psi(x, rng.normal(shift, 1, 10_000)).status)
    assert set(out[0.4]) == {"moderate"}
    assert set(out[0.8]) == {"significant"}
    assert set(out[0.0]) == {"stable"}


@pytest.mark.slow
def test_tiny_shift_on_1e6_rows_is_detectable_yet_stable(to_backend: Backend) -> None:
    rng = np.random.default_rng(19)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 1_000_000)})
    cur = pd.DataFrame({"x": rng.normal(0.05, 1, 1_000_000)})
    row = drift.psi_table(ref, to_backend(cur)).row("x")
    assert row.p_value < 0.001  # statistically detectable …
    assert row.psi < 0.01 and row.status == "stable"  # … and far below τ = 0.1


# ---- psi over time ------------------------------------------------------------------------------
def test_psi_over_time_equals_a_table_per_window(to_backend: Backend) -> None:
    prof = drift.profile(_frame(20_000, 20))
    cur = pd.concat(
        [_frame(3_000, 21 + d, shift=0.5 * (d >= 3)) for d in range(5)], ignore_index=True
    )
    cur["ts"] = pd.Timestamp("2026-03-01") + pd.to_timedelta(
        np.repeat(np.arange(5), 3_000), unit="D"
    )
    cur["ts"] += pd.to_timedelta(np.tile(np.linspace(0, 86_000, 3_000), 5), unit="s")
    ot = drift.psi_over_time(prof, to_backend(cur), window="1D")
    assert ot.windows == tuple(pd.Timestamp("2026-03-01") + pd.Timedelta(days=d) for d in range(5))
    for d, w in enumerate(ot.windows):
        day = cur[(cur.ts >= w) & (cur.ts < w + pd.Timedelta(days=1))].drop(columns=["ts"])
        expected = drift.psi_table(prof, day).to_frame()
        got = ot.table(w).to_frame()
        pd.testing.assert_frame_equal(got, expected)
        assert ("x" in ot.table(w).flagged) == (d >= 3)
    tidy = ot.to_frame()
    assert list(tidy.columns[:2]) == ["window_start", "feature"] and len(tidy) == 5 * 5
    assert ot.matrix().shape == (5, 5)


# ---- output drift ---------------------------------------------------------------------------------
def _scores(days: int, per_day: int, seed: int, drift_day: int | None = None, wobble: float = 0.0):
    rng = np.random.default_rng(seed)
    day = np.repeat(np.arange(days), per_day)
    ts = pd.Timestamp("2026-05-01") + pd.to_timedelta(day + rng.uniform(0, 1, day.size), unit="D")
    day_effect = rng.normal(0, wobble, days)[day]  # extra day-to-day variability
    x = rng.normal(-4 + day_effect, 1.2) + (
        0.35 if drift_day is None else 0.35 * (day >= drift_day)
    )
    return pd.DataFrame({"ts": ts, "score": 1 / (1 + np.exp(-x))})


def test_output_drift_band_and_flags(to_backend: Backend) -> None:
    data = _scores(60, 2_000, 22, drift_day=40)
    ref = ("2026-05-01", "2026-05-29")
    res = drift.output_drift(to_backend(data), reference_period=ref, window="1D")
    df = res.to_frame()
    assert df.in_reference.sum() == 28 and res.n_reference == 28 * 2_000
    post = df.window_start >= pd.Timestamp("2026-05-01") + pd.Timedelta(days=40)
    assert df.out_of_band[post].all()
    assert df.out_of_band[~post].sum() <= 1
    assert res.flagged_windows[0] == pd.Timestamp("2026-06-10")
    # band = overdispersion · χ²_{B−1, 1−band_alpha} · (1/N + 1/M) for a non-reference window
    i = int(np.flatnonzero(~df.in_reference)[0])
    cv = stats.chi2.isf(0.01, df.bins[i] - 1) * (1 / res.n_reference + 1 / df.n[i])
    assert df.critical_value[i] == pytest.approx(cv, rel=1e-12)
    assert df.band_upper[i] == pytest.approx(res.overdispersion * cv, rel=1e-12)
    # reference windows are compared with the reference minus themselves (leave one out)
    edges = np.asarray(res.edges)
    in_ref = (data.ts >= "2026-05-01") & (data.ts < "2026-05-29")
    first = data.ts < "2026-05-02"
    whole = np.bincount(bin_index(data.score[in_ref], edges), minlength=edges.size + 2)
    day0 = np.bincount(bin_index(data.score[first], edges), minlength=edges.size + 2)
    keep = whole > 0
    assert df.psi[0] == pytest.approx(psi_from_counts((whole - day0)[keep], day0[keep]), rel=1e-12)
    assert res.reference_psi_max == pytest.approx(df.psi[df.in_reference].max())


def test_output_drift_band_widens_with_the_reference_periods_own_variability(
    to_backend: Backend,
) -> None:
    calm = drift.output_drift(
        to_backend(_scores(30, 2_000, 23)), reference_period=("2026-05-01", "2026-05-29")
    )
    noisy = drift.output_drift(
        to_backend(_scores(30, 2_000, 23, wobble=0.08)),
        reference_period=("2026-05-01", "2026-05-29"),
    )
    assert calm.overdispersion < 1.3
    assert noisy.overdispersion > 2.0
    assert np.nanmedian(noisy.band_upper) > 2 * np.nanmedian(calm.band_upper)


def test_output_drift_bad_input(to_backend: Backend) -> None:
    data = _scores(10, 200, 24)
    with pytest.raises(ValueError, match="no rows in `reference_period`"):
        drift.output_drift(to_backend(data), reference_period=("2025-01-01", "2025-02-01"))
    with pytest.raises(ValueError, match=r"column `score` must lie in \[0, 1\]"):
        drift.output_drift(
            to_backend(data.assign(score=data.score + 1)),
            reference_period=("2026-05-01", "2026-05-05"),
        )
    res = drift.output_drift(to_backend(data), reference_period=("2026-05-01", "2026-05-03"))
    assert res.overdispersion == 1.0
    assert any("reference period has 2 usable complete windows" in w for w in res.warnings)


# ---- rendering and plots ----------------------------------------------------------------------------
def test_results_render_escaped_html_text_and_plots(to_backend: Backend) -> None:
    ref = _frame(5_000, 25).rename(columns={"x": "<b>x</b>"})
    cur = _frame(5_000, 26, shift=0.6).rename(columns={"x": "<b>x</b>"})
    table = drift.psi_table(drift.profile(ref), to_backend(cur))
    html = table._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "flagged" in table.summary()
    ax = table.plot()
    assert ax.get_title() == "Input drift: PSI per feature" and ax.get_xlabel() == "PSI"
    assert len(ax.patches) == len(table.rows)
    vlines = [
        ln.get_xdata()[0]
        for ln in ax.lines
        if len(set(ln.get_xdata())) == 1 and ln.get_linestyle() == "--"
    ]
    assert sorted(vlines) == [0.10, 0.25]
    plt.close("all")
    cur["ts"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(5_000) % 3, unit="D")
    heat = drift.psi_over_time(drift.profile(ref), to_backend(cur)).plot()
    assert heat.get_title().startswith("Input drift over time") and heat.get_ylabel() == "feature"
    out = drift.output_drift(
        to_backend(_scores(20, 500, 27, drift_day=15)),
        reference_period=("2026-05-01", "2026-05-11"),
    )
    ax2 = out.plot()
    assert ax2.get_title() == "Output drift: score distribution per window"
    assert ax2.get_ylabel() == "PSI vs reference period"
    assert "2026-05-16" in out._repr_html_()
    plt.close("all")


def test_single_pair_result_and_profile_render_and_plot() -> None:
    rng = np.random.default_rng(28)
    res = drift.psi(rng.normal(0, 1, 5_000), rng.normal(0.5, 1, 5_000))
    assert res.status == "moderate"
    assert res.to_frame().psi[0] == res.psi and res.to_frame().status[0] == "moderate"
    assert res.bins_frame().contribution.sum() == pytest.approx(res.psi, rel=1e-12)
    assert "PSI of `x`" in res.summary() and "(-inf," in res._repr_html_()
    ax = res.plot()
    assert len(ax.patches) == 2 * res.bins and ax.get_ylabel() == "share of rows"
    cat = drift.psi(["a", "b", None] * 1000, ["a", "c", None] * 1000)
    assert cat.kind == "categorical" and cat.bin_labels[-2:] == ("__other__", "__missing__")
    prof = drift.profile(_frame(2_000, 29))
    ax2 = prof.plot("channel")
    assert ax2.get_title().startswith("Reference profile: channel")
    assert [t.get_text() for t in ax2.get_xticklabels()] == list(prof.feature("channel").labels)
    assert "channel" in prof._repr_html_() and "5 features" in prof.summary()
    plt.close("all")


def test_output_drift_tiny_window_is_nan_with_a_warning(to_backend: Backend) -> None:
    data = _scores(20, 500, 30)
    data = pd.concat(
        [data, pd.DataFrame({"ts": [pd.Timestamp("2026-05-25 12:00")], "score": [0.01]})]
    )
    res = drift.output_drift(to_backend(data), reference_period=("2026-05-01", "2026-05-15"))
    df = res.to_frame()
    row = df[df.window_start == pd.Timestamp("2026-05-25")].iloc[0]
    assert row.n == 1 and math.isnan(row.psi) and row.status == "insufficient_data"
    assert any("2026-05-25 00:00:00: too few scores (1) for 2 bins" in w for w in res.warnings)


def test_duckdb_relations_give_the_same_results() -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    ref, cur = _frame(4_000, 31), _frame(4_000, 32, shift=0.3)
    cur["ts"] = pd.Timestamp("2026-02-01") + pd.to_timedelta(np.arange(4_000) % 4, unit="D")
    prof = drift.profile(con.from_df(ref))  # order statistics by rank: no "lower" quantile
    assert prof == drift.profile(ref)
    pd.testing.assert_frame_equal(
        drift.psi_table(prof, con.from_df(cur)).to_frame(), drift.psi_table(prof, cur).to_frame()
    )
    pd.testing.assert_frame_equal(
        drift.psi_over_time(prof, con.from_df(cur), window="2D").to_frame(),
        drift.psi_over_time(prof, cur, window="2D").to_frame(),
    )
    scores = _scores(12, 300, 33)
    a = drift.output_drift(con.from_df(scores), reference_period=("2026-05-01", "2026-05-08"))
    b = drift.output_drift(scores, reference_period=("2026-05-01", "2026-05-08"))
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
