"""Two-sample statistics of mlopskit.stats.proportions against statsmodels/scipy and the
oracles of STATISTICS.md §2."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from mlopskit.stats.proportions import (
    covariance,
    cuped_theta,
    diff_proportions,
    moments,
    newcombe_ci,
    ratio_delta_var,
    welch_ttest,
    ztest_proportions_pooled,
)


def test_wald_difference_oracle() -> None:
    # STATISTICS.md §2: control 4,900/980,000 vs canary 110/20,000 → d = 0.0005,
    # SE 5.277917e-4, 95% CI [−0.000534, 0.001534].
    res = diff_proportions(110, 20_000, 4_900, 980_000, alpha=0.05)
    assert res.effect == pytest.approx(0.0005, abs=1e-15)
    assert res.se == pytest.approx(5.277917e-4, rel=1e-6)
    assert res.ci_low == pytest.approx(-0.000534, abs=5e-7)
    assert res.ci_high == pytest.approx(0.001534, abs=5e-7)
    # reference: confint_proportions_2indep(110, 20000, 4900, 980000, method="wald")
    ref = confint_proportions_2indep(110, 20_000, 4_900, 980_000, method="wald", compare="diff")
    np.testing.assert_allclose([res.ci_low, res.ci_high], ref, rtol=1e-12)


def test_pooled_ztest_oracle_and_statsmodels() -> None:
    # STATISTICS.md §2: pooled z test p = 0.3215; proportions_ztest([110, 4900], [20000, 980000])
    z, p = ztest_proportions_pooled(110, 20_000, 4_900, 980_000)
    z_ref, p_ref = proportions_ztest([110, 4_900], [20_000, 980_000])
    assert p == pytest.approx(0.3215, abs=5e-5)
    assert z == pytest.approx(z_ref, rel=1e-12)
    assert p == pytest.approx(p_ref, rel=1e-12)


@pytest.mark.parametrize(
    ("xt", "nt", "xc", "nc"),
    [
        (110, 20_000, 4_900, 980_000),
        (3, 500, 40, 9_500),
        (0, 200, 7, 3_800),
        (9, 9, 90, 100),
        (120, 400, 80, 380),
    ],
)
def test_pooled_ztest_matches_statsmodels(xt: int, nt: int, xc: int, nc: int) -> None:
    # reference: statsmodels proportions_ztest([xt, xc], [nt, nc]) (two-sided, pooled)
    z, p = ztest_proportions_pooled(xt, nt, xc, nc)
    z_ref, p_ref = proportions_ztest([xt, xc], [nt, nc])
    np.testing.assert_allclose([z, p], [z_ref, p_ref], rtol=1e-10)


def test_pooled_ztest_without_a_standard_error_is_nan() -> None:
    # pooled share 0 or 1, or an empty arm: no test (NaN), vectorized like the rest
    z, p = ztest_proportions_pooled([0, 10, 1], [10, 10, 0], [0, 20, 1], [20, 20, 2])
    assert np.isnan(z).all() and np.isnan(p).all()


@pytest.mark.parametrize(
    ("xt", "nt", "xc", "nc"),
    [(110, 20_000, 4_900, 980_000), (3, 500, 40, 9_500), (0, 200, 7, 3_800), (9, 10, 1, 10)],
)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_newcombe_matches_statsmodels(xt: int, nt: int, xc: int, nc: int, alpha: float) -> None:
    # reference: confint_proportions_2indep(xt, nt, xc, nc, method="newcomb", compare="diff")
    lo, hi = newcombe_ci(xt, nt, xc, nc, alpha=alpha)
    ref = confint_proportions_2indep(xt, nt, xc, nc, method="newcomb", alpha=alpha)
    np.testing.assert_allclose([lo, hi], ref, rtol=1e-10, atol=1e-14)


def test_welch_oracle() -> None:
    # STATISTICS.md §2: means 0.95/0.80, SDs 24/20, n 20,000/980,000 → t = 0.8777,
    # df = 20569.8, p = 0.3801.
    w = welch_ttest(0.95, 24.0**2, 20_000, 0.80, 20.0**2, 980_000)
    assert w.statistic == pytest.approx(0.8777, abs=5e-5)
    assert w.df == pytest.approx(20569.8, abs=0.05)
    assert w.p_value == pytest.approx(0.3801, abs=5e-5)
    # reference: scipy.stats.ttest_ind_from_stats(0.95, 24, 20000, 0.80, 20, 980000, equal_var=False)
    ref = stats.ttest_ind_from_stats(0.95, 24.0, 20_000, 0.80, 20.0, 980_000, equal_var=False)
    assert w.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert w.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_welch_from_sums_matches_scipy_on_raw_arrays() -> None:
    rng = np.random.default_rng(3)
    yt, yc = rng.gamma(2.0, 3.0, 300), rng.gamma(2.0, 2.8, 5_000)
    mt, vt = moments(yt.size, yt.sum(), yt @ yt)
    mc, vc = moments(yc.size, yc.sum(), yc @ yc)
    np.testing.assert_allclose([mt, vt], [yt.mean(), yt.var(ddof=1)], rtol=1e-10)
    w = welch_ttest(mt, vt, yt.size, mc, vc, yc.size, alpha=0.05)
    # reference: scipy.stats.ttest_ind(yt, yc, equal_var=False) and its confidence_interval()
    ref = stats.ttest_ind(yt, yc, equal_var=False)
    ci = ref.confidence_interval(0.95)
    np.testing.assert_allclose(
        [w.statistic, w.p_value, w.df, w.ci_low, w.ci_high],
        [ref.statistic, ref.pvalue, ref.df, ci.low, ci.high],
        rtol=1e-9,
    )


def test_covariance_matches_numpy() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=200)
    y = 2 * x + rng.normal(size=200)
    assert covariance(200, x.sum(), y.sum(), x @ y) == pytest.approx(np.cov(x, y)[0, 1])


def test_ratio_delta_variance_against_brute_force_simulation() -> None:
    # Brute force: the sampling variance of R̂ = ΣY/ΣX over 4,000 simulated samples of
    # n = 2,000 correlated (Y, X) units (loss and amount: Y = X·Bernoulli(0.3)) must match
    # the delta-method formula, and only with the covariance term.
    rng = np.random.default_rng(11)
    n, reps = 2_000, 4_000
    x = rng.lognormal(3.0, 1.0, size=(reps, n))
    y = x * (rng.random((reps, n)) < 0.3)
    ratios = y.sum(1) / x.sum(1)
    mc_var = ratios.var(ddof=1)
    # population moments from one very large sample
    xb = rng.lognormal(3.0, 1.0, size=2_000_000)
    yb = xb * (rng.random(xb.size) < 0.3)
    c = np.cov(yb, xb)
    v = ratio_delta_var(n, yb.mean(), xb.mean(), c[0, 0], c[1, 1], c[0, 1])
    no_cov = ratio_delta_var(n, yb.mean(), xb.mean(), c[0, 0], c[1, 1], 0.0)
    # Monte Carlo SE of a variance with 4,000 replicates ≈ 2.2%; allow 3 SEs
    assert v == pytest.approx(mc_var, rel=0.07)
    assert no_cov / mc_var > 1.3  # dropping the covariance term overstates it by ~50%


def test_ratio_delta_variance_matches_statsmodels_linearization() -> None:
    # Linearization: Var(R̂) = Var(Y − R X)/(n μ_X²); statsmodels OLS of the linearized
    # variable on a constant gives that variance as bse² (with ddof=1 it is identical).
    rng = np.random.default_rng(5)
    x = rng.lognormal(2.0, 0.8, 5_000)
    y = 0.3 * x + rng.normal(0, 2.0, x.size)
    r = y.mean() / x.mean()
    lin = (y - r * x) / x.mean()
    bse = sm.OLS(lin, np.ones_like(lin)).fit().bse[0]
    vy, vx, cxy = y.var(ddof=1), x.var(ddof=1), np.cov(x, y)[0, 1]
    v = ratio_delta_var(x.size, y.mean(), x.mean(), vy, vx, cxy)
    assert v == pytest.approx(bse**2, rel=1e-9)


def test_cuped_theta_is_the_pooled_ols_slope() -> None:
    rng = np.random.default_rng(6)
    z = rng.normal(10, 3, 4_000)
    y = 0.5 * z + rng.normal(0, 2, z.size)
    arm = rng.random(z.size) < 0.3
    y = y + 0.2 * arm
    theta = cuped_theta(z.size, y.sum(), z.sum(), z @ z, z @ y)
    # reference: statsmodels OLS of y on [1, z] over both arms pooled
    slope = sm.OLS(y, sm.add_constant(z)).fit().params[1]
    assert theta == pytest.approx(slope, rel=1e-10)
    assert cuped_theta(10, 5.0, 10.0, 10.0, 5.0) == 0.0  # constant covariate: no adjustment
