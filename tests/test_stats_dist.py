"""mlopskit.stats.dist = scipy.stats, bit for bit (the canary path imports scipy.special only)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mlopskit.stats import dist

X = np.concatenate(
    [
        np.linspace(-40.0, 40.0, 8001),
        np.geomspace(1e-300, 1e300, 601),
        -np.geomspace(1e-300, 1e300, 601),
        [np.inf, -np.inf, np.nan, 0.0, -0.0],
    ]
)
Q = np.concatenate(
    [
        np.linspace(0.0, 1.0, 8001),
        np.geomspace(5e-324, 1.0, 601),
        1.0 - np.geomspace(1e-17, 0.5, 301),
        [np.nan, -0.1, 1.1, -np.inf, np.inf, 0.0, 1.0],
    ]
)
DFS = [0.3, 1.0, 2.5, 7.0, 30.3, 1e3, 1e8, np.inf, 0.0, -1.0, np.nan]


def _same(a: object, b: object) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    # bit for bit, except the sign of a zero (scipy adds loc = 0.0: −0.0 + 0.0 = 0.0)
    assert np.array_equal(np.where(a == 0, 0.0, a), np.where(b == 0, 0.0, b), equal_nan=True)


def test_normal_functions_are_scipy_stats_bit_for_bit() -> None:
    _same(dist.norm_cdf(X), stats.norm.cdf(X))
    _same(dist.norm_sf(X), stats.norm.sf(X))
    _same(dist.norm_ppf(Q), stats.norm.ppf(Q))
    _same(dist.norm_isf(Q), stats.norm.isf(Q))


@pytest.mark.parametrize("df", DFS)
def test_t_and_chi2_functions_are_scipy_stats_bit_for_bit(df: float) -> None:
    _same(dist.t_sf(X, df), stats.t.sf(X, df))
    _same(dist.t_isf(Q, df), stats.t.isf(Q, df))
    _same(dist.chi2_sf(X, df), stats.chi2.sf(X, df))
    # arrays of df as the callers pass them (one per metric)
    dfs = np.full(X.shape, df)
    _same(dist.t_sf(X, dfs), stats.t.sf(X, dfs))


def test_scalars_come_back_as_numpy_floats() -> None:
    for got, ref in [
        (dist.norm_isf(0.025), stats.norm.isf(0.025)),
        (dist.norm_sf(1.3), stats.norm.sf(1.3)),
        (dist.norm_cdf(1.3), stats.norm.cdf(1.3)),
        (dist.norm_ppf(0.8), stats.norm.ppf(0.8)),
        (dist.t_sf(1.3, 7.0), stats.t.sf(1.3, 7.0)),
        (dist.t_isf(0.025, 7.0), stats.t.isf(0.025, 7.0)),
        (dist.chi2_sf(3.0, 1), stats.chi2.sf(3.0, 1)),
    ]:
        assert type(got) is type(ref) and got == ref


def test_a_pandas_series_comes_back_as_an_array_like_scipy() -> None:
    import pandas as pd

    s = pd.Series([0.1, 1.3, -2.0], index=[5, 6, 7])
    for got, ref in [
        (dist.norm_cdf(s), stats.norm.cdf(s)),
        (dist.norm_sf(s), stats.norm.sf(s)),
        (dist.t_sf(s, pd.Series([3.0, 4.0, 5.0])), stats.t.sf(s, pd.Series([3.0, 4.0, 5.0]))),
        (dist.norm_isf(s.abs() / 10), stats.norm.isf(s.abs() / 10)),
    ]:
        assert type(got) is type(ref) is np.ndarray
        _same(got, ref)
