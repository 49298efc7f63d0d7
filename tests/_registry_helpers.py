"""Helpers shared by test_registry.py and test_gates.py (not a test module)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mlopskit.registry import ModelVersion, Registry, Stage
from mlopskit.registry.gates import GateResult
from mlopskit.verdict import Reason


def add_version(reg: Registry, root: Path, version: str, name: str = "fraud") -> ModelVersion:
    """Record a run with a model artifact and register ``name`` ``version`` (stage None)."""
    art = root / "artifacts" / f"{name}_v{version}.json"
    art.parent.mkdir(parents=True, exist_ok=True)
    art.write_text(json.dumps({"name": name, "version": version, "coef": [0.1, 0.2]}))
    run = reg.record_run(
        data_hash="d" * 64,
        n_rows=1000,
        feature_set_version="fs-1",
        features=["amount", "country"],
        hyperparameters={"C": 1.0, "penalty": "l2"},
        metrics={"auc": 0.9},
        artifacts={"model": art},
        code_commit="abc123",
        feature_importances={"amount": 0.7, "country": 0.3},
        model_name=name,
    )
    return reg.register(name, run.run_id, version=version, actor="trainer")


def ci_pass(model: str, passed: bool = True, gate: str = "ci") -> GateResult:
    return GateResult(gate, model, passed, (Reason("tests", "unit tests", passed),))


def render_report(
    directory: Path,
    model: str,
    *,
    verdict: str = "PROMOTE",
    decision_model: str | None = None,
    provenance_model: str | None = None,
    name: str = "rollout.html",
    body: str = "<html><body>canary: PROMOTE</body></html>",
    extra_provenance: dict[str, str] | None = None,
) -> Path:
    """Write a report HTML and the decision.json beside it, as the report renderer does."""
    directory.mkdir(parents=True, exist_ok=True)
    html = directory / name
    html.write_text(body)
    decision = {
        "model": decision_model or model,
        "verdict": verdict,
        "report": name,
        "report_sha256": hashlib.sha256(html.read_bytes()).hexdigest(),
        "provenance": {"model": provenance_model or model, **(extra_provenance or {})},
    }
    (directory / "decision.json").write_text(json.dumps(decision))
    return html


def to_stage(reg: Registry, root: Path, model: str, stage: Stage) -> None:
    """Move a freshly registered version along the lifecycle to ``stage`` with valid evidence."""
    name, version = model.rsplit("_v", 1)
    if stage is Stage.NONE:
        return
    if stage is Stage.ARCHIVED:
        reg.transition(name, version, Stage.ARCHIVED, reason="discard", actor="t")
        return
    reg.transition(name, version, Stage.STAGING, reason="ci", actor="t", gate=ci_pass(model))
    if stage is Stage.PRODUCTION:
        report = render_report(root / "reports" / model, model)
        reg.transition(name, version, Stage.PRODUCTION, reason="canary", actor="t", report=report)
