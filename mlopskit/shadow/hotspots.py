"""Disagreement hot spots: segment values where the two models disagree more than requests
at the same score positions do elsewhere (STATISTICS.md §6, §7.7).

Why not the raw disagreement rate, nor the discordant share ``(b+c)/(a+b+c)`` of §7.7 read
against the overall share? Both move with the segment's flag rates even when the models
rank its requests exactly as elsewhere: a segment that flags more disagrees more often, and
a segment that flags little has a larger discordant share among its few flags (on the
default demo world the share rule marks ``merchant_category=grocery`` and ``=fashion``).
A latent-correlation (Gaussian copula) comparison conditions on the flag rates but not on
the shape of the dependence: with heavy-tailed risk or logistic scores, a segment that only
sits higher on the score scale has another tetrachoric correlation (87% of simulated worlds
without a hot spot showed one). And a segment's own correlation of the two scores is not
comparable either: restricting to a narrower range of risk lowers it (range restriction).

The null used here needs no distributional model. Each request has a position on both
score scales *relative to each model's own threshold*. Requests of comparable risk sit at a
comparable **mean position** ``M = (z_champion + z_challenger) / 2``, where ``z`` is the
population normal score of a score minus that of the model's threshold (rank-based, so the
two models' scales need not match). Disagreement at the own thresholds is decided by how far
apart the two positions are at a given ``M``. "No extra disagreement in a segment" means:
within every stratum of ``M``, a request of the segment disagrees with the same probability
as a request of the rest of the population. The test is the stratified exact conditional
(Fisher / Cochran–Mantel–Haenszel) test of disagreement, segment vs rest, across the ``M``
strata, one-sided (hot spot: more). When both models are noisy views of the same risk with errors
that do not depend on the segment, the difference of the two positions is (nearly)
independent of ``M`` and of the segment's risk distribution, so segments that differ in base
rate, score distribution or flag rate are not hot spots; conditioning on one model's score
alone would not do (a segment of higher risk has higher challenger scores at the same
champion score). Benjamini–Hochberg across every value of every segment column: with no hot
spot at all, BH's false discovery rate is the probability of any false hot spot (≤ α).

The data: per segment value, the counts of scored pairs on a grid of the two scores'
logits relative to each model's own threshold (``GRID``: bins of 0.1 logit, 30 on each side,
the outer bins open), from one group-by in ``frames.shadow``; the grid's halves are the
models' decisions, so the 2×2 table at the own thresholds is exact.

A hot spot in one column leaks into the values of other columns that share its rows (the
default world's ``channel=app`` raises the disagreement of every merchant category by the
share of its rows in the app). So a BH-significant value is confirmed only outside each
stronger hot spot of another column (the same test on the rows not in that hot spot, level
α); otherwise it is reported as explained by it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mlopskit.frames.shadow_grid import AGREEMENT_GRID as GRID
from mlopskit.stats.multiple import benjamini_hochberg

CELLS = ("both", "champion_only", "challenger_only", "neither")
STRATUM_WIDTH = 0.2
"""Width of a mean-position stratum, in normal-score units: about four steps of the
grid's lattice in ``M`` (a 0.1-logit cell is ~0.1 normal-score units near the thresholds
for logit SDs near 1), so a stratum holds several anti-diagonals of cells rather than
following the lattice. Simulated false hot-spot rates stay at α for widths 0.03–0.2
(tests/test_shadow_sim.py); the demo's ``merchant_category=grocery`` outside the app is
p = 0.007 at width 0.05, 0.009 at 0.1, 0.13 at 0.2 and 0.12 at 0.3."""


def dense_grid(df: pd.DataFrame, half: int = GRID[1]) -> np.ndarray:
    """Counts ``(2·half, 2·half)`` from long rows ``gc, gh, count`` (bin ``half`` is the
    first at or above the threshold)."""
    out = np.zeros((2 * half, 2 * half))
    if len(df):
        np.add.at(
            out,
            (df["gc"].to_numpy(dtype=np.int64), df["gh"].to_numpy(dtype=np.int64)),
            df["count"].to_numpy(dtype=float),
        )
    return out


def _normal_scores(marginal: np.ndarray) -> np.ndarray:
    """Population normal score of each bin (at its mid-rank) minus that of the threshold
    (the edge between the two halves)."""
    n = marginal.sum()
    half = marginal.size // 2
    cdf = np.cumsum(marginal) / n
    mid = np.clip(cdf - marginal / (2 * n), 1e-12, 1 - 1e-12)
    edge = np.clip(cdf[half - 1], 1e-12, 1 - 1e-12)
    return np.asarray(stats.norm.ppf(mid) - stats.norm.ppf(edge))


def strata(total: np.ndarray, width: float | None = None) -> np.ndarray:
    """Stratum index of every grid cell: ``floor(M / width)`` of the mean normal-score
    position ``M`` over the population ``total`` (shifted to start at 0)."""
    width = STRATUM_WIDTH if width is None else width
    zc, zh = _normal_scores(total.sum(axis=1)), _normal_scores(total.sum(axis=0))
    m = (zc[:, None] + zh[None, :]) / 2
    s = np.floor(np.where(np.isfinite(m), m, 0.0) / width).astype(np.int64)
    return s - s.min()


def _discordant(size: int) -> np.ndarray:
    """Mask of the disagreement cells (one model above its threshold, the other below)."""
    half = size // 2
    out = np.zeros((size, size), dtype=bool)
    out[half:, :half] = True
    out[:half, half:] = True
    return out


def stratified_test(segment: np.ndarray, total: np.ndarray, stratum: np.ndarray) -> dict:
    """One-sided exact conditional test that the segment disagrees more than the rest
    (``total − segment``) at the same mean positions.

    Given each stratum's margins (segment rows, rest rows, disagreements), the segment's
    disagreements are hypergeometric under the null; their sum ``O`` over strata has the
    convolution of those distributions and ``p = P(O ≥ o)`` (the stratified Fisher exact
    test; one stratum: ``scipy.stats.fisher_exact(table, alternative="greater")``). Above
    ``_EXACT_MAX`` possible counts the normal approximation of the Cochran–Mantel–Haenszel
    statistic ``(O − E − ½)/√V`` is used (statsmodels'
    ``StratifiedTable(tables).test_null_odds(correction=True).statistic`` is its square).

    Returns ``observed``, ``expected_discordant`` (the rest's disagreement at the segment's
    mean positions, ``Σ_s n_seg,s · d_rest,s / n_rest,s``, plus the segment's own in strata
    the rest does not reach) and ``p_value``.
    """
    k = int(stratum.max()) + 1
    s = stratum.ravel()
    mask = _discordant(segment.shape[0])
    n1 = np.bincount(s, segment.ravel(), k)
    nt = np.bincount(s, total.ravel(), k)
    d1 = np.bincount(s, (segment * mask).ravel(), k)
    dt = np.bincount(s, (total * mask).ravel(), k)
    n0 = nt - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.where(nt > 0, n1 * dt / nt, 0.0)
        v = np.where(nt > 1, n1 * n0 * dt * (nt - dt) / (nt * nt * (nt - 1)), 0.0)
        expected = float(np.where(n0 > 0, n1 * (dt - d1) / n0, d1).sum())
    o = float(d1.sum())
    p = float("nan")
    if v.sum() > 0:
        live = v > 0  # strata whose segment count is not fixed by the margins
        lo = np.maximum(0, n1 + dt - nt)[live]
        hi = np.minimum(n1, dt)[live]
        if float((hi - lo).sum()) <= _EXACT_MAX:
            p = _exact_upper(nt[live], dt[live], n1[live], lo, hi, o - float(d1[~live].sum()))
        else:
            p = float(stats.norm.sf((o - e.sum() - 0.5) / np.sqrt(v.sum())))
    return {"observed": o, "expected_discordant": expected, "p_value": p}


_EXACT_MAX = 20_000
_KEYS = ("observed", "expected_discordant", "p_value")


def _exact_upper(
    nt: np.ndarray, dt: np.ndarray, n1: np.ndarray, lo: np.ndarray, hi: np.ndarray, o: float
) -> float:
    """``P(Σ X_s ≥ o)`` for independent hypergeometric ``X_s`` (population ``nt``, ``dt``
    successes, ``n1`` draws), by convolving their probability mass functions."""
    dist = np.ones(1)
    for args in zip(nt, dt, n1, lo, hi, strict=True):
        dist = np.convolve(dist, _hypergeom_pmf(*(int(a) for a in args)))
    start = int(lo.sum())
    i = round(o) - start
    if i <= 0:
        return 1.0
    return float(min(max(dist[i:].sum(), 0.0), 1.0))


def _hypergeom_pmf(nt: int, dt: int, n1: int, lo: int, hi: int) -> np.ndarray:
    """``scipy.stats.hypergeom.pmf(range(lo, hi + 1), nt, dt, n1)`` by the ratio of
    neighbours ``p(x+1)/p(x) = (dt−x)(n1−x) / ((x+1)(nt−dt−n1+x+1))``: cumulative products
    away from the mode (never overflowing), normalised to sum 1. Relative error ~1e-14
    against exact integer arithmetic (``math.comb``; the test checks it), where scipy's
    term-by-term values are off by up to ~1e-10 at 10⁶ rows — and cost ~12 µs a term (the
    exact test at 10⁶ scored pairs spent ~2 s there)."""
    mode = min(max((n1 + 1) * (dt + 1) // (nt + 2), lo), hi)
    x = np.arange(lo, hi, dtype=np.float64)  # from x to x + 1
    num, den = (dt - x) * (n1 - x), (x + 1) * (nt - dt - n1 + x + 1)
    k = mode - lo
    up = np.cumprod(num[k:] / den[k:])  # ratios ≤ 1 past the mode, ≥ 1 before it
    down = np.cumprod(den[:k][::-1] / num[:k][::-1])
    shape = np.concatenate([down[::-1], [1.0], up])
    return shape / shape.sum()


def _column_tests(grids: np.ndarray, n_pairs: np.ndarray, min_n: int) -> list[dict]:
    """The test of every value of one column (grids ``(values, 2K, 2K)``) against the rest;
    NaN for values below ``min_n`` pairs or whose rest has fewer than ``min_n``."""
    total = grids.sum(axis=0)
    nan = dict.fromkeys(_KEYS, np.nan)
    if total.sum() == 0:
        return [dict(nan) for _ in grids]
    st = strata(total)
    n_all = n_pairs.sum()
    return [
        stratified_test(g, total, st) if n >= min_n and n_all - n >= min_n else dict(nan)
        for g, n in zip(grids, n_pairs, strict=True)
    ]


def hot_spots(
    seg: dict[str, pd.DataFrame],
    grids: dict[str, pd.DataFrame],
    pairs: dict[tuple[str, str], pd.DataFrame] | None,
    min_n: int,
    alpha: float,
) -> pd.DataFrame:
    """One row per segment value (in ``seg``'s order): observed and expected disagreement,
    the test, BH q-value, ``hot_spot`` and ``explained_by`` (see the module docstring).

    ``grids``: column → long counts ``value, gc, gh, count`` on the agreement grid;
    ``pairs``: ``(column 1, column 2)`` → ``value_1, value_2, gc, gh, count``."""
    rows = []
    for name, df in seg.items():
        g = grids.get(name, pd.DataFrame(columns=["value", "gc", "gh", "count"]))
        by_value = {str(v): d for v, d in g.groupby("value", sort=False)}
        arr = np.stack([dense_grid(by_value.get(str(v), g.iloc[:0])) for v in df["value"]])
        n_pairs = arr.sum(axis=(1, 2))
        for v, res in zip(df["value"], _column_tests(arr, n_pairs, min_n), strict=True):
            rows.append({"segment": name, "value": v, **res})
    out = pd.DataFrame(rows, columns=["segment", "value", *_KEYS])
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(dtype=float))
    cand = out.index[out["q_value"] < alpha]
    seg_of = [str(v) for v in out["segment"]]
    val_of = [str(v) for v in out["value"]]
    p_all = out["p_value"].to_numpy(dtype=float)
    p_out = np.full(len(out), np.nan)
    explained = [""] * len(out)
    accepted: list[int] = []
    for i in sorted((int(j) for j in cand), key=lambda j: (p_all[j], j)):
        for j in accepted:
            if seg_of[j] == seg_of[i]:
                continue
            p = _outside(pairs or {}, seg_of[i], val_of[i], seg_of[j], val_of[j], min_n)
            p_out[i] = p if np.isnan(p_out[i]) else max(p, p_out[i])
            if not p < alpha:  # NaN (too few rows outside) also means: not confirmed
                explained[i] = f"{seg_of[j]}={val_of[j]}"
                break
        if not explained[i]:
            accepted.append(i)
    out["p_outside"] = p_out
    out["explained_by"] = explained
    out["hot_spot"] = False
    out.loc[accepted, "hot_spot"] = True
    return out


def _outside(
    pairs: dict[tuple[str, str], pd.DataFrame],
    col: str,
    val: str,
    acol: str,
    aval: str,
    min_n: int,
) -> float:
    """p of ``col=val`` on the rows outside ``acol=aval`` (NaN: too few rows or no table)."""
    if (col, acol) in pairs:
        df, mine, other = pairs[(col, acol)], "value_1", "value_2"
    elif (acol, col) in pairs:
        df, mine, other = pairs[(acol, col)], "value_2", "value_1"
    else:
        return float("nan")
    df = df[df[other].astype(str) != aval]
    values = sorted({str(v) for v in df[mine]})
    if val not in values:
        return float("nan")
    key = df[mine].astype(str)
    arr = np.stack([dense_grid(df[key == v]) for v in values])
    n_pairs = arr.sum(axis=(1, 2))
    i = values.index(val)
    return float(_column_tests(arr, n_pairs, min_n)[i]["p_value"])
