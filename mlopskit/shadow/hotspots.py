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
from scipy import special, stats

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


_Z = np.linspace(np.arctanh(_RHO_BOUNDS[0]), np.arctanh(_RHO_BOUNDS[1]), 801)
"""The search grid in Fisher's z = atanh(ρ) (step 0.012), refined by a parabola."""


def _cell_loglik(
    cells: tuple[np.ndarray, ...], h: np.ndarray, k: np.ndarray, r: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multinomial log likelihood of 2×2 tables at thresholds ``h, k`` and correlation ``r``
    (broadcast), with its gradient in ``(h, k)``."""
    a, b, c, d = cells
    p1, p2 = special.ndtr(-h), special.ndtr(-k)
    p11 = bvn_upper(h, k, r)
    p11 = np.clip(p11, np.maximum(p1 + p2 - 1, 0) + 1e-300, np.minimum(p1, p2) - 1e-300)
    p10 = np.clip(p1 - p11, 1e-300, 1)
    p01 = np.clip(p2 - p11, 1e-300, 1)
    p00 = np.clip(1 - p1 - p2 + p11, 1e-300, 1)
    ll = a * np.log(p11) + b * np.log(p10) + c * np.log(p01) + d * np.log(p00)
    s = np.sqrt(1 - r * r)
    fh, fk = stats.norm.pdf(h), stats.norm.pdf(k)
    ah = -fh * special.ndtr(-(k - r * h) / s)  # ∂P11/∂h
    ak = -fk * special.ndtr(-(h - r * k) / s)
    gh = a * ah / p11 + b * (-fh - ah) / p10 - c * ah / p01 + d * (fh + ah) / p00
    gk = a * ak / p11 - b * ak / p10 + c * (-fk - ak) / p01 + d * (fk + ak) / p00
    return ll, gh, gk


def _loglik_grid(cells: np.ndarray) -> np.ndarray:
    """Profile log likelihood of each stratum's 2×2 (rows ``a, b, c, d``) at every
    ``ρ = tanh(z)`` of the grid, maximized over the stratum's own thresholds ``(h, k)``
    (Newton steps from the margins' thresholds): shape ``(strata, grid)``; uninformative
    strata are rows of zeros (flat in ρ). Profiling the thresholds, rather than fixing
    them at the margins, keeps the likelihood ratio χ²₁ (fixed thresholds inflate it)."""
    cells = np.asarray(cells, dtype=float).reshape(-1, 4)
    out = np.zeros((len(cells), _Z.size))
    ok = _informative(cells)
    if not ok.any():
        return out
    cl = tuple(x[:, None] for x in cells[ok].T)
    a, b, c, d = cl
    n = a + b + c + d
    r = np.tanh(_Z)[None, :]
    h = np.broadcast_to(stats.norm.isf((a + b) / n), (len(a), _Z.size)).copy()
    k = np.broadcast_to(stats.norm.isf((a + c) / n), (len(a), _Z.size)).copy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out[ok] = _profile(cl, h, k, r)
    return out


def _profile(cl: tuple[np.ndarray, ...], h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Four safeguarded Newton steps in ``(h, k)`` (numerical Hessian of the analytic
    gradient); a step that lowers the likelihood is not taken."""
    ll, gh, gk = _cell_loglik(cl, h, k, r)
    eps = 1e-5
    for _ in range(4):
        _, gh_h, gk_h = _cell_loglik(cl, h + eps, k, r)
        _, gh_k, gk_k = _cell_loglik(cl, h, k + eps, r)
        hhh, hkk = (gh_h - gh) / eps, (gk_k - gk) / eps
        hhk = 0.5 * ((gk_h - gk) / eps + (gh_k - gh) / eps)
        det = hhh * hkk - hhk * hhk
        dh = np.clip(-(hkk * gh - hhk * gk) / det, -0.5, 0.5)
        dk = np.clip(-(hhh * gk - hhk * gh) / det, -0.5, 0.5)
        good = (hhh < 0) & (det > 0) & np.isfinite(dh) & np.isfinite(dk)
        h2, k2 = np.where(good, h + dh, h), np.where(good, k + dk, k)
        ll2, gh2, gk2 = _cell_loglik(cl, h2, k2, r)
        better = ll2 > ll
        h, k = np.where(better, h2, h), np.where(better, k2, k)
        ll, gh, gk = np.where(better, ll2, ll), np.where(better, gh2, gh), np.where(better, gk2, gk)
    return ll


def _argmax(f: np.ndarray) -> tuple[float, float]:
    """``(ρ̂, max)`` of a log likelihood on the grid, the vertex of the parabola through the
    best grid point and its neighbours (exact to ~1e-6 in ρ for these smooth curves)."""
    j = int(np.argmax(f))
    if 0 < j < f.size - 1:
        y0, y1, y2 = f[j - 1], f[j], f[j + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            t = 0.5 * (y0 - y2) / den
            step = _Z[1] - _Z[0]
            return float(np.tanh(_Z[j] + t * step)), float(y1 - 0.25 * (y0 - y2) * t)
    return float(np.tanh(_Z[j])), float(f[j])


def latent_correlation(cells: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood common ``ρ`` of strata (rows ``a, b, c, d``), each with its own
    thresholds; returns ``(ρ̂, log likelihood)`` (NaN, 0 when no stratum is informative).
    One stratum: the tetrachoric correlation."""
    cells = np.asarray(cells, dtype=float).reshape(-1, 4)
    if not _informative(cells).any():
        return float("nan"), 0.0
    return _argmax(_loglik_grid(cells).sum(axis=0))


def excess_test(
    segment: np.ndarray, rest: np.ndarray, grid: np.ndarray | None = None
) -> dict[str, float]:
    """One-sided test that the segment's latent correlation is below the rest's.

    ``segment``: its cells ``(a, b, c, d)``; ``rest``: one row per other value of the
    column. Returns ``rho``, ``rho_rest``, ``expected_discordant`` (what the segment's own
    flag rates predict under ``rho_rest``) and ``p_value`` (NaN when untestable).
    ``grid``: the log likelihood rows of ``[segment, *rest]`` if already computed.
    """
    seg = np.asarray(segment, dtype=float).reshape(1, 4)
    rest = np.asarray(rest, dtype=float).reshape(-1, 4)
    nan = {"rho": np.nan, "rho_rest": np.nan, "expected_discordant": np.nan, "p_value": np.nan}
    if not _informative(seg)[0]:
        return nan
    ll = _loglik_grid(np.vstack([seg, rest])) if grid is None else grid
    r_s, l_s = _argmax(ll[0])
    if not _informative(rest).any():
        return {**nan, "rho": r_s}
    r_r, l_r = _argmax(ll[1:].sum(axis=0))
    _, l_0 = _argmax(ll.sum(axis=0))
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
        ll = _loglik_grid(cells)
        for i in range(len(df)):
            res = {"rho": np.nan, "rho_rest": np.nan, "expected_discordant": np.nan,
                   "p_value": np.nan}  # fmt: skip
            if ok[i]:
                order = [i, *(j for j in range(len(df)) if j != i)]
                res = excess_test(cells[i], np.delete(cells, i, axis=0), ll[order])
            rows.append({"segment": name, "value": df["value"].iloc[i], **res})
    out = pd.DataFrame(
        rows, columns=["segment", "value", "rho", "rho_rest", "expected_discordant", "p_value"]
    )
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(dtype=float))
    cand = out.index[(out["q_value"] < alpha) & (out["rho"] < out["rho_rest"])]
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
    df = df[df[other] != aval]
    g = df.groupby(mine, sort=True)[list(CELLS)].sum()
    if val not in g.index:
        return float("nan")
    cells = g.to_numpy(dtype=float)
    i = int(np.flatnonzero(g.index == val)[0])
    if cells[i].sum() < min_n:
        return float("nan")
    return excess_test(cells[i], np.delete(cells, i, axis=0))["p_value"]
