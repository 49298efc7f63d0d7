"""CI gate helpers (quality, feature parity, staging smoke) and the demo world in the registry."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _auc_reference import delong_cov
from _registry_helpers import add_version, render_report, trust_hand_written_reports
from scipy import stats

from mlopskit import demo
from mlopskit.policy import Policy
from mlopskit.registry import Registry, RegistryError, Stage, register_demo, sha256_file
from mlopskit.registry.gates import (
    GateFailed,
    feature_parity_gate,
    model_quality_gate,
    report_gate,
    staging_smoke_test,
)


@pytest.fixture(autouse=True)
def _lifecycle_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand-written reports stand in for rendered ones here (see trust_hand_written_reports)."""
    from mlopskit.registry.gates import rederive

    monkeypatch.setattr(rederive, "rederive", rederive.rederive)  # restored after
    trust_hand_written_reports()


@pytest.fixture(scope="module")
def world() -> demo.DemoWorld:
    # a smaller world than the default (30,000 holdout rows, ~200 positives): faster, enough
    return demo.generate("better", daily_volume=2000, canary_daily_volume=2000)


@pytest.fixture(scope="module")
def demo_registry(
    world: demo.DemoWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Registry, Path]]:
    out = tmp_path_factory.mktemp("demo_better")
    demo.write(world, out)
    register_demo(world, out, out / "registry.sqlite")
    yield Registry(out / "registry.sqlite"), out


def _offline(world: demo.DemoWorld) -> pd.DataFrame:
    return world.offline.assign(row_id=np.arange(len(world.offline)))


# --------------------------------------------------------------------------------------
# Model-quality gate
# --------------------------------------------------------------------------------------
def test_quality_gate_on_the_demo_holdout_matches_truth_and_delong(world: demo.DemoWorld) -> None:
    res = model_quality_gate(
        "fraud_v2.3", world.offline, scorer="score_challenger", thresholds={"auc": 0.85},
        production="score_champion", production_model="fraud_v2.2",
    )  # fmt: skip
    assert res.passed, res.summary()
    (m,) = res.metrics
    assert m.estimate == pytest.approx(world.truth.auc_challenger, abs=1e-6)
    assert m.production_estimate == pytest.approx(world.truth.auc_champion, abs=1e-6)
    y = world.offline["label"].to_numpy()
    ref = delong_cov(y, world.offline["score_challenger"].to_numpy(),
                     world.offline["score_champion"].to_numpy())  # fmt: skip
    # DeLong (paired) against the O(mn) kernel reference in tests/_auc_reference.py
    assert m.se == pytest.approx(np.sqrt(ref[0, 0]), rel=1e-9)
    assert m.diff_se == pytest.approx(np.sqrt(ref[0, 0] + ref[1, 1] - 2 * ref[0, 1]), rel=1e-9)
    assert m.diff == pytest.approx(m.estimate - m.production_estimate, rel=1e-12)
    alone = model_quality_gate("fraud_v2.3", world.offline, scorer="score_challenger",
                               thresholds={"auc": 0.85}).metrics[0]  # fmt: skip
    assert (alone.estimate, alone.se) == (pytest.approx(m.estimate), pytest.approx(m.se))
    z = stats.norm.isf(0.05)
    assert m.diff_ci_low == pytest.approx(m.diff - z * m.diff_se, rel=1e-12)
    assert m.non_inferior and m.diff_ci_low > -0.01
    assert m.power_at_equality == pytest.approx(stats.norm.cdf(0.01 / m.diff_se - z), rel=1e-12)
    assert (res.n, res.n_pos) == (len(y), int(y.sum()))
    res.raise_if_failed()


def test_quality_gate_catches_the_worse_challenger() -> None:
    w = demo.generate("worse", daily_volume=2000, canary_daily_volume=2000)
    res = model_quality_gate(
        "fraud_v2.3", w.offline, scorer="score_challenger", thresholds={"auc": 0.85},
        production="score_champion", production_model="fraud_v2.2",
    )  # fmt: skip
    assert not res.passed
    failed = {r.code for r in res.reasons if r.passed is False}
    assert failed == {"auc_non_inferiority"}
    assert res.metrics[0].diff < -0.02
    with pytest.raises(GateFailed, match=r"auc vs Production fraud_v2\.2") as err:
        res.raise_if_failed()
    assert isinstance(err.value, AssertionError)  # pytest shows it as a plain failed assert


def test_quality_gate_scorer_object_and_backends(
    world: demo.DemoWorld, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    sub = world.offline.iloc[:20000].reset_index(drop=True)
    by_column = model_quality_gate("fraud_v2.3", to_backend(sub), scorer="score_challenger",
                                   thresholds={"auc": 0.8})  # fmt: skip
    by_model = model_quality_gate("fraud_v2.3", sub, scorer=world.challenger,
                                  thresholds={"auc": 0.8})  # fmt: skip
    assert by_column.metrics == by_model.metrics


@pytest.mark.parametrize(
    ("offset_in_z_se", "rule", "passed"),
    [
        (-2.0, "not_below", True),
        (-2.0, "above", True),
        (0.5, "not_below", True),  # estimate a little below the floor: noise, not a failure
        (0.5, "above", False),  # ... but quality is not demonstrated
        (2.0, "not_below", False),
        (2.0, "above", False),
    ],
)
def test_threshold_rules(
    world: demo.DemoWorld, offset_in_z_se: float, rule: str, passed: bool
) -> None:
    base = model_quality_gate("fraud_v2.2", world.offline, scorer="score_champion",
                              thresholds={"auc": 0.5})  # fmt: skip
    m = base.metrics[0]
    floor = m.estimate + offset_in_z_se * (m.ci_high - m.estimate)
    res = model_quality_gate("fraud_v2.2", world.offline, scorer="score_champion",
                             thresholds={"auc": floor}, threshold_rule=rule)  # type: ignore[arg-type]  # fmt: skip
    assert res.passed is passed
    assert res.metrics[0].threshold_passed is passed and res.threshold_rule == rule


def test_brier_metric_against_statsmodels_and_scipy(world: demo.DemoWorld) -> None:
    from statsmodels.stats.weightstats import DescrStatsW

    y = world.offline["label"].to_numpy(float)
    new, old = (
        world.offline["score_challenger"].to_numpy(),
        world.offline["score_champion"].to_numpy(),
    )
    res = model_quality_gate(
        "fraud_v2.3", world.offline, scorer="score_challenger", production="score_champion",
        thresholds={"brier": 0.01}, margins={"brier": 0.001},
    )  # fmt: skip
    (m,) = res.metrics
    e_new, e_old = (new - y) ** 2, (old - y) ** 2
    # reference: statsmodels DescrStatsW(e).mean / .std_mean
    assert m.estimate == pytest.approx(DescrStatsW(e_new).mean, rel=1e-12)
    assert m.se == pytest.approx(DescrStatsW(e_new).std_mean, rel=1e-9)
    # reference: scipy.stats.ttest_rel(e_new, e_old).statistic = diff / paired SE
    assert m.diff / m.diff_se == pytest.approx(stats.ttest_rel(e_new, e_old).statistic, rel=1e-9)
    assert m.direction == "lower" and m.threshold_passed and m.non_inferior


def test_quality_gate_needs_enough_positives(world: demo.DemoWorld) -> None:
    small = world.offline.iloc[:5000]
    res = model_quality_gate("fraud_v2.3", small, scorer="score_challenger",
                             thresholds={"auc": 0.5})  # fmt: skip
    assert not res.passed
    assert any(r.code == "min_positives" and r.passed is False for r in res.reasons)
    assert "the gate needs ≥ 100 of each to judge" in res.summary()


def test_small_test_set_warns_about_power(world: demo.DemoWorld) -> None:
    res = model_quality_gate(
        "fraud_v2.3", world.offline.iloc[:20000], scorer="score_challenger",
        production="score_champion", margins={"auc": 0.002},
    )  # fmt: skip
    assert res.metrics[0].power_at_equality < 0.8
    assert any("passes only" in w for w in res.warnings)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thresholds": {"recall": 0.5}}, "unknown metric 'recall'"),
        ({"thresholds": None}, "give `thresholds` and/or `production`"),
        ({"thresholds": {"auc": 0.5}, "scorer": 3}, "must be a column name or an object"),
        ({"thresholds": {"auc": 0.5}, "scorer": "nope"}, r"column\(s\) \['nope'\] missing"),
        ({"thresholds": {"auc": 0.5}, "threshold_rule": "maybe"}, "`threshold_rule`"),
    ],
)
def test_quality_gate_argument_errors(world: demo.DemoWorld, kwargs: dict, message: str) -> None:
    args: dict[str, Any] = {"scorer": "score_challenger", **kwargs}
    with pytest.raises(ValueError, match=message):
        model_quality_gate("fraud_v2.3", world.offline.iloc[:1000], **args)


def test_quality_gate_renderings(world: demo.DemoWorld) -> None:
    res = model_quality_gate(
        "fraud_v2.3", world.offline, scorer="score_challenger", thresholds={"auc": 0.85},
        production="score_champion", production_model="<b>fraud_v2.2</b>",
    )  # fmt: skip
    df = res.to_frame()
    for col in ("metric", "estimate", "se", "ci_low", "ci_high", "threshold", "diff", "diff_se",
                "margin", "non_inferior", "power_at_equality", "threshold_rule", "n", "n_pos"):  # fmt: skip
        assert col in df.columns
    html = res._repr_html_()
    assert "&lt;b&gt;fraud_v2.2&lt;/b&gt;" in html and "<b>fraud_v2.2</b>" not in html
    record = json.loads(json.dumps(res.to_record()))
    assert record["gate"] == "model_quality" and record["passed"] is True
    ax = res.plot()
    assert "fraud_v2.3" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def _binormal(rng: np.random.Generator, n: int, auc_new: float, auc_old: float) -> pd.DataFrame:
    y = rng.random(n) < 0.1
    e = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=n)
    mu_new, mu_old = (np.sqrt(2) * stats.norm.ppf(a) for a in (auc_new, auc_old))
    return pd.DataFrame({"label": y.astype(int), "new": mu_new * y + e[:, 0],
                         "old": mu_old * y + e[:, 1]})  # fmt: skip


@pytest.mark.slow
def test_non_inferiority_gate_error_rates_simulation() -> None:
    """Binormal scores (AUC = Φ(μ/√2)), the two models correlated (ρ = 0.8) on the same rows.

    At a true difference of exactly −margin the gate must pass at most ~α of the time; an
    equally good candidate must pass at the rate the result predicts (power_at_equality).
    """
    rng = np.random.default_rng(2024)
    pol = Policy(raw={"registry": {"auc_margin": 0.02}})
    reps, n = 300, 4000
    worse_pass, equal_pass, predicted = [], [], []
    for _ in range(reps):
        for auc_new, sink in ((0.83, worse_pass), (0.85, equal_pass)):
            r = model_quality_gate("m_v1", _binormal(rng, n, auc_new, 0.85), scorer="new",
                                   production="old", policy=pol)  # fmt: skip
            sink.append(r.passed)
            if auc_new == 0.85:
                predicted.append(r.metrics[0].power_at_equality)
    se_binom = np.sqrt(0.05 * 0.95 / reps)
    assert np.mean(worse_pass) <= 0.05 + 2.5 * se_binom
    p = float(np.mean(predicted))
    assert abs(np.mean(equal_pass) - p) <= 3 * np.sqrt(p * (1 - p) / reps)


@pytest.mark.slow
def test_threshold_rules_error_rates_simulation() -> None:
    """True AUC exactly at the floor: 'not_below' fails ≈ α of builds, 'above' passes ≈ α."""
    rng = np.random.default_rng(7)
    pol = Policy()  # the defaults (== policies/default.yml), parsed once
    reps, floor = 400, 0.85
    fails, passes = [], []
    for _ in range(reps):
        df = _binormal(rng, 3000, floor, floor)
        below = model_quality_gate("m_v1", df, scorer="new", thresholds={"auc": floor}, policy=pol)
        above = model_quality_gate(
            "m_v1", df, scorer="new", thresholds={"auc": floor}, threshold_rule="above", policy=pol
        )
        fails.append(not below.passed)
        passes.append(above.passed)
    tol = 3 * np.sqrt(0.05 * 0.95 / reps)
    assert abs(np.mean(fails) - 0.05) <= tol
    assert abs(np.mean(passes) - 0.05) <= tol


# --------------------------------------------------------------------------------------
# Feature parity
# --------------------------------------------------------------------------------------
PARITY_FEATURES = ("amount", "country", "channel", "hour", "device_risk", "distance_km")


def test_parity_identical_features_pass(
    world: demo.DemoWorld, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    off = _offline(world)[["row_id", *PARITY_FEATURES]].iloc[:5000]
    res = feature_parity_gate("fraud_v2.3", to_backend(off.copy()), to_backend(off),
                              key="row_id", features=PARITY_FEATURES)  # fmt: skip
    assert res.passed, res.summary()
    assert [f.n_mismatch for f in res.features] == [0] * len(PARITY_FEATURES)
    assert res.n_training == res.n_recomputed == 5000
    assert res.features[0].n_compared == 5000


def test_parity_finds_and_shows_injected_bugs(
    world: demo.DemoWorld, to_backend: Callable[[pd.DataFrame], Any]
) -> None:
    training = _offline(world)[["row_id", *PARITY_FEATURES]].iloc[:6000].copy()
    training.loc[training.index[:4], "device_risk"] = np.nan  # missing on both sides: equal
    recomputed = training.copy()
    web = recomputed["channel"] == "web"
    recomputed.loc[web, "amount"] = recomputed.loc[web, "amount"].round(0)  # a rounding bug
    late = recomputed["hour"] == 23
    recomputed.loc[late, "country"] = recomputed.loc[late, "country"].str.lower()
    recomputed.loc[recomputed.index[10:13], "device_risk"] = np.nan  # value lost
    recomputed.loc[recomputed.index[20], "distance_km"] *= 1 + 1e-9  # within rtol: fine
    recomputed = recomputed.drop(index=recomputed.index[[100, 101, 102]])
    extra = recomputed.iloc[:2].assign(row_id=[10**7, 10**7 + 1])
    recomputed = pd.concat([recomputed, extra], ignore_index=True)
    res = feature_parity_gate("fraud_v2.3", to_backend(recomputed), to_backend(training),
                              key="row_id", features=PARITY_FEATURES)  # fmt: skip
    assert not res.passed
    kept = training.drop(index=training.index[[100, 101, 102]])
    expected = {
        "amount": int(((kept["channel"] == "web") & (kept["amount"].round(0) != kept["amount"])).sum()),
        "country": int(((kept["hour"] == 23) & (kept["country"].str.lower() != kept["country"])).sum()),
        "device_risk": 3,
        "channel": 0, "hour": 0, "distance_km": 0,
    }  # fmt: skip
    assert {f.feature: f.n_mismatch for f in res.features} == expected
    assert res.missing_in_recomputed == (3, tuple(training["row_id"].iloc[100:103]))
    assert res.missing_in_training == (2, (10**7, 10**7 + 1))
    amount = next(f for f in res.features if f.feature == "amount")
    assert amount.max_abs_diff == pytest.approx(
        float((kept["amount"] - kept["amount"].round(0)).abs()[kept["channel"] == "web"].max())
    )
    diff = res.diff_frame()
    first_amount = diff[diff["feature"] == "amount"].iloc[0]
    row = kept[(kept["channel"] == "web") & (kept["amount"].round(0) != kept["amount"])].iloc[0]
    assert first_amount["key"] == row["row_id"]
    assert first_amount["training"] == pytest.approx(row["amount"])
    assert first_amount["recomputed"] == pytest.approx(round(row["amount"]))
    text = res.summary()
    assert f"amount: {expected['amount']:,} rows differ" in text
    assert f"row_id={int(row['row_id'])!r}: training=" in text
    assert "3 training rows have no recomputed row" in text
    assert res.to_frame().set_index("feature").loc["country", "share_mismatch"] == pytest.approx(
        expected["country"] / len(kept)
    )


def test_parity_tolerance_boundary() -> None:
    t = pd.DataFrame({"k": [1, 2, 3], "x": [100.0, 100.0, 0.0]})
    r = t.assign(x=[100.0 + 1e-4 * 0.99, 100.0 + 1e-4 * 1.01, 5e-7])
    res = feature_parity_gate("m_v1", r, t, key="k", features=["x"], atol=1e-6, rtol=1e-6)
    # |r − t| ≤ 1e-6 + 1e-6·|t|: 0.99e-4 ≤ 1.01e-4 passes, 1.01e-4 fails, 5e-7 ≤ 1e-6 passes
    assert res.features[0].n_mismatch == 1 and res.examples[0][1] == 2


def test_parity_schema_problems_composite_key_and_mixed_backends() -> None:
    t = pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"], "f": [0.1, 0.2, 0.3],
                      "g": ["u", "v", "w"], "h": [1, 2, 3]})  # fmt: skip
    r = pl.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"], "f": [0.1, 0.2, 0.3],
                      "g": [1, 2, 3]}).lazy()  # fmt: skip
    res = feature_parity_gate("m_v1", r, t, key=["a", "b"], features=["f", "g", "h"])
    assert not res.passed
    assert res.schema_problems == (
        "feature `g` has dtype String in training but Int64 recomputed",
        "feature `h` is missing from the recomputed features",
    )
    assert [f.feature for f in res.features] == ["f"] and res.features[0].n_mismatch == 0
    with pytest.raises(ValueError, match="training features: feature column `z` is missing"):
        feature_parity_gate("m_v1", r, t, key=["a", "b"], features=["z"])
    with pytest.raises(ValueError, match=r"key column\(s\) \['id'\] missing"):
        feature_parity_gate("m_v1", r, t, key="id", features=["f"])


def test_parity_renderings(world: demo.DemoWorld) -> None:
    t = _offline(world)[["row_id", "amount", "country"]].iloc[:500]
    r = t.assign(country=t["country"].where(t.index % 50 != 0, "<script>"))
    res = feature_parity_gate("fraud_v2.3", r, t, key="row_id", features=["amount", "country"])
    assert "&lt;script&gt;" in res._repr_html_() and "<script>" not in res._repr_html_()
    assert json.loads(json.dumps(res.to_record()))["details"]["features"][1]["n_mismatch"] == 10
    ax = res.plot()
    assert ax.get_title().startswith("Feature parity") and ax.get_xlabel()


# --------------------------------------------------------------------------------------
# Staging smoke test
# --------------------------------------------------------------------------------------
def _loader(blob: bytes) -> demo.LogisticModel:
    return demo.LogisticModel.from_json(blob.decode())


def test_smoke_test_passes_on_the_staging_challenger(
    demo_registry: tuple[Registry, Path], world: demo.DemoWorld
) -> None:
    reg, _ = demo_registry
    res = staging_smoke_test("fraud_v2.3", _offline(world), loader=_loader, key="row_id",
                             registry=reg, n=150)  # fmt: skip
    assert res.passed, res.summary()
    assert (res.n, res.n_errors, res.stage) == (150, 0, "Staging")
    assert res.max_abs_diff is not None and res.max_abs_diff <= 1e-12
    assert res.artifact_sha256 == reg.get("fraud_v2.3").run.artifacts["model"].sha256
    assert len(res.latency_ms) == 150 and res.to_frame()["latency_p99_ms"].iloc[0] > 0
    ax = res.plot()
    assert ax.get_xlabel() == "latency (ms)"


def test_smoke_test_columns(demo_registry: tuple[Registry, Path], world: demo.DemoWorld) -> None:
    """``columns=`` maps the key and the model's features to the user's request columns
    (issue 16); the model receives its own feature names, so the result is the same."""
    reg, _ = demo_registry
    feature = reg.get("fraud_v2.3").run.features[0]
    renamed = _offline(world).rename(columns={"row_id": "req", feature: "my_feature"})
    a = staging_smoke_test("fraud_v2.3", _offline(world), loader=_loader, key="row_id",
                           registry=reg, n=150)  # fmt: skip
    b = staging_smoke_test("fraud_v2.3", renamed, loader=_loader, key="row_id", registry=reg,
                           n=150, columns={"row_id": "req", feature: "my_feature"})  # fmt: skip
    assert (b.passed, b.n, b.n_errors, b.max_abs_diff) == (
        a.passed,
        a.n,
        a.n_errors,
        a.max_abs_diff,
    )
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['nope'\].*accepted keys"):
        staging_smoke_test("fraud_v2.3", renamed, loader=_loader, key="row_id", registry=reg,
                           columns={"nope": "req"})  # fmt: skip


def test_smoke_test_failures(demo_registry: tuple[Registry, Path], world: demo.DemoWorld) -> None:
    reg, _ = demo_registry
    requests = _offline(world)
    prod = staging_smoke_test("fraud_v2.2", requests, loader=_loader, key="row_id", registry=reg)
    assert not prod.passed and prod.reasons[0].code == "stage"

    def drifted(blob: bytes) -> demo.LogisticModel:  # a build that changed a coefficient
        m = _loader(blob)
        return demo.LogisticModel(**{**m.__dict__, "intercept": m.intercept + 0.01})

    res = staging_smoke_test("fraud_v2.3", requests, loader=drifted, key="row_id",
                             registry=reg, n=50)  # fmt: skip
    assert not res.passed
    assert [r.code for r in res.reasons if r.passed is False] == ["offline_parity"]

    class Flaky:
        def __init__(self, blob: bytes) -> None:
            self.model = _loader(blob)

        def score(self, x: pd.DataFrame) -> np.ndarray:
            if (x["channel"] == "app").any():
                raise KeyError("feature store timeout")
            return self.model.score(x)

    res = staging_smoke_test("fraud_v2.3", requests, loader=Flaky, key="row_id", registry=reg,
                             n=60, latency_p99_ms=0.0)  # fmt: skip
    n_app = int((requests.sort_values("row_id").head(60)["channel"] == "app").sum())
    assert res.n_errors == n_app > 0
    assert {r.code for r in res.reasons if r.passed is False} == {"errors", "latency_p99"}
    assert "KeyError: 'feature store timeout'" in res.errors[0]


def test_smoke_test_fails_on_a_corrupted_artifact(demo_registry: tuple[Registry, Path]) -> None:
    reg, out = demo_registry
    path = out / "models" / "fraud_v2.3.json"
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b'"version": "2.3"', b'"version": "2.4"'))
        res = staging_smoke_test("fraud_v2.3", out / "offline.parquet", loader=_loader,
                                 key="row_id", registry=reg)  # fmt: skip
    finally:
        path.write_bytes(original)
    assert not res.passed
    assert (
        res.reasons[0].code == "artifact" and "corrupted or was replaced" in res.reasons[0].message
    )


# --------------------------------------------------------------------------------------
# The demo world in the registry
# --------------------------------------------------------------------------------------
def test_register_demo_stages_runs_and_data_locations(
    demo_registry: tuple[Registry, Path], world: demo.DemoWorld
) -> None:
    reg, out = demo_registry
    champ, chall = reg.get("fraud_v2.2"), reg.get("fraud_v2.3")
    assert (champ.stage, chall.stage) == (Stage.PRODUCTION, Stage.STAGING)
    assert reg.resolve("fraud") == champ and reg.production("fraud") == champ
    from mlopskit.registry.records import sha256_file

    for mv, model, auc_truth in (
        (champ, world.champion, world.truth.auc_champion),
        (chall, world.challenger, world.truth.auc_challenger),
    ):
        run = mv.run
        assert run.data_hash == sha256_file(out / "reference.parquet")
        assert run.n_rows == len(world.reference) == model.training["rows"]
        assert run.features == model.features
        assert run.hyperparameters["terms"] == tuple(model.terms)
        assert run.metrics["auc"] == pytest.approx(auc_truth, abs=1e-6)
        assert dict(run.feature_importances) == model.feature_importance
        assert run.artifacts["model"].sha256 == sha256_file(out / "models" / f"{mv.display}.json")
        assert reg.verify_artifacts(mv.display).keys() == {"model", "eval_predictions"}
        assert mv.data_locations["config"] == str(out / "models" / f"{mv.display}.yml")
        for role in ("events", "reference", "offline", "shadow_log", "canary_log", "config"):
            path = Path(mv.data_locations[role])
            assert path.is_absolute() and path.is_file()
        assert [g["passed"] for g in reg.gate_results(mv.display)] == [True]
    rows = reg.history("fraud").transitions
    assert [(t.display, str(t.to_stage), t.forced) for t in rows] == [
        ("fraud_v2.2", "None", False), ("fraud_v2.3", "None", False),
        ("fraud_v2.2", "Staging", False), ("fraud_v2.3", "Staging", False),
        ("fraud_v2.2", "Production", True),
    ]  # fmt: skip
    assert "imported as Production" in rows[-1].reason
    assert reg.verify() == ()


def test_register_demo_is_idempotent_and_refuses_another_world(
    demo_registry: tuple[Registry, Path], world: demo.DemoWorld, tmp_path: Path
) -> None:
    reg, out = demo_registry
    n = len(reg.history("fraud").transitions)
    again = register_demo(world, out, reg.path)
    assert again == (reg.get("fraud_v2.2"), reg.get("fraud_v2.3"))
    assert len(reg.history("fraud").transitions) == n
    other = tmp_path / "other"
    shutil.copytree(out, other, ignore=shutil.ignore_patterns("registry.sqlite"))
    with pytest.raises(RegistryError, match=r"already holds .* from another demo world"):
        register_demo(world, other, reg.path)
    # replace=True rebuilds a file holding only demo registrations ...
    copy = tmp_path / "copy.sqlite"
    shutil.copy(reg.path, copy)
    _, chall = register_demo(world, other, copy, replace=True)
    assert chall.data_locations["events"] == str(other / "events.parquet")
    assert len(Registry(copy).history("fraud").transitions) == n
    # ... and never a registry that holds anything else
    Registry(copy).transition("fraud", "2.3", Stage.ARCHIVED, reason="rejected", actor="oncall")
    with pytest.raises(RegistryError, match="replace=True if that file holds only demo"):
        register_demo(world, out, copy, replace=True)
    assert Registry(copy).get("fraud_v2.3").stage is Stage.ARCHIVED
    with pytest.raises(ValueError, match="holds no demo world"):
        register_demo(world, tmp_path, reg.path)


def test_register_demo_forces_a_failing_challenger_and_says_so(tmp_path: Path) -> None:
    w = demo.generate("worse", daily_volume=2000, canary_daily_volume=2000)
    demo.write(w, tmp_path)
    _, chall = register_demo(w, tmp_path, tmp_path / "registry.sqlite")
    assert chall.stage is Stage.STAGING
    reg = Registry(tmp_path / "registry.sqlite")
    row = next(t for t in reg.history("fraud").transitions
               if t.display == "fraud_v2.3" and t.to_stage is Stage.STAGING)  # fmt: skip
    assert row.forced and "quality gate failed" in row.reason
    assert row.evidence["failures"] == ("latest model_quality gate result failed",)
    assert [g["passed"] for g in reg.gate_results("fraud_v2.3")] == [False]


def test_demo_promotion_with_a_rendered_report(
    demo_registry: tuple[Registry, Path], tmp_path: Path
) -> None:
    """End to end on a copy of the demo registry: report gate, promotion, revert."""
    reg0, _ = demo_registry
    reg = Registry(tmp_path / "copy.sqlite")
    shutil.copy(reg0.path, reg.path)
    sha = reg.get("fraud_v2.3").run.artifacts["model"].sha256
    html = render_report(tmp_path / "reports" / "fraud_v2.3", "fraud_v2.3",
                         extra_provenance={"model_sha256": sha})  # fmt: skip
    check = report_gate(html, "fraud_v2.3", registry=reg)
    assert check.passed and check.report_sha256 == sha256_file(html)
    reg.promote("fraud_v2.3", to="Production", reason="canary PROMOTE", actor="ds", report=html)
    assert reg.production("fraud").display == "fraud_v2.3"
    reg.revert("fraud", reason="alert", actor="oncall")
    assert reg.production("fraud").display == "fraud_v2.2"


def test_unregistered_version_in_smoke_and_report_gates(tmp_path: Path) -> None:
    reg = Registry(tmp_path / "r.sqlite")
    add_version(reg, tmp_path, "1")
    with pytest.raises(RegistryError, match="fraud_v2 is not registered"):
        staging_smoke_test("fraud_v2", pd.DataFrame({"k": [1]}), loader=_loader, key="k",
                           registry=reg)  # fmt: skip
    res = report_gate(tmp_path / "missing.html", "fraud_v1")
    assert not res.passed and {r.code for r in res.reasons} == {"report_exists", "decision_exists"}


def test_reports_find_the_model_config_through_the_registry(
    demo_registry: tuple[Registry, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A registered version records its model config; reports and `mlopskit monitor`
    resolve the model through the registry before any models/ directory (issue 16)."""
    from mlopskit import cli
    from mlopskit.report.config_inputs import config_report
    from mlopskit.report.inputs import config_path_for, open_inputs

    reg, out = demo_registry
    decoy = tmp_path / "models"  # a models/ directory with another config of the same name
    decoy.mkdir()
    text = (out / "models" / "fraud_v2.2.yml").read_text()
    (decoy / "fraud_v2.2.yml").write_text(text.replace("../", str(out) + "/").replace(
        "threshold: 0.", "threshold: 0.0"))  # fmt: skip
    monkeypatch.setenv("MLOPSKIT_MODELS", str(decoy))
    monkeypatch.setenv("MLOPSKIT_REGISTRY", str(reg.path))
    assert config_path_for("fraud_v2.2") == out / "models" / "fraud_v2.2.yml"
    inputs = open_inputs(None, "fraud_v2.3")
    assert inputs.config.path == out / "models" / "fraud_v2.3.yml" and inputs.role == "challenger"
    assert inputs.data_dir == out and inputs.registry["source"] == "registry"
    kind, params = config_report("fraud_v2.2", None, lambda _m: None)
    assert (kind, params["CONFIG"]) == ("monitoring", str(out / "models" / "fraud_v2.2.yml"))
    code = cli.main(["monitor", "fraud_v2.2", "--out", str(tmp_path / "m.json")])
    assert code in (0, 1, 2, 3), capsys.readouterr().err
    monkeypatch.setenv("MLOPSKIT_REGISTRY", str(tmp_path / "none.sqlite"))  # no registry:
    assert config_path_for("fraud_v2.2") == decoy / "fraud_v2.2.yml"  # the models/ dir
