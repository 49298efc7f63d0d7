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
* **Gates** (:mod:`mlopskit.registry.gates`): ``→ Staging`` needs passing CI gate results
  recorded for the version; ``→ Production`` needs a rendered rollout report whose decision.json says
  PROMOTE, whose sha256 matches the HTML and whose provenance names the version. ``force=True``
  overrides a failing gate; the override, its reason and the failed checks are logged.

The registry file is ``$MLOPSKIT_REGISTRY`` (an absolute path) or ``<repo>/data/registry.sqlite``,
never a path relative to the working directory. ``fraud_v2.3`` is the display form of model
``fraud``, version ``2.3`` (:func:`parse_model`).

Modules: :mod:`~.store` (:class:`Registry`, where the file lives), its mixins :mod:`~.runs`,
:mod:`~.versions`, :mod:`~.artifacts`, :mod:`~.gate_results`, :mod:`~.transitions`,
:mod:`~.log` over :mod:`~.connection`; :mod:`~.records` (stages, records, names),
:mod:`~.schema` (SQLite schema, hash chain), :mod:`~.demo` (the demo world's registration),
:mod:`~.mlflow_mirror` (optional MLflow mirror) and :mod:`~.gates` (CI gates; imported on
use, not here, so ``import mlopskit.registry`` stays light).
"""

from __future__ import annotations

from mlopskit.registry.connection import _HOOKS
from mlopskit.registry.demo import code_commit, register_demo
from mlopskit.registry.mlflow_mirror import MlflowMirror
from mlopskit.registry.records import (
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
    check_name,
    check_version,
    default_actor,
    display_name,
    parse_model,
    sha256_file,
)
from mlopskit.registry.store import (
    DEFAULT_REGISTRY_PATH,
    ENV_VAR,
    Registry,
    default_registry_path,
    open_registry,
)

__all__ = [
    "DEFAULT_REGISTRY_PATH",
    "ENV_VAR",
    "LEGAL_TRANSITIONS",
    "REVERT_TRANSITION",
    "_HOOKS",
    "Artifact",
    "ArtifactError",
    "GateLike",
    "GateRefused",
    "History",
    "IllegalTransition",
    "MlflowMirror",
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
