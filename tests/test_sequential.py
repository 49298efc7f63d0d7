"""Asymptotic confidence sequences (STATISTICS.md §3 worked oracle) and their helpers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mlopskit.stats.sequential import (
    always_valid_p,
    confidence_sequence,
    half_width,
    rho_squared,
    running_intersection,
    sample_size_for_margin,
)

# Oracle: κ = 2%, 500k units/day, p = 0.5%, α = 0.05, N* = 7,000,000.
KAPPA, P, ALPHA, NSTAR = 0.02, 0.005, 0.05, 7_000_000


def _s2() -> float:
    # s² = n·SE² with SE² = p(1−p)/(κn) + p(1−p)/((1−κ)n)
    return P * (1 - P) * (1 / KAPPA + 1 / (1 - KAPPA))


def test_worked_oracle() -> None:
    s2 = _s2()
    assert s2 == pytest.approx(0.253827, abs=5e-7)
    rho2 = rho_squared(ALPHA, NSTAR)
    assert rho2 == pytest.approx(1.133736e-6, rel=1e-6)
    z = stats.norm.isf(ALPHA / 2)
    for n, fixed, cs in [
        (3_500_000, 5.278160e-4, 8.304015e-4),
        (7_000_000, 3.732223e-4, 5.779737e-4),
    ]:
        assert z * np.sqrt(s2 / n) == pytest.approx(fixed, rel=1e-6)
        assert half_width(n, s2, rho2, ALPHA) == pytest.approx(cs, rel=1e-6)


def test_confidence_sequence_is_effect_plus_minus_half_width() -> None:
    n = np.array([1e6, 3.5e6, 7e6])
    se = np.sqrt(_s2() / n)
    lo, hi = confidence_sequence(0.001, se, n, n_star=NSTAR, alpha=ALPHA)
    np.testing.assert_allclose(hi - 0.001, half_width(n, _s2(), rho_squared(ALPHA, NSTAR), ALPHA))
    np.testing.assert_allclose(0.001 - lo, hi - 0.001)


def test_one_sided_formula() -> None:
    # One-sided: 2α in ρ², ln(1 + sqrt(nρ²+1)/(2α)) in place of ln(sqrt(nρ²+1)/α)
    # (Waudby-Smith et al. 2024; STATISTICS.md §3), computed here by hand.
    a, n, s2 = 0.025, 3_500_000, _s2()
    la = np.log(2 * a)
    r2 = (-2 * la + np.log(1 - 2 * la)) / NSTAR
    expected = np.sqrt(
        s2 * 2 * (n * r2 + 1) / (n**2 * r2) * np.log(1 + np.sqrt(n * r2 + 1) / (2 * a))
    )
    r2_lib = rho_squared(a, NSTAR, one_sided=True)
    assert r2_lib == pytest.approx(r2, rel=1e-12)
    assert half_width(n, s2, r2_lib, a, one_sided=True) == pytest.approx(expected, rel=1e-12)
    # a one-sided sequence at α/2 uses the two-sided ρ² at α and is slightly wider
    assert r2_lib == pytest.approx(rho_squared(ALPHA, NSTAR), rel=1e-12)
    two = half_width(n, s2, rho_squared(ALPHA, NSTAR), ALPHA)
    assert two < half_width(n, s2, r2_lib, a, one_sided=True) < 1.01 * two
    # and every sequence is wider than the fixed-horizon interval at the same level
    assert two > stats.norm.isf(ALPHA / 2) * np.sqrt(s2 / n)


def test_running_intersection_skips_burn_in_nans() -> None:
    lo, hi = running_intersection([np.nan, -3.0, -1.0, -2.0], [np.nan, 3.0, 4.0, 1.0])
    np.testing.assert_array_equal(lo, [np.nan, -3.0, -1.0, -1.0])
    np.testing.assert_array_equal(hi, [np.nan, 3.0, 3.0, 1.0])


@pytest.mark.parametrize("a", [0.001, 0.01, 0.025, 0.1])
def test_always_valid_p_inverts_the_one_sided_bound(a: float) -> None:
    # p < a exactly when the one-sided lower bound (same ρ²) is above 0
    rng = np.random.default_rng(1)
    n = rng.uniform(1e4, 1e6, 500)
    se = np.sqrt(0.3 / n)
    eff = rng.normal(0, 1, 500) * se * 3
    r2 = rho_squared(0.025, 2e5, one_sided=True)
    p = always_valid_p(eff, se, n, rho2=r2)
    lower = eff - half_width(n, n * se**2, r2, a, one_sided=True)
    np.testing.assert_array_equal(p < a, lower > 0)
    assert np.all((p >= 0) & (p <= 1))
    assert np.all(p[eff <= 0] == 1.0)


def test_sample_size_for_margin_solves_the_power_equation() -> None:
    s2, margin, nstar = _s2(), 4e-4, 7e6
    n = float(sample_size_for_margin(margin, s2, n_star=nstar, alpha=0.025, power=0.8))
    h = half_width(n, s2, rho_squared(0.025, nstar, one_sided=True), 0.025, one_sided=True)
    assert margin - h == pytest.approx(stats.norm.ppf(0.8) * np.sqrt(s2 / n), rel=1e-6)
    fixed = s2 * (stats.norm.isf(0.025) + stats.norm.ppf(0.8)) ** 2 / margin**2
    assert fixed < n < 3 * fixed  # peeking safely costs sample size, but not absurdly
    assert np.isinf(sample_size_for_margin(-1e-4, s2, n_star=nstar))
    assert np.isinf(sample_size_for_margin(margin, s2, n_star=nstar, true_effect=margin))


def test_bad_alpha_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"`alpha` must be a float in \(0, 1\); got 0"):
        rho_squared(0, 1e6)
    with pytest.raises(ValueError, match=r"`alpha` must be < 0.5 for a one-sided sequence"):
        rho_squared(0.6, 1e6, one_sided=True)
    with pytest.raises(ValueError, match="`n_star` must be > 0"):
        rho_squared(0.05, 0)
