"""Run records (experiment tracking): record, read and list training runs."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mlopskit.registry.connection import Connection
from mlopskit.registry.records import (
    Artifact,
    RegistryError,
    RunRecord,
    _abs_locations,
    _frozen,
    _json,
    _nonempty,
    _now,
    check_name,
    sha256_file,
)


class Runs(Connection):
    """Training-run records of the registry (a :class:`Registry` mixin)."""

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
