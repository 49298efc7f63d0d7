"""Is a data-derived cap worth offering? (issue 13, Build 1; the note's table).

Latency lognormal(4, σ), 4,000 units a day, 28 daily looks through ``canary_test``. The cap
is either the declared number (the true control p99) or derived from the data and then
frozen: the p99 of day 1's control values (``data``) or of day 1 pooled over both arms
(``pooled``). Prints the cap's spread across replicates and PROMOTE at the capped margin,
A/A false ROLLBACK / superior / PROMOTE.
``PYTHONPATH=$PWD nice -n 10 python benchmarks/canary_capped_datacap.py [reps] [sigma] [kappa] [mode]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _canary_gen as gen

from mlopskit import canary
from mlopskit.canary import ArmStats, CanaryLook, Mean
from mlopskit.policy import CanaryPolicy
from mlopskit.stats import sequential as seq

T0 = pd.Timestamp("2026-01-01")
DAYS, DAILY, MU = 28, 4_000, 4.0


def _world(rng: np.random.Generator, reps: int, sigma: float, kappa: float, mu_t: float,
           mode: str, cap0: float) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:  # fmt: skip
    n_t = round(kappa * DAILY)
    n_c = DAILY - n_t
    zc = np.exp(MU + sigma * rng.standard_normal((reps, DAYS, n_c), dtype=np.float32))
    zt = np.exp(mu_t + sigma * rng.standard_normal((reps, DAYS, n_t), dtype=np.float32))
    if mode == "data":
        caps = np.quantile(zc[:, 0, :].astype(float), 0.99, axis=1)
    elif mode == "pooled":
        caps = np.quantile(np.concatenate([zc[:, 0], zt[:, 0]], axis=1).astype(float), 0.99, 1)
    else:
        caps = np.full(reps, cap0)
    out = []
    for z in (zc, zt):
        y = z.astype(np.float64)
        c = np.minimum(y, caps[:, None, None])
        d = {
            "n": np.full((reps, DAYS), float(z.shape[2])),
            "events": np.full((reps, DAYS), float(z.shape[2])),
            "sum": c.sum(-1),
            "sum_squares": (c * c).sum(-1),
            "sum_cubes": (c**3).sum(-1),
            "above_cap": (y > caps[:, None, None]).sum(-1).astype(float),
            "uncapped_sum": y.sum(-1),
            "uncapped_sum_squares": (y * y).sum(-1),
        }
        out.append({k: np.cumsum(v, 1) for k, v in d.items()})
    return out, caps


def _run(arms: list[dict[str, np.ndarray]], caps: np.ndarray, margin: float, kappa: float):
    c, t = arms
    res = []
    for r in range(caps.size):
        m = Mean("m", "y", margin=margin, cap=float(caps[r]), cap_margin=0.01)

        def st(a: dict[str, np.ndarray], k: int, r: int = r) -> ArmStats:
            return ArmStats(**{f: float(a[f][r, k]) for f in a})

        looks = [
            CanaryLook(T0 + pd.Timedelta(days=k + 1), float(k + 1), int(c["n"][r, k]),
                       int(t["n"][r, k]), {"m": st(c, k)}, {"m": st(t, k)})
            for k in range(DAYS)
        ]  # fmt: skip
        res.append(
            canary.canary_test(
                looks, metrics=[m], expected_split=(1 - kappa, kappa), policy=CanaryPolicy()
            )
        )
    return res


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    sigma = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    kappa = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05
    mode = sys.argv[4] if len(sys.argv) > 4 else "data"
    cap0 = float(np.exp(MU + sigma * stats.norm.isf(0.01)))
    sd = gen.capped_lognormal_sd(MU, sigma, cap0)
    s2 = sd**2 / kappa + sd**2 / (1 - kappa)
    margin = seq.rule_margin_for_power(
        s2, days=DAYS, daily_units=DAILY, n_star=DAYS * DAILY, min_days=7, reps=4_000
    )
    base = gen.capped_lognormal_mean(MU, sigma, cap0)
    mu_m = optimize.brentq(
        lambda x: gen.capped_lognormal_mean(x, sigma, cap0) - base - margin, MU, MU + 3
    )
    rng = np.random.default_rng(77)
    ra = _run(*_world(rng, reps, sigma, kappa, mu_m, mode, cap0), margin, kappa)
    arms_b, caps_b = _world(rng, reps, sigma, kappa, MU, mode, cap0)
    rb = _run(arms_b, caps_b, margin, kappa)

    def rate(rs: list, v: str) -> float:
        return float(np.mean([str(r.verdict) == v for r in rs]))

    superior = float(np.mean([r.metrics[0].row == 2 for r in rb]))
    print(
        f"cap {mode}, sigma {sigma}, canary {kappa:.0%}, {reps} replicates: cap SD "
        f"{np.std(caps_b) / cap0:.3f} of {cap0:.0f}; PROMOTE at the capped margin "
        f"{rate(ra, 'PROMOTE'):.3f}; A/A false ROLLBACK {rate(rb, 'ROLLBACK'):.3f}, false "
        f"superior {superior:.3f}, PROMOTE {rate(rb, 'PROMOTE'):.3f}"
    )


if __name__ == "__main__":
    main()
