"""Model versions: registering, data locations, and looking versions up."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from mlopskit.registry.log import Log
from mlopskit.registry.records import (
    ModelTable,
    ModelVersion,
    RegistryError,
    Stage,
    _abs_locations,
    _frozen,
    _json,
    _nonempty,
    _now,
    check_name,
    check_version,
    default_actor,
    display_name,
    parse_model,
)
from mlopskit.registry.runs import Runs


class Versions(Runs, Log):
    """Model versions of the registry (a :class:`Registry` mixin)."""

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
