"""Seeded calibration simulations of the canary decision rules (slow; run in CI).

Each replicate is a 28-day canary peeked at the end of every day. Per day and arm we draw
the sufficient statistics directly (units ~ Binomial(daily, κ), events ~ Binomial(units, p))
instead of rows — exact for a proportion metric — and feed the daily cumulative looks to
``canary_history``, i.e. the library's own decision path. Rates are reported with their
Monte Carlo standard error in the assertion messages.

Measured (seeds below, 2,000 replicates unless noted; ± Monte Carlo SE):
A/A peeked daily for 28 days (40,000 units/day, 5% canary, rate 1%, margin 0.002):
false ROLLBACK 0.65% ± 0.18%, false "superior" 1.3% ± 0.25%, ever outside the sequence
1.95% ± 0.31%, PROMOTE 95%; the same canaries decided on naive daily fixed CIs: some day
p < 0.05 in 26.6% ± 1.0%, false ROLLBACK 9.5% ± 0.7%, false "superior" 16.7% ± 0.8%.
Canary exactly at the margin: PROMOTE 1.2% ± 0.24%. Equal canary at 80,000 units/day
(1,000 replicates): PROMOTE first in 99.1% ± 0.3%. Fixed 95% CI coverage at ~100 canary
events: 94.3% ± 0.5% (Wald), 94.0% ± 0.5% (relative ratio, log scale).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlopskit import canary
from mlopskit.canary import ArmStats, CanaryLook, Proportion, Ratio
from mlopskit.policy import CanaryPolicy

pytestmark = pytest.mark.slow

ALPHA1 = 0.025  # one-sided error of each decision (policy canary.alpha)
DAYS = 28
T0 = pd.Timestamp("2026-01-01")
METRIC = Proportion("rate", "y", margin=0.002)
POLICY = CanaryPolicy()  # the defaults of policies/default.yml (tests/test_policy.py), parsed once


def _mcse(rate: float, reps: int) -> float:
    return float(np.sqrt(max(rate * (1 - rate), 1e-12) / reps))


def _looks(nt: np.ndarray, nc: np.ndarray, xt: np.ndarray, xc: np.ndarray) -> list[CanaryLook]:
    nt, nc, xt, xc = (np.cumsum(a).astype(float) for a in (nt, nc, xt, xc))
    return [
        CanaryLook(
            T0 + pd.Timedelta(days=k + 1),
            k + 1.0,
            int(nc[k]),
            int(nt[k]),
            {"rate": ArmStats(nc[k], xc[k], xc[k], xc[k])},
            {"rate": ArmStats(nt[k], xt[k], xt[k], xt[k])},
        )
        for k in range(nt.size)
    ]


def _simulate(
    reps: int,
    *,
    seed: int,
    daily: int = 40_000,
    kappa: float = 0.05,
    p_c: float = 0.01,
    p_t: float = 0.01,
    sequential: bool = True,
) -> list[canary.CanaryHistory]:
    rng = np.random.default_rng(seed)
    nt = rng.binomial(daily, kappa, size=(reps, DAYS))
    nc = daily - nt
    xt, xc = rng.binomial(nt, p_t), rng.binomial(nc, p_c)
    return [
        canary.canary_history(
            _looks(nt[r], nc[r], xt[r], xc[r]),
            metrics=[METRIC],
            sequential=sequential,
            policy=POLICY,
        )
        for r in range(reps)
    ]


def test_aa_canary_peeked_daily_keeps_false_rollback_and_false_superior_below_alpha() -> None:
    reps = 2_000
    hist = _simulate(reps, seed=20260601)
    rollback = np.mean([(h.verdicts.verdict == "ROLLBACK").any() for h in hist])
    superior = np.mean([pd.notna(h.crossings.superior.iloc[0]) for h in hist])
    # time-uniform coverage: the running sequence ever excluding the true difference 0
    outside = np.mean(
        [((h.looks.decision_low > 0) | (h.looks.decision_high < 0)).any() for h in hist]
    )
    msg = (
        f"A/A over {reps} replicates: false ROLLBACK {rollback:.4f} ± {_mcse(rollback, reps):.4f}, "
        f"false superior {superior:.4f} ± {_mcse(superior, reps):.4f}, "
        f"ever outside {outside:.4f} ± {_mcse(outside, reps):.4f}"
    )
    assert rollback <= ALPHA1, msg
    assert superior <= ALPHA1, msg
    assert outside <= 2 * ALPHA1, msg
    # the A/A canary is truly non-inferior: most replicates promote within 28 days
    promoted = np.mean([(h.verdicts.verdict == "PROMOTE").any() for h in hist])
    assert promoted > 0.5, msg + f", promoted {promoted:.3f}"


def test_naive_daily_fixed_tests_exceed_alpha() -> None:
    # The same A/A canaries decided each day on the fixed-horizon CI (sequential=False):
    # the chance that some day shows a "significant" difference is far above 5%
    # (STATISTICS.md §3: ~27% over 28 looks), and false rollbacks exceed 2.5%.
    reps = 2_000
    hist = _simulate(reps, seed=20260602, sequential=False)
    any_sig = np.mean([(h.looks.p_value < 0.05).any() for h in hist])
    rollback = np.mean([(h.verdicts.verdict == "ROLLBACK").any() for h in hist])
    msg = (
        f"naive daily fixed tests: any p < 0.05 {any_sig:.3f} ± {_mcse(any_sig, reps):.3f}, "
        f"false ROLLBACK {rollback:.3f} ± {_mcse(rollback, reps):.3f}"
    )
    assert 0.18 < any_sig < 0.36, msg
    assert rollback > 2 * ALPHA1, msg


def test_canary_worse_than_the_margin_is_rarely_promoted() -> None:
    # true difference exactly at the margin (the least favourable case of "worse than Δ")
    reps = 2_000
    hist = _simulate(reps, seed=20260603, p_c=0.01, p_t=0.01 + METRIC.margin)
    promote = np.mean([(h.verdicts.verdict == "PROMOTE").any() for h in hist])
    msg = f"false PROMOTE at δ = Δ: {promote:.4f} ± {_mcse(promote, reps):.4f} over {reps}"
    assert promote <= ALPHA1, msg


def test_equal_canary_with_ample_traffic_is_promoted() -> None:
    reps = 1_000
    hist = _simulate(reps, seed=20260604, daily=80_000)
    first = [h.verdicts.verdict[h.verdicts.verdict != "CONTINUE"] for h in hist]
    promote = np.mean([len(f) > 0 and f.iloc[0] == "PROMOTE" for f in first])
    msg = f"PROMOTE of an equal canary: {promote:.3f} ± {_mcse(promote, reps):.3f} over {reps}"
    assert promote >= 0.8, msg


def test_fixed_ci_coverage_is_nominal() -> None:
    # One look at 14 days; the fixed 95% CI covers the true difference ~95% of the time,
    # for a proportion (Wald) and a relative ratio metric (log scale, delta method).
    reps, n_units = 2_000, 20_000
    rng = np.random.default_rng(20260605)
    cover_p, cover_r = [], []
    pr = Ratio("loss_per_dollar", "loss", "amount", margin=0.2, relative=True)
    pc, pt, share = 0.02, 0.025, 0.2
    true_rel = pt / pc - 1  # loss = amount · Bernoulli(p), amount independent
    for _ in range(reps):
        t = rng.random(n_units) < share
        amount = rng.lognormal(3.0, 0.7, n_units)
        hit = rng.random(n_units) < np.where(t, pt, pc)
        loss = amount * hit
        look = CanaryLook(
            T0,
            14.0,
            int((~t).sum()),
            int(t.sum()),
            {
                "rate": ArmStats.from_values(hit[~t].astype(float)),
                "loss_per_dollar": ArmStats.from_values(loss[~t], amount[~t]),
            },
            {
                "rate": ArmStats.from_values(hit[t].astype(float)),
                "loss_per_dollar": ArmStats.from_values(loss[t], amount[t]),
            },
        )
        res = canary.canary_test(
            look,
            metrics=[Proportion("rate", "y", margin=0.01), pr],
            expected_split=(1 - share, share),
            sequential=False,
            policy=POLICY,
        )
        a, b = res["rate"], res["loss_per_dollar"]
        cover_p.append(a.ci_low <= pt - pc <= a.ci_high)
        cover_r.append(b.ci_low <= true_rel <= b.ci_high)
    for name, cov in (
        ("proportion (Wald)", np.mean(cover_p)),
        ("ratio (log delta)", np.mean(cover_r)),
    ):
        se = _mcse(float(cov), reps)
        # ±0.02 = 4 Monte Carlo SEs; measured 94.3% (Wald) and 94.0% (log delta) at ~100
        # canary events: the normal approximations run slightly liberal at that size
        assert abs(cov - 0.95) < 0.02, f"{name}: coverage {cov:.4f} ± {se:.4f}"
