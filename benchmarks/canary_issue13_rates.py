"""Measured error rates of canary_test for issue 13 (the note's table).

Runs the worlds of tests/test_canary_heavy_tails.py through ``canary_test`` with more
replicates and prints PROMOTE-at-the-margin, A/A false ROLLBACK / superior / PROMOTE, and
planned vs achieved power. ``PYTHONPATH=$PWD nice -n 10 python benchmarks/canary_issue13_rates.py [reps]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import _canary_gen as gen
import test_canary_heavy_tails as t

from mlopskit import canary
from mlopskit.canary import Mean, Proportion


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    what = sys.argv[2] if len(sys.argv) > 2 else "errors"
    if what == "errors":
        for kappa in (0.01, 0.05):
            for i, (name, sd, daily, make) in enumerate(t.FAMILIES):
                margin = t._margin(sd, kappa, daily)
                metric = (
                    Proportion("m", "y", margin=margin)
                    if name.startswith("proportion")
                    else Mean("m", "y", margin=margin)
                )
                seed = 9000 + 10 * i + int(kappa * 100)
                at = t._verdicts(make(margin, seed, reps, kappa), metric, kappa)
                aa = t._verdicts(make(0.0, seed + 1, reps, kappa), metric, kappa)
                pr = np.mean([r.verdict == "PROMOTE" for r in at])
                rb = np.mean([r.verdict == "ROLLBACK" for r in aa])
                sup = np.mean([t._superior_ever(r) for r in aa])
                pw = np.mean([r.verdict == "PROMOTE" for r in aa])
                print(
                    f"| {name} | {kappa:.0%} | {margin:.4g} | {pr:.4f} | {rb:.4f} | {sup:.4f} "
                    f"| {pw:.3f} | {t._mcse(t.ALPHA, reps):.4f} |",
                    flush=True,
                )
    else:
        for relative in (False, True):
            for kappa in (0.01, 0.02, 0.05):
                p0, daily = 0.01, 40_000
                metric = Proportion(
                    "m", "y", margin=0.25 if relative else 0.0025, relative=relative
                )
                plan = canary.sample_size(
                    metric, baseline=p0, canary_share=kappa, daily_units=daily, policy=t.POLICY
                )
                days = int(np.ceil(plan.days))
                frac = plan.days - (days - 1)
                arms = gen.proportion(
                    reps, days=days, daily=daily, kappa=kappa, p_control=p0, p_canary=p0,
                    seed=7700 + int(100 * kappa) + relative, last_day_fraction=frac,
                )  # fmt: skip
                res = [
                    canary.canary_test(
                        t._looks(arms, r, frac),
                        metrics=[metric],
                        expected_split=(1 - kappa, kappa),
                        planned_days=plan.planned_days,
                        policy=t.POLICY,
                    )
                    for r in range(reps)
                ]
                got = np.mean([r.verdict == "PROMOTE" for r in res])
                se = np.sqrt(0.16 / reps)
                print(
                    f"| {'relative 25%' if relative else 'absolute 0.0025'} | {kappa:.0%} | "
                    f"{plan.days:.2f} | {plan.power:.3f} | {got:.3f} ± {se:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
