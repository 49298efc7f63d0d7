"""Optional MLflow mirror: aliases and tags follow the registry's committed transitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _registry_helpers import add_version, ci_pass, render_report, to_stage

from mlopskit.registry import Registry, RegistryError, Stage
from mlopskit.registry.mlflow_mirror import MlflowMirror


@dataclass
class _Version:
    version: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class _Model:
    aliases: dict[str, str] = field(default_factory=dict)


class FakeClient:
    """The five MlflowClient methods the mirror calls, kept in memory (MLflow's semantics:
    an alias points at one version; setting it moves it)."""

    def __init__(self) -> None:
        self.versions: dict[str, list[_Version]] = {}
        self.models: dict[str, _Model] = {}
        self.fail = False

    def create(self, name: str) -> str:
        vs = self.versions.setdefault(name, [])
        vs.append(_Version(str(len(vs) + 1)))
        self.models.setdefault(name, _Model())
        return vs[-1].version

    def search_model_versions(self, filter_string: str) -> list[_Version]:
        name = filter_string.split("'")[1]
        return list(self.versions.get(name, []))

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        if self.fail:
            raise ConnectionError("tracking server unreachable")
        next(v for v in self.versions[name] if v.version == version).tags[key] = value

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.models[name].aliases[alias] = version

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        del self.models[name].aliases[alias]

    def get_registered_model(self, name: str) -> _Model:
        return self.models[name]


def _setup(tmp_path: Path, client: Any) -> tuple[Registry, MlflowMirror]:
    mirror = MlflowMirror(client)
    reg = Registry(tmp_path / "r.sqlite", mirror=mirror)
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
        mirror.link("fraud", v, client.create("fraud") if isinstance(client, FakeClient) else v)
    return reg, mirror


def test_mirror_moves_aliases_with_the_registry(tmp_path: Path) -> None:
    client = FakeClient()
    reg, mirror = _setup(tmp_path, client)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    assert client.models["fraud"].aliases == {"production": "1"}
    to_stage(reg, tmp_path, "fraud_v2", Stage.STAGING)
    assert client.models["fraud"].aliases == {"production": "1", "staging": "2"}
    reg.promote("fraud_v2", to="Production", reason="r", actor="a",
                report=render_report(tmp_path / "rep", "fraud_v2"))  # fmt: skip
    assert client.models["fraud"].aliases == {"production": "2"}  # staging alias left with v2
    tags = {v.version: v.tags for v in client.versions["fraud"]}
    assert tags["1"]["mlopskit.stage"] == "Archived" and tags["2"]["mlopskit.stage"] == "Production"
    last = reg.history("fraud").transitions[-1]
    assert tags["2"]["mlopskit.transition"] == f"{last.id}:{last.row_hash}"
    reg.revert("fraud", reason="r", actor="a")
    assert client.models["fraud"].aliases == {"production": "1"}
    mirror.sync(reg, "fraud")
    assert client.models["fraud"].aliases == {"production": "1"}


def test_mirror_failure_says_the_registry_change_is_committed(tmp_path: Path) -> None:
    client = FakeClient()
    reg, _ = _setup(tmp_path, client)
    client.fail = True
    with pytest.raises(RegistryError, match="committed in the registry, but the mirror failed"):
        reg.transition("fraud", "1", Stage.STAGING, reason="r", actor="a", gate=ci_pass("fraud_v1"))
    assert reg.get("fraud_v1").stage is Stage.STAGING  # the source of truth moved


def test_mirror_needs_a_linked_version(tmp_path: Path) -> None:
    client = FakeClient()
    reg = Registry(tmp_path / "r.sqlite", mirror=MlflowMirror(client))
    add_version(reg, tmp_path, "1")
    client.create("fraud")  # never linked
    with pytest.raises(RegistryError, match=r"call MlflowMirror\.link first"):
        reg.transition("fraud", "1", Stage.ARCHIVED, reason="r", actor="a")


def test_mirror_with_a_real_mlflow_registry(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow", reason="the optional `mlflow` extra is not installed")
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    client.create_registered_model("fraud")
    for _ in ("1", "2"):
        client.create_model_version("fraud", source=str(tmp_path), run_id=None)
    reg, _ = _setup(tmp_path, client)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.STAGING)
    assert client.get_model_version_by_alias("fraud", "production").version == "1"
    reg.promote("fraud_v2", to="Production", reason="r", actor="a",
                report=render_report(tmp_path / "rep", "fraud_v2"))  # fmt: skip
    assert client.get_model_version_by_alias("fraud", "production").version == "2"
    assert client.get_model_version("fraud", "1").tags["mlopskit.stage"] == "Archived"


def test_mirror_without_mlflow_is_a_clear_error() -> None:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"pip install 'mlopskit\[mlflow\]'"):
            MlflowMirror()
    else:
        pytest.skip("mlflow is installed: the missing-extra error cannot occur")
