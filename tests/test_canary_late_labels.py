"""The late-labels guard of canary label windows (round 5): a window W shorter than the
labels' horizon is not decided when the labels arriving after W work against the
decision — the case the value-weighted chain ladder misses when a few huge values
arrive late in one arm (its Mack SE is enormous, so ``|log F̂_t/F̂_c|`` is "not
significant" and an uncapped loss metric PROMOTEd at +1025 against a margin of 5).

The statistic is checked against unit-level numpy/pandas and ``scipy.stats.bootstrap``;
the error rates come from seeded worlds (tests/_canary_gen.py ``late_loss_looks``: score-
dependent delays, missing values, lognormal and Pareto losses, unequal arms, daily looks)
run through ``canary_test``, with the guard on and off (``evaluate.LATE_GUARD``).
"""

from __future__ import annotations

import json
from pathlib import Path

import _canary_gen as gen
import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator
from scipy import stats
from test_canary_label_windows import START, _tail_log

from mlopskit import canary, frames
from mlopskit.canary import evaluate
from mlopskit.canary.labels import LabelArrivals, late_excess, late_guard
from mlopskit.frames.canary import CanaryMetricSpec
from mlopskit.policy import Policy
from mlopskit.report.card import _label_window
from mlopskit.report.sections import label_windows_frame

T0 = pd.Timestamp("2026-01-01")


def _units(seed: int, n: int, days: int, tail: tuple[float, float], ratio: bool = False):
    """Unit-level arms: cohort, label part, whole-day delay, denominator x."""
    rng = np.random.default_rng(seed)
    out = {}
    for arm, k in (("control", 4 * n), ("canary", n)):
        day = rng.integers(0, days, k)
        lab = rng.random(k) < 0.1
        big = rng.random(k) < tail[arm == "canary"]
        y = np.where(lab, rng.lognormal(3.0, 0.5, k), 0.0)
        y = np.where(big, 500.0 * (1 + rng.pareto(2.5, k)), y)
        delay = np.where(big, rng.integers(20, 30, k), rng.integers(0, 12, k))
        x = rng.lognormal(2.0, 0.3, k) if ratio else np.ones(k)
        out[arm] = pd.DataFrame({"day": day, "y": y, "delay": delay, "x": x})
    return out


def _arrivals(units: dict[str, pd.DataFrame], days: int, horizon: int) -> LabelArrivals:
    """The cell sums of the units (what frames.canary_label_arrivals aggregates)."""
    sums: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("k", "q", "c", "b", "b2")}
    for arm, d in units.items():
        for key, v in (("k", d.y), ("q", d.y**2), ("c", d.y * d.x)):
            tri = np.zeros((days, horizon))
            np.add.at(tri, (d.day.to_numpy(), d.delay.to_numpy()), v.to_numpy())
            sums[key][arm] = tri
        sums["b"][arm] = np.bincount(d.day, weights=d.x, minlength=days)
        sums["b2"][arm] = np.bincount(d.day, weights=d.x**2, minlength=days)
    starts = (T0 + pd.to_timedelta(np.arange(days), unit="D")).to_numpy()
    return LabelArrivals(
        starts, T0 + pd.Timedelta(days=200), sums["b"], sums["k"], 1.0, None,
        sums["q"], sums["c"], sums["b2"],
    )  # fmt: skip


@pytest.mark.parametrize("ratio", [False, True], ids=["mean", "ratio"])
def test_late_excess_matches_unit_level_references(ratio: bool) -> None:
    days, horizon, w = 12, 40, 7
    units = _units(5, 3_000, days, (0.0, 0.0), ratio)
    arr = _arrivals(units, days, horizon)
    # (1) a look at which the younger cohorts have not observed every delay column: the
    # additive estimate, direct from the units (pandas): column j's mean over the cohorts
    # at least j + 1 days old (complete ages: floor(t − day start) − 1)
    t = T0 + pd.Timedelta(days=horizon + 3)
    age = np.floor((t - (T0 + pd.to_timedelta(np.arange(days), unit="D"))) / pd.Timedelta(1, "D"))
    age = age.to_numpy() - 1

    def column_sum(d: pd.DataFrame, cols: range) -> float:
        tot = 0.0
        for j in cols:
            seen = d[age[d.day.to_numpy()] >= j + 1]
            tot += seen.y[seen.delay == j].sum() / seen.x.sum()
        return tot

    p = {a: column_sum(d, range(w)) for a, d in units.items()}
    late = {a: column_sum(d, range(w, horizon)) for a, d in units.items()}
    r = late["control"] / p["control"]
    le = late_excess(arr, t, w, horizon, False, 0.0, 0.025)
    assert le.excess == pytest.approx(late["canary"] - r * p["canary"], rel=1e-9, abs=1e-12)
    # (2) every cohort past the horizon: the SE (pooled over the arms, the variance under
    # equal arms — these arms are equal) against the bootstrap SE of the same estimator,
    # scipy.stats.bootstrap((idx_t, idx_c), D, paired=False, method="basic").standard_error
    t = T0 + pd.Timedelta(days=days + horizon + 2)
    le = late_excess(arr, t, w, horizon, False, 0.0, 0.025)
    arrs = {
        a: np.stack([np.where(d.delay < w, d.y, 0.0), np.where(d.delay >= w, d.y, 0.0), d.x])
        for a, d in units.items()
    }

    def d_hat(it: np.ndarray, ic: np.ndarray, axis: int = -1) -> np.ndarray:
        ct, cc = arrs["canary"][:, it], arrs["control"][:, ic]  # (3, batch, n)
        r_ = cc[1].sum(axis) / cc[0].sum(axis)
        return (ct[1].sum(axis) - r_ * ct[0].sum(axis)) / ct[2].sum(axis)

    it, ic = np.arange(len(units["canary"])), np.arange(len(units["control"]))
    assert le.excess == pytest.approx(float(d_hat(it[None], ic[None])[0]), rel=1e-9)
    boot = stats.bootstrap(
        (it, ic), d_hat, paired=False, vectorized=True, n_resamples=2_000, method="basic",
        random_state=np.random.default_rng(1),
    )  # fmt: skip
    assert le.se == pytest.approx(boot.standard_error, rel=0.1)
    # (3) the pooled variance by hand on the units: Σ_arm Σ_i (l − r·w − D_arm·x)² / X_arm
    # pooled per unit of base, over X_t; plus P_t²·Var(r̂)
    d_arm, s2 = {}, {}
    for a, (win, lt, x) in arrs.items():
        d_arm[a] = (lt.sum() - r * win.sum()) / x.sum()
        s2[a] = ((lt - r * win - d_arm[a] * x) ** 2).sum() / x.sum()
    win_c, lt_c, _ = arrs["control"]
    r_full = lt_c.sum() / win_c.sum()
    xt, xc = arrs["canary"][2].sum(), arrs["control"][2].sum()
    pooled = (xc * s2["control"] + xt * s2["canary"]) / (xc + xt) / xt
    pt = arrs["canary"][0].sum() / xt
    var_r = ((lt_c - r_full * win_c) ** 2).sum() / win_c.sum() ** 2
    assert le.se == pytest.approx(np.sqrt(pooled + pt**2 * var_r), rel=1e-9)


def test_guard_fires_only_against_the_decision_beyond_the_tolerance() -> None:
    units = _units(6, 3_000, 12, (0.0, 0.01))  # a late Pareto tail in the canary only
    arr = _arrivals(units, 12, 40)
    le = late_excess(arr, T0 + pd.Timedelta(days=60), 7, 40, False, 0.0, 0.025)
    assert le.excess > 0 and le.low > 0  # ≈ 0.01 × 833 late loss per canary unit
    margin = 1.0
    assert late_guard(le, 1.0, 2, margin, 0.025, 0.1)  # PROMOTE-able row: refused
    assert late_guard(le, 1.0, 3, margin, 0.025, 0.1)
    assert not late_guard(le, 1.0, 4, margin, 0.025, 0.1)  # harm row: the tail agrees
    assert not late_guard(le, 1.0, 1, margin, 0.025, 0.1)
    assert not late_guard(le, 1.0, 2, 1e6, 0.025, 0.1)  # tiny against this margin
    assert late_guard(le, -1.0, 4, -margin, 0.025, 0.1)  # higher-is-better: favours canary
    # hand-built arrivals without the squares: not computed, never guarded
    bare = LabelArrivals(arr.day_starts, arr.as_of, arr.base, arr.delay_sums, 1.0)
    assert np.isnan(late_excess(bare, T0 + pd.Timedelta(days=60), 7, 40, False, 0, 0.025).se)


def test_uncapped_heavy_tail_arriving_late_is_not_promoted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The round-4 defect: 30 canary losses of 50k–200k arrive after 20–35 days; the 7-day
    window misses them. Before: PROMOTE. Now: CONTINUE, the guard's reason, no date."""
    df = _tail_log()
    as_of = START + pd.Timedelta(days=70)
    m = canary.Mean("loss", "loss", margin=5.0, window_days=7)
    pol = Policy({"labels": {"horizon_days": 45}})

    def run() -> canary.CanaryResult:
        return canary.canary_test(
            df, metrics=[m], as_of=as_of, expected_split=(0.8, 0.2), policy=pol
        )

    monkeypatch.setattr(evaluate, "LATE_GUARD", False)
    old = run()
    assert old.verdict == "PROMOTE" and not old.label_windows[0].biased  # the defect
    monkeypatch.setattr(evaluate, "LATE_GUARD", True)
    res = run()
    assert res.verdict == "CONTINUE"
    lw = res.label_windows[0]
    assert lw.late_guarded and not lw.biased
    # every cohort is past the horizon: the excess is the canary's late mass beyond the
    # control's maturing, ≈ the all-labels difference (+1025, the controls' late part
    # being proportional to their window part)
    assert lw.late_excess == pytest.approx(lw.all_labels_effect, rel=0.01)
    assert lw.late_excess_low > 0.1 * 5.0 and lw.late_excess_share > 100
    reason = next(r for r in res.reasons if r.code == "loss")
    assert "labels arriving after the 7-day window" in reason.message
    assert "declare window_days=45" in reason.message
    assert res.decision_expected is None  # the window cannot decide on these data
    assert any("late-labels guard" in w for w in res.warnings)
    assert not any(r.code == "days_to_decision" for r in res.reasons)
    # one number per quantity: decision.json row, schema-valid, and the report cell
    row = _label_window(lw)
    assert row["late_guarded"] is True and row["late_excess"] == pytest.approx(lw.late_excess)
    schema = json.loads(Path("mlopskit/schemas/decision.schema.json").read_text())
    items = schema["$defs"]["canary"]["properties"]["label_windows"]["items"]
    Draft202012Validator(items).validate(row)
    cell = label_windows_frame(res)["late labels beyond control's maturing (share of margin)"]
    assert cell.iloc[0].endswith("; not decided")


def test_capped_metric_with_a_negated_label_is_refused_by_the_arrival_pass() -> None:
    # metrics cannot express it (a mean/ratio numerator is one un-negated column; a
    # proportion takes no cap) ...
    with pytest.raises(ValueError, match="takes one column"):
        canary.Mean("x", "~loss", margin=1.0, cap=10.0)
    with pytest.raises(ValueError, match="`cap` applies to mean metrics"):
        canary.Metric("x", "proportion", "flagged & ~label", margin=0.01, cap=1.0)
    with pytest.raises(TypeError, match="cap"):
        canary.Proportion("x", "flagged & ~label", margin=0.01, cap=1.0)  # type: ignore[call-arg]
    # ... and a hand-built spec is refused by name, not capped on the wrong quantity
    df = _tail_log()
    lf = frames.canary_validate(df, columns=None, needed=["loss", "flagged"])
    spec = CanaryMetricSpec("odd", (("flagged", False), ("label", True)), label_based=True, cap=0.5)
    with pytest.raises(ValueError, match="canary metric `odd`: `cap` with a negated label"):
        frames.canary_label_arrivals(
            lf, [spec], as_of=START + pd.Timedelta(days=70), horizon_days=45
        )


# ---- error rates (slow, seeded; through canary_test) ----------------------------------
def _rates(world: gen.LossWorld, margin: float, guard: bool) -> dict[str, float]:
    evaluate.LATE_GUARD = guard
    try:
        m = canary.Mean("loss", "loss", margin=margin, window_days=7)
        pol = Policy({"labels": {"horizon_days": 45}})
        res = [
            canary.canary_test(lk, metrics=[m], expected_split=(0.8, 0.2), policy=pol)
            for lk in world.looks
        ]
    finally:
        evaluate.LATE_GUARD = True
    v = np.array([str(r.verdict) for r in res])
    days = np.array([r.days for r in res])
    out = {k: float(np.mean(v == k)) for k in ("PROMOTE", "ROLLBACK", "CONTINUE")}
    out["days"] = float(np.mean(days))
    return out


# world, margin, reps: the canary's late tail (share, Pareto xm/α) and losses
_WORLDS = {
    # the defect: 0.75% of canary units lose Pareto(1.5, 20k) after 20–36 days (+450/unit)
    "late tail 900x margin": (dict(tail_share=(0.0, 0.0075)), 0.5, 100),
    # a milder late tail, 30× the margin (infinite-variance Pareto(1.5, 2k))
    "late tail 30x margin": (dict(tail_share=(0.0, 0.0025), tail_xm=2000.0), 0.5, 100),
    # canary worse by exactly the margin, only through a late Pareto tail
    # (Pareto(1.5, 100): ~7 late canary values of ≥ 100 per run carry the whole effect)
    "late tail at margin": (dict(tail_share=(0.0, 0.5 / 300), tail_xm=100.0), 0.5, 100),
    # canary worse by exactly the margin on the 7-day window (the declared estimand when
    # the arms mature alike), equal score-dependent delays, light tails: the shift of each
    # loss is margin/(p·F(7)), F(7) = ∫ Gamma(2, 1 + 4(1 − u)).cdf(7) du = 0.69198
    # (scipy.integrate.quad over u of scipy.stats.gamma.cdf(7, 2, scale=1 + 4(1 − u)))
    "at margin, light": (dict(shift_canary=0.5 / (0.05 * 0.6919817655643804)), 0.5, 100),
    # equal arms: light tails; Pareto(1.5) late tails in both arms
    "A/A light": (dict(), 0.5, 100),
    "A/A late Pareto tails": (dict(tail_share=(0.0025, 0.0025), tail_xm=2000.0), 0.5, 100),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_WORLDS))
def test_late_guard_error_rates(name: str) -> None:
    kw, margin, reps = _WORLDS[name]
    world = gen.late_loss_looks(reps, seed=sum(map(ord, name)), **kw)
    old, new = _rates(world, margin, False), _rates(world, margin, True)
    mcse = float(np.sqrt(0.025 * 0.975 / reps))
    print(f"{name}: eventual effect {world.eventual_effect:.3g}, margin {margin}; "
          f"old {old}; guard {new} ({reps} reps)")  # fmt: skip
    worse = world.eventual_effect >= margin - 1e-12
    if worse and name == "late tail at margin":
        # a harm-detection guard, not a non-inferiority test of the late part: at exactly
        # the margin, carried by ~7 late Pareto(1.5) values per run, it roughly halves the
        # false PROMOTEs (measured 0.50 → 0.28 of 100) but does not bring them to α — a
        # known limit, stated in the module docstring; asserted: it never makes it worse
        assert new["PROMOTE"] <= old["PROMOTE"], (old, new)
        assert new["PROMOTE"] < 0.5 * old["PROMOTE"] + 3 * mcse, (old, new)
    elif worse:  # PROMOTE is false
        assert new["PROMOTE"] <= 0.025 + 3 * mcse, new
        if world.eventual_effect > 10 * margin:
            assert old["PROMOTE"] > 0.1, old  # the round-4 rule promoted these
    else:  # equal arms: ROLLBACK is false; the guard costs at most α of the decisions
        assert new["ROLLBACK"] <= 0.025 + 3 * mcse, new
        assert new["PROMOTE"] >= old["PROMOTE"] - (0.025 + 3 * mcse), (old, new)
    if name == "A/A light":  # ordinary canaries decide as fast as before
        assert new == old
