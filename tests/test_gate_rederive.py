"""The promotion gate re-derives the decision from registered data under a registered
policy (issue 14): hand-written reports, edited decision.json files and reports rendered
under an unregistered relaxed policy are refused; a forced override is logged."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from _registry_helpers import add_version, ci_pass

from mlopskit.policy import load_policy
from mlopskit.registry import GateRefused, Registry
from mlopskit.registry.gates import rederive as _gate_rederive
from mlopskit.report import decision, evidence
from mlopskit.report.inputs import open_inputs

AS_OF = pd.Timestamp("2026-03-01")
# the team's approved policy: margins a 3,000-unit canary can show; shadow not re-derived
# (this world has no shadow log). Its labels arrive within 3 days: a 5-day label horizon, and
# the canary's label window is that horizon (a window shorter than the horizon is only
# decided once the first units are horizon days old, issue 13)
APPROVED = """
labels:
  horizon_days: 5
canary:
  min_days: 7.0
  margin_fraud_missed_rate: 0.01
  margin_false_positive_rate: 0.02
  margin_loss_per_dollar: 3.0
  margin_latency_ms: 20.0
  margin_error_rate: 0.01
registry:
  gate_requires_shadow: false
"""
# nobody approved this one: a margin wide enough to wave a clearly worse canary through
RELAXED = APPROVED.replace(
    "margin_fraud_missed_rate: 0.01", "margin_fraud_missed_rate: 0.5"
).replace("margin_loss_per_dollar: 3.0", "margin_loss_per_dollar: 50.0")


def _canary(worse: bool, seed: int = 14) -> pd.DataFrame:
    """95/5 canary over 21 days; ``worse``: the canary flags 60% fewer frauds."""
    rng, n = np.random.default_rng(seed), 60000
    arm = np.where(rng.random(n) < 0.05, "canary", "control")
    ts = AS_OF - pd.Timedelta(days=30) + pd.to_timedelta(rng.uniform(0, 21, n), unit="D")
    fraud = rng.random(n) < 0.05
    caught = rng.random(n) < np.where((arm == "canary") & worse, 0.3, 0.9)
    flagged = (fraud & caught) | (rng.random(n) < 0.01)
    amount = np.round(rng.lognormal(3, 1, n), 2)
    label_ts = pd.Series(ts + pd.to_timedelta(rng.uniform(0, 3, n), unit="D")).where(fraud)
    return pd.DataFrame(
        {
            "unit_id": np.arange(n),
            "ts": ts.floor("s"),
            "arm": arm,
            "score": np.where(flagged, 0.9, 0.1),
            "flagged": flagged.astype(int),
            "label": fraud.astype(int),
            "label_ts": label_ts.dt.floor("s"),
            "amount": amount,
            "loss": amount * (fraud & ~flagged),
            "latency_ms": np.round(rng.lognormal(3, 0.2, n), 2),
            "error": (rng.random(n) < 0.006).astype(int),
        }
    )


def _world(root: Path, *, worse: bool) -> Path:
    d = root / "data"
    (d / "models").mkdir(parents=True)
    _canary(worse).to_parquet(d / "canary_log.parquet", index=False)
    canary_cols = {c: c for c in _canary(worse).columns}
    events_cols = {c: c for c in ("ts", "score", "label", "label_ts")}
    for m in ("fraud_v1", "fraud_v2"):  # model configs: the canary log is also the events
        (d / "models" / f"{m}.yml").write_text(
            yaml.safe_dump(
                {
                    "model": m,
                    "logs": {
                        "events": {
                            "source": {"path": "../canary_log.parquet"},
                            "columns": events_cols,
                        },
                        "canary_log": {
                            "source": {"path": "../canary_log.parquet"},
                            "columns": canary_cols,
                        },
                    },
                    "as_of": AS_OF.isoformat(),
                    "champion": "fraud_v1",
                    "challenger": "fraud_v2",
                    "threshold": 0.5,
                    "challenger_threshold": 0.5,
                }
            )
        )
    return d


@pytest.fixture
def setup(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    worse = getattr(request, "param", False)
    d = _world(tmp_path, worse=worse)
    reg = Registry(tmp_path / "registry.sqlite")
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
        reg.set_data_locations(
            "fraud",
            v,
            {"canary_log": d / "canary_log.parquet", "config": d / "models" / f"fraud_v{v}.yml"},
            actor="ana",
            reason="canary log written",
        )
        reg.promote(
            f"fraud_v{v}", to="Staging", reason="ci", actor="ci", gate=ci_pass(f"fraud_v{v}")
        )
    approved = tmp_path / "approved.yml"
    approved.write_text(APPROVED)
    relaxed = tmp_path / "relaxed.yml"
    relaxed.write_text(RELAXED)
    reg.register_policy(approved, approved_by="risk committee", reason="Q1 review")
    return {"reg": reg, "data": d, "approved": approved, "relaxed": relaxed, "root": tmp_path}


def _render(s: dict[str, Any], policy: Path, *, name: str = "r") -> tuple[Path, dict[str, Any]]:
    """Write rollout.html + decision.json as the renderer does (same library calls, no
    notebook): the verdict is what the data say under ``policy``."""
    model = "fraud_v2"
    inputs = open_inputs(s["data"], model, as_of=AS_OF)
    pol = load_policy(policy)
    shadow, canary = evidence.decision_phases(inputs, policy=pol, shadow=False)
    dec = decision.rollout_decision(model, shadow=shadow, canary=canary)
    out = s["root"] / "reports" / name
    out.mkdir(parents=True)
    html = out / "rollout.html"
    html.write_text(f"<html><body>{dec.verdict}</body></html>")
    key_numbers = {"canary": {"verdict": str(canary.verdict)}}
    body = {
        "model": model,
        "report": html.name,
        "report_sha256": hashlib.sha256(html.read_bytes()).hexdigest(),
        "verdict": str(dec.verdict),
        "key_numbers": key_numbers,
        "provenance": {"model": model},
        "gate": _gate_rederive.gate_block(
            inputs=[dict(f) for f in inputs.files],
            policy={"path": str(policy), "sha256": pol.sha256},
            as_of=inputs.as_of.isoformat(),
            key_numbers=key_numbers,
            verdict=str(dec.verdict),
            valid_days=14,
        ),
    }
    (out / "decision.json").write_text(json.dumps(body))
    return html, body


def _rewrite(html: Path, body: dict[str, Any]) -> None:
    (html.parent / "decision.json").write_text(json.dumps(body))


def test_truthful_report_under_registered_policy_promotes(setup: dict[str, Any]) -> None:
    reg = setup["reg"]
    html, body = _render(setup, setup["approved"])
    assert body["verdict"] == "PROMOTE", body
    written = reg.promote("fraud_v2", to="Production", reason="canary", actor="ana", report=html)
    row = written.transitions[-1]
    assert not row.forced
    rec = next(c for c in row.evidence["checks"] if c.get("gate") == "rederive")
    assert rec["passed"] and rec["recomputed"]["canary"] == "PROMOTE"
    assert rec["policy_registered"]
    assert reg.verify() == ()


def test_hand_written_report_is_refused(setup: dict[str, Any]) -> None:
    out = setup["root"] / "hand"
    out.mkdir()
    html = out / "rollout.html"
    html.write_text("<html>PROMOTE</html>")
    five = {
        "model": "fraud_v2",
        "verdict": "PROMOTE",
        "report": "rollout.html",
        "report_sha256": hashlib.sha256(html.read_bytes()).hexdigest(),
        "provenance": {"model": "fraud_v2"},
    }
    _rewrite(html, five)
    with pytest.raises(GateRefused, match="no gate block"):
        setup["reg"].promote("fraud_v2", to="Production", reason="x", actor="m", report=html)


@pytest.mark.parametrize("setup", [True], indirect=True)
def test_edited_decision_json_is_refused(setup: dict[str, Any]) -> None:
    html, body = _render(setup, setup["approved"])
    assert body["verdict"] == "ROLLBACK", body  # the canary misses fraud
    body["verdict"] = "PROMOTE"
    body["gate"]["verdicts"] = {"canary": "PROMOTE", "rollout": "PROMOTE", "shadow": None}
    _rewrite(html, body)
    with pytest.raises(GateRefused, match="recomputed canary verdict is ROLLBACK"):
        setup["reg"].promote("fraud_v2", to="Production", reason="x", actor="m", report=html)
    assert str(setup["reg"].get("fraud_v2").stage) == "Staging"


@pytest.mark.parametrize("setup", [True], indirect=True)
def test_unregistered_relaxed_policy_is_refused_and_force_is_logged(setup: dict[str, Any]) -> None:
    reg = setup["reg"]
    html, body = _render(setup, setup["relaxed"])
    assert body["verdict"] == "PROMOTE", body  # the relaxed policy waves the worse canary through
    with pytest.raises(GateRefused, match="not registered"):
        reg.promote("fraud_v2", to="Production", reason="x", actor="m", report=html)
    written = reg.promote(
        "fraud_v2",
        to="Production",
        reason="incident INC-7: VP override",
        actor="vp",
        report=html,
        force=True,
    )
    row = written.transitions[-1]
    assert row.forced and row.reason == "incident INC-7: VP override"
    assert any("not registered" in f for f in row.evidence["failures"])
    assert reg.verify() == ()


def test_changed_input_is_refused(setup: dict[str, Any]) -> None:
    html, _body = _render(setup, setup["approved"])
    log = setup["data"] / "canary_log.parquet"
    df = pd.read_parquet(log)
    df.iloc[: len(df) - 10].to_parquet(log, index=False)  # the data changed after rendering
    with pytest.raises(GateRefused, match="input canary_log"):
        setup["reg"].promote("fraud_v2", to="Production", reason="x", actor="m", report=html)


def test_expired_report_is_refused(setup: dict[str, Any]) -> None:
    _html, body = _render(setup, setup["approved"])
    later = datetime.now(UTC) + timedelta(days=15)
    res = _gate_rederive.rederive(setup["reg"], "fraud_v2", body, now=later)
    assert not res.passed
    assert any(r.code == "not_expired" and not r.passed for r in res.reasons)
    ok = _gate_rederive.rederive(setup["reg"], "fraud_v2", body)
    assert ok.passed, [r.message for r in ok.reasons if not r.passed]


def test_version_without_registered_canary_log_is_refused(setup: dict[str, Any]) -> None:
    reg, root = setup["reg"], setup["root"]
    add_version(reg, root, "3")
    _html, body = _render(setup, setup["approved"])
    res = _gate_rederive.rederive(reg, "fraud_v3", body)
    assert any(r.code == "registered_canary_log" and not r.passed for r in res.reasons)


# The challenger's config declares its own canary metric (issue 16): a strict margin on the
# share of frauds caught that 3,000 canary units cannot show, where the policy's default
# metrics PROMOTE this world (test_truthful_report_under_registered_policy_promotes).
OWN_CANARY = {
    "label_window_days": 5,
    "metrics": [
        {
            "name": "fraud_caught_share",
            "kind": "proportion",
            "events": "label & flagged",
            "direction": "higher",
            "margin": -0.001,
            "role": "primary",
        },
        {"name": "error_rate", "kind": "proportion", "events": "error", "margin": 0.01},
    ],
}


def test_config_canary_metrics_decide_and_the_gate_rederives_them(setup: dict[str, Any]) -> None:
    cfg = setup["data"] / "models" / "fraud_v2.yml"
    raw = yaml.safe_load(cfg.read_text())
    raw["canary"] = OWN_CANARY
    cfg.write_text(yaml.safe_dump(raw))
    _html, body = _render(setup, setup["approved"])
    assert body["verdict"] != "PROMOTE", body  # the config's strict margin, not the policy's
    res = _gate_rederive.rederive(setup["reg"], "fraud_v2", body)
    by_code = {r.code: r for r in res.reasons}
    assert by_code["rederived_canary"].passed, by_code["rederived_canary"].message
    assert res.recomputed["canary"] == body["key_numbers"]["canary"]["verdict"]
    assert not by_code["rederived_promote"].passed  # and so the gate refuses to promote
    # loosening the config's margin after the report is refused: the config is an input
    raw["canary"]["metrics"][0]["margin"] = -0.5
    cfg.write_text(yaml.safe_dump(raw))
    again = _gate_rederive.rederive(setup["reg"], "fraud_v2", body)
    failed = [r.message for r in again.reasons if not r.passed]
    assert any(m.startswith("input model config:") for m in failed), failed
