"""PSI from counts: formula, smoothing, sampling noise (vs scipy.stats.chi2), bins, oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlopskit.stats.psi import (
    bin_index,
    critical_value,
    merge_sparse_bins,
    noise_scale,
    psi_contributions,
    psi_from_counts,
    psi_p_value,
    quantile_edges,
    smoothed_shares,
)

counts_st = st.lists(st.integers(0, 10_000), min_size=2, max_size=15)


# ---- formula and smoothing ------------------------------------------------------------
def test_psi_matches_the_definition_with_half_smoothing_by_hand() -> None:
    ref = np.array([50.0, 30.0, 0.0, 20.0])
    cur = np.array([10.0, 40.0, 5.0, 45.0])
    e = (ref + 0.5) / (ref.sum() + 0.5 * 4)  # STATISTICS.md §1: (count + 0.5)/(n + 0.5·B)
    a = (cur + 0.5) / (cur.sum() + 0.5 * 4)
    by_hand = float(np.sum((a - e) * np.log(a / e)))
    assert psi_from_counts(ref, cur) == pytest.approx(by_hand, rel=1e-14)
    np.testing.assert_allclose(smoothed_shares(ref), e, rtol=1e-15)
    np.testing.assert_allclose(psi_contributions(ref, cur).sum(), by_hand, rtol=1e-14)
    # without smoothing an empty bin gives an infinite PSI: the reason smoothing exists
    with np.errstate(divide="ignore"):
        assert math.isinf(psi_from_counts(ref, cur, smoothing=0.0))


@given(counts_st)
@settings(max_examples=200, deadline=None)
def test_psi_of_identical_samples_is_zero(c: list[int]) -> None:
    assert psi_from_counts(c, c) == 0.0


@given(counts_st, st.data())
@settings(max_examples=300, deadline=None)
def test_psi_is_nonnegative_and_symmetric(c: list[int], data: st.DataObject) -> None:
    other = data.draw(st.lists(st.integers(0, 10_000), min_size=len(c), max_size=len(c)))
    if sum(c) == 0 or sum(other) == 0:
        return
    v = psi_from_counts(c, other)
    assert v >= 0
    assert np.all(psi_contributions(c, other) >= 0)
    assert psi_from_counts(other, c) == pytest.approx(v, rel=1e-12, abs=1e-15)


def test_psi_vectorized_over_leading_axes() -> None:
    rng = np.random.default_rng(0)
    r = rng.integers(0, 100, (5, 7))
    c = rng.integers(0, 100, (5, 7))
    batch = psi_from_counts(r, c)
    assert np.allclose(batch, [psi_from_counts(r[i], c[i]) for i in range(5)], rtol=1e-14)


def test_bad_counts_raise() -> None:
    with pytest.raises(ValueError, match="non-negative counts"):
        psi_from_counts([1, -1], [1, 1])
    with pytest.raises(ValueError, match="same number of bins"):
        psi_from_counts([1, 2], [1, 2, 3])


# ---- sampling noise: critical values and p-values vs scipy ------------------------------
@pytest.mark.parametrize(
    ("n", "m", "b", "oracle"),
    [
        (10_000, 10_000, 10, 0.0033838),  # STATISTICS.md §1 oracles
        (100_000, 2_000, 10, 0.0086287),
        (1_000, 1_000, 10, 0.033838),
    ],
)
def test_critical_value_oracles_and_scipy(n: int, m: int, b: int, oracle: float) -> None:
    cv = critical_value(n, m, b, alpha=0.05)
    assert cv == pytest.approx(oracle, rel=2e-5)
    # reference: scipy.stats.chi2.ppf(0.95, B - 1) * (1/N + 1/M)
    assert cv == pytest.approx(stats.chi2.ppf(0.95, b - 1) * (1 / n + 1 / m), rel=1e-12)


def test_known_reference_variant_uses_one_over_m() -> None:
    # N → ∞: c_α = χ²_{B−1,1−α}/M  (scipy.stats.chi2.ppf(0.99, 7) / 5000)
    assert critical_value(math.inf, 5_000, 8, alpha=0.01) == pytest.approx(
        stats.chi2.ppf(0.99, 7) / 5_000, rel=1e-12
    )
    assert noise_scale(math.inf, 4) == pytest.approx(0.25)


def test_p_value_matches_scipy_sf_and_inverts_the_critical_value() -> None:
    n, m, b = np.array([1e4, 1e5, 500.0]), np.array([1e4, 2e3, 800.0]), np.array([10, 10, 4])
    psi = np.array([0.002, 0.02, 0.01])
    expected = stats.chi2.sf(psi / (1 / n + 1 / m), b - 1)  # scipy.stats.chi2.sf
    np.testing.assert_allclose(psi_p_value(psi, n, m, b), expected, rtol=1e-12)
    for alpha in (0.05, 0.001):
        cv = critical_value(n, m, b, alpha=alpha)
        np.testing.assert_allclose(psi_p_value(cv, n, m, b), alpha, rtol=1e-9)
    # tiny p-values do not underflow to 0 the way 1 - cdf would (statistic 400 on 9 df)
    tiny = psi_p_value(400 * 2e-6, 1e6, 1e6, 10)
    assert 0 < tiny < 1e-70
    assert 1 - stats.chi2.cdf(400, 9) == 0.0


def test_fewer_than_two_bins_has_no_test() -> None:
    assert math.isnan(critical_value(100, 100, 1))
    assert math.isnan(psi_p_value(0.1, 100, 100, 1))
    with pytest.raises(ValueError, match="`alpha` must be in"):
        critical_value(100, 100, 10, alpha=1.5)


# ---- population decile PSI oracles (normal cdf) -----------------------------------------
@pytest.mark.parametrize(("shift", "oracle"), [(0.1, 0.0096), (0.3, 0.086), (0.5, 0.238)])
def test_population_decile_psi_of_a_mean_shift(shift: float, oracle: float) -> None:
    # STATISTICS.md §1: N(0,1) vs N(shift,1) on the reference deciles; shares from Φ.
    q = stats.norm.ppf(np.arange(1, 10) / 10)
    cur = np.diff(np.r_[0.0, stats.norm.cdf(q - shift), 1.0])
    ref = np.full(10, 0.1)
    assert psi_from_counts(ref, cur, smoothing=0.0) == pytest.approx(oracle, abs=6e-4)
    # and a large seeded sample through quantile edges recovers it (sampling bias ≈ 9·2/n)
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=400_000), rng.normal(shift, 1, 400_000)
    edges = quantile_edges(x, 10)
    rc = np.bincount(bin_index(x, edges), minlength=12)
    cc = np.bincount(bin_index(y, edges), minlength=12)
    assert psi_from_counts(rc[:10], cc[:10]) == pytest.approx(oracle, abs=1.5e-3)


# ---- bins: quantile edges, ties, missing, merging ----------------------------------------
def test_quantile_edges_collapse_ties_and_drop_edges_at_the_maximum() -> None:
    x = np.r_[np.zeros(300), np.arange(1, 701, dtype=float)]  # 30% point mass at 0
    edges = quantile_edges(x, 10)
    assert edges[0] == 0.0 and np.all(np.diff(edges) > 0)
    # lower order statistics x_(⌊q·999⌋): deciles 0.1–0.3 are all 0 → one edge; then 100, …
    assert edges.tolist() == [0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
    idx = bin_index(x, edges)
    assert np.sum(idx == 0) == 300  # right-closed: the point mass sits alone in (-inf, 0]
    binary = np.r_[np.zeros(500), np.ones(500)]
    assert quantile_edges(binary, 10).tolist() == [0.0]  # the edge at the max (1) is dropped
    assert quantile_edges(np.full(10, 3.0), 10).size == 0
    assert quantile_edges(np.array([np.nan, np.nan]), 10).size == 0


def test_bin_index_right_closed_with_missing_bin() -> None:
    edges = np.array([1.0, 2.0])
    idx = bin_index([0.5, 1.0, 1.5, 2.0, 9.0, np.nan], edges)
    assert idx.tolist() == [0, 0, 1, 1, 2, 3]


def test_merge_sparse_bins_reaches_min_expected_and_keeps_sentinels() -> None:
    ref = np.array([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0], dtype=float)
    cur = np.array([2, 3, 4, 3, 2, 3, 4, 3, 2, 3, 1], dtype=float)
    sentinel = [False] * 10 + [True]
    m = merge_sparse_bins(ref, cur, min_count=5, n_small=cur.sum(), sentinel=sentinel)
    value_groups = [g for g in m.groups if 10 not in g]
    shares = [ref[list(g)].sum() / ref[:10].sum() for g in value_groups]
    assert all(cur.sum() * s >= 5 for s in shares)
    assert (10,) in m.groups  # the missing bin is kept (current has a row in it)
    assert sorted(i for g in m.groups for i in g) == list(range(11))  # nothing lost
    assert m.reference_counts.sum() == ref.sum() and m.current_counts.sum() == cur.sum()
    # contiguous groups for ordered bins
    assert all(list(g) == list(range(g[0], g[-1] + 1)) for g in value_groups)
    # a sentinel empty in both samples is dropped
    m2 = merge_sparse_bins(ref, np.r_[cur[:10], 0], min_count=5, n_small=1e6, sentinel=sentinel)
    assert m2.bins == 10


def test_merge_sparse_categorical_pools_the_rare_categories() -> None:
    ref = np.array([500, 300, 10, 5, 3, 0, 0], dtype=float)  # 5 categories, other, missing
    cur = np.array([480, 310, 12, 2, 4, 9, 0], dtype=float)
    m = merge_sparse_bins(
        ref, cur, min_count=5, n_small=800, ordered=False, sentinel=[False] * 5 + [True, True]
    )
    assert (0,) in m.groups and (1,) in m.groups and (5,) in m.groups
    assert (2,) in m.groups  # 10/818·800 ≈ 9.8 expected: kept alone
    assert (3, 4) in m.groups  # 4.9 and 2.9 expected: pooled to 7.8 ≥ 5


# ---- seeded simulations: alarm rate under no drift ----------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("n", "m"), [(10_000, 10_000), (100_000, 2_000)])
def test_alarm_rate_at_the_critical_value_is_alpha(n: int, m: int) -> None:
    """Under no drift P(PSI > c_0.05) is within Monte Carlo error of 0.05 (B = 10).

    Multinomial counts are simulated directly (sufficient statistics, not rows), two ways:
    (a) both samples multinomial on fixed bins; (b) the real procedure, bins at the
    reference's sample deciles: the reference then has exactly N/10 per bin and the true
    probabilities of the bins are uniform spacings at ranks kN/10 — Dirichlet(N/10, …).
    """
    rng = np.random.default_rng(2024)
    reps, b, alpha = 20_000, 10, 0.05
    cv = critical_value(n, m, b, alpha=alpha)
    p = np.full(b, 1 / b)
    a = psi_from_counts(rng.multinomial(n, p, size=reps), rng.multinomial(m, p, size=reps))
    probs = rng.dirichlet(np.full(b, n / b), size=reps)
    cur = np.array([rng.multinomial(m, pr) for pr in probs])
    bq = psi_from_counts(np.full((reps, b), n / b), cur)
    mc = 3.5 * math.sqrt(alpha * (1 - alpha) / reps)  # ≈ 0.0054
    for v in (a, bq):
        rate = float(np.mean(v > cv))
        assert abs(rate - alpha) < mc, rate
        # p-values are ~uniform: the share below 0.01 is also right
        assert abs(float(np.mean(psi_p_value(v, n, m, b) < 0.01)) - 0.01) < 0.004


# ---- empty bins in large samples (issue 12) ---------------------------------------------
def test_empty_bin_psi_stops_growing_with_window_size() -> None:
    """A category holding 20 % of the current window and absent from the reference: the
    plain additive rule grows by ≈ 0.2·ln 10 per tenfold rows (the issue measured 2.49 →
    2.95 → 3.27); the fixed-resolution rule is the same for every size ≥ 10 000 rows."""
    share = np.array([0.3, 0.3, 0.2, 0.0])
    cur_share = np.array([0.25, 0.3, 0.25, 0.2])
    plain, fixed = [], []
    for n in (10_000, 1_000_000, 10_000_000, 50_000_000):
        ref, cur = share * n, cur_share * n
        plain.append(psi_from_counts(ref, cur, resolution=None))
        fixed.append(psi_from_counts(ref, cur))
    assert np.diff(plain) == pytest.approx(
        [0.2 * math.log(100), 0.2 * math.log(10), 0.2 * math.log(5)], rel=0.05
    )
    assert fixed[1:] == pytest.approx([fixed[1]] * 3, rel=1e-6)
    # at 10 000 rows the non-empty bins' own smoothing still shows (0.5/10 000 per bin)
    assert fixed[0] == pytest.approx(fixed[1], abs=0.05)
    # below the resolution the rule is the additive one (STATISTICS.md §1 oracle unchanged)
    small_ref, small_cur = share * 5000, cur_share * 5000
    plain_small = psi_from_counts(small_ref, small_cur, resolution=None)
    assert psi_from_counts(small_ref, small_cur) == plain_small


@pytest.mark.slow
def test_empty_bin_rule_keeps_false_alarm_rate() -> None:
    """Under no drift with a rare bin (share 0.0001: 5 expected rows, empty in ≈ 0.7 % of windows) and 50 000-row windows against a 50 000-row
    reference, the share of windows above c_0.05 is ≤ 5 % with the rule (and not above the
    plain rule's)."""
    rng = np.random.default_rng(12)
    shares = np.array([0.3, 0.3, 0.2999, 0.1, 0.0001])
    n = 50_000
    ref = rng.multinomial(n, shares, size=4000).astype(float)
    cur = rng.multinomial(n, shares, size=4000).astype(float)
    cv = critical_value(n, n, 5)
    rate_fixed = float(np.mean(psi_from_counts(ref, cur) > cv))
    rate_plain = float(np.mean(psi_from_counts(ref, cur, resolution=None) > cv))
    assert rate_fixed <= 0.06
    assert rate_fixed <= rate_plain
