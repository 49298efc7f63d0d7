"""Error rates of the shadow decision rules, by seeded simulation with generators of our own
(not the demo world), on sufficient statistics:

1. disagreement hot spots (``shadow.hotspots``): worlds whose segments differ in risk
   (flag rates from ~0.1% to ~7%), and in ``mixed`` also in risk spread, with models of
   unequal noise and scale and one segment the challenger scores higher, but not in how
   the models' errors depend on risk → the rate of worlds with any false hot spot (BH
   across all values of two segment columns) must stay ≤ α + 3 MCSE, for normal, Student
   t₅ and logistic risk and noise; a planted hot spot (the challenger's noise larger in
   one value) must be found in ≥ 80%;
2. the verdict READY_FOR_CANARY / FIX / CONTINUE_SHADOW (``shadow.checks``), applied to the
   numbers the aggregation hands it: an equivalent challenger (same quality, other noise,
   own threshold from its offline quantile) → false FIX rate; a challenger whose recall at
   its own threshold is lower by exactly the tolerance (5 pp) → FIX ≤ α/2; by 12 pp → FIX
   rate (power).

Each world: 56,000 shadow requests (the demo's volume), two segment columns that are
independent of each other. Rates are printed by ``python tests/test_shadow_sim.py``.
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
WIDTH, HALF = hotspots.GRID
KINDS = {
    # risk distribution, model noise distribution, per-country risk SD, noise SDs
    # (champion, challenger), challenger scale, challenger offset in country k3
    "normal": ("normal", "normal", False, (0.35, 0.35), 1.0, 0.0),
    "t5": ("t5", "t5", False, (0.35, 0.35), 1.0, 0.0),
    "logistic": ("logistic", "logistic", False, (0.35, 0.35), 1.0, 0.0),
    "t5_logistic": ("t5", "logistic", False, (0.35, 0.35), 1.0, 0.0),
    # segments differ in risk mean, risk spread (range restriction), flag rate, and one
    # country where the challenger scores everyone higher; the models differ in noise and
    # scale; the dependence (the models' errors given risk) is the same everywhere
    "mixed": ("t5", "logistic", True, (0.3, 0.5), 1.6, 0.3),
}
RISK_SD = np.array([1.0, 0.6, 1.0, 1.5, 1.0])


def _unit(rng: np.random.Generator, dist: str, n: int) -> np.ndarray:
    """Draws with mean 0 and SD 1."""
    if dist == "t5":
        return rng.standard_t(5, n) * np.sqrt(3 / 5)
    if dist == "logistic":
        return rng.logistic(0, np.sqrt(3) / np.pi, n)
    return rng.standard_normal(n)


def _draw(
    rng: np.random.Generator, n: int, kind: str, hot_noise: float | None
) -> tuple[np.ndarray, ...]:
    """``n`` requests: channel, country, champion and challenger latent scores (logits).

    Risk = channel shift + country shift + a draw (per-country SD in ``mixed``); each model
    sees risk plus its own noise. Planted hot spot: in channel c2 (20% of rows) the
    challenger's noise SD is ``hot_noise``."""
    risk_d, noise_d, spread, (s1, s2), scale, offset = KINDS[kind]
    (pc, mc), (pk, mk) = CHANNEL, COUNTRY
    ch = rng.choice(len(pc), n, p=pc)
    co = rng.choice(len(pk), n, p=pk)
    risk = mc[ch] + mk[co] + _unit(rng, risk_d, n) * (RISK_SD[co] if spread else 1.0)
    sd2 = np.where(ch == 2, s2 if hot_noise is None else hot_noise, s2)
    x = risk + s1 * _unit(rng, noise_d, n)
    y = scale * (risk + sd2 * _unit(rng, noise_d, n)) + offset * (co == 3)
    return ch, co, x, y


def _grid(x: np.ndarray, t: float, flag: np.ndarray) -> np.ndarray:
    """The agreement grid index of frames.shadow_grid.grid_bin, scores already logits."""
    b = np.clip(np.floor((x - t) / WIDTH), -HALF, HALF - 1).astype(np.int64)
    return np.where(flag, np.clip(b, 0, None), np.clip(b, None, -1)) + HALF


def _world_tables(
    ch: np.ndarray, co: np.ndarray, x: np.ndarray, y: np.ndarray, tx: float, ty: float
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict]:
    """One world's segment tables as ``frames.shadow_aggregates`` returns them: 2×2 cells
    per value, the agreement grid per value and per pair of values (numpy counting)."""
    fx, fy = x >= tx, y >= ty
    gc, gh = _grid(x, tx, fx), _grid(y, ty, fy)
    side = 2 * HALF
    nc, nk = len(CHANNEL[0]), len(COUNTRY[0])
    counts = np.bincount(((ch * nk + co) * side + gc) * side + gh, minlength=nc * nk * side**2)
    full = counts.reshape(nc, nk, side, side)
    c1, c2, g1, g2 = np.nonzero(full)
    names_1, names_2 = (
        np.array([f"c{i}" for i in range(nc)]),
        np.array([f"k{j}" for j in range(nk)]),
    )
    pair = pd.DataFrame(
        {"value_1": names_1[c1], "value_2": names_2[c2], "gc": g1, "gh": g2,
         "count": full[c1, c2, g1, g2]}
    )  # fmt: skip
    seg, grids = {}, {}
    for name, axis, names in (("channel", 1, names_1), ("country", 0, names_2)):
        per = full.sum(axis=axis)  # (values, side, side)
        v, g1, g2 = np.nonzero(per)
        grids[name] = pd.DataFrame({"value": names[v], "gc": g1, "gh": g2, "count": per[v, g1, g2]})
        h = HALF
        seg[name] = pd.DataFrame(
            {"value": names, "both": per[:, h:, h:].sum(axis=(1, 2)),
             "champion_only": per[:, h:, :h].sum(axis=(1, 2)),
             "challenger_only": per[:, :h, h:].sum(axis=(1, 2)),
             "neither": per[:, :h, :h].sum(axis=(1, 2)), "pairs": per.sum(axis=(1, 2))}
        )  # fmt: skip
    return seg, grids, {("channel", "country"): pair}


def hot_spot_rates(
    reps: int, kind: str = "normal", *, hot_noise: float | None = None, seed: int = 0
) -> dict[str, float]:
    """Rate of worlds with any false hot spot (BH at α = 5% across the 8 values of two
    columns, confirmation outside stronger hot spots) and, with ``hot_noise``, the rate
    at which the planted channel=c2 is found. Thresholds: each model's 1.5% quantile in a
    large no-hot-spot population (shipped thresholds do not move with the shadow data)."""
    rng = np.random.default_rng(seed)
    _, _, x, y = _draw(rng, 1_000_000, kind, None)
    tx, ty = np.quantile(x, 1 - FLAG_RATE), np.quantile(y, 1 - FLAG_RATE)
    any_false = planted = 0
    flag_rates = []
    for _ in range(reps):
        ch, co, xs, ys = _draw(rng, N, kind, hot_noise)
        seg, grids, pairs = _world_tables(ch, co, xs, ys, tx, ty)
        out = hotspots.hot_spots(seg, grids, pairs, min_n=500, alpha=0.05)
        hot = out[out["hot_spot"]]
        is_planted = (hot["segment"] == "channel") & (hot["value"] == "c2")
        planted += bool(is_planted.any())
        any_false += bool((~is_planted if hot_noise is not None else hot["hot_spot"]).any())
        for g in seg.values():
            flag_rates += list((g["both"] + g["challenger_only"]) / g["pairs"])
    return {
        "reps": reps,
        "any_false_hot_spot": any_false / reps,
        "mcse": float(np.sqrt(max(any_false / reps, 0.05) * 0.95 / reps)),
        "planted_found": planted / reps if hot_noise is not None else float("nan"),
        "flag_rate_min": float(np.min(flag_rates)),
        "flag_rate_max": float(np.max(flag_rates)),
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_segments_that_merely_flag_more_are_not_hot_spots(kind: str) -> None:
    # α = 5% is a false discovery rate (BH); with no hot spot at all it is the probability
    # of any false hot spot, so the bound is α + 3·MCSE of a 5% rate over 200 worlds
    r = hot_spot_rates(200, kind, seed=11)
    assert r["flag_rate_max"] / r["flag_rate_min"] > 5, r  # the segments really differ
    assert r["any_false_hot_spot"] <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200), r


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["normal", "t5_logistic"])
def test_a_planted_hot_spot_is_found(kind: str) -> None:
    # in channel c2 (20% of rows) the challenger's noise SD is 0.6 instead of 0.35
    r = hot_spot_rates(150, kind, hot_noise=0.6, seed=12)
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
        for kind in KINDS:
            print("null", kind, hot_spot_rates(200, kind, seed=11), flush=True)
        for kind in ("normal", "t5_logistic"):
            for hot in (0.45, 0.5, 0.6):
                print("planted", kind, hot, hot_spot_rates(150, kind, hot_noise=hot, seed=12))
    if what in ("all", "verdict"):
        for drop, seed in ((0.05, 22), (0.15, 23), (0.0, 21)):
            print("verdict drop", drop, verdict_rates(300, drop=drop, seed=seed))
