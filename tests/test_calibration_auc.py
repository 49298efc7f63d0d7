"""Calibration fits against statsmodels; Hanley–McNeil against its paper and a simulation."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from mlopskit.stats.auc import hanley_mcneil_se, positives_for_auc_precision
from mlopskit.stats.calibration import calibration_fit, expit, logit


def _miscalibrated(n: int = 20000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(-3, 1.2, n)
    true_p = expit(-0.4 + 0.8 * x)  # the score's logit is x: slope 0.8, intercept -0.4
    y = (rng.random(n) < true_p).astype(float)
    return expit(x), y


def test_calibration_fit_matches_statsmodels_logit_and_offset_glm() -> None:
    p, y = _miscalibrated()
    fit = calibration_fit(p, y)
    # reference: sm.Logit(y, sm.add_constant(logit(p))).fit(disp=0)
    ref = sm.Logit(y, sm.add_constant(logit(p))).fit(disp=0)
    np.testing.assert_allclose([fit.intercept, fit.slope], ref.params, rtol=1e-7)
    np.testing.assert_allclose([fit.se_intercept, fit.se_slope], ref.bse, rtol=1e-6)
    # reference: sm.GLM(y, ones, family=Binomial(), offset=logit(p)).fit()
    glm = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=logit(p)).fit()
    np.testing.assert_allclose(fit.citl, glm.params[0], rtol=1e-7)
    np.testing.assert_allclose(fit.se_citl, glm.bse[0], rtol=1e-6)
    assert abs(fit.slope - 0.8) < 0.1 and abs(fit.intercept + 0.4) < 0.4


def test_recalibration_maps_restore_calibration() -> None:
    p, y = _miscalibrated(seed=2)
    fit = calibration_fit(p, y)
    refit = calibration_fit(fit.apply(p, method="platt"), y)
    np.testing.assert_allclose([refit.intercept, refit.slope], [0.0, 1.0], atol=1e-6)
    shifted = calibration_fit(fit.apply(p, method="intercept"), y)
    assert abs(shifted.citl) < 1e-6
    with pytest.raises(ValueError, match="`method` must be 'platt' or 'intercept'"):
        fit.apply(p, method="isotonic")


def test_calibration_bad_input() -> None:
    with pytest.raises(ValueError, match="single class"):
        calibration_fit([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match=r"`p` must lie in \[0, 1\]"):
        calibration_fit([0.1, 1.2], [0, 1])


def test_hanley_mcneil_paper_example() -> None:
    # Hanley & McNeil (1982) Table / text example: A = 0.9, n_A = n_N = 50 → SE ≈ 0.0322
    # (eq. 2 evaluated by hand: Q1 = 0.818182, Q2 = 0.852632).
    q1, q2, a = 0.9 / 1.1, 2 * 0.81 / 1.9, 0.9
    by_hand = np.sqrt((a * (1 - a) + 49 * (q1 - a * a) + 49 * (q2 - a * a)) / 2500)
    assert hanley_mcneil_se(0.9, 50, 50) == pytest.approx(by_hand, rel=1e-12)
    assert hanley_mcneil_se(0.9, 50, 50) == pytest.approx(0.0322, abs=5e-4)


def test_hanley_mcneil_matches_simulation_under_exponential_scores() -> None:
    # HM's Q1/Q2 are exact for exponential score distributions: negatives Exp(1),
    # positives Exp(rate r) give AUC = 1/(1 + r); r = 1/9 → AUC 0.9.
    rng = np.random.default_rng(3)
    n1, n0, reps = 100, 400, 1500
    aucs = np.empty(reps)
    for i in range(reps):
        pos = rng.exponential(9.0, n1)
        neg = rng.exponential(1.0, n0)
        aucs[i] = (pos[:, None] > neg[None, :]).mean()
    assert np.std(aucs, ddof=1) == pytest.approx(hanley_mcneil_se(0.9, n1, n0), rel=0.08)


def test_positives_for_auc_precision_statistics_md_oracle() -> None:
    # STATISTICS.md §4: AUC drop 0.02 with power 0.8 → SE ≤ 0.0080, about 660 positives at 0.9
    k = positives_for_auc_precision(auc=0.9, detectable_drop=0.02, alpha=0.05, power=0.8)
    assert 640 <= k <= 680
    assert hanley_mcneil_se(0.9, k, np.inf) <= 0.02 / (1.644854 + 0.841621)
    assert hanley_mcneil_se(0.9, k - 1, np.inf) > 0.02 / (1.644854 + 0.841621)
    # a finite negative class needs slightly more positives
    assert positives_for_auc_precision(auc=0.9, detectable_drop=0.02, prevalence=0.01) >= k
