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
import getpass
import hashlib
import json
import os
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import pandas as pd

from mlopskit import _display

ENV_VAR = "MLOPSKIT_REGISTRY"
DEFAULT_REGISTRY_PATH = Path(__file__).resolve().parent.parent / "data" / "registry.sqlite"
SCHEMA_VERSION = 1
_GENESIS = "0" * 64


class Stage(StrEnum):
    """Registry stages. ``NONE`` is the stage of a freshly registered version."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: Stage | str) -> Stage:
        """Case-insensitive: ``"production"`` → ``Stage.PRODUCTION``."""
        if isinstance(value, Stage):
            return value
        for stage in cls:
            if isinstance(value, str) and value.strip().lower() == stage.value.lower():
                return stage
        raise ValueError(f"`to_stage` must be one of {[s.value for s in cls]}; got {value!r}.")


#: (from, to) moves allowed through :meth:`Registry.transition`.
LEGAL_TRANSITIONS: frozenset[tuple[Stage, Stage]] = frozenset(
    {
        (Stage.NONE, Stage.STAGING),
        (Stage.NONE, Stage.ARCHIVED),
        (Stage.STAGING, Stage.PRODUCTION),
        (Stage.STAGING, Stage.ARCHIVED),
        (Stage.PRODUCTION, Stage.ARCHIVED),
    }
)
#: the one move reserved to :meth:`Registry.revert`.
REVERT_TRANSITION = (Stage.ARCHIVED, Stage.PRODUCTION)


class RegistryError(ValueError):
    """A registry operation was refused (the message says why and what to do)."""


class IllegalTransition(RegistryError):
    """The requested stage move is not part of the lifecycle."""


class GateRefused(RegistryError):
    """A promotion gate failed; ``force=True`` with a reason overrides it (and is logged)."""

    def __init__(self, message: str, evidence: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.evidence = evidence


class ArtifactError(RegistryError):
    """An artifact is missing or its bytes do not match the recorded sha256."""


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")


def check_name(name: object) -> str:
    """Validate a model name: ``[A-Za-z0-9_.-]+`` starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"model name must match [A-Za-z0-9][A-Za-z0-9_.-]* (letters, digits, '_', '.', "
            f"'-'; starting with a letter or digit); got {name!r}."
        )
    return name


def check_version(version: object) -> str:
    """Validate a version: ``[A-Za-z0-9.-]+`` starting with a letter or digit (no ``_``,
    so ``NAME_vVERSION`` always splits at its last ``_v``)."""
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        raise ValueError(
            f"model version must match [A-Za-z0-9][A-Za-z0-9.-]* (no '_'); got {version!r}."
        )
    return version


def parse_model(text: str) -> tuple[str, str]:
    """Split the display form ``NAME_vVERSION`` into ``(name, version)``.

    >>> parse_model("fraud_v2.3")
    ('fraud', '2.3')
    """
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", text):
        raise ValueError(f"model must match [A-Za-z0-9_.-]+ (e.g. 'fraud_v2.3'); got {text!r}.")
    name, sep, version = text.rpartition("_v")
    if not sep or not name or not version:
        raise ValueError(
            f"model {text!r} is not in the display form NAME_vVERSION (e.g. 'fraud_v2.3')."
        )
    return check_name(name), check_version(version)


def display_name(name: str, version: str) -> str:
    """``("fraud", "2.3")`` → ``"fraud_v2.3"`` (inverse of :func:`parse_model`)."""
    return f"{check_name(name)}_v{check_version(version)}"


# --------------------------------------------------------------------------------------
# Paths, hashes, defaults
# --------------------------------------------------------------------------------------
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


def sha256_file(path: str | Path) -> str:
    """sha256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_actor() -> str:
    """``$MLOPSKIT_ACTOR`` or the OS user name: who is recorded when no actor is given."""
    return os.environ.get("MLOPSKIT_ACTOR") or getpass.getuser()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{what}` must be JSON-serializable with finite numbers: {exc}") from exc


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _nonempty(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"`{what}` must be a non-empty string; got {value!r}.")
    return value.strip()


def _abs_locations(locations: Mapping[str, str | Path] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for role, p in (locations or {}).items():
        if not isinstance(role, str) or not role:
            raise ValueError(f"`{what}` keys must be non-empty strings; got {role!r}.")
        path = Path(p).expanduser()
        if not path.is_absolute():
            raise ValueError(
                f"`{what}[{role!r}]` must be an absolute path (registry entries must not "
                f"depend on the working directory); got {str(p)!r}."
            )
        out[role] = str(path)
    return out


# --------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------
def _append_only(table: str) -> str:
    return f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE is forbidden'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE is forbidden'); END;
"""


_LEGAL_SQL = " OR ".join(
    f"(NEW.from_stage = '{a}' AND NEW.to_stage = '{b}')" for a, b in sorted(LEGAL_TRANSITIONS)
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY CHECK (length(run_id) > 0),
    created_at TEXT NOT NULL,
    model_name TEXT,
    data_hash TEXT NOT NULL,
    n_rows INTEGER NOT NULL CHECK (n_rows >= 0),
    feature_set_version TEXT NOT NULL,
    features TEXT NOT NULL,
    hyperparameters TEXT NOT NULL,
    code_commit TEXT,
    metrics TEXT NOT NULL,
    feature_importances TEXT NOT NULL,
    data_locations TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    kind TEXT NOT NULL CHECK (length(kind) > 0),
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    size_bytes INTEGER NOT NULL,
    PRIMARY KEY (run_id, kind)
);
CREATE TABLE IF NOT EXISTS model_versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    stage TEXT NOT NULL DEFAULT 'None'
        CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
    created_at TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    data_locations TEXT NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_production_per_model
    ON model_versions(name) WHERE stage = 'Production';
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('register', 'transition', 'supersede', 'revert')),
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    actor TEXT NOT NULL CHECK (length(trim(actor)) > 0),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    report_path TEXT,
    report_sha256 TEXT,
    forced INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1)),
    evidence TEXT NOT NULL DEFAULT '{{}}',
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL UNIQUE,
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
);
CREATE INDEX IF NOT EXISTS transitions_by_model ON transitions(name, id);
CREATE TABLE IF NOT EXISTS gate_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    gate TEXT NOT NULL CHECK (length(gate) > 0),
    passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
    record TEXT NOT NULL,
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
);
{_append_only("transitions")}
{_append_only("runs")}
{_append_only("artifacts")}
{_append_only("gate_results")}
CREATE TRIGGER IF NOT EXISTS model_versions_no_delete BEFORE DELETE ON model_versions
BEGIN SELECT RAISE(ABORT, 'model_versions rows are never deleted; archive instead'); END;
CREATE TRIGGER IF NOT EXISTS model_versions_identity BEFORE UPDATE OF name, version, run_id,
    created_at ON model_versions
BEGIN SELECT RAISE(ABORT, 'model version identity (name, version, run_id) is immutable'); END;
CREATE TRIGGER IF NOT EXISTS transitions_legal BEFORE INSERT ON transitions
WHEN NOT (
    (NEW.action = 'register' AND NEW.from_stage IS NULL AND NEW.to_stage = 'None')
    OR (NEW.action = 'revert' AND (
        (NEW.from_stage = 'Archived' AND NEW.to_stage = 'Production')
        OR (NEW.from_stage = 'Production' AND NEW.to_stage = 'Archived')))
    OR (NEW.action IN ('transition', 'supersede') AND ({_LEGAL_SQL}))
)
BEGIN SELECT RAISE(ABORT, 'illegal stage transition'); END;
CREATE TRIGGER IF NOT EXISTS transitions_from_current BEFORE INSERT ON transitions
WHEN NEW.action != 'register' AND NEW.from_stage IS NOT (
    SELECT stage FROM model_versions WHERE name = NEW.name AND version = NEW.version)
BEGIN SELECT RAISE(ABORT, 'transition from_stage is not the current stage'); END;
CREATE TRIGGER IF NOT EXISTS stage_change_is_logged BEFORE UPDATE OF stage ON model_versions
WHEN NEW.stage IS NOT OLD.stage AND NOT EXISTS (
    SELECT 1 FROM transitions
    WHERE id = (SELECT max(id) FROM transitions WHERE name = NEW.name AND version = NEW.version)
      AND from_stage = OLD.stage AND to_stage = NEW.stage)
BEGIN SELECT RAISE(ABORT, 'stage change without its transitions log row'); END;
"""


def _statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (trigger bodies contain ';')."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise RuntimeError(f"incomplete SQL statement in the registry schema: {buf!r}")
    return out


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Artifact:
    """A file a run produced: ``kind`` (``model``, ``calibrator``, ``eval_predictions``…),
    absolute ``path``, ``sha256`` and size recorded when the run was recorded."""

    kind: str
    path: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One training run (experiment tracking). Immutable once recorded.

    Attributes
    ----------
    run_id, created_at : identity and UTC ISO timestamp.
    model_name : the model family the run trained (informational; ``None`` if not given).
    data_hash, n_rows : sha256 (or other content hash) and row count of the training data.
    feature_set_version, features : the feature set's version and its ordered columns.
    hyperparameters : as given (JSON).
    code_commit : VCS commit of the training code.
    metrics : holdout metrics, e.g. ``{"auc": 0.91, "brier": 0.008}``.
    feature_importances : feature → importance.
    artifacts : kind → :class:`Artifact` (path + sha256).
    data_locations : role → absolute path of the data the run used (e.g. ``reference``).
    notes : free text.
    """

    run_id: str
    created_at: str
    model_name: str | None
    data_hash: str
    n_rows: int
    feature_set_version: str
    features: tuple[str, ...]
    hyperparameters: Mapping[str, Any]
    code_commit: str | None
    metrics: Mapping[str, float]
    feature_importances: Mapping[str, float]
    artifacts: Mapping[str, Artifact]
    data_locations: Mapping[str, str]
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {f: _thaw(getattr(self, f)) for f in self.__dataclass_fields__ if f != "artifacts"}
        out["artifacts"] = {
            k: {"path": a.path, "sha256": a.sha256, "size_bytes": a.size_bytes}
            for k, a in self.artifacts.items()
        }
        return out


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A registered version, its current stage, its run record and its data locations.

    ``data_locations`` maps roles (``events``, ``shadow_log``, ``canary_log``, ``offline``,
    ``reference``, …) to absolute paths: what a rollout report of this version reads.
    """

    name: str
    version: str
    stage: Stage
    run: RunRecord
    created_at: str
    description: str
    data_locations: Mapping[str, str]

    @property
    def display(self) -> str:
        """``fraud_v2.3``."""
        return display_name(self.name, self.version)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def to_frame(self) -> pd.DataFrame:
        """One row: model, name, version, stage, run_id, created_at, plus holdout metrics."""
        row: dict[str, Any] = {
            "model": self.display,
            "name": self.name,
            "version": self.version,
            "stage": str(self.stage),
            "run_id": self.run.run_id,
            "created_at": self.created_at,
        }
        row.update({f"metric_{k}": v for k, v in sorted(self.run.metrics.items())})
        return pd.DataFrame([row])

    def summary(self) -> str:
        lines = [
            f"{self.display}  stage: {self.stage}",
            f"  run {self.run.run_id} (commit {self.run.code_commit or '—'}), "
            f"trained on {self.run.n_rows:,} rows, data sha256 {self.run.data_hash[:12]}…",
            f"  features ({self.run.feature_set_version}): {', '.join(self.run.features)}",
            "  holdout: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(self.run.metrics.items())),
        ]
        for kind, a in sorted(self.run.artifacts.items()):
            lines.append(f"  artifact {kind}: {a.path} (sha256 {a.sha256[:12]}…)")
        for role, p in sorted(self.data_locations.items()):
            lines.append(f"  data {role}: {p}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [
            ("stage", str(self.stage)),
            ("run", self.run.run_id),
            ("code commit", self.run.code_commit or "—"),
            ("training rows", f"{self.run.n_rows:,}"),
            ("training data sha256", self.run.data_hash),
            ("feature set", self.run.feature_set_version),
            ("features", ", ".join(self.run.features)),
        ]
        rows += [(f"holdout {k}", f"{v:.4g}") for k, v in sorted(self.run.metrics.items())]
        rows += [(f"artifact {k}", f"{a.path} ({a.sha256})") for k, a in self.run.artifacts.items()]
        rows += [(f"data {k}", p) for k, p in sorted(self.data_locations.items())]
        body = "".join(
            f"<tr><th style='text-align:left'>{_display.escape(k)}</th>"
            f"<td>{_display.escape(v)}</td></tr>"
            for k, v in rows
        )
        return (
            f"<div class='mk-model'><strong>{_display.escape(self.display)}</strong>"
            f"<table class='mk-table'>{body}</table></div>"
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the append-only transitions log.

    ``action`` is ``register`` (creation, ``from_stage`` is ``None``), ``transition`` (the
    requested move), ``supersede`` (the previous Production archived by a promotion, in the
    same transaction) or ``revert``. ``evidence`` holds the gate results behind the move;
    ``forced`` marks a gate override.
    """

    id: int
    ts: str
    name: str
    version: str
    action: str
    from_stage: Stage | None
    to_stage: Stage
    actor: str
    reason: str
    report_path: str | None
    report_sha256: str | None
    forced: bool
    evidence: Mapping[str, Any]
    row_hash: str

    @property
    def display(self) -> str:
        return display_name(self.name, self.version)


@dataclass(frozen=True, slots=True)
class History:
    """Rows of the transitions log (oldest first): who, when, from, to, why, report + sha256."""

    name: str
    transitions: tuple[Transition, ...]

    def to_frame(self) -> pd.DataFrame:
        cols = [
            "id",
            "ts",
            "model",
            "action",
            "from_stage",
            "to_stage",
            "actor",
            "reason",
            "forced",
            "report_path",
            "report_sha256",
        ]
        rows = [
            {
                "id": t.id,
                "ts": t.ts,
                "model": t.display,
                "action": t.action,
                "from_stage": None if t.from_stage is None else str(t.from_stage),
                "to_stage": str(t.to_stage),
                "actor": t.actor,
                "reason": t.reason,
                "forced": t.forced,
                "report_path": t.report_path,
                "report_sha256": t.report_sha256,
            }
            for t in self.transitions
        ]
        return pd.DataFrame(rows, columns=cols)

    def summary(self) -> str:
        if not self.transitions:
            return f"{self.name}: no transitions."
        lines = [f"{self.name}: {len(self.transitions)} transitions"]
        for t in self.transitions:
            frm = "—" if t.from_stage is None else str(t.from_stage)
            forced = " [FORCED]" if t.forced else ""
            report = (
                f" report {t.report_path} sha256 {t.report_sha256[:12]}…" if t.report_sha256 else ""
            )
            lines.append(
                f"  #{t.id} {t.ts[:19]} {t.display}: {frm} → {t.to_stage} ({t.action}) by "
                f"{t.actor}{forced}: {t.reason}{report}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        df = self.to_frame().drop(columns=["report_sha256"])
        return _display.table_html(df, caption=f"Transitions of {self.name}")

    def plot(self, ax: Any = None) -> Any:
        """Stage of each version over the log's sequence (one line per version)."""
        from mlopskit import plots

        return plots.registry_history(self, ax=ax)


@dataclass(frozen=True, slots=True)
class ModelTable:
    """Every registered version (``list_models()``)."""

    versions: tuple[ModelVersion, ...]

    def to_frame(self) -> pd.DataFrame:
        cols = ["model", "name", "version", "stage", "run_id", "created_at"]
        if not self.versions:
            return pd.DataFrame(columns=cols)
        return pd.concat([v.to_frame()[cols] for v in self.versions], ignore_index=True)

    def summary(self) -> str:
        if not self.versions:
            return "registry is empty."
        return _display.text_table(self.to_frame())

    def _repr_html_(self) -> str:
        return _display.table_html(self.to_frame(), caption="Registered model versions")


class GateLike(Protocol):
    """What :meth:`Registry.record_gate` stores: any gate result of ``mlopskit.gates``."""

    @property
    def gate(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    def to_record(self) -> dict[str, Any]: ...


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
                        for statement in _statements(_SCHEMA):
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
        mv = self.get(model) if "_v" in model else self.resolve(model)
        art = mv.run.artifacts.get(kind)
        if art is None:
            raise ArtifactError(
                f"{mv.display} (run {mv.run.run_id}) has no {kind!r} artifact; recorded "
                f"artifacts: {sorted(mv.run.artifacts)}."
            )
        return mv, art

    def load_artifact(self, model: str, kind: str = "model") -> bytes:
        """The artifact's bytes, after checking they match the sha256 recorded for the run.

        Raises :class:`ArtifactError` (a ``ValueError``) when the file is missing or its
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
        mv = self.get(model) if "_v" in model else self.resolve(model)
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
        from mlopskit import gates

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
            report_result = gates.report_gate(report, model, registry=self)
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


_HASHED = (
    "ts",
    "name",
    "version",
    "action",
    "from_stage",
    "to_stage",
    "actor",
    "reason",
    "report_path",
    "report_sha256",
    "forced",
    "evidence",
)


def _row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    payload = json.dumps({k: row[k] for k in _HASHED}, sort_keys=True)
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _transition(r: sqlite3.Row) -> Transition:
    return Transition(
        id=r["id"],
        ts=r["ts"],
        name=r["name"],
        version=r["version"],
        action=r["action"],
        from_stage=None if r["from_stage"] is None else Stage(r["from_stage"]),
        to_stage=Stage(r["to_stage"]),
        actor=r["actor"],
        reason=r["reason"],
        report_path=r["report_path"],
        report_sha256=r["report_sha256"],
        forced=bool(r["forced"]),
        evidence=_frozen(json.loads(r["evidence"])),
        row_hash=r["row_hash"],
    )


def open_registry(path: str | Path | None = None, *, mirror: Any = None) -> Registry:
    """The registry at ``path`` (absolute), or the default location (:func:`default_registry_path`)."""
    return Registry(default_registry_path() if path is None else Path(path), mirror=mirror)
