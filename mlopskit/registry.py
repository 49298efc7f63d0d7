"""Model registry on stdlib ``sqlite3``: run records, versions, stages, an append-only log.

"fraud_v2.3, stage: Production" is what serving loads, so the registry is the source of
truth for what is serving, and every stage change is a deliberate, recorded act:

* **Run records** (experiment tracking): :meth:`Registry.record_run` stores the training
  data hash and row count, feature set version, hyperparameters, code commit, holdout
  metrics, feature importances and artifacts (path + sha256). Most runs are never registered.
* **Versions and stages**: :meth:`Registry.register` creates a version in stage ``None``;
  stages move ``None → Staging → Production → Archived`` (also ``None/Staging → Archived``
  to discard a candidate). :meth:`Registry.transition` is the only way to change a stage
  and :meth:`Registry.revert` the only way back from ``Archived`` to ``Production``.
* **Invariants kept by the database, not only by this module**: a partial unique index
  allows one ``Production`` version per model; triggers refuse illegal transitions, refuse a
  stage change without its log row, and make the log, run records, artifacts and gate
  results append-only (no UPDATE, no DELETE). Each log row carries a sha256 chained to the
  previous row, so an edit made with the triggers dropped is detected by :meth:`Registry.verify`.
* **Transactions**: every write runs in ``BEGIN IMMEDIATE`` (the write lock is taken before
  the current state is read), so two processes promoting at once are serialized, and a
  crash mid-transition leaves the previous state (SQLite's rollback journal).
* **Gates** (``mlopskit.gates``): ``→ Staging`` needs passing CI gate results recorded for
  the version; ``→ Production`` needs a rendered rollout report whose decision.json says
  PROMOTE, whose sha256 matches the HTML and whose provenance names the version. ``force=True``
  overrides a failing gate; the override, its reason and the failed checks are logged.

The registry file is ``$MLOPSKIT_REGISTRY`` (an absolute path) or ``<repo>/data/registry.sqlite``,
never a path relative to the working directory. ``fraud_v2.3`` is the display form of model
``fraud``, version ``2.3`` (:func:`parse_model`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mlopskit._registry_records import (
    LEGAL_TRANSITIONS,
    REVERT_TRANSITION,
    Artifact,
    ArtifactError,
    GateLike,
    GateRefused,
    History,
    IllegalTransition,
    ModelTable,
    ModelVersion,
    RegistryError,
    RunRecord,
    Stage,
    Transition,
    _abs_locations,
    _frozen,
    _json,
    _nonempty,
    _now,
    _transition,
    check_name,
    check_version,
    default_actor,
    display_name,
    parse_model,
    sha256_file,
)
from mlopskit._registry_schema import (
    _GENESIS,
    _HASHED,
    SCHEMA,
    SCHEMA_VERSION,
    _row_hash,
    _statements,
)
from mlopskit.config import REPO_ROOT

__all__ = [
    "LEGAL_TRANSITIONS",
    "Artifact",
    "ArtifactError",
    "GateRefused",
    "History",
    "IllegalTransition",
    "ModelTable",
    "ModelVersion",
    "Registry",
    "RegistryError",
    "RunRecord",
    "Stage",
    "Transition",
    "check_name",
    "check_version",
    "code_commit",
    "default_actor",
    "default_registry_path",
    "display_name",
    "open_registry",
    "parse_model",
    "register_demo",
    "sha256_file",
]

ENV_VAR = "MLOPSKIT_REGISTRY"
DEFAULT_REGISTRY_PATH = REPO_ROOT / "data" / "registry.sqlite"


def default_registry_path() -> Path:
    """``$MLOPSKIT_REGISTRY`` if set (must be absolute), else ``<repo>/data/registry.sqlite``."""
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if not p.is_absolute():
            raise ValueError(
                f"{ENV_VAR} must be an absolute path (a relative one would depend on the "
                f"working directory); got {env!r}."
            )
        return p
    return DEFAULT_REGISTRY_PATH


#: test seam: named callbacks run at fixed points inside write transactions.
_HOOKS: dict[str, Callable[[], None]] = {}


def _hook(point: str) -> None:
    fn = _HOOKS.get(point)
    if fn is not None:
        fn()


# --------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Registry:
    """A model registry stored in one SQLite file.

    Parameters
    ----------
    path : absolute path of the registry file (``None``: :func:`default_registry_path`).
    timeout : seconds a writer waits for another process's write lock.
    mirror : optional object with ``on_transition(transition)`` called after each committed
        stage change (e.g. :class:`mlopskit.registry_mlflow.MlflowMirror`).
    """

    path: Path = field(default_factory=default_registry_path)
    timeout: float = 30.0
    mirror: Any = None

    def __post_init__(self) -> None:
        p = Path(self.path).expanduser()
        if not p.is_absolute():
            raise ValueError(
                f"registry `path` must be absolute (a relative one would depend on the working "
                f"directory); got {str(self.path)!r}. Use Path({str(self.path)!r}).resolve() to "
                f"mean the current directory."
            )
        object.__setattr__(self, "path", p)

    # ---- connections ------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys = ON")
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                con.execute("BEGIN IMMEDIATE")
                try:
                    if con.execute("PRAGMA user_version").fetchone()[0] == 0:
                        for statement in _statements(SCHEMA):
                            con.execute(statement)
                        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            elif version != SCHEMA_VERSION:
                raise RegistryError(
                    f"registry {self.path} has schema version {version}; this mlopskit reads "
                    f"version {SCHEMA_VERSION}."
                )
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the lock is taken before anything is read."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ---- runs -------------------------------------------------------------------------
    def record_run(
        self,
        *,
        data_hash: str,
        n_rows: int,
        feature_set_version: str,
        features: Sequence[str],
        hyperparameters: Mapping[str, Any],
        metrics: Mapping[str, float],
        artifacts: Mapping[str, str | Path],
        code_commit: str | None = None,
        feature_importances: Mapping[str, float] | None = None,
        data_locations: Mapping[str, str | Path] | None = None,
        model_name: str | None = None,
        run_id: str | None = None,
        notes: str = "",
    ) -> RunRecord:
        """Record a training run; artifact files are hashed now (they must exist).

        ``artifacts`` maps a kind (``model``, ``calibrator``, ``eval_predictions``…) to an
        absolute file path. Returns the stored :class:`RunRecord`.
        """
        run_id = run_id or f"run-{uuid.uuid4().hex[:12]}"
        _nonempty(run_id, "run_id")
        _nonempty(data_hash, "data_hash")
        _nonempty(feature_set_version, "feature_set_version")
        if model_name is not None:
            check_name(model_name)
        if not isinstance(n_rows, int) or isinstance(n_rows, bool) or n_rows < 0:
            raise ValueError(f"`n_rows` must be a non-negative int; got {n_rows!r}.")
        feats = [str(f) for f in features]
        if not feats or len(set(feats)) != len(feats):
            raise ValueError(f"`features` must be non-empty and unique; got {feats!r}.")
        metric_values = {str(k): float(v) for k, v in metrics.items()}
        importances = {str(k): float(v) for k, v in (feature_importances or {}).items()}
        locations = _abs_locations(data_locations, "data_locations")
        arts: list[Artifact] = []
        for kind, p in _abs_locations(artifacts, "artifacts").items():
            path = Path(p)
            if not path.is_file():
                raise ValueError(f"artifact {kind!r}: file {path} does not exist.")
            arts.append(Artifact(kind, str(path), sha256_file(path), path.stat().st_size))
        with self._write() as con:
            try:
                con.execute(
                    "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        _now(),
                        model_name,
                        data_hash,
                        n_rows,
                        feature_set_version,
                        _json(feats, "features"),
                        _json(dict(hyperparameters), "hyperparameters"),
                        code_commit,
                        _json(metric_values, "metrics"),
                        _json(importances, "feature_importances"),
                        _json(locations, "data_locations"),
                        notes,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise RegistryError(f"run {run_id!r} already exists in {self.path}.") from exc
            con.executemany(
                "INSERT INTO artifacts VALUES (?,?,?,?,?)",
                [(run_id, a.kind, a.path, a.sha256, a.size_bytes) for a in arts],
            )
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> RunRecord:
        with self._connect() as con:
            return self._run(con, run_id)

    def list_runs(self) -> tuple[RunRecord, ...]:
        with self._connect() as con:
            ids = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY created_at")]
            return tuple(self._run(con, i) for i in ids)

    def _run(self, con: sqlite3.Connection, run_id: str) -> RunRecord:
        r = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if r is None:
            raise RegistryError(f"run {run_id!r} is not recorded in {self.path}.")
        arts = {
            a["kind"]: Artifact(a["kind"], a["path"], a["sha256"], a["size_bytes"])
            for a in con.execute("SELECT * FROM artifacts WHERE run_id = ?", (run_id,))
        }
        return RunRecord(
            run_id=r["run_id"],
            created_at=r["created_at"],
            model_name=r["model_name"],
            data_hash=r["data_hash"],
            n_rows=r["n_rows"],
            feature_set_version=r["feature_set_version"],
            features=tuple(json.loads(r["features"])),
            hyperparameters=_frozen(json.loads(r["hyperparameters"])),
            code_commit=r["code_commit"],
            metrics=_frozen(json.loads(r["metrics"])),
            feature_importances=_frozen(json.loads(r["feature_importances"])),
            artifacts=MappingProxyType(arts),
            data_locations=_frozen(json.loads(r["data_locations"])),
            notes=r["notes"],
        )

    # ---- versions ---------------------------------------------------------------------
    def register(
        self,
        name: str,
        run_id: str,
        *,
        version: str | None = None,
        description: str = "",
        data_locations: Mapping[str, str | Path] | None = None,
        actor: str | None = None,
        reason: str = "registered",
    ) -> ModelVersion:
        """Create version ``version`` of model ``name`` from run ``run_id``, in stage ``None``.

        ``version=None`` takes the next integer after the model's integer versions.
        ``data_locations`` (role → absolute path) tell reports where this version's logs are.
        """
        check_name(name)
        if version is not None:
            check_version(version)
        actor = _nonempty(actor if actor is not None else default_actor(), "actor")
        reason = _nonempty(reason, "reason")
        locations = _abs_locations(data_locations, "data_locations")
        with self._write() as con:
            self._run(con, run_id)  # clear error for an unknown run
            if version is None:
                existing = [
                    r[0]
                    for r in con.execute("SELECT version FROM model_versions WHERE name=?", (name,))
                ]
                version = str(max((int(v) for v in existing if v.isdigit()), default=0) + 1)
            if con.execute(
                "SELECT 1 FROM model_versions WHERE name=? AND version=?", (name, version)
            ).fetchone():
                raise RegistryError(
                    f"{display_name(name, version)} is already registered in {self.path}."
                )
            con.execute(
                "INSERT INTO model_versions VALUES (?,?,?,?,?,?,?)",
                (
                    name,
                    version,
                    run_id,
                    Stage.NONE.value,
                    _now(),
                    description,
                    _json(locations, "data_locations"),
                ),
            )
            self._log(con, name, version, "register", None, Stage.NONE, actor, reason)
        return self.get(name, version)

    def set_data_locations(
        self, name: str, version: str, data_locations: Mapping[str, str | Path]
    ) -> ModelVersion:
        """Add or replace data locations of a version (e.g. once its canary log exists)."""
        locations = _abs_locations(data_locations, "data_locations")
        with self._write() as con:
            current = self._version_row(con, name, version)
            merged = {**json.loads(current["data_locations"]), **locations}
            con.execute(
                "UPDATE model_versions SET data_locations=? WHERE name=? AND version=?",
                (_json(merged, "data_locations"), name, version),
            )
        return self.get(name, version)

    def _version_row(self, con: sqlite3.Connection, name: str, version: str) -> sqlite3.Row:
        check_name(name)
        check_version(version)
        r = con.execute(
            "SELECT * FROM model_versions WHERE name=? AND version=?", (name, version)
        ).fetchone()
        if r is None:
            known = [
                x[0]
                for x in con.execute(
                    "SELECT version FROM model_versions WHERE name=? ORDER BY created_at", (name,)
                )
            ]
            hint = f"registered versions of {name}: {known}" if known else f"no model {name!r}"
            raise RegistryError(
                f"{display_name(name, version)} is not registered in {self.path} ({hint})."
            )
        return r

    def _version(self, con: sqlite3.Connection, r: sqlite3.Row) -> ModelVersion:
        return ModelVersion(
            name=r["name"],
            version=r["version"],
            stage=Stage(r["stage"]),
            run=self._run(con, r["run_id"]),
            created_at=r["created_at"],
            description=r["description"],
            data_locations=_frozen(json.loads(r["data_locations"])),
        )

    def get(self, model: str, version: str | None = None) -> ModelVersion:
        """A version by display form (``get("fraud_v2.3")``) or name + version."""
        name, version = parse_model(model) if version is None else (model, version)
        with self._connect() as con:
            return self._version(con, self._version_row(con, name, version))

    def production(self, name: str) -> ModelVersion | None:
        """The version of ``name`` in Production (the champion), or ``None``."""
        check_name(name)
        with self._connect() as con:
            r = con.execute(
                "SELECT * FROM model_versions WHERE name=? AND stage='Production'", (name,)
            ).fetchone()
            return None if r is None else self._version(con, r)

    def resolve(self, model: str) -> ModelVersion:
        """``"fraud_v2.3"`` → that version; ``"fraud"`` → the current Production version."""
        with self._connect() as con:
            try:
                name, version = parse_model(model)
            except ValueError:
                name, version = check_name(model), None
            if version is not None:
                r = con.execute(
                    "SELECT * FROM model_versions WHERE name=? AND version=?", (name, version)
                ).fetchone()
                if r is not None:
                    return self._version(con, r)
                name = model  # a model name that contains "_v", e.g. "fraud_vip"
            r = con.execute(
                "SELECT * FROM model_versions WHERE name=? AND stage='Production'", (name,)
            ).fetchone()
            if r is not None:
                return self._version(con, r)
            known = [
                display_name(x[0], x[1]) + f" ({x[2]})"
                for x in con.execute("SELECT name, version, stage FROM model_versions")
            ]
            raise RegistryError(
                f"cannot resolve model {model!r} in {self.path}: no such version and no "
                f"Production version of a model named {model!r}. Registered: {known or 'none'}."
            )

    def list_models(self) -> ModelTable:
        with self._connect() as con:
            rows = con.execute(
                "SELECT * FROM model_versions ORDER BY name, created_at, version"
            ).fetchall()
            return ModelTable(tuple(self._version(con, r) for r in rows))

    # ---- artifacts --------------------------------------------------------------------
    def _artifact(self, model: str, kind: str) -> tuple[ModelVersion, Artifact]:
        mv = self.resolve(model)
        art = mv.run.artifacts.get(kind)
        if art is None:
            raise ArtifactError(
                f"{mv.display} (run {mv.run.run_id}) has no {kind!r} artifact; recorded "
                f"artifacts: {sorted(mv.run.artifacts)}."
            )
        return mv, art

    def load_artifact(self, model: str, kind: str = "model") -> bytes:
        """The artifact's bytes, after checking they match the sha256 recorded for the run.

        ``model`` is ``"fraud_v2.3"`` or a bare name (``"fraud"``: the Production version,
        what serving loads). Raises :class:`ArtifactError` (a ``ValueError``) when the file is missing or its
        content changed since the run was recorded.
        """
        mv, art = self._artifact(model, kind)
        path = Path(art.path)
        if not path.is_file():
            raise ArtifactError(
                f"artifact {kind!r} of {mv.display} is missing: {path} does not exist "
                f"(run {mv.run.run_id} recorded sha256 {art.sha256}). Restore the file; the "
                f"registry will not load an unverifiable artifact."
            )
        data = path.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != art.sha256:
            raise ArtifactError(
                f"artifact {kind!r} of {mv.display} at {path} is corrupted or was replaced: "
                f"its sha256 is {actual}, run {mv.run.run_id} recorded {art.sha256}."
            )
        return data

    def verify_artifacts(self, model: str) -> dict[str, str]:
        """Verify every artifact of a version (sha256); returns kind → sha256.

        Raises :class:`ArtifactError` on the first missing or changed file.
        """
        mv = self.resolve(model)
        for kind in sorted(mv.run.artifacts):
            self.load_artifact(mv.display, kind)
        return {k: a.sha256 for k, a in sorted(mv.run.artifacts.items())}

    def artifact_path(self, model: str, kind: str = "model") -> Path:
        """Path of an artifact after verifying its sha256 (for readers that need a path)."""
        self.load_artifact(model, kind)
        return Path(self._artifact(model, kind)[1].path)

    # ---- gates ------------------------------------------------------------------------
    def record_gate(self, result: GateLike) -> None:
        """Store a gate result (``mlopskit.gates``) for the version it names."""
        name, version = parse_model(result.model)
        record = result.to_record()
        with self._write() as con:
            self._version_row(con, name, version)
            con.execute(
                "INSERT INTO gate_results (ts, name, version, gate, passed, record) "
                "VALUES (?,?,?,?,?,?)",
                (
                    _now(),
                    name,
                    version,
                    result.gate,
                    int(bool(result.passed)),
                    _json(record, "gate record"),
                ),
            )

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

    # ---- transitions ------------------------------------------------------------------
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
            beside it (see :func:`mlopskit.gates.report_gate`).
        gate : CI gate result(s) to record before the move (``→ Staging`` checks the latest
            recorded result of every CI gate of the version).
        force : override a failing gate. The failed checks, the flag and the reason are
            logged. Never overrides the lifecycle or the one-Production rule.

        Returns
        -------
        History
            The log rows written (the previous Production's ``supersede`` row first, if any).
        """
        from mlopskit._gate_report import report_gate

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

    def _gate_evidence(
        self,
        con: sqlite3.Connection,
        name: str,
        version: str,
        to: Stage,
        report_result: Any,
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
            smoke = latest.get("staging_smoke")
            if smoke is not None:
                checks.append({"gate": "staging_smoke", "passed": bool(smoke["passed"])})
                if not smoke["passed"]:
                    failures.append("the latest staging smoke test of this version failed")
        return {"passed": not failures, "failures": failures, "checks": checks}

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

    def _log(
        self,
        con: sqlite3.Connection,
        name: str,
        version: str,
        action: str,
        frm: Stage | None,
        to: Stage,
        actor: str,
        reason: str,
        report_path: str | None = None,
        report_sha: str | None = None,
        forced: bool = False,
        evidence: Mapping[str, Any] | None = None,
    ) -> int:
        prev = con.execute("SELECT row_hash FROM transitions ORDER BY id DESC LIMIT 1").fetchone()
        prev_hash = prev[0] if prev else _GENESIS
        row = {
            "ts": _now(),
            "name": name,
            "version": version,
            "action": action,
            "from_stage": None if frm is None else frm.value,
            "to_stage": to.value,
            "actor": actor,
            "reason": reason,
            "report_path": report_path,
            "report_sha256": report_sha,
            "forced": int(forced),
            "evidence": _json(dict(evidence or {}), "evidence"),
        }
        row_hash = _row_hash(prev_hash, row)
        cur = con.execute(
            f"INSERT INTO transitions ({', '.join(row)}, prev_hash, row_hash) "
            f"VALUES ({', '.join('?' * (len(row) + 2))})",
            (*row.values(), prev_hash, row_hash),
        )
        return int(cur.lastrowid or 0)

    def _after_commit(self, name: str, ids: list[int]) -> History:
        hist = self.history(name)
        written = History(name, tuple(t for t in hist.transitions if t.id in ids))
        if self.mirror is not None:
            for t in written.transitions:
                try:
                    self.mirror.on_transition(t)
                except Exception as exc:  # the registry change is committed; say so plainly
                    raise RegistryError(
                        f"{t.display} → {t.to_stage} is committed in the registry, but the "
                        f"mirror failed: {type(exc).__name__}: {exc}"
                    ) from exc
        return written

    # ---- reading the log --------------------------------------------------------------
    def history(self, name: str) -> History:
        """The transitions log of model ``name`` (every version), oldest first."""
        check_name(name)
        with self._connect() as con:
            rows = con.execute(
                "SELECT * FROM transitions WHERE name=? ORDER BY id", (name,)
            ).fetchall()
        return History(name, tuple(_transition(r) for r in rows))

    def verify(self) -> tuple[str, ...]:
        """Audit the whole file; returns the problems found (empty: consistent).

        Checks the hash chain of the log, that replaying the log gives every version's
        current stage, that at no point of the log two versions of a model were in
        Production, and SQLite's own ``integrity_check``.
        """
        problems: list[str] = []
        with self._connect() as con:
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                problems.append(f"sqlite integrity_check: {integrity}")
            prev_hash = _GENESIS
            stages: dict[tuple[str, str], str] = {}
            for r in con.execute("SELECT * FROM transitions ORDER BY id"):
                row = {k: r[k] for k in _HASHED}
                if r["prev_hash"] != prev_hash or _row_hash(prev_hash, row) != r["row_hash"]:
                    problems.append(f"transitions row {r['id']}: hash chain broken (row edited?)")
                prev_hash = r["row_hash"]
                stages[(r["name"], r["version"])] = r["to_stage"]
                prods = [k for k, s in stages.items() if k[0] == r["name"] and s == "Production"]
                if len(prods) > 1:
                    problems.append(
                        f"after row {r['id']}: {len(prods)} Production versions of {r['name']}"
                    )
            for r in con.execute("SELECT name, version, stage FROM model_versions"):
                logged = stages.get((r["name"], r["version"]))
                if logged != r["stage"]:
                    problems.append(
                        f"{display_name(r['name'], r['version'])}: stage {r['stage']} but the "
                        f"log says {logged}"
                    )
        return tuple(problems)


def open_registry(path: str | Path | None = None, *, mirror: Any = None) -> Registry:
    """The registry at ``path`` (absolute), or the default location (:func:`default_registry_path`)."""
    return Registry(default_registry_path() if path is None else Path(path), mirror=mirror)


# the demo world in the registry (re-exported here: ``from mlopskit.registry import register_demo``)
from mlopskit._registry_demo import code_commit, register_demo  # noqa: E402
