"""Optional mirror of registry stages to an MLflow Model Registry (``pip install mlopskit[mlflow]``).

The SQLite registry stays the source of truth (it keeps the history MLflow does not, and
MLflow's stage API is deprecated). For teams whose serving reads MLflow, every committed
transition is mirrored as

* the alias ``production`` / ``staging`` on the MLflow model version (MLflow ≥ 2.3 aliases,
  the replacement of stages), moved when the stage changes; and
* tags ``mlopskit.stage`` (the stage) and ``mlopskit.transition`` (``<log id>:<row sha256>``)
  on the version.

An MLflow version is matched to a registry version by its tag ``mlopskit.version`` (MLflow
numbers versions itself); :meth:`MlflowMirror.link` sets that tag.

Use: ``Registry(path, mirror=MlflowMirror())``. A mirror failure after a committed registry
transition is reported as a ``RegistryError`` saying the registry change is committed.
"""

from __future__ import annotations

from typing import Any

from mlopskit.registry.records import Stage, Transition
from mlopskit.registry.store import Registry

ALIASES: dict[str, str] = {"Production": "production", "Staging": "staging"}
VERSION_TAG = "mlopskit.version"


class MlflowMirror:
    """Mirror stages to MLflow aliases and tags.

    Parameters
    ----------
    client : an ``mlflow.MlflowClient`` (or an object with the same methods); ``None``
        creates one for ``tracking_uri`` (needs the ``mlflow`` extra).
    tracking_uri : MLflow tracking server, used when ``client`` is ``None``.
    """

    def __init__(self, client: Any = None, *, tracking_uri: str | None = None) -> None:
        if client is None:
            try:
                from mlflow import MlflowClient
            except ImportError as exc:
                raise ImportError(
                    "MlflowMirror needs MLflow: pip install 'mlopskit[mlflow]'."
                ) from exc
            client = MlflowClient(tracking_uri=tracking_uri)
        self.client = client

    def link(self, name: str, version: str, mlflow_version: str | int) -> None:
        """Tag MLflow version ``mlflow_version`` of ``name`` as registry version ``version``."""
        self.client.set_model_version_tag(name, str(mlflow_version), VERSION_TAG, version)

    def mlflow_version(self, name: str, version: str) -> str:
        """The MLflow version number tagged ``mlopskit.version = version``."""
        found = [
            str(mv.version)
            for mv in self.client.search_model_versions(f"name='{name}'")
            if (mv.tags or {}).get(VERSION_TAG) == version
        ]
        if len(found) != 1:
            raise LookupError(
                f"MLflow model {name!r} has {len(found)} versions tagged "
                f"{VERSION_TAG}={version!r} (expected exactly 1); call MlflowMirror.link first."
            )
        return found[0]

    def on_transition(self, t: Transition) -> None:
        """Mirror one committed log row (called by :class:`~mlopskit.registry.Registry`)."""
        v = self.mlflow_version(t.name, t.version)
        self.client.set_model_version_tag(t.name, v, "mlopskit.stage", str(t.to_stage))
        self.client.set_model_version_tag(t.name, v, "mlopskit.transition", f"{t.id}:{t.row_hash}")
        old = ALIASES.get(str(t.from_stage)) if t.from_stage is not None else None
        new = ALIASES.get(str(t.to_stage))
        if old is not None and old != new:
            aliases = dict(getattr(self.client.get_registered_model(t.name), "aliases", {}) or {})
            if str(aliases.get(old)) == v:  # only remove an alias that still points here
                self.client.delete_registered_model_alias(t.name, old)
        if new is not None:
            self.client.set_registered_model_alias(t.name, new, v)

    def sync(self, registry: Registry, name: str) -> None:
        """Set tags and aliases of every version of ``name`` from the registry's state."""
        versions = [mv for mv in registry.list_models().versions if mv.name == name]
        for mv in versions:
            v = self.mlflow_version(name, mv.version)
            self.client.set_model_version_tag(name, v, "mlopskit.stage", str(mv.stage))
        for stage in (Stage.STAGING, Stage.PRODUCTION):
            current = [mv for mv in versions if mv.stage is stage]
            if current:
                latest = max(current, key=lambda mv: mv.created_at)
                self.client.set_registered_model_alias(
                    name, ALIASES[str(stage)], self.mlflow_version(name, latest.version)
                )
