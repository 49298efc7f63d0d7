"""Declared capped means (issue 13, Build 1): ``Mean(col, cap=)`` / ``Ratio(..., cap=)``.

Fast tests: the capped statistics against an independent reference (scipy's winsorize and
statsmodels' Welch interval), the one-pass aggregation on pandas and polars against numpy,
the stated bias (share above the cap, uncapped difference) in rows and reasons, the
companion guard ``<name>_above_cap``, declarations and the policy field. The error-rate
simulations are in ``tests/test_canary_capped_sim.py`` (slow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats
from scipy.stats import mstats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from mlopskit import canary
from mlopskit.canary import ArmStats, CanaryLook, Mean, Metric, Ratio
from mlopskit.policy import CanaryPolicy

CAP = 500.0
T0 = pd.Timestamp("2026-03-01")


def _arms(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # the cap is an observed value of each arm, so scipy's winsorize (which replaces the k
    # largest values by the next order statistic) yields exactly min(y, cap)
    yc = np.append(rng.lognormal(4.0, 1.5, 3_000), CAP)
    yt = np.append(rng.lognormal(4.1, 1.5, 400), CAP)
    return yc, yt


def _winsorized(y: np.ndarray) -> np.ndarray:
    k = int(np.sum(y > CAP))
    # scipy.stats.mstats.winsorize(y, limits=(0, k/n), inclusive=(True, False)): the k
    # largest values replaced by the (n−k)-th order statistic, here the cap
    w = np.asarray(mstats.winsorize(y, limits=(0, k / y.size), inclusive=(True, False)))
    assert np.array_equal(w, np.minimum(y, CAP))  # precondition of the reference
    return w


def _look(yc: np.ndarray, yt: np.ndarray, metric: Metric) -> CanaryLook:
    s_c = ArmStats.from_values(yc, cap=metric.cap)
    s_t = ArmStats.from_values(yt, cap=metric.cap)
    return CanaryLook(
        T0 + pd.Timedelta(days=14), 14.0, yc.size, yt.size, {metric.name: s_c}, {metric.name: s_t}
    )


def test_capped_interval_matches_winsorize_and_welch() -> None:
    yc, yt = _arms()
    metric = Mean("latency_ms", "latency_ms", margin=20.0, cap=CAP)
    split = (yc.size / (yc.size + yt.size), yt.size / (yc.size + yt.size))
    res = canary.canary_test(
        _look(yc, yt, metric), metrics=[metric], sequential=False, expected_split=split
    )
    r = res["latency_ms"]
    wc, wt = _winsorized(yc), _winsorized(yt)
    # statsmodels: CompareMeans(DescrStatsW(wt), DescrStatsW(wc)).tconfint_diff(alpha=0.05,
    # usevar="unequal") and .ttest_ind(usevar="unequal"): Welch on the winsorized values
    cm = CompareMeans(DescrStatsW(wt), DescrStatsW(wc))
    lo, hi = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    _, p, _ = cm.ttest_ind(usevar="unequal")
    assert r.ci_method == "welch"
    assert r.effect == pytest.approx(wt.mean() - wc.mean(), rel=1e-10)
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-9)
    assert r.p_value == pytest.approx(p, rel=1e-8)
    se = np.sqrt(wt.var(ddof=1) / wt.size + wc.var(ddof=1) / wc.size)
    assert r.se == pytest.approx(se, rel=1e-9)
    # skewness of the capped values: scipy.stats.skew(bias=False) on the pooled sample
    assert r.skewness == pytest.approx(
        abs(stats.skew(np.concatenate([wc, wt]), bias=False)), rel=1e-6
    )
    # the stated bias: shares above the cap and the uncapped Welch interval
    assert r.above_cap_control == pytest.approx(np.mean(yc > CAP))
    assert r.above_cap_canary == pytest.approx(np.mean(yt > CAP))
    # scipy.stats.ttest_ind(yt, yc, equal_var=False).confidence_interval(0.95): raw values
    raw = stats.ttest_ind(yt, yc, equal_var=False).confidence_interval(0.95)
    assert r.uncapped_effect == pytest.approx(yt.mean() - yc.mean(), rel=1e-10)
    assert (r.uncapped_ci_low, r.uncapped_ci_high) == pytest.approx((raw.low, raw.high), rel=1e-9)
    # the guard: share above the cap as a proportion (Wald), rows and reasons
    g = res["latency_ms_above_cap"]
    assert g.metric.kind == "proportion" and g.metric.margin == CanaryPolicy().cap_share_margin
    assert g.effect == pytest.approx(np.mean(yt > CAP) - np.mean(yc > CAP))
    text = next(x.message for x in res.reasons if x.code == "latency_ms")
    assert (
        f"latency_ms capped at 500: {np.mean(yc > CAP):.1%} of control, "
        f"{np.mean(yt > CAP):.1%} of canary values above the cap"
    ) in text
    assert "uncapped difference" in text
    frame = res.to_frame().set_index("metric")
    assert frame.loc["latency_ms", "cap"] == CAP
    assert np.isnan(frame.loc["latency_ms_above_cap", "cap"])
    assert frame.loc["latency_ms", "uncapped_ci_high"] == pytest.approx(raw.high, rel=1e-9)


def _log(yc: np.ndarray, yt: np.ndarray, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.concatenate([yc, yt])
    arm = np.array(["control"] * yc.size + ["canary"] * yt.size)
    ts = T0 + pd.to_timedelta(rng.uniform(0, 10, y.size), unit="D")
    amount = rng.uniform(10, 200, y.size)
    err = np.zeros(y.size, dtype=int)
    y = y.copy()
    err[::97] = 1
    y[::97] = np.nan  # failed calls without a value: filled at 250 (≤ cap) by declaration
    return pd.DataFrame(
        {"unit_id": np.arange(y.size), "ts": ts, "arm": arm, "y": y, "amount": amount,
         "error": err}
    )  # fmt: skip


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_one_pass_aggregation_matches_numpy(engine: str) -> None:
    yc, yt = _arms(11)
    df = _log(yc, yt)
    metrics = [
        Mean("y_mean", "y", margin=20.0, cap=CAP, fill_missing=250.0, fill_when="error"),
        Ratio("y_per_amount", "y", "amount", margin=0.2, relative=True, cap=CAP),
    ]
    data = df if engine == "pandas" else pl.from_pandas(df)
    res = canary.canary_test(
        data, metrics=metrics, as_of=T0 + pd.Timedelta(days=11), expected_split=(0.88, 0.12)
    )
    for arm in ("control", "canary"):
        d = df[df["arm"] == arm]
        filled = d["y"].fillna(250.0).to_numpy()
        ref = ArmStats.from_values(filled, cap=CAP)
        got = getattr(res["y_mean"], arm)
        for f in ("n", "events", "sum", "sum_squares", "sum_cubes", "above_cap"):
            assert getattr(got, f) == pytest.approx(getattr(ref, f), rel=1e-9), (arm, f)
        assert got.uncapped_sum == pytest.approx(filled.sum(), rel=1e-9)
        assert got.filled == d["y"].isna().sum()
        ok = d["y"].notna().to_numpy()
        yv, xv = d["y"].to_numpy()[ok], d["amount"].to_numpy()[ok]
        ref_r = ArmStats.from_values(yv, denominator=xv, cap=CAP)
        got_r = getattr(res["y_per_amount"], arm)
        for f in (
            "n", "sum", "sum_products", "above_cap", "uncapped_sum_products",
            "sum_squares_products", "sum_products_squares",
        ):  # fmt: skip
            assert getattr(got_r, f) == pytest.approx(getattr(ref_r, f), rel=1e-9), (arm, f)
        assert got_r.missing == (~ok).sum()
    # the uncapped ratio beside the capped one
    d_c, d_t = df[df["arm"] == "control"].dropna(), df[df["arm"] == "canary"].dropna()
    raw = (d_t["y"].sum() / d_t["amount"].sum()) / (d_c["y"].sum() / d_c["amount"].sum()) - 1
    assert res["y_per_amount"].uncapped_effect == pytest.approx(raw, rel=1e-9)
    names = [m.metric.name for m in res.metrics]
    assert names == ["y_mean", "y_mean_above_cap", "y_per_amount", "y_per_amount_above_cap"]


def test_uncapped_metric_has_no_cap_columns() -> None:
    yc, yt = _arms(5)
    metric = Mean("m", "m", margin=20.0)
    look = CanaryLook(
        T0 + pd.Timedelta(days=8), 8.0, yc.size, yt.size,
        {"m": ArmStats.from_values(yc)}, {"m": ArmStats.from_values(yt)},
    )  # fmt: skip
    res = canary.canary_test(look, metrics=[metric], expected_split=(0.88, 0.12))
    assert [m.metric.name for m in res.metrics] == ["m"]
    row = res.to_frame().iloc[0]
    assert np.isnan(row["cap"]) and np.isnan(row["above_cap_control"])
    assert "capped" not in " ".join(r.message for r in res.reasons)


def test_hand_typed_statistics_of_a_capped_metric_need_the_count_above_the_cap() -> None:
    metric = Mean("lat", "lat", margin=5.0, cap=CAP)
    s = ArmStats(n=1000, events=1000, sum=1e5, sum_squares=2e7, sum_cubes=5e9)
    look = CanaryLook(T0, 10.0, 1000, 1000, {"lat": s}, {"lat": s})
    with pytest.raises(ValueError, match=r"metric `lat` \(control\): a capped metric needs"):
        canary.canary_test(look, metrics=[metric], expected_split=(0.5, 0.5))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cap": 0.0}, r"`cap` must be a finite number > 0; got 0.0"),
        ({"cap": float("inf")}, r"`cap` must be a finite number > 0"),
        ({"cap": True}, r"`cap` must be a finite number > 0; got True"),
        ({"cap_margin": 0.01}, r"`cap_margin` needs `cap`"),
        ({"cap": 100.0, "cap_margin": -0.1}, r"`cap_margin` must be a finite number > 0"),
        ({"cap": 100.0, "fill_missing": 250.0}, r"`fill_missing` \(250.0\) is above `cap`"),
    ],
)
def test_cap_declaration_errors(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Mean("lat", "lat", margin=5.0, **kwargs)  # type: ignore[arg-type]


def test_cap_on_a_proportion_is_refused() -> None:
    with pytest.raises(ValueError, match=r"`cap` applies to mean metrics and ratio numerators"):
        Metric("err", "proportion", "error", 0.001, cap=1.0)


def test_higher_is_better_guard_points_the_other_way() -> None:
    m = Mean("revenue", "revenue", margin=-1.0, direction="higher", cap=1000.0, cap_margin=0.02)
    g = m.above_cap_metric(0.01)
    assert (g.name, g.direction, g.margin, g.role) == (
        "revenue_above_cap", "higher", -0.02, "guardrail",
    )  # fmt: skip
    sec = Mean("loss", "loss", margin=1.0, role="secondary", cap=100.0).above_cap_metric(0.01)
    assert (sec.margin, sec.role) == (0.01, "secondary")


def test_policy_caps_the_default_latency_metric(tmp_path: pytest.TempPathFactory) -> None:
    assert canary.default_metrics(CanaryPolicy())[3].cap is None
    lat = [m for m in canary.default_metrics(CanaryPolicy(latency_cap_ms=2000)) if m.cap]
    assert [(m.name, m.cap) for m in lat] == [("latency_ms", 2000)]
    with pytest.raises(ValueError, match=r"latency_cap_ms must be null or a number ≥"):
        CanaryPolicy(latency_cap_ms=100.0)
    with pytest.raises(ValueError, match=r"cap_share_margin must be in \(0, 1\)"):
        CanaryPolicy(cap_share_margin=0.0)
    from mlopskit.policy import load_policy

    p = tmp_path / "p.yml"  # type: ignore[operator]
    p.write_text("canary:\n  latency_cap_ms: 2000\n  cap_share_margin: 0.005\n")
    cfg = load_policy(p).section("canary", CanaryPolicy)
    assert (cfg.latency_cap_ms, cfg.cap_share_margin) == (2000, 0.005)


def test_report_table_states_the_cap() -> None:
    from mlopskit.report.sections import canary_frame

    yc, yt = _arms()
    metric = Mean("latency_ms", "latency_ms", margin=20.0, cap=CAP)
    res = canary.canary_test(
        _look(yc, yt, metric), metrics=[metric], sequential=False, expected_split=(0.88, 0.12)
    )
    table = canary_frame(res).set_index("metric")
    col = "cap (decided on the capped mean)"
    text = [t for t in table[col] if t != "—"]
    assert len(text) == 1 and text[0].startswith("capped at 500: ")
    assert "of canary values above the cap; uncapped difference" in text[0]


def test_ratio_skewness_is_that_of_the_linearized_variable() -> None:
    rng = np.random.default_rng(21)
    x = rng.lognormal(4.0, 1.0, (2, 5_000))
    y = (rng.random((2, 5_000)) < 0.02) * x  # a fraud loses the whole amount
    metric = Ratio("loss_per_dollar", "loss", "amount", margin=0.1, relative=True)
    s = [ArmStats.from_values(y[i], denominator=x[i]) for i in range(2)]
    look = CanaryLook(T0, 10.0, 5_000, 5_000, {metric.name: s[0]}, {metric.name: s[1]})
    res = canary.canary_test(look, metrics=[metric], expected_split=(0.5, 0.5))
    yy, xx = y.ravel(), x.ravel()
    r = yy.sum() / xx.sum()
    # scipy.stats.skew(y − R·x, bias=False), R = Σy/Σx pooled over both arms
    ref = abs(stats.skew(yy - r * xx, bias=False))
    assert res[metric.name].skewness == pytest.approx(ref, rel=1e-6)
    # a ratio whose numerator tracks its denominator (cost = 5% of the amount ± noise) has
    # a near-symmetric linearized variable: the old rule, max(|γ_y|, |γ_x|), saw ~6
    y2 = 0.05 * x * (1 + 0.1 * rng.standard_normal(x.shape))
    s2 = [ArmStats.from_values(y2[i], denominator=x[i]) for i in range(2)]
    look2 = CanaryLook(T0, 10.0, 5_000, 5_000, {metric.name: s2[0]}, {metric.name: s2[1]})
    res2 = canary.canary_test(look2, metrics=[metric], expected_split=(0.5, 0.5))
    y2r = y2.ravel()
    z2 = y2r - y2r.sum() / xx.sum() * xx
    assert res2[metric.name].skewness == pytest.approx(abs(stats.skew(z2, bias=False)), rel=1e-6)
    old = max(abs(stats.skew(y2r, bias=False)), abs(stats.skew(xx, bias=False)))
    assert res2[metric.name].skewness < 0.5 * old


def test_guard_waiting_for_values_above_the_cap_says_so() -> None:
    rng = np.random.default_rng(2)
    yc, yt = rng.lognormal(4.0, 1.0, 4_000), rng.lognormal(4.0, 1.0, 200)
    metric = Mean("lat", "lat", margin=20.0, cap=1_000.0)  # ~1% above: ~2 canary values
    look = CanaryLook(
        T0 + pd.Timedelta(days=10), 10.0, yc.size, yt.size,
        {"lat": ArmStats.from_values(yc, cap=1_000.0)},
        {"lat": ArmStats.from_values(yt, cap=1_000.0)},
    )  # fmt: skip
    res = canary.canary_test(look, metrics=[metric], expected_split=(0.95, 0.05))
    k_t = int(np.sum(yt > 1_000.0))
    assert k_t < 10 and res["lat_above_cap"].row == 1 and str(res.verdict) == "CONTINUE"
    text = next(x.message for x in res.reasons if x.code == "lat_above_cap")
    assert "waits for 10 values above the cap in each arm" in text
    assert f"/ {k_t} canary" in text
