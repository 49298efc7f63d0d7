"""A report's inputs from a model config: every log read from its source with the config's
column mapping, hashed (files) or described (tables) for the provenance block, and the
windows, features and words the evidence uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlopskit.modelconfig.schema import ModelConfig, Window


def _files_of(cfg: ModelConfig, log: str) -> list[Path]:
    import glob

    src = cfg.logs[log].source
    if src.kind not in ("path", "csv") or src.path is None:
        return []
    p = cfg.resolve(src.path)
    if Path(p).is_dir():
        p = str(Path(p) / "*.parquet")
    return sorted(Path(f) for f in glob.glob(p))


def default_as_of(cfg: ModelConfig, events: Any) -> Any:
    """The config's ``as_of``, else midnight after the last event."""
    import pandas as pd

    from mlopskit import frames

    if cfg.as_of is not None:
        return pd.Timestamp(cfg.as_of)
    last = frames.ts_range(events, frame=f"{cfg.model} events")[1]
    if last is None:
        raise ValueError(f"{cfg.model}: the events log has no rows.")
    return pd.Timestamp(last).tz_localize(None).normalize() + pd.Timedelta(days=1)


def window_bounds(window: Window, first: Any, as_of: Any) -> tuple[Any, Any]:
    """``(start, end)`` of a config window given the first event day and ``as_of``."""
    import pandas as pd

    if window.first_days is not None:
        start = pd.Timestamp(first).normalize()
        return start, start + pd.Timedelta(days=window.first_days)
    if window.last_days is not None:
        return as_of - pd.Timedelta(days=window.last_days), as_of
    return pd.Timestamp(str(window.start)), pd.Timestamp(str(window.end))


def open_config_inputs(
    cfg: ModelConfig, *, as_of: Any = None, role: str | None = None, spark: Any = None
) -> Any:
    """:class:`~mlopskit.report.ReportInputs` for ``cfg``'s model.

    ``role`` is ``"challenger"`` (rollout evidence: shadow and canary logs) or
    ``"champion"`` (monitoring); ``None``: the config's stage (its ``champion`` or
    ``challenger`` naming the model), else challenger when it has a shadow or canary log.
    Files are listed relative to the deepest directory holding them all (``data_dir``).
    """
    import os

    import pandas as pd

    from mlopskit import frames
    from mlopskit.frames.sources import log_frame
    from mlopskit.report.inputs import ReportInputs, config_stage, file_sha256, registered

    logs = {name: log_frame(cfg, name, spark=spark) for name in cfg.logs}
    cutoff = default_as_of(cfg, logs["events"]) if as_of is None else pd.Timestamp(as_of)
    listed = {name: _files_of(cfg, name) for name in cfg.logs}
    on_disk = [p.resolve() for ps in listed.values() for p in ps]
    if cfg.path is not None:
        on_disk.append(cfg.path.resolve())
    root = Path(os.path.commonpath([str(p.parent) for p in on_disk])) if on_disk else Path.cwd()

    def rel(p: Path) -> str:
        return Path(os.path.relpath(p.resolve(), root)).as_posix()

    files: list[dict[str, Any]] = []
    for name in cfg.logs:
        paths = listed[name]
        rows = frames.n_rows(logs[name])
        if not paths:
            desc = cfg.logs[name].source.describe()
            files.append({"name": name, "path": desc, "rows": rows, "sha256": None})
        for p in paths:
            one = {"name": name, "path": rel(p), "rows": rows if len(paths) == 1 else None}
            files.append({**one, "sha256": file_sha256(p)})
        if len(paths) > 1:
            files.append(
                {"name": name, "path": f"{len(paths)} files", "rows": rows, "sha256": None}
            )
    if cfg.path is not None:
        files.append(
            {
                "name": "model config",
                "path": rel(cfg.path),
                "rows": None,
                "sha256": file_sha256(cfg.path),
            }
        )
        # the model artifact beside its config (the demo's models/<model>.json, what the
        # registry registers): its sha256 is the provenance's model_sha256, which the
        # promotion gate compares with the registered artifact
        artifact = cfg.path.parent / f"{cfg.model}.json"
        if artifact.is_file():
            files.append(
                {
                    "name": f"model {cfg.model}",
                    "path": rel(artifact),
                    "rows": None,
                    "sha256": file_sha256(artifact),
                }
            )
    if role is None:
        stage = config_stage(cfg)
        has_rollout_logs = "shadow_log" in logs or "canary_log" in logs
        role = {"Production": "champion", "Staging": "challenger"}.get(
            stage, "challenger" if has_rollout_logs else "champion"
        )
    if role not in ("champion", "challenger"):
        raise ValueError(f"`role` must be 'champion' or 'challenger'; got {role!r}.")
    warnings = []
    end = default_as_of(cfg, logs["events"]) if as_of is not None else cutoff
    if cutoff > end:
        warnings.append(
            f"as_of {cutoff.isoformat()} is after the end of the data ({end.isoformat()})."
        )
    probe = logs.get("shadow_log") or logs["events"]
    cols = set(frames.schema(probe))
    segments = tuple(c for c in cfg.segments if c in cols)
    ref = registered(cfg.model)
    registry = (
        dict(ref.registry)
        if ref is not None
        else {
            "source": "model config",
            "path": None if cfg.path is None else rel(cfg.path),
            "model": cfg.model,
            "stage": config_stage(cfg),
        }
    )
    return ReportInputs(
        data_dir=root,
        model=cfg.model,
        role=role,
        champion=cfg.champion or cfg.model,
        challenger=cfg.challenger or cfg.model,
        as_of=cutoff,
        threshold=cfg.threshold,
        challenger_threshold=cfg.challenger_threshold,
        paths=logs,
        files=tuple(files),
        registry=registry,
        segments=segments,
        warnings=tuple(warnings),
        config=cfg,
    )


def config_report(model: str, kind: str | None, say: Any) -> tuple[str, dict[str, Any]] | None:
    """``(report kind, notebook parameters)`` for a model whose config is found through the
    registry or a ``models/`` directory (``None`` when it has none). ``kind`` defaults to the
    registry stage's report, else the config's stage (:func:`~mlopskit.report.inputs.config_stage`),
    else ``rollout`` when the config has a shadow or canary log, else ``monitoring``."""
    from mlopskit.modelconfig import load_model_config
    from mlopskit.report.inputs import REPORT_FOR_STAGE, config_path_for, config_stage, registered

    if kind is not None and kind not in ("monitoring", "rollout"):
        raise ValueError(f"`kind` must be 'monitoring' or 'rollout'; got {kind!r}.")
    cfg_path = config_path_for(model)
    if cfg_path is None:
        return None
    cfg = load_model_config(cfg_path)
    known = registered(model)
    if kind is None:
        stage = config_stage(cfg)
        rollout_logs = {"shadow_log", "canary_log"} & set(cfg.logs)
        if known is not None:
            kind = known.report
        elif stage != "None":
            kind = REPORT_FOR_STAGE[stage]
        else:
            kind = "rollout" if rollout_logs else "monitoring"
    say(f"{model}: model config {cfg_path} → {kind} report")
    return kind, {"MODEL": model, "DATA_DIR": None, "CONFIG": str(cfg_path)}


def _missed_name(cfg: ModelConfig) -> str:
    import re

    slug = re.sub(r"[^a-z0-9]+", "_", cfg.domain.positive.lower()).strip("_") or "positive"
    return "fraud_missed_rate" if slug == "fraud" else f"missed_{slug}_rate"


def config_metrics(cfg: ModelConfig, policy: Any = None) -> tuple[Any, ...]:
    """The canary metrics of a config model: its ``canary.metrics`` when it declares them
    (their margins, not the policy's); else the default metrics (margins from the policy)
    with the primary named in the model's words (``missed_<positive>_rate``; a fraud model
    keeps ``fraud_missed_rate``), keeping those whose columns the canary log maps (no loss metric
    without ``loss``/``amount``)."""
    import dataclasses

    from mlopskit.canary import default_metrics

    if cfg.canary is not None:
        return cfg.canary.build()
    canary = cfg.logs.get("canary_log")
    mapped = set(canary.columns) if canary is not None else set()
    out = []
    for m in default_metrics(policy):
        if not set(m.columns) <= mapped:
            continue
        if m.name == "fraud_missed_rate":
            m = dataclasses.replace(m, name=_missed_name(cfg))
        out.append(m)
    return tuple(out)


def config_maturity_days(cfg: ModelConfig | None) -> float | None:
    """The label window of a config's canary metrics (``None``: the policy's)."""
    return None if cfg is None or cfg.canary is None else cfg.canary.label_window_days


def config_words(cfg: ModelConfig) -> dict[str, Any]:
    """Card words of :func:`config_metrics` in the config's ``domain`` words (a declared
    metric's ``words``/``unit``; rates per ``domain.events``)."""
    from mlopskit.report.card import DEFAULT_WORDS, MetricWords

    d = cfg.domain
    if cfg.canary is not None:
        out = {}
        for c in cfg.canary.metrics:
            label = c.words or c.name
            if c.relative:
                out[c.name] = MetricWords(label, "relative")
            elif c.kind == "proportion":
                out[c.name] = MetricWords(label, "rate", per=d.events)
            else:
                out[c.name] = MetricWords(label, "quantity", unit=c.unit)
        return out
    if _missed_name(cfg) == "fraud_missed_rate":  # the default metrics are a fraud model's
        return dict(DEFAULT_WORDS)
    return {
        _missed_name(cfg): MetricWords(f"missed {d.positives}", "rate", per=d.events),
        "false_positive_rate": MetricWords(
            f"{d.events} flagged without a {d.positive}", "rate", per=d.events
        ),
        "error_rate": DEFAULT_WORDS["error_rate"],
        "latency_ms": DEFAULT_WORDS["latency_ms"],
        "loss_per_dollar": MetricWords("loss per $ of volume", "relative"),
    }
