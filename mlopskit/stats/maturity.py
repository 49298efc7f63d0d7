"""Label maturity: the chain ladder on a cohort × age triangle, and label-count forecasts.

Labels (chargebacks) arrive days to months after the event. The data are **right
truncated**: a positive whose label has not arrived yet is invisible, so the delays we can
see are biased towards short ones (see :func:`forward_km_maturity`, kept only to show that
bias). The chain ladder of loss reserving handles the truncation by comparing, cohort by
cohort, how the cumulative count grows from one age to the next (STATISTICS.md §4):

``f_k = Σ_{c∈S_k} C_{c,k+1} / Σ_{c∈S_k} C_{c,k}``  (volume weighted; ``S_k`` = cohorts
observed at age ``k+1``), ``F̂(k) = 1 / Π_{j≥k} f_j`` (the maturity: the share of the
eventual count known at age ``k``).

Standard errors follow Mack (1993), "Distribution-free calculation of the standard error of
chain ladder reserve estimates", ASTIN Bulletin 23(2):213–225:
``σ̂²_k = 1/(|S_k|−1) Σ_{c∈S_k} C_{c,k}(C_{c,k+1}/C_{c,k} − f̂_k)²``, the last one (a single
cohort) by Mack's rule ``σ̂²_{n−2} = min(σ̂⁴_{n−3}/σ̂²_{n−4}, σ̂²_{n−4}, σ̂²_{n−3})``;
``Var(f̂_k) = σ̂²_k / Σ_{S_k} C_{c,k}`` with the ``f̂_k`` uncorrelated (Mack's Theorem 2), which
gives the delta-method standard error of the maturity
``SE(F̂(k)) = F̂(k)·sqrt(Σ_{j≥k} Var(f̂_j)/f̂_j²)``, and Mack's Theorem 3 gives the mean
squared error of each cohort's reserve and of the total.

Everything here is pure numpy/scipy on the small triangle; :mod:`mlopskit.frames` builds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlopskit.stats import dist as _dist

MaturityFn = Callable[[NDArray[np.float64]], NDArray[np.float64]]


# --------------------------------------------------------------------------------------
# Chain ladder with Mack standard errors
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChainLadderFit:
    """Volume-weighted chain ladder with Mack (1993) standard errors.

    Attributes
    ----------
    triangle : (m, n) cumulative counts (or amounts); NaN where not observed.
    factors : (n−1,) development factors ``f_k`` (column k → k+1); ``inf`` when nothing
        had developed at column k but something had at k+1.
    sigma2 : (n−1,) Mack's ``σ̂²_k``; cells with ``C_{c,k} = 0`` carry no information on
        the variance and are left out of it.
    factor_se : (n−1,) ``sqrt(σ̂²_k / Σ_{S_k} C_{c,k})``.
    n_cohorts : (n−1,) number of cohorts ``|S_k|`` each factor is estimated from.
    sigma_extrapolated : (n−1,) True where ``σ̂²_k`` came from Mack's extrapolation rule
        (fewer than two informative cohorts).
    maturity : (n,) ``F̂(k)``, share of the ultimate known at column k (last column = 1).
    maturity_se : (n,) delta-method standard error of ``F̂(k)`` (parameter error only).
    latest_index : (m,) last observed column of each cohort (−1 when none).
    latest, ultimate, reserve : (m,) latest cumulative value, chain-ladder ultimate
        ``latest / F̂(latest_index)`` and reserve ``ultimate − latest`` (NaN when undefined).
    mack_se : (m,) Mack's standard error of each cohort's reserve (process + parameter).
    total_reserve, total_se : sum of reserves and Mack's standard error of the sum.
    """

    triangle: NDArray[np.float64]
    factors: NDArray[np.float64]
    sigma2: NDArray[np.float64]
    factor_se: NDArray[np.float64]
    n_cohorts: NDArray[np.int64]
    sigma_extrapolated: NDArray[np.bool_]
    maturity: NDArray[np.float64]
    maturity_se: NDArray[np.float64]
    latest_index: NDArray[np.int64]
    latest: NDArray[np.float64]
    ultimate: NDArray[np.float64]
    reserve: NDArray[np.float64]
    mack_se: NDArray[np.float64]
    total_reserve: float
    total_se: float

    @property
    def total_cv(self) -> float:
        """Coefficient of variation of the total reserve (Mack SE / reserve)."""
        return self.total_se / self.total_reserve if self.total_reserve > 0 else float("nan")


def _check_triangle(triangle: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    tri = np.array(triangle, dtype=float)
    if tri.ndim != 2 or tri.shape[1] < 2:
        raise ValueError(
            f"`triangle` must be a 2-d array (cohorts × ages) with at least 2 ages; "
            f"got shape {tri.shape}."
        )
    obs = ~np.isnan(tri)
    if np.any(tri[obs] < 0):
        raise ValueError("`triangle` must hold non-negative cumulative values.")
    # observed cells must be a prefix of each row (ages 0..L observed, later ones missing)
    n_obs = obs.sum(axis=1)
    prefix = np.arange(tri.shape[1])[None, :] < n_obs[:, None]
    if not np.array_equal(obs, prefix):
        bad = np.flatnonzero(np.any(obs != prefix, axis=1))[:5]
        raise ValueError(
            f"`triangle`: observed cells must be contiguous from age 0 in each row; rows "
            f"{bad.tolist()} have a gap."
        )
    latest_index = (n_obs - 1).astype(np.int64)
    return tri, latest_index


def _mack_tail_sigma2(s2: NDArray[np.float64], ok: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Fill ``σ̂²_k`` where fewer than two cohorts inform it (in place); return the mask.

    Mack (1993) eq. for the last factor: ``min(σ̂⁴_{k−1}/σ̂²_{k−2}, σ̂²_{k−2}, σ̂²_{k−1})``,
    applied to every such k from the youngest age on, using the (possibly filled) two
    previous values. Where fewer than two previous values exist the previous one is used,
    and with none the variance is 0 (such leading ages have no positives at all).
    """
    filled = np.zeros(s2.size, dtype=bool)
    for k in range(s2.size):
        if ok[k]:
            continue
        filled[k] = True
        if k >= 2:
            a, b = s2[k - 2], s2[k - 1]
            cands = [a, b] + ([b * b / a] if a > 0 else [])
            s2[k] = min(cands)
        elif k == 1:
            s2[k] = s2[0]
        else:
            s2[k] = 0.0
    return filled


def chain_ladder(triangle: ArrayLike) -> ChainLadderFit:
    """Fit the volume-weighted chain ladder and Mack's standard errors.

    Parameters
    ----------
    triangle : (m cohorts, n ages) cumulative values, NaN where not observed; each row's
        observed cells must start at age 0 and be contiguous. ``m ≥ n`` is allowed (more
        cohorts than ages, as with daily label cohorts and a 90-day horizon).

    Returns
    -------
    ChainLadderFit

    Notes
    -----
    Reproduces ``ChainLadder::MackChainLadder(GenIns, est.sigma = "Mack")`` in R on the
    Taylor & Ashe (1983) triangle of Mack (1993) (tests/test_maturity.py).
    """
    tri, latest_index = _check_triangle(triangle)
    m, n = tri.shape
    obs = ~np.isnan(tri)
    c0 = np.where(obs, tri, 0.0)
    both = obs[:, :-1] & obs[:, 1:]
    n_cohorts = both.sum(axis=0).astype(np.int64)
    if np.any(n_cohorts == 0):
        k = int(np.flatnonzero(n_cohorts == 0)[0])
        raise ValueError(
            f"`triangle`: no cohort is observed at age {k + 1}, so the factor from age {k} "
            f"to {k + 1} cannot be estimated; drop the unobserved ages."
        )
    den = np.where(both, c0[:, :-1], 0.0).sum(axis=0)
    num = np.where(both, c0[:, 1:], 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(num > 0, den / np.where(num > 0, num, 1.0), 1.0)  # 1/f_k
        factors = np.where(inv > 0, 1.0 / np.where(inv > 0, inv, 1.0), np.inf)

    # Mack's sigma^2 over informative cells (C_{c,k} > 0)
    info = both & (c0[:, :-1] > 0)
    n_info = info.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(info, c0[:, 1:] / np.where(info, c0[:, :-1], 1.0), 0.0)
        dev = np.where(
            info, c0[:, :-1] * (ratio - np.where(np.isfinite(factors), factors, 0)) ** 2, 0.0
        )
    ok = n_info >= 2
    sigma2 = np.where(ok, dev.sum(axis=0) / np.maximum(n_info - 1, 1), 0.0)
    extrapolated = _mack_tail_sigma2(sigma2, ok)
    finite = np.isfinite(factors) & (den > 0)
    var_f = np.where(finite, sigma2 / np.where(den > 0, den, 1.0), 0.0)
    factor_se = np.sqrt(var_f)
    # relative variance of each factor: Var(f̂)/f̂² (zero where the factor is not finite)
    rel = np.where(finite, var_f / np.where(finite, factors, 1.0) ** 2, 0.0)

    # maturity F̂(k) = Π_{j≥k} 1/f_j and its delta-method SE
    maturity = np.ones(n)
    maturity[:-1] = np.cumprod(inv[::-1])[::-1]
    tail_rel = np.zeros(n)
    tail_rel[:-1] = np.cumsum(rel[::-1])[::-1]
    maturity_se = maturity * np.sqrt(tail_rel)

    rows = np.arange(m)
    has = latest_index >= 0
    latest = np.full(m, np.nan)
    latest[has] = tri[rows[has], latest_index[has]]
    ultimate = np.full(m, np.nan)
    mat_l = np.where(has, maturity[np.maximum(latest_index, 0)], np.nan)
    good = has & (mat_l > 0)
    ultimate[good] = latest[good] / mat_l[good]
    reserve = ultimate - latest

    # Mack's Theorem 3: process part Σ_k σ²_k/f²_k · U/F̂(k), parameter part U² Σ_k rel_k
    with np.errstate(divide="ignore", invalid="ignore"):
        proc_k = np.where(finite, sigma2 / np.where(finite, factors, 1.0) ** 2, 0.0)
        proc_term = np.where(
            maturity[:-1] > 0, proc_k / np.where(maturity[:-1] > 0, maturity[:-1], 1.0), 0.0
        )
    proc_tail = np.zeros(n)
    proc_tail[:-1] = np.cumsum(proc_term[::-1])[::-1]
    valid = np.isfinite(ultimate)
    li = np.maximum(latest_index, 0)
    u = np.where(valid, ultimate, 0.0)
    process = u * proc_tail[li]
    param_i = u**2 * tail_rel[li]
    mack_se = np.where(valid, np.sqrt(process + param_i), np.nan)
    # total: Σ_i process_i + Σ_{i,j} U_i U_j T(max(L_i, L_j))
    t_max = tail_rel[np.maximum.outer(li, li)]
    total_mse = float(process.sum() + u @ t_max @ u)
    return ChainLadderFit(
        triangle=tri,
        factors=factors,
        sigma2=sigma2,
        factor_se=factor_se,
        n_cohorts=n_cohorts,
        sigma_extrapolated=extrapolated,
        maturity=maturity,
        maturity_se=maturity_se,
        latest_index=latest_index,
        latest=latest,
        ultimate=ultimate,
        reserve=reserve,
        mack_se=mack_se,
        total_reserve=float(np.nansum(np.where(valid, reserve, 0.0))),
        total_se=float(np.sqrt(total_mse)),
    )


# --------------------------------------------------------------------------------------
# Maturity as a function of age; eventual rates
# --------------------------------------------------------------------------------------
def maturity_function(ages: ArrayLike, maturity: ArrayLike) -> MaturityFn:
    """``F(a)`` by linear interpolation of ``maturity`` at integer ``ages``.

    ``F(a) = 0`` for ``a ≤ 0`` and ``F(a) = 1`` beyond the last age (the horizon).
    """
    x = np.concatenate([[0.0], np.asarray(ages, dtype=float)])
    y = np.concatenate([[0.0], np.asarray(maturity, dtype=float)])
    if np.any(np.diff(x) <= 0):
        raise ValueError("`ages` must be strictly increasing and positive.")

    def f(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.interp(np.asarray(a, dtype=float), x, y, left=0.0, right=1.0)

    return f


def eventual_rate(
    positives: ArrayLike,
    n: ArrayLike,
    maturity: ArrayLike,
    maturity_se: ArrayLike,
    *,
    alpha: float = 0.05,
    min_maturity: float = 0.3,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Eventual positive rate ``C / (n·F̂)`` per cohort with a confidence interval.

    The interval combines, on the log scale and in quadrature, the Wilson interval of the
    observed share ``q = C/n`` (``C ~ Bin(n, p·F)``) and the delta-method uncertainty of
    ``F̂`` (``SE(log F̂) = SE(F̂)/F̂``). With ``C = 0`` the lower bound is 0 and the upper is
    the Wilson upper bound divided by ``F̂`` and widened by ``exp(z·SE(log F̂))``.
    Estimates at ``F̂ < min_maturity`` are suppressed (NaN, flagged): dividing by a small,
    uncertain maturity gives numbers nobody should publish (STATISTICS.md §4).

    Returns ``(rate, ci_low, ci_high, suppressed)``.
    """
    from mlopskit.stats.proportions import wilson_ci

    c = np.asarray(positives, dtype=float)
    nn = np.asarray(n, dtype=float)
    f = np.asarray(maturity, dtype=float)
    fse = np.asarray(maturity_se, dtype=float)
    z = float(_dist.norm_isf(alpha / 2))
    suppressed = ~(f >= min_maturity) | ~(nn > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = c / nn
        ql, qh = wilson_ci(np.where(nn > 0, c, 0), np.where(nn > 0, nn, 0), alpha=alpha)
        rate = q / f
        s = np.where(f > 0, fse / f, np.inf)
        dl = np.log(q / ql)
        dh = np.log(qh / q)
        lo = np.where(c > 0, rate * np.exp(-np.sqrt(dl**2 + (z * s) ** 2)), 0.0)
        hi_pos = rate * np.exp(np.sqrt(dh**2 + (z * s) ** 2))
        hi_zero = qh / f * np.exp(z * s)
        hi = np.minimum(np.where(c > 0, hi_pos, hi_zero), 1.0)
    nan = np.full(c.shape, np.nan)
    return (
        np.where(suppressed, nan, rate),
        np.where(suppressed, nan, lo),
        np.where(suppressed, nan, hi),
        suppressed,
    )


# --------------------------------------------------------------------------------------
# Expected labelled count and the forecast of reaching K*
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CountForecast:
    """Expected labelled positives by day and the chance of having reached ``k_star``.

    Attributes
    ----------
    days : steps (days) after the start of the forecast, 0, 1, …
    expected : ``E[C(t)]``.
    prob_reach : ``P(C(t) ≥ k_star)`` with the not-yet-observed part Poisson (negative
        binomial when the rate's uncertainty ``rate_cv`` is given).
    rate_cv : relative standard error of the rate assumed (0: rate known).
    k_star, probability : the target count and the required probability.
    observed : count already observed at day 0.
    day_expected : first day with ``E[C(t)] ≥ k_star`` (None if not within the range).
    day_probable : first day with ``P(C(t) ≥ k_star) ≥ probability`` (None if not within).
    """

    days: NDArray[np.int64]
    expected: NDArray[np.float64]
    prob_reach: NDArray[np.float64]
    k_star: int
    probability: float
    observed: int
    day_expected: int | None
    day_probable: int | None
    rate_cv: float = 0.0

    def quantile(self, q: float) -> NDArray[np.float64]:
        """The ``q``-quantile of ``C(t)`` for every day: ``observed`` plus the quantile of the
        not-yet-observed increment (Poisson, or negative binomial with ``rate_cv``)."""
        if not 0 < q < 1:
            raise ValueError(f"`q` must be in (0, 1); got {q!r}.")
        extra = np.maximum(self.expected - self.observed, 1e-12)
        return self.observed + np.asarray(_increment(extra, self.rate_cv).ppf(q), dtype=float)


def _increment(mean: NDArray[np.float64], rate_cv: float) -> Any:
    """Distribution of the labelled count still to come, with mean ``mean``: Poisson, or the
    Poisson–Gamma (negative binomial) mixture with variance ``m + (rate_cv·m)²``."""
    from scipy import stats  # on first use: ~1 s to import, off the canary path

    if rate_cv > 0:
        shape = 1.0 / rate_cv**2
        return stats.nbinom(shape, shape / (shape + mean))
    return stats.poisson(mean)


def forecast_label_count(
    maturity: MaturityFn,
    *,
    k_star: int,
    future_rate: float,
    past_rates: ArrayLike = (),
    past_ages: ArrayLike = (),
    observed: int = 0,
    max_days: int = 365,
    probability: float = 0.9,
    future_age_offset: float = 0.0,
    rate_cv: float = 0.0,
) -> CountForecast:
    """Forecast the labelled count ``C(t)`` and the first day it reaches ``k_star``.

    STATISTICS.md §4: ``E[C(T)] = Σ_d λ_d·F(T − d)``. Here, conditioned on what is already
    known at day 0,

    ``E[C(t)] = observed + Σ_i r_i·(F(a_i + t) − F(a_i)) + Σ_{d=0..t} λ·F(t − d − offset)``

    with ``r_i`` the expected eventual positives of the past cohorts (ages ``a_i`` days at
    day 0), ``λ = future_rate`` eventual positives per future day (cohort ``d`` starts at
    day ``d``; ``offset`` = 0 treats a day's events as arriving at its start, 0.5 at its
    middle), and ``F(a) = 0`` for ``a ≤ 0``. Arrivals are Poisson, so
    ``P(C(t) ≥ K*) = Poisson(E[C(t)] − observed).sf(K* − observed − 1)``.

    ``rate_cv`` (relative standard error of the positive rate behind ``past_rates`` and
    ``future_rate``, e.g. ``1/sqrt(positives it was estimated from)``) adds the rate's
    uncertainty: the increment is then negative binomial, the Poisson–Gamma mixture with
    the same mean and variance ``m + (rate_cv·m)²``. ``rate_cv = 0`` is the pure Poisson
    forecast of STATISTICS.md §4.
    """
    if not (isinstance(k_star, int | np.integer) and k_star >= 1):
        raise ValueError(f"`k_star` must be a positive integer; got {k_star!r}.")
    if not 0 < probability < 1:
        raise ValueError(f"`probability` must be in (0, 1); got {probability!r}.")
    if not (np.isfinite(future_rate) and future_rate >= 0):
        raise ValueError(f"`future_rate` must be a finite rate ≥ 0; got {future_rate!r}.")
    if not (np.isfinite(rate_cv) and rate_cv >= 0):
        raise ValueError(f"`rate_cv` must be a finite value ≥ 0; got {rate_cv!r}.")
    if max_days < 0:
        raise ValueError(f"`max_days` must be ≥ 0; got {max_days!r}.")
    r = np.asarray(past_rates, dtype=float)
    a = np.asarray(past_ages, dtype=float)
    if r.shape != a.shape:
        raise ValueError(f"`past_rates` and `past_ages` differ in shape: {r.shape} vs {a.shape}.")
    days = np.arange(max_days + 1, dtype=np.int64)
    t = days.astype(float)
    past = (
        (r[None, :] * (maturity(a[None, :] + t[:, None]) - maturity(a)[None, :])).sum(axis=1)
        if r.size
        else np.zeros(t.size)
    )
    # future cohorts: Σ_{d=0..t} F(t − d − offset) = Σ_{u=0..t} F(u − offset), a cumulative sum
    future = future_rate * np.cumsum(maturity(t - future_age_offset))
    expected = observed + past + future
    need = int(k_star) - int(observed)
    if need <= 0:
        prob = np.ones(t.size)
    else:
        m = np.maximum(expected - observed, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            prob = np.where(m > 0, _increment(m, rate_cv).sf(need - 1), 0.0)
    hit_e = np.flatnonzero(expected >= k_star)
    hit_p = np.flatnonzero(prob >= probability)
    return CountForecast(
        days=days,
        expected=expected,
        prob_reach=prob,
        k_star=int(k_star),
        probability=float(probability),
        observed=int(observed),
        day_expected=int(hit_e[0]) if hit_e.size else None,
        day_probable=int(hit_p[0]) if hit_p.size else None,
        rate_cv=float(rate_cv),
    )


# --------------------------------------------------------------------------------------
# What we do NOT use: a forward Kaplan–Meier on the observed delays
# --------------------------------------------------------------------------------------
def forward_km_maturity(
    delays: ArrayLike, ages: ArrayLike, *, censored: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Forward Kaplan–Meier ``P(delay < a)`` from the delays that have been observed.

    Kept to document a mistake: under right truncation the positives whose labels have not
    arrived are *absent*, not censored, so there is nothing to censor and the product-limit
    estimate reduces to the empirical CDF of observed delays, which over-states the maturity
    at every age (short delays are over-represented). Use :func:`chain_ladder`.

    ``censored`` (optional, same length, True = censored) is accepted for completeness.
    """
    d = np.asarray(delays, dtype=float)
    cens = np.zeros(d.size, dtype=bool) if censored is None else np.asarray(censored, dtype=bool)
    if d.ndim != 1 or d.size == 0 or cens.shape != d.shape:
        raise ValueError("`delays` must be a non-empty 1-d array (and `censored` alike).")
    order = np.argsort(d, kind="stable")
    d, cens = d[order], cens[order]
    uniq, first = np.unique(d, return_index=True)
    events = np.add.reduceat((~cens).astype(float), first)
    at_risk = d.size - first
    surv = np.cumprod(1 - events / at_risk)
    a = np.asarray(ages, dtype=float)
    # S just before a (delay < a): last unique time strictly below a
    idx = np.searchsorted(uniq, a, side="left") - 1
    s_before = np.where(idx >= 0, surv[np.maximum(idx, 0)], 1.0)
    return 1.0 - s_before
