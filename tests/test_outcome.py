"""Outcome statistics (DeLong, O/E, Brier, ECE, top-k) and outcome_drift on matured labels."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from _auc_reference import brute_delong
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from mlopskit.drift.outcome import outcome_drift
from mlopskit.stats.auc import DeLongAUC, auc_drop_test, delong_auc, delong_paired
from mlopskit.stats.calibration import expit, logit
from mlopskit.stats.outcome import (
    brier_score,
    ece_reference_normal,
    equal_mass_bins,
    expected_calibration_error,
    observed_expected,
    top_k_quantile,
    top_k_threshold,
)


# ---- DeLong vs brute force ----------------------------------------------------------------
def _tied_sample(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    a = np.round(rng.normal(y * 0.9, 1.0), 1)  # rounding → many ties, also across classes
    b = np.round(a + rng.normal(0, 0.8, n), 0)
    return a, b, y


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_delong_matches_brute_force_with_ties(seed: int) -> None:
    a, _, y = _tied_sample(seed)
    assert len(np.unique(a)) < a.size / 3  # ties are really there
    auc, v10, v01 = brute_delong(a, y)
    m, n = int(y.sum()), int((1 - y).sum())
    var = np.var(v10[0], ddof=1) / m + np.var(v01[0], ddof=1) / n
    d = delong_auc(a, y)
    assert d.auc == pytest.approx(auc[0], rel=1e-12)
    assert d.se == pytest.approx(math.sqrt(var), rel=1e-10)
    # AUC = Mann–Whitney U/(mn): scipy.stats.mannwhitneyu(x_pos, x_neg).statistic / (m n)
    u = stats.mannwhitneyu(a[y == 1], a[y == 0]).statistic
    assert d.auc == pytest.approx(u / (m * n), rel=1e-12)
    lo, hi = d.ci(0.05)
    assert lo == pytest.approx(d.auc - 1.959964 * d.se, rel=1e-6)
    assert hi == pytest.approx(d.auc + 1.959964 * d.se, rel=1e-6)


@pytest.mark.parametrize("seed", [4, 5])
def test_paired_delong_matches_brute_force_covariance(seed: int) -> None:
    a, b, y = _tied_sample(seed)
    auc, v10, v01 = brute_delong(np.vstack([a, b]), y)
    m, n = int(y.sum()), int((1 - y).sum())
    cov = np.cov(v10) / m + np.cov(v01) / n
    res = delong_paired(a, b, y)
    np.testing.assert_allclose([res.auc_a, res.auc_b], auc, rtol=1e-12)
    np.testing.assert_allclose(np.reshape(res.covariance, (2, 2)), cov, rtol=1e-10)
    se = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert res.se == pytest.approx(se, rel=1e-10)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs((auc[0] - auc[1]) / se)), rel=1e-9)
    same = delong_paired(a, a, y)
    assert same.difference == 0 and same.p_value == 1.0


def test_delong_hanley_mcneil_1982_ct_ratings() -> None:
    # Hanley & McNeil (1982), Radiology 143:29-36, Table 1: 109 CT images rated 1..5;
    # normal 33/6/6/11/2, abnormal 3/2/2/11/33; published area W = 0.893, SE(W) = 0.032
    # (their eq. 2, which the DeLong SE of the same data estimates without the
    # exponential-score assumption).
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    ratings = np.r_[np.repeat(np.arange(1, 6), normal), np.repeat(np.arange(1, 6), abnormal)]
    y = np.r_[np.zeros(58), np.ones(51)]
    d = delong_auc(ratings, y)
    assert round(d.auc, 3) == 0.893
    assert (d.n_pos, d.n_neg) == (51, 58)
    assert d.se == pytest.approx(0.032, rel=0.1)


def test_delong_bad_input() -> None:
    with pytest.raises(ValueError, match="both classes"):
        delong_auc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="0/1"):
        delong_auc([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="NaN"):
        delong_auc([0.1, np.nan], [0, 1])


@pytest.mark.slow
def test_delong_se_matches_the_simulated_sd_and_ci_covers() -> None:
    rng = np.random.default_rng(8)
    reps, m, n = 1500, 250, 2500
    true_auc = stats.norm.cdf(1.0 / math.sqrt(2))  # binormal, shift 1: Φ(1/√2)
    aucs, ses, cover = np.empty(reps), np.empty(reps), 0
    y = np.r_[np.ones(m), np.zeros(n)]
    for i in range(reps):
        s = np.r_[rng.normal(1, 1, m), rng.normal(0, 1, n)]
        d = delong_auc(s, y)
        aucs[i], ses[i] = d.auc, d.se
        lo, hi = d.ci(0.05)
        cover += lo <= true_auc <= hi
    assert np.mean(ses) == pytest.approx(np.std(aucs, ddof=1), rel=0.06)
    assert abs(cover / reps - 0.95) < 3 * math.sqrt(0.05 * 0.95 / reps) + 0.01


def test_auc_drop_test_three_outcomes() -> None:
    ref = DeLongAUC(0.92, 0.004, 500, 50_000)
    z = stats.norm.isf(0.05)
    # D = 0.06, SE_D = 0.005 → D − z·SE = 0.0518 > 0.02: confirmed
    out, d, se = auc_drop_test(ref, DeLongAUC(0.86, 0.003, 400, 40_000))
    assert (out, d, se) == ("confirmed", pytest.approx(0.06), pytest.approx(0.005))
    # D = 0, D + z·SE = 0.0082 < 0.02: cleared
    assert auc_drop_test(ref, DeLongAUC(0.92, 0.003, 400, 40_000))[0] == "cleared"
    # D = 0.02: neither bound clears the tolerance: inconclusive
    assert auc_drop_test(ref, DeLongAUC(0.90, 0.003, 400, 40_000))[0] == "inconclusive"
    # one-sided at α: D − z·SE just above / below the tolerance
    assert auc_drop_test(ref, DeLongAUC(0.92 - 0.0201 - z * 0.005, 0.003, 1, 1))[0] == "confirmed"
    assert (
        auc_drop_test(ref, DeLongAUC(0.92 - 0.0199 - z * 0.005, 0.003, 1, 1))[0] == "inconclusive"
    )


# ---- calibration metrics --------------------------------------------------------------------
def _calibrated(n: int, seed: int, slope: float = 1.0, shift: float = 0.0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    x = rng.normal(-3.5, 1.3, n)
    p = expit(x)
    y = (rng.random(n) < expit(shift + slope * x)).astype(float)
    return p, y


def test_observed_expected_and_its_poisson_interval() -> None:
    p, y = _calibrated(50_000, 1, shift=0.3)
    oe = observed_expected(p, y)
    assert oe.ratio == pytest.approx(y.sum() / p.sum(), rel=1e-14)
    # exp(ln(O/E) ± z/√O), Debray et al. (2017) approximation
    half = stats.norm.isf(0.025) / math.sqrt(y.sum())
    assert oe.ci_low == pytest.approx(oe.ratio * math.exp(-half), rel=1e-12)
    assert oe.ci_high == pytest.approx(oe.ratio * math.exp(half), rel=1e-12)
    assert oe.ci_low > 1  # a +0.3 logit shift under-predicts: O/E > 1
    assert math.isnan(observed_expected([0.1, 0.2], [0, 0]).ci_low)


def test_brier_equals_its_decomposition_identity() -> None:
    p, y = _calibrated(10_000, 2)
    # Brier = mean(y) − 2·mean(p·y) + mean(p²) for 0/1 y
    assert brier_score(p, y) == pytest.approx(
        y.mean() - 2 * np.mean(p * y) + np.mean(p**2), rel=1e-12
    )


def test_ece_matches_pandas_qcut_reference() -> None:
    p, y = _calibrated(20_000, 3, slope=0.7)
    e = expected_calibration_error(p, y, bins=10, n_sim=50, seed=1)
    # reference: equal-mass bins by rank with pandas (rank-based qcut), then Σ n_b/n |ȳ − p̄|
    ranks = pd.Series(p).rank(method="first")
    g = pd.qcut(ranks, 10, labels=False)
    by = pd.DataFrame({"p": p, "y": y, "g": g}).groupby("g")
    ref = float((by.size() / p.size * (by.y.mean() - by.p.mean()).abs()).sum())
    assert e.ece == pytest.approx(ref, rel=1e-12)
    assert np.bincount(equal_mass_bins(p, 10)).tolist() == [2000] * 10
    assert e.ece > e.q95_null  # slope 0.7 is real miscalibration


def test_ece_reference_matches_normal_approximation_when_counts_are_large() -> None:
    rng = np.random.default_rng(4)
    p = rng.uniform(0.2, 0.6, 200_000)
    y = (rng.random(p.size) < p).astype(float)
    e = expected_calibration_error(p, y, bins=10, n_sim=400, seed=2)
    assert e.expected_null == pytest.approx(ece_reference_normal(p, bins=10), rel=0.03)


@pytest.mark.slow
def test_ece_of_a_calibrated_score_exceeds_its_q95_about_5_percent_of_the_time() -> None:
    rng = np.random.default_rng(5)
    p = expit(rng.normal(-4.0, 1.2, 5_000))
    reps, above = 300, 0
    for i in range(reps):
        y = (rng.random(p.size) < p).astype(float)
        e = expected_calibration_error(p, y, n_sim=200, seed=i)
        above += e.ece > e.q95_null
    assert abs(above / reps - 0.05) < 3 * math.sqrt(0.05 * 0.95 / reps)


# ---- top-k --------------------------------------------------------------------------------
def test_top_k_threshold_wilson_matches_statsmodels() -> None:
    p, y = _calibrated(30_000, 6)
    thr = float(np.quantile(p, 0.99))
    tk = top_k_threshold(p, y, threshold=thr)
    flag = p >= thr
    tp, nf, npos = int(y[flag].sum()), int(flag.sum()), int(y.sum())
    # statsmodels.stats.proportion.proportion_confint(count, nobs, 0.05, method="wilson")
    lo, hi = proportion_confint(tp, nf, alpha=0.05, method="wilson")
    assert (tk.precision_low, tk.precision_high) == (pytest.approx(lo), pytest.approx(hi))
    lo, hi = proportion_confint(tp, npos, alpha=0.05, method="wilson")
    assert (tk.capture_low, tk.capture_high) == (pytest.approx(lo), pytest.approx(hi))
    assert tk.precision == tp / nf and tk.capture == tp / npos
    assert tk.lift == pytest.approx((tp / nf) / (npos / p.size))
    assert tk.method == "wilson"


def test_top_k_quantile_point_estimate_and_bootstrap() -> None:
    p, y = _calibrated(20_000, 7)
    tk = top_k_quantile(p, y, k=0.01, n_boot=400, seed=3)
    top = np.argsort(-p, kind="mergesort")[:200]  # k·n = 200 rows exactly
    assert tk.n_flagged == 200 and tk.n_pos_flagged == y[top].sum()
    assert tk.precision == pytest.approx(y[top].mean())
    assert tk.precision_low < tk.precision < tk.precision_high
    # reproducible with the seed
    assert top_k_quantile(p, y, k=0.01, n_boot=400, seed=3) == tk
    # the bootstrap interval is close to a brute-force multinomial row bootstrap
    rng = np.random.default_rng(0)
    prec = []
    for _ in range(400):
        i = rng.integers(0, p.size, p.size)
        pp, yy = p[i], y[i]
        o = np.argsort(-pp, kind="mergesort")[:200]
        prec.append(yy[o].mean())
    lo, hi = np.quantile(prec, [0.025, 0.975])
    assert tk.precision_low == pytest.approx(lo, abs=0.03)
    assert tk.precision_high == pytest.approx(hi, abs=0.03)


@pytest.mark.slow
def test_top_k_bootstrap_interval_covers_the_population_precision() -> None:
    rng = np.random.default_rng(9)
    n, k, reps = 10_000, 0.02, 300
    big = expit(rng.normal(-3.0, 1.3, 2_000_000))
    cut = np.quantile(big, 1 - k)
    true_prec = float(big[big >= cut].mean())  # E[y | top 2%] under calibration
    cover = 0
    for i in range(reps):
        p = expit(rng.normal(-3.0, 1.3, n))
        y = (rng.random(n) < p).astype(float)
        tk = top_k_quantile(p, y, k=k, n_boot=300, seed=i)
        cover += tk.precision_low <= true_prec <= tk.precision_high
    assert abs(cover / reps - 0.95) < 0.04


# ---- outcome_drift on frames: the maturity rule ----------------------------------------------
def _events(n_days: int = 56, per_day: int = 1500, seed: int = 0, drop_day: int | None = None):
    rng = np.random.default_rng(seed)
    n = n_days * per_day
    ts = pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.uniform(0, n_days, n), unit="D")
    x = rng.normal(-3.2, 1.3, n)
    score = expit(x)
    day = ((ts - pd.Timestamp("2026-01-05")) / pd.Timedelta(days=1)).to_numpy()
    strength = np.where(drop_day is not None and day >= (drop_day or 0), 0.45, 1.0)
    true_logit = -3.2 + strength * (x + 3.2)
    y = rng.random(n) < expit(true_logit)
    delay = pd.to_timedelta(rng.gamma(2.0, 5.0, n), unit="D")
    label_ts = pd.Series(ts + delay).where(y)
    return pd.DataFrame({"ts": ts, "score": score, "y_true": y.astype(int), "lts": label_ts})


def _observed(df: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    seen = df.lts.notna() & (df.lts <= as_of)
    return pd.DataFrame(
        {
            "ts": df.ts,
            "score": df.score,
            "label": seen.astype(int),
            "label_ts": df.lts.where(seen),
        }
    )


def test_outcome_drift_uses_only_matured_equal_age_labels(
    to_backend: Callable[[pd.DataFrame], Any],
) -> None:
    raw = _events(seed=1)
    as_of = pd.Timestamp("2026-03-02")
    data = _observed(raw, as_of)
    ref = (pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-19"))
    res = outcome_drift(
        to_backend(data), reference_period=ref, as_of=as_of, window="7D", label_age_days=10
    )
    age = pd.Timedelta(days=10)
    # independent recomputation of one window with pandas
    w0 = pd.Timestamp("2026-01-26")
    sel = (data.ts >= w0) & (data.ts < w0 + pd.Timedelta(days=7)) & (data.ts + age <= as_of)
    y = ((data.label == 1) & (data.label_ts <= data.ts + age))[sel].to_numpy(dtype=float)
    p = data.score[sel].to_numpy()
    row = next(w for w in res.windows if w.window_start == w0)
    assert (row.n, row.n_pos) == (int(sel.sum()), int(y.sum()))
    assert row.auc == pytest.approx(delong_auc(p, y).auc, rel=1e-12)
    # calibration slope/intercept on the same rows: statsmodels Logit on logit(p)
    fit = sm.Logit(y, sm.add_constant(logit(p))).fit(disp=0)
    assert row.calibration_intercept == pytest.approx(fit.params[0], rel=1e-6)
    assert row.calibration_slope == pytest.approx(fit.params[1], rel=1e-6)
    # events after as_of − age are never used; windows entirely after it are not evaluated
    for w in res.windows:
        if w.window_start >= as_of - age:
            assert w.n_matured == 0 and math.isnan(w.auc) and w.auc_drop_test == "not_evaluated"
    last = [w for w in res.windows if 0 < w.n_matured < w.n_events]
    assert last and any("partial window" in m for m in res.warnings)
    # a positive arriving after ts + age is not counted even though it is in the data
    late = (data.label == 1) & (data.label_ts > data.ts + age) & (data.ts + age <= as_of)
    assert late.sum() > 0
    assert sum(w.n_pos for w in res.windows) == int(
        ((data.label == 1) & (data.label_ts <= data.ts + age) & (data.ts + age <= as_of)).sum()
    )
    assert res.reference.n == int(((data.ts >= ref[0]) & (data.ts < ref[1])).sum())


def test_outcome_drift_detects_a_real_auc_drop_and_clears_none_wrongly(
    to_backend: Callable[[pd.DataFrame], Any],
) -> None:
    raw = _events(n_days=70, per_day=3000, seed=2, drop_day=35)
    as_of = pd.Timestamp("2026-03-16") + pd.Timedelta(days=20)
    data = _observed(raw, as_of)
    ref = (pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-26"))
    res = outcome_drift(
        to_backend(data), reference_period=ref, as_of=as_of, window="7D", label_age_days=14
    )
    onset = pd.Timestamp("2026-01-05") + pd.Timedelta(days=35)
    matured = [w for w in res.windows if w.n_matured == w.n_events]
    pre = [w for w in matured if w.window_start + pd.Timedelta(days=7) <= onset]
    post = [w for w in matured if w.window_start >= onset]
    assert pre and post
    assert all(w.auc_drop_test != "confirmed" for w in pre)
    assert all(w.auc_drop_test == "confirmed" for w in post)
    assert all(w.oe_vs_reference_ci_high < 1 for w in post)  # flatter truth: fewer positives
    assert res.confirmed_drops == tuple(w.window_start for w in post)
    df = res.to_frame()
    assert df.iloc[0].is_reference and list(df.columns[:3]) == [
        "window_start",
        "is_reference",
        "n_events",
    ]


def test_outcome_drift_one_class_window_gives_nan_and_a_named_warning(
    to_backend: Callable[[pd.DataFrame], Any],
) -> None:
    data = _observed(_events(n_days=35, per_day=800, seed=3), pd.Timestamp("2026-03-01"))
    wk = (data.ts >= "2026-01-26") & (data.ts < "2026-02-02")
    data.loc[wk, "label"] = 0
    data.loc[wk, "label_ts"] = pd.NaT
    res = outcome_drift(
        to_backend(data),
        reference_period=("2026-01-05", "2026-01-19"),
        as_of="2026-03-01",
        window="7D",
        label_age_days=10,
        threshold=0.2,
    )
    row = next(w for w in res.windows if w.window_start == pd.Timestamp("2026-01-26"))
    assert math.isnan(row.auc) and math.isnan(row.calibration_slope)
    assert row.n_pos == 0 and row.auc_drop_test == "not_evaluated"
    assert row.brier == pytest.approx(float(np.mean(data.score[wk] ** 2)), rel=1e-12)
    assert any("window 2026-01-26: every matured label is negative" in w for w in res.warnings)
    assert res.top_k_method == "wilson" and res.threshold == 0.2


def test_outcome_drift_bad_input(to_backend: Callable[[pd.DataFrame], Any]) -> None:
    data = _observed(_events(n_days=21, per_day=300, seed=4), pd.Timestamp("2026-02-20"))
    with pytest.raises(ValueError, match="not matured to age 30 d"):
        outcome_drift(
            to_backend(data), reference_period=("2026-01-05", "2026-01-26"), as_of="2026-02-10"
        )
    with pytest.raises(ValueError, match="column `label_ts` is missing"):
        outcome_drift(
            to_backend(data.drop(columns=["label_ts"])),
            reference_period=("2026-01-05", "2026-01-12"),
            as_of="2026-02-20",
            label_age_days=7,
        )
    with pytest.raises(ValueError, match="`window` must be a positive count"):
        outcome_drift(
            to_backend(data),
            reference_period=("2026-01-05", "2026-01-12"),
            as_of="2026-02-20",
            window="fortnight",
        )


def test_outcome_plots_shade_the_immature_region_and_draw_reliability() -> None:
    import matplotlib.pyplot as plt

    raw = _events(seed=6)
    as_of = pd.Timestamp("2026-03-02")
    res = outcome_drift(
        _observed(raw, as_of),
        reference_period=("2026-01-05", "2026-01-19"),
        as_of=as_of,
        window="7D",
        label_age_days=10,
    )
    ax = res.plot()
    assert ax.get_ylabel() == "AUC" and "label age 10 d" in ax.get_title()
    shaded = [p for p in ax.patches if p.get_label() == "labels not matured"]
    assert len(shaded) == 1
    x0 = shaded[0].get_x()
    import matplotlib.dates as mdates

    assert mdates.num2date(x0).replace(tzinfo=None) == res.maturity_cutoff.to_pydatetime()
    ax2 = res.plot(kind="reliability")
    assert ax2.get_xlabel() == "mean score in bin" and ax2.get_xscale() == "log"
    assert len(ax2.lines) == 3  # reference, latest matured window, diagonal
    with pytest.raises(ValueError, match="`kind` must be 'auc' or 'reliability'"):
        res.plot(kind="pie")
    assert "Outcome drift" in res.summary() and "<table" in res._repr_html_()
    plt.close("all")
