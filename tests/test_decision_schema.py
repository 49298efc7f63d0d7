"""decision.json as a contract: the schema itself, and what it accepts and refuses.

Every *rendered* decision.json (each demo scenario, rollout and monitoring) is validated in
tests/test_report_card.py, which shares one rendering per scenario.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mlopskit.schemas import (
    DECISION_SCHEMA_VERSION,
    decision_errors,
    decision_schema,
    validate_decision,
)

SHA = "a" * 64


def _valid() -> dict[str, Any]:
    return {
        "schema_version": DECISION_SCHEMA_VERSION,
        "model": "fraud_v2.3",
        "report": "rollout.html",
        "report_sha256": SHA,
        "status": "ok",
        "verdict": "PROMOTE",
        "headline": "Promote fraud_v2.3: missed fraud −1.2 per 10,000 transactions.",
        "reasons": [
            {
                "code": "fraud_missed_rate",
                "message": "missed fraud: non-inferior.",
                "passed": True,
                "critical": False,
                "value": -0.00012,
                "threshold": 0.0005,
                "decided": True,
                "metric": "fraud_missed_rate",
                "role": "primary",
                "direction": "lower",
                "relative": False,
                "unit": "per transaction",
                "mean_control": 0.003,
                "effect": -0.00012,
                "ci_low": -0.00083,
                "ci_high": 0.00041,
                "margin": 0.0005,
                "decision": "non_inferior",
            },
            {"code": "srm", "message": "split ok", "passed": True, "critical": False},
        ],
        "next_steps": ["Promote fraud_v2.3."],
        "key_numbers": {"canary": {"units_canary": 55898}},
        "warnings": ["latency_ms: statistically worse than control but within the margin."],
        "warning_codes": ["canary.worse_within_margin"],
        "canary": {
            "start": "2026-07-15T00:00:00",
            "end": "2026-08-12T00:00:00",
            "as_of": "2026-09-29T00:00:00",
            "exposure_days": 28.0,
            "ended": True,
            "allocation": {
                "expected_canary_share": 0.05,
                "observed_canary_share": 0.0499,
                "units_control": 1064102,
                "units_canary": 55898,
                "srm_p": 0.658,
            },
            "waiting_for": None,
        },
        "policy": {"path": "policies/default.yml", "sha256": SHA, "default": True},
        "as_of": "2026-09-29T00:00:00",
        "expires": "2026-10-06T00:00:00",
        "provenance": {"model": "fraud_v2.3", "inputs": []},
        "failure": None,
    }


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(decision_schema())
    assert decision_schema()["required"][0] == "schema_version"


def test_a_complete_document_validates() -> None:
    doc = _valid()
    assert decision_errors(doc) == []
    validate_decision(json.loads(json.dumps(doc)))  # survives a JSON round trip


def test_extra_objects_are_allowed_for_the_provenance_work() -> None:
    """Issue 14 adds evidence objects (input hashes, policy registration): no schema bump."""
    doc = _valid()
    doc["evidence"] = {"inputs_sha256": {"events": SHA}}
    doc["provenance"]["policy_registered"] = True
    assert decision_errors(doc) == []


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d.pop("schema_version"), "'schema_version' is a required property"),
        (lambda d: d.update(schema_version="2.0"), "schema_version"),
        (lambda d: d.update(verdict="SHIP_IT"), "verdict"),
        (lambda d: d["reasons"][0].pop("ci_low"), "reasons/0"),
        (lambda d: d["reasons"][0].update(decision="looks fine"), "reasons/0/decision"),
        (lambda d: d["reasons"][1].pop("passed"), "reasons/1"),
        (lambda d: d["canary"]["allocation"].update(units_canary=55898.5), "canary"),
        (lambda d: d["canary"].pop("end"), "canary"),
        (lambda d: d.update(report_sha256="xyz"), "report_sha256"),
        (lambda d: d["warning_codes"].append("Not A Code"), "warning_codes/1"),
        (lambda d: d["policy"].pop("default"), "policy"),
        (lambda d: d.update(expires="next week"), "expires"),
        (lambda d: d.update(key_numbers=[]), "key_numbers"),
    ],
)
def test_what_the_schema_refuses(edit: Any, where: str) -> None:
    doc = copy.deepcopy(_valid())
    edit(doc)
    errors = decision_errors(doc)
    assert errors and any(where in e for e in errors), errors
    with pytest.raises(ValueError, match=r"decision\.json does not match its schema"):
        validate_decision(doc)


def test_a_failed_report_validates_with_its_failure() -> None:
    doc = _valid()
    doc.update(
        status="failed",
        verdict="FAILED",
        canary=None,
        expires=None,
        failure={"cell_index": 3, "cell": "cell 3", "ename": "KeyError", "evalue": "'x'"},
    )
    assert decision_errors(doc) == []


def _monitoring() -> dict[str, Any]:
    doc = _valid()
    doc.update(report="monitoring.html", verdict="WATCH", canary=None)
    doc["monitoring"] = {
        "verdict": "WATCH",
        "retraining_verdict": "WAIT_FOR_LABELS",
        "layers": [
            {
                "layer": "input_drift",
                "status": "WATCH",
                "quantity": "psi:amount",
                "value": 0.1407,
                "text": "PSI 0.1407 on amount (moderate)",
                "window_start": "2026-09-22T00:00:00",
                "window_end": "2026-09-29T00:00:00",
                "complete": True,
                "note": "",
            },
            {
                "layer": "outcome_drift",
                "status": "not evaluated",
                "quantity": "auc_drop",
                "value": None,
                "text": "not evaluable since 2026-06-29",
                "window_start": "2026-06-29T00:00:00",
                "window_end": None,
                "complete": False,
                "note": "",
            },
        ],
        "onset": {
            "onset": "2026-09-09T00:00:00",
            "earliest": "2026-09-08T00:00:00",
            "latest": "2026-09-10T00:00:00",
            "level": 0.95,
            "alpha": 0.02,
        },
        "not_evaluable_since": "2026-08-24T00:00:00",
        "timeline": [
            {"label": "as-of", "start": "2026-09-29T00:00:00", "end": None, "note": "analysis time"}
        ],
        "estimate": "The estimate diverges from reality from the window of 2026-09-07: …",
    }
    return doc


def test_a_monitoring_card_validates() -> None:
    doc = _monitoring()
    assert decision_errors(doc) == []
    doc["monitoring"] = None  # a monitoring report that failed before its card
    assert decision_errors(doc) == []


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["monitoring"]["layers"][0].update(status="GREEN"), "status"),
        (lambda d: d["monitoring"]["layers"][0].pop("window_start"), "window_start"),
        (lambda d: d["monitoring"]["layers"][0].update(complete="yes"), "complete"),
        (lambda d: d["monitoring"]["onset"].pop("earliest"), "earliest"),
        (lambda d: d["monitoring"].update(verdict="PROMOTE"), "verdict"),
        (lambda d: d["monitoring"].update(retraining_verdict="RETRAIN"), "retraining_verdict"),
    ],
)
def test_what_the_schema_refuses_in_the_monitoring_card(edit: Any, where: str) -> None:
    doc = _monitoring()
    edit(doc)
    errors = decision_errors(doc)
    assert errors and any(where in e for e in errors), errors
