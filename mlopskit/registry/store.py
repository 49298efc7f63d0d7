"""The :class:`Registry` (one SQLite file) and where that file lives.

The overview of the registry is the docstring of :mod:`mlopskit.registry`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlopskit.config import REPO_ROOT
from mlopskit.registry.transitions import Transitions

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


@dataclass(frozen=True)
class Registry(Transitions):
    """A model registry stored in one SQLite file.

    Its methods come from one mixin per concern: :class:`~.runs.Runs` (run records),
    :class:`~.versions.Versions` (register, get, resolve, list), :class:`~.artifacts.Artifacts`
    (sha256-verified loading), :class:`~.gate_results.GateResults` (recorded gate results),
    :class:`~.transitions.Transitions` (stage changes, promote, revert) and :class:`~.log.Log`
    (the hash-chained log: history, verify).

    Parameters
    ----------
    path : absolute path of the registry file (``None``: :func:`default_registry_path`).
    timeout : seconds a writer waits for another process's write lock.
    mirror : optional object with ``on_transition(transition)`` called after each committed
        stage change (e.g. :class:`mlopskit.registry.mlflow_mirror.MlflowMirror`).
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


def open_registry(path: str | Path | None = None, *, mirror: Any = None) -> Registry:
    """The registry at ``path`` (absolute), or the default location (:func:`default_registry_path`)."""
    return Registry(default_registry_path() if path is None else Path(path), mirror=mirror)
