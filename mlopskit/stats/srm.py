"""Sample-ratio mismatch checked every day, with its error controlled over the looks.

A chi-square test repeated daily at ``α = 0.001`` has a much larger chance of some false
alarm over a month of looks than 0.001. The sequential SRM test of Lindon & Malek (2022,
"Anytime-valid inference for multinomial count data", NeurIPS; Optimizely's SSRM) bounds
it: under the configured split ``θ₀`` the mixture likelihood ratio

    BF_n = [B(a + x_n) / B(a)] / Π θ₀ᵢ^{x_{n,i}},    a = k·θ₀ (Dirichlet prior, k = 100)

is a nonnegative martingale with mean 1, so by Ville's inequality
``P(sup_n BF_n ≥ 1/α) ≤ α``: the always-valid p-value ``p_n = min(1, min_{m ≤ n} 1/BF_m)``
may be checked after every unit, or every day, and ``P(any p_n ≤ α) ≤ α``. ``B`` is the
multivariate beta function. The same test serves differential missingness: among the
units whose metric value is missing, the canary share should be the canary's share of
units (:func:`missing_split_p`).

Everything is vectorized over looks (the last axis holds cumulative counts).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from mlopskit.stats import dist as _dist

FloatArray = NDArray[np.float64]

#: prior concentration ``k`` of the Dirichlet mixture (savvi / Lindon & Malek default)
CONCENTRATION = 100.0


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=float)


def _check_shares(shares: ArrayLike) -> FloatArray:
    th = _f(shares)
    if th.ndim != 1 or th.size < 2 or np.any(th <= 0) or abs(float(th.sum()) - 1) > 1e-9:
        raise ValueError(
            f"`expected_split` must be two or more positive shares summing to 1; got {shares!r}."
        )
    return th


def log_bayes_factor(
    counts: ArrayLike, shares: ArrayLike, *, concentration: float = CONCENTRATION
) -> FloatArray:
    """``ln BF`` of the Dirichlet–multinomial mixture against ``θ₀ = shares``.

    ``counts`` has the categories on axis 0 (e.g. ``[control, canary]``) and looks after
    it. ``ln BF = Σᵢ[lnΓ(aᵢ + xᵢ) − lnΓ(aᵢ)] + lnΓ(Σa) − lnΓ(Σa + n) − Σᵢ xᵢ ln θ₀ᵢ``.
    """
    th = _check_shares(shares)
    if not (isinstance(concentration, float | int) and concentration > 0):
        raise ValueError(f"`concentration` must be > 0; got {concentration!r}.")
    x = _f(counts)
    if x.shape[0] != th.size:
        raise ValueError(f"`counts` must have one row per share ({th.size}); got shape {x.shape}.")
    if np.any(x < 0):
        raise ValueError("`counts` must be ≥ 0.")
    a = (concentration * th).reshape((-1,) + (1,) * (x.ndim - 1))
    lth = np.log(th).reshape(a.shape)
    n = x.sum(axis=0)
    return (
        (special.gammaln(a + x) - special.gammaln(a)).sum(axis=0)
        + special.gammaln(concentration)
        - special.gammaln(concentration + n)
        - (x * lth).sum(axis=0)
    )


def sequential_p(
    counts: ArrayLike, shares: ArrayLike, *, concentration: float = CONCENTRATION
) -> FloatArray:
    """Always-valid p-value at each look: running minimum of ``min(1, 1/BF)``.

    ``counts`` are cumulative (categories on axis 0, looks on the last axis). Rejecting
    when ``p ≤ α`` at any look has false-alarm probability ``≤ α`` over all looks.
    """
    lbf = log_bayes_factor(counts, shares, concentration=concentration)
    p = np.exp(np.minimum(-lbf, 0.0))
    return np.minimum.accumulate(p, axis=-1)


def chisquare_p(counts: ArrayLike, shares: ArrayLike) -> FloatArray:
    """Fixed-look chi-square goodness-of-fit p-value at each look (for display).

    Equals ``scipy.stats.chisquare(counts[:, k], f_exp=counts[:, k].sum()·shares).pvalue``.
    """
    th = _check_shares(shares)
    x = _f(counts)
    a = th.reshape((-1,) + (1,) * (x.ndim - 1))
    n = x.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = n * a
        chi2 = ((x - e) ** 2 / e).sum(axis=0)
    return np.where(n > 0, _dist.chi2_sf(chi2, th.size - 1), np.nan)


def missing_split_p(
    missing_control: ArrayLike,
    missing_canary: ArrayLike,
    units_control: ArrayLike,
    units_canary: ArrayLike,
    *,
    concentration: float = CONCENTRATION,
) -> FloatArray:
    """Always-valid p-value of "missing values are as frequent in both arms", per look.

    Under equal missing rates each missing unit is a canary unit with probability
    ``κ̂ = units_canary / units``. The mixture test of :func:`sequential_p` is applied to the
    missing counts against that share, one increment per look (the share is re-read at each
    look, so the increments of day ``k`` are tested against day ``k``'s share). Arrays over
    looks hold cumulative counts.
    """
    mc, mt = _f(missing_control), _f(missing_canary)
    uc, ut = _f(units_control), _f(units_canary)
    if np.any(mc > uc) or np.any(mt > ut) or np.any(mc < 0) or np.any(mt < 0):
        raise ValueError("missing counts must satisfy 0 ≤ missing ≤ units in each arm.")
    if not (isinstance(concentration, float | int) and concentration > 0):
        raise ValueError(f"`concentration` must be > 0; got {concentration!r}.")
    mc, mt, uc, ut = np.broadcast_arrays(mc, mt, uc, ut)
    dmc = np.diff(mc, axis=-1, prepend=0.0)
    dmt = np.diff(mt, axis=-1, prepend=0.0)
    duc = np.diff(uc, axis=-1, prepend=0.0)
    dut = np.diff(ut, axis=-1, prepend=0.0)
    if np.any(dmc < 0) or np.any(dmt < 0) or np.any(duc < 0) or np.any(dut < 0):
        raise ValueError("counts must be cumulative (non-decreasing over looks).")
    with np.errstate(invalid="ignore", divide="ignore"):
        # the share of this look's new units that are canary (the null probability that a
        # new missing unit is a canary unit); the overall share where a look adds none
        day = np.where(duc + dut > 0, dut / (duc + dut), ut / (uc + ut))
    kappa = np.clip(np.nan_to_num(day, nan=0.5), 1e-12, 1 - 1e-12)
    # A Beta(k·κ₀, k·(1 − κ₀)) mixture over the canary share of missing units (κ₀ the
    # overall share at the last look's units is not known in advance, so the first look's
    # share is used), updated conjugately; each look's increment contributes its
    # beta-binomial predictive probability over its binomial probability under H0 (the
    # binomial coefficients cancel).
    first = ut[..., :1] / np.maximum(uc[..., :1] + ut[..., :1], 1.0)
    k0 = np.clip(np.where(uc[..., :1] + ut[..., :1] > 0, first, 0.5), 1e-6, 1 - 1e-6)
    a0, b0 = concentration * k0, concentration * (1 - k0)
    ca = np.cumsum(dmt, axis=-1) - dmt  # canary missing before this look
    cb = np.cumsum(dmc, axis=-1) - dmc
    log_pred = special.betaln(a0 + ca + dmt, b0 + cb + dmc) - special.betaln(a0 + ca, b0 + cb)
    log_null = dmt * np.log(kappa) + dmc * np.log1p(-kappa)
    lbf = np.cumsum(log_pred - log_null, axis=-1)
    p = np.exp(np.minimum(-lbf, 0.0))
    return np.minimum.accumulate(p, axis=-1)
