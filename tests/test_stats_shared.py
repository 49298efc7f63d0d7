"""Shared primitives checked against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from mlopskit.stats.multiple import benjamini_hochberg, holm
from mlopskit.stats.proportions import wilson_ci


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_bh_and_holm_match_statsmodels(ps: list[float]) -> None:
    # reference: statsmodels.stats.multitest.multipletests(p, method="fdr_bh" / "holm")
    np.testing.assert_allclose(
        benjamini_hochberg(ps), multipletests(ps, method="fdr_bh")[1], atol=1e-12
    )
    np.testing.assert_allclose(holm(ps), multipletests(ps, method="holm")[1], atol=1e-12)


def test_nan_p_values_are_left_out() -> None:
    out = benjamini_hochberg([0.01, np.nan, 0.04])
    np.testing.assert_allclose(out, [0.02, np.nan, 0.04])
    with pytest.raises(ValueError, match=r"`p_values` must lie in \[0, 1\]"):
        holm([0.2, 1.5])


@pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (10, 10), (4900, 980000), (110, 20000)])
def test_wilson_matches_statsmodels(x: int, n: int) -> None:
    # reference: proportion_confint(x, n, alpha=0.05, method="wilson")
    lo, hi = wilson_ci(x, n, alpha=0.05)
    ref = proportion_confint(x, n, alpha=0.05, method="wilson")
    np.testing.assert_allclose([lo, hi], ref, rtol=1e-10, atol=1e-14)


def test_wilson_rejects_bad_alpha() -> None:
    with pytest.raises(ValueError, match=r"`alpha` must be a float in \(0, 1\); got 1.5"):
        wilson_ci(1, 10, alpha=1.5)
