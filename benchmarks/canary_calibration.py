"""Explore the canary rule on heavy tails, vectorized over replicates (issue 13).

A numpy mirror of the sequential decision rule (one metric, absolute margin, one-sided
confidence sequence, running intersection, burn-in, optional skewness gate) applied to the
generators of ``tests/_canary_gen.py``. The tests run the same worlds through
``canary_history`` itself; this script is for design exploration and the note's tables.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/canary_calibration.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _canary_gen as gen

from mlopskit.stats import sequential as seq
from mlopskit.stats import skewness as sk

ALPHA = 0.025
FACTORS = [
    None if f == "none" else float(f)
    for f in (sys.argv[4].split(",") if len(sys.argv) > 4 else ["none", "355"])
]


def rule(
    arms: gen.Arms,
    margin: float,
    *,
    planned_days: float,
    min_days: float = 7,
    factor: float | None = sk.KOHAVI_FACTOR,
    min_events: float = 10,
) -> dict[str, float]:
    c, t = arms.control, arms.canary
    with np.errstate(invalid="ignore", divide="ignore"):
        mc, vc = c["sum"] / c["n"], (c["sum_squares"] - c["sum"] ** 2 / c["n"]) / (c["n"] - 1)
        mt, vt = t["sum"] / t["n"], (t["sum_squares"] - t["sum"] ** 2 / t["n"]) / (t["n"] - 1)
        se = np.sqrt(vt / t["n"] + vc / c["n"])
        d = mt - mc
        n = c["n"] + t["n"]
        days = np.arange(1, n.shape[1] + 1)
        rate = n / days
        rho2 = seq.rho_squared(ALPHA, planned_days * rate, one_sided=True)
        hw = seq.half_width(n, n * se**2, rho2, ALPHA, one_sided=True)
        ok = (c["events"] >= min_events) & (t["events"] >= min_events) & (se > 0)
        if factor is not None:
            g = sk.pooled_skewness(
                c["n"] + t["n"],
                c["sum"] + t["sum"],
                c["sum_squares"] + t["sum_squares"],
                c["sum_cubes"] + t["sum_cubes"],
            )
            ok &= sk.difference_normal_valid(g, t["n"], c["n"], factor=factor)
        lo, hi = seq.running_intersection(
            np.where(ok, d - hw, np.nan), np.where(ok, d + hw, np.nan), axis=1
        )
    promote_ok = (hi < margin) & (days >= min_days)
    rollback_ok = lo > 0
    big = n.shape[1] + 1
    first_p = np.where(promote_ok.any(1), promote_ok.argmax(1), big)
    first_r = np.where(rollback_ok.any(1), rollback_ok.argmax(1), big)
    return {
        "promote": float(np.mean(first_p < first_r)),
        "rollback": float(
            np.mean(first_r <= first_p) - np.mean((first_r == big) & (first_p == big))
        ),
        "superior": float(np.mean((hi < 0).any(1))),
        "valid_share": float(np.mean(ok[:, -1])),
    }


def mcse(p: float, reps: int) -> float:
    return float(np.sqrt(max(p * (1 - p), 1e-9) / reps))


def main() -> None:
    reps, days, daily, kappa = int(sys.argv[1]), 28, int(sys.argv[2]), float(sys.argv[3])
    fams = []
    for sigma in (1.0, 1.5, 2.0):
        _m, s = gen.lognormal_moments(4.0, sigma)
        fams.append(
            (
                f"lognormal σ={sigma}",
                s,
                lambda shift, seed, sigma=sigma: gen.lognormal(
                    reps,
                    days=days,
                    daily=daily,
                    kappa=kappa,
                    mu=4.0,
                    sigma=sigma,
                    shift=shift,
                    seed=seed,
                ),
            )
        )
    _m, s, _g = gen.zero_inflated_moments(0.01, 4.0, 1.5)
    fams.append(
        (
            "zero-inflated 1% LN(4,1.5)",
            s,
            lambda shift, seed: gen.zero_inflated(
                reps,
                days=days,
                daily=daily,
                kappa=kappa,
                share=0.01,
                mu=4.0,
                sigma=1.5,
                shift=shift,
                seed=seed,
            ),
        )
    )
    if "prop" in sys.argv[5:]:
        fams = []
        for pc in (0.002, 0.01):
            sd = float(np.sqrt(pc * (1 - pc)))
            fams.append(
                (
                    f"proportion p={pc}",
                    sd,
                    lambda shift, seed, pc=pc: gen.proportion(
                        reps,
                        days=days,
                        daily=daily,
                        kappa=kappa,
                        p_control=pc,
                        p_canary=pc + shift,
                        seed=seed,
                    ),
                )
            )
    for name, sd, make in fams:
        s2 = sd**2 / kappa + sd**2 / (1 - kappa)
        margin = seq.rule_margin_for_power(
            s2, days=days, daily_units=daily, n_star=days * daily, min_days=7, reps=4000
        )
        t0 = time.time()
        at_margin = make(margin, 1)
        aa = make(0.0, 2)
        for factor in FACTORS:
            r1 = rule(at_margin, margin, planned_days=days, factor=factor)
            r0 = rule(aa, margin, planned_days=days, factor=factor)
            print(
                f"{name:28s} factor={factor}: margin {margin:.3g}; at margin PROMOTE "
                f"{r1['promote']:.4f}±{mcse(r1['promote'], reps):.4f}; A/A ROLLBACK "
                f"{r0['rollback']:.4f} superior {r0['superior']:.4f} PROMOTE {r0['promote']:.3f}"
                f" valid {r0['valid_share']:.2f}  ({time.time() - t0:.0f}s)"
            )


if __name__ == "__main__":
    main()
