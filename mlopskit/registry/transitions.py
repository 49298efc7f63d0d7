"""Stage changes: the lifecycle, the gates, supersede and revert, in one transaction each."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlopskit.registry.artifacts import Artifacts
from mlopskit.registry.connection import _hook
from mlopskit.registry.gate_results import GateResults
from mlopskit.registry.records import (
    LEGAL_TRANSITIONS,
    REVERT_TRANSITION,
    GateLike,
    GateRefused,
    History,
    IllegalTransition,
    RegistryError,
    Stage,
    _nonempty,
    check_name,
    check_version,
    display_name,
    parse_model,
)


class Transitions(Artifacts, GateResults):
    """Stage changes (a :class:`Registry` mixin); the only writers of ``model_versions.stage``."""

    def transition(
        self,
        name: str,
        version: str,
        to_stage: Stage | str,
        *,
        reason: str,
        actor: str,
        report: str | Path | None = None,
        gate: GateLike | Sequence[GateLike] | None = None,
        force: bool = False,
    ) -> History:
        """Move a version to ``to_stage`` if the lifecycle and the gates allow it.

        Parameters
        ----------
        name, version : the model version (``"fraud"``, ``"2.3"``).
        to_stage : ``Staging``, ``Production`` or ``Archived``.
        reason, actor : why and who; both are required and logged.
        report : rendered rollout report (HTML) for ``→ Production``; decision.json must sit
            beside it (see :func:`mlopskit.registry.gates.report_gate`).
        gate : CI gate result(s) to record before the move (``→ Staging`` checks the latest
            recorded result of every CI gate of the version).
        force : override a failing gate. The failed checks, the flag and the reason are
            logged. Never overrides the lifecycle or the one-Production rule.

        Returns
        -------
        History
            The log rows written (the previous Production's ``supersede`` row first, if any).
        """
        from mlopskit.registry.gates.report import report_gate

        check_name(name)
        check_version(version)
        to = Stage.parse(to_stage)
        reason = _nonempty(reason, "reason")
        actor = _nonempty(actor, "actor")
        model = display_name(name, version)
        for g in [gate] if gate is not None and not isinstance(gate, Sequence) else gate or []:
            if g.model != model:
                raise ValueError(f"`gate` is a result for {g.model!r}, not for {model!r}.")
            self.record_gate(g)
        if report is not None and to is not Stage.PRODUCTION:
            raise ValueError(f"`report` is the evidence for → Production; got to_stage={to}.")
        verified = {}
        if to in (Stage.STAGING, Stage.PRODUCTION):  # what will be served must be loadable
            verified = self.verify_artifacts(model)
        report_result = None
        if to is Stage.PRODUCTION and report is not None:
            report_result = report_gate(report, model, registry=self)
        written: list[int] = []
        with self._write() as con:
            current = Stage(self._version_row(con, name, version)["stage"])
            if (current, to) not in LEGAL_TRANSITIONS:
                allowed = sorted(str(b) for a, b in LEGAL_TRANSITIONS if a is current)
                hint = (
                    " Use revert() to bring back the last version that left Production."
                    if (current, to) == REVERT_TRANSITION
                    else ""
                )
                raise IllegalTransition(
                    f"{model}: {current} → {to} is not allowed; from {current} a version may "
                    f"move to {allowed or 'nothing'}.{hint}"
                )
            evidence = self._gate_evidence(con, name, version, to, report_result)
            evidence["artifacts_verified"] = verified
            if not evidence["passed"]:
                if not force:
                    raise GateRefused(
                        f"{model} → {to} refused by its gate: "
                        + "; ".join(evidence["failures"])
                        + ". Fix the evidence, or override with force=True (CLI --force) and a "
                        "reason; the override is logged.",
                        evidence,
                    )
            forced = bool(force and not evidence["passed"])
            report_path = report_sha = None
            if report_result is not None:
                report_path, report_sha = report_result.report_path, report_result.report_sha256
            if to is Stage.PRODUCTION:
                prev = con.execute(
                    "SELECT version FROM model_versions WHERE name=? AND stage='Production'",
                    (name,),
                ).fetchone()
                if prev is not None:
                    written.append(
                        self._move(
                            con,
                            name,
                            prev[0],
                            "supersede",
                            Stage.PRODUCTION,
                            Stage.ARCHIVED,
                            actor,
                            f"superseded by {model}: {reason}",
                            report_path,
                            report_sha,
                            False,
                            {"superseded_by": model},
                        )
                    )
                    _hook("after_archive")
            written.append(
                self._move(
                    con,
                    name,
                    version,
                    "transition",
                    current,
                    to,
                    actor,
                    reason,
                    report_path,
                    report_sha,
                    forced,
                    evidence,
                )
            )
            _hook("before_commit")
        return self._after_commit(name, written)

    def promote(
        self,
        model: str,
        *,
        to: Stage | str,
        reason: str,
        actor: str,
        report: str | Path | None = None,
        gate: GateLike | Sequence[GateLike] | None = None,
        force: bool = False,
    ) -> History:
        """:meth:`transition` with the display form: ``promote("fraud_v2.3", to="Production", …)``."""
        name, version = parse_model(model)
        return self.transition(
            name, version, to, reason=reason, actor=actor, report=report, gate=gate, force=force
        )

    def revert(self, name: str, *, reason: str, actor: str) -> History:
        """Bring back the last version of ``name`` that left Production.

        The current Production version (if any) is archived in the same transaction. The
        returning version's model artifact is verified by sha256 first; a missing or
        corrupted artifact refuses the revert (:class:`ArtifactError`).
        """
        check_name(name)
        reason = _nonempty(reason, "reason")
        actor = _nonempty(actor, "actor")
        with self._write() as con:
            last = con.execute(
                "SELECT version FROM transitions WHERE name=? AND from_stage='Production' "
                "ORDER BY id DESC LIMIT 1",
                (name,),
            ).fetchone()
            if last is None:
                raise RegistryError(
                    f"revert {name}: no version of {name!r} has left Production in "
                    f"{self.path}; there is nothing to revert to."
                )
            back = last[0]
            back_display = display_name(name, back)
            verified = self.verify_artifacts(back_display)  # before anything changes
            written = []
            current = con.execute(
                "SELECT version FROM model_versions WHERE name=? AND stage='Production'", (name,)
            ).fetchone()
            if current is not None:
                written.append(
                    self._move(
                        con,
                        name,
                        current[0],
                        "revert",
                        Stage.PRODUCTION,
                        Stage.ARCHIVED,
                        actor,
                        f"reverted to {back_display}: {reason}",
                        None,
                        None,
                        False,
                        {"reverted_to": back_display},
                    )
                )
                _hook("after_archive")
            written.append(
                self._move(
                    con,
                    name,
                    back,
                    "revert",
                    Stage.ARCHIVED,
                    Stage.PRODUCTION,
                    actor,
                    reason,
                    None,
                    None,
                    False,
                    {"artifacts_verified": verified},
                )
            )
        return self._after_commit(name, written)

    def _move(
        self,
        con: sqlite3.Connection,
        name: str,
        version: str,
        action: str,
        frm: Stage,
        to: Stage,
        actor: str,
        reason: str,
        report_path: str | None,
        report_sha: str | None,
        forced: bool,
        evidence: Mapping[str, Any],
    ) -> int:
        row_id = self._log(
            con,
            name,
            version,
            action,
            frm,
            to,
            actor,
            reason,
            report_path,
            report_sha,
            forced,
            evidence,
        )
        con.execute(
            "UPDATE model_versions SET stage=? WHERE name=? AND version=?",
            (to.value, name, version),
        )
        return row_id
