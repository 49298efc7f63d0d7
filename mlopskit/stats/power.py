"""Power, sample size and minimum detectable effect for unbalanced canary allocations.

A canary gives the challenger a share ``κ`` (1–5%) of ``n`` total units, so
``SE = sqrt(σ_t²/(κn) + σ_c²/((1 − κ)n))`` (STATISTICS.md §2). With equal variances the
total traffic needed grows by ``1/(4κ(1 − κ))`` against a 50/50 test: ×5.3 at κ = 5%,
×25 at κ = 1%.

Two questions are covered, both on the normal approximation:

* **difference** (``margin=0``): detect a true effect ``δ`` with a one- or two-sided test
  at level ``α`` (two-sided uses ``α/2`` in the relevant tail and, like statsmodels'
  ``NormalIndPower``, adds the far tail to the power).
* **non-inferiority** (``margin=Δ ≠ 0``): show ``d < Δ`` (lower is better) when the true
  effect is ``δ`` (default 0): power ``Φ((Δ − δ)/SE − z_{1−α})``, one-sided.

Sign conventions follow the canary module: ``d = canary − control``; for non-inferiority the
harm direction is the sign of ``Δ`` (``Δ > 0`` for lower-is-better metrics, ``Δ < 0`` for
higher-is-better ones).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlopskit.stats import dist as _dist
from mlopskit.stats.proportions import _check_alpha

FloatArray = NDArray[np.float64]
Alternative = Literal["two-sided", "one-sided"]


def _check_share(kappa: float) -> None:
    if not (isinstance(kappa, float | int) and 0 < kappa < 1):
        raise ValueError(f"`canary_share` must be a float in (0, 1); got {kappa!r}.")


def _check_power(power: float) -> None:
    if not (isinstance(power, float | int) and 0 < power < 1):
        raise ValueError(f"`power` must be a float in (0, 1); got {power!r}.")


def se_unbalanced(
    n_total: ArrayLike, kappa: float, sd_canary: ArrayLike, sd_control: ArrayLike
) -> FloatArray:
    """Standard error of ``mean_canary − mean_control`` with ``κ·n`` canary units."""
    _check_share(kappa)
    n = np.asarray(n_total, dtype=float)
    st, sc = np.asarray(sd_canary, dtype=float), np.asarray(sd_control, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(st**2 / (kappa * n) + sc**2 / ((1 - kappa) * n))


def power_normal(
    effect: ArrayLike,
    n_total: ArrayLike,
    *,
    sd_canary: ArrayLike,
    sd_control: ArrayLike,
    canary_share: float = 0.05,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    margin: float = 0.0,
) -> FloatArray:
    """Power at ``n_total`` units for a true ``effect`` (see module docstring).

    ``margin = 0``: test of ``d = 0``; one-sided tests look in the direction of ``effect``.
    ``margin ≠ 0``: one-sided non-inferiority, ``Φ(|Δ − δ|/SE − z_{1−α})`` when ``δ`` lies on
    the good side of ``Δ`` (``alternative`` is ignored). Matches
    ``statsmodels.stats.power.NormalIndPower().power(effect_size=(δ − margin)/σ,
    nobs1=κn, alpha=α, ratio=(1 − κ)/κ, alternative=...)`` when ``σ_t = σ_c = σ``.
    """
    _check_alpha(alpha)
    se = se_unbalanced(n_total, canary_share, sd_canary, sd_control)
    eff = np.asarray(effect, dtype=float)
    if margin != 0:
        good = (margin - eff) * np.sign(margin)
        return np.asarray(_dist.norm_sf(_dist.norm_isf(alpha) - good / se), dtype=float)
    if alternative == "one-sided":
        return np.asarray(_dist.norm_sf(_dist.norm_isf(alpha) - np.abs(eff) / se), dtype=float)
    if alternative != "two-sided":
        raise ValueError(f"`alternative` must be 'two-sided' or 'one-sided'; got {alternative!r}.")
    z = _dist.norm_isf(alpha / 2)
    return np.asarray(_dist.norm_sf(z - eff / se) + _dist.norm_cdf(-z - eff / se), dtype=float)


def sample_size_normal(
    effect: float,
    *,
    sd_canary: float,
    sd_control: float,
    canary_share: float = 0.05,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    margin: float = 0.0,
) -> float:
    """Total units (both arms) needed for ``power`` (inverse of :func:`power_normal`).

    One tail only (the far tail of a two-sided test is ignored, as in statsmodels'
    ``normal_sample_size_one_tail``): ``n = (z_a + z_β)²·(σ_t²/κ + σ_c²/(1 − κ)) / gap²`` with
    ``gap = |δ|`` (difference, ``z_a = z_{1−α/2}`` two-sided) or ``gap = (Δ − δ)·sign(Δ)``
    (non-inferiority, ``z_a = z_{1−α}``). ``inf`` when ``gap ≤ 0``.
    """
    _check_alpha(alpha)
    _check_power(power)
    _check_share(canary_share)
    if margin != 0:
        gap = (margin - effect) * np.sign(margin)
        za = _dist.norm_isf(alpha)
    else:
        gap = abs(effect)
        za = _dist.norm_isf(alpha / 2 if alternative == "two-sided" else alpha)
    if not gap > 0:
        return float("inf")
    unit_var = sd_canary**2 / canary_share + sd_control**2 / (1 - canary_share)
    return float((za + _dist.norm_ppf(power)) ** 2 * unit_var / gap**2)


def minimum_detectable_effect_normal(
    n_total: float,
    *,
    sd_canary: float,
    sd_control: float,
    canary_share: float = 0.05,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
) -> float:
    """Smallest ``|δ|`` detected with ``power``: ``(z_a + z_β)·SE(n)`` (STATISTICS.md §2).

    For non-inferiority the same number is the smallest margin ``|Δ|`` that a truly equal
    canary passes with ``power`` (use ``alternative="one-sided"``).
    """
    _check_alpha(alpha)
    _check_power(power)
    za = _dist.norm_isf(alpha / 2 if alternative == "two-sided" else alpha)
    se = se_unbalanced(n_total, canary_share, sd_canary, sd_control)
    return float((za + _dist.norm_ppf(power)) * se)


def proportion_sds(p_control: float, effect: float) -> tuple[float, float]:
    """Per-unit SDs ``(σ_t, σ_c)`` of a proportion metric under the alternative."""
    pt = p_control + effect
    if not (0 <= p_control <= 1 and 0 <= pt <= 1):
        raise ValueError(
            f"proportions must lie in [0, 1]; got control {p_control!r} and canary {pt!r}."
        )
    return float(np.sqrt(pt * (1 - pt))), float(np.sqrt(p_control * (1 - p_control)))


def sample_size_proportions(
    effect: float,
    p_control: float,
    *,
    canary_share: float = 0.05,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    pooled_null: bool = True,
) -> float:
    """Total units to detect ``p_canary − p_control = effect`` (test of no difference).

    ``pooled_null=True`` uses the pooled proportion for the null variance (the pooled z-test)
    and the unpooled one under the alternative, exactly as
    ``statsmodels.stats.proportion.samplesize_proportions_2indep_onetail(diff=effect,
    prop2=p_control, power, ratio=(1 − κ)/κ, alpha, alternative)``, which returns the canary
    count ``κn``. ``pooled_null=False`` uses the unpooled (Wald) variance throughout.
    """
    _check_alpha(alpha)
    _check_power(power)
    _check_share(canary_share)
    if effect == 0:
        return float("inf")
    sd_t, sd_c = proportion_sds(p_control, effect)
    k = canary_share
    std_alt = np.sqrt(sd_t**2 / k + sd_c**2 / (1 - k))
    if pooled_null:
        p_pool = k * (p_control + effect) + (1 - k) * p_control
        std_null = np.sqrt(p_pool * (1 - p_pool) * (1 / k + 1 / (1 - k)))
    else:
        std_null = std_alt
    za = _dist.norm_isf(alpha / 2 if alternative == "two-sided" else alpha)
    zb = _dist.norm_ppf(power)
    return float(((za * std_null + zb * std_alt) / effect) ** 2)


def solve_n_for_power(
    power: float,
    power_at: object,
    *,
    upper: float = 1e13,
) -> float:
    """Smallest ``n`` with ``power_at(n) ≥ power`` for a power curve increasing in ``n``.

    Generic root finder (Brent on ``log n``), used for round-trip checks and for power
    functions without a closed-form inverse. ``power_at`` is a callable ``n -> power``.
    """
    _check_power(power)
    if not callable(power_at):
        raise ValueError(f"`power_at` must be callable; got {type(power_at).__name__}.")

    def g(log_n: float) -> float:
        return float(power_at(np.exp(log_n))) - power

    if g(np.log(upper)) < 0:
        return float("inf")
    if g(0.0) >= 0:
        return 1.0
    from scipy import optimize  # on first use: off the canary path

    return float(np.exp(optimize.brentq(g, 0.0, np.log(upper), xtol=1e-12)))


def design_on_analysis_scale(
    *,
    baseline: float,
    sd_control: float,
    sd_canary: float,
    margin: float,
    true_effect: float,
    canary_share: float,
    relative: bool,
) -> tuple[float, float]:
    """``(gap, s²)`` of a non-inferiority design on the scale the test decides on.

    ``gap`` is the distance from the true effect to the margin on the harm side, ``s²`` the
    variance per total unit of the estimator (``SE² = s²/n``). Absolute metrics decide on
    ``d = μ_t − μ_c``: ``gap = (Δ − δ)·sign(Δ)``, ``s² = σ_t²/κ + σ_c²/(1 − κ)``. Relative
    metrics decide on ``λ = ln(μ_t/μ_c)`` (``canary_test`` does): ``gap = |ln(1 + Δ) −
    ln(1 + δ)|`` and, by the delta method, ``s² = σ_t²/(κμ_t²) + σ_c²/((1 − κ)μ_c²)`` with
    ``μ_t = μ_c(1 + δ)``. Planning with ``Δ·μ_c`` on the absolute scale instead sizes a
    different test (for Δ = +10% the log margin is ln 1.1 = 0.0953, 4.7% narrower) and
    under-delivers power. Here ``margin`` and ``true_effect`` are fractions of
    ``baseline`` when ``relative``, and ``sd_canary`` is the SD at ``μ_t``.
    """
    _check_share(canary_share)
    k = canary_share
    if relative:
        if not (baseline != 0 and margin > -1 and true_effect > -1):
            raise ValueError(
                "relative designs need a non-zero baseline and margin, effect > −1; got "
                f"baseline={baseline!r}, margin={margin!r}, true_effect={true_effect!r}."
            )
        mu_c = abs(baseline)
        mu_t = mu_c * (1 + true_effect)
        gap = (np.log1p(margin) - np.log1p(true_effect)) * np.sign(margin)
        s2 = sd_canary**2 / (k * mu_t**2) + sd_control**2 / ((1 - k) * mu_c**2)
    else:
        gap = (margin - true_effect) * np.sign(margin)
        s2 = sd_canary**2 / k + sd_control**2 / (1 - k)
    return float(gap), float(s2)
