"""Issue 13: consistent rows, one α convention, a history that stops, SRM hints, skewness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlopskit import canary
from mlopskit.canary import ArmStats, CanaryLook, Mean, Proportion, Ratio
from mlopskit.policy import CanaryPolicy

POLICY = CanaryPolicy()
T0 = pd.Timestamp("2026-01-01")


def _prop_look(xc: float, nc: float, xt: float, nt: float, day: float = 14.0) -> CanaryLook:
    return CanaryLook(
        T0 + pd.Timedelta(days=day), day, int(nc), int(nt),
        {"m": ArmStats(nc, xc, xc, xc, sum_cubes=xc)},
        {"m": ArmStats(nt, xt, xt, xt, sum_cubes=xt)},
    )  # fmt: skip


def test_p_value_comes_from_the_interval_se() -> None:
    # STATISTICS.md §2 oracle: control 4,900/980,000 vs canary 110/20,000, Wald SE 5.277917e-4
    look = _prop_look(4_900, 980_000, 110, 20_000)
    res = canary.canary_test(
        look, metrics=[Proportion("m", "y", margin=0.002)], expected_split=(0.98, 0.02),
        sequential=False, policy=POLICY,
    )  # fmt: skip
    r = res["m"]
    assert r.se == pytest.approx(5.277917e-4, rel=1e-6)
    # the p-value of the unpooled z: 2·Φ(−|d|/SE), the SE of the interval
    assert r.p_value == pytest.approx(2 * stats.norm.sf(0.0005 / 5.277917e-4), rel=1e-6)
    # the interval is the two-sided 1 − 2α = 95% one: one-sided α = 0.025 per side
    assert res.alpha == 0.025
    assert r.ci_high == pytest.approx(0.0005 + stats.norm.isf(0.025) * 5.277917e-4, rel=1e-6)


def test_relative_rows_are_on_the_scale_their_header_names() -> None:
    m = Ratio("lpd", "loss", "amount", margin=0.1, relative=True)
    rng = np.random.default_rng(5)
    amt_c, amt_t = rng.lognormal(3, 0.7, 50_000), rng.lognormal(3, 0.7, 5_000)
    loss_c = amt_c * (rng.random(50_000) < 0.05)
    loss_t = amt_t * (rng.random(5_000) < 0.05)
    look = CanaryLook(
        T0 + pd.Timedelta(days=14), 14.0, 50_000, 5_000,
        {"lpd": ArmStats.from_values(loss_c, amt_c)}, {"lpd": ArmStats.from_values(loss_t, amt_t)},
    )  # fmt: skip
    res = canary.canary_test(
        look, metrics=[m], expected_split=(50 / 55, 5 / 55), sequential=False, policy=POLICY
    )
    r = res["lpd"]
    row = res.to_frame().iloc[0]
    # effect, interval and se are all on the ratio − 1 scale; se_log is the analysis SE
    assert row["effect"] == pytest.approx(np.exp(np.log1p(r.effect)) - 1)
    assert row["se"] == pytest.approx((1 + r.effect) * row["se_log"], rel=1e-9)
    lam = np.log1p(r.effect)
    assert r.ci_low == pytest.approx(np.expm1(lam - stats.norm.isf(0.025) * row["se_log"]))
    assert r.p_value == pytest.approx(2 * stats.norm.sf(abs(lam) / row["se_log"]), rel=1e-9)


def _daily_prop_looks(effect: float, days: int = 40, seed: int = 0) -> list[CanaryLook]:
    rng = np.random.default_rng(seed)
    nt = rng.binomial(40_000, 0.05, days)
    nc = 40_000 - nt
    xt, xc = rng.binomial(nt, 0.01 + effect), rng.binomial(nc, 0.01)
    c = [np.cumsum(a).astype(float) for a in (nc, xc, nt, xt)]
    return [_prop_look(c[1][k], c[0][k], c[3][k], c[2][k], day=k + 1.0) for k in range(days)]


def test_history_stops_at_the_first_terminal_verdict() -> None:
    m = Proportion("m", "y", margin=0.002)
    for seed in range(5):
        looks = _daily_prop_looks(0.0, seed=seed)
        hist = canary.canary_history(looks, metrics=[m], policy=POLICY)
        v = hist.verdicts.verdict.tolist()
        terminal = [i for i, x in enumerate(v) if x in ("PROMOTE", "ROLLBACK", "INVALID")]
        if terminal:
            assert terminal == [len(v) - 1]  # the replay ends at its first terminal verdict
            assert hist.stopped_at == hist.verdicts.as_of.iloc[-1]
            final = canary.canary_test(looks, metrics=[m], policy=POLICY)
            assert final.verdict == v[-1]
            assert final.as_of == hist.stopped_at
            assert any(r.code == "stopped" for r in final.reasons)


def test_continue_says_what_it_cannot_rule_out() -> None:
    looks = _daily_prop_looks(0.0, days=3)
    res = canary.canary_test(looks, metrics=[Proportion("m", "y", margin=0.002)], policy=POLICY)
    assert res.verdict == "CONTINUE"
    assert "cannot yet rule out harm beyond the margin" in " ".join(r.message for r in res.reasons)


def test_srm_message_names_observed_and_expected_shares_and_the_parameter() -> None:
    looks = _daily_prop_looks(0.0, days=5)  # a 5% canary analysed as if it were 1%
    res = canary.canary_test(
        looks, metrics=[Proportion("m", "y", margin=0.002)], expected_split=(0.99, 0.01),
        policy=POLICY,
    )  # fmt: skip
    assert res.verdict == "INVALID"
    msg = next(r.message for r in res.reasons if r.code == "srm")
    assert "expected_split" in msg and "5.1% observed" in msg and "1.0% expected" in msg


def test_heavy_tailed_mean_continues_until_the_normal_approximation_holds() -> None:
    rng = np.random.default_rng(11)
    yc, yt = rng.lognormal(4, 2.0, 95_000), rng.lognormal(4, 2.0, 5_000)
    look = CanaryLook(
        T0 + pd.Timedelta(days=14), 14.0, 95_000, 5_000,
        {"m": ArmStats.from_values(yc)}, {"m": ArmStats.from_values(yt)},
    )  # fmt: skip
    res = canary.canary_test(look, metrics=[Mean("m", "y", margin=1e6)], policy=POLICY)
    assert res.verdict == "CONTINUE"
    r = res["m"]
    assert r.row == 1 and r.skewness > 10
    text = " ".join(x.message for x in res.reasons)
    assert "normal approximation" in text and "skewness" in text
