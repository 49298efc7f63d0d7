"""Seeded generators of canary experiments as per-day sufficient statistics (issue 13).

Each generator returns cumulative per-arm sums over daily looks, arrays of shape
``(reps, days)``: ``n`` units, ``events`` (non-zero values), ``sum``, ``sum_squares``,
``sum_cubes`` and ``missing`` (units whose value is missing). Units per day and arm are
``Binomial(daily, κ)``; values are drawn row by row (modest row counts) except for
proportions, whose sums are exact binomial draws. Families:

* :func:`proportion` — a 0/1 outcome with rates ``p_control``, ``p_canary``;
* :func:`lognormal` — latency-like ``exp(μ + σZ)``, the canary shifted by ``shift``;
* :func:`zero_inflated` — a per-unit loss: a share ``π`` of units lose ``lognormal(μ, σ)``,
  the canary's share raised so that its mean is higher by ``shift``.

``looks(...)`` turns one replicate into :class:`mlopskit.canary.CanaryLook` objects so the
simulations run through ``canary_test`` / ``canary_history`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlopskit.stats.skewness import zero_inflated_lognormal_moments

FIELDS = ("n", "events", "sum", "sum_squares", "sum_cubes", "missing")


@dataclass(frozen=True)
class Arms:
    """Cumulative sums per arm: dicts field → array ``(reps, days)``."""

    control: dict[str, np.ndarray]
    canary: dict[str, np.ndarray]
    units_control: np.ndarray
    units_canary: np.ndarray


def _units(rng: np.random.Generator, reps: int, days: int, daily: int, kappa: float):
    nt = rng.binomial(daily, kappa, size=(reps, days))
    return daily - nt, nt


def _cum(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.cumsum(v, axis=1).astype(float) for k, v in d.items()}


def proportion(
    reps: int,
    *,
    days: int,
    daily: int,
    kappa: float,
    p_control: float,
    p_canary: float,
    seed: int,
    last_day_fraction: float = 1.0,
) -> Arms:
    """Exact binomial daily sums of a 0/1 metric (``Σy = Σy² = Σy³ = events``).

    ``last_day_fraction`` scales the last day's traffic (a look part-way into the day)."""
    rng = np.random.default_rng(seed)
    per_day = np.full(days, daily)
    per_day[-1] = round(daily * last_day_fraction)
    nt = rng.binomial(per_day, kappa, size=(reps, days))
    nc = per_day - nt
    xc, xt = rng.binomial(nc, p_control), rng.binomial(nt, p_canary)

    def arm(n: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        return _cum(
            {"n": n, "events": x, "sum": x, "sum_squares": x, "sum_cubes": x, "missing": 0 * n}
        )

    return Arms(arm(nc, xc), arm(nt, xt), np.cumsum(nc, 1), np.cumsum(nt, 1))


def _sums(y: np.ndarray) -> dict[str, np.ndarray]:
    """Sums over the last axis (float64 accumulation of float32 draws)."""
    y64 = y.astype(np.float64)
    return {
        "events": np.count_nonzero(y, axis=-1).astype(float),
        "sum": y64.sum(-1),
        "sum_squares": (y64 * y64).sum(-1),
        "sum_cubes": (y64**3).sum(-1),
    }


def _ragged_sums(counts: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """Per-cell sums of consecutive ``values``, ``counts`` of them per cell."""
    flat = counts.ravel().astype(np.int64)
    ends = np.cumsum(flat)
    starts = ends - flat
    v = values.astype(np.float64)
    out = {}
    for key, arr in (("sum", v), ("sum_squares", v * v), ("sum_cubes", v**3)):
        c = np.concatenate([[0.0], np.cumsum(arr)])
        out[key] = (c[ends] - c[starts]).reshape(counts.shape)
    out["events"] = counts.astype(float)
    return out


def lognormal(
    reps: int,
    *,
    days: int,
    daily: int,
    kappa: float,
    mu: float,
    sigma: float,
    shift: float,
    seed: int,
) -> Arms:
    """Latency-like values ``exp(μ + σZ)`` per unit; canary values are shifted by ``shift``.

    Units per day and arm are fixed (``round(κ·daily)`` canary) so the draws reshape into
    ``(reps, days, units)`` blocks; float32 draws, float64 sums.
    """
    rng = np.random.default_rng(seed)
    n_t = round(kappa * daily)
    n_c = daily - n_t
    out = []
    for n_arm, add in ((n_c, 0.0), (n_t, shift)):
        sums = {k: np.zeros((reps, days)) for k in ("events", "sum", "sum_squares", "sum_cubes")}
        step = max(1, 4_000_000 // (days * n_arm))
        for r0 in range(0, reps, step):
            r1 = min(reps, r0 + step)
            z = rng.standard_normal((r1 - r0, days, n_arm), dtype=np.float32)
            y = np.exp(np.float32(mu) + np.float32(sigma) * z) + np.float32(add)
            for k, v in _sums(y).items():
                sums[k][r0:r1] = v
        sums["n"] = np.full((reps, days), float(n_arm))
        sums["missing"] = np.zeros((reps, days))
        out.append(_cum(sums))
    units_c = np.cumsum(np.full((reps, days), n_c), 1)
    units_t = np.cumsum(np.full((reps, days), n_t), 1)
    return Arms(out[0], out[1], units_c, units_t)


def zero_inflated(
    reps: int,
    *,
    days: int,
    daily: int,
    kappa: float,
    share: float,
    mu: float,
    sigma: float,
    shift: float,
    seed: int,
) -> Arms:
    """Per-unit loss: ``Bernoulli(π)·lognormal(μ, σ)``; the canary's ``π`` is raised by
    ``shift / E[lognormal]`` so that its mean loss is higher by ``shift``. Only the non-zero
    values are drawn (``Binomial`` counts of losing units per day)."""
    rng = np.random.default_rng(seed)
    nc, nt = _units(rng, reps, days, daily, kappa)
    m1 = np.exp(mu + sigma**2 / 2)
    share_t = share + shift / m1
    if not 0 < share_t < 1:
        raise ValueError(f"shift {shift!r} gives a canary loss share {share_t!r} outside (0, 1).")
    kc, kt = rng.binomial(nc, share), rng.binomial(nt, share_t)

    c = _ragged_sums(kc, rng.lognormal(mu, sigma, int(kc.sum())))
    t = _ragged_sums(kt, rng.lognormal(mu, sigma, int(kt.sum())))
    c["n"], t["n"] = nc.astype(float), nt.astype(float)
    c["missing"], t["missing"] = 0.0 * nc, 0.0 * nt
    return Arms(_cum(c), _cum(t), np.cumsum(nc, 1), np.cumsum(nt, 1))


def zero_inflated_moments(share: float, mu: float, sigma: float) -> tuple[float, float, float]:
    """Mean, SD and skewness of the per-unit loss of :func:`zero_inflated`."""
    return zero_inflated_lognormal_moments(share, mu, sigma)


def lognormal_moments(mu: float, sigma: float) -> tuple[float, float]:
    """Mean and SD of ``exp(μ + σZ)``."""
    m = float(np.exp(mu + sigma**2 / 2))
    return m, float(m * np.sqrt(np.expm1(sigma**2)))


# --------------------------------------------------------------------------------------
# Label delays that differ between arms (issue 13, label windows)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelWorld:
    """One replicate per entry: daily looks as :class:`mlopskit.canary.CanaryLook` lists."""

    looks: list  # list[list[CanaryLook]]
    eventual_effect: float


def label_delay_looks(
    reps: int,
    *,
    days: int,
    daily: int,
    kappa: float,
    p_control: float,
    p_canary: float,
    slow_control: float,
    slow_canary: float,
    window: float,
    looks_until: int,
    horizon: int,
    seed: int,
    metric: str = "m",
) -> LabelWorld:
    """A 0/1 label metric whose labels arrive after a score-dependent delay.

    Units per day and arm ``Binomial(daily, κ)``, all exposed at mid-day; each unit is
    eventually positive with ``p_arm``; a positive's delay (days) is ``Gamma(2, 4)`` ("fast":
    caught frauds) or, with probability ``slow_arm``, ``Gamma(2, 20)`` ("slow": missed
    frauds, reported later); labels later than ``horizon`` never arrive. A worse model
    misses more frauds, so its positives are slower (``slow_canary > slow_control``).
    Looks at the end of days ``1..looks_until``: the window-``window`` statistics (units
    with ``ts + W ≤ look``, positives with delay ≤ W), cumulative exposed units, and on the
    last look the per-cohort delay counts and all-labels sums (:class:`LabelArrivals`).
    ``eventual_effect``: ``(p_t − p_c)·P(delay ≤ horizon)``-weighted difference of the
    eventual (within-horizon) rates, by the generator's own arithmetic.
    """
    import pandas as pd
    from scipy import stats

    from mlopskit.canary import ArmStats, CanaryLook
    from mlopskit.canary.labels import LabelArrivals

    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-01-01")
    n_t = rng.binomial(daily, kappa, size=(reps, days))
    units = {"control": daily - n_t, "canary": n_t}
    p = {"control": p_control, "canary": p_canary}
    slow = {"control": slow_control, "canary": slow_canary}
    end = looks_until
    arms: dict[str, dict[str, np.ndarray]] = {}
    for arm in ("control", "canary"):
        pos = rng.binomial(units[arm], p[arm])  # (reps, days) eventual positives
        total = int(pos.sum())
        is_slow = rng.random(total) < slow[arm]
        delay = np.where(is_slow, rng.gamma(2.0, 20.0, total), rng.gamma(2.0, 4.0, total))
        rep = np.repeat(np.arange(reps * days), pos.ravel())
        r_idx, d_idx = np.divmod(rep, days)
        arrive = d_idx + 0.5 + delay
        ok = delay < horizon
        in_window = ok & (delay <= window)
        win = np.zeros((reps, days))
        np.add.at(win, (r_idx[in_window], d_idx[in_window]), 1.0)
        known = ok & (arrive <= end)
        tri = np.zeros((reps, days, horizon))
        j = np.floor(delay).astype(int)
        np.add.at(tri, (r_idx[known], d_idx[known], j[known]), 1.0)
        arms[arm] = {"units": units[arm].astype(float), "win": win, "tri": tri}
    f_h = (1 - slow_canary) * stats.gamma.cdf(horizon, 2, scale=4) + slow_canary * stats.gamma.cdf(
        horizon, 2, scale=20
    )
    f_hc = (1 - slow_control) * stats.gamma.cdf(horizon, 2, scale=4) + slow_control * (
        stats.gamma.cdf(horizon, 2, scale=20)
    )
    eventual = p_canary * f_h - p_control * f_hc
    day_starts = (t0 + pd.to_timedelta(np.arange(days), unit="D")).to_numpy()
    out = []
    for r in range(reps):
        series = []
        for t in range(1, end + 1):
            matured = np.arange(days) + 0.5 + window <= t
            exposed = min(t, days)
            st = {}
            for arm in ("control", "canary"):
                a = arms[arm]
                x = float(a["win"][r, matured].sum())
                st[arm] = ArmStats(
                    n=float(a["units"][r, matured].sum()), events=x, sum=x, sum_squares=x,
                    sum_cubes=x,
                )  # fmt: skip
            labels = None
            if t == end:
                allv = {}
                for arm in ("control", "canary"):
                    x = float(arms[arm]["tri"][r].sum())
                    allv[arm] = ArmStats(
                        n=float(arms[arm]["units"][r].sum()), events=x, sum=x, sum_squares=x,
                        sum_cubes=x,
                    )  # fmt: skip
                labels = {
                    metric: LabelArrivals(
                        day_starts,
                        t0 + pd.Timedelta(days=end),
                        {a: arms[a]["units"][r] for a in arms},
                        {a: arms[a]["tri"][r] for a in arms},
                        1.0,
                        allv,
                    )
                }
            series.append(
                CanaryLook(
                    t0 + pd.Timedelta(days=t),
                    t - 0.5,
                    int(units["control"][r, :exposed].sum()),
                    int(units["canary"][r, :exposed].sum()),
                    {metric: st["control"]},
                    {metric: st["canary"]},
                    exposure_days=float(exposed - 1),
                    labels=labels,
                )
            )
        out.append(series)
    return LabelWorld(out, float(eventual))


# --------------------------------------------------------------------------------------
# Capped (winsorized at a fixed cap) metrics: capped sums, the count above the cap and the
# uncapped sums, as frames.canary_daily_sums computes them for Mean(..., cap=)
# --------------------------------------------------------------------------------------
CAP_FIELDS = (
    *FIELDS, "above_cap", "uncapped_sum", "uncapped_sum_squares", "uncapped_sum_cubes"
)  # fmt: skip


def capped_lognormal_mean(mu: float, sigma: float, cap: float) -> float:
    """``E[min(Y, cap)]`` of ``Y = exp(μ + σZ)``: ``e^{μ+σ²/2}Φ((ln c − μ − σ²)/σ) + c·(1 −
    Φ((ln c − μ)/σ))``."""
    from scipy import stats

    lc = np.log(cap)
    return float(
        np.exp(mu + sigma**2 / 2) * stats.norm.cdf((lc - mu - sigma**2) / sigma)
        + cap * stats.norm.sf((lc - mu) / sigma)
    )


def capped_lognormal_sd(mu: float, sigma: float, cap: float) -> float:
    """SD of ``min(Y, cap)`` (second moment by the same truncated-lognormal formula)."""
    from scipy import stats

    lc = np.log(cap)
    m2 = np.exp(2 * mu + 2 * sigma**2) * stats.norm.cdf(
        (lc - mu - 2 * sigma**2) / sigma
    ) + cap**2 * stats.norm.sf((lc - mu) / sigma)
    return float(np.sqrt(m2 - capped_lognormal_mean(mu, sigma, cap) ** 2))


def _capped_sums(y: np.ndarray, cap: float) -> dict[str, np.ndarray]:
    """Sums over the last axis of ``min(y, cap)``, the count above ``cap`` and raw sums."""
    y64 = y.astype(np.float64)
    c = np.minimum(y64, cap)
    return {
        "events": np.count_nonzero(c, axis=-1).astype(float),
        "sum": c.sum(-1),
        "sum_squares": (c * c).sum(-1),
        "sum_cubes": (c**3).sum(-1),
        "above_cap": (y64 > cap).sum(-1).astype(float),
        "uncapped_sum": y64.sum(-1),
        "uncapped_sum_squares": (y64 * y64).sum(-1),
        "uncapped_sum_cubes": (y64**3).sum(-1),
    }


def lognormal_capped(
    reps: int,
    *,
    days: int,
    daily: int,
    kappa: float,
    mu: float,
    sigma: float,
    cap: float,
    mu_canary: float,
    seed: int,
    tail_share: float = 0.0,
    tail_value: float = 0.0,
    control_from: Arms | None = None,
) -> Arms:
    """Latency ``exp(μ + σZ)`` per unit (canary ``μ_canary``) with capped sums at ``cap``.

    ``tail_share``: a share of canary units takes ``tail_value`` instead (a canary that
    moves mass beyond the cap, e.g. calls hanging to 5× the cap). Fixed units per arm and
    day (``round(κ·daily)`` canary); float32 draws, float64 sums, chunks of ≤ 4M values.
    ``control_from``: reuse that world's control arm (same μ, σ, cap, κ; saves drawing the
    large arm again: worlds sharing it are correlated, each world's replicates are not)."""
    rng = np.random.default_rng(seed)
    n_t = round(kappa * daily)
    n_c = daily - n_t
    out = []
    for n_arm, m, tail in ((n_c, mu, 0.0), (n_t, mu_canary, tail_share)):
        if control_from is not None and not out:
            out.append(control_from.control)
            continue
        sums = {k: np.zeros((reps, days)) for k in CAP_FIELDS if k not in ("n", "missing")}
        step = max(1, 4_000_000 // (days * n_arm))
        for r0 in range(0, reps, step):
            r1 = min(reps, r0 + step)
            z = rng.standard_normal((r1 - r0, days, n_arm), dtype=np.float32)
            y = np.exp(np.float32(m) + np.float32(sigma) * z)
            if tail > 0:
                y = np.where(rng.random(y.shape, dtype=np.float32) < tail, tail_value, y)
            for k, v in _capped_sums(y, cap).items():
                sums[k][r0:r1] = v
        sums["n"] = np.full((reps, days), float(n_arm))
        sums["missing"] = np.zeros((reps, days))
        out.append(_cum(sums))
    units_c = np.cumsum(np.full((reps, days), n_c), 1)
    units_t = np.cumsum(np.full((reps, days), n_t), 1)
    return Arms(out[0], out[1], units_c, units_t)


def zero_inflated_capped(
    reps: int,
    *,
    days: int,
    daily: int,
    kappa: float,
    share: float,
    mu: float,
    sigma: float,
    cap: float,
    shift: float,
    seed: int,
) -> Arms:
    """:func:`zero_inflated` with the loss capped at ``cap``; the canary's loss share is
    raised so that its *capped* mean is higher by ``shift`` (``π_t = π + shift/E[min(L,
    cap)]``)."""
    rng = np.random.default_rng(seed)
    nc, nt = _units(rng, reps, days, daily, kappa)
    share_t = share + shift / capped_lognormal_mean(mu, sigma, cap)
    if not 0 < share_t < 1:
        raise ValueError(f"shift {shift!r} gives a canary loss share {share_t!r} outside (0, 1).")
    kc, kt = rng.binomial(nc, share), rng.binomial(nt, share_t)
    arms = []
    for k, n in ((kc, nc), (kt, nt)):
        v = rng.lognormal(mu, sigma, int(k.sum()))
        s = _ragged_sums(k, np.minimum(v, cap))
        raw = _ragged_sums(k, v)
        s["above_cap"] = _ragged_sums(k, (v > cap).astype(float))["sum"]
        for f in ("sum", "sum_squares", "sum_cubes"):
            s["uncapped_" + f] = raw[f]
        s["n"], s["missing"] = n.astype(float), 0.0 * n
        arms.append(_cum(s))
    return Arms(arms[0], arms[1], np.cumsum(nc, 1), np.cumsum(nt, 1))


def tail_world(mu: float, sigma: float, cap: float, share_margin: float) -> tuple[float, float]:
    """A canary worse only beyond the cap: a share ``q`` of its units hang beyond the cap,
    the rest are slightly faster (``μ_t``), so that its capped mean equals the control's
    and its share above the cap is higher by exactly ``share_margin``. Returns ``(q, μ_t)``."""
    from scipy import optimize, stats

    base = capped_lognormal_mean(mu, sigma, cap)
    p_c = float(stats.norm.sf((np.log(cap) - mu) / sigma))

    def mu_t(q: float) -> float:
        return float(
            optimize.brentq(
                lambda x: (1 - q) * capped_lognormal_mean(x, sigma, cap) + q * cap - base,
                mu - 5 * sigma,
                mu,
            )
        )

    def gap(q: float) -> float:
        p_t = q + (1 - q) * float(stats.norm.sf((np.log(cap) - mu_t(q)) / sigma))
        return p_t - p_c - share_margin

    q = float(optimize.brentq(gap, 1e-9, min(0.999, p_c + share_margin)))
    return q, mu_t(q)


# --------------------------------------------------------------------------------------
# Label metric with continuous values (losses) arriving after a score-dependent delay,
# optionally with a heavy tail arriving late in one or both arms (the late-labels guard)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossWorld:
    looks: list  # per replicate, the daily CanaryLook list
    eventual_effect: float  # canary − control eventual loss per unit (generator's arithmetic)


def _loss_values(rng: np.random.Generator, k: int, family: str) -> np.ndarray:
    if family == "lognormal":
        return rng.lognormal(3.0, 0.5, k)
    if family == "lognormal_heavy":
        return rng.lognormal(2.0, 1.5, k)
    raise ValueError(family)


def late_loss_looks(
    reps: int,
    *,
    days: int = 10,
    daily: int = 2_000,
    kappa: float = 0.2,
    p_loss: float = 0.05,
    family: str = "lognormal",
    shift_canary: float = 0.0,
    tail_share: tuple[float, float] = (0.0, 0.0),
    tail_xm: float = 20_000.0,
    tail_alpha: float = 1.5,
    tail_delay: tuple[float, float] = (20.0, 36.0),
    missing: float = 0.01,
    window: float = 7.0,
    horizon: int = 45,
    looks_until: int = 60,
    seed: int = 0,
    metric: str = "loss",
) -> LossWorld:
    """A ``Mean`` label metric (loss per unit, 0 without a label): each unit has a score
    ``u ~ U(0, 1)``; with probability ``p_loss`` it is a loss ``_loss_values(family)`` (+
    ``shift_canary`` in the canary) whose label arrives after ``Gamma(2, 1 + 4(1 − u))`` days
    (score-dependent: high scores are reported fast); with probability ``tail_share[arm]``
    instead a Pareto(``tail_alpha``, ``tail_xm``) loss arriving after ``U(tail_delay)`` days
    (a heavy tail arriving late). A share ``missing`` of units (both arms) has no value
    (counted as missing). Labels after the horizon never arrive. Looks at the end of days
    ``1..looks_until``: window-``W`` sums (units whose window elapsed, labels with delay ≤ W),
    exposed units; on the last look the arrivals (cohort × delay sums, squares, units) and
    all-labels sums. ``eventual_effect``: canary − control eventual (within-horizon) mean
    loss per counted unit, from the generator's parameters."""
    import pandas as pd
    from scipy import stats

    from mlopskit.canary import ArmStats, CanaryLook
    from mlopskit.canary.labels import LabelArrivals

    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-01-01")
    n_t = rng.binomial(daily, kappa, size=(reps, days))
    units = {"control": daily - n_t, "canary": n_t}
    shares = {"control": tail_share[0], "canary": tail_share[1]}
    end = looks_until
    arms: dict[str, dict[str, np.ndarray]] = {}
    for arm in ("control", "canary"):
        miss = rng.binomial(units[arm], missing)
        counted = units[arm] - miss
        cnt = rng.multinomial(
            counted.ravel(), [p_loss, shares[arm], 1 - p_loss - shares[arm]]
        ).reshape(reps, days, 3)
        ordinary, tail = cnt[..., 0], cnt[..., 1]
        k1, k2 = int(ordinary.sum()), int(tail.sum())
        u = rng.random(k1)
        y1 = _loss_values(rng, k1, family) + (shift_canary if arm == "canary" else 0.0)
        d1 = rng.gamma(2.0, 1.0 + 4.0 * (1.0 - u))
        y2 = tail_xm * (1.0 + rng.pareto(tail_alpha, k2))
        d2 = rng.uniform(*tail_delay, k2)
        y, delay = np.r_[y1, y2], np.r_[d1, d2]
        cell = np.r_[
            np.repeat(np.arange(reps * days), ordinary.ravel()),
            np.repeat(np.arange(reps * days), tail.ravel()),
        ]
        r_idx, d_idx = np.divmod(cell, days)
        ok = delay < horizon
        arrive = d_idx + 0.5 + delay
        in_win = ok & (delay <= window)
        win = {}
        for key, v in (("sum", y), ("sq", y * y), ("cube", y**3), ("ev", np.ones_like(y))):
            a = np.zeros((reps, days))
            np.add.at(a, (r_idx[in_win], d_idx[in_win]), v[in_win])
            win[key] = a
        known = ok & (arrive <= end)
        j = np.floor(delay).astype(int)
        tri, tri2 = np.zeros((reps, days, horizon)), np.zeros((reps, days, horizon))
        np.add.at(tri, (r_idx[known], d_idx[known], j[known]), y[known])
        np.add.at(tri2, (r_idx[known], d_idx[known], j[known]), (y * y)[known])
        allv = {}
        for key, v in (("sum", y), ("sq", y * y), ("cube", y**3), ("ev", np.ones_like(y))):
            a = np.zeros(reps)
            np.add.at(a, r_idx[known], v[known])
            allv[key] = a
        arms[arm] = {
            "counted": counted.astype(float), "miss": miss.astype(float), "win": win,
            "tri": tri, "tri2": tri2, "all": allv,
        }  # fmt: skip
    mean_y = {"lognormal": np.exp(3.0 + 0.125), "lognormal_heavy": np.exp(2.0 + 1.125)}[family]
    f_tail = stats.uniform.cdf(horizon, tail_delay[0], tail_delay[1] - tail_delay[0])
    tail_mean = tail_xm * tail_alpha / (tail_alpha - 1) if tail_alpha > 1 else np.inf
    eventual = p_loss * shift_canary + (shares["canary"] - shares["control"]) * tail_mean * f_tail
    day_starts = (t0 + pd.to_timedelta(np.arange(days), unit="D")).to_numpy()
    del mean_y  # the ordinary losses' mean cancels (same family in both arms)
    out = []
    for r in range(reps):
        series = []
        for t in range(1, end + 1):
            matured = np.arange(days) + 0.5 + window <= t
            exposed = min(t, days)
            st = {}
            for arm in ("control", "canary"):
                a, w = arms[arm], arms[arm]["win"]
                st[arm] = ArmStats(
                    n=float(a["counted"][r, matured].sum()),
                    events=float(w["ev"][r, matured].sum()),
                    sum=float(w["sum"][r, matured].sum()),
                    sum_squares=float(w["sq"][r, matured].sum()),
                    sum_cubes=float(w["cube"][r, matured].sum()),
                    missing=float(a["miss"][r, matured].sum()),
                )
            labels = None
            if t == end:
                allv = {
                    arm: ArmStats(
                        n=float(arms[arm]["counted"][r].sum()),
                        events=float(arms[arm]["all"]["ev"][r]),
                        sum=float(arms[arm]["all"]["sum"][r]),
                        sum_squares=float(arms[arm]["all"]["sq"][r]),
                        sum_cubes=float(arms[arm]["all"]["cube"][r]),
                        missing=float(arms[arm]["miss"][r].sum()),
                    )
                    for arm in ("control", "canary")
                }
                base = {a: arms[a]["counted"][r] for a in arms}
                tri = {a: arms[a]["tri"][r] for a in arms}
                labels = {
                    metric: LabelArrivals(
                        day_starts,
                        t0 + pd.Timedelta(days=end),
                        base,
                        tri,
                        1.0,
                        allv,
                        {a: arms[a]["tri2"][r] for a in arms},
                        tri,
                        base,
                    )
                }
            series.append(
                CanaryLook(
                    t0 + pd.Timedelta(days=t),
                    t - 0.5,
                    int(units["control"][r, :exposed].sum()),
                    int(units["canary"][r, :exposed].sum()),
                    {metric: st["control"]},
                    {metric: st["canary"]},
                    exposure_days=float(exposed - 1),
                    labels=labels,
                )
            )
        out.append(series)
    return LossWorld(out, float(eventual))
