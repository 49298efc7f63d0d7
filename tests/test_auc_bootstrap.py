"""AUC and its stratified paired bootstrap SE against scipy, a published example and DeLong."""

from __future__ import annotations

import numpy as np
import pytest
from _auc_reference import delong_cov
from scipy.stats import mannwhitneyu

from mlopskit.stats.auc import hanley_mcneil_se
from mlopskit.stats.auc_bootstrap import auc, auc_bootstrap


def _data(n: int = 3000, prevalence: float = 0.1, seed: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prevalence
    s1 = np.round(rng.normal(0, 1, n) + 1.2 * y, 1)  # rounded: many ties
    s2 = s1 + rng.normal(0, 0.6, n) + 0.3 * y
    return y, s1, s2


def test_auc_equals_mann_whitney_with_ties() -> None:
    y, s1, _ = _data()
    # reference: scipy.stats.mannwhitneyu(pos, neg).statistic / (n1 * n0)
    ref = mannwhitneyu(s1[y], s1[~y]).statistic / (y.sum() * (~y).sum())
    assert auc(y, s1) == pytest.approx(ref, rel=1e-12)
    assert auc(y.astype(int), -s1) == pytest.approx(1 - ref, rel=1e-12)


def test_auc_hanley_mcneil_1982_ct_ratings() -> None:
    # Hanley & McNeil (1982), Radiology 143:29-36, Table 1: 109 CT images rated 1..5;
    # normal 33/6/6/11/2, abnormal 3/2/2/11/33; published area W = 0.893.
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    ratings = np.concatenate(
        [np.repeat(np.arange(1, 6), normal), np.repeat(np.arange(1, 6), abnormal)]
    )
    y = np.r_[np.zeros(58), np.ones(51)]
    assert round(auc(y, ratings), 3) == 0.893
    # its bootstrap SE is of the size of the paper's SE(W) = 0.032 (Hanley–McNeil formula)
    boot = auc_bootstrap(y, ratings, n_boot=4000, seed=11)
    assert boot.se[0] == pytest.approx(hanley_mcneil_se(0.8932, 51, 58), rel=0.15)


def test_bootstrap_se_matches_delong_single_and_paired() -> None:
    y, s1, s2 = _data()
    boot = auc_bootstrap(y, s1, s2, n_boot=4000, seed=3)
    ref = delong_cov(y, s1, s2)
    np.testing.assert_allclose(boot.auc, [auc(y, s1), auc(y, s2)], rtol=1e-12)
    np.testing.assert_allclose(boot.se, np.sqrt(np.diag(ref)), rtol=0.06)
    diff, se_diff = boot.diff(1, 0)
    assert diff == pytest.approx(boot.auc[1] - boot.auc[0], rel=1e-12)
    assert se_diff == pytest.approx(np.sqrt(ref[0, 0] + ref[1, 1] - 2 * ref[0, 1]), rel=0.06)
    # paired SE is far below the unpaired one: the pairing is what makes the gate sensitive
    assert se_diff < 0.6 * np.hypot(*boot.se)


def test_delong_reference_matches_brute_force() -> None:
    # the reference itself, against the O(n1·n0) definition of the structural components
    y, s1, _ = _data(n=400, seed=9)
    x, z = s1[y], s1[~y]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    brute = np.var(psi.mean(1), ddof=1) / x.size + np.var(psi.mean(0), ddof=1) / z.size
    assert delong_cov(y, s1)[0, 0] == pytest.approx(brute, rel=1e-10)


def test_bootstrap_se_recovers_the_exact_sampling_se_for_exponential_scores() -> None:
    # Hanley–McNeil's Q1/Q2 are exact for exponential scores (AUC = 1/(1 + r)); one large
    # sample's bootstrap SE estimates that sampling SE.
    rng = np.random.default_rng(4)
    n1, n0 = 400, 1600
    s = np.r_[rng.exponential(9.0, n1), rng.exponential(1.0, n0)]
    y = np.r_[np.ones(n1), np.zeros(n0)]
    boot = auc_bootstrap(y, s, n_boot=3000, seed=5)
    assert boot.se[0] == pytest.approx(hanley_mcneil_se(0.9, n1, n0), rel=0.12)


def test_bootstrap_is_reproducible_by_seed() -> None:
    y, s1, s2 = _data(n=800)
    a = auc_bootstrap(y, s1, s2, n_boot=200, seed=1)
    assert a == auc_bootstrap(y, s1, s2, n_boot=200, seed=1)
    assert a.se != auc_bootstrap(y, s1, s2, n_boot=200, seed=2).se
    assert (a.n_pos, a.n_neg, a.n_boot, a.seed) == (int(y.sum()), int((~y).sum()), 200, 1)


@pytest.mark.parametrize(
    ("y", "s", "kwargs", "message"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], {}, "0/1 labels"),
        ([0, 1, np.nan], [0.1, 0.2, 0.3], {}, "must not contain NaN"),
        ([0, 0, 0], [0.1, 0.2, 0.3], {}, "needs ≥ 2 of each class"),
        ([0, 1, 0, 1], [0.1, 0.2, np.inf, 0.3], {}, "must be finite"),
        ([0, 1, 0, 1], [0.1, 0.2], {}, "must have shape"),
        ([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], {"n_boot": 10}, "`n_boot` must be ≥ 50"),
    ],
)
def test_bootstrap_input_errors(y: list[float], s: list[float], kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        auc_bootstrap(np.asarray(y), np.asarray(s), **kwargs)
