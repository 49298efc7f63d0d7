"""Always-valid inference for daily peeking: the asymptotic confidence sequence.

Waudby-Smith, Arnold, Wu, Wang, Ramdas (2024), "Time-uniform central limit theory and
asymptotic confidence sequences", Annals of Statistics — the same interval as the
normal-mixture mSPRT of Johari, Koomen, Pekelis, Walsh (2017, 2022) and the one GrowthBook
implements. STATISTICS.md §3 gives the formulas used here.

With ``n`` total units, an estimate ``θ̂`` and its fixed-horizon standard error ``SE``,
``s² = n·SE²`` and a tuning ``N*`` (the expected number of units at the planned decision):

* two-sided: ``ρ² = (−2 ln α + ln(1 − 2 ln α)) / N*`` and
  ``h_n = s·sqrt(2(nρ² + 1)/(n²ρ²) · ln(sqrt(nρ² + 1)/α))``;
* one-sided: ``2α`` in place of ``α`` in ``ρ²``, and ``ln(1 + sqrt(nρ² + 1)/(2α))`` in place
  of ``ln(sqrt(nρ² + 1)/α)``.

The interval ``θ̂ ± h_n`` covers ``θ`` at every ``n`` simultaneously with probability
``≥ 1 − α`` (asymptotically), so the analyst may look every day and stop whenever a bound
crosses a decision boundary. Reports show the running intersection over the looks.
Everything here is vectorized and takes numbers, never frames.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from mlopskit.stats.proportions import _check_alpha, _f

FloatArray = NDArray[np.float64]


def rho_squared(alpha: float, n_star: ArrayLike, *, one_sided: bool = False) -> FloatArray:
    """Mixture tuning ``ρ²`` that makes the boundary tightest at ``n = N*``.

    ``ρ² = (−2 ln a + ln(1 − 2 ln a)) / N*`` with ``a = α`` (two-sided) or ``a = 2α``
    (one-sided), Waudby-Smith et al. (2024) eq. (24) / STATISTICS.md §3.
    """
    _check_alpha(alpha)
    a = 2 * alpha if one_sided else alpha
    if a >= 1:
        raise ValueError(f"`alpha` must be < 0.5 for a one-sided sequence; got {alpha!r}.")
    ns = _f(n_star)
    if np.any(ns <= 0):
        raise ValueError(f"`n_star` must be > 0; got {ns[ns <= 0][:3]}.")
    return (-2 * np.log(a) + np.log(1 - 2 * np.log(a))) / ns


def half_width(
    n: ArrayLike,
    s2: ArrayLike,
    rho2: ArrayLike,
    alpha: float,
    *,
    one_sided: bool = False,
) -> FloatArray:
    """Half-width ``h_n`` of the asymptotic confidence sequence (see module docstring).

    Parameters
    ----------
    n : total units at each look.
    s2 : ``n·SE²`` (the per-unit variance of the estimator) at each look.
    rho2 : the tuning ``ρ²`` (:func:`rho_squared`).
    alpha : error rate (two-sided total, or of the one side when ``one_sided``).
    one_sided : give the one-sided bound's distance from the estimate.
    """
    _check_alpha(alpha)
    n_, s2_, r2 = _f(n), _f(s2), _f(rho2)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(n_ * r2 + 1)
        log_term = np.log1p(root / (2 * alpha)) if one_sided else np.log(root / alpha)
        h = np.sqrt(s2_ * 2 * (n_ * r2 + 1) / (n_**2 * r2) * log_term)
    return np.where(n_ > 0, h, np.nan)


def confidence_sequence(
    effect: ArrayLike,
    se: ArrayLike,
    n: ArrayLike,
    *,
    n_star: ArrayLike,
    alpha: float = 0.05,
    one_sided: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds of the asymptotic confidence sequence at each look.

    Two-sided (default): ``θ̂ ± h_n`` with total error ``α``. ``one_sided=True``: each bound
    is a one-sided sequence at level ``α`` (use it with ``α/2`` per side to keep a
    two-sided total of ``α`` — the form used for non-inferiority and harm decisions).
    Bounds are per look; combine them with :func:`running_intersection`.
    """
    e, se_, n_ = _f(effect), _f(se), _f(n)
    s2 = n_ * se_**2
    h = half_width(
        n_, s2, rho_squared(alpha, n_star, one_sided=one_sided), alpha, one_sided=one_sided
    )
    return e - h, e + h


def running_intersection(
    lower: ArrayLike, upper: ArrayLike, *, axis: int = -1
) -> tuple[FloatArray, FloatArray]:
    """Running intersection of intervals along ``axis`` (NaN looks, e.g. burn-in, skipped).

    ``max_{k ≤ j} L_k`` and ``min_{k ≤ j} U_k``: still a valid confidence sequence, and
    monotone, so a boundary once crossed stays crossed.
    """
    lo = np.fmax.accumulate(_f(lower), axis=axis)
    hi = np.fmin.accumulate(_f(upper), axis=axis)
    return lo, hi


def always_valid_p(
    effect: ArrayLike,
    se: ArrayLike,
    n: ArrayLike,
    *,
    rho2: ArrayLike,
) -> FloatArray:
    """One-sided always-valid p-value for ``H0: θ ≤ 0`` against ``θ > 0`` at each look.

    The smallest ``a`` at which the one-sided sequence's lower bound (with the fixed tuning
    ``ρ²``) exceeds 0: ``p = sqrt(nρ² + 1) / (2·(exp(Q) − 1))`` with
    ``Q = θ̂²n²ρ² / (2s²(nρ² + 1))``, capped at 1 (and 1 when ``θ̂ ≤ 0``). Hence ``p < a`` iff
    the lower bound of :func:`confidence_sequence` (``one_sided=True``, level ``a``, same
    ``ρ²``) is above 0. Take the running minimum over looks; it stays valid (Ville).
    """
    e, se_, n_, r2 = _f(effect), _f(se), _f(n), _f(rho2)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        s2 = n_ * se_**2
        q = e**2 * n_**2 * r2 / (2 * s2 * (n_ * r2 + 1))
        # log(expm1(q)) computed stably for large q
        log_em1 = np.where(q > 30, q, np.log(np.expm1(q)))
        log_p = 0.5 * np.log(n_ * r2 + 1) - np.log(2.0) - log_em1
        p = np.exp(np.minimum(log_p, 0.0))
    p = np.where(e > 0, p, 1.0)
    return np.where(np.isfinite(e) & (se_ > 0), p, np.nan)


def sample_size_for_margin(
    margin: ArrayLike,
    s2: ArrayLike,
    *,
    n_star: ArrayLike,
    alpha: float = 0.025,
    power: float = 0.8,
    true_effect: ArrayLike = 0.0,
) -> FloatArray:
    """Total units ``n`` at which a one-sided sequence shows ``θ < margin`` with ``power``.

    Solves ``margin − true_effect − h_n = z_{power}·s/sqrt(n)`` for ``n`` (``h_n`` the
    one-sided half-width at level ``alpha`` with the tuning of ``n_star``, ``s² = n·SE²``
    per unit) by vectorized bisection on ``log n``. The fixed-horizon analogue is
    ``n = s²(z_{1−α} + z_{power})²/(margin − true_effect)²``. ``inf`` when the gap
    ``margin − true_effect`` is ≤ 0 or ``n`` would exceed 10¹⁵; ``nan`` when ``s²`` is not
    finite.
    """
    gap, s2_, ns = np.broadcast_arrays(_f(margin) - _f(true_effect), _f(s2), _f(n_star))
    rho2 = rho_squared(alpha, np.where(ns > 0, ns, 1.0), one_sided=True)
    z = stats.norm.ppf(power)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sqrt(s2_)

        def slack(n: FloatArray) -> FloatArray:
            h = half_width(n, s2_, rho2, alpha, one_sided=True)
            return gap - h - z * s / np.sqrt(n)

        lo = np.zeros(gap.shape)  # log n
        hi = np.full(gap.shape, np.log(1e15))
        reachable = slack(np.exp(hi)) >= 0
        for _ in range(80):
            mid = (lo + hi) / 2
            good = slack(np.exp(mid)) >= 0
            hi = np.where(good, mid, hi)
            lo = np.where(good, lo, mid)
        out = np.where(reachable, np.exp(hi), np.inf)
    out = np.where(gap > 0, out, np.inf)
    return np.where(np.isfinite(s2_) & (s2_ >= 0), out, np.nan)


def _look_grid(days: float, daily: float) -> FloatArray:
    """Cumulative units at the daily looks of a ``days``-long canary (last look partial)."""
    k = np.arange(1, int(np.ceil(days - 1e-9)) + 1, dtype=float)
    return daily * np.minimum(k, days)


def rule_power(
    gap: float,
    s2: float,
    *,
    days: float,
    daily_units: float,
    n_star: float,
    alpha: float = 0.025,
    min_days: float = 0.0,
    reps: int = 20_000,
    seed: int = 20260613,
) -> float:
    """Power of the decision rule actually applied: daily looks, running intersection.

    The canary is PROMOTEd on a metric once the running minimum of the one-sided upper
    bounds ``U_k = θ̂_k + h_k`` drops below the margin at or after ``min_days``. With a true
    distance ``gap = Δ − δ > 0`` to the margin (harm-oriented scale) and ``s² = n·SE²`` the
    per-unit variance of the estimator, ``θ̂_k − δ`` is a Gaussian random walk observed at
    the cumulative units ``n_k`` of each day (``daily_units`` per day, last look partial),
    so the crossing probability is a property of ``(gap/s, n_k, N*)`` alone. It has no closed
    form (a boundary-crossing probability of a random walk over up to ``days`` looks);
    it is computed by a seeded simulation of ``reps`` Gaussian paths — no data — with
    common random numbers, so the result is deterministic and monotone in ``gap`` (Monte
    Carlo SE ≤ 0.0036 at 20,000 paths). Competing ROLLBACK (probability ≤ α when the canary
    is not harmful) and the burn-in are ignored. The single-look approximation
    ``Φ((gap − h_N)/SE_N)`` is its lower bound (the final look alone).
    """
    _check_alpha(alpha)
    if not (np.isfinite(s2) and s2 > 0):
        return float("nan")
    if not (days > 0 and daily_units > 0):
        raise ValueError(f"`days` and `daily_units` must be > 0; got {days!r}, {daily_units!r}.")
    n = _look_grid(days, daily_units)
    rho2 = rho_squared(alpha, n_star, one_sided=True)
    h = half_width(n, s2 * np.ones_like(n), rho2, alpha, one_sided=True)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((reps, n.size))
    walk = np.cumsum(z * np.sqrt(np.diff(n, prepend=0.0)), axis=1)
    est = np.sqrt(s2) * walk / n  # θ̂_k − δ
    upper = np.minimum.accumulate(est + h, axis=1)
    usable = n >= daily_units * min(min_days, days)  # PROMOTE allowed from min_days
    crossed = (upper < gap) & usable
    return float(np.mean(crossed.any(axis=1)))


def rule_power_by_day(
    gap: float,
    s2: float,
    *,
    days: float,
    daily_units: float,
    n_star: float,
    alpha: float = 0.025,
    reps: int = 20_000,
    seed: int = 20260613,
    chunk: int = 2_000,
) -> FloatArray:
    """:func:`rule_power` of canaries lasting 1, 2, …, ``ceil(days)`` whole days, from one
    replay of ``reps`` Gaussian paths (the power curve at the cost of one point).

    For a whole-day canary of ``D`` days the rule PROMOTEs iff the running minimum of the
    upper bounds at look ``D`` is below ``gap``: a crossing at a usable look persists in the
    running minimum, and when ``D`` < ``min_days`` only the last look is usable — so
    ``min_days`` does not enter whole-day powers and every ``D`` is read off the same paths.
    The paths are drawn as :func:`rule_power` draws them (same ``seed``, rows of
    ``ceil(days)`` looks, in chunks of ``chunk`` rows), so the last value equals
    ``rule_power(days=ceil(days))`` exactly; shorter canaries use the first looks of the same
    paths (Monte Carlo SE ``sqrt(π(1 − π)/reps)`` each, common random numbers)."""
    _check_alpha(alpha)
    d_max = int(np.ceil(days - 1e-9))
    if not (d_max >= 1 and daily_units > 0):
        raise ValueError(f"`days` and `daily_units` must be > 0; got {days!r}, {daily_units!r}.")
    if not (np.isfinite(s2) and s2 > 0):
        return np.full(d_max, np.nan)
    n = _look_grid(float(d_max), daily_units)
    rho2 = rho_squared(alpha, n_star, one_sided=True)
    h = half_width(n, s2 * np.ones_like(n), rho2, alpha, one_sided=True)
    step = np.sqrt(np.diff(n, prepend=0.0))
    rng = np.random.default_rng(seed)
    hits = np.zeros(d_max)
    done = 0
    while done < reps:
        m = min(chunk, reps - done)
        walk = np.cumsum(rng.standard_normal((m, d_max)) * step, axis=1)
        upper = np.minimum.accumulate(np.sqrt(s2) * walk / n + h, axis=1)
        hits += np.count_nonzero(upper < gap, axis=0)
        done += m
    return np.asarray(hits / reps, dtype=float)


def rule_days_for_power(
    gap: float,
    s2: float,
    *,
    daily_units: float,
    planned_days: float,
    power: float = 0.8,
    alpha: float = 0.025,
    min_days: float = 0.0,
    max_days: float = 3650.0,
    reps: int = 20_000,
    seed: int = 20260613,
) -> float:
    """Days of traffic at which :func:`rule_power` reaches ``power`` (bisection; ``inf`` when
    not reached within ``max_days``). ``N* = planned_days × daily_units``."""
    if not 0 < power < 1:
        raise ValueError(f"`power` must be in (0, 1); got {power!r}.")
    if not gap > 0:
        return float("inf")
    n_star = planned_days * daily_units

    def pw(d: float) -> float:
        return rule_power(
            gap, s2, days=d, daily_units=daily_units, n_star=n_star, alpha=alpha,
            min_days=min_days, reps=reps, seed=seed,
        )  # fmt: skip

    lo, hi = max(min_days, 1.0), max(min_days, 1.0)
    if pw(lo) >= power:
        return lo
    while pw(hi) < power:
        lo, hi = hi, hi * 2
        if hi > max_days:
            return float("inf")
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if pw(mid) >= power else (mid, hi)
        if hi - lo < 0.01:
            break
    return hi


def rule_margin_for_power(
    s2: float,
    *,
    days: float,
    daily_units: float,
    n_star: float,
    power: float = 0.8,
    alpha: float = 0.025,
    min_days: float = 0.0,
    reps: int = 20_000,
    seed: int = 20260613,
) -> float:
    """Smallest ``gap = Δ − δ`` that :func:`rule_power` passes with ``power`` (the MDE of the
    rule actually applied, on the analysis scale)."""
    if not 0 < power < 1:
        raise ValueError(f"`power` must be in (0, 1); got {power!r}.")
    if not (np.isfinite(s2) and s2 > 0):
        return float("nan")
    n = days * daily_units
    se = np.sqrt(s2 / n)
    lo, hi = 0.0, 20 * se
    for _ in range(50):
        mid = (lo + hi) / 2
        p = rule_power(
            mid, s2, days=days, daily_units=daily_units, n_star=n_star, alpha=alpha,
            min_days=min_days, reps=reps, seed=seed,
        )  # fmt: skip
        lo, hi = (lo, mid) if p >= power else (mid, hi)
    return hi


# --------------------------------------------------------------------------------------
# The rule's power for a proportion, with binomial counts and plug-in standard errors
# --------------------------------------------------------------------------------------
class ProportionRulePaths:
    """Seeded binomial canary paths of a 0/1 metric, for the power of the rule applied.

    :func:`rule_power` treats ``θ̂`` as Gaussian with a known variance. ``canary_test``
    estimates the SE from the counts (Wald ``p̂(1 − p̂)/n`` per arm; on the log scale
    ``(1 − p̂)/(n·p̂)`` for relative metrics), waits for ``min_events`` events per arm, and
    at 1–2% canaries of rare events decides on a few hundred canary events — where the
    plug-in SE moves with ``p̂`` and ``ln p̂`` is biased (measured: the Gaussian plan's
    achieved power 0.808–0.819 for relative margins where 0.80 was planned). Here each
    replicate draws, per day, canary units ``Binomial(daily, κ)`` and events ``Binomial(units,
    p)`` per arm, and the rule is replayed exactly as :mod:`mlopskit.canary` applies it:
    daily looks, one-sided sequences at ``alpha`` tuned for ``n_star``, running intersection,
    burn-in, PROMOTE from ``min_days`` unless a ROLLBACK (lower bound above 0 with the upper
    bound not below the margin) came first. A look part-way into a day thins that day's
    units with the day fraction (each unit kept independently), so any ``days`` reuses the
    same draws (common random numbers: power is monotone in the margin and nearly so in
    ``days``). Deterministic for a given ``seed``; Monte Carlo SE ``sqrt(π(1 − π)/reps)``.

    Parameters
    ----------
    p_control, p_canary : true event rates.  canary_share : κ.  daily_units : total units/day.
    horizon : days drawn (looks up to this many days can be evaluated).
    reps : replicates.  seed : the generator's seed.
    """

    def __init__(
        self,
        p_control: float,
        p_canary: float,
        *,
        canary_share: float,
        daily_units: float,
        horizon: float,
        reps: int = 10_000,
        seed: int = 20261130,
    ) -> None:
        for name, v in (("p_control", p_control), ("p_canary", p_canary)):
            if not 0 < v < 1:
                raise ValueError(f"`{name}` must be in (0, 1); got {v!r}.")
        if not 0 < canary_share < 1:
            raise ValueError(f"`canary_share` must be in (0, 1); got {canary_share!r}.")
        if not (daily_units >= 1 and horizon > 0):
            raise ValueError(
                f"`daily_units` must be ≥ 1 and `horizon` > 0; got {daily_units!r}, {horizon!r}."
            )
        self.p = (float(p_control), float(p_canary))
        self.daily = float(daily_units)
        self.seed = int(seed)
        days = int(np.ceil(horizon - 1e-9))
        total = round(daily_units)
        nt = np.empty((reps, days), dtype=np.int64)
        xt, xc = np.empty_like(nt), np.empty_like(nt)
        for j in range(days):  # one stream per day: any horizon shares the same first days
            rng = np.random.default_rng([self.seed, 0, j])
            nt[:, j] = rng.binomial(total, canary_share, size=reps)
            xt[:, j] = rng.binomial(nt[:, j], p_canary)
            xc[:, j] = rng.binomial(total - nt[:, j], p_control)
        self.day = {"nt": nt, "nc": total - nt, "xt": xt, "xc": xc}  # per-day counts
        self.cum = {k: np.cumsum(v, axis=1, dtype=float) for k, v in self.day.items()}
        self.horizon = days

    def _looks(self, days: float) -> tuple[dict[str, FloatArray], FloatArray]:
        """Cumulative counts at the daily looks of a ``days``-long canary (last look partial)."""
        m = int(np.ceil(days - 1e-9)) - 1  # full days before the last look
        if m + 1 > self.horizon:
            raise ValueError(f"`days` {days!r} is beyond the drawn horizon {self.horizon}.")
        f = days - m
        rng = np.random.default_rng([self.seed, 1, round(f * 1e6)])
        out: dict[str, FloatArray] = {}
        for arm in ("t", "c"):
            x, n = self.day["x" + arm][:, m], self.day["n" + arm][:, m]
            xp = rng.binomial(x, f)
            np_ = xp + rng.binomial(n - x, f)
            for key, part in (("x" + arm, xp), ("n" + arm, np_)):
                prev = self.cum[key][:, m - 1] if m > 0 else 0.0
                out[key] = np.column_stack([self.cum[key][:, :m], prev + part]).astype(float)
        grid = np.minimum(np.arange(1, m + 2, dtype=float), days)
        return out, grid

    def power_by_day(
        self,
        margin: float,
        *,
        relative: bool,
        n_star: float,
        alpha: float = 0.025,
        min_days: float = 0.0,
        min_events: float = 10.0,
    ) -> FloatArray:
        """Power of canaries lasting 1, 2, …, ``horizon`` whole days, from one replay."""
        hit = self.promote(float(self.horizon), margin, relative=relative, n_star=n_star,
                           alpha=alpha, min_days=min_days, min_events=min_events,
                           by_day=True)  # fmt: skip
        return np.asarray(hit.mean(axis=0), dtype=float)

    def promote(
        self,
        days: float,
        margin: float,
        *,
        relative: bool,
        n_star: float,
        alpha: float = 0.025,
        min_days: float = 0.0,
        min_events: float = 10.0,
        by_day: bool = False,
    ) -> NDArray[np.bool_]:
        """Per replicate: PROMOTE reached (before any ROLLBACK) within ``days``
        (``by_day``: a ``(reps, looks)`` array, PROMOTE reached by each look).

        ``margin`` is Δ on the metric's scale (absolute, or a fraction of control when
        ``relative``: the rule decides on ``ln(1 + Δ)``): Δ > 0 when lower is better, Δ < 0
        when higher is better (the harm side is the sign of Δ, as in ``canary_test``)."""
        _check_alpha(alpha)
        sign = 1.0 if margin > 0 else -1.0
        c, grid = self._looks(days)
        with np.errstate(invalid="ignore", divide="ignore"):
            pt, pc = c["xt"] / c["nt"], c["xc"] / c["nc"]
            if relative:
                est = np.log(pt / pc)
                se = np.sqrt((1 - pt) / (c["nt"] * pt) + (1 - pc) / (c["nc"] * pc))
                mg = float(np.log1p(margin))
            else:
                est = pt - pc
                se = np.sqrt(pt * (1 - pt) / c["nt"] + pc * (1 - pc) / c["nc"])
                mg = float(margin)
            est, mg = sign * est, sign * mg  # harm-oriented scale
            n = c["nt"] + c["nc"]
            rho2 = rho_squared(alpha, n_star, one_sided=True)
            hw = half_width(n, n * se**2, rho2, alpha, one_sided=True)
            ok = (c["xt"] >= min_events) & (c["xc"] >= min_events) & np.isfinite(se) & (se > 0)
            low, up = running_intersection(
                np.where(ok, est - hw, np.nan), np.where(ok, est + hw, np.nan)
            )
            prom = (up < mg) & (grid >= min(min_days, days))
            back = (low > 0) & ~(up < mg)
        first_p = np.where(prom.any(1), prom.argmax(1), grid.size)
        first_b = np.where(back.any(1), back.argmax(1), grid.size)
        if by_day:
            look = np.arange(grid.size)
            return np.asarray((first_p < first_b)[:, None] & (first_p[:, None] <= look))
        return np.asarray(first_p < first_b)


def proportion_rule_power(
    p_control: float,
    p_canary: float,
    margin: float,
    *,
    relative: bool,
    canary_share: float,
    days: ArrayLike,
    daily_units: float,
    n_star: float,
    alpha: float = 0.025,
    min_days: float = 0.0,
    min_events: float = 10.0,
    reps: int = 10_000,
    seed: int = 20261130,
) -> FloatArray:
    """Power of the canary rule for a 0/1 metric at each of ``days`` (binomial counts,
    plug-in SEs; see :class:`ProportionRulePaths`). One draw serves every ``days``."""
    d = np.atleast_1d(np.asarray(days, dtype=float))
    if np.any(~(d > 0)):
        raise ValueError(f"`days` must be > 0; got {d[~(d > 0)][:3]}.")
    paths = ProportionRulePaths(
        p_control, p_canary, canary_share=canary_share, daily_units=daily_units,
        horizon=float(d.max()), reps=reps, seed=seed,
    )  # fmt: skip
    out = [
        float(
            np.mean(
                paths.promote(
                    v,
                    margin,
                    relative=relative,
                    n_star=n_star,
                    alpha=alpha,
                    min_days=min_days,
                    min_events=min_events,
                )
            )
        )
        for v in d
    ]
    return np.asarray(out, dtype=float).reshape(np.shape(days))


def proportion_rule_days_for_power(
    p_control: float,
    p_canary: float,
    margin: float,
    *,
    relative: bool,
    canary_share: float,
    daily_units: float,
    planned_days: float,
    start: float,
    power: float = 0.8,
    alpha: float = 0.025,
    min_days: float = 0.0,
    min_events: float = 10.0,
    max_days: float = 3650.0,
    reps: int = 10_000,
    seed: int = 20261130,
) -> float:
    """Days at which :func:`proportion_rule_power` reaches ``power`` (bisection to 0.05 day on
    common draws; ``inf`` beyond ``max_days``). ``start``: a first guess (the Gaussian plan);
    ``N* = planned_days × daily_units``."""
    if not 0 < power < 1:
        raise ValueError(f"`power` must be in (0, 1); got {power!r}.")
    n_star = planned_days * daily_units
    floor = max(min_days, 1.0)
    lo = max(floor, 0.9 * start) if np.isfinite(start) else floor
    hi = max(lo, 1.1 * start if np.isfinite(start) else 2 * lo)
    while True:
        paths = ProportionRulePaths(
            p_control, p_canary, canary_share=canary_share, daily_units=daily_units,
            horizon=hi, reps=reps, seed=seed,
        )  # fmt: skip

        def pw(d: float, paths: ProportionRulePaths = paths) -> float:
            hit = paths.promote(d, margin, relative=relative, n_star=n_star, alpha=alpha,
                                min_days=min_days, min_events=min_events)  # fmt: skip
            return float(np.mean(hit))

        if pw(lo) >= power:
            if lo <= floor:
                return lo
            lo, hi = floor, lo
            continue
        if pw(hi) >= power:
            break
        lo, hi = hi, 2 * hi
        if hi > max_days:
            return float("inf")
    while hi - lo > 0.05:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if pw(mid) >= power else (mid, hi)
    return hi


def proportion_rule_margin_for_power(
    p_control: float,
    *,
    relative: bool,
    canary_share: float,
    days: float,
    daily_units: float,
    n_star: float,
    power: float = 0.8,
    alpha: float = 0.025,
    min_days: float = 0.0,
    min_events: float = 10.0,
    reps: int = 10_000,
    seed: int = 20261130,
) -> float:
    """Smallest margin Δ (metric scale; a fraction of control when ``relative``) that an
    equal canary passes with ``power`` under :func:`proportion_rule_power` (bisection on the
    same draws, where PROMOTE is monotone in Δ); lower is better (Δ > 0)."""
    if not 0 < power < 1:
        raise ValueError(f"`power` must be in (0, 1); got {power!r}.")
    paths = ProportionRulePaths(
        p_control, p_control, canary_share=canary_share, daily_units=daily_units,
        horizon=days, reps=reps, seed=seed,
    )  # fmt: skip

    def pw(mg: float) -> float:
        hit = paths.promote(days, mg, relative=relative, n_star=n_star, alpha=alpha,
                            min_days=min_days, min_events=min_events)  # fmt: skip
        return float(np.mean(hit))

    lo, hi = 0.0, 10.0 if relative else max(1.0 - p_control, 1e-9)
    if pw(hi) < power:
        return float("inf")
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if pw(mid) >= power else (mid, hi)
    return hi
