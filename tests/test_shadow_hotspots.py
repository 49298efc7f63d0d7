"""The hot-spot test's distributional pieces against independent references (scipy,
statsmodels, a Monte Carlo of the null)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from mlopskit.shadow import hotspots

HALF = hotspots.GRID[1]


def _grid(cells: dict[tuple[int, int], int]) -> np.ndarray:
    g = np.zeros((2 * HALF, 2 * HALF))
    for (i, j), n in cells.items():
        g[i, j] = n
    return g


def _one_stratum(seg: tuple[int, int, int], rest: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """Segment and total grids whose cells all sit in one stratum: (agree, champion only,
    challenger only) counts at mirrored positions around both thresholds."""
    agree, b, c = (HALF - 1, HALF - 1), (HALF, HALF - 1), (HALF - 1, HALF)
    s = _grid({agree: seg[0], b: seg[1], c: seg[2]})
    r = _grid({agree: rest[0], b: rest[1], c: rest[2]})
    stratum = np.zeros(s.shape, dtype=np.int64)  # one stratum for the whole grid
    return s, s + r, stratum


@pytest.mark.parametrize(
    ("seg", "rest"),
    [((40, 9, 7), (400, 30, 35)), ((5, 3, 0), (50, 2, 8)), ((200, 1, 30), (90, 4, 5))],
)
def test_one_stratum_is_fishers_exact_test(seg: tuple, rest: tuple) -> None:
    s, t, st = _one_stratum(seg, rest)
    res = hotspots.stratified_test(s, t, st)
    table = [[seg[1] + seg[2], seg[0]], [rest[1] + rest[2], rest[0]]]
    # reference: scipy.stats.fisher_exact(table, alternative="greater")
    ref = stats.fisher_exact(table, alternative="greater").pvalue
    assert res["p_value"] == pytest.approx(ref, rel=1e-9), table
    assert res["observed"] == seg[1] + seg[2]
    assert res["expected_discordant"] == pytest.approx(sum(seg) * table[1][0] / sum(rest))


def _strata_world(rng: np.random.Generator, n_strata: int = 12) -> tuple[np.ndarray, ...]:
    """A grid with ``n_strata`` strata (one anti-diagonal pair of cells each): per stratum
    an agreeing cell and a champion-only cell, random sizes."""
    seg = np.zeros((2 * HALF, 2 * HALF))
    tot = np.zeros_like(seg)
    stratum = np.full(seg.shape, n_strata, dtype=np.int64)  # the unused cells: one stratum
    for s in range(n_strata):
        i = HALF + s  # champion above, challenger below: champion only
        agree, dis = (i, HALF + s), (i, HALF - 1 - s)
        n_seg, n_rest = rng.integers(5, 60), rng.integers(20, 200)
        p = rng.uniform(0.02, 0.3)
        d_seg, d_rest = rng.binomial(n_seg, p), rng.binomial(n_rest, p)
        seg[dis], seg[agree] = d_seg, n_seg - d_seg
        tot[dis], tot[agree] = d_seg + d_rest, n_seg + n_rest - d_seg - d_rest
        stratum[agree] = stratum[dis] = s
    return seg, tot, stratum


def _tables(seg: np.ndarray, tot: np.ndarray, stratum: np.ndarray, n: int) -> np.ndarray:
    """2×2×n tables (segment/rest × champion only/other) per stratum, for statsmodels."""
    dis = np.zeros(seg.shape, dtype=bool)
    dis[HALF:, :HALF] = True
    out = np.zeros((2, 2, n))
    for s in range(n):
        at = stratum == s
        d1, n1 = seg[at & dis].sum(), seg[at].sum()
        dt, nt = tot[at & dis].sum(), tot[at].sum()
        out[:, :, s] = [[d1, n1 - d1], [dt - d1, nt - n1 - (dt - d1)]]
    return out


def test_many_strata_match_a_monte_carlo_of_the_null_and_the_cmh_statistic() -> None:
    rng = np.random.default_rng(3)
    seg, tot, stratum = _strata_world(rng)
    seg[HALF + 2, HALF - 3] += 4  # some excess in one stratum
    tot[HALF + 2, HALF - 3] += 4
    res = hotspots.stratified_test(seg, tot, stratum)
    tables = _tables(seg, tot, stratum, 12)
    # reference: the null distribution by simulation — each stratum's segment count is
    # scipy.stats.hypergeom(M=rows, n=disagreements, N=segment rows)
    o = tables[0, 0].sum()
    rows, dis, draws = tables.sum(axis=(0, 1)), tables[:, 0].sum(axis=0), tables[0].sum(axis=0)
    sims = stats.hypergeom.rvs(
        rows.astype(int), dis.astype(int), draws.astype(int), size=(200_000, 12), random_state=4
    ).sum(axis=1)
    mc = float(np.mean(sims >= o))
    assert res["p_value"] == pytest.approx(mc, abs=4 * np.sqrt(mc * (1 - mc) / 200_000))
    # the normal branch: its z² is statsmodels' CMH statistic with continuity correction
    old = hotspots._EXACT_MAX
    try:
        hotspots._EXACT_MAX = -1
        approx = hotspots.stratified_test(seg, tot, stratum)
    finally:
        hotspots._EXACT_MAX = old
    # reference: StratifiedTable(tables).test_null_odds(correction=True).statistic
    chi2 = StratifiedTable(tables).test_null_odds(correction=True).statistic
    assert stats.norm.isf(approx["p_value"]) ** 2 == pytest.approx(chi2, rel=1e-9)


def test_strata_follow_the_mean_normal_score_position() -> None:
    # a population spread evenly over the grid: normal scores are symmetric around the
    # thresholds, so the stratum of cell (i, j) depends on i + j only
    tot = np.ones((2 * HALF, 2 * HALF))
    st = hotspots.strata(tot)
    assert (st == st.T).all()
    assert st[HALF, HALF - 1] == st[HALF - 1, HALF]  # mirrored disagreements share a stratum
    assert st[HALF + 5, HALF + 5] > st[HALF, HALF] > st[HALF - 5, HALF - 5]


def _two_segment_world(shift: float, spread: float, noise: float, seed: int = 7) -> pd.Series:
    """200,000 requests; 20% in segment ``s`` whose risk is shifted by ``shift`` and scaled
    by ``spread`` and whose challenger noise SD is ``noise`` (elsewhere 0.35)."""
    rng = np.random.default_rng(seed)
    n = 200_000
    seg = rng.random(n) < 0.2
    risk = rng.standard_normal(n) * np.where(seg, spread, 1.0) + shift * seg
    x = risk + 0.35 * rng.standard_normal(n)
    y = risk + np.where(seg, noise, 0.35) * rng.standard_normal(n)
    g = hotspots.GRID[0]
    tx, ty = np.quantile(x, 0.97), np.quantile(y, 0.97)

    def grid(v: np.ndarray, t: float) -> np.ndarray:
        b = np.clip(np.floor((v - t) / g), -HALF, HALF - 1).astype(int)
        return np.where(v >= t, np.clip(b, 0, None), np.clip(b, None, -1)) + HALF

    grids = pd.DataFrame({"value": np.where(seg, "s", "r"), "gc": grid(x, tx), "gh": grid(y, ty)})
    grids = grids.groupby(["value", "gc", "gh"]).size().rename("count").reset_index()
    cells = pd.DataFrame({"value": ["r", "s"]})
    out = hotspots.hot_spots({"col": cells}, {"col": grids}, None, min_n=100, alpha=0.05)
    return out.set_index("value").loc["s"]


def test_a_riskier_narrower_segment_is_not_a_hot_spot_a_decorrelated_one_is() -> None:
    # higher risk (flags ~3x more) and half the spread (range restriction): same models
    calm = _two_segment_world(shift=0.6, spread=0.5, noise=0.35)
    assert calm.p_value > 0.01 and not calm.hot_spot
    # the challenger's noise 0.6 instead of 0.35 in the segment
    hot = _two_segment_world(shift=0.6, spread=0.5, noise=0.6)
    assert hot.p_value < 1e-6 and hot.hot_spot
    assert hot.observed > hot.expected_discordant


@pytest.mark.parametrize(
    ("nt", "dt", "n1"),
    [(10**6, 5_000, 20_000), (200_000, 150_000, 19_000), (100, 10, 30), (50, 49, 3), (7, 0, 3)],
)
def test_hypergeometric_pmf_against_exact_integer_arithmetic(nt: int, dt: int, n1: int) -> None:
    import math

    lo, hi = max(0, n1 + dt - nt), min(n1, dt)
    got = hotspots._hypergeom_pmf(nt, dt, n1, lo, hi)
    assert got.shape == (hi - lo + 1,)
    # reference: C(dt, x)·C(nt − dt, n1 − x)/C(nt, n1) in Python's exact integers (true
    # division of two ints is correctly rounded), at 60 points across the support
    total = math.comb(nt, n1)
    for x in sorted({int(v) for v in np.linspace(lo, hi, 60)}):
        exact = math.comb(dt, x) * math.comb(nt - dt, n1 - x) / total
        if exact > 1e-250:
            assert got[x - lo] == pytest.approx(exact, rel=1e-12), x
    # and scipy's term-by-term values (accurate to ~1e-10 at these sizes)
    ref = stats.hypergeom.pmf(np.arange(lo, hi + 1), nt, dt, n1)
    assert np.allclose(got, ref, rtol=1e-8, atol=1e-300)
