"""Skewness from sums, the sequential SRM / missingness tests, power of the applied rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from mlopskit.stats import sequential as seq
from mlopskit.stats import skewness as sk
from mlopskit.stats import srm


def _sums(y: np.ndarray) -> tuple[float, float, float, float]:
    return float(y.size), float(y.sum()), float((y**2).sum()), float((y**3).sum())


def test_sample_skewness_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    for y in (rng.lognormal(1.0, 1.0, 500), rng.exponential(2.0, 50), rng.normal(0, 1, 7)):
        # reference: scipy.stats.skew(y, bias=False)
        assert sk.sample_skewness(*_sums(y)) == pytest.approx(stats.skew(y, bias=False), rel=1e-9)
    assert sk.sample_skewness(5, 10.0, 20.0, 40.0) == 0.0  # constant sample
    assert np.isnan(sk.sample_skewness(2, 1.0, 1.0, 1.0))


def test_closed_form_skewness_matches_scipy_distributions() -> None:
    for sigma in (1.0, 1.5, 2.0):
        # scipy.stats.lognorm(s=σ).stats(moments="s")
        ref = float(stats.lognorm(s=sigma).stats(moments="s"))
        assert sk.lognormal_skewness(sigma) == pytest.approx(ref, rel=1e-9)
    assert sk.lognormal_skewness(1.0) == pytest.approx(6.18, abs=0.01)  # STATISTICS.md §7.3
    assert sk.lognormal_skewness(2.0) == pytest.approx(414.4, abs=0.1)
    # Bernoulli: scipy.stats.bernoulli(p).stats(moments="s")
    assert sk.bernoulli_skewness(0.01) == pytest.approx(
        float(stats.bernoulli(0.01).stats(moments="s")), rel=1e-12
    )
    # zero-inflated lognormal against a large sample (scipy.stats.skew)
    mean, sd, g = sk.zero_inflated_lognormal_moments(0.2, 0.0, 0.5)
    rng = np.random.default_rng(2)
    y = (rng.random(2_000_000) < 0.2) * rng.lognormal(0.0, 0.5, 2_000_000)
    assert mean == pytest.approx(y.mean(), rel=0.01)
    assert sd == pytest.approx(y.std(), rel=0.01)
    assert g == pytest.approx(stats.skew(y), rel=0.02)


def test_normal_validity_rule() -> None:
    # Kohavi et al. (2014) rule 7: 355·γ² units per arm
    assert sk.min_units_normal(6.18) == pytest.approx(355 * 6.18**2)
    ok = sk.normal_approximation_valid([13_000, 14_000, 10**9], [6.18, 6.18, np.nan])
    assert ok.tolist() == [False, True, False]
    with pytest.raises(ValueError, match="`factor` must be a number > 0"):
        sk.min_units_normal(1.0, factor=0)


def test_chisquare_matches_scipy() -> None:
    counts = np.array([[9_480, 9_550], [520, 450]])
    p = srm.chisquare_p(counts, [0.95, 0.05])
    for k in range(2):
        ref = stats.chisquare(counts[:, k], f_exp=counts[:, k].sum() * np.array([0.95, 0.05]))
        assert p[k] == pytest.approx(ref.pvalue, rel=1e-12)


def test_bayes_factor_equals_beta_mixture_integral() -> None:
    # two categories: BF = ∫ q^x (1−q)^(n−x) Beta(q; kθ, k(1−θ)) dq / (θ^x (1−θ)^(n−x))
    x, n, th, k = 13, 100, 0.05, 100.0

    def f(q: float) -> float:
        return float(q**x * (1 - q) ** (n - x) * stats.beta(k * th, k * (1 - th)).pdf(q))

    num = integrate.quad(f, 0, 1, points=[x / n], limit=200)[0]
    ref = np.log(num) - (x * np.log(th) + (n - x) * np.log1p(-th))
    got = srm.log_bayes_factor(np.array([n - x, x]), [1 - th, th])
    assert float(got) == pytest.approx(ref, rel=1e-6)


def test_sequential_srm_error_controlled_over_daily_looks() -> None:
    # A/A split of 1% canary, 28 daily looks of 40,000 units: P(any p ≤ α) ≤ α (Ville);
    # the daily chi-square at the same α is checked for comparison.
    rng = np.random.default_rng(13)
    reps, days, alpha = 4_000, 28, 0.05
    t = np.cumsum(rng.binomial(40_000, 0.01, size=(reps, days)), axis=1)
    c = np.cumsum(np.full((reps, days), 40_000), axis=1) - t
    counts = np.stack([c, t])
    p_seq = srm.sequential_p(counts, [0.99, 0.01])
    p_chi = srm.chisquare_p(counts, [0.99, 0.01])
    seq_rate = float(np.mean((p_seq <= alpha).any(axis=1)))
    chi_rate = float(np.mean((p_chi <= alpha).any(axis=1)))
    mcse = np.sqrt(alpha * (1 - alpha) / reps)
    assert seq_rate <= alpha + 3 * mcse, (seq_rate, chi_rate)
    assert chi_rate > 2 * alpha, (seq_rate, chi_rate)  # naive repeated test inflates
    # and it detects a real 1.0% vs 1.1% split within the month
    t2 = np.cumsum(rng.binomial(40_000, 0.011, size=(200, days)), axis=1)
    c2 = np.cumsum(np.full((200, days), 40_000), axis=1) - t2
    power = np.mean((srm.sequential_p(np.stack([c2, t2]), [0.99, 0.01]) <= 0.001).any(axis=1))
    assert power > 0.9


def test_missing_split_false_alarm_and_power() -> None:
    rng = np.random.default_rng(14)
    reps, days, alpha = 4_000, 28, 0.05
    ut = rng.binomial(10_000, 0.05, size=(reps, days))
    uc = 10_000 - ut
    mt, mc = rng.binomial(ut, 0.02), rng.binomial(uc, 0.02)
    cum = [np.cumsum(a, axis=1) for a in (mc, mt, uc, ut)]
    p = srm.missing_split_p(*cum)
    rate = float(np.mean((p <= alpha).any(axis=1)))
    assert rate <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / reps), rate
    # canary misses 4% instead of 2% (its slow calls time out and lose their latency)
    mt2 = rng.binomial(ut[:300], 0.04)
    cum2 = [np.cumsum(a, axis=1) for a in (mc[:300], mt2, uc[:300], ut[:300])]
    p2 = srm.missing_split_p(*cum2)
    assert np.mean(p2[:, 6] <= 0.001) > 0.9  # within a week at the SRM level
    with pytest.raises(ValueError, match="missing counts must satisfy"):
        srm.missing_split_p([5], [0], [3], [10])


def test_rule_power_single_look_bound_and_monotone() -> None:
    s2 = 0.01 * 0.99 * (1 / 0.05 + 1 / 0.95)
    kw = {"days": 28.0, "daily_units": 40_000.0, "n_star": 28 * 40_000.0}
    n = 28 * 40_000.0
    se = np.sqrt(s2 / n)
    h = float(
        seq.half_width(n, s2, seq.rho_squared(0.025, n, one_sided=True), 0.025, one_sided=True)
    )
    powers = [seq.rule_power(g, s2, **kw) for g in (0.001, 0.0015, 0.002)]
    assert powers == sorted(powers)
    single = stats.norm.cdf((0.0015 - h) / se)
    assert powers[1] >= single - 0.01  # daily looks only add chances to cross
    # days for power round-trips through rule_power
    d = seq.rule_days_for_power(0.0015, s2, daily_units=40_000, planned_days=28, power=0.8)
    p_at = seq.rule_power(0.0015, s2, days=d, daily_units=40_000, n_star=28 * 40_000)
    assert p_at == pytest.approx(0.8, abs=0.01)
    g = seq.rule_margin_for_power(s2, **kw)
    assert seq.rule_power(g, s2, **kw) == pytest.approx(0.8, abs=0.005)


def test_rule_power_and_the_curve_share_the_looks_a_one_look_canary_is_closed_form() -> None:
    """``rule_power`` and ``rule_power_by_day`` build the looks, half-widths and paths with
    the same helpers: a 1-day canary is one look, whose power is closed form —
    Φ((gap − h₁)/√(s²/n₁)) (scipy.stats.norm.cdf), within 4 Monte Carlo SEs — and both
    functions give the same number from the same paths."""
    from mlopskit.stats import seqpower

    s2, du = 4.0, 300.0
    for gap in (0.35, 0.5, 0.7):  # power ≈ 0.11, 0.53, 0.97
        h1 = float(
            seq.half_width(du, s2, seq.rho_squared(0.025, 14 * du, one_sided=True), 0.025,
                           one_sided=True)
        )  # fmt: skip
        exact = stats.norm.cdf((gap - h1) / np.sqrt(s2 / du))
        p = seq.rule_power(gap, s2, days=1.0, daily_units=du, n_star=14 * du)
        assert abs(p - exact) <= 4 * np.sqrt(exact * (1 - exact) / 20_000) + 1e-9, (gap, p)
        by_day = seqpower.rule_power_by_day(gap, s2, days=1.0, daily_units=du, n_star=14 * du)
        assert by_day.tolist() == [p]


def test_power_curve_is_one_replay_of_rule_power_and_leaves_the_plan_alone() -> None:
    """A mean metric's power curve (``plan.plot()``: > 10 sizes) comes from one replay of
    whole-day paths: equal to rule_power at whole days (exactly at the longest, within
    Monte Carlo error at shorter ones), and the planned size is the bisection on
    rule_power it always was."""
    from mlopskit import canary
    from mlopskit.stats import seqpower

    s2, du, ns = 8421.0, 4_000.0, 28 * 4_000.0
    by_day = seqpower.rule_power_by_day(0.5, s2, days=40.0, daily_units=du, n_star=ns)
    assert by_day.shape == (40,) and np.all(np.diff(by_day) >= 0)
    for d in (7, 20, 33):
        for md in (0.0, 7.0):  # whole-day powers do not depend on min_days
            p = seq.rule_power(0.5, s2, days=d, daily_units=du, n_star=ns, min_days=md)
            mcse = np.sqrt(2 * p * (1 - p) / 20_000) + 1e-9
            assert abs(by_day[d - 1] - p) <= 4 * mcse, (d, md, by_day[d - 1], p)
    assert by_day[-1] == seq.rule_power(0.5, s2, days=40.0, daily_units=du, n_star=ns)
    metric = canary.Mean("latency_ms", "latency_ms", margin=0.5)
    plan = canary.sample_size(metric, baseline=19.0, sd=20.0, daily_units=du)
    gap, s2p = plan.analysis_scale()
    days = seq.rule_days_for_power(
        gap, s2p, daily_units=du, planned_days=28.0, power=0.8, min_days=plan.min_days
    )
    assert plan.n_total == days * du  # the plan is rule_power's, not the curve's
    n = np.geomspace(plan.n_total / 20, plan.n_total * 4, 50)
    curve = plan.power_at(n)  # > 10 sizes: the replayed curve
    exact = plan.power_at(n[[10, 30, 45]])  # ≤ 10 sizes: rule_power at fractional days
    assert np.abs(curve[[10, 30, 45]] - exact).max() <= 0.02
    assert np.interp(plan.n_total, n, curve) == pytest.approx(plan.power, abs=0.02)
