"""Finding a model's config by name: ``$MLOPSKIT_MODELS``, then ``<repo>/models/``, then
``<data_dir>/models/``, then the demo world's ``<data_dir>/demo/models/``; a path to a
``.yml`` file is read as is. (The registry, which records a version's config, is asked
first by the report: :func:`mlopskit.report.inputs.config_path_for`.)"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from mlopskit import config
from mlopskit.modelconfig.schema import ConfigError, ModelConfig, parse_config

SUFFIXES = (".yml", ".yaml")


def config_dirs() -> tuple[Path, ...]:
    """Where model configs are looked up, in order."""
    dirs: list[Path] = []
    env = os.environ.get("MLOPSKIT_MODELS")
    if env:
        dirs.extend(Path(p).expanduser().resolve() for p in env.split(os.pathsep) if p)
    dirs += [
        config.REPO_ROOT / "models",
        config.data_dir() / "models",
        config.demo_dir() / "models",
    ]
    return tuple(dirs)


def find_model_config(name: str) -> Path | None:
    """The config file of model ``name`` (``None`` when no directory has one)."""
    p = Path(name)
    if p.suffix in SUFFIXES:
        return p.resolve() if p.is_file() else None
    for d in config_dirs():
        for suffix in SUFFIXES:
            f = d / f"{name}{suffix}"
            if f.is_file():
                return f
    return None


def load_model_config(name: str | Path) -> ModelConfig:
    """Load and validate the config of model ``name`` (a model name or a ``.yml`` path).

    Raises :class:`ConfigError` (a ``ValueError``) naming the file and key path when the
    config does not follow the schema, or listing the directories searched when none exists.
    """
    path = find_model_config(str(name))
    if path is None:
        searched = ", ".join(str(d) for d in config_dirs())
        raise ConfigError(
            f"no model config for {str(name)!r}: looked for {name}.yml in {searched}. "
            f"Write one with `mlopskit init {name} --data PATH`."
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    cfg = parse_config(raw, path=path)
    if Path(str(name)).suffix not in SUFFIXES and cfg.model != str(name):
        raise ConfigError(
            f"{path}: `model`: expected {str(name)!r} (the file's name); got {cfg.model!r}."
        )
    return cfg
