"""Per-metric evaluation over the looks: fixed-horizon intervals, confidence sequences, SRM, design power."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlopskit.stats import dist as _dist
from mlopskit.stats import proportions as _prop
from mlopskit.stats import sequential as _seq
from mlopskit.stats import skewness as _skew
from mlopskit.stats import srm as _srm_stats

if TYPE_CHECKING:
    pass
from mlopskit.canary import labels as _lab
from mlopskit.canary.labels import LabelArrivals
from mlopskit.canary.looks import CanaryLook, _arm_moments, _check_stats, _stack
from mlopskit.canary.metrics import Direction, Metric

# --------------------------------------------------------------------------------------
# The per-metric path over looks (vectorized over looks)
# --------------------------------------------------------------------------------------
LATE_GUARD = True  # the late-labels guard of label windows (False: the round-4 rule)


@dataclass(frozen=True, slots=True)
class _Settings:
    alpha1: float  # one-sided error of each decision
    sequential: bool
    planned_days: float
    min_events: float
    power: float
    cuped: bool
    skewness_factor: float = 30.0
    windows: tuple[tuple[str, float], ...] = ()  # label metric → window W (days)
    horizon_days: int = 90
    bias_tolerance: float = 0.1


def classify(
    effect: Any, low: Any, high: Any, margin: float, *, direction: Direction = "lower"
) -> np.ndarray:
    """Decision taxonomy rows 2–7 of STATISTICS.md §2 for the interval ``[low, high]``.

    On the harm-oriented scale (``d`` for lower-is-better, ``−d`` otherwise; Δ > 0):
    2 ``U < 0`` superior; 3 ``U < Δ`` non-inferior; 4 ``L > Δ`` inferior;
    5 ``0 < L ≤ Δ ≤ U`` worse, margin not excluded; 6/7 ``L ≤ 0`` and ``U ≥ Δ``
    inconclusive (6 when the estimate favours the canary, 7 otherwise). Rows 0 (invalid)
    and 1 (insufficient data) are decided before, on the data. NaN bounds give row 1.
    """
    sg = 1.0 if direction == "lower" else -1.0
    e, lo, hi = (np.asarray(v, dtype=float) for v in (effect, low, high))
    lh, uh = (lo, hi) if sg > 0 else (-hi, -lo)
    h, mh = sg * e, sg * margin
    with np.errstate(invalid="ignore"):
        return np.select(
            [np.isnan(lh) | np.isnan(uh), uh < 0, uh < mh, lh > mh, lh > 0, h <= 0],
            [1, 2, 3, 4, 5, 6],
            default=7,
        ).astype(int)


def _fixed_interval(
    m: Metric,
    c: dict[str, np.ndarray],
    t: dict[str, np.ndarray],
    mc: np.ndarray,
    vc: np.ndarray,
    mt: np.ndarray,
    vt: np.ndarray,
    cuped: bool,
    alpha1: float,
) -> dict[str, Any]:
    """Effect on the analysis scale, its SE, the fixed CI and the test of no difference.

    Absolute effects: ``d = m_t − m_c``. Relative effects are analysed on the log scale,
    ``λ = ln(m_t/m_c)`` with ``SE² = v_t/m_t² + v_c/m_c²`` (delta method), and reported as
    ``exp(λ) − 1``: the delta method on ``m_t/m_c − 1`` itself ties the SE to the estimate
    and undercovers badly at small counts. The two-sided p-value uses the same SE (and df)
    as the interval — never a pooled SE beside an unpooled interval — so "interval excludes
    0" and "p < 2α" agree (Newcombe intervals at small counts excepted: their p is Wald's).
    """
    nc, nt = c["n"], t["n"]
    z = _dist.norm_isf(alpha1)
    out: dict[str, Any] = {"df": np.full(nc.shape, np.inf)}
    with np.errstate(invalid="ignore", divide="ignore"):
        if m.relative:
            ea, se = np.log(mt / mc), np.sqrt(vt / mt**2 + vc / mc**2)
            method: Any = "log ratio (delta)"
        else:
            ea, se = mt - mc, np.sqrt(vt + vc)
            method = {"proportion": "wald", "mean": "normal", "ratio": "delta"}[m.kind]
        lo, hi = ea - z * se, ea + z * se
        p_value = 2 * _dist.norm_sf(np.abs(ea / se))
        if m.kind == "mean" and not m.relative and not cuped:
            w = _prop.welch_ttest(mt, vt * nt, nt, mc, vc * nc, nc, alpha=2 * alpha1)
            out["df"], lo, hi, p_value, method = w.df, w.ci_low, w.ci_high, w.p_value, "welch"
        if m.kind == "proportion" and not cuped:
            if not m.relative:
                counts = [c["sum"], nc - c["sum"], t["sum"], nt - t["sum"]]
                small = np.minimum.reduce(counts) < 10
                nlo, nhi = _prop.newcombe_ci(t["sum"], nt, c["sum"], nc, alpha=2 * alpha1)
                lo, hi = np.where(small, nlo, lo), np.where(small, nhi, hi)
                method = np.where(small, "newcombe", "wald")
    if cuped:
        method = "cuped, " + ("log ratio (delta)" if m.relative else "normal")
    out.update(ea=ea, se=se, lo=lo, hi=hi, p_value=p_value, method=method)
    return out


def _normal_check(
    m: Metric, c: dict[str, np.ndarray], t: dict[str, np.ndarray], factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled unit skewness and "normal approximation valid" per look (STATISTICS.md §7.3).

    Mean and ratio metrics (unbounded values) are decided only once the skewness of the
    estimated difference, ``γ̂(1/n_t² − 1/n_c²)/(1/n_t + 1/n_c)^{3/2}`` (≈ ``γ̂/√n_t`` for a
    small canary), is at most ``1/√factor``; ``γ̂`` is the pooled sample skewness of the
    values; for ratios that of the delta-method variable ``y − R·x`` (from ``Σy²x``,
    ``Σyx²``; the larger of the numerator's and the denominator's when those are unknown).
    Proportions are bounded: their burn-in (events per arm) suffices — simulated at 0.2–1%
    rates and 1–5% canaries. Without ``Σy³`` (statistics entered by hand) the skewness is
    ``nan`` and the check is skipped (a warning says so).
    """
    b = {f: c[f] + t[f] for f in ("n", "sum", "sum_squares", "sum_cubes")}
    with np.errstate(invalid="ignore", divide="ignore"):
        if m.kind == "proportion":
            g = _skew.bernoulli_skewness(b["sum"] / b["n"])
            return g, np.ones(g.shape, dtype=bool)
        g = np.abs(_skew.pooled_skewness(b["n"], b["sum"], b["sum_squares"], b["sum_cubes"]))
        if m.kind == "ratio":
            ratio_sums = [
                c[f] + t[f]
                for f in ("sum", "denominator_sum", "sum_squares", "denominator_sum_squares",
                          "sum_products", "sum_cubes", "denominator_sum_cubes",
                          "sum_squares_products", "sum_products_squares")
            ]  # fmt: skip
            gz = np.abs(_skew.ratio_skewness(b["n"], *ratio_sums))
            gx = _skew.pooled_skewness(
                b["n"],
                c["denominator_sum"] + t["denominator_sum"],
                c["denominator_sum_squares"] + t["denominator_sum_squares"],
                c["denominator_sum_cubes"] + t["denominator_sum_cubes"],
            )
            # the linearized variable's skewness when its cross sums are known; else the
            # larger of the numerator's and the denominator's
            known = np.isfinite(ratio_sums[-1] + ratio_sums[-2])
            g = np.where(known & np.isfinite(gz), gz, np.maximum(g, np.abs(gx)))
    unknown = np.isnan(b["sum_cubes"])
    valid = _skew.difference_normal_valid(g, t["n"], c["n"], factor=factor)
    return g, valid | unknown


def _uncapped(
    m: Metric, c: dict[str, np.ndarray], t: dict[str, np.ndarray], alpha1: float
) -> dict[str, np.ndarray]:
    """A capped metric's tail: share of values above the cap per arm, and the uncapped
    estimates with their fixed ``1 − 2α`` interval (Welch / delta / log ratio, as for the
    capped metric), shown beside the capped decision — the bias the cap buys. ``nan`` for
    metrics without a cap."""
    keys = (
        "above_cap_control",
        "above_cap_canary",
        "uncapped_mean_control",
        "uncapped_mean_canary",
        "uncapped_effect",
        "uncapped_ci_low",
        "uncapped_ci_high",
    )
    if m.cap is None:
        return {k: np.full(c["n"].shape, np.nan) for k in keys}
    raw = ("sum", "sum_squares", "sum_products")
    uc = {**c, **{f: c["uncapped_" + f] for f in raw}}
    ut = {**t, **{f: t["uncapped_" + f] for f in raw}}
    mc, vc = _arm_moments(m, uc, None, None)
    mt, vt = _arm_moments(m, ut, None, None)
    fx = _fixed_interval(m, uc, ut, mc, vc, mt, vt, False, alpha1)
    back = np.expm1 if m.relative else (lambda x: x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shares = [c["above_cap"] / c["n"], t["above_cap"] / t["n"]]
        vals = [*shares, mc, mt, back(fx["ea"]), back(fx["lo"]), back(fx["hi"])]
    return dict(zip(keys, vals, strict=True))


def _missing_fixed_p(c: dict[str, np.ndarray], t: dict[str, np.ndarray]) -> np.ndarray:
    """Two-sided pooled z-test of equal missing rates at each look (single-look use)."""
    z_p = _prop.ztest_proportions_pooled(
        t["missing"], t["n"] + t["missing"], c["missing"], c["n"] + c["missing"]
    )[1]
    return np.where(np.isfinite(z_p), z_p, 1.0)


def _metric_path(
    m: Metric, looks: Sequence[CanaryLook], rate: np.ndarray, cfg: _Settings
) -> dict[str, np.ndarray]:
    """Every number of one metric at every look (arrays over looks).

    Decisions work on the harm-oriented analysis scale: ``h = sign·effect`` (``sign = +1``
    when lower is better), margin ``sign·Δ > 0``; relative metrics on the log scale.
    """
    c, t = _stack(looks, "control", m.name), _stack(looks, "canary", m.name)
    _check_stats(m, c, t)
    nc, nt = c["n"], t["n"]
    theta = z_pool = None
    cuped = cfg.cuped and m.kind != "ratio"
    if cuped:
        b = {f: c[f] + t[f] for f in c}
        theta = _prop.cuped_theta(
            b["n"],
            b["sum"],
            b["covariate_sum"],
            b["covariate_sum_squares"],
            b["covariate_sum_products"],
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            z_pool = b["covariate_sum"] / b["n"]
    mc, vc = _arm_moments(m, c, theta, z_pool)
    mt, vt = _arm_moments(m, t, theta, z_pool)
    fx = _fixed_interval(m, c, t, mc, vc, mt, vt, cuped, cfg.alpha1)
    ea, se = fx["ea"], fx["se"]
    back = np.expm1 if m.relative else (lambda x: x)
    margin_a = float(np.log1p(m.margin)) if m.relative else m.margin
    sg = m.sign
    h, mh = sg * ea, sg * margin_a
    burn = (c["events"] >= cfg.min_events) & (t["events"] >= cfg.min_events)
    skew, normal_ok = _normal_check(m, c, t, cfg.skewness_factor)
    ok = burn & normal_ok & np.isfinite(se) & (se > 0)
    gate = np.where(~burn, 1, np.where(~normal_ok, 2, 0))
    n = nc + nt
    n_star = np.maximum(cfg.planned_days * rate, 1.0)
    rho2 = _seq.rho_squared(cfg.alpha1, n_star, one_sided=True)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        hw = _seq.half_width(n, n * se**2, rho2, cfg.alpha1, one_sided=True)
        cs_lo, cs_hi = _seq.running_intersection(
            np.where(ok, ea - hw, np.nan), np.where(ok, ea + hw, np.nan)
        )
        if cfg.sequential:
            p_harm = np.fmin.accumulate(
                np.where(ok, _seq.always_valid_p(h, se, n, rho2=rho2), np.nan)
            )
            dlo, dhi = cs_lo, cs_hi
        else:
            p_harm = np.where(ok, _dist.t_sf(h / se, fx["df"]), np.nan)
            dlo, dhi = fx["lo"], fx["hi"]
        row = np.where(ok, classify(ea, dlo, dhi, margin_a, direction=m.direction), 1)
        z1 = _dist.norm_isf(cfg.alpha1)
        if cfg.sequential:  # power of the sequence at the current size, true effect 0
            design_power = _dist.norm_cdf((mh - hw) / se)
        else:
            design_power = _dist.norm_sf(z1 - mh / se)
        if cfg.sequential:
            n_needed = _seq.sample_size_for_margin(
                mh, n * se**2, n_star=n_star, alpha=cfg.alpha1, power=cfg.power
            )
        else:
            n_needed = n * (se * (z1 + _dist.norm_ppf(cfg.power)) / mh) ** 2
        days_needed = np.maximum(n_needed - n, 0.0) / rate
    # burn-in: the units needed for each arm's events to reach min_events at its current
    # events per unit (unknown without any event); a burn-in wait is at least that long
    with np.errstate(invalid="ignore", divide="ignore"):
        short = [
            np.where(a["events"] >= cfg.min_events, n, n * cfg.min_events / a["events"])
            for a in (c, t)
        ]
        days_events = np.maximum(np.maximum(*short) - n, 0.0) / rate
    days_needed = np.where(gate == 1, np.fmax(days_needed, days_events), days_needed)
    days_needed = np.where((gate == 1) & ~np.isfinite(days_events), np.nan, days_needed)
    days_needed = np.where(np.isin(row, (2, 3, 4, 5)), 0.0, days_needed)
    days_needed = np.where(np.isfinite(se) & (se > 0), days_needed, np.nan)
    miss_p = _srm_stats.missing_split_p(
        c["missing"], t["missing"], c["n"] + c["missing"], t["n"] + t["missing"]
    )
    if not cfg.sequential:  # a single planned look: the fixed two-proportion comparison
        miss_p = _missing_fixed_p(c, t)
    cap = _uncapped(m, c, t, cfg.alpha1)
    with np.errstate(invalid="ignore", over="ignore"):
        return {
            "n_control": nc,
            "n_canary": nt,
            "events_control": c["events"],
            "events_canary": t["events"],
            "mean_control": mc,
            "mean_canary": mt,
            "effect": back(ea),
            "se": np.exp(ea) * se if m.relative else se,
            "se_log": se if m.relative else np.full(nc.shape, np.nan),
            "df": fx["df"],
            "ci_low": back(fx["lo"]),
            "ci_high": back(fx["hi"]),
            "p_value": fx["p_value"],
            "cs_low": back(cs_lo),
            "cs_high": back(cs_hi),
            "p_harm": p_harm,
            "decision_low": back(dlo),
            "decision_high": back(dhi),
            "row": row.astype(int),
            "design_power": design_power,
            "n_needed": n_needed,
            "days_to_decision": days_needed,
            "theta": theta if theta is not None else np.full(nc.shape, np.nan),
            "skewness": skew,
            "gate": gate,
            "missing_control": c["missing"],
            "missing_canary": t["missing"],
            "filled_control": c["filled"],
            "filled_canary": t["filled"],
            "missing_p": miss_p,
            **cap,
            "ci_method": np.broadcast_to(np.asarray(fx["method"], dtype=object), nc.shape),
        }


def _srm(
    units_c: np.ndarray, units_t: np.ndarray, split: tuple[float, float], sequential: bool
) -> np.ndarray:
    """SRM p-value of (control, canary) units against ``split`` at each look.

    ``sequential``: the always-valid p-value of the Dirichlet-mixture test (Lindon & Malek
    2022, :func:`mlopskit.stats.srm.sequential_p`), safe to check every day. Otherwise the
    chi-square goodness of fit, ``scipy.stats.chisquare([u_c, u_t], f_exp=total·split)``.
    """
    counts = np.stack([units_c, units_t])
    if sequential:
        return _srm_stats.sequential_p(counts, split)
    return _srm_stats.chisquare_p(counts, split)


def _check_split(split: Any) -> tuple[float, float]:
    try:
        c, t = (float(v) for v in split)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"`expected_split` must be two shares (control, canary); got {split!r}."
        ) from exc
    if not (c > 0 and t > 0 and abs(c + t - 1) < 1e-9):
        raise ValueError(
            f"`expected_split` must be two positive shares (control, canary) summing to 1; "
            f"got {split!r}."
        )
    return c, t


@dataclass(frozen=True, slots=True)
class _Evaluation:
    looks: list[CanaryLook]
    paths: dict[str, dict[str, np.ndarray]]
    srm_p: np.ndarray
    rate: np.ndarray
    split: tuple[float, float] = (0.95, 0.05)


def _evaluate(
    looks: list[CanaryLook],
    metrics: Sequence[Metric],
    split: tuple[float, float],
    st: _Settings,
) -> _Evaluation:
    uc = np.array([lk.units_control for lk in looks], dtype=float)
    ut = np.array([lk.units_canary for lk in looks], dtype=float)
    days = np.array(
        [lk.days if lk.exposure_days is None else lk.exposure_days for lk in looks], dtype=float
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (uc + ut) / np.maximum(days, 1.0 / 24)  # units per day while exposed
    paths = {m.name: _metric_path(m, looks, rate, st) for m in metrics}
    arrivals = looks[-1].labels or {}
    windows = dict(st.windows)
    for m in metrics:
        if m.label_based and m.name in arrivals and m.name in windows:
            _label_path(m, looks, paths[m.name], arrivals[m.name], windows[m.name], st)
    return _Evaluation(looks, paths, _srm(uc, ut, split, st.sequential), rate, split)


def _label_path(
    m: Metric,
    looks: Sequence[CanaryLook],
    a: dict[str, np.ndarray],
    arr: LabelArrivals,
    window: float,
    st: _Settings,
) -> None:
    """Per-arm ``F̂(W)`` and the differential-maturity rule at every look where the metric
    would decide (in place): a biased window makes the look's row 1 with gate 3. A window
    shorter than the horizon is decided only once the oldest cohort is ``horizon`` days
    old (gate 4 before): only then can ``F̂(W)`` of each arm be read against the horizon
    — earlier, labels later than the oldest age are invisible and a slower arm looks
    mature (simulated: the rule alone still PROMOTEd 85% of canaries worse by the margin).
    ``bias_tolerance = inf`` switches the check off (the unchecked window, for comparison).
    Then the late-labels guard (:func:`mlopskit.canary.labels.late_guard`): a decided row
    whose decision the canary's labels arriving after W work against (beyond τ·|Δ|, shown
    at one-sided α on unit-level sums, robust to a few huge late values) becomes row 1
    with gate 5. ``LATE_GUARD = False`` switches it off (the old rule, for comparison)."""
    n = len(looks)
    for key in ("maturity_control", "maturity_canary", "maturity_se_control",
                "maturity_se_canary", "maturity_bias", "bias_share", "late_excess",
                "late_excess_se", "late_share"):  # fmt: skip
        a[key] = np.full(n, np.nan)
    a["label_biased"] = np.zeros(n, dtype=bool)
    a["late_guarded"] = np.zeros(n, dtype=bool)
    margin_a = float(np.log1p(m.margin)) if m.relative else m.margin
    last = n - 1
    check = window < st.horizon_days and np.isfinite(st.bias_tolerance)
    first_day = pd.Timestamp(np.min(arr.day_starts))
    for k in range(n):
        if (int(a["row"][k]) == 1 or window >= st.horizon_days) and k != last:
            continue  # a horizon-long window has no differential maturity to check
        t = pd.Timestamp(looks[k].as_of)
        if check and (t - first_day) / pd.Timedelta(days=1) - 1 < st.horizon_days:
            # the arms' maturity through W, relative to the horizon, is not observable yet
            if int(a["row"][k]) != 1:
                a["row"][k], a["gate"][k] = 1, 4
            continue
        mc = _lab.arm_maturity(arr, "control", t, window, st.horizon_days)
        mt = _lab.arm_maturity(arr, "canary", t, window, st.horizon_days)
        bias, share, biased = _lab.window_bias(
            m.sign, m.relative, margin_a, float(a["mean_canary"][k]), mc, mt, arr.sign,
            st.alpha1, st.bias_tolerance,
        )  # fmt: skip
        a["maturity_control"][k], a["maturity_canary"][k] = mc.maturity, mt.maturity
        a["maturity_se_control"][k], a["maturity_se_canary"][k] = mc.se, mt.se
        a["maturity_bias"][k], a["bias_share"][k] = bias, share
        if biased and int(a["row"][k]) != 1:
            a["label_biased"][k] = True
            a["row"][k], a["gate"][k] = 1, 3
        if not check:
            continue
        late = _lab.late_excess(
            arr, t, window, st.horizon_days, m.relative, float(a["mean_canary"][k]), st.alpha1
        )
        a["late_excess"][k], a["late_excess_se"][k] = late.excess, late.se
        a["late_share"][k] = abs(late.excess) / abs(margin_a)
        row = int(a["row"][k])
        if LATE_GUARD and _lab.late_guard(
            late, m.sign, row, margin_a, st.alpha1, st.bias_tolerance
        ):
            a["late_guarded"][k] = True
            a["row"][k], a["gate"][k] = 1, 5
            a["days_to_decision"][k] = np.nan  # more traffic does not decide this window
