"""mlopskit.stats.agreement against statsmodels, scipy and the textbook definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

from mlopskit.stats.agreement import (
    ScoreGrid,
    cohens_kappa,
    decision_agreement,
    kendall_tau_b,
    ks_2samp,
    ks_from_counts,
    mcnemar_exact,
    quantile_bins,
    spearman,
    top_k_overlap,
)

# ---------------------------------------------------------------------------------------
# Cohen's kappa and McNemar
# ---------------------------------------------------------------------------------------
KAPPA_TABLES = [
    [[20, 5], [10, 15]],
    [[520, 110], [95, 55_000]],  # a fraud-like 2×2: rare flags, overall agreement 99.6%
    [[1, 0], [0, 1]],
    [[0, 7], [9, 0]],  # complete disagreement, κ < 0
    [[10, 2, 1], [3, 20, 4], [0, 5, 30]],
]


@pytest.mark.parametrize("table", KAPPA_TABLES)
def test_kappa_matches_statsmodels(table: list[list[int]]) -> None:
    # reference: statsmodels.stats.inter_rater.cohens_kappa(table) → kappa, std_kappa, std_kappa0
    ref = sm_kappa(np.asarray(table))
    got = cohens_kappa(table)
    np.testing.assert_allclose(
        [got.kappa, got.se, got.se_null],
        [ref.kappa, ref.std_kappa, ref.std_kappa0],
        rtol=1e-12,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        [got.ci_low, got.ci_high], [ref.kappa_low, ref.kappa_upp], rtol=1e-10
    )
    # statsmodels' two-sided p-value uses the null SE, as ours does
    np.testing.assert_allclose(got.p_value, ref.pvalue_two_sided, rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=4, max_size=4).filter(lambda v: sum(v) > 0))
def test_kappa_matches_statsmodels_random_2x2(cells: list[int]) -> None:
    # reference: statsmodels.stats.inter_rater.cohens_kappa
    t = np.asarray(cells).reshape(2, 2)
    p = t / t.sum()
    if np.isclose(p.sum(1) @ p.sum(0), 1.0):
        assert np.isnan(cohens_kappa(t).kappa)  # every item in one category: undefined
        return
    with np.errstate(invalid="ignore", divide="ignore"):  # statsmodels divides 0/0 here
        ref = sm_kappa(t)
    got = cohens_kappa(t)
    np.testing.assert_allclose([got.kappa, got.se], [ref.kappa, ref.std_kappa], atol=1e-12)


def test_kappa_bad_input() -> None:
    with pytest.raises(ValueError, match=r"`table` must be a square k×k table"):
        cohens_kappa([[1, 2, 3]])
    with pytest.raises(ValueError, match="non-negative finite counts"):
        cohens_kappa([[1, -2], [3, 4]])


@pytest.mark.parametrize(("b", "c"), [(0, 0), (1, 0), (5, 9), (110, 95), (40, 41), (3000, 2800)])
def test_mcnemar_exact_matches_statsmodels(b: int, c: int) -> None:
    # reference: statsmodels.stats.contingency_tables.mcnemar([[a, b], [c, d]], exact=True)
    ref = mcnemar(np.array([[50, b], [c, 900]]), exact=True)
    got = mcnemar_exact(b, c)
    assert got.statistic == ref.statistic
    np.testing.assert_allclose(got.p_value, ref.pvalue, rtol=1e-12)


def test_mcnemar_tests_equal_rates_not_agreement() -> None:
    # disjoint flagged sets of equal size: no agreement at all, yet equal flag rates (p = 1)
    res = decision_agreement(0, 30, 30, 940)
    assert res.jaccard == 0.0 and res.mcnemar.p_value == 1.0
    with pytest.raises(ValueError, match="non-negative integers"):
        mcnemar_exact(-1, 3)


def test_decision_agreement_matches_set_definitions() -> None:
    # independent reference: Python sets of flagged request ids
    rng = np.random.default_rng(1)
    n = 20_000
    champ = rng.random(n) < 0.02
    chall = np.where(champ, rng.random(n) < 0.75, rng.random(n) < 0.001)
    set_a, set_b = set(np.flatnonzero(champ)), set(np.flatnonzero(chall))
    a = len(set_a & set_b)
    res = decision_agreement(a, len(set_a - set_b), len(set_b - set_a), n - len(set_a | set_b))
    assert res.n == n
    assert res.jaccard == pytest.approx(len(set_a & set_b) / len(set_a | set_b), rel=1e-12)
    assert res.positive_agreement == pytest.approx(2 * a / (len(set_a) + len(set_b)), rel=1e-12)
    assert res.champion_flags_in_challenger == pytest.approx(a / len(set_b), rel=1e-12)
    assert res.challenger_flags_in_champion == pytest.approx(a / len(set_a), rel=1e-12)
    assert res.flag_rate_champion == pytest.approx(champ.mean())
    assert res.agreement == pytest.approx(np.mean(champ == chall))
    # 99% overall agreement can hide a much smaller overlap of the flagged sets
    assert res.agreement > 0.99 and res.jaccard < 0.75


# ---------------------------------------------------------------------------------------
# Rank agreement
# ---------------------------------------------------------------------------------------
def _corr_pair(rng: np.random.Generator, n: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
    return x, y


@pytest.mark.parametrize("ties", [False, True])
def test_spearman_matches_scipy(ties: bool) -> None:
    # reference: scipy.stats.spearmanr(x, y) (statistic and p-value)
    rng = np.random.default_rng(2)
    x, y = _corr_pair(rng, 300, 0.8)
    if ties:
        x, y = np.round(x, 1), np.round(y, 1)
    ref = stats.spearmanr(x, y)
    got = spearman(x, y)
    np.testing.assert_allclose([got.estimate, got.p_value], [ref.statistic, ref.pvalue], rtol=1e-10)
    # the Fisher-z interval with the Bonett–Wright SE, written out
    z, se = stats.norm.isf(0.025), np.sqrt((1 + got.estimate**2 / 2) / (300 - 3))
    assert got.ci_low == pytest.approx(np.tanh(np.arctanh(got.estimate) - z * se), rel=1e-12)
    assert got.ci_high == pytest.approx(np.tanh(np.arctanh(got.estimate) + z * se), rel=1e-12)
    assert "Bonett" in got.se_method


def _tau_b_by_definition(x: np.ndarray, y: np.ndarray) -> float:
    # O(n²) textbook definition: (P − Q)/sqrt((n0 − n1)(n0 − n2))
    conc = disc = tx = ty = 0
    for i, j in itertools.combinations(range(x.size), 2):
        sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if sx == 0 and sy == 0:
            continue
        if sx == 0:
            tx += 1
        elif sy == 0:
            ty += 1
        elif sx == sy:
            conc += 1
        else:
            disc += 1
    return (conc - disc) / np.sqrt((conc + disc + tx) * (conc + disc + ty))


def test_kendall_tau_b_matches_definition_and_scipy() -> None:
    rng = np.random.default_rng(3)
    x, y = _corr_pair(rng, 120, 0.6)
    x, y = np.round(x, 1), np.round(y, 1)  # ties in both variables
    got = kendall_tau_b(x, y)
    assert got.estimate == pytest.approx(_tau_b_by_definition(x, y), rel=1e-12)
    # reference: scipy.stats.kendalltau(x, y, variant="b")
    ref = stats.kendalltau(x, y, variant="b")
    np.testing.assert_allclose([got.estimate, got.p_value], [ref.statistic, ref.pvalue])


def test_rank_bad_input() -> None:
    with pytest.raises(ValueError, match="must be finite"):
        spearman([0.1, np.nan, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="equal length"):
        kendall_tau_b([0.1, 0.2], [0.1])
    assert np.isnan(spearman([1.0, 1, 1, 1, 1], [1.0, 2, 3, 4, 5]).estimate)  # constant


@pytest.mark.slow
def test_spearman_interval_coverage() -> None:
    # seeded calibration: 4000 samples of n = 150 from a bivariate normal with r = 0.9;
    # population Spearman ρ_s = (6/π)·asin(r/2) (Pearson 1907). Nominal 95%.
    rng = np.random.default_rng(4)
    r, n, reps = 0.9, 150, 4000
    rho_s = 6 / np.pi * np.arcsin(r / 2)
    x = rng.normal(size=(reps, n))
    y = r * x + np.sqrt(1 - r**2) * rng.normal(size=(reps, n))
    rx, ry = stats.rankdata(x, axis=1), stats.rankdata(y, axis=1)
    rho = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(rx, ry, strict=True)])
    cover = []
    for i in range(0, reps, 50):  # the library call on a spread of replicates
        res = spearman(x[i], y[i])
        assert res.estimate == pytest.approx(rho[i], rel=1e-10)
    z, se = stats.norm.isf(0.025), np.sqrt((1 + rho**2 / 2) / (n - 3))
    cover = (np.tanh(np.arctanh(rho) - z * se) <= rho_s) & (
        rho_s <= np.tanh(np.arctanh(rho) + z * se)
    )
    assert 0.935 <= cover.mean() <= 0.965, cover.mean()


def test_top_k_overlap_matches_sets_and_hypergeometric() -> None:
    rng = np.random.default_rng(5)
    x, y = _corr_pair(rng, 2000, 0.7)
    k = 100
    got = top_k_overlap(x, y, k)
    ref = len(set(np.argsort(-x)[:k]) & set(np.argsort(-y)[:k]))
    assert got.overlap == ref and got.share == ref / k
    assert got.expected_random == pytest.approx(k**2 / 2000)
    # reference: the random baseline is hypergeometric; one-sided Fisher test of the
    # top-k × top-k table gives the same tail, scipy.stats.fisher_exact(alternative="greater")
    o = got.overlap
    fisher = stats.fisher_exact([[o, k - o], [k - o, 2000 - 2 * k + o]], alternative="greater")
    assert got.p_value == pytest.approx(fisher.pvalue, rel=1e-9)
    # independent scores: the mean overlap over random pairs is k²/n
    sims = [top_k_overlap(rng.random(2000), rng.random(2000), k).overlap for _ in range(400)]
    assert np.mean(sims) == pytest.approx(k**2 / 2000, rel=0.1)
    with pytest.raises(ValueError, match=r"`k` must be an integer in \[1, n=2000\]"):
        top_k_overlap(x, y, 0)


# ---------------------------------------------------------------------------------------
# KS, grid, PSI
# ---------------------------------------------------------------------------------------
def test_ks_raw_matches_scipy() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.beta(1, 30, 3000), rng.beta(1.1, 30, 2000)
    # reference: scipy.stats.ks_2samp(a, b, method="asymp")
    ref = stats.ks_2samp(a, b, method="asymp")
    got = ks_2samp(a, b)
    np.testing.assert_allclose([got.d, got.p_value], [ref.statistic, ref.pvalue], rtol=1e-12)
    assert got.d_upper == got.d


def test_ks_from_grid_counts_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    grid = ScoreGrid()
    a, b = rng.beta(1, 40, 20_000), rng.beta(1, 36, 15_000)
    ca = np.bincount(grid.index(a), minlength=grid.n_bins)
    cb = np.bincount(grid.index(b), minlength=grid.n_bins)
    got = ks_from_counts(ca, cb)
    # reference: scipy.stats.ks_2samp on the raw values lies within the grid's bounds
    ref = stats.ks_2samp(a, b, method="asymp")
    assert got.d <= ref.statistic + 1e-12 <= got.d_upper + 1e-12
    assert got.d_upper - got.d < 0.004  # 4000 logit bins: a bin holds < 0.4% of the mass
    # values that sit on the grid (lower bin edges) give scipy's statistic exactly
    edges = grid.edges()
    ea = edges[grid.index(a)] * (1 + 1e-12)
    eb = edges[grid.index(b)] * (1 + 1e-12)
    on_grid = ks_from_counts(
        np.bincount(grid.index(ea), minlength=grid.n_bins),
        np.bincount(grid.index(eb), minlength=grid.n_bins),
    )
    ref2 = stats.ks_2samp(ea, eb, method="asymp")
    np.testing.assert_allclose([on_grid.d, on_grid.p_value], [ref2.statistic, ref2.pvalue])


def test_score_grid_edges_and_quantiles() -> None:
    grid = ScoreGrid()
    edges = grid.edges()
    assert edges[0] == 0 and edges[-1] == 1 and np.all(np.diff(edges) > 0)
    assert edges[grid.n_bins // 2] == 0.5 and grid.index([0.5])[0] == grid.n_bins // 2
    assert grid.edge_index(0.5) == grid.n_bins // 2
    # a score just above an inner edge lands in the bin that edge opens
    z = -grid.span + 2 * grid.span * np.arange(1, grid.n_bins) / grid.n_bins
    inner = 1 / (1 + np.exp(-(z + 1e-6)))
    np.testing.assert_array_equal(grid.index(inner), np.arange(1, grid.n_bins))
    assert grid.index([0.0])[0] == 0 and grid.index([1.0])[0] == grid.n_bins - 1
    # quantiles read off the grid are within one bin (0.8% in odds) of numpy's
    rng = np.random.default_rng(8)
    s = rng.beta(0.7, 60, 50_000)
    counts = np.bincount(grid.index(s), minlength=grid.n_bins)
    for q in (0.5, 0.9, 0.99, 0.999):
        exact = np.quantile(s, q)
        got = grid.quantile(counts, q)
        odds = lambda p: p / (1 - p)  # noqa: E731
        assert 1 <= odds(got) / odds(exact) <= np.exp(2 * grid.span / grid.n_bins) + 1e-9
    with pytest.raises(ValueError, match="`n_bins` must be an even integer"):
        ScoreGrid(n_bins=7)


def test_quantile_bins_group_the_grid_into_deciles() -> None:
    rng = np.random.default_rng(9)
    grid = ScoreGrid()
    ref = np.bincount(grid.index(rng.beta(1, 50, 100_000)), minlength=grid.n_bins)
    starts = quantile_bins(ref, 10)
    shares = np.add.reduceat(ref, starts) / ref.sum()
    assert starts.size == 10
    np.testing.assert_allclose(shares, 0.1, atol=0.002)  # within a grid bin of a decile
    # a point mass collapses duplicate edges (STATISTICS.md §1: drop duplicate edges)
    point = np.zeros(grid.n_bins)
    point[100] = 900
    point[3000] = 100
    assert quantile_bins(point, 10).tolist() == [0, 101]
