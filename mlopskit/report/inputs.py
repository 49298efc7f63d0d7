"""Which data and which report for a model: its model config (found through the
registry, else a ``models/`` directory), the inputs it names (hashed and counted for the
provenance block), the model's registry stage.

Every model, the demo world's included, is read through its model config
(:mod:`mlopskit.modelconfig`): ``mlopskit demo`` writes ``data/demo/models/<model>.yml``
beside the parquet logs. A registered version records its config as the data location
``config``; stages come from the registry (``$MLOPSKIT_REGISTRY`` or
``data/registry.sqlite``) when it knows the model, else from the config (the model named
``champion`` is ``Production``, ``challenger`` ``Staging``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def validate_name(value: str, what: str = "MODEL") -> str:
    """A model or report name that is safe to use as one path component."""
    if not isinstance(value, str) or not _NAME_RE.match(value) or value in {".", ".."}:
        raise ValueError(
            f"`{what}` must be a name of letters, digits, '_', '.', '-' (not starting with "
            f"'.' or '-'); got {value!r}."
        )
    return value


# --------------------------------------------------------------------------------------
# Report inputs: the logs a model config names
# --------------------------------------------------------------------------------------
#: the logs a report may read, in the order they are listed in the provenance block.
LOGS = ("events", "reference", "offline", "shadow_log", "canary_log", "service_log")


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """The data a report reads, with the hash and row count of every file.

    Attributes
    ----------
    data_dir : the directory the input files are listed relative to (the deepest directory
        holding them all; the demo world's ``data/demo``).
    model : the model the report is about; ``role`` is ``"champion"`` or ``"challenger"``.
    champion, challenger : model names from the config.
    as_of : the analysis cut-off (``AS_OF`` parameter, else the config's ``as_of``, else
        midnight after the last event).
    threshold, challenger_threshold : the models' decision thresholds.
    paths : log name → lazy frame with the config's column mapping applied.
    files : one dict per file read: ``name, path`` (relative to ``data_dir``), ``sha256``,
        ``rows`` (None for non-tabular files).
    registry : where the model's config came from (for the provenance).
    segments : the config's segment columns present in the shadow log (or events).
    warnings : data problems found while opening the inputs.
    config : the model's :class:`~mlopskit.modelconfig.ModelConfig`.
    """

    data_dir: Path
    model: str
    role: str
    champion: str
    challenger: str
    as_of: Any
    threshold: float | None
    challenger_threshold: float | None
    paths: Mapping[str, Any]
    files: tuple[Mapping[str, Any], ...]
    registry: Mapping[str, Any] = field(default_factory=dict)
    segments: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    config: Any = None

    def path(self, log: str) -> Any:
        """The log's lazy frame (``None`` when the config has none)."""
        return self.paths.get(log)

    @property
    def model_threshold(self) -> float | None:
        return self.threshold if self.role == "champion" else self.challenger_threshold

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([dict(f) for f in self.files])

    def _repr_html_(self) -> str:
        from mlopskit._display import table_html, warnings_html

        return table_html(self.to_frame(), caption="Inputs") + warnings_html(self.warnings)


def config_path_for(model: str, data_dir: str | Path | None = None) -> Path | None:
    """The config of ``model``: ``<data_dir>/models/<model>.yml`` when ``data_dir`` is given;
    else the config the registry records for it (data location ``config``), else the one
    :func:`mlopskit.modelconfig.find_model_config` finds; ``None`` when there is none."""
    from mlopskit.modelconfig import find_model_config

    validate_name(model)
    if data_dir is not None:
        d = Path(data_dir).resolve()
        for suffix in (".yml", ".yaml"):
            if (d / "models" / f"{model}{suffix}").is_file():
                return d / "models" / f"{model}{suffix}"
        return None
    ref = registered(model)
    if ref is not None and ref.config is not None and ref.config.is_file():
        return ref.config
    return find_model_config(model)


def open_inputs(
    data_dir: str | Path | None,
    model: str,
    *,
    as_of: Any = None,
    model_config: str | Path | None = None,
    role: str | None = None,
) -> ReportInputs:
    """Locate, hash and count the inputs of ``model``'s report through its model config.

    The config is ``model_config`` (a path) when given, else ``<data_dir>/models/<model>.yml``,
    else the one the registry records, else the one found in the ``models/`` directories
    (:func:`config_path_for`). The logs are the config's sources read with its column mapping;
    ``role`` picks the rollout (``"challenger"``) or monitoring (``"champion"``) evidence
    (default: the config's ``champion``/``challenger`` naming the model, else challenger when
    it has a shadow or canary log).

    Nothing is loaded: row counts come from lazy scans.
    """
    from mlopskit.modelconfig import load_model_config
    from mlopskit.report.config_inputs import open_config_inputs

    cfg_path = Path(model_config) if model_config is not None else config_path_for(model, data_dir)
    if cfg_path is None:
        where = (
            f"`{Path(data_dir).resolve()}/models/{model}.yml`"
            if data_dir is not None
            else "the registry or a models/ directory"
        )
        raise ValueError(
            f"`MODEL` {model!r} has no model config in {where}. Write one with "
            f"`mlopskit init {model} --data PATH` (the demo world's: `mlopskit demo`)."
        )
    cfg = load_model_config(cfg_path)
    if cfg.model != model:
        raise ValueError(f"`{cfg_path}` is the config of {cfg.model!r}, not of `MODEL` {model!r}.")
    return open_config_inputs(cfg, as_of=as_of, role=role)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------
# From a model name to a rendered report (the CLI and `make report`)
# --------------------------------------------------------------------------------------
#: registry stage → report notebook (notebooks/<report>.ipynb).
REPORT_FOR_STAGE = {
    "Production": "monitoring",
    "Staging": "rollout",
    "None": "rollout",
    "Archived": "rollout",
}


@dataclass(frozen=True, slots=True)
class ModelRef:
    """Where a model's report comes from: its stage, the report kind and its data.

    ``registry`` holds what the provenance block records about the registry entry (path,
    stage, run id, model artifact sha256, number of logged transitions), or the config
    fallback (``{"source": "model config"}``). ``config`` is the model's config file.
    """

    name: str
    stage: str
    report: str
    data_dir: Path | None
    source: str
    registry: Mapping[str, Any] = field(default_factory=dict)
    config: Path | None = None


def _open_registry() -> Any:
    """The registry at its default path (``$MLOPSKIT_REGISTRY``), or ``None`` when absent."""
    from mlopskit import registry

    path = registry.default_registry_path()
    return registry.open_registry(path) if path.is_file() else None


def _registry_refs(reg: Any) -> dict[str, ModelRef]:
    refs = {}
    for mv in reg.list_models().versions:
        loc = dict(mv.data_locations)
        anchor = loc.get("events")
        stage = str(mv.stage)
        art = mv.run.artifacts.get("model")
        refs[mv.display] = ModelRef(
            name=mv.display,
            stage=stage,
            report=REPORT_FOR_STAGE.get(stage, "rollout"),
            data_dir=None if anchor is None else Path(anchor).parent,
            source=f"registry {reg.path}",
            registry={
                "source": "registry",
                "path": str(reg.path),
                "model": mv.display,
                "stage": stage,
                "run_id": mv.run.run_id,
                "model_artifact_sha256": None if art is None else art.sha256,
                "transitions": len(reg.history(mv.name).transitions),
            },
            config=None if loc.get("config") is None else Path(loc["config"]),
        )
    return refs


def config_stage(cfg: Any) -> str:
    """A config's stage when no registry knows the model: ``Production`` for the config's
    ``champion``, ``Staging`` for its ``challenger``, else ``None`` (a rollout report)."""
    if cfg.champion == cfg.model:
        return "Production"
    if cfg.challenger == cfg.model:
        return "Staging"
    return "None"


def known_models(data_dir: str | Path | None = None) -> dict[str, ModelRef]:
    """Models a report can be rendered for, with their stage.

    Stages come from the registry (``$MLOPSKIT_REGISTRY`` or ``data/registry.sqlite``) when
    it exists; the configs in ``<data_dir>/models/`` that the registry does not know fall
    back to the config's stage (:func:`config_stage`).
    """
    from mlopskit.modelconfig import load_model_config

    reg = _open_registry()
    refs = _registry_refs(reg) if reg is not None else {}
    if data_dir is not None:
        d = Path(data_dir).resolve()
        for p in sorted((d / "models").glob("*.y*ml")):
            cfg = load_model_config(p)
            name = cfg.model
            if name in refs:
                refs[name] = dataclasses.replace(refs[name], data_dir=d, config=p)
            else:
                stage = config_stage(cfg)
                refs[name] = ModelRef(
                    name,
                    stage,
                    REPORT_FOR_STAGE[stage],
                    d,
                    "model config",
                    {"source": "model config", "model": name, "stage": stage},
                    config=p,
                )
    return refs


def resolve_model(model: str, data_dir: str | Path | None = None) -> ModelRef:
    """The model's stage and report; an unknown model lists the known ones."""
    validate_name(model)
    known = known_models(data_dir)
    if model not in known:
        listed = ", ".join(f"{k} ({v.stage})" for k, v in sorted(known.items())) or "none"
        raise ValueError(f"unknown MODEL {model!r}; known models: {listed}.")
    return known[model]


def registered(model: str) -> ModelRef | None:
    """The registry's entry for ``model`` (``None``: no registry file, or not registered)."""
    reg = _open_registry()
    return _registry_refs(reg).get(model) if reg is not None else None
