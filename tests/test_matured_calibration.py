"""Calibration on partly matured labels (mlopskit.stats.matured_calibration)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import optimize

from mlopskit.stats.calibration import calibration_fit, expit, logit
from mlopskit.stats.matured_calibration import (
    band_maturity,
    band_maturity_curves,
    matured_calibration_fit,
)


def _world(seed: int, n: int = 40000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = expit(-4.0 + x)
    y = rng.random(n) < p
    return x, p, y


def test_full_maturity_equals_logistic_glm() -> None:
    _, p, y = _world(0, 20000)
    fit = matured_calibration_fit(p, np.ones_like(p), y)
    # statsmodels: GLM(y, [1, logit p], Binomial()) — the textbook calibration fit
    X = sm.add_constant(logit(p))
    ref = sm.GLM(y.astype(float), X, family=sm.families.Binomial()).fit()
    assert fit.intercept == pytest.approx(ref.params[0], abs=1e-7)
    assert fit.slope == pytest.approx(ref.params[1], abs=1e-7)
    assert fit.se_slope == pytest.approx(ref.bse[1], rel=1e-5)
    base = calibration_fit(p, y)
    assert fit.citl == pytest.approx(base.citl, abs=1e-7)
    assert fit.se_citl == pytest.approx(base.se_citl, rel=1e-5)


def test_cells_equal_rows() -> None:
    rng = np.random.default_rng(1)
    p_c = np.array([0.01, 0.02, 0.05, 0.2])
    f_c = np.array([0.9, 0.7, 0.5, 0.95])
    n_c = np.array([4000, 3000, 1000, 200])
    y_c = rng.binomial(n_c, p_c * f_c)
    cells = matured_calibration_fit(p_c, f_c, y_c, n_c)
    rows_p = np.repeat(p_c, n_c)
    rows_f = np.repeat(f_c, n_c)
    rows_y = np.concatenate(
        [np.r_[np.ones(k), np.zeros(m - k)] for k, m in zip(y_c, n_c, strict=True)]
    )
    rows = matured_calibration_fit(rows_p, rows_f, rows_y)
    assert cells.slope == pytest.approx(rows.slope, abs=1e-9)
    assert cells.citl == pytest.approx(rows.citl, abs=1e-9)
    assert cells.n == rows.n == n_c.sum()


def test_partial_maturity_matches_direct_likelihood_maximum() -> None:
    x, p, y = _world(2)
    rng = np.random.default_rng(3)
    f = 0.3 + 0.6 * expit(1.5 * x)  # riskier events labelled faster
    arrived = y & (rng.random(y.size) < f)
    fit = matured_calibration_fit(p, f, arrived)

    def nll(t: np.ndarray) -> float:  # scipy Nelder–Mead on the same likelihood
        q = f * expit(t[0] + t[1] * logit(p))
        return -float(np.sum(arrived * np.log(q) + (~arrived) * np.log1p(-q)))

    ref = optimize.minimize(
        nll, [0.0, 1.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-9}
    )
    assert fit.intercept == pytest.approx(ref.x[0], abs=1e-4)
    assert fit.slope == pytest.approx(ref.x[1], abs=1e-4)
    # the naive fit on arrived labels is biased (slope up, CITL down); this one is not
    naive = calibration_fit(p, arrived)
    assert naive.slope - 1 > 3 * naive.se_slope
    assert abs(fit.slope - 1) < 3 * fit.se_slope
    assert abs(fit.citl) < 3 * fit.se_citl


def test_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="`maturity` must lie in"):
        matured_calibration_fit([0.1, 0.2], [0.0, 1.0], [0, 1])
    with pytest.raises(ValueError, match="equal length"):
        matured_calibration_fit([0.1, 0.2], [1.0], [0, 1])
    with pytest.raises(ValueError, match="both arrived positives"):
        matured_calibration_fit([0.1, 0.2], [1.0, 1.0], [0, 0])


def test_band_maturity_picks_each_bands_curve() -> None:
    curves = [lambda a: np.minimum(a / 40, 1.0), lambda a: np.minimum(a / 20, 1.0)]
    f = band_maturity([0.01, 0.5, 0.02], [10, 10, 40], [0.1], curves)
    np.testing.assert_allclose(f, [0.25, 0.5, 1.0])
    with pytest.raises(ValueError, match="one maturity curve per band"):
        band_maturity([0.1], [1], [0.1, 0.2], curves)


@pytest.mark.slow
def test_alarm_rate_calibrated_scores_score_dependent_label_speed() -> None:
    """A calibrated score whose positives are labelled faster when riskier: the check
    (|CITL| > 0.2 or |slope − 1| > 0.2, each significant at 0.05) with the per-event
    maturity alarms in ≤ 5 % of 200 worlds and the slope is unbiased on average."""
    alarms = 0
    slopes: list[float] = []
    n_worlds = 200
    for s in range(n_worlds):
        rng = np.random.default_rng(1000 + s)
        n = 30000
        x = rng.normal(size=n)
        p = expit(-4.3 + 1.1 * x)
        y = rng.random(n) < p
        age = rng.uniform(0, 60, n)
        scale = 10 * np.exp(-0.5 * x)  # delay scale: riskier (higher x) faster
        # F = P(Gamma(2, scale) ≤ age): the arrival probability of this event's label
        f = 1 - np.exp(-age / scale) * (1 + age / scale)
        arrived = y & (rng.random(n) < f)
        keep = f >= 0.3
        fit = matured_calibration_fit(p[keep], f[keep], arrived[keep])
        alarms += (abs(fit.citl) > 0.2 and abs(fit.citl) > 1.96 * fit.se_citl) or (
            abs(fit.slope - 1) > 0.2 and abs(fit.slope - 1) > 1.96 * fit.se_slope
        )
        slopes.append(fit.slope)
    assert alarms / n_worlds <= 0.05
    assert abs(float(np.mean(slopes)) - 1) < 0.03  # unbiased on average


def test_band_maturity_curves_recover_each_bands_delay() -> None:
    """Two score bands, delays Gamma(2, 10) and Gamma(2, 4) days, 60 daily cohorts observed
    to as_of: each band's chain-ladder curve at age 14 matches its Gamma CDF (scipy); a band
    with too few positives falls back to the pooled curve."""
    from scipy import stats

    rng = np.random.default_rng(9)
    m, h = 60, 40
    latest = np.arange(m)[::-1]  # cohort c observed to age m − 1 − c
    pos = np.zeros((3, m, h))
    for b, scale, per_day in ((0, 10.0, 30), (1, 4.0, 30), (2, 4.0, 1)):
        for c in range(m):
            d = np.floor(rng.gamma(2.0, scale, per_day)).astype(int)
            d = d[(d < h) & (d < latest[c])]
            np.add.at(pos[b, c], d, 1)

    def pooled(a: np.ndarray) -> np.ndarray:
        return np.full_like(np.asarray(a, dtype=float), 0.5)

    curves, notes = band_maturity_curves(pos, latest, pooled=pooled, min_positives=100)
    for b, scale in ((0, 10.0), (1, 4.0)):
        truth = stats.gamma.cdf(14, 2.0, scale=scale) / stats.gamma.cdf(h, 2.0, scale=scale)
        assert float(curves[b](np.array([14.0]))[0]) == pytest.approx(truth, abs=0.05)
    assert curves[2] is pooled and "pooled curve used" in notes[0]
