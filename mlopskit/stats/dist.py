"""Normal, Student t and chi-square tail functions on :mod:`scipy.special` (issue 15).

``scipy.stats`` costs ~1 CPU second to import (it pulls in ``scipy.optimize``, the
distribution machinery and more); the canary's statistics need only these few functions.
Each is the same ``scipy.special`` call ``scipy.stats`` makes (scipy 1.17,
``scipy/stats/_continuous_distns.py``: ``norm._cdf = ndtr``, ``norm._ppf = ndtri``,
``t._sf(x, df) = stdtr(df, −x)``, ``t._isf(q, df) = −stdtrit(df, q)``,
``chi2._sf(x, df) = chdtrc(df, x)``) with the same values at the edges of the domain, so
the results are bit for bit those of ``scipy.stats.norm.cdf`` & co
(tests/test_stats_dist.py compares them on grids that include the edges).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special


def _out(v: Any) -> Any:
    """A 0-d result as a numpy scalar (as scipy.stats returns it)."""
    v = np.asarray(v, dtype=float)
    return v[()] if v.ndim == 0 else v


def _a(x: Any) -> Any:
    """Inputs as float arrays (a pandas Series in, an array out, as scipy.stats does)."""
    return np.asarray(x, dtype=float)


def norm_cdf(x: Any) -> Any:
    """``scipy.stats.norm.cdf(x)``."""
    return special.ndtr(_a(x))


def norm_sf(x: Any) -> Any:
    """``scipy.stats.norm.sf(x)``."""
    return special.ndtr(-_a(x))


def norm_ppf(q: Any) -> Any:
    """``scipy.stats.norm.ppf(q)``."""
    return special.ndtri(_a(q))


def norm_isf(q: Any) -> Any:
    """``scipy.stats.norm.isf(q)``."""
    return -special.ndtri(_a(q))


def t_sf(x: Any, df: Any) -> Any:
    """``scipy.stats.t.sf(x, df)``."""
    return special.stdtr(_a(df), -_a(x))


def t_isf(q: Any, df: Any) -> Any:
    """``scipy.stats.t.isf(q, df)`` (``+inf`` at ``q = 0``, ``−inf`` at ``q = 1``, ``nan``
    unless ``df > 0``)."""
    q, df = _a(q), _a(df)
    v = np.where(q == 0, np.inf, np.where(q == 1, -np.inf, -special.stdtrit(df, q)))
    return _out(np.where(df > 0, v, np.nan))


def chi2_sf(x: Any, df: Any) -> Any:
    """``scipy.stats.chi2.sf(x, df)`` (1 below 0; ``nan`` unless ``df > 0``; with an
    infinite ``df`` 1 for finite ``x``, 0 at ``+inf``)."""
    x, df = _a(x), _a(df)
    ok = df > 0
    at_inf = np.where(np.isnan(x), np.nan, np.where(np.isposinf(x), 0.0, 1.0))
    inner = np.where(np.isposinf(df), at_inf, special.chdtrc(df, x))
    v = np.where(ok & (x < 0), 1.0, inner)
    return _out(np.where(ok, v, np.nan))
