"""Chain ladder, maturity curve, count forecast: published triangle, closed forms, simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight

from mlopskit.stats.maturity import (
    chain_ladder,
    eventual_rate,
    forecast_label_count,
    forward_km_maturity,
    maturity_function,
)
from mlopskit.stats.proportions import wilson_ci

NAN = np.nan
# Taylor & Ashe (1983) cumulative paid claims, the triangle Mack (1993) uses ("GenIns" in
# R's ChainLadder package).
GENINS = np.array(
    [
        [357848, 1124788, 1735330, 2218270, 2745596, 3319994, 3466336, 3606286, 3833515, 3901463],
        [352118, 1236139, 2170033, 3353322, 3799067, 4120063, 4647867, 4914039, 5339085, NAN],
        [290507, 1292306, 2218525, 3235179, 3985995, 4132918, 4628910, 4909315, NAN, NAN],
        [310608, 1418858, 2195047, 3757447, 4029929, 4381982, 4588268, NAN, NAN, NAN],
        [443160, 1136350, 2128333, 2897821, 3402672, 3873311, NAN, NAN, NAN, NAN],
        [396132, 1333217, 2180715, 2985752, 3691712, NAN, NAN, NAN, NAN, NAN],
        [440832, 1288463, 2419861, 3483130, NAN, NAN, NAN, NAN, NAN, NAN],
        [359480, 1421128, 2864498, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
        [376686, 1363294, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
        [344014, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    ]
)


def test_chain_ladder_reproduces_mack_1993_taylor_ashe() -> None:
    # Reference: T. Mack (1993), "Distribution-free calculation of the standard error of chain
    # ladder reserve estimates", ASTIN Bulletin 23(2):213–225, the Taylor & Ashe example
    # (factors, reserves and standard errors; total reserve 18,680,856, s.e. 2,447,095 = 13%).
    # The same numbers come from R: ChainLadder::MackChainLadder(GenIns, est.sigma = "Mack")
    # (the package's demo/MackChainLadder.R: "compare to table 2 and 3 in Mack's 1993
    # paper"), and are tabulated in England & Verrall (2002), "Stochastic claims reserving in
    # general insurance", British Actuarial Journal 8(3), Table 3.
    fit = chain_ladder(GENINS)
    np.testing.assert_allclose(
        fit.factors,
        [3.491, 1.747, 1.457, 1.174, 1.104, 1.086, 1.054, 1.077, 1.018],
        atol=5e-4,
    )
    reserves = [0, 94634, 469511, 709638, 984889, 1419459, 2177641, 3920301, 4278972, 4625811]
    np.testing.assert_allclose(fit.reserve, reserves, atol=1.0)
    assert fit.total_reserve == pytest.approx(18_680_856, abs=1.0)
    mack_se = [0, 75535, 121699, 133549, 261406, 411010, 558317, 875328, 971258, 1363155]
    np.testing.assert_allclose(fit.mack_se, mack_se, atol=1.0)
    assert fit.total_se == pytest.approx(2_447_095, abs=1.0)
    assert round(fit.total_cv, 2) == 0.13
    # the last sigma^2 comes from Mack's rule min(s_7^4/s_6^2, s_6^2, s_7^2)
    assert fit.sigma_extrapolated.tolist() == [False] * 8 + [True]
    s2 = fit.sigma2
    assert s2[8] == pytest.approx(min(s2[7] ** 2 / s2[6], s2[6], s2[7]))


def test_sigma2_and_maturity_match_a_naive_loop() -> None:
    # Independent re-computation with plain loops of Mack's definitions.
    tri = GENINS
    n = tri.shape[1]
    f, s2, den = [], [], []
    for k in range(n - 1):
        rows = [i for i in range(tri.shape[0]) if not np.isnan(tri[i, k + 1])]
        fk = sum(tri[i, k + 1] for i in rows) / sum(tri[i, k] for i in rows)
        f.append(fk)
        den.append(sum(tri[i, k] for i in rows))
        if len(rows) > 1:
            s2.append(
                sum(tri[i, k] * (tri[i, k + 1] / tri[i, k] - fk) ** 2 for i in rows)
                / (len(rows) - 1)
            )
    fit = chain_ladder(tri)
    np.testing.assert_allclose(fit.factors, f, rtol=1e-12)
    np.testing.assert_allclose(fit.sigma2[:-1], s2, rtol=1e-10)
    # maturity: F(k) = 1/prod_{j>=k} f_j ; SE by the delta method over independent f_j
    for k in range(n - 1):
        prod = np.prod(f[k:])
        assert fit.maturity[k] == pytest.approx(1 / prod, rel=1e-12)
        rel_var = sum(fit.sigma2[j] / den[j] / f[j] ** 2 for j in range(k, n - 1))
        assert fit.maturity_se[k] == pytest.approx(np.sqrt(rel_var) / prod, rel=1e-10)
    assert fit.maturity[-1] == 1.0 and fit.maturity_se[-1] == 0.0


def test_chain_ladder_bad_triangles() -> None:
    with pytest.raises(ValueError, match="2-d array"):
        chain_ladder([1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        chain_ladder([[1.0, -2.0], [1.0, NAN]])
    with pytest.raises(ValueError, match=r"contiguous from age 0 in each row; rows \[1\]"):
        chain_ladder([[1.0, 2.0, 3.0], [NAN, 2.0, NAN]])
    with pytest.raises(ValueError, match="no cohort is observed at age 2"):
        chain_ladder([[1.0, 2.0, NAN], [1.0, NAN, NAN]])


def test_leading_ages_without_positives_have_zero_maturity() -> None:
    # nothing arrives at age 0 in any cohort: F(0) = 0 with SE 0, later ages finite
    tri = np.array([[0.0, 3.0, 6.0], [0.0, 4.0, NAN], [0.0, NAN, NAN]])
    fit = chain_ladder(tri)
    assert fit.factors[0] == np.inf
    assert fit.maturity[0] == 0.0 and fit.maturity_se[0] == 0.0
    assert fit.maturity[1] == pytest.approx(3 / 6)
    assert fit.ultimate[2] != fit.ultimate[2]  # NaN: nothing observed yet, F(0) = 0


# --------------------------------------------------------------------------------------
# Simulated label delays with a known curve
# --------------------------------------------------------------------------------------
H, N_COHORTS, LAM = 90, 120, 40.0
GAMMA = stats.gamma(2.0, scale=10.0)


def _true_maturity(ages: np.ndarray) -> np.ndarray:
    # closed form of the Gamma(2, 10) cdf, relative to the 90-day horizon
    def g(x: np.ndarray) -> np.ndarray:
        return 1 - np.exp(-x / 10) * (1 + x / 10)

    return g(np.asarray(ages, dtype=float)) / g(np.array(float(H)))


def _simulated_triangle(rng: np.random.Generator, lam: float = LAM) -> np.ndarray:
    """Cohort × age triangle of positives with Gamma(2, 10 d) delays (sufficient statistics).

    Counts per (cohort, delay day) are Poisson(lam·q_d); column k−1 holds delay < k days and
    is observed when cohort c (a day) has had k complete days by as_of = day N_COHORTS.
    """
    q = np.diff(GAMMA.cdf(np.arange(H + 1)))
    counts = rng.poisson(lam * q, size=(N_COHORTS, H))
    cum = np.cumsum(counts, axis=1).astype(float)
    c = np.arange(N_COHORTS)[:, None]
    k = np.arange(1, H + 1)[None, :]
    tri = np.where(c + 1 + k <= N_COHORTS, cum, np.nan)
    return tri[~np.isnan(tri[:, 0])]


def test_maturity_recovers_gamma_curve_within_its_se() -> None:
    fit = chain_ladder(_simulated_triangle(np.random.default_rng(20260601)))
    for age in (7, 14, 30):
        est, se = fit.maturity[age - 1], fit.maturity_se[age - 1]
        truth = _true_maturity(np.array(age))
        assert abs(est - truth) < 2 * se, (age, est, truth, se)
        assert 0 < se < 0.02


@pytest.mark.slow
def test_maturity_se_has_nominal_coverage() -> None:
    rng = np.random.default_rng(7)
    ages = np.array([7, 14, 30])
    truth = _true_maturity(ages)
    z = np.array(
        [
            (fit.maturity[ages - 1] - truth) / fit.maturity_se[ages - 1]
            for fit in (chain_ladder(_simulated_triangle(rng)) for _ in range(400))
        ]
    )
    coverage = (np.abs(z) < 1.96).mean(axis=0)
    assert np.all((coverage > 0.92) & (coverage < 0.985)), coverage
    assert np.all(np.abs(z.mean(axis=0)) < 0.15), z.mean(axis=0)
    assert np.all((z.std(axis=0) > 0.8) & (z.std(axis=0) < 1.15)), z.std(axis=0)


def _observed_delays(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row-level positives: event time (days), delay; only labels arrived by as_of are seen."""
    n = rng.poisson(LAM * N_COHORTS)
    t = rng.uniform(0, N_COHORTS, n)
    d = GAMMA.rvs(size=n, random_state=rng)
    keep = (d < H) & (t + d <= N_COHORTS)
    return t[keep], d[keep]


def _triangle_from_rows(t: np.ndarray, d: np.ndarray) -> np.ndarray:
    counts = np.zeros((N_COHORTS, H))
    np.add.at(counts, (np.floor(t).astype(int), np.floor(d).astype(int)), 1)
    cum = np.cumsum(counts, axis=1)
    c = np.arange(N_COHORTS)[:, None]
    k = np.arange(1, H + 1)[None, :]
    tri = np.where(c + 1 + k <= N_COHORTS, cum, np.nan)
    return tri[~np.isnan(tri[:, 0])]


def test_forward_kaplan_meier_is_biased_under_right_truncation() -> None:
    # The same right-truncated rows through a forward KM and through the chain ladder, 60
    # times: the KM's error is systematically positive (it over-states maturity because
    # late labels of recent events are missing), the chain ladder's averages out.
    rng = np.random.default_rng(11)
    ages = np.array([7, 14, 30])
    truth = _true_maturity(ages)
    km_err, cl_err, cl_se = [], [], []
    for _ in range(60):
        t, d = _observed_delays(rng)
        km_err.append(forward_km_maturity(d, ages) - truth)
        fit = chain_ladder(_triangle_from_rows(t, d))
        cl_err.append(fit.maturity[ages - 1] - truth)
        cl_se.append(fit.maturity_se[ages - 1])
    km_err, cl_err = np.array(km_err), np.array(cl_err)
    se_mean = cl_err.std(axis=0, ddof=1) / np.sqrt(60)
    assert np.all(np.abs(cl_err.mean(axis=0)) < 3 * se_mean), cl_err.mean(axis=0)
    assert np.all(km_err.mean(axis=0) > 10 * se_mean), km_err.mean(axis=0)
    assert np.all(km_err > 0)  # every single replicate is too mature, at every age
    assert km_err.mean(axis=0)[0] / truth[0] > 0.05  # ≥ 5% relative at a week
    # and the chain ladder's own SE describes its error
    z = cl_err / np.array(cl_se)
    assert np.all((z.std(axis=0) > 0.7) & (z.std(axis=0) < 1.3))


def test_forward_km_matches_statsmodels_survfunc_with_censoring() -> None:
    rng = np.random.default_rng(3)
    d = np.round(rng.exponential(10.0, 300), 1)
    cens = rng.random(300) < 0.3
    ages = np.array([2.0, 5.0, 10.0, 20.0])
    ours = forward_km_maturity(d, ages, censored=cens)
    # reference: statsmodels SurvfuncRight(time, status) with status = 1 for events
    sf = SurvfuncRight(d, (~cens).astype(int))
    ref = []
    for a in ages:
        below = sf.surv_times < a  # P(delay < a) = 1 - S(a-)
        ref.append(1 - (sf.surv_prob[below][-1] if below.any() else 1.0))
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    # without censoring it is the empirical CDF (P(delay < a))
    np.testing.assert_allclose(forward_km_maturity(d, ages), [(d < a).mean() for a in ages])


# --------------------------------------------------------------------------------------
# Expected labelled count and the K* forecast
# --------------------------------------------------------------------------------------
def test_expected_count_oracle_statistics_md() -> None:
    # STATISTICS.md §4: λ = 400/day, Gamma(2, 10 d) delays, F relative to the 90-day horizon:
    # K* = 1000 first reached in expectation on day 14 (E = 1038), with 90% on day 15.
    def f(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        return np.where(a > 0, _true_maturity(np.clip(a, 0, H)), 0.0)

    fc = forecast_label_count(f, k_star=1000, future_rate=400.0, max_days=40)
    # E[C(T)] = Σ_{d=0..T} λ·F(T − d), by hand
    by_hand = [400.0 * sum(f(np.array(t - d)) for d in range(t + 1)) for t in range(41)]
    np.testing.assert_allclose(fc.expected, by_hand, rtol=1e-12)
    assert round(float(fc.expected[14])) == 1038
    assert fc.expected[13] < 1000 <= fc.expected[14]
    assert fc.day_expected == 14
    assert fc.prob_reach[14] < 0.9 <= fc.prob_reach[15]
    assert fc.day_probable == 15
    # P(Poisson(E) ≥ 1000) through the survival function
    assert fc.prob_reach[14] == pytest.approx(stats.poisson.sf(999, fc.expected[14]))


def test_forecast_conditions_on_what_is_already_known() -> None:
    f = maturity_function(np.arange(1, H + 1), _true_maturity(np.arange(1, H + 1)))
    rates, ages = np.array([50.0, 60.0, 70.0]), np.array([12.5, 6.5, 0.5])
    fc = forecast_label_count(
        f,
        k_star=200,
        future_rate=65.0,
        past_rates=rates,
        past_ages=ages,
        observed=40,
        max_days=60,
        future_age_offset=0.5,
    )
    for t in (0, 5, 30):
        past = sum(
            r * (f(np.array(a + t)) - f(np.array(a))) for r, a in zip(rates, ages, strict=True)
        )
        future = sum(65.0 * f(np.array(t - d - 0.5)) for d in range(t + 1))
        assert fc.expected[t] == pytest.approx(40 + past + future, rel=1e-12)
    assert fc.expected[0] == 40
    assert fc.prob_reach[fc.day_probable] >= 0.9 > fc.prob_reach[fc.day_probable - 1]
    done = forecast_label_count(f, k_star=30, future_rate=1.0, observed=40, max_days=3)
    assert done.day_expected == 0 and done.day_probable == 0
    never = forecast_label_count(f, k_star=10**6, future_rate=1.0, max_days=30)
    assert never.day_expected is None and never.day_probable is None


def test_forecast_with_rate_uncertainty_is_a_poisson_gamma_mixture() -> None:
    from scipy import integrate

    f = maturity_function(np.arange(1, H + 1), _true_maturity(np.arange(1, H + 1)))
    plain = forecast_label_count(f, k_star=500, future_rate=60.0, max_days=40)
    mixed = forecast_label_count(f, k_star=500, future_rate=60.0, max_days=40, rate_cv=0.1)
    np.testing.assert_allclose(mixed.expected, plain.expected)
    t = plain.day_probable
    m = plain.expected[t]
    # reference: ∫ Poisson(m·g).sf(499) dGamma(g; shape 1/cv², scale cv²) by quadrature
    shape = 1 / 0.1**2
    ref, _ = integrate.quad(
        lambda g: stats.poisson.sf(499, m * g) * stats.gamma.pdf(g, shape, scale=1 / shape),
        0,
        3,
        limit=200,
    )
    assert mixed.prob_reach[t] == pytest.approx(ref, rel=1e-6)
    assert mixed.prob_reach[t] < plain.prob_reach[t]
    assert mixed.day_probable > plain.day_probable  # rate uncertainty pushes the date out
    with pytest.raises(ValueError, match="`rate_cv`"):
        forecast_label_count(f, k_star=5, future_rate=1.0, rate_cv=-0.1)


def test_forecast_bad_arguments() -> None:
    f = maturity_function([1, 2], [0.5, 1.0])
    with pytest.raises(ValueError, match="`k_star` must be a positive integer"):
        forecast_label_count(f, k_star=0, future_rate=1.0)
    with pytest.raises(ValueError, match="`probability` must be in"):
        forecast_label_count(f, k_star=5, future_rate=1.0, probability=1.5)
    with pytest.raises(ValueError, match="`future_rate`"):
        forecast_label_count(f, k_star=5, future_rate=-1.0)
    with pytest.raises(ValueError, match="differ in shape"):
        forecast_label_count(f, k_star=5, future_rate=1.0, past_rates=[1.0], past_ages=[])


def test_maturity_function_interpolates_and_clamps() -> None:
    f = maturity_function([1, 2, 4], [0.2, 0.5, 1.0])
    np.testing.assert_allclose(
        f(np.array([-1.0, 0.0, 0.5, 1.5, 3.0, 4.0, 10.0])), [0.0, 0.0, 0.1, 0.35, 0.75, 1.0, 1.0]
    )
    with pytest.raises(ValueError, match="strictly increasing"):
        maturity_function([2, 1], [0.5, 1.0])


# --------------------------------------------------------------------------------------
# Eventual rates, arrival test
# --------------------------------------------------------------------------------------
def test_eventual_rate_interval_and_suppression() -> None:
    c = np.array([30.0, 0.0, 5.0, 12.0])
    n = np.array([4000.0, 3000.0, 1000.0, 0.0])
    f = np.array([0.6, 0.8, 0.2, 0.9])
    rate, lo, hi, supp = eventual_rate(c, n, f, np.zeros(4), min_maturity=0.3)
    assert supp.tolist() == [False, False, True, True]
    wl, wh = wilson_ci(c[:2], n[:2])
    # with F known exactly the interval is the Wilson interval of C/n divided by F
    np.testing.assert_allclose([lo[0], hi[0]], [wl[0] / 0.6, wh[0] / 0.6], rtol=1e-12)
    assert rate[0] == pytest.approx(30 / 4000 / 0.6)
    assert lo[1] == 0.0 and hi[1] == pytest.approx(wh[1] / 0.8)
    assert np.isnan(rate[2]) and np.isnan(hi[3])
    # uncertainty in F widens the interval
    _, lo2, hi2, _ = eventual_rate(c, n, f, np.full(4, 0.05))
    assert lo2[0] < lo[0] and hi2[0] > hi[0]


@pytest.mark.slow
def test_eventual_rate_interval_coverage() -> None:
    rng = np.random.default_rng(5)
    p, n, f_true = 0.008, 5000, 0.55
    reps = 4000
    c = rng.binomial(n, p * f_true, reps).astype(float)
    f_hat = np.clip(rng.normal(f_true, 0.02, reps), 0.3, 1)  # an estimated maturity, SE 0.02
    _, lo, hi, _ = eventual_rate(c, np.full(reps, n), f_hat, np.full(reps, 0.02))
    coverage = np.mean((lo <= p) & (p <= hi))
    assert 0.93 < coverage < 0.985, coverage
