"""A demo world on disk: :func:`write` (byte-identical for the same world) and :func:`load`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlopskit.demo.model import LogisticModel
from mlopskit.demo.scenarios import GroundTruth, Scenario
from mlopskit.demo.world import DemoWorld

TABLES = ("events", "reference", "offline", "shadow_log", "canary_log", "service_log")


#: the demo world's segment columns (disagreement and drift tables).
SEGMENTS = ("channel", "merchant_category", "country")
#: owners of the monitoring layers (as in policies/default.yml).
OWNERS = {
    "input": "fraud data science",
    "output": "fraud data science",
    "outcome": "fraud data science (model owner)",
    "service": "ml-platform on-call",
}


def model_config(world: DemoWorld, model: LogisticModel) -> dict[str, Any]:
    """The demo world's model config for ``model`` (champion or challenger): the same
    schema as any team's model (``mlopskit init``), logs next to the ``models/`` directory.
    """
    from mlopskit.modelconfig.schema import LOG_COLUMNS

    logs: dict[str, Any] = {}
    for name in TABLES:
        present = set(getattr(world, name).columns)
        cols = {c: c for c in LOG_COLUMNS[name] if c in present}
        if name == "events":
            cols["id"] = "request_id"
        logs[name] = {"source": {"path": f"../{name}.parquet"}, "columns": cols}
    return {
        "model": model.display_name,
        "logs": logs,
        "labels": {"positive": 1, "final": False},
        "windows": {"reference": {"first_days": 28}, "current": {"last_days": 7}},
        "features": [
            {"name": f, "importance": float(v)} for f, v in model.feature_importance.items()
        ],
        "segments": list(SEGMENTS),
        "threshold": float(world.threshold),
        "champion": world.champion.display_name,
        "challenger": world.challenger.display_name,
        "challenger_threshold": float(world.truth.challenger_threshold),
        "as_of": world.as_of.isoformat(),
        "training": {"positives": int(model.training["positives"])},
        "owners": dict(OWNERS),
        "domain": {
            "positive": "fraud",
            "positives": "fraud cases",
            "event": "transaction",
            "team": "fraud data science",
            "description": f"demo world, scenario {world.scenario.name!r}",
        },
    }


def write(world: DemoWorld, out_dir: str | Path) -> dict[str, Path]:
    """Write the world into ``out_dir``: the logs as parquet, each model's artifact
    (``models/<model>.json``) and model config (``models/<model>.yml``, how reports and the
    registry read the world), the ground truth and scenario (JSON); returns name → path.

    Byte-identical for the same world (no timestamps or random ids in the files).
    """
    out = Path(out_dir)
    (out / "models").mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in TABLES:
        p = out / f"{name}.parquet"
        getattr(world, name).to_parquet(p, index=False, compression="zstd")
        paths[name] = p
    for model in (world.champion, world.challenger):
        p = out / "models" / f"{model.display_name}.json"  # the model artifact (registry)
        p.write_text(model.to_json())
        paths[model.display_name] = p
        c = out / "models" / f"{model.display_name}.yml"  # how reports read the world
        c.write_text(
            "# The demo world's model config (mlopskit demo); same schema as `mlopskit init`.\n"
            + yaml.safe_dump(model_config(world, model), sort_keys=False)
        )
        paths[f"{model.display_name} config"] = c
    truth = out / "truth.json"
    truth.write_text(json.dumps(world.truth.to_dict(), sort_keys=True, indent=1))
    paths["truth"] = truth
    scen = out / "scenario.json"
    scen.write_text(json.dumps(dataclasses.asdict(world.scenario), sort_keys=True, indent=1))
    paths["scenario"] = scen
    return paths


def load(out_dir: str | Path) -> DemoWorld:
    """Read a world written by :func:`write` (frames as pandas)."""
    out = Path(out_dir)
    configs = sorted((out / "models").glob("*.yml"))
    if not configs or not (out / "scenario.json").exists():
        raise ValueError(f"`{out}` is not a demo world directory (no models/*.yml, scenario.json).")
    cfg = yaml.safe_load(configs[0].read_text())
    s = Scenario(**json.loads((out / "scenario.json").read_text()))
    frames = {name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES}
    champ = LogisticModel.from_json((out / "models" / f"{cfg['champion']}.json").read_text())
    chall = LogisticModel.from_json((out / "models" / f"{cfg['challenger']}.json").read_text())
    return DemoWorld(
        scenario=s,
        truth=GroundTruth.from_dict(json.loads((out / "truth.json").read_text())),
        as_of=pd.Timestamp(cfg["as_of"]),
        reference=frames["reference"],
        offline=frames["offline"],
        events=frames["events"],
        shadow_log=frames["shadow_log"],
        canary_log=frames["canary_log"],
        service_log=frames["service_log"],
        champion=champ,
        challenger=chall,
    )
