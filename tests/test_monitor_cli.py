"""`mlopskit monitor MODEL` on the default demo world (drift on 2026-09-09)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from mlopskit import demo, labels
from mlopskit.cli import MONITOR_EXIT
from mlopskit.cli import main as cli_main


@pytest.fixture(scope="module")
def default_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("monitor")
    world = demo.generate("default", canary_daily_volume=4000)
    demo.write(world, root / "data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLOPSKIT_REGISTRY", str(root / "registry.sqlite"))
        code = cli_main(
            ["monitor", "fraud_v2.2", "--data", str(root / "data"), "--out", str(root / "m.json")]
        )
    return {"world": world, "code": code, "decision": json.loads((root / "m.json").read_text())}


@pytest.mark.slow
def test_monitor_exit_code_and_decision_json(default_world: dict[str, Any]) -> None:
    d = default_world["decision"]
    assert default_world["code"] == MONITOR_EXIT[d["verdict"]] == d["exit_code"]
    assert {layer["layer"] for layer in d["monitoring"]["layers"]} >= {"output_drift"}


@pytest.mark.slow
def test_monitor_dates_the_default_worlds_onset(default_world: dict[str, Any]) -> None:
    d = default_world["decision"]
    truth = default_world["world"].truth.drift_onset
    assert d["drift_onset"] is not None
    onset = pd.Timestamp(d["drift_onset"]["onset"])
    assert abs((onset - truth) / pd.Timedelta(days=1)) <= 3
    assert (
        pd.Timestamp(d["drift_onset"]["earliest"])
        <= truth
        <= pd.Timestamp(d["drift_onset"]["latest"])
    )
    # the report's retraining verdict equals the library's with the true onset
    w = default_world["world"]
    truth_verdict = labels.drift_vs_label_lag(w.events, as_of=w.as_of, drift=truth).verdict
    assert d["key_numbers"]["retraining"] == str(truth_verdict)


def test_unknown_window_unit_names_the_accepted_ones() -> None:
    from mlopskit import frames

    with pytest.raises(ValueError, match=r"accepted units: D \(days\), W \(weeks\), h"):
        frames.parse_window("1M")
    with pytest.raises(ValueError, match="calendar months vary in length"):
        frames.parse_window("1mo")  # fixed-length analyses only; window_spec takes months
    with pytest.raises(ValueError, match="accepted units: D \\(days\\)"):
        frames.parse_window("3 fortnights")
    assert frames.parse_window("30min")[1] == pd.Timedelta(minutes=30)
    assert frames.parse_window("6h")[1] == pd.Timedelta(hours=6)
