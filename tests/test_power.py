"""Power, sample size and MDE for unbalanced canaries against statsmodels, with round trips."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

from mlopskit import canary
from mlopskit.stats.power import (
    minimum_detectable_effect_normal,
    power_normal,
    sample_size_normal,
    sample_size_proportions,
    se_unbalanced,
    solve_n_for_power,
)

KAPPA = 0.05  # a 5% canary: statsmodels ratio = nobs2/nobs1 = 0.95/0.05 = 19


@pytest.mark.parametrize("alternative", ["two-sided", "one-sided"])
@pytest.mark.parametrize(("effect", "n_total"), [(0.02, 200_000), (0.05, 50_000), (-0.03, 80_000)])
def test_power_matches_normal_ind_power_ratio_19(
    alternative: str, effect: float, n_total: int
) -> None:
    sigma = 1.3
    got = power_normal(
        effect,
        n_total,
        sd_canary=sigma,
        sd_control=sigma,
        canary_share=KAPPA,
        alpha=0.05,
        alternative=alternative,  # type: ignore[arg-type]
    )
    # reference: NormalIndPower().power(effect_size=δ/σ, nobs1=κn, alpha, ratio=19,
    #            alternative="two-sided" | "larger" (one-sided in the direction of δ))
    sm_alt = "two-sided" if alternative == "two-sided" else ("larger" if effect > 0 else "smaller")
    ref = NormalIndPower().power(
        effect_size=effect / sigma,
        nobs1=KAPPA * n_total,
        alpha=0.05,
        ratio=19,
        alternative=sm_alt,
    )
    assert got == pytest.approx(ref, rel=1e-10)


def test_non_inferiority_power_matches_normal_ind_power() -> None:
    # NI with margin Δ = +0.05 (lower is better), true effect δ = 0.01: one-sided test of
    # d < Δ, i.e. NormalIndPower(effect_size=(Δ − δ)/σ, alternative="larger").
    sigma, margin, delta, n = 1.0, 0.05, 0.01, 150_000
    got = power_normal(
        delta, n, sd_canary=sigma, sd_control=sigma, canary_share=KAPPA, alpha=0.025, margin=margin
    )
    ref = NormalIndPower().power(
        effect_size=(margin - delta) / sigma,
        nobs1=KAPPA * n,
        alpha=0.025,
        ratio=19,
        alternative="larger",
    )
    assert got == pytest.approx(ref, rel=1e-10)
    # higher-is-better: margin −0.05, true effect −0.01 is the mirror image
    mirror = power_normal(
        -delta,
        n,
        sd_canary=sigma,
        sd_control=sigma,
        canary_share=KAPPA,
        alpha=0.025,
        margin=-margin,
    )
    assert mirror == pytest.approx(got, rel=1e-12)


@pytest.mark.parametrize("power", [0.8, 0.9])
def test_sample_size_matches_solve_power_and_round_trips(power: float) -> None:
    sigma, effect = 2.0, 0.04
    n = sample_size_normal(
        effect,
        sd_canary=sigma,
        sd_control=sigma,
        canary_share=KAPPA,
        alpha=0.05,
        power=power,
        alternative="one-sided",
    )
    # reference: NormalIndPower().solve_power(effect_size=δ/σ, nobs1=None, alpha, power,
    #            ratio=19, alternative="larger") returns the canary count κn
    nobs1 = NormalIndPower().solve_power(
        effect_size=effect / sigma,
        nobs1=None,
        alpha=0.05,
        power=power,
        ratio=19,
        alternative="larger",
    )
    assert KAPPA * n == pytest.approx(nobs1, rel=1e-6)
    # round trip: feed n back, recover the power; feed n to the MDE, recover the effect
    back = power_normal(
        effect,
        n,
        sd_canary=sigma,
        sd_control=sigma,
        canary_share=KAPPA,
        alpha=0.05,
        alternative="one-sided",
    )
    assert back == pytest.approx(power, rel=1e-10)
    mde = minimum_detectable_effect_normal(
        n,
        sd_canary=sigma,
        sd_control=sigma,
        canary_share=KAPPA,
        alpha=0.05,
        power=power,
        alternative="one-sided",
    )
    assert mde == pytest.approx(effect, rel=1e-10)


def test_two_sided_sample_size_is_one_tail_and_close_to_solve_power() -> None:
    n = sample_size_normal(
        0.03, sd_canary=1.0, sd_control=1.0, canary_share=KAPPA, alpha=0.05, power=0.8
    )
    nobs1 = NormalIndPower().solve_power(
        effect_size=0.03, nobs1=None, alpha=0.05, power=0.8, ratio=19, alternative="two-sided"
    )
    # statsmodels' solve_power counts the far tail too (negligible here)
    assert KAPPA * n == pytest.approx(nobs1, rel=1e-4)
    solved = solve_n_for_power(
        0.8,
        lambda m: power_normal(
            0.03, m, sd_canary=1.0, sd_control=1.0, canary_share=KAPPA, alpha=0.05
        ),
    )
    assert solved == pytest.approx(nobs1 / KAPPA, rel=1e-8)


@pytest.mark.parametrize(("diff", "p2"), [(0.001, 0.005), (-0.002, 0.01), (0.01, 0.2)])
@pytest.mark.parametrize("alternative", ["two-sided", "one-sided"])
def test_proportion_sample_size_matches_statsmodels(
    diff: float, p2: float, alternative: str
) -> None:
    n = sample_size_proportions(
        diff, p2, canary_share=KAPPA, alpha=0.05, power=0.8, alternative=alternative
    )  # type: ignore[arg-type]
    # reference: samplesize_proportions_2indep_onetail(diff, prop2=p2, power=0.8, ratio=19,
    #            alpha=0.05, alternative=...) → canary count nobs1 = κn
    sm_alt = "two-sided" if alternative == "two-sided" else ("larger" if diff > 0 else "smaller")
    ref = samplesize_proportions_2indep_onetail(
        diff, p2, 0.8, ratio=19, alpha=0.05, alternative=sm_alt
    )
    assert KAPPA * n == pytest.approx(ref, rel=1e-10)
    # unpooled null variance gives the Wald-test size, within a few % of the pooled one
    wald = sample_size_proportions(
        diff,
        p2,
        canary_share=KAPPA,
        alpha=0.05,
        power=0.8,
        alternative=alternative,
        pooled_null=False,
    )  # type: ignore[arg-type]
    assert wald == pytest.approx(n, rel=0.15)


@pytest.mark.parametrize(("kappa", "factor"), [(0.05, 5.3), (0.01, 25.0)])
def test_small_canaries_need_much_more_traffic(kappa: float, factor: float) -> None:
    # STATISTICS.md §2: a 5% canary needs ~5.3x the total traffic of a 50/50 test; 1% ~25x.
    kw = {"sd_canary": 1.0, "sd_control": 1.0, "alpha": 0.05, "power": 0.8}
    ratio = sample_size_normal(0.01, canary_share=kappa, **kw) / sample_size_normal(
        0.01, canary_share=0.5, **kw
    )
    assert ratio == pytest.approx(1 / (4 * kappa * (1 - kappa)), rel=1e-12)
    assert ratio == pytest.approx(factor, abs=0.3)
    # the same for a rare-event proportion (fraud rate 0.5%, +0.1 pp)
    rp = sample_size_proportions(0.001, 0.005, canary_share=kappa, pooled_null=False) / (
        sample_size_proportions(0.001, 0.005, canary_share=0.5, pooled_null=False)
    )
    assert rp == pytest.approx(factor, rel=0.12)


def test_se_unbalanced() -> None:
    assert se_unbalanced(1_000_000, 0.02, 0.5, 0.5) == pytest.approx(
        np.sqrt(0.25 / 20_000 + 0.25 / 980_000)
    )
    with pytest.raises(ValueError, match=r"`canary_share` must be a float in \(0, 1\); got 1.5"):
        se_unbalanced(10, 1.5, 1.0, 1.0)


# ---- planning helpers of mlopskit.canary ------------------------------------------------
def test_canary_sample_size_round_trip_and_days() -> None:
    m = canary.Proportion("fraud_missed_rate", "label & ~flagged", margin=0.0005)
    plan = canary.sample_size(
        m, baseline=0.003, canary_share=0.05, daily_units=40_000, sequential=False
    )
    sd = np.sqrt(0.003 * 0.997)
    expected = (
        (stats.norm.isf(0.025) + stats.norm.ppf(0.8)) ** 2
        * (sd**2 / 0.05 + sd**2 / 0.95)
        / 0.0005**2
    )
    assert plan.n_total == pytest.approx(expected, rel=1e-12)
    assert plan.days == pytest.approx(expected / 40_000)
    assert plan.n_canary == pytest.approx(0.05 * expected)
    back = canary.power(m, baseline=0.003, n_total=plan.n_total, sequential=False)
    assert back.power == pytest.approx(0.8, rel=1e-10)
    mde = canary.minimum_detectable_effect(
        m, baseline=0.003, n_total=plan.n_total, sequential=False
    )
    assert mde == pytest.approx(0.0005, rel=1e-10)
    # 1% vs 5%: choose the share before starting
    small = canary.sample_size(
        m, baseline=0.003, canary_share=0.01, daily_units=40_000, sequential=False
    )
    assert small.days / plan.days == pytest.approx(0.05 * 0.95 / (0.01 * 0.99), rel=1e-9)


def test_canary_sequential_plan_needs_more_and_round_trips() -> None:
    m = canary.Mean("latency_ms", "latency_ms", margin=0.5)
    fixed = canary.sample_size(m, baseline=20.0, sd=8.0, daily_units=40_000, sequential=False)
    seq = canary.sample_size(
        m, baseline=20.0, sd=8.0, daily_units=40_000, sequential=True, planned_days=28
    )
    # the confidence-sequence rule needs at least as many units; it cannot decide before the
    # policy's min_days, so a plan whose power is reached earlier is floored there
    assert seq.n_total >= fixed.n_total
    back = canary.power(
        m,
        baseline=20.0,
        sd=8.0,
        n_total=seq.n_total,
        daily_units=40_000,
        sequential=True,
        planned_days=28,
    )
    assert back.power >= 0.8 - 1e-6  # round trip: the planned n reaches the promised power


def test_relative_margin_planning_and_errors() -> None:
    m = canary.Ratio("loss_per_dollar", "loss", "amount", margin=0.10, relative=True)
    plan = canary.sample_size(m, baseline=0.006, sd=0.08)
    assert plan.margin == pytest.approx(0.0006)
    with pytest.raises(ValueError, match=r"`sd` \(per-unit standard deviation\) must be > 0"):
        canary.sample_size(m, baseline=0.006)
    with pytest.raises(ValueError, match="give `n_total`, or both `days` and `daily_units`"):
        canary.power(m, baseline=0.006, sd=0.08)
    with pytest.raises(ValueError, match=r"`power` must be a float in \(0, 1\); got 1.2"):
        canary.sample_size(canary.Mean("x", "x", margin=1.0), baseline=1.0, sd=1.0, power=1.2)
