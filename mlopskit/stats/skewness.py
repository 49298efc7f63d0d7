"""When is the normal approximation of a mean honest? Skewness from sufficient statistics.

The Welch interval and the asymptotic confidence sequence of a mean rest on the central
limit theorem. On right-skewed data (latency, per-unit fraud loss) a small arm's sample
mean and sample variance are low together, so the upper bound undercovers: a worse canary
passes non-inferiority far more often than α (STATISTICS.md §7.3). The rule of thumb of
Kohavi et al. (2014, "Seven rules of thumb for web site experimenters", rule 7) asks for

    n > 355·γ²  units per arm,    γ = E[(Y − μ)³]/σ³ the skewness of one unit's value,

i.e. the skewness of the arm's mean, ``γ/√n``, below ``1/√355 ≈ 0.053``. Everything here
works on the additive sums ``n, Σy, Σy², Σy³`` so that it runs on daily aggregates; the
decision rule that uses it is "CONTINUE, normal approximation not yet valid" below the
bound (``mlopskit.canary``). The constant is a parameter (``factor``); the simulations in
``tests/test_canary_heavy_tails.py`` measure the error rates it gives.

Lognormal ``σ`` has ``γ = (e^{σ²} + 2)·sqrt(e^{σ²} − 1)``: 6.2 at σ = 1, 33.5 at 1.5, 414 at 2;
a value that is non-zero for a share ``π`` of units multiplies the skewness by about
``1/√π`` (×10 at 1%).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: Kohavi et al. (2014) rule 7: units per arm ≥ 355·γ²
KOHAVI_FACTOR = 355.0


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=float)


def central_moments(
    n: ArrayLike, total: ArrayLike, sum_squares: ArrayLike, sum_cubes: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean, second and third *biased* central moments ``m2``, ``m3`` from power sums.

    ``m2 = Σy²/n − ȳ²`` and ``m3 = Σy³/n − 3ȳ·Σy²/n + 2ȳ³``. Floating-point cancellation
    makes ``m3`` noisy when ``|ȳ|`` is large against the spread; values here (losses,
    latencies in ms) keep the relative error far below the skewness that matters.
    """
    n_, s1, s2, s3 = _f(n), _f(total), _f(sum_squares), _f(sum_cubes)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n_
        r2, r3 = s2 / n_, s3 / n_
        m2 = np.maximum(r2 - mean**2, 0.0)
        m3 = r3 - 3 * mean * r2 + 2 * mean**3
    return mean, m2, m3


def sample_skewness(
    n: ArrayLike, total: ArrayLike, sum_squares: ArrayLike, sum_cubes: ArrayLike
) -> FloatArray:
    """Adjusted Fisher–Pearson sample skewness ``G1 = g1·sqrt(n(n − 1))/(n − 2)``.

    ``g1 = m3/m2^{3/2}``. Matches ``scipy.stats.skew(y, bias=False)``; ``nan`` below 3 units
    and ``0`` for a constant sample (no spread, nothing to approximate).
    """
    n_ = _f(n)
    mean, m2, m3 = central_moments(n_, total, sum_squares, sum_cubes)
    with np.errstate(invalid="ignore", divide="ignore"):
        # spread below float resolution of the raw moments counts as none
        spread = m2 > 1e-12 * (mean**2 + m2)
        g1 = np.where(spread, m3 / m2**1.5, 0.0)
        out = g1 * np.sqrt(n_ * (n_ - 1)) / (n_ - 2)
    return np.where(n_ > 2, out, np.nan)


def bernoulli_skewness(p: ArrayLike) -> FloatArray:
    """Skewness of a 0/1 value with rate ``p``: ``(1 − 2p)/sqrt(p(1 − p))``."""
    p_ = _f(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((p_ > 0) & (p_ < 1), (1 - 2 * p_) / np.sqrt(p_ * (1 - p_)), np.nan)


def lognormal_skewness(sigma: ArrayLike) -> FloatArray:
    """Skewness of a lognormal with log-scale SD ``σ``: ``(e^{σ²} + 2)·sqrt(e^{σ²} − 1)``."""
    w = np.exp(_f(sigma) ** 2)
    return (w + 2) * np.sqrt(w - 1)


def zero_inflated_lognormal_moments(
    share: float, mu: float, sigma: float
) -> tuple[float, float, float]:
    """Mean, SD and skewness of ``B·Y``, ``B ~ Bernoulli(share)``, ``Y ~ lognormal(μ, σ)``.

    Raw moments ``E[(BY)^k] = share·exp(kμ + k²σ²/2)``; used by the planning helpers and
    the simulations (a per-unit fraud loss: 1% of units lose a lognormal amount).
    """
    r = [share * np.exp(k * mu + k * k * sigma**2 / 2) for k in (1, 2, 3)]
    mean = r[0]
    var = r[1] - mean**2
    m3 = r[2] - 3 * mean * r[1] + 2 * mean**3
    return float(mean), float(np.sqrt(var)), float(m3 / var**1.5)


def min_units_normal(skewness: ArrayLike, *, factor: float = KOHAVI_FACTOR) -> FloatArray:
    """Units per arm for the normal approximation of a mean: ``factor·γ²`` (``nan`` stays)."""
    if not (isinstance(factor, float | int) and factor > 0):
        raise ValueError(f"`factor` must be a number > 0; got {factor!r}.")
    return float(factor) * _f(skewness) ** 2


def normal_approximation_valid(
    n_per_arm: ArrayLike, skewness: ArrayLike, *, factor: float = KOHAVI_FACTOR
) -> NDArray[np.bool_]:
    """``n ≥ factor·γ²`` (``False`` when ``γ`` is unknown, i.e. ``nan``)."""
    need = min_units_normal(skewness, factor=factor)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(need) & (_f(n_per_arm) >= need), dtype=bool)


def pooled_skewness(
    n: ArrayLike, total: ArrayLike, sum_squares: ArrayLike, sum_cubes: ArrayLike
) -> FloatArray:
    """Skewness of the pooled sample (pass the sums of both arms added together).

    Pooling is what STATISTICS.md §7.3 asks for: the control arm carries most of the data,
    so the estimate is stable, and under the null hypotheses that matter (A/A, canary at
    the margin) both arms share the shape. The sample skewness of a heavy-tailed variable
    is biased low at small ``n`` (it cannot exceed about ``√n``), which makes the rule
    lenient exactly when it matters most; the simulations measure what that costs.
    """
    return sample_skewness(n, total, sum_squares, sum_cubes)


def ratio_skewness(
    n: ArrayLike,
    total: ArrayLike,
    denominator_total: ArrayLike,
    sum_squares: ArrayLike,
    denominator_sum_squares: ArrayLike,
    sum_products: ArrayLike,
    sum_cubes: ArrayLike,
    denominator_sum_cubes: ArrayLike,
    sum_squares_products: ArrayLike,
    sum_products_squares: ArrayLike,
) -> FloatArray:
    """Sample skewness of the delta-method variable of a ratio ``R = Σy/Σx``:
    ``z = y − R·x`` (the ratio's estimate is ``R + Σz/Σx``, so ``z`` is what the normal
    approximation averages). ``Σz = 0``; ``Σz² = Σy² − 2RΣxy + R²Σx²`` and
    ``Σz³ = Σy³ − 3RΣy²x + 3R²Σyx² − R³Σx³``; adjusted like :func:`sample_skewness`
    (= ``scipy.stats.skew(y − R·x, bias=False)``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = _f(total) / _f(denominator_total)
        s2 = _f(sum_squares) - 2 * r * _f(sum_products) + r**2 * _f(denominator_sum_squares)
        s3 = (
            _f(sum_cubes)
            - 3 * r * _f(sum_squares_products)
            + 3 * r**2 * _f(sum_products_squares)
            - r**3 * _f(denominator_sum_cubes)
        )
    return sample_skewness(n, np.zeros_like(s2), s2, s3)


def difference_skewness(
    skewness: ArrayLike, n_canary: ArrayLike, n_control: ArrayLike
) -> FloatArray:
    """Skewness of ``ȳ_canary − ȳ_control`` when both arms share the unit-level shape.

    With unit skewness ``γ`` and variance ``σ²`` in both arms the third cumulant of the
    difference is ``γσ³(1/n_t² − 1/n_c²)`` and its SD ``σ·sqrt(1/n_t + 1/n_c)``, so
    ``γ_d = γ(1/n_t² − 1/n_c²)/(1/n_t + 1/n_c)^{3/2}``: ``≈ γ/√n_t`` for a small canary and 0
    for equal arms (the skewness of the two means cancels). Kohavi's per-arm rule
    ``n ≥ 355·γ²`` is ``|γ_d| ≤ 1/√355`` for a lone mean.
    """
    g, nt, nc = _f(skewness), _f(n_canary), _f(n_control)
    with np.errstate(invalid="ignore", divide="ignore"):
        return g * (1 / nt**2 - 1 / nc**2) / (1 / nt + 1 / nc) ** 1.5


def difference_normal_valid(
    skewness: ArrayLike,
    n_canary: ArrayLike,
    n_control: ArrayLike,
    *,
    factor: float = KOHAVI_FACTOR,
) -> NDArray[np.bool_]:
    """``|γ_d| ≤ 1/√factor`` (:func:`difference_skewness`); ``False`` when unknown."""
    if not (isinstance(factor, float | int) and factor > 0):
        raise ValueError(f"`factor` must be a number > 0; got {factor!r}.")
    gd = difference_skewness(skewness, n_canary, n_control)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(gd) & (gd**2 * factor <= 1), dtype=bool)
