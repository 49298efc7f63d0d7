"""The demo world: determinism, contracts, and each scenario's ground truth recoverable from its files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlopskit import demo, frames
from mlopskit.cli import main as cli_main


@pytest.fixture(scope="module")
def better(tmp_path_factory: pytest.TempPathFactory) -> tuple[demo.DemoWorld, Path]:
    world = demo.generate("better")
    out = tmp_path_factory.mktemp("better")
    demo.write(world, out)
    return world, out


def _digest(d: Path) -> dict[str, str]:
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    demo.write(demo.generate("srm", n_days=60, canary_days=14, canary_daily_volume=5000), a)
    demo.write(demo.generate("srm", n_days=60, canary_days=14, canary_daily_volume=5000), b)
    demo.write(demo.generate("srm", n_days=60, canary_days=14, canary_daily_volume=5000, seed=8), c)
    assert _digest(a) == _digest(b)
    assert _digest(a)["events.parquet"] != _digest(c)["events.parquet"]


def test_round_trip_and_contracts(better: tuple[demo.DemoWorld, Path]) -> None:
    world, out = better
    loaded = demo.load(out)
    assert loaded.truth == world.truth
    assert loaded.champion == world.champion
    pd.testing.assert_frame_equal(loaded.canary_log, world.canary_log)
    # every table satisfies its data contract, read lazily from the parquet files
    assert frames.n_rows(frames.validate(out / "shadow_log.parquet", frames.SHADOW_LOG)) == len(
        world.shadow_log
    )
    assert frames.n_rows(frames.validate(out / "canary_log.parquet", frames.CANARY_LOG)) == len(
        world.canary_log
    )
    frames.validate(out / "events.parquet", frames.SCORED_EVENTS.with_extra(*world.features))
    assert frames.n_rows(frames.validate(out / "service_log.parquet", frames.SERVICE_LOG)) == len(
        world.events
    )
    with pytest.raises(ValueError, match="not a demo world directory"):
        demo.load(out / "models")


def test_world_is_realistic(better: tuple[demo.DemoWorld, Path]) -> None:
    world, _ = better
    t = world.truth
    assert 0.005 <= t.fraud_rate <= 0.01  # fraud base rate around 0.5–1 %
    assert 0.88 <= t.auc_champion < t.auc_challenger <= 0.97  # the challenger sees more signal
    assert len(world.features) == 12
    e = world.events
    # heavy-tailed amounts
    assert e["amount"].quantile(0.99) > 10 * e["amount"].median()
    # label lag: right-skewed delays, median of a couple of weeks among mature cohorts,
    # nothing arrives after as_of or before the event
    mature = e[e["ts"] < world.as_of - pd.Timedelta(days=90)]
    delay = (mature["label_ts"] - mature["ts"]).dt.total_seconds().dropna() / 86400
    assert 7 <= delay.median() <= 25 and delay.mean() > delay.median()
    assert (e["label_ts"].dropna() <= world.as_of).all()
    assert (e["label"] <= e["true_label"]).all()
    # recent labels are immature: the last 10 days have far fewer labels than frauds
    recent = e[e["ts"] >= world.as_of - pd.Timedelta(days=10)]
    assert recent["label"].sum() < 0.5 * recent["true_label"].sum()


def test_offline_auc_in_truth_is_recoverable_from_files(
    better: tuple[demo.DemoWorld, Path],
) -> None:
    # reference: sklearn-free Mann–Whitney AUC via scipy
    from scipy.stats import mannwhitneyu

    _, out = better
    off = pd.read_parquet(out / "offline.parquet")
    pos = off.loc[off.label == 1, "score_challenger"]
    neg = off.loc[off.label == 0, "score_challenger"]
    auc = mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg))
    truth = demo.load(out).truth
    assert auc == pytest.approx(truth.auc_challenger, abs=1e-6)


def test_models_score_reproducibly(better: tuple[demo.DemoWorld, Path]) -> None:
    world, out = better
    model = demo.LogisticModel.from_json((out / "models" / "fraud_v2.3.json").read_text())
    np.testing.assert_allclose(
        model.score(world.offline), world.offline["score_challenger"], rtol=1e-9
    )
    assert set(world.champion.features) < set(world.challenger.features)
    assert sum(world.challenger.feature_importance.values()) == pytest.approx(1.0, abs=1e-5)
    # each model ships a capacity-matched threshold: offline flag rate ≈ 1.5 % for both
    for m, col in ((world.champion, "score_champion"), (world.challenger, "score_challenger")):
        assert (world.offline[col] >= m.threshold).mean() == pytest.approx(0.015, abs=0.001)


def test_canary_split_and_true_effect_signs(better: tuple[demo.DemoWorld, Path]) -> None:
    world, _ = better
    c = world.canary_log
    share = (c["arm"] == "canary").mean()
    assert share == pytest.approx(0.05, abs=0.002)
    eff = world.truth.canary_true_effect
    assert eff["fraud_missed_rate"] < 0  # better challenger misses less fraud
    worse = demo.generate("worse", n_days=80, canary_daily_volume=5000).truth.canary_true_effect
    assert worse["fraud_missed_rate"] > 0 and worse["false_positive_rate"] > 0


def _from_files(tmp_path: Path, name: str, **kw: object) -> tuple[pd.DataFrame, demo.GroundTruth]:
    """Write a scenario, then read its shadow/canary logs and truth back from the files."""
    d = tmp_path / name
    demo.write(demo.generate(name, n_days=72, **kw), d)  # type: ignore[arg-type]
    truth = demo.load(d).truth
    return pd.read_parquet(d / "shadow_log.parquet"), truth


def test_srm_scenario_logs_six_percent(tmp_path: Path) -> None:
    d = tmp_path / "srm"
    demo.write(demo.generate("srm", n_days=80, canary_daily_volume=20000), d)
    canary = pd.read_parquet(d / "canary_log.parquet")
    scen = json.loads((d / "scenario.json").read_text())
    assert (canary["arm"] == "canary").mean() == pytest.approx(0.06, abs=0.002)
    assert scen["canary_share"] == 0.05 and scen["logged_canary_share"] == 0.06
    assert demo.load(d).truth.expected["canary"] == "INVALID"


def test_drift_scenario_truth_recoverable_from_files(tmp_path: Path) -> None:
    world = demo.generate("drift", canary_daily_volume=2000)
    demo.write(world, tmp_path)
    truth = demo.load(tmp_path).truth
    e = pd.read_parquet(tmp_path / "events.parquet")
    onset = truth.drift_onset
    assert onset == pd.Timestamp("2026-06-01") + pd.Timedelta(days=70)
    pre, post = e[e.ts < onset], e[e.ts >= onset]
    cat = world.scenario.drift_category
    assert (post.merchant_category == cat).mean() > 2 * (pre.merchant_category == cat).mean()
    assert (
        np.log(post.amount[post.merchant_category == cat]).mean()
        > np.log(pre.amount[pre.merchant_category == cat]).mean() + 0.4
    )
    # undrifted features keep their distribution
    assert abs((post.channel == "app").mean() - (pre.channel == "app").mean()) < 0.01
    # the champion degrades: it under-predicts after the drift (true frauds vs mean score)
    assert post.true_label.sum() / post.score.sum() > 1.5 > pre.true_label.sum() / pre.score.sum()
    assert set(truth.drifted_features) == {"merchant_category", "amount"}


def test_operational_scenarios(tmp_path: Path) -> None:
    base, _ = _from_files(tmp_path, "better", canary_daily_volume=1000)
    lat, lat_truth = _from_files(tmp_path, "latency", canary_daily_volume=1000)
    err, err_truth = _from_files(tmp_path, "errors", canary_daily_volume=1000)
    assert lat_truth.expected["shadow"] == err_truth.expected["shadow"] == "FIX"
    assert lat.latency_ms_challenger.quantile(0.99) > 3 * base.latency_ms_challenger.quantile(0.99)
    assert err.error_challenger.mean() == pytest.approx(0.03, abs=0.005)
    assert err.score_challenger.isna().sum() == err.error_challenger.sum()  # errors lose the score


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="`scenario` must be one of"):
        demo.generate("nope")
    with pytest.raises(ValueError, match=r"unknown Scenario fields \['n_dayz'\]"):
        demo.generate("better", n_dayz=3)
    with pytest.raises(ValueError, match="`size` must be one of"):
        demo.generate("better", size="huge")


def test_cli_demo_writes_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlopskit.registry import Registry

    out, reg = tmp_path / "w", tmp_path / "registry.sqlite"
    args = ["demo", "--scenario", "equal", "--out", str(out), "--registry", str(reg)]
    assert cli_main(args) == 0
    assert (out / "models" / "fraud_v2.3.yml").exists() and not (out / "manifest.json").exists()
    stages = {
        m.display: str(m.stage)
        for m in (Registry(reg).resolve(x) for x in ("fraud_v2.2", "fraud_v2.3"))
    }
    assert stages == {"fraud_v2.2": "Production", "fraud_v2.3": "Staging"}
    assert cli_main(args) == 0
    assert "already" in capsys.readouterr().out
