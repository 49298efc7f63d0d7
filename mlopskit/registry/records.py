"""Records of the model registry: stages, names, run records, versions, log rows.

Plain frozen dataclasses and validation helpers shared by :mod:`mlopskit.registry.store` (the
SQLite store) and :mod:`mlopskit.registry.gates`; import them from ``mlopskit.registry``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd


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
        import pandas as pd

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
        from mlopskit import _display

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
        import pandas as pd

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
        from mlopskit import _display

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
        import pandas as pd

        cols = ["model", "name", "version", "stage", "run_id", "created_at"]
        if not self.versions:
            return pd.DataFrame(columns=cols)
        return pd.concat([v.to_frame()[cols] for v in self.versions], ignore_index=True)

    def summary(self) -> str:
        from mlopskit import _display

        if not self.versions:
            return "registry is empty."
        return _display.text_table(self.to_frame())

    def _repr_html_(self) -> str:
        from mlopskit import _display

        return _display.table_html(self.to_frame(), caption="Registered model versions")


class GateLike(Protocol):
    """What :meth:`Registry.record_gate` stores: any gate result of ``mlopskit.registry.gates``."""

    @property
    def gate(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    def to_record(self) -> dict[str, Any]: ...


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
