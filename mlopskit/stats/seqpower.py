"""The power of the canary's decision rule at many sizes at once, and for proportions.

:func:`mlopskit.stats.sequential.rule_power` replays the rule on seeded Gaussian paths for
one canary length. Here: :func:`rule_power_by_day`, the whole power curve from one replay
(``CanaryPlan.power_at`` for a curve, ``plan.plot()``), and :class:`ProportionRulePaths` /
:func:`proportion_rule_power`, the rule replayed on binomial counts with plug-in SEs, as
``canary_test`` applies it to a 0/1 metric. Numbers in, numbers out; no frames.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mlopskit.stats.proportions import _check_alpha
from mlopskit.stats.sequential import (
    _rule_looks,
    _running_upper,
    half_width,
    rho_squared,
    running_intersection,
)

FloatArray = NDArray[np.float64]


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
    """:func:`~mlopskit.stats.sequential.rule_power` of canaries lasting 1, 2, …, ``ceil(days)`` whole days, from one
    replay of ``reps`` Gaussian paths (the power curve at the cost of one point).

    For a whole-day canary of ``D`` days the rule PROMOTEs iff the running minimum of the
    upper bounds at look ``D`` is below ``gap``: a crossing at a usable look persists in the
    running minimum, and when ``D`` < ``min_days`` only the last look is usable — so
    ``min_days`` does not enter whole-day powers and every ``D`` is read off the same paths.
    The paths are drawn as :func:`~mlopskit.stats.sequential.rule_power` draws them (same ``seed``, rows of
    ``ceil(days)`` looks, in chunks of ``chunk`` rows), so the last value equals
    ``rule_power(days=ceil(days))`` exactly; shorter canaries use the first looks of the same
    paths (Monte Carlo SE ``sqrt(π(1 − π)/reps)`` each, common random numbers)."""
    _check_alpha(alpha)
    d_max = int(np.ceil(days - 1e-9))
    if not (d_max >= 1 and daily_units > 0):
        raise ValueError(f"`days` and `daily_units` must be > 0; got {days!r}, {daily_units!r}.")
    if not (np.isfinite(s2) and s2 > 0):
        return np.full(d_max, np.nan)
    n, h, step = _rule_looks(float(d_max), daily_units, s2, n_star, alpha)
    rng = np.random.default_rng(seed)
    hits = np.zeros(d_max)
    done = 0
    while done < reps:
        m = min(chunk, reps - done)
        upper = _running_upper(rng.standard_normal((m, d_max)), s2, n, h, step)
        hits += np.count_nonzero(upper < gap, axis=0)
        done += m
    return np.asarray(hits / reps, dtype=float)


# --------------------------------------------------------------------------------------
# The rule's power for a proportion, with binomial counts and plug-in standard errors
# --------------------------------------------------------------------------------------
class ProportionRulePaths:
    """Seeded binomial canary paths of a 0/1 metric, for the power of the rule applied.

    :func:`~mlopskit.stats.sequential.rule_power` treats ``θ̂`` as Gaussian with a known variance. ``canary_test``
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
