"""Error rates of the shadow decision rules, by seeded simulation with generators of our own
(not the demo world), on sufficient statistics:

1. disagreement hot spots (``shadow.hotspots``): worlds whose segments differ in risk (flag
   rates from ~0.4% to ~6%) but not in how alike the models rank → the rate of worlds with
   any false hot spot (BH across all values of two segment columns) must stay ≤ α; a planted
   hot spot (the challenger's noise larger in one value) must be found in ≥ 80%;
2. the verdict READY_FOR_CANARY / FIX / CONTINUE_SHADOW (``shadow.checks``), applied to the
   numbers the aggregation hands it: an equivalent challenger (same quality, other noise,
   own threshold from its offline quantile) → false FIX rate; a challenger whose recall at
   its own threshold is lower by exactly the tolerance (5 pp) → FIX ≤ α/2; by 12 pp → FIX
   rate (power).

Each world: 56,000 shadow requests over 14 days (the demo's volume), two segment columns
that are independent of each other; risk is a latent normal (or, for robustness, Student t₅
risk with logistic model noise). Rates are printed by ``python tests/test_shadow_sim.py``.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlopskit.policy import ShadowPolicy
from mlopskit.shadow import LATENCY_GRID, hotspots, tables
from mlopskit.shadow.checks import _checks, _verdict
from mlopskit.stats.agreement import ScoreGrid, decision_agreement

N = 56_000
CHANNEL = (np.array([0.5, 0.3, 0.2]), np.array([0.0, 0.8, 0.4]))
COUNTRY = (np.array([0.4, 0.2, 0.2, 0.1, 0.1]), np.array([0.0, 0.0, -0.3, 0.4, 0.9]))
FLAG_RATE = 0.015


# ---------------------------------------------------------------------------------------
# 1. hot spots
# ---------------------------------------------------------------------------------------
def _cell_probs(
    rng: np.random.Generator, noise: float, hot_noise: float, heavy: bool, draws: int = 150_000
) -> tuple[np.ndarray, np.ndarray]:
    """P(combo) and, per (channel, country) combo, P(both, champion only, challenger only,
    neither) with each model at its own threshold (its overall 1.5% quantile).

    Normal risk: exact (within a combo the two scores are bivariate normal; thresholds
    solve the mixture's tail equation; orthant probabilities from scipy's
    multivariate_normal). Student t₅ risk with logistic noise: Monte Carlo, ``draws`` rows
    per combo. A segment value is a mixture of combos, so even the normal world is not
    bivariate normal within a segment value: the copula model is only approximate."""
    from scipy import optimize

    (pc, mc), (pk, mk) = CHANNEL, COUNTRY
    combo_p = np.outer(pc, pk).ravel()
    mu = (mc[:, None] + mk[None, :]).ravel()
    sd_e = np.repeat([noise, noise, hot_noise], len(pk))
    if not heavy:
        sd1, sd2 = np.sqrt(1 + noise**2), np.sqrt(1 + sd_e**2)
        thr = [
            optimize.brentq(
                lambda t, sd=sd: float(np.sum(combo_p * stats.norm.sf((t - mu) / sd))) - FLAG_RATE,
                -10,
                20,
            )
            for sd in (sd1, sd2)
        ]
        cells = []
        for m, s2 in zip(mu, sd2, strict=True):
            h, k, r = (thr[0] - m) / sd1, (thr[1] - m) / s2, 1 / (sd1 * s2)
            mvn = stats.multivariate_normal([0, 0], [[1, r], [r, 1]])
            p11 = float(mvn.cdf([-h, -k]))
            p1, p2 = float(stats.norm.sf(h)), float(stats.norm.sf(k))
            cells.append([p11, p1 - p11, p2 - p11, 1 - p1 - p2 + p11])
        return combo_p, np.array(cells)
    xs = []
    for m, sd in zip(mu, sd_e, strict=True):
        x = m + rng.standard_t(5, draws) * np.sqrt(3 / 5)
        e1 = rng.logistic(0, noise * np.sqrt(3) / np.pi, draws)
        e2 = rng.logistic(0, sd * np.sqrt(3) / np.pi, draws)
        xs.append((x + e1, x + e2))
    w = np.repeat(combo_p / draws, draws)
    thr = []
    for j in (0, 1):
        sc = np.concatenate([c[j] for c in xs])
        order = np.argsort(sc)
        thr.append(sc[order][np.searchsorted(np.cumsum(w[order]), 1 - FLAG_RATE)])
    cells = np.array(
        [
            [
                np.mean((a >= thr[0]) & (b >= thr[1])),
                np.mean((a >= thr[0]) & (b < thr[1])),
                np.mean((a < thr[0]) & (b >= thr[1])),
                np.mean((a < thr[0]) & (b < thr[1])),
            ]
            for a, b in xs
        ]
    )
    return combo_p, cells


def _world_tables(
    rng: np.random.Generator, combo_p: np.ndarray, cells: np.ndarray
) -> tuple[dict[str, pd.DataFrame], dict[tuple[str, str], pd.DataFrame]]:
    """One world's segment tables, as ``frames.shadow_aggregates`` returns them."""
    n_combo = rng.multinomial(N, combo_p)
    counts = np.array(
        [rng.multinomial(n, p / p.sum()) for n, p in zip(n_combo, cells, strict=True)]
    )
    nc, nk = len(CHANNEL[0]), len(COUNTRY[0])
    ch = np.repeat([f"c{i}" for i in range(nc)], nk)
    co = np.tile([f"k{j}" for j in range(nk)], nc)
    joint = pd.DataFrame(counts, columns=list(hotspots.CELLS)).assign(value_1=ch, value_2=co)
    seg = {}
    for name, col in (("channel", "value_1"), ("country", "value_2")):
        g = joint.groupby(col, sort=True)[list(hotspots.CELLS)].sum().reset_index()
        g = g.rename(columns={col: "value"})
        g["pairs"] = g[list(hotspots.CELLS)].sum(axis=1)
        seg[name] = g
    return seg, {("channel", "country"): joint}


def hot_spot_rates(
    reps: int, *, noise: float = 0.35, hot_noise: float = 0.35, heavy: bool = False, seed: int = 0
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    combo_p, cells = _cell_probs(rng, noise, hot_noise, heavy)
    any_false = planted = 0
    for _ in range(reps):
        seg, pairs = _world_tables(rng, combo_p, cells)
        out = hotspots.hot_spots(seg, pairs, min_n=500, alpha=0.05)
        hot = out[out["hot_spot"]]
        is_planted = (hot["segment"] == "channel") & (hot["value"] == "c2")
        if hot_noise != noise:
            planted += bool(is_planted.any())
        any_false += bool((~is_planted if hot_noise != noise else hot["hot_spot"]).any())
    flag_rates = (cells[:, 0] + cells[:, 1]) / cells.sum(axis=1)
    return {
        "reps": reps,
        "any_false_hot_spot": any_false / reps,
        "planted_found": planted / reps if hot_noise != noise else float("nan"),
        "flag_rate_min": float(flag_rates.min()),
        "flag_rate_max": float(flag_rates.max()),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "heavy",
    [
        False,
        # measured failure (issue 13, open): the LR test assumes a Gaussian latent; with t5
        # latents and logistic scores a segment that only flags more is a false hot spot in
        # 87% of 200 worlds (73% of 150 with a planted one). Descriptive only: hot spots do
        # not enter the shadow verdict. Strict: a fix makes this fail until it is removed.
        pytest.param(True, marks=pytest.mark.xfail(strict=True, reason="Gaussian latent")),
    ],
    ids=["normal", "t5_logistic"],
)
def test_segments_that_merely_flag_more_are_not_hot_spots(heavy: bool) -> None:
    # 300 worlds: MCSE of a 5% rate is 1.3%; bound α + 3·MCSE
    r = hot_spot_rates(200, heavy=heavy, seed=11)
    assert r["flag_rate_max"] / r["flag_rate_min"] > 10  # the segments really differ
    assert r["any_false_hot_spot"] <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200), r


@pytest.mark.slow
@pytest.mark.parametrize(
    "heavy",
    [
        False,
        # measured failure (issue 13, open): the LR test assumes a Gaussian latent; with t5
        # latents and logistic scores a segment that only flags more is a false hot spot in
        # 87% of 200 worlds (73% of 150 with a planted one). Descriptive only: hot spots do
        # not enter the shadow verdict. Strict: a fix makes this fail until it is removed.
        pytest.param(True, marks=pytest.mark.xfail(strict=True, reason="Gaussian latent")),
    ],
    ids=["normal", "t5_logistic"],
)
def test_a_planted_hot_spot_is_found(heavy: bool) -> None:
    # in channel c2 (20% of rows) the challenger's noise SD is 0.6 instead of 0.35
    r = hot_spot_rates(150, hot_noise=0.6, heavy=heavy, seed=12)
    assert r["planted_found"] >= 0.8, r
    assert r["any_false_hot_spot"] <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 150), r


# ---------------------------------------------------------------------------------------
# 2. the verdict rule
# ---------------------------------------------------------------------------------------
PREVALENCE_LOGIT = -5.6  # fraud ≈ 0.6%, positives ≈ 340 per world as in the demo


def _recall_world(noise_cl: float) -> dict[str, float]:
    """Population recall of each model at its population 1.5% quantile threshold, by
    quadrature over the risk x ~ N(0, 1.6²): recall = E[expit(b + x)·Φ̄((t − x)/σ)] /
    E[expit(b + x)], t = sd·Φ̄⁻¹(0.015) with sd² = 1.6² + σ² (exact for this model)."""
    x = np.linspace(-12, 12, 48_001)
    w = stats.norm.pdf(x, scale=1.6) / (1 + np.exp(-(PREVALENCE_LOGIT + x)))
    out = {}
    for name, sd_e in (("champion", 0.6), ("challenger", noise_cl)):
        t = np.sqrt(1.6**2 + sd_e**2) * stats.norm.isf(FLAG_RATE)
        out[f"recall_{name}"] = float(np.sum(w * stats.norm.sf((t - x) / sd_e)) / np.sum(w))
    return out


def _noise_for_drop(drop: float) -> float:
    """Challenger noise SD whose recall (own threshold) is ``drop`` below the champion's."""
    if drop == 0:
        return 0.6
    from scipy import optimize

    def gap(sd: float) -> float:
        r = _recall_world(sd)
        return r["recall_champion"] - r["recall_challenger"] - drop

    return float(optimize.brentq(gap, 0.6, 6.0, xtol=1e-8))


def _one_shadow(
    rng: np.random.Generator, noise_cl: float, pol: ShadowPolicy
) -> tuple[str, list[str]]:
    """The numbers ``shadow_profile`` hands its checklist, for one simulated shadow."""
    # offline holdout (20,000 rows) fixes each model's own threshold, with its noise
    xo = rng.standard_normal(20_000) * 1.6
    s1o, s2o = xo + rng.normal(0, 0.6, xo.size), xo + rng.normal(0, noise_cl, xo.size)
    t1, t2 = np.quantile(s1o, 1 - FLAG_RATE), np.quantile(s2o, 1 - FLAG_RATE)
    x = rng.standard_normal(N) * 1.6
    y = rng.random(N) < 1 / (1 + np.exp(-(PREVALENCE_LOGIT + x)))
    s1, s2 = x + rng.normal(0, 0.6, N), x + rng.normal(0, noise_cl, N)
    err_c, err_h = rng.random(N) < 0.0005, rng.random(N) < 0.001
    lost = rng.random(N) < 0.0005
    ok = ~err_c & ~err_h & ~lost
    f1, f2 = s1 >= t1, s2 >= t2
    t: dict[str, int] = {
        "n": N, "error_challenger": int(err_h.sum()), "error_champion": int(err_c.sum()),
        "scored_challenger": int((~err_h & ~lost).sum()), "scored_champion": int((~err_c).sum()),
        "missing_challenger_no_error": int((lost & ~err_h).sum()),
    }  # fmt: skip
    cells = {
        "both": f1 & f2, "champion_only": f1 & ~f2, "challenger_only": ~f1 & f2,
        "neither": ~f1 & ~f2,
    }  # fmt: skip
    for k, m in cells.items():
        for lab in (0, 1):
            t[f"{k}_label{lab}"] = int((m & ok & (y == lab)).sum())
    dec = decision_agreement(*(int((m & ok).sum()) for m in cells.values()))
    # latency: the grid histograms of calls without error (lognormal, 18 ms vs 21 ms median)
    lo_, hi_, nb = LATENCY_GRID

    def hist(lat: np.ndarray) -> np.ndarray:
        b = np.floor((np.log10(lat) - lo_) * nb / (hi_ - lo_)).astype(int)
        return np.bincount(np.clip(b, 0, nb - 1), minlength=nb)

    lat_c = rng.lognormal(np.log(18), 0.35, N)[~err_c]
    lat_h = rng.lognormal(np.log(21), 0.35, N)[~err_h]
    agg = SimpleNamespace(
        latency_champion=hist(lat_c), latency_challenger=hist(lat_h),
        latency_bin_max_champion=None, latency_bin_max_challenger=None,
    )  # fmt: skip
    ops = tables.operations_table(t, agg, pol.alpha)  # type: ignore[arg-type]
    grid = ScoreGrid()
    expit = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    ref = np.bincount(grid.index(expit(s2o - 4)), minlength=grid.n_bins)
    cur = np.bincount(grid.index(expit(s2[ok] - 4)), minlength=grid.n_bins)
    cols = ["model", "n_offline", "n_live", "psi", "psi_critical", "psi_p_value", "psi_bins",
            "ks_d", "ks_d_upper", "ks_critical", "ks_p_value"]  # fmt: skip
    offline_live = pd.DataFrame(
        [tables.parity_row("challenger", ref, cur, pol.alpha)], columns=cols
    )
    warnings: list[str] = []
    labels = tables.labels_table(t, float(t1), float(t2), pol.alpha, warnings)
    checks = _checks(pol, t, dec, 14, offline_live, ops, labels, warnings)
    return str(_verdict(checks)), [c.code for c in checks if c.status == "fail" and c.critical]


def verdict_rates(reps: int, drop: float, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    noise_cl = _noise_for_drop(drop)
    pop = _recall_world(noise_cl)
    pol = ShadowPolicy()
    verdicts, causes = [], []
    for _ in range(reps):
        v, c = _one_shadow(rng, noise_cl, pol)
        verdicts.append(v)
        causes += c
    v = pd.Series(verdicts)
    return {
        "reps": reps,
        "true_recall_drop": pop["recall_champion"] - pop["recall_challenger"],
        "FIX": float((v == "FIX").mean()),
        "READY_FOR_CANARY": float((v == "READY_FOR_CANARY").mean()),
        "CONTINUE_SHADOW": float((v == "CONTINUE_SHADOW").mean()),
        "fix_causes": dict(pd.Series(causes, dtype=object).value_counts()),
    }


@pytest.mark.slow
def test_an_equivalent_challenger_is_rarely_fix() -> None:
    r = verdict_rates(300, drop=0.0, seed=21)
    assert abs(r["true_recall_drop"]) < 1e-9
    assert r["FIX"] <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / 300), r
    assert r["READY_FOR_CANARY"] >= 0.9, r


@pytest.mark.slow
def test_recall_drop_at_the_tolerance_is_fix_at_most_half_alpha() -> None:
    r = verdict_rates(300, drop=0.05, seed=22)
    assert r["true_recall_drop"] == pytest.approx(0.05, abs=1e-6)
    assert r["FIX"] <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / 300), r


@pytest.mark.slow
def test_a_planted_recall_drop_is_fix() -> None:
    r = verdict_rates(200, drop=0.15, seed=23)
    assert r["FIX"] >= 0.8, r
    assert set(r["fix_causes"]) == {"recall"}, r


if __name__ == "__main__":  # print the rates for the notes
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("all", "hot"):
        for heavy in (False, True):
            print("null", "heavy" if heavy else "normal", hot_spot_rates(200, heavy=heavy, seed=11))
            print("planted", "heavy" if heavy else "normal",
                  hot_spot_rates(150, hot_noise=0.6, heavy=heavy, seed=12))  # fmt: skip
    if what in ("all", "verdict"):
        for drop, seed in ((0.05, 22), (0.15, 23), (0.0, 21)):
            print("verdict drop", drop, verdict_rates(300, drop=drop, seed=seed))
