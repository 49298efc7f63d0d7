"""Which data and which report for a model: the data directory's inputs (hashed and
counted for the provenance block), the model's registry stage and data location.

A data directory is laid out like ``data/demo/``: ``manifest.json`` (``as_of``,
``champion``, ``challenger``, thresholds, optional ``segments``, file hashes),
``<log>.parquet`` for the logs in :data:`LOGS`, and ``models/<model>.json``. Stages come from
the registry (``$MLOPSKIT_REGISTRY`` or ``data/registry.sqlite``) when it knows the model,
else from the manifest (champion ``Production``, challenger ``Staging``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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
# Report inputs: a data directory laid out like data/demo/ (manifest.json + parquet logs)
# --------------------------------------------------------------------------------------
#: the logs a report may read, in the order they are listed in the provenance block.
LOGS = ("events", "reference", "offline", "shadow_log", "canary_log", "service_log")
#: segment columns used when the manifest names none (the demo world's).
DEFAULT_SEGMENTS = ("channel", "merchant_category", "country")


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """The data a report reads, with the hash and row count of every file.

    Attributes
    ----------
    data_dir : the directory (``manifest.json``, ``<log>.parquet``, ``models/<model>.json``).
    model : the model the report is about; ``role`` is ``"champion"`` or ``"challenger"``.
    champion, challenger : model names from the manifest.
    as_of : the analysis cut-off (``AS_OF`` parameter, else the manifest's end of data).
    threshold, challenger_threshold : the models' decision thresholds.
    paths : log name → parquet path, for the logs present.
    files : one dict per file read: ``name, path`` (relative to ``data_dir``), ``sha256``,
        ``rows`` (None for non-tabular files).
    registry : where the model's stage came from and what it is (for the provenance).
    segments : segment columns for disagreement/drift tables (the manifest's ``segments``,
        else ``DEFAULT_SEGMENTS``), kept when the shadow log (or events) has them.
    warnings : e.g. a file whose hash differs from the manifest.
    """

    data_dir: Path
    model: str
    role: str
    champion: str
    challenger: str
    as_of: Any
    threshold: float | None
    challenger_threshold: float | None
    paths: Mapping[str, Path]
    files: tuple[Mapping[str, Any], ...]
    registry: Mapping[str, Any] = field(default_factory=dict)
    segments: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def path(self, log: str) -> Path | None:
        """Path of a log (``None`` when the directory has none)."""
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


def read_manifest(data_dir: str | Path) -> dict[str, Any]:
    d = Path(data_dir)
    mp = d / "manifest.json"
    if not mp.is_file():
        raise ValueError(
            f"data directory `{d}` has no manifest.json; expected a directory laid out like "
            "data/demo/ (manifest.json with as_of, champion, challenger, thresholds; "
            "<log>.parquet files; models/<model>.json)."
        )
    manifest = json.loads(mp.read_text())
    for key in ("as_of", "champion", "challenger"):
        if key not in manifest:
            raise ValueError(f"`{mp}`: key `{key}` is missing.")
    for key in ("champion", "challenger"):
        validate_name(manifest[key], f"{mp}: {key}")
    return dict(manifest)


def open_inputs(data_dir: str | Path | None, model: str, *, as_of: Any = None) -> ReportInputs:
    """Locate, hash and count the inputs of ``model``'s report in ``data_dir`` (``None``:
    the demo world's directory, ``data/demo``).

    Nothing is loaded: row counts come from the parquet metadata via a lazy scan.
    """
    import pandas as pd

    from mlopskit import config, frames

    d = Path(config.demo_dir() if data_dir is None else data_dir).resolve()
    manifest = read_manifest(d)
    ref = resolve_model(model, d)
    roles = {manifest["champion"]: "champion", manifest["challenger"]: "challenger"}
    if model not in roles:
        raise ValueError(f"`MODEL` {model!r} has no data in `{d}`; it holds {sorted(roles)}.")
    end = pd.Timestamp(manifest["as_of"])
    cutoff = end if as_of is None else pd.Timestamp(as_of)
    warnings = []
    if cutoff > end:
        warnings.append(
            f"as_of {cutoff.isoformat()} is after the end of the data ({end.isoformat()})."
        )
    listed = {v["path"]: v.get("sha256") for v in manifest.get("files", {}).values()}
    paths: dict[str, Path] = {}
    files: list[dict[str, Any]] = []
    for log in LOGS:
        p = d / f"{log}.parquet"
        if not p.is_file():
            continue
        paths[log] = p
        files.append({"name": log, "path": p.name, "rows": frames.n_rows(frames.lazy(p))})
    model_file = d / "models" / f"{model}.json"
    if model_file.is_file():
        files.append({"name": f"model {model}", "path": f"models/{model}.json", "rows": None})
    for f in files:
        f["sha256"] = file_sha256(d / str(f["path"]))
        expected = listed.get(f["path"])
        if expected is not None and expected != f["sha256"]:
            warnings.append(f"{f['path']}: sha256 differs from manifest.json (file changed).")
    probe = paths.get("shadow_log") or paths.get("events")
    cols = set(frames.schema(frames.lazy(probe))) if probe is not None else set()
    segments = tuple(c for c in manifest.get("segments", DEFAULT_SEGMENTS) if c in cols)
    return ReportInputs(
        data_dir=d,
        model=model,
        role=roles[model],
        champion=manifest["champion"],
        challenger=manifest["challenger"],
        as_of=cutoff,
        threshold=manifest.get("threshold"),
        challenger_threshold=manifest.get("challenger_threshold"),
        paths=paths,
        files=tuple(files),
        registry=dict(ref.registry),
        segments=segments,
        warnings=tuple(warnings),
    )


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
    stage, run id, model artifact sha256, number of logged transitions), or the manifest
    fallback (``{"source": "manifest.json"}``).
    """

    name: str
    stage: str
    report: str
    data_dir: Path | None
    source: str
    registry: Mapping[str, Any] = field(default_factory=dict)


def _open_registry() -> Any:
    """The registry at its default path (``$MLOPSKIT_REGISTRY``), or ``None`` when absent."""
    from mlopskit import registry

    path = registry.default_registry_path()
    return registry.open_registry(path) if path.is_file() else None


def _registry_refs(reg: Any) -> dict[str, ModelRef]:
    refs = {}
    for mv in reg.list_models().versions:
        loc = dict(mv.data_locations)
        anchor = loc.get("manifest") or loc.get("events")
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
        )
    return refs


def known_models(data_dir: str | Path | None = None) -> dict[str, ModelRef]:
    """Models a report can be rendered for, with their stage.

    Stages come from the registry (``$MLOPSKIT_REGISTRY`` or ``data/registry.sqlite``) when
    it exists; models of ``data_dir`` that the registry does not know fall back to the
    data directory's manifest (champion ``Production``, challenger ``Staging``).
    """
    reg = _open_registry()
    refs = _registry_refs(reg) if reg is not None else {}
    if data_dir is not None:
        d = Path(data_dir).resolve()
        manifest = read_manifest(d)
        for name, stage in (
            (manifest["champion"], "Production"),
            (manifest["challenger"], "Staging"),
        ):
            if name in refs:
                refs[name] = dataclasses.replace(refs[name], data_dir=d)
            else:
                refs[name] = ModelRef(
                    name,
                    stage,
                    REPORT_FOR_STAGE[stage],
                    d,
                    "manifest.json",
                    {"source": "manifest.json", "model": name, "stage": stage},
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
