"""Done-when of issue 16: a team's own, non-fraud model from `mlopskit init` to both HTML
reports, with no renamed column and no hand-made file beyond the config.

The dataset (tests/_loans.py): car-loan applications, string timestamps, a float 0/1 label
without arrival times, a champion and a challenger score; nothing named like our defaults.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from _loans import write_loans, write_loans_canary

from mlopskit import cli
from mlopskit.report import open_inputs, report_model


@pytest.fixture(scope="module")
def loans_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("own")
    data = [str(write_loans(root / "data")), str(write_loans_canary(root / "data"))]
    assert cli.main(["init", "loans", "--data", *data, "--out", str(root / "models")]) == 0
    return root / "models" / "loans.yml"


def test_inputs_come_through_the_config(loans_config: Path) -> None:
    inputs = open_inputs(None, "loans", model_config=loans_config, role="champion")
    assert inputs.config is not None and inputs.config.model == "loans"
    assert {f["name"] for f in inputs.files} >= {
        "events",
        "shadow_log",
        "canary_log",
        "model config",
    }
    assert str(inputs.as_of) == "2026-03-16 00:00:00"  # midnight after the last application


@pytest.mark.parametrize("kind", ["monitoring", "rollout"])
def test_own_model_reports_render(
    loans_config: Path, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPSKIT_MODELS", str(loans_config.parent))
    monkeypatch.setenv("MLOPSKIT_REGISTRY", str(tmp_path / "no-registry.sqlite"))
    res = report_model("loans", kind=kind, out=tmp_path / "out", cell_timeout=600)
    decision = json.loads(res.decision_path.read_text())
    assert res.ok, decision.get("failure")
    html = res.html_path.read_text()
    assert "loans" in html
    for word in ("chargeback", "fraud"):
        assert word not in html.lower(), f"{kind} report says {word!r} for a credit model"
    if kind == "monitoring":
        layers = decision["key_numbers"]["monitoring"]
        # input drift is evaluated from the config's features and windows (no model file),
        # and sees the income/region shift the generator puts in the last three weeks
        assert layers["input_drift"] == "ALERT", layers
    else:
        assert decision["key_numbers"]["shadow"]["requests"] > 0
        # the card's headline speaks the config's domain words (issue 16, Build 5)
        headline = decision["headline"]
        assert "missed defaults" in headline and "applications" in headline, headline
        assert "missed_default_rate" in decision["key_numbers"]["canary"]["effects"]


# The credit team's own canary metrics and margins (not the fraud defaults): the data's own
# column names, a mean with a unit, a 14-day label window.
OWN_CANARY = {
    "label_window_days": 14,
    "metrics": [
        {
            "name": "missed_default_rate",
            "kind": "proportion",
            "events": "defaulted & ~declined",
            "margin": 0.03,
            "role": "primary",
            "words": "missed defaults",
        },
        {
            "name": "decline_rate",
            "kind": "proportion",
            "events": "declined",
            "margin": 0.05,
            "words": "declined applications",
        },
        {
            "name": "scoring_time",
            "kind": "mean",
            "column": "scoring_ms",
            "margin": 6.0,
            "unit": "ms",
        },
    ],
}


def test_own_canary_metrics_render_and_the_gate_rederives_them(
    loans_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlopskit.report import evidence

    raw = yaml.safe_load(loans_config.read_text())
    raw["canary"] = OWN_CANARY
    own = loans_config.parent.parent / "models_own" / "loans.yml"  # same depth: ../data works
    own.parent.mkdir(exist_ok=True)
    own.write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("MLOPSKIT_MODELS", str(own.parent))
    monkeypatch.setenv("MLOPSKIT_REGISTRY", str(tmp_path / "no-registry.sqlite"))
    res = report_model("loans", kind="rollout", out=tmp_path / "out", cell_timeout=600)
    decision = json.loads(res.decision_path.read_text())
    assert res.ok, decision.get("failure")
    declared = [m["name"] for m in OWN_CANARY["metrics"]]
    assert sorted(decision["key_numbers"]["canary"]["effects"]) == sorted(declared)
    html = res.html_path.read_text()
    start = html.index("Canary vs control at")  # the canary section's table (its caption)
    table = html[start : html.index("</table>", start)]
    rows = re.findall(r"<tr>\s*<td>([^<]*)</td>", table)  # first cell of each body row
    assert sorted(rows) == ["declined applications", "missed defaults", "scoring_time"], rows
    for default in ("false positive", "flagged without", "errors and timeouts", "latency"):
        assert default not in table, f"the canary table shows a default metric: {default!r}"
    # the promotion gate's re-derivation (evidence.decision_phases on the same inputs) uses
    # the config's metrics, margins and label window, and reaches the report's verdict
    gate = decision["gate"]
    inputs = open_inputs(None, "loans", model_config=own, role="challenger", as_of=gate["as_of"])
    _, canary = evidence.decision_phases(inputs, shadow=False)
    assert canary is not None
    assert [m.metric.name for m in canary.metrics] == declared
    assert [m.metric.margin for m in canary.metrics] == [0.03, 0.05, 6.0]
    assert canary.maturity_days == 14.0
    assert (
        str(canary.verdict)
        == gate["verdicts"]["canary"]
        == decision["key_numbers"]["canary"]["verdict"]
    )
