"""Disagreement hot spots: segments where the two models agree less than their own flag
rates predict (STATISTICS.md §6, §7.7).

Why not the raw disagreement rate, nor the discordant share ``(b+c)/(a+b+c)`` of §7.7 read
against the overall share? Both move with the segment's flag rates even when the models
rank its requests exactly as elsewhere: a segment that flags more disagrees more often, and
a segment that flags little has a larger discordant share among its few flags (on the
default demo world the share rule marks ``merchant_category=grocery`` and ``=fashion``,
segments with a low flag rate). The flag rates must be conditioned on.

Model of agreement (a Gaussian copula, the model behind the tetrachoric correlation): each
request has two latent scores ``(X, Y)``, standard bivariate normal with correlation ``ρ``;
the champion flags when ``X > h``, the challenger when ``Y > k``. A segment's own flag rates
fix its ``h, k`` (``h = Φ⁻¹(1 − flag rate)``); ``ρ`` measures how alike the two models rank,
whatever the flag rates. "No extra disagreement" means the segment's ``ρ`` equals that of
the other values of the same column. Test: the likelihood ratio of ``ρ_segment = ρ_rest``
(each value keeps its own thresholds), one-sided by the signed root (hot spot: ``ρ_segment
< ρ_rest``), so ``p = Φ̄(sign(ρ̂_rest − ρ̂_seg)·√LR)``. Benjamini–Hochberg across every value
of every segment column controls the false hot-spot rate (with no hot spot at all, BH's FDR
equals the probability of any false hot spot, so that is ≤ α).

A hot spot in one column leaks into the values of other columns that share its rows (the
default world's ``channel=app`` raises the disagreement of every merchant category by the
share of its rows in the app). So a BH-significant value is confirmed only outside each
stronger hot spot of another column (the same test on the rows not in that hot spot, level
α); otherwise it is reported as explained by it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from mlopskit.stats.multiple import benjamini_hochberg

_RHO_BOUNDS = (-0.999, 0.99999)
CELLS = ("both", "champion_only", "challenger_only", "neither")


def bvn_upper(h: np.ndarray, k: np.ndarray, rho: float | np.ndarray) -> np.ndarray:
    """``P(X > h, Y > k)`` for a standard bivariate normal with correlation ``rho``.

    Owen's T form (Owen 1956): ``Φ₂(H, K; ρ) = ½Φ(H) + ½Φ(K) − T(H, a_H) − T(K, a_K) − β``
    with ``H = −h, K = −k``, ``a_H = (K − ρH)/(H√(1−ρ²))``, ``β = ½`` when ``HK < 0``.
    Checked against ``scipy.stats.multivariate_normal.cdf`` in tests/test_shadow_hotspots.py.
    """
    hh, kk, r = np.broadcast_arrays(
        -np.asarray(h, dtype=float), -np.asarray(k, dtype=float), np.asarray(rho, dtype=float)
    )
    hh = np.where(hh == 0, 1e-12, hh)  # the formula divides by H and K; Φ₂ is continuous
    kk = np.where(kk == 0, 1e-12, kk)
    s = np.sqrt(1 - r * r)
    t1 = special.owens_t(hh, (kk - r * hh) / (hh * s))
    t2 = special.owens_t(kk, (hh - r * kk) / (kk * s))
    beta = np.where(hh * kk < 0, 0.5, 0.0)
    out = 0.5 * special.ndtr(hh) + 0.5 * special.ndtr(kk) - t1 - t2 - beta
    return np.asarray(np.clip(out, 0.0, 1.0))


def _informative(cells: np.ndarray) -> np.ndarray:
    """Rows (strata) whose 2×2 says something about ρ: both models flag some, not all."""
    a, b, c, d = cells.T
    n = a + b + c + d
    return (a + b > 0) & (a + c > 0) & (c + d > 0) & (b + d > 0) & (n > 0)


def _loglik(cells: np.ndarray, rho: float) -> float:
    """Σ over strata of the multinomial log likelihood of the 2×2 under the copula with the
    stratum's own thresholds (from its margins)."""
    a, b, c, d = cells.T
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    p11 = bvn_upper(stats.norm.isf(p1), stats.norm.isf(p2), rho)
    p11 = np.clip(p11, np.maximum(p1 + p2 - 1, 0) + 1e-300, np.minimum(p1, p2) - 1e-300)
    probs = np.stack([p11, p1 - p11, p2 - p11, 1 - p1 - p2 + p11], axis=-1)
    return float(np.sum(cells * np.log(np.clip(probs, 1e-300, 1.0))))


def latent_correlation(cells: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood common ``ρ`` of strata (rows ``a, b, c, d``), each with its own
    thresholds; returns ``(ρ̂, log likelihood)`` (NaN, 0 when no stratum is informative).
    One stratum: the tetrachoric correlation."""
    cells = np.asarray(cells, dtype=float).reshape(-1, 4)
    cells = cells[_informative(cells)]
    if len(cells) == 0:
        return float("nan"), 0.0
    res = optimize.minimize_scalar(
        lambda r: -_loglik(cells, r), bounds=_RHO_BOUNDS, method="bounded",
        options={"xatol": 1e-7},
    )  # fmt: skip
    return float(res.x), float(-res.fun)


def excess_test(segment: np.ndarray, rest: np.ndarray) -> dict[str, float]:
    """One-sided test that the segment's latent correlation is below the rest's.

    ``segment``: its cells ``(a, b, c, d)``; ``rest``: one row per other value of the
    column. Returns ``rho``, ``rho_rest``, ``expected_discordant`` (what the segment's own
    flag rates predict under ``rho_rest``) and ``p_value`` (NaN when untestable).
    """
    seg = np.asarray(segment, dtype=float).reshape(1, 4)
    rest = np.asarray(rest, dtype=float).reshape(-1, 4)
    nan = {"rho": np.nan, "rho_rest": np.nan, "expected_discordant": np.nan, "p_value": np.nan}
    if not _informative(seg)[0]:
        return nan
    r_s, l_s = latent_correlation(seg)
    r_r, l_r = latent_correlation(rest)
    if not np.isfinite(r_r):
        return {**nan, "rho": r_s}
    _, l_0 = latent_correlation(np.vstack([seg, rest[_informative(rest)]]))
    lr = max(2.0 * (l_s + l_r - l_0), 0.0)
    z = np.sign(r_r - r_s) * np.sqrt(lr)
    a, b, c, d = seg[0]
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    p11 = float(bvn_upper(stats.norm.isf(p1), stats.norm.isf(p2), r_r))
    return {
        "rho": r_s,
        "rho_rest": r_r,
        "expected_discordant": n * (p1 + p2 - 2 * p11),
        "p_value": float(stats.norm.sf(z)),
    }


def hot_spots(
    seg: dict[str, pd.DataFrame],
    pairs: dict[tuple[str, str], pd.DataFrame] | None,
    min_n: int,
    alpha: float,
) -> pd.DataFrame:
    """One row per segment value: observed and expected disagreement, the test, BH q-value,
    ``hot_spot`` and ``explained_by`` (see the module docstring)."""
    rows = []
    for name, df in seg.items():
        cells = df[list(CELLS)].to_numpy(dtype=float)
        ok = df["pairs"].to_numpy() >= min_n
        for i in range(len(df)):
            res = {"rho": np.nan, "rho_rest": np.nan, "expected_discordant": np.nan,
                   "p_value": np.nan}  # fmt: skip
            if ok[i]:
                res = excess_test(cells[i], np.delete(cells, i, axis=0))
            rows.append({"segment": name, "value": df["value"].iloc[i], **res})
    out = pd.DataFrame(
        rows, columns=["segment", "value", "rho", "rho_rest", "expected_discordant", "p_value"]
    )
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(dtype=float))
    out["p_outside"] = np.nan
    out["explained_by"] = ""
    cand = out.index[(out["q_value"] < alpha) & (out["rho"] < out["rho_rest"])]
    accepted: list[int] = []
    for i in sorted(cand, key=lambda j: (out.at[j, "p_value"], j)):
        col, val = out.at[i, "segment"], out.at[i, "value"]
        for j in accepted:
            acol, aval = out.at[j, "segment"], out.at[j, "value"]
            if acol == col:
                continue
            p = _outside(pairs or {}, col, val, acol, aval, min_n)
            out.at[i, "p_outside"] = (
                p if np.isnan(out.at[i, "p_outside"]) else max(p, out.at[i, "p_outside"])
            )
            if not p < alpha:  # NaN (too few rows outside) also means: not confirmed
                out.at[i, "explained_by"] = f"{acol}={aval}"
                break
        if not out.at[i, "explained_by"]:
            accepted.append(i)
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
    df = df[df[other] != aval]
    g = df.groupby(mine, sort=True)[list(CELLS)].sum()
    if val not in g.index:
        return float("nan")
    cells = g.to_numpy(dtype=float)
    i = int(np.flatnonzero(g.index == val)[0])
    if cells[i].sum() < min_n:
        return float("nan")
    return excess_test(cells[i], np.delete(cells, i, axis=0))["p_value"]
