"""Agreement between two models scoring the same requests (STATISTICS.md §6).

Pure math on numpy arrays and sufficient statistics (2×2 decision counts, histogram counts):

* the 2×2 decision table at a threshold: Cohen's κ with its standard errors, positive
  agreement, Jaccard of the flagged sets, the two conditional overlaps, exact McNemar;
* rank agreement on row-level pairs: Spearman's ρ with a Fisher-z interval, Kendall's τ_b,
  top-k overlap against its random baseline ``k²/n``;
* distribution comparison: the two-sample Kolmogorov–Smirnov statistic from raw values or
  from counts on a shared fine grid (with the grid's bound on the error); PSI is
  :mod:`mlopskit.stats.psi`, on groups of grid bins from :func:`quantile_bins`;
* ``ScoreGrid``: the fixed logit-spaced grid on [0, 1] on which scores are histogrammed
  lazily, and quantiles read off those histograms.

Convention for the 2×2 table (rows: champion, columns: challenger)::

                     challenger flags   challenger does not
    champion flags        both (a)        champion_only (b)
    champion does not  challenger_only (c)   neither (d)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from mlopskit.stats.proportions import _check_alpha

__all__ = [
    "DecisionAgreement",
    "KSResult",
    "Kappa",
    "McNemar",
    "RankCorrelation",
    "ScoreGrid",
    "TopKOverlap",
    "cohens_kappa",
    "decision_agreement",
    "histogram_quantile",
    "kendall_tau_b",
    "ks_2samp",
    "ks_from_counts",
    "mcnemar_exact",
    "paired_rate_ratio",
    "quantile_bins",
    "spearman",
    "top_k_overlap",
]


def _counts(*values: float) -> tuple[int, ...]:
    out = []
    for v in values:
        if not np.isfinite(v) or v < 0 or float(v) != int(v):
            raise ValueError(f"2×2 cell counts must be non-negative integers; got {values}.")
        out.append(int(v))
    return tuple(out)


# --------------------------------------------------------------------------------------
# Cohen's kappa
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Kappa:
    """Cohen's (unweighted) κ with its large-sample standard errors.

    Attributes
    ----------
    kappa : ``(p_o − p_e) / (1 − p_e)``.
    se : standard error under the alternative (Fleiss, Cohen & Everitt 1969), used for the
        confidence interval; ``std_kappa`` of statsmodels.
    se_null : standard error under κ = 0, used for the z test; ``std_kappa0`` of statsmodels.
    ci_low, ci_high : Wald interval ``κ ± z_{1−α/2}·se``.
    p_value : two-sided p-value of κ = 0 from ``κ / se_null``.
    observed_agreement, expected_agreement : ``p_o`` and ``p_e``.
    n : number of rated items.
    """

    kappa: float
    se: float
    se_null: float
    ci_low: float
    ci_high: float
    p_value: float
    observed_agreement: float
    expected_agreement: float
    n: int


def cohens_kappa(table: ArrayLike, *, alpha: float = 0.05) -> Kappa:
    """Cohen's κ of a square agreement table (rows: rater 1, columns: rater 2).

    Matches ``statsmodels.stats.inter_rater.cohens_kappa(table)`` (``kappa``,
    ``std_kappa``, ``std_kappa0``). When ``p_e = 1`` (both raters put every item in one
    category) κ is undefined and every field but ``n`` is NaN.
    """
    _check_alpha(alpha)
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] < 2:
        raise ValueError(f"`table` must be a square k×k table with k ≥ 2; got shape {t.shape}.")
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("`table` must hold non-negative finite counts.")
    n = float(t.sum())
    nan = float("nan")
    if n == 0:
        return Kappa(nan, nan, nan, nan, nan, nan, nan, nan, 0)
    p = t / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    p_o = float(np.trace(p))
    p_e = float(rows @ cols)
    if np.isclose(p_e, 1.0, rtol=0, atol=1e-15):
        return Kappa(nan, nan, nan, nan, nan, nan, p_o, p_e, int(n))
    kappa = (p_o - p_e) / (1 - p_e)
    # Fleiss, Cohen & Everitt (1969), eq. for Var(κ̂) under the alternative
    diag = np.diag(p)
    term_a = float(np.sum(diag * (1 - (rows + cols) * (1 - kappa)) ** 2))
    off = p * (cols[:, None] + rows[None, :]) ** 2
    np.fill_diagonal(off, 0.0)
    term_b = (1 - kappa) ** 2 * float(off.sum())
    term_c = (kappa - p_e * (1 - kappa)) ** 2
    var = (term_a + term_b - term_c) / ((1 - p_e) ** 2 * n)
    var0 = (p_e + p_e**2 - float(np.sum(rows * cols * (rows + cols)))) / ((1 - p_e) ** 2 * n)
    se = float(np.sqrt(max(var, 0.0)))
    se0 = float(np.sqrt(max(var0, 0.0)))
    z = stats.norm.isf(alpha / 2)
    p_value = float(2 * stats.norm.sf(abs(kappa) / se0)) if se0 > 0 else nan
    return Kappa(kappa, se, se0, kappa - z * se, kappa + z * se, p_value, p_o, p_e, int(n))


# --------------------------------------------------------------------------------------
# McNemar (exact)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class McNemar:
    """Exact McNemar test of equal flag rates from the two discordant cells.

    Attributes
    ----------
    statistic : ``min(b, c)`` (statsmodels' convention for the exact test).
    p_value : ``min(1, 2·P(Bin(b + c, ½) ≤ min(b, c)))``; 1 when ``b + c = 0``.
    champion_only, challenger_only : the discordant counts ``b`` and ``c``.
    """

    statistic: int
    p_value: float
    champion_only: int
    challenger_only: int


def mcnemar_exact(champion_only: int, challenger_only: int) -> McNemar:
    """Exact (binomial) McNemar test on the discordant cells ``b`` and ``c``.

    It tests equal marginal flag rates, **not** agreement: two models that flag disjoint
    sets of the same size have p = 1. Matches
    ``statsmodels.stats.contingency_tables.mcnemar([[a, b], [c, d]], exact=True)``.
    """
    b, c = _counts(champion_only, challenger_only)
    k = min(b, c)
    p = 1.0 if b + c == 0 else float(min(1.0, 2 * stats.binom.cdf(k, b + c, 0.5)))
    return McNemar(k, p, b, c)


# --------------------------------------------------------------------------------------
# The 2×2 decision table
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DecisionAgreement:
    """Agreement of two models' flag decisions on the same requests.

    Attributes
    ----------
    both, champion_only, challenger_only, neither : the 2×2 counts ``a, b, c, d``.
    n : ``a + b + c + d``.
    flag_rate_champion, flag_rate_challenger : ``(a + b)/n`` and ``(a + c)/n``.
    agreement : overall agreement ``(a + d)/n`` (dominated by the "neither" cell).
    kappa : Cohen's κ with standard errors and interval.
    positive_agreement : ``2a/(2a + b + c)`` (Dice of the flagged sets).
    jaccard : ``a/(a + b + c)``, overlap of the flagged sets.
    champion_flags_in_challenger : ``a/(a + c)``: of the requests the challenger flags, the
        share the champion also flags.
    challenger_flags_in_champion : ``a/(a + b)``: of the requests the champion flags, the
        share the challenger also flags.
    mcnemar : exact McNemar on ``b`` and ``c`` (equal flag rates).
    """

    both: int
    champion_only: int
    challenger_only: int
    neither: int
    n: int
    flag_rate_champion: float
    flag_rate_challenger: float
    agreement: float
    kappa: Kappa
    positive_agreement: float
    jaccard: float
    champion_flags_in_challenger: float
    challenger_flags_in_champion: float
    mcnemar: McNemar


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def decision_agreement(
    both: int, champion_only: int, challenger_only: int, neither: int, *, alpha: float = 0.05
) -> DecisionAgreement:
    """Every agreement statistic of a 2×2 decision table (see the module docstring)."""
    a, b, c, d = _counts(both, champion_only, challenger_only, neither)
    n = a + b + c + d
    return DecisionAgreement(
        both=a,
        champion_only=b,
        challenger_only=c,
        neither=d,
        n=n,
        flag_rate_champion=_ratio(a + b, n),
        flag_rate_challenger=_ratio(a + c, n),
        agreement=_ratio(a + d, n),
        kappa=cohens_kappa([[a, b], [c, d]], alpha=alpha),
        positive_agreement=_ratio(2 * a, 2 * a + b + c),
        jaccard=_ratio(a, a + b + c),
        champion_flags_in_challenger=_ratio(a, a + c),
        challenger_flags_in_champion=_ratio(a, a + b),
        mcnemar=mcnemar_exact(b, c),
    )


def paired_rate_ratio(
    both: int, champion_only: int, challenger_only: int, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Challenger/champion flag-rate ratio ``R = (a + c)/(a + b)`` on the same requests, with
    a log-scale Wald interval.

    Delta method for two proportions from one multinomial 2×2 table:
    ``Var(ln R̂) ≈ (b + c)/((a + b)(a + c))`` (the concordant cells cancel, so the interval
    is much narrower than for independent samples). Returns ``(ratio, ci_low, ci_high)``;
    NaN when either model flags nothing.
    """
    _check_alpha(alpha)
    a, b, c = _counts(both, champion_only, challenger_only)
    if a + b == 0 or a + c == 0:
        nan = float("nan")
        return nan, nan, nan
    ratio = (a + c) / (a + b)
    half = float(stats.norm.isf(alpha / 2) * np.sqrt((b + c) / ((a + b) * (a + c))))
    return ratio, ratio * float(np.exp(-half)), ratio * float(np.exp(half))


# --------------------------------------------------------------------------------------
# Rank agreement (row-level pairs)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RankCorrelation:
    """A rank correlation with its test and (for Spearman) a confidence interval.

    Attributes
    ----------
    method : ``"spearman"`` or ``"kendall_tau_b"``.
    estimate : ρ or τ_b.
    p_value : two-sided p-value of no association (scipy's).
    ci_low, ci_high : Spearman: Fisher-z interval (see :func:`spearman`); Kendall: NaN.
    se_method : the standard error formula used for the interval.
    n : number of pairs.
    """

    method: str
    estimate: float
    p_value: float
    ci_low: float
    ci_high: float
    se_method: str
    n: int


def _pairs(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 1 or xa.shape != ya.shape:
        raise ValueError(
            f"`x` and `y` must be one-dimensional of equal length; got {xa.shape} and {ya.shape}."
        )
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValueError("`x` and `y` must be finite (drop missing pairs first).")
    return xa, ya


SPEARMAN_SE = "Bonett–Wright (2000): se(atanh ρ) = sqrt((1 + ρ²/2)/(n − 3))"


def spearman(x: ArrayLike, y: ArrayLike, *, alpha: float = 0.05) -> RankCorrelation:
    """Spearman's ρ (Pearson correlation of mid-ranks) with a Fisher-z interval.

    The interval is ``tanh(atanh ρ ± z_{1−α/2}·se)`` with the Bonett & Wright (2000)
    standard error ``se = sqrt((1 + ρ²/2)/(n − 3))``, which keeps nominal coverage for the
    high correlations typical of a champion and its challenger (the classical
    Fieller–Hartley–Pearson ``sqrt(1.06/(n − 3))`` under-covers there). The estimate and
    p-value (t with n − 2 df) match ``scipy.stats.spearmanr``.
    """
    _check_alpha(alpha)
    xa, ya = _pairs(x, y)
    n = xa.size
    nan = float("nan")
    if n < 4:
        return RankCorrelation("spearman", nan, nan, nan, nan, SPEARMAN_SE, n)
    rx, ry = stats.rankdata(xa), stats.rankdata(ya)
    rx -= rx.mean()
    ry -= ry.mean()
    den = float(np.sqrt(np.sum(rx * rx) * np.sum(ry * ry)))
    if den == 0:
        return RankCorrelation("spearman", nan, nan, nan, nan, SPEARMAN_SE, n)
    rho = float(np.clip(np.sum(rx * ry) / den, -1.0, 1.0))
    df = n - 2
    with np.errstate(divide="ignore"):
        t = rho * np.sqrt(df / ((1.0 - rho) * (1.0 + rho)))
    p = float(2 * stats.t.sf(abs(t), df))
    if abs(rho) == 1.0:
        lo = hi = rho
    else:
        z = stats.norm.isf(alpha / 2)
        se = np.sqrt((1 + rho**2 / 2) / (n - 3))
        lo, hi = float(np.tanh(np.arctanh(rho) - z * se)), float(np.tanh(np.arctanh(rho) + z * se))
    return RankCorrelation("spearman", rho, p, lo, hi, SPEARMAN_SE, n)


def kendall_tau_b(x: ArrayLike, y: ArrayLike) -> RankCorrelation:
    """Kendall's τ_b (ties in both variables corrected) and its two-sided p-value.

    Computed by ``scipy.stats.kendalltau(x, y, variant="b")`` (Knight's O(n log n)
    algorithm); the tests check it against the O(n²) definition.
    """
    xa, ya = _pairs(x, y)
    nan = float("nan")
    if xa.size < 2:
        return RankCorrelation("kendall_tau_b", nan, nan, nan, nan, "", xa.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        res = stats.kendalltau(xa, ya, variant="b")
    return RankCorrelation(
        "kendall_tau_b", float(res.statistic), float(res.pvalue), nan, nan, "", xa.size
    )


@dataclass(frozen=True, slots=True)
class TopKOverlap:
    """Overlap of the two models' top-k sets against random ordering.

    Attributes
    ----------
    k, n : queue size and number of scored pairs.
    overlap : ``|top_k(champion) ∩ top_k(challenger)|``.
    expected_random : ``k²/n``, the expected overlap of two independent random orderings.
    share : ``overlap / k``.
    lift : ``overlap / (k²/n)``.
    p_value : ``P(X ≥ overlap)`` for ``X ~ Hypergeometric(n, k, k)`` (random baseline).
    """

    k: int
    n: int
    overlap: int
    expected_random: float
    share: float
    lift: float
    p_value: float


def top_k_overlap(x: ArrayLike, y: ArrayLike, k: int) -> TopKOverlap:
    """Top-k overlap of two score vectors over the same items.

    Ties at the k-th score are broken by position (a stable descending sort), so the top-k
    set always has exactly ``k`` members.
    """
    xa, ya = _pairs(x, y)
    n = xa.size
    if not (isinstance(k, int | np.integer) and 1 <= k <= n):
        raise ValueError(f"`k` must be an integer in [1, n={n}]; got {k!r}.")
    k = int(k)
    top_x = np.argsort(-xa, kind="stable")[:k]
    top_y = np.argsort(-ya, kind="stable")[:k]
    overlap = int(np.intersect1d(top_x, top_y, assume_unique=True).size)
    expected = k * k / n
    p = float(stats.hypergeom.sf(overlap - 1, n, k, k))
    return TopKOverlap(k, n, overlap, expected, overlap / k, overlap / expected, p)


# --------------------------------------------------------------------------------------
# Kolmogorov–Smirnov, raw or binned
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KSResult:
    """Two-sample Kolmogorov–Smirnov statistic.

    Attributes
    ----------
    d : ``max |F_a − F_b|``; from counts, evaluated at the bin edges (a lower bound of the
        raw-data statistic).
    d_upper : an upper bound of the raw-data statistic (``= d`` for raw data); within one
        bin both CDFs are monotone, so ``D ≤ max_j max(F_a(e_{j+1}) − F_b(e_j),
        F_b(e_{j+1}) − F_a(e_j))``.
    p_value : asymptotic two-sided p-value ``kstwo.sf(d, round(n_a n_b/(n_a + n_b)))``
        (scipy's ``method="asymp"``). At 10⁶ rows a D of 0.002 is "significant": decide on
        ``d``, not on the p-value.
    critical : the D that is significant at level α (``kstwo.isf(α, n_eff)``).
    n_a, n_b : sample sizes.
    """

    d: float
    d_upper: float
    p_value: float
    critical: float
    n_a: int
    n_b: int


def _ks_p(d: float, n_a: int, n_b: int, alpha: float) -> tuple[float, float]:
    m, n = sorted([float(n_a), float(n_b)], reverse=True)
    en = float(np.round(m * n / (m + n)))
    return float(np.clip(stats.kstwo.sf(d, en), 0, 1)), float(stats.kstwo.isf(alpha, en))


def ks_2samp(a: ArrayLike, b: ArrayLike, *, alpha: float = 0.05) -> KSResult:
    """Two-sample KS statistic of raw samples; ``d`` and the p-value match
    ``scipy.stats.ks_2samp(a, b, method="asymp")``."""
    _check_alpha(alpha)
    xa = np.sort(np.asarray(a, dtype=float))
    xb = np.sort(np.asarray(b, dtype=float))
    if xa.size == 0 or xb.size == 0:
        raise ValueError("`a` and `b` must both be non-empty.")
    both = np.concatenate([xa, xb])
    fa = np.searchsorted(xa, both, side="right") / xa.size
    fb = np.searchsorted(xb, both, side="right") / xb.size
    d = float(np.max(np.abs(fa - fb)))
    p, crit = _ks_p(d, xa.size, xb.size, alpha)
    return KSResult(d, d, p, crit, int(xa.size), int(xb.size))


def ks_from_counts(counts_a: ArrayLike, counts_b: ArrayLike, *, alpha: float = 0.05) -> KSResult:
    """Two-sample KS from histogram counts of both samples on the same bins."""
    _check_alpha(alpha)
    ca = np.asarray(counts_a, dtype=float)
    cb = np.asarray(counts_b, dtype=float)
    if ca.ndim != 1 or ca.shape != cb.shape:
        raise ValueError(
            f"`counts_a` and `counts_b` must be 1-D over the same bins; got {ca.shape}, {cb.shape}."
        )
    if np.any(ca < 0) or np.any(cb < 0):
        raise ValueError("histogram counts must be non-negative.")
    n_a, n_b = float(ca.sum()), float(cb.sum())
    if n_a == 0 or n_b == 0:
        raise ValueError("both histograms must hold at least one observation.")
    fa = np.concatenate([[0.0], np.cumsum(ca) / n_a])
    fb = np.concatenate([[0.0], np.cumsum(cb) / n_b])
    d = float(np.max(np.abs(fa - fb)))
    upper = float(max(np.max(fa[1:] - fb[:-1]), np.max(fb[1:] - fa[:-1]), d))
    p, crit = _ks_p(d, int(n_a), int(n_b), alpha)
    return KSResult(d, upper, p, crit, int(n_a), int(n_b))


# --------------------------------------------------------------------------------------
# The score grid
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ScoreGrid:
    """A fixed grid on [0, 1], uniform in logit, on which scores are histogrammed.

    Bin ``j`` (``0 ≤ j < n_bins``) holds scores with
    ``floor(n_bins·(logit(s) + span)/(2·span)) = j``, clipped to ``[0, n_bins − 1]``: the
    inner edges are ``expit(−span + 2·span·j/n_bins)``, the first bin reaches down to 0 and
    the last up to 1. With the defaults (4000 bins, span 16) a bin is 0.008 wide in logit, so
    a score read off the grid is within 0.8% in odds of the exact one, for fraud scores of
    10⁻⁶ as for 0.5; ``span = 16`` is a power of two so ``s = 0.5`` falls exactly on edge
    ``n_bins/2``. Scores below ``expit(−16) ≈ 1.1·10⁻⁷`` share the first bin.
    """

    n_bins: int = 4000
    span: float = 16.0

    def __post_init__(self) -> None:
        if not (isinstance(self.n_bins, int) and self.n_bins >= 10 and self.n_bins % 2 == 0):
            raise ValueError(f"`n_bins` must be an even integer ≥ 10; got {self.n_bins!r}.")
        if not (self.span > 0):
            raise ValueError(f"`span` must be positive; got {self.span!r}.")

    @property
    def clip(self) -> float:
        """Scores are clipped to ``[clip, 1 − clip]`` before the logit (below the first edge)."""
        return 1e-12

    def edges(self) -> NDArray[np.float64]:
        """The ``n_bins + 1`` edges, ``edges[0] = 0`` and ``edges[-1] = 1``."""
        z = -self.span + 2 * self.span * np.arange(self.n_bins + 1) / self.n_bins
        e = 1.0 / (1.0 + np.exp(-z))
        e[0], e[-1] = 0.0, 1.0
        return e

    def index(self, scores: ArrayLike) -> NDArray[np.int64]:
        """Bin index of each score (numpy mirror of the lazy expression in ``frames``)."""
        s = np.clip(np.asarray(scores, dtype=float), self.clip, 1 - self.clip)
        pos = self.n_bins / (2 * self.span) * (np.log(s) - np.log(1 - s)) + self.n_bins / 2
        return np.clip(np.floor(pos), 0, self.n_bins - 1).astype(np.int64)

    def edge_index(self, threshold: float) -> int:
        """Smallest edge index whose edge is ≥ ``threshold`` (the grid's version of it)."""
        return int(np.searchsorted(self.edges(), threshold, side="left"))

    def quantile(self, counts: ArrayLike, q: float) -> float:
        """The ``q``-quantile read off grid counts (see :func:`histogram_quantile`)."""
        return histogram_quantile(counts, self.edges(), q)


def histogram_quantile(counts: ArrayLike, edges: ArrayLike, q: float) -> float:
    """The ``q``-quantile read off histogram counts: the upper edge of the bin in which the
    cumulative share first reaches ``q``. The exact sample quantile lies in that bin, so the
    error is at most one bin width (NaN for an empty histogram)."""
    c = np.asarray(counts, dtype=float)
    e = np.asarray(edges, dtype=float)
    if e.size != c.size + 1:
        raise ValueError(f"`edges` must have len(counts) + 1 = {c.size + 1} values; got {e.size}.")
    if not 0 < q <= 1:
        raise ValueError(f"`q` must be in (0, 1]; got {q!r}.")
    total = c.sum()
    if total == 0:
        return float("nan")
    j = int(np.searchsorted(np.cumsum(c) / total, q, side="left"))
    return float(e[min(j, c.size - 1) + 1])


def quantile_bins(reference_counts: ArrayLike, n_bins: int = 10) -> NDArray[np.int64]:
    """Group fine grid bins into ≤ ``n_bins`` quantile bins of the reference counts.

    Returns the start index (into the fine grid) of each group, for ``np.add.reduceat``.
    Group ``i`` starts right after the first fine bin whose cumulative reference share
    reaches ``i/n_bins`` (so each quantile edge is rounded up to the grid); duplicate starts
    (point masses, grid resolution) are dropped, as STATISTICS.md §1 prescribes for tied
    quantile edges.
    """
    c = np.asarray(reference_counts, dtype=float)
    if c.sum() == 0:
        raise ValueError("reference counts are all zero.")
    cum = np.cumsum(c) / c.sum()
    starts = [0]
    for i in range(1, n_bins):
        j = int(np.searchsorted(cum, i / n_bins, side="left")) + 1
        if j < c.size:
            starts.append(j)
    return np.unique(np.asarray(starts, dtype=np.int64))
