"""pyproject.toml is the single source of dependencies; environment.yml must mirror it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].strip().lower().replace("_", "-")


def _spec(req: str) -> str:
    return req[len(re.split(r"[<>=!~ ]", req, maxsplit=1)[0]) :].replace(" ", "")


def test_environment_yml_mirrors_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    core = {_name(r): _spec(r) for r in pyproject["project"]["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    pip_block = None
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_block = dep["pip"]
            continue
        name = _name(dep)
        if name not in {"python", "pip"}:
            conda[name] = _spec(dep)
    assert conda == core, (
        "environment.yml conda deps must equal pyproject core deps (names and pins)"
    )
    assert pip_block == ['-e ".[dev]"'], (
        "environment.yml must pip-install the package with dev extras"
    )
    assert "conda-forge" in env["channels"]


def test_extras_declared() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert {"dev", "duckdb", "spark", "mlflow"} <= set(extras)
    dev = {_name(r) for r in extras["dev"]}
    assert {"pytest", "hypothesis", "ruff", "mypy"} <= dev


def test_mirror_check_catches_disagreement(tmp_path: Path) -> None:
    """The mirror test is not vacuous: a changed pin is seen as a disagreement."""
    core = {_name(r): _spec(r) for r in ["pandas>=2.0", "numpy>=1.24"]}
    conda = {_name(r): _spec(r) for r in ["pandas>=2.1", "numpy>=1.24"]}
    assert core != conda
