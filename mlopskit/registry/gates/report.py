"""The ``→ Production`` evidence check of a rendered rollout report (see :mod:`mlopskit.registry.gates`).

Light on purpose (stdlib only; the registry's :class:`~mlopskit.registry.versions.Versions`
only for typing, so there is no cycle): the registry imports it inside every promotion.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlopskit.registry.gates.base import REPORT, _Gate, _head
from mlopskit.registry.records import parse_model
from mlopskit.verdict import Reason

if TYPE_CHECKING:
    import pandas as pd

    from mlopskit.registry.versions import Versions


# --------------------------------------------------------------------------------------
# Rollout report (→ Production)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReportGateResult(_Gate):
    """The ``→ Production`` evidence check of a rendered rollout report.

    Attributes
    ----------
    report_path : absolute path of the HTML report; report_sha256 : sha256 of its bytes now.
    decision_path : the decision.json beside it; decision_sha256 : sha256 of its bytes.
    decision : the parsed decision.json (empty if unreadable).
    """

    model: str
    passed: bool
    reasons: tuple[Reason, ...]
    report_path: str
    report_sha256: str | None
    decision_path: str
    decision_sha256: str | None
    decision: Mapping[str, Any]
    warnings: tuple[str, ...] = ()
    gate: str = REPORT

    def to_frame(self) -> pd.DataFrame:
        return self.reasons_frame()

    def summary(self) -> str:
        lines = [_head(self.passed, self.gate, self.model) + f" ({self.report_path})"]
        lines += [f"  {'✔' if r.passed else '✘'} {r.message}" for r in self.reasons]
        return "\n".join(lines)

    def _details(self) -> dict[str, Any]:
        return {
            "report_path": self.report_path,
            "report_sha256": self.report_sha256,
            "decision_path": self.decision_path,
            "decision_sha256": self.decision_sha256,
            "verdict": self.decision.get("verdict"),
        }

    def _repr_html_(self) -> str:
        return self._banner("Rollout report gate")


def report_gate(
    report: str | Path,
    model: str,
    *,
    registry: Versions | None = None,
    decision_name: str = "decision.json",
) -> ReportGateResult:
    """Check a rendered rollout report before ``→ Production``.

    Passes iff the HTML exists, ``decision.json`` beside it parses and has ``model`` equal
    to ``model``, ``verdict`` equal to ``"PROMOTE"``, ``report`` equal to the HTML's file
    name, ``report_sha256`` equal to the sha256 of the HTML's bytes (a report edited after
    rendering fails), and ``provenance.model`` equal to ``model``. If the provenance records
    ``model_sha256`` and a registry (a :class:`~mlopskit.registry.Registry`) is given, it must
    equal the sha256 of the version's model artifact (the report was about this exact
    artifact).
    """
    parse_model(model)
    path = Path(report).expanduser().resolve()
    dpath = path.parent / decision_name
    reasons: list[Reason] = []

    def check(code: str, ok: bool, message: str) -> None:
        reasons.append(Reason(code, message, ok, critical=True))

    report_sha = decision_sha = None
    decision: dict[str, Any] = {}
    if not path.is_file():
        check("report_exists", False, f"report {path} does not exist")
    else:
        report_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if not dpath.is_file():
        check("decision_exists", False, f"{decision_name} not found beside the report ({dpath})")
    else:
        raw = dpath.read_bytes()
        decision_sha = hashlib.sha256(raw).hexdigest()
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError as exc:
            loaded = None
            check("decision_json", False, f"{dpath} is not valid JSON: {exc}")
        if loaded is not None and not isinstance(loaded, dict):
            check("decision_json", False, f"{dpath} must hold a JSON object")
        elif isinstance(loaded, dict):
            decision = loaded
    if decision:
        got = decision.get("model")
        check(
            "decision_model",
            got == model,
            f"decision.json is for model {got!r}" + ("" if got == model else f", not {model!r}"),
        )
        verdict = decision.get("verdict")
        check(
            "verdict",
            verdict == "PROMOTE",
            f"decision.json verdict is {verdict!r}"
            + ("" if verdict == "PROMOTE" else "; promotion needs 'PROMOTE'"),
        )
        name = decision.get("report")
        check(
            "report_name",
            name == path.name,
            f"decision.json names report {name!r}"
            + ("" if name == path.name else f", not this file {path.name!r}"),
        )
        recorded = decision.get("report_sha256")
        if report_sha is not None:
            check(
                "report_sha256",
                recorded == report_sha,
                "report sha256 matches decision.json"
                if recorded == report_sha
                else f"report sha256 is {report_sha}, decision.json recorded {recorded!r}: "
                "the report was edited after rendering (or belongs to another run)",
            )
        prov = decision.get("provenance")
        pmodel = prov.get("model") if isinstance(prov, dict) else None
        check(
            "provenance_model",
            pmodel == model,
            f"provenance names model {pmodel!r}" + ("" if pmodel == model else f", not {model!r}"),
        )
        psha = prov.get("model_sha256") if isinstance(prov, dict) else None
        if psha is not None and registry is not None:
            art = registry.get(model).run.artifacts.get("model")
            ok = art is not None and art.sha256 == psha
            check(
                "provenance_artifact",
                ok,
                "provenance model_sha256 matches the registered artifact"
                if ok
                else f"provenance model_sha256 {psha!r} is not the registered artifact's "
                f"{None if art is None else art.sha256!r}",
            )
    return ReportGateResult(
        model=model,
        passed=bool(reasons) and all(r.passed for r in reasons),
        reasons=tuple(reasons),
        report_path=str(path),
        report_sha256=report_sha,
        decision_path=str(dpath),
        decision_sha256=decision_sha,
        decision=decision,
    )
