"""Gate results stored for a version and the evidence a stage change needs."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mlopskit.registry.audit import load_key
from mlopskit.registry.records import (
    GateLike,
    Stage,
    _json,
    _now,
    parse_model,
)
from mlopskit.registry.versions import Versions


class GateResults(Versions):
    """Recorded gate results and gate evaluation (a :class:`Registry` mixin)."""

    def record_gate(self, result: GateLike) -> None:
        """Store a gate result (``mlopskit.registry.gates``) for the version it names."""
        name, version = parse_model(result.model)
        record = result.to_record()
        row = {
            "ts": _now(),
            "name": name,
            "version": version,
            "gate": result.gate,
            "passed": int(bool(result.passed)),
            "record": _json(record, "gate record"),
        }
        with self._write() as con:
            self._version_row(con, name, version)
            self._insert(con, "gate_results", row, load_key(create=True))

    def gate_results(self, model: str) -> tuple[dict[str, Any], ...]:
        """Every recorded gate result of a version, oldest first (``id``, ``ts`` added)."""
        name, version = parse_model(model)
        with self._connect() as con:
            rows = con.execute(
                "SELECT * FROM gate_results WHERE name=? AND version=? ORDER BY id",
                (name, version),
            ).fetchall()
        return tuple(
            {"id": r["id"], "ts": r["ts"], **json.loads(r["record"]), "passed": bool(r["passed"])}
            for r in rows
        )

    def _gate_evidence(
        self,
        con: sqlite3.Connection,
        name: str,
        version: str,
        to: Stage,
        report_result: Any,
        rederived: Any = None,
    ) -> dict[str, Any]:
        """Evaluate the gate of a move: ``{"passed", "failures", "checks": [...]}``."""
        failures: list[str] = []
        checks: list[dict[str, Any]] = []
        rows = con.execute(
            "SELECT gate, passed, record FROM gate_results WHERE name=? AND version=? ORDER BY id",
            (name, version),
        ).fetchall()
        latest = {r["gate"]: r for r in rows}
        if to is Stage.STAGING:
            ci = {g: r for g, r in latest.items() if g not in ("staging_smoke", "report")}
            if not ci:
                failures.append(
                    "no CI gate result is recorded for this version "
                    "(record model_quality_gate / feature_parity_gate results)"
                )
            for g, r in sorted(ci.items()):
                rec = json.loads(r["record"])
                checks.append(
                    {"gate": g, "passed": bool(r["passed"]), "summary": rec.get("summary", "")}
                )
                if not r["passed"]:
                    failures.append(f"latest {g} gate result failed")
        elif to is Stage.PRODUCTION:
            if report_result is None:
                failures.append("no rendered rollout report given (report=...)")
            else:
                checks.append(report_result.to_record())
                if not report_result.passed:
                    failures.extend(r.message for r in report_result.reasons if r.passed is False)
            if rederived is not None:  # the gate recomputed the decision (gates/rederive.py)
                checks.append(rederived.to_record())
                failures.extend(r.message for r in rederived.reasons if r.passed is False)
            smoke = latest.get("staging_smoke")
            if smoke is not None:
                rec = json.loads(smoke["record"])  # its summary states the requests' counts
                checks.append(
                    {
                        "gate": "staging_smoke",
                        "passed": bool(smoke["passed"]),
                        "summary": rec.get("summary", ""),
                    }
                )
                if not smoke["passed"]:
                    failures.append("the latest staging smoke test of this version failed")
        return {"passed": not failures, "failures": failures, "checks": checks}
