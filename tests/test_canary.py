"""canary_test / canary_history: numbers against direct computations, the SQL path, replay,
the decision taxonomy and verdict rules, bad input, rendering, and the demo world."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlopskit import canary, demo
from mlopskit.canary import ArmStats, CanaryLook, Mean, Proportion, Ratio
from mlopskit.policy import CanaryPolicy
from mlopskit.stats.proportions import diff_proportions
from mlopskit.verdict import CanaryVerdict

Backend = Callable[[pd.DataFrame], Any]
START = pd.Timestamp("2026-03-01")
AS_OF = pd.Timestamp("2026-04-10")


def make_log(n: int = 40_000, days: int = 20, share: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """A canary log with late labels, amounts, losses, latencies, errors and a covariate."""
    rng = np.random.default_rng(seed)
    ts = START + pd.to_timedelta(rng.uniform(0, days, n), unit="D")
    arm = np.where(rng.random(n) < share, "canary", "control")
    label = rng.random(n) < 0.03
    flagged = np.where(label, rng.random(n) < 0.6, rng.random(n) < 0.01)
    label_ts = pd.Series(ts + pd.to_timedelta(rng.gamma(2.0, 4.0, n), unit="D")).where(label)
    amount = rng.lognormal(3.5, 0.8, n)
    pre = rng.gamma(4.0, 5.0, n)
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "ts": ts,
            "arm": arm,
            "score": rng.random(n),
            "flagged": flagged,
            "label": label.astype(np.int64),
            "label_ts": label_ts,
            "amount": amount,
            "loss": np.where(label & ~flagged, amount, 0.0),
            "latency_ms": 0.8 * pre + rng.gamma(2.0, 3.0, n) + 0.5 * (arm == "canary"),
            "error": rng.random(n) < 0.004,
            "pre_latency": pre,
        }
    )


METRICS = (
    Proportion("missed", "label & ~flagged", margin=0.004, role="primary"),
    Proportion("false_pos", "flagged & ~label", margin=0.004),
    Ratio("loss_per_dollar", "loss", "amount", margin=0.3, relative=True, role="secondary"),
    Mean("latency_ms", "latency_ms", margin=2.0),
    Proportion("error_rate", "error", margin=0.004),
)


# ---- numbers against direct computations -------------------------------------------------
def test_fixed_numbers_match_direct_computation(to_backend: Backend) -> None:
    df = make_log()
    as_of, mat = START + pd.Timedelta(days=15.5), 7.0
    res = canary.canary_test(
        to_backend(df),
        metrics=METRICS,
        as_of=as_of,
        maturity_days=mat,
        expected_split=(0.9, 0.1),
        sequential=False,
    )
    seen = df[df.ts <= as_of]
    t_, c_ = seen.arm == "canary", seen.arm == "control"
    # SRM: scipy.stats.chisquare on units exposed by as_of
    n_c, n_t = int(c_.sum()), int(t_.sum())
    ref_srm = stats.chisquare([n_c, n_t], f_exp=[0.9 * (n_c + n_t), 0.1 * (n_c + n_t)])
    assert res.srm_p == pytest.approx(ref_srm.pvalue, rel=1e-10)
    assert (res.units_control, res.units_canary) == (n_c, n_t)
    # label-based: only ts + 7 days ≤ as_of, labels arriving within the 7-day window
    mature = seen[seen.ts + pd.Timedelta(days=mat) <= as_of]
    lab = (mature.label == 1) & (mature.label_ts <= mature.ts + pd.Timedelta(days=mat))
    y = (lab & ~mature.flagged).to_numpy()
    mt, mc = (mature.arm == "canary").to_numpy(), (mature.arm == "control").to_numpy()
    ref = diff_proportions(y[mt].sum(), mt.sum(), y[mc].sum(), mc.sum(), alpha=0.05)
    r = res["missed"]
    assert (r.control.n, r.canary.n) == (mc.sum(), mt.sum())
    np.testing.assert_allclose(
        [r.effect, r.ci_low, r.ci_high], [ref.effect, ref.ci_low, ref.ci_high], rtol=1e-10
    )
    # the p-value uses the interval's unpooled Wald SE (issue 13: never a pooled p beside
    # an unpooled interval): 2·Φ(−|d|/SE), SE as in confint_proportions_2indep(method="wald")
    assert r.p_value == pytest.approx(2 * stats.norm.sf(abs(ref.effect) / ref.se), rel=1e-10)
    assert r.matured_share == pytest.approx(len(mature) / len(seen))
    assert r.ci_method == "wald"
    # mean: scipy.stats.ttest_ind(canary, control, equal_var=False)
    lat_t, lat_c = seen.latency_ms[t_].to_numpy(), seen.latency_ms[c_].to_numpy()
    w = stats.ttest_ind(lat_t, lat_c, equal_var=False)
    ci = w.confidence_interval(0.95)
    r = res["latency_ms"]
    np.testing.assert_allclose(
        [r.effect, r.p_value, r.ci_low, r.ci_high],
        [lat_t.mean() - lat_c.mean(), w.pvalue, ci.low, ci.high],
        rtol=1e-9,
    )
    assert r.ci_method == "welch"
    # relative ratio metric: log(R_t/R_c) ± z·sqrt(Var R_t/R_t² + Var R_c/R_c²), delta method
    y2 = np.where(mature.label_ts <= mature.ts + pd.Timedelta(days=mat), mature.loss, 0.0)
    x2 = mature.amount.to_numpy()

    def ratio(sel: np.ndarray) -> tuple[float, float]:
        yy, xx = y2[sel], x2[sel]
        c = np.cov(yy, xx)
        rr = yy.mean() / xx.mean()
        v = (c[0, 0] - 2 * rr * c[0, 1] + rr**2 * c[1, 1]) / (xx.mean() ** 2 * sel.sum())
        return rr, v

    (rt, vt), (rc, vc) = ratio(mt), ratio(mc)
    lam, se = np.log(rt / rc), np.sqrt(vt / rt**2 + vc / rc**2)
    r = res["loss_per_dollar"]
    # se_log is the analysis-scale SE; se is on the ratio − 1 scale of `effect` (issue 13)
    np.testing.assert_allclose(
        [r.effect, r.se_log, r.se, r.ci_low, r.ci_high],
        [
            rt / rc - 1,
            se,
            rt / rc * se,
            np.expm1(lam - 1.959963984540054 * se),
            np.expm1(lam + 1.959963984540054 * se),
        ],
        rtol=1e-9,
    )


def test_swapping_arms_flips_the_effect() -> None:
    df = make_log(seed=2)
    swapped = df.assign(arm=np.where(df.arm == "canary", "control", "canary"))
    kw: dict[str, Any] = {
        "metrics": METRICS[3:],
        "as_of": AS_OF,
        "maturity_days": 7.0,
        "sequential": False,
    }
    a = canary.canary_test(df, expected_split=(0.9, 0.1), **kw).to_frame()
    b = canary.canary_test(swapped, expected_split=(0.1, 0.9), **kw).to_frame()
    np.testing.assert_allclose(a.effect, -b.effect, rtol=1e-12)
    np.testing.assert_allclose(a.ci_low, -b.ci_high, rtol=1e-9)


def test_preaggregated_sql_statistics_enter_the_same_way() -> None:
    # What a SQL GROUP BY day, arm returns (COUNT, SUM, SUM of squares, cross products),
    # summed into daily cumulative looks with ArmStats.__add__.
    df = make_log(seed=3)
    metrics = (
        Mean("latency_ms", "latency_ms", margin=2.0),
        Proportion("error_rate", "error", margin=0.004),
        Ratio("score_per_dollar", "score", "amount", margin=0.5, relative=True),
    )
    as_of = START + pd.Timedelta(days=20)
    df["day"] = df.ts.dt.floor("D")
    looks, cum = [], {a: {m.name: ArmStats() for m in metrics} for a in ("control", "canary")}
    first = df.ts.min()
    units = {"control": 0, "canary": 0}
    for day, g in df.groupby("day"):
        for a, ga in g.groupby("arm"):
            units[str(a)] += len(ga)
            cum[str(a)]["latency_ms"] += ArmStats.from_values(ga.latency_ms)
            cum[str(a)]["error_rate"] += ArmStats.from_values(ga.error.astype(float))
            cum[str(a)]["score_per_dollar"] += ArmStats.from_values(ga.score, ga.amount)
        end = pd.Timestamp(day) + pd.Timedelta(days=1)
        looks.append(
            CanaryLook(
                end,
                (end - first) / pd.Timedelta(days=1),
                units["control"],
                units["canary"],
                dict(cum["control"]),
                dict(cum["canary"]),
                exposure_days=(g.ts.max() - first) / pd.Timedelta(days=1),
            )
        )
    from_sql = canary.canary_test(looks, metrics=metrics, expected_split=(0.9, 0.1))
    from_log = canary.canary_test(
        df.drop(columns="day"), metrics=metrics, as_of=as_of, expected_split=(0.9, 0.1)
    )
    cols = [
        "effect",
        "se",
        "ci_low",
        "ci_high",
        "cs_low",
        "cs_high",
        "p_harm",
        "row",
        "days_to_decision",
    ]
    pd.testing.assert_frame_equal(from_sql.to_frame()[cols], from_log.to_frame()[cols], rtol=1e-9)
    assert from_sql.verdict == from_log.verdict


def test_history_equals_replay_as_of_each_day() -> None:
    df = make_log(seed=4)
    kw: dict[str, Any] = {"metrics": METRICS, "maturity_days": 5.0, "expected_split": (0.9, 0.1)}
    hist = canary.canary_history(df, as_of=START + pd.Timedelta(days=24), **kw)
    assert len(hist.verdicts) == 24
    for day in (6, 11, 17, 24):
        as_of = START + pd.Timedelta(days=day)
        res = canary.canary_test(df, as_of=as_of, **kw)
        rows = hist.looks[hist.looks.as_of == as_of].set_index("metric")
        got = res.to_frame().set_index("metric")
        for col in ("effect", "decision_low", "decision_high", "row", "n_canary"):
            np.testing.assert_allclose(rows[col].astype(float), got[col].astype(float), rtol=1e-10)
        assert hist.verdicts.set_index("as_of").loc[as_of, "verdict"] == str(res.verdict)
    # boundary crossings are the first day the (monotone) interval crossed
    lat = hist.looks[hist.looks.metric == "latency_ms"]
    crossed = hist.crossings.set_index("metric").loc["latency_ms", "non_inferior"]
    assert crossed == lat.loc[lat.decision_high < 2.0, "as_of"].min()
    assert np.all(np.diff(lat.decision_high.dropna()) <= 0)  # running intersection


def test_cuped_uses_the_pooled_theta_and_shrinks_the_se() -> None:
    df = make_log(seed=5)
    m = (Mean("latency_ms", "latency_ms", margin=2.0),)
    kw: dict[str, Any] = {
        "metrics": m,
        "as_of": AS_OF,
        "expected_split": (0.9, 0.1),
        "sequential": False,
    }
    plain = canary.canary_test(df, **kw)["latency_ms"]
    adj = canary.canary_test(df, covariate="pre_latency", **kw)["latency_ms"]
    y, z, t = df.latency_ms.to_numpy(), df.pre_latency.to_numpy(), (df.arm == "canary").to_numpy()
    theta = np.cov(y, z)[0, 1] / z.var(ddof=1)
    ya = y - theta * (z - z.mean())
    assert adj.theta == pytest.approx(theta, rel=1e-9)
    assert adj.effect == pytest.approx(ya[t].mean() - ya[~t].mean(), rel=1e-9)
    assert adj.se == pytest.approx(
        np.sqrt(ya[t].var(ddof=1) / t.sum() + ya[~t].var(ddof=1) / (~t).sum()), rel=1e-9
    )
    rho = np.corrcoef(y, z)[0, 1]
    assert adj.se / plain.se == pytest.approx(np.sqrt(1 - rho**2), rel=0.05)
    assert adj.ci_method.startswith("cuped")


# ---- taxonomy and verdicts ---------------------------------------------------------------
def test_taxonomy_oracle() -> None:
    # STATISTICS.md §2, Δ = 0.0005, 95% fixed CI d ± 1.96·SE
    z = stats.norm.isf(0.025)
    cases = [
        ((-0.0008, 0.0002), 2),
        ((0.0001, 0.0001), 3),
        ((0.0004, 0.0001), 5),
        ((0.0012, 0.0002), 4),
        ((0.0005, 0.0005), 7),
    ]
    for (d, se), row in cases:
        assert canary.classify(d, d - z * se, d + z * se, 0.0005) == row
        # mirror image for a higher-is-better metric
        assert canary.classify(-d, -d - z * se, -d + z * se, -0.0005, direction="higher") == row
    # design power of the inconclusive case: Φ(Δ/SE − z_{0.975}) = 0.17
    assert stats.norm.sf(z - 0.0005 / 0.0005) == pytest.approx(0.17, abs=0.005)
    assert canary.TAXONOMY[5] == "worse_margin_not_excluded"


def _prop(x: float, n: float) -> ArmStats:
    return ArmStats(n=n, events=x, sum=x, sum_squares=x)


def _look(
    stats_by_metric: dict[str, tuple[ArmStats, ArmStats]],
    days: float = 20.0,
    units: tuple[int, int] = (190_000, 10_000),
) -> CanaryLook:
    return CanaryLook(
        pd.Timestamp("2026-05-01"),
        days,
        units[0],
        units[1],
        {k: v[0] for k, v in stats_by_metric.items()},
        {k: v[1] for k, v in stats_by_metric.items()},
    )


def _harm_stats(z: float) -> tuple[ArmStats, ArmStats]:
    """Control 1% of 190,000; canary count giving a Wald z of about ``z``."""
    pc, nt = 0.01, 10_000
    x = 0.01 * nt
    for _ in range(3):  # fixed point on the canary count for a target z
        pt = x / nt
        se = np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / 190_000)
        x = (pc + z * se) * nt
    return _prop(1_900, 190_000), _prop(round(x), nt)


def test_guardrail_harm_rolls_back_and_holm_controls_two_guardrails() -> None:
    g1, g2 = Proportion("g1", "a", margin=0.003), Proportion("g2", "b", margin=0.003)
    one = canary.canary_test(_look({"g1": _harm_stats(2.3)}), metrics=(g1,), sequential=False)
    assert one.verdict == CanaryVerdict.ROLLBACK
    assert one["g1"].row == 5
    assert any(r.code == "g1" and r.critical for r in one.reasons)
    assert "Harm shown" in one.summary() and "&lt; 0.025" in one._repr_html_()  # escaped
    # two guardrails with one-sided p ≈ 0.011 and 0.023: Holm's smallest adjusted p ≈ 0.022
    # still harms; with p ≈ 0.016 and 0.023 (adjusted ≈ 0.032) neither does.
    two = canary.canary_test(
        _look({"g1": _harm_stats(2.15), "g2": _harm_stats(2.0)}), metrics=(g1, g2), sequential=False
    )
    p = sorted(r.p_harm for r in two.metrics)
    assert 2 * p[0] > 0.025 and p[0] < 0.025
    assert two.verdict == CanaryVerdict.CONTINUE


def test_promote_with_worse_but_within_margin_warning_and_min_days() -> None:
    m = (Proportion("g1", "a", margin=0.01),)
    res = canary.canary_test(_look({"g1": _harm_stats(2.5)}), metrics=m, sequential=False)
    assert res["g1"].row == 3 and res.verdict == CanaryVerdict.PROMOTE
    assert any("statistically worse than control but within the margin" in w for w in res.warnings)
    early = canary.canary_test(
        _look({"g1": _harm_stats(0.0)}, days=3.0), metrics=m, sequential=False
    )
    assert early.verdict == CanaryVerdict.CONTINUE
    assert early.days_to_decision == pytest.approx(4.0)
    assert any(r.code == "min_days" for r in early.reasons)


def test_inconclusive_at_max_duration_takes_the_policy_action() -> None:
    m = (Proportion("g1", "a", margin=0.0005),)
    look = _look({"g1": _harm_stats(0.0)}, days=100.0)
    held = canary.canary_test(look, metrics=m, sequential=False)
    assert held.verdict == CanaryVerdict.CONTINUE
    assert any(r.code == "max_duration" and r.critical for r in held.reasons)
    rolled = canary.canary_test(
        look, metrics=m, sequential=False, policy=CanaryPolicy(inconclusive_action="rollback")
    )
    assert rolled.verdict == CanaryVerdict.ROLLBACK
    young = canary.canary_test(
        _look({"g1": _harm_stats(0.0)}, days=10.0), metrics=m, sequential=False
    )
    assert young.verdict == CanaryVerdict.CONTINUE and young["g1"].row in (6, 7)
    # projected days: n·(SE/SE_target)² − n at the observed traffic (10,000 units/day)
    r = young["g1"]
    z = stats.norm.isf(0.025) + stats.norm.ppf(0.8)
    n = 200_000
    assert young.days_to_decision == pytest.approx(
        (n * (r.se * z / 0.0005) ** 2 - n) / 20_000, rel=1e-9
    )
    assert r.design_power == pytest.approx(stats.norm.sf(stats.norm.isf(0.025) - 0.0005 / r.se))
    assert any(r.code == "days_to_decision" for r in young.reasons)
    # a label metric's data lag its 90-day window: its maximum counts from then (issue 13)
    lab = (Proportion("g1", "label", margin=0.0005, label_based=True),)
    waiting = canary.canary_test(_look({"g1": _harm_stats(0.0)}, days=100.0), metrics=lab,
                                 sequential=False)  # fmt: skip
    assert not any(r.code == "max_duration" for r in waiting.reasons)
    late = canary.canary_test(_look({"g1": _harm_stats(0.0)}, days=180.0), metrics=lab,
                              sequential=False)  # fmt: skip
    why = next(r for r in late.reasons if r.code == "max_duration")
    assert "maximum 90 days + the 90-day label window" in why.message and why.threshold == 180


def test_margin_not_excluded_hold_policy_and_secondary_metrics() -> None:
    g = Proportion("g1", "a", margin=0.003)
    res = canary.canary_test(
        _look({"g1": _harm_stats(2.3)}),
        metrics=(g,),
        sequential=False,
        policy=CanaryPolicy(margin_not_excluded_action="hold"),
    )
    assert res["g1"].row == 5 and res.verdict == CanaryVerdict.CONTINUE
    assert any(r.code == "margin_not_excluded" and r.critical for r in res.reasons)
    # an inconclusive secondary metric does not block PROMOTE; its harm rolls back
    ok = Proportion("ok", "a", margin=0.01)
    sec = Proportion("sec", "b", margin=0.0001, role="secondary")
    res = canary.canary_test(
        _look({"ok": _harm_stats(0.0), "sec": _harm_stats(0.0)}),
        metrics=(ok, sec),
        sequential=False,
    )
    assert res["sec"].row in (6, 7) and res.verdict == CanaryVerdict.PROMOTE
    res = canary.canary_test(
        _look({"ok": _harm_stats(0.0), "sec": _harm_stats(3.0)}),
        metrics=(ok, sec),
        sequential=False,
    )
    assert res.verdict == CanaryVerdict.ROLLBACK


def test_srm_is_invalid_first() -> None:
    m = (Proportion("g1", "a", margin=0.01),)
    res = canary.canary_test(_look({"g1": _harm_stats(0.0)}, units=(188_000, 12_000)), metrics=m)
    assert res.verdict == CanaryVerdict.INVALID
    assert res.reasons[0].code == "srm" and res.reasons[0].passed is False
    # reference: scipy.stats.chisquare([188000, 12000], f_exp=[190000, 10000])
    assert res.srm_p == pytest.approx(stats.chisquare([188_000, 12_000], [190_000, 10_000]).pvalue)


def test_burn_in_keeps_sparse_metrics_insufficient() -> None:
    m = (Proportion("rare", "a", margin=0.01),)
    res = canary.canary_test(_look({"rare": (_prop(40, 190_000), _prop(4, 10_000))}), metrics=m)
    assert res["rare"].row == 1 and res.verdict == CanaryVerdict.CONTINUE
    assert np.isnan(res["rare"].cs_low)
    assert res["rare"].ci_method == "newcombe"


# ---- declarations, sufficient statistics, bad input ----------------------------------------
def test_arm_stats_add_like_concatenation() -> None:
    rng = np.random.default_rng(0)
    y, x, z = rng.normal(size=(3, 50))
    whole = ArmStats.from_values(y, x, z)
    parts = ArmStats.from_values(y[:20], x[:20], z[:20]) + ArmStats.from_values(
        y[20:], x[20:], z[20:]
    )
    for f in (
        "n",
        "events",
        "sum",
        "sum_squares",
        "denominator_sum",
        "sum_products",
        "covariate_sum_products",
    ):
        assert getattr(parts, f) == pytest.approx(getattr(whole, f))
    assert whole.mean == pytest.approx(y.mean())


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (
            lambda: Proportion("m", "label", margin=-0.01),
            r"metric `m`: for a lower-is-better metric the margin .* must be > 0; got margin=-0.01",
        ),
        (
            lambda: Proportion("m", "label", margin=0.01, direction="higher"),
            r"for a higher-is-better metric the margin .* must be < 0; got margin=0.01",
        ),
        (lambda: Mean("m", "x", margin=0.0), r"`margin` must be a finite non-zero number; got 0"),
        (
            lambda: Proportion("m", "label | flagged", margin=0.1),
            r"could not read 'label \| flagged'",
        ),
        (lambda: Mean("m", "x", margin=1.0, role="boss"), r"`role` must be one of"),
        (lambda: Mean("m", "x & y", margin=1.0), r"a mean metric takes one column"),
        (
            lambda: Ratio("m", "x", "y", margin=-2.0, relative=True, direction="higher"),
            r"a relative margin must be > −1",
        ),
    ],
)
def test_bad_metric_declarations(build: Callable[[], Any], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        build()


def test_non_binary_statistics_for_a_proportion_are_rejected() -> None:
    bad = ArmStats(n=100, events=10, sum=10, sum_squares=30)
    with pytest.raises(
        ValueError, match=r"metric `g1`, arm control: a proportion needs 0/1 values"
    ):
        canary.canary_test(
            _look({"g1": (bad, _prop(1, 10))}), metrics=(Proportion("g1", "a", margin=0.1),)
        )


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda d: d.drop(columns=["arm"]), r"canary log: required column `arm` is missing"),
        (
            lambda d: d.assign(arm=np.where(d.arm == "canary", "treatment", d.arm)),
            r"canary log: column `arm` must be 'control' or 'canary'; found \d[\d,]* of 40,000 rows .*'treatment'",
        ),
        (
            lambda d: pd.concat(
                [
                    d,
                    d.iloc[[0, 1]].assign(
                        arm=np.where(d.arm.iloc[[0, 1]] == "canary", "control", "canary")
                    ),
                ]
            ),
            r"canary log: 2 units appear in both arms \(column `unit_id`\), e.g. \[0, 1\]",
        ),
        (
            lambda d: pd.concat([d, d.iloc[[5]]]),
            r"column `unit_id` must be unique \(one row per randomization unit\); found 1 repeated rows, e.g. \[5\].*aggregate events per unit",
        ),
        (
            lambda d: d.assign(
                label_ts=d.label_ts.where(d.index != 7, d.ts - pd.Timedelta(hours=1)),
                label=d.label.where(d.index != 7, 1),
            ),
            r"canary log: column `label_ts` must not be earlier than `ts`; found 1 of 40,000",
        ),
        (
            lambda d: d.assign(amount=d.amount.where(d.index != 3, -5.0)),
            r"canary log: column `amount` must be ≥ 0; found 1 of 40,000 rows violating it, e.g. \[-5.0\]",
        ),
        (
            lambda d: d[d.arm == "control"],
            r"canary log: arm 'canary' has no units exposed up to as_of=.*found arms \['control'\]",
        ),
        (
            lambda d: d.drop(columns=["latency_ms"]),
            r"canary log: column `latency_ms` is required by the declared metrics but is missing",
        ),
    ],
)
def test_bad_input_names_what_was_found(
    to_backend: Backend, mutate: Callable[[pd.DataFrame], pd.DataFrame], pattern: str
) -> None:
    df = mutate(make_log(seed=6))
    with pytest.raises(ValueError, match=pattern):
        canary.canary_test(to_backend(df), metrics=METRICS, as_of=AS_OF, maturity_days=7)


def test_bad_parameters() -> None:
    df = make_log(n=2_000, seed=7)
    with pytest.raises(ValueError, match="`as_of` is required for a canary log"):
        canary.canary_test(df, metrics=METRICS)
    with pytest.raises(
        ValueError, match=r"`expected_split` must be two positive shares .* got \(0.9, 0.2\)"
    ):
        canary.canary_test(df, metrics=METRICS, as_of=AS_OF, expected_split=(0.9, 0.2))
    with pytest.raises(ValueError, match=r"`metrics` names must be unique"):
        canary.canary_test(df, metrics=METRICS[:1] * 2, as_of=AS_OF)
    with pytest.raises(ValueError, match=r"`maturity_days` must be a number ≥ 0; got -1"):
        canary.canary_test(df, metrics=METRICS, as_of=AS_OF, maturity_days=-1)
    with pytest.raises(ValueError, match=r"`as_of` is timezone-aware"):
        canary.canary_test(df, metrics=METRICS, as_of=pd.Timestamp("2026-04-01", tz="UTC"))


def test_timezone_aware_logs_and_duckdb() -> None:
    duckdb = pytest.importorskip("duckdb")
    df = make_log(n=5_000, seed=8)
    kw: dict[str, Any] = {"metrics": METRICS, "maturity_days": 7, "expected_split": (0.9, 0.1)}
    naive = canary.canary_test(df, as_of=AS_OF, **kw).to_frame()
    aware = df.assign(ts=df.ts.dt.tz_localize("UTC"), label_ts=df.label_ts.dt.tz_localize("UTC"))
    tz = canary.canary_test(aware, as_of=AS_OF, **kw).to_frame()
    pd.testing.assert_frame_equal(naive, tz)
    rel = duckdb.from_df(df)
    pd.testing.assert_frame_equal(naive, canary.canary_test(rel, as_of=AS_OF, **kw).to_frame())


# ---- rendering -------------------------------------------------------------------------------
def test_result_renders_and_plots() -> None:
    df = make_log(seed=9)
    kw: dict[str, Any] = {"metrics": METRICS, "maturity_days": 7, "expected_split": (0.9, 0.1)}
    res = canary.canary_test(df, as_of=AS_OF, **kw)
    frame = res.to_frame()
    assert list(frame.columns[:8]) == [
        "metric",
        "role",
        "kind",
        "direction",
        "relative",
        "margin",
        "n_control",
        "n_canary",
    ]
    assert {
        "effect",
        "ci_low",
        "ci_high",
        "cs_low",
        "cs_high",
        "p_value",
        "taxonomy",
        "design_power",
        "days_to_decision",
        "matured_share",
    } <= set(frame.columns)
    assert str(res.verdict) in res.summary()
    html = res._repr_html_()
    assert "Canary" in html and "<table" in html and "<script" not in html
    assert re.search(r"<table\b[^>]*><caption>Decisions on confidence sequences", html)
    ax = res.plot()
    assert ax.get_title().startswith("Canary vs control") and ax.get_xlabel()
    hist = canary.canary_history(df, as_of=AS_OF, **kw)
    ax = hist.plot(metric="latency_ms")
    assert ax.get_title() == "latency_ms: effect and interval by day" and ax.get_ylabel()
    hist_html = hist._repr_html_()
    assert (
        "<caption>Boundary crossings (first look at which each was crossed)</caption>" in hist_html
    )
    assert "<caption>Verdict by day</caption>" in hist_html
    with pytest.raises(ValueError, match=r"`metric` 'nope' is not in the history"):
        hist.plot(metric="nope")
    plan = canary.sample_size(METRICS[0], baseline=0.01, daily_units=2_000)
    ax = plan.plot()
    assert "power" in ax.get_ylabel() and len(ax.get_lines()) >= 5
    assert "units" in plan.summary() and "<table" in plan._repr_html_()
    plt.close("all")


# ---- the demo world --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def worlds() -> dict[str, demo.DemoWorld]:
    # srm and latency need no label maturity nor full volume: a 6/94 split of 10,000 units
    # a day is still a p far below 0.001, a 48 ms challenger is harmful within days; errors
    # keeps the full volume (at 10,000 a day the control has < 10 errors on day 1, and the
    # challenger's 3 ms latency excess stops it first)
    small = {"canary_daily_volume": 10_000, "n_days": 80}
    sizes = {"srm": small, "latency": small, "errors": {"n_days": 80}}
    return {
        name: demo.generate(name, **sizes.get(name, {}))
        for name in ("better", "worse", "srm", "latency", "errors")
    }


@pytest.mark.parametrize("name", ["better", "worse", "srm", "latency", "errors"])
def test_demo_world_verdicts(worlds: dict[str, demo.DemoWorld], name: str) -> None:
    """The default policy (label window = the 90-day label horizon) decides as the world
    was built: the canary ran on days 2–30, so its labels are mature at the as-of."""
    world = worlds[name]
    res = canary.canary_test(world.canary_log, as_of=world.as_of)
    assert str(res.verdict) == world.truth.expected["canary"]
    # the canary stops at its first terminal verdict (issue 13): numbers are that look's
    if name == "better":
        assert res["fraud_missed_rate"].row in (2, 3)
        assert res.decision_expected is None
        labels = [m.metric.name for m in res.metrics if m.metric.label_based]
        assert [lw.metric for lw in res.label_windows] == labels
        for lw in res.label_windows:
            # W = horizon: F̂(W) = 1 in both arms by definition, nothing to bias
            assert lw.window_days == lw.horizon_days == 90
            assert lw.maturity_control == lw.maturity_canary == 1.0 and not lw.biased
            # at the as-of every canary unit is past its window: the sensitivity row on all
            # labels is the eventual effect, and the decision's effect is on matured units
            assert lw.all_labels_low <= lw.all_labels_effect <= lw.all_labels_high
        frame = res.label_frame()
        assert list(frame["metric"]) == labels and frame["all_labels_effect"].notna().all()
    if name == "worse":
        assert any(r.row in (4, 5) for r in res.metrics)
    if name in ("latency", "errors"):
        col = "latency_ms" if name == "latency" else "error_rate"
        assert res[col].row in (4, 5)
    if name == "srm":
        # the canary stops at the first SRM alarm (sequential test, p < srm_alpha)
        assert (
            res.srm_p < 0.001 and res.units_canary / (res.units_control + res.units_canary) > 0.055
        )


def test_demo_short_label_window_is_checked_for_differential_maturity(
    worlds: dict[str, demo.DemoWorld],
) -> None:
    """A 30-day window (the old default) is reported with F̂(30) per arm: in the demo the
    missed frauds arrive slower than the caught ones, so the arms mature differently."""
    world = worlds["better"]
    res = canary.canary_test(world.canary_log, as_of=world.as_of, maturity_days=30)
    lw = {w.metric: w for w in res.label_windows}
    assert set(lw) == {"fraud_missed_rate", "false_positive_rate", "loss_per_dollar"}
    for w in lw.values():
        assert w.window_days == 30 and w.horizon_days == 90 and w.oldest_age == 90
        assert 0 < w.maturity_control < 1 and 0 < w.maturity_canary < 1
    # sensitivity row = the eventual effect (every unit is older than the horizon)
    full = canary.canary_test(world.canary_log, as_of=world.as_of)
    for w in full.label_windows:
        assert lw[w.metric].all_labels_effect == pytest.approx(w.all_labels_effect)


def test_demo_small_canary_after_two_days_continues_with_a_days_estimate() -> None:
    world = demo.generate("better", canary_share=0.01, n_days=80)
    start = world.canary_log.ts.min().normalize()
    # latency is left out: the "better" challenger is ~3 ms slower, which the sequence
    # already shows as harm on day 1 (margin not excluded → ROLLBACK, where it stops)
    res = canary.canary_test(
        world.canary_log,
        metrics=[m for m in canary.default_metrics() if m.name != "latency_ms"],
        as_of=start + pd.Timedelta(days=2),
        maturity_days=30,
        expected_split=(0.99, 0.01),
    )
    assert res.verdict == CanaryVerdict.CONTINUE
    assert np.isfinite(res.days_to_decision) and res.days_to_decision >= 28
    assert res.days_lower_bound  # labels have not matured yet: "at least"
    assert any(r.code == "days_to_decision" and "at least" in r.message for r in res.reasons)
    assert res["fraud_missed_rate"].row == 1 and res["fraud_missed_rate"].matured_share == 0


@pytest.mark.parametrize(("day", "harm"), [(8, 0.0), (24, 0.0), (24, 4.0)])
def test_history_final_is_the_canary_test(day: int, harm: float) -> None:
    """The report takes canary_test's result from the history's final look (one analysis
    of the log, report/evidence.canary_phase): every field must be the same, for a
    continuing canary and for one that stopped at an earlier look (harm: ROLLBACK)."""
    df = make_log(seed=4)
    df.loc[df.arm == "canary", "latency_ms"] += harm
    kw: dict[str, Any] = {"metrics": METRICS, "maturity_days": 5.0, "expected_split": (0.9, 0.1)}
    as_of = START + pd.Timedelta(days=day)
    res = canary.canary_test(df, as_of=as_of, **kw)
    final = canary.canary_history(df, as_of=as_of, **kw).final
    assert repr(final) == repr(res)
    pd.testing.assert_frame_equal(final.to_frame(), res.to_frame(), check_exact=True)
    assert final == res
    assert (res.stopped_at is not None) == (harm > 0)
