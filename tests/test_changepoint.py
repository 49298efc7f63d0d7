"""Drift onset as a change point (mlopskit.stats.changepoint): error control and accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from mlopskit.stats.changepoint import (
    cusum_paths,
    cusum_threshold,
    detect_change,
    siegmund_arl0,
)
from tests._monitoring_sim import daily_logit_means, simulate_world


def test_siegmund_matches_published_arl() -> None:
    # Montgomery, Introduction to Statistical Quality Control (6th ed.), §9.1.3: one-sided
    # CUSUM with k = 0.5, h = 4 has in-control ARL 336 (Siegmund's formula gives ≈ 338).
    assert siegmund_arl0(0.5, 4.0) == pytest.approx(336, rel=0.01)
    assert siegmund_arl0(0.0, 4.0) == pytest.approx(5.166**2)


def test_cusum_path_by_hand() -> None:
    z = np.array([1.0, 2.0, -3.0, 0.5, 1.5])
    # S = max(0, S + z − 0.5): 0.5, 2.0, 0, 0, 1.0
    np.testing.assert_allclose(cusum_paths(z, 0.5), [0.5, 2.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(cusum_paths(-z, 0.5, "lower"), [0.5, 2.0, 0.0, 0.0, 1.0])


def test_threshold_grows_with_horizon_and_falls_with_alpha() -> None:
    h30 = cusum_threshold(horizon=30, n_reference=30)
    h90 = cusum_threshold(horizon=90, n_reference=30)
    assert h90 > h30
    assert cusum_threshold(alpha=0.01, horizon=90) > h90
    # two-sided needs a higher threshold than one side at the same family-wise alpha
    assert cusum_threshold(side="two-sided") > cusum_threshold(side="upper")
    # with a huge reference the estimation error vanishes: the known-parameter threshold
    # for P(alarm within 90) = 0.05 is well below the n₀ = 30 one
    assert cusum_threshold(n_reference=2000, n_sim=5000) < cusum_threshold(n_reference=30)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="`reference` must hold at least 3"):
        detect_change([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="`side` must be one of"):
        detect_change(np.zeros(10), np.zeros(5), side="up")
    with pytest.raises(ValueError, match="`alpha` must be a float in"):
        detect_change(np.arange(10.0), np.zeros(5), alpha=1.5)


def test_step_is_dated_exactly_and_nan_windows_are_neutral() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(size=40)
    mon = rng.normal(size=60)
    mon[25:] += 4.0
    mon[10] = np.nan
    r = detect_change(ref, mon)
    assert r.detected and r.onset == 25
    assert r.onset_low is not None and r.onset_high is not None
    assert r.onset_low <= 25 <= r.onset_high  # type: ignore[operator]
    assert r.z[10] == 0.0
    assert "onset 25" in r.summary()


def test_lower_and_two_sided() -> None:
    rng = np.random.default_rng(4)
    ref = rng.normal(size=40)
    mon = rng.normal(size=50)
    mon[20:] -= 3.0
    assert not detect_change(ref, mon, side="upper").detected
    r = detect_change(ref, mon, side="two-sided")
    assert r.detected and r.side == "lower" and abs(r.onset - 20) <= 1  # type: ignore[operator]


def test_daily_looks_give_the_same_first_alarm() -> None:
    """Looking every day or once at the end: the first alarm is the same window."""
    rng = np.random.default_rng(5)
    ref = rng.normal(size=30)
    mon = rng.normal(size=90)
    mon[50:] += 1.5
    final = detect_change(ref, mon, horizon=90)
    assert final.detected
    alarms = [detect_change(ref, mon[:t], horizon=90).alarm for t in range(1, 91)]
    first = next(t for t, a in enumerate(alarms, start=1) if a is not None)
    assert first - 1 == final.alarm
    assert all(a == final.alarm for a in alarms[first - 1 :])


@pytest.mark.slow
def test_false_onset_rate_over_90_looks_ar1_null() -> None:
    """AR(1) day effects (ρ = 0.3), 30 reference days, 90 monitored: false onsets ≤ α."""
    rng = np.random.default_rng(11)
    n_worlds, fa = 300, 0
    for _ in range(n_worlds):
        e = rng.normal(size=120)
        x = np.empty(120)
        x[0] = e[0]
        for t in range(1, 120):
            x[t] = 0.3 * x[t - 1] + np.sqrt(1 - 0.09) * e[t]
        fa += detect_change(x[:30], x[30:], n_boot=10).detected
    # 0.05 nominal; binomial SE at 300 worlds ≈ 0.013
    assert fa / n_worlds <= 0.08


@pytest.mark.slow
def test_simulated_worlds_onset_error_rates() -> None:
    """Event-level worlds (arrival bias, weekday volume, overdispersed AR(1) day effects),
    daily mean logit score, α = 0.02 over the horizon: no-drift false onsets ≤ 5 %; drift
    onset within 7 days and interval coverage ≥ 90 % (24 seeds each). Measured over 100
    seeds: 3 % false onsets, 100 % within 7 days, 91 % coverage at level 0.9."""
    seeds = range(24)
    false = 0
    within = covered = 0
    for s in seeds:
        ref, mon = daily_logit_means(simulate_world(s, daily_volume=600))
        false += detect_change(ref, mon, side="two-sided", alpha=0.02, n_boot=10).detected
        w = simulate_world(100 + s, daily_volume=600, drift_day=70, drift_shift=0.15)
        ref, mon = daily_logit_means(w)
        r = detect_change(ref, mon, side="two-sided", alpha=0.02)
        truth = 70 - 30
        if r.detected:
            within += abs(r.onset - truth) <= 7  # type: ignore[operator]
            covered += r.onset_low <= truth <= r.onset_high  # type: ignore[operator]
    assert false / len(seeds) <= 0.05
    assert within / len(seeds) >= 0.9
    assert covered / len(seeds) >= 0.9


def test_psi_statistic_is_size_free_under_no_drift() -> None:
    """Multinomial windows of 500 and 20 000 rows against a 50 000-row reference: the
    statistic has the same mean (Wilson–Hilferty: E ≈ 1 − 2/(9·(B − 1)))."""
    from mlopskit.stats.changepoint import psi_statistic
    from mlopskit.stats.psi import psi_from_counts

    rng = np.random.default_rng(2)
    share = np.full(10, 0.1)
    ref = rng.multinomial(50_000, share).astype(float)
    for m in (500, 20_000):
        cur = rng.multinomial(m, share, size=3000).astype(float)
        stat = psi_statistic(psi_from_counts(ref, cur), 50_000, m, 10)
        assert np.mean(stat) == pytest.approx(1 - 2 / 81, abs=0.03)
    assert np.isnan(psi_statistic(0.1, 100, 100, 1))


def test_window_change_on_psi_windows_ignores_partial_window() -> None:
    """Daily multinomial score-bin counts (30 reference days, 60 monitored, a shift from
    monitored day 40, and a partial last day with a large PSI): the onset is day 40; the
    partial day alone never alarms."""
    from mlopskit.stats.changepoint import monitored_positions, window_change
    from mlopskit.stats.psi import psi_from_counts

    rng = np.random.default_rng(21)
    base = np.full(10, 0.1)
    moved = base + np.linspace(-0.02, 0.02, 10)
    days = [rng.multinomial(2000, base if d < 70 else moved) for d in range(90)]
    days.append(rng.multinomial(50, np.r_[0.5, np.full(9, 0.5 / 9)]))  # partial, odd
    counts = np.array(days, dtype=float)
    in_ref = np.arange(91) < 30
    ref_total = counts[in_ref].sum(axis=0)
    compared = np.where(in_ref[:, None], ref_total - counts, ref_total)
    psi = np.array([psi_from_counts(r, c) for r, c in zip(compared, counts, strict=True)])
    complete = np.arange(91) < 90
    args = (psi, counts.sum(axis=1), compared.sum(axis=1), np.full(91, 10), in_ref)
    r = window_change(*args, complete, alpha=0.02)
    pos = monitored_positions(in_ref, complete)
    assert r is not None and r.detected and pos[r.onset] == 70  # type: ignore[index]
    # only up to day 69 plus the odd partial day: no alarm from the partial day
    upto = np.arange(91) < 70
    quiet = window_change(
        *(a[upto | (np.arange(91) == 90)] for a in args),
        complete[upto | (np.arange(91) == 90)],
        alpha=0.02,
    )
    assert quiet is not None and not quiet.detected
