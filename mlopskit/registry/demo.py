"""The demo world in the registry: run records, versions, data locations, gates.

Import from :mod:`mlopskit.registry` (``register_demo``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlopskit.config import REPO_ROOT
from mlopskit.registry.records import ModelVersion, RegistryError, Stage, parse_model, sha256_file
from mlopskit.registry.store import Registry, default_registry_path

# --------------------------------------------------------------------------------------
# The demo world in the registry
# --------------------------------------------------------------------------------------
DEMO_AUC_FLOOR = 0.85
"""AUC threshold of the demo's CI quality gate (the demo models score ≈ 0.92 offline)."""
DEMO_DATA_ROLES = ("events", "reference", "offline", "shadow_log", "canary_log", "service_log")


def code_commit(repo: Path = REPO_ROOT) -> str | None:
    """``git rev-parse HEAD`` of ``repo``, or ``None`` outside a git checkout."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _only_demo_content(reg: Registry, actor: str) -> bool:
    """Whether every log row was written by ``actor`` and every run is a demo run."""
    with reg._connect() as con:
        other_rows = con.execute(
            "SELECT count(*) FROM transitions WHERE actor != ?", (actor,)
        ).fetchone()[0]
        other_runs = con.execute(
            "SELECT count(*) FROM runs WHERE notes NOT LIKE 'demo world, %'"
        ).fetchone()[0]
    return other_rows == 0 and other_runs == 0


def _old_demo_file(path: Path, actor: str) -> bool:
    """``path`` is a registry of an older schema version whose log rows are all by ``actor``."""
    import contextlib
    import sqlite3

    from mlopskit.registry.schema import SCHEMA_VERSION

    try:
        with contextlib.closing(sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)) as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if not 0 < version < SCHEMA_VERSION:
                return False
            actors = {r[0] for r in con.execute("SELECT DISTINCT actor FROM transitions")}
    except sqlite3.DatabaseError:
        return False
    return actors <= {actor}


def register_demo(
    world: Any,
    data_dir: str | Path,
    registry_path: str | Path | None = None,
    *,
    actor: str = "mlopskit demo",
    policy: Any = None,
    replace: bool = False,
) -> tuple[ModelVersion, ModelVersion]:
    """Register the demo world's champion (Production) and challenger (Staging).

    ``data_dir`` is where ``demo.write(world, data_dir)`` wrote the world. For each model a
    run is recorded (training data sha256 and rows, features, hyperparameters, holdout AUC
    and Brier, feature importances, artifacts: the model JSON and its holdout predictions,
    written here as ``models/<model>.eval_predictions.parquet`` with ``row_id`` = row
    position in ``offline.parquet``), the version is registered with the world's data
    locations and its model config (data location ``config``: ``models/<model>.yml``, which
    reports resolve the model through), the CI quality gate runs on the offline holdout and is recorded, then:

    * champion: ``None → Staging`` (gate) ``→ Production`` forced, reason "imported": it was
      serving before the registry existed, so no rollout report exists for it;
    * challenger: ``None → Staging`` with its quality gate (AUC ≥ :data:`DEMO_AUC_FLOOR`,
      non-inferior to the champion by the policy margin). In a scenario where the gate fails
      (``worse``) the move is forced and the log says so, so the canary can be demonstrated.

    Idempotent: registering the same world again returns the existing versions. A registry
    holding these versions with other artifacts or data locations (a regenerated world) is
    an error, unless ``replace=True`` and the file holds nothing but demo registrations (every
    log row by ``actor``, every run a demo run): then the file is deleted and rebuilt. A
    registry with any other content is never deleted.

    Returns ``(champion, challenger)`` as :class:`ModelVersion`.
    """

    import numpy as np

    from mlopskit import frames
    from mlopskit.registry.gates import model_quality_gate
    from mlopskit.stats.auc import delong_auc

    out = Path(data_dir).expanduser().resolve()
    if not any((out / "models").glob("*.yml")):
        raise ValueError(
            f"`data_dir` {out} holds no demo world (no models/*.yml); run demo.write first."
        )
    reg = Registry(default_registry_path() if registry_path is None else Path(registry_path))
    champ, chall = world.champion, world.challenger
    models = {champ.display_name: champ, chall.display_name: chall}
    files = {m: out / "models" / f"{m}.json" for m in models}
    for p in files.values():
        if not p.is_file():
            raise ValueError(f"demo world {out}: model file {p} is missing.")
    base = {role: str(out / f"{role}.parquet") for role in DEMO_DATA_ROLES}
    base.update({k: str(out / f"{k}.json") for k in ("truth", "scenario")})
    # each version records its model config: reports find the model through it
    locations = {m: {**base, "config": str(out / "models" / f"{m}.yml")} for m in models}
    for loc in locations.values():
        if not Path(loc["config"]).is_file():
            raise ValueError(f"demo world {out}: model config {loc['config']} is missing.")
    if replace and reg.path.is_file() and _old_demo_file(reg.path, actor):
        reg.path.unlink()  # a demo registry of an older schema: rebuilt, never migrated
    listed = reg.list_models().versions if reg.path.exists() else ()
    existing = {mv.display: mv for mv in listed if mv.display in models}
    if existing:
        same = len(existing) == 2 and all(
            mv.run.artifacts["model"].sha256 == sha256_file(files[m])
            and dict(mv.data_locations) == locations[m]
            for m, mv in existing.items()
        )
        if same:
            return existing[champ.display_name], existing[chall.display_name]
        if not (replace and _only_demo_content(reg, actor)):
            raise RegistryError(
                f"registry {reg.path} already holds {sorted(existing)} from another demo world "
                f"(other artifacts or data locations). Use a registry file per world, e.g. "
                f"register_demo(world, {str(out)!r}, {str(out / 'registry.sqlite')!r}), or "
                f"replace=True if that file holds only demo registrations."
            )
        reg.path.unlink()
    cols = frames.gate_columns(
        world.offline, ["label", "score_champion", "score_challenger"], frame="demo offline"
    )
    y = cols["label"].astype(float)
    data_hash = sha256_file(out / "reference.parquet")
    commit = code_commit()
    for m, model, column in (
        (champ.display_name, champ, "score_champion"),
        (chall.display_name, chall, "score_challenger"),
    ):
        s = cols[column].astype(float)
        preds = out / "models" / f"{m}.eval_predictions.parquet"
        frames.write_columns({"row_id": np.arange(y.size), "score": s, "label": y}, preds)
        run = reg.record_run(
            data_hash=data_hash,
            n_rows=int(model.training["rows"]),
            feature_set_version=str(model.training["feature_set_version"]),
            features=model.features,
            hyperparameters={
                **model.training["hyperparameters"],
                "terms": list(model.terms),
                "threshold": model.threshold,
            },
            metrics={
                "auc": delong_auc(s, y).auc,
                "brier": float(np.mean((s - y) ** 2)),
                "n_holdout": float(y.size),
                "positives_holdout": float(y.sum()),
            },
            artifacts={"model": files[m], "eval_predictions": preds},
            code_commit=commit,
            feature_importances=model.feature_importance,
            data_locations={"reference": base["reference"], "offline": base["offline"]},
            model_name=model.name,
            notes=f"demo world, scenario {world.scenario.name!r}, seed {world.scenario.seed}",
        )
        reg.register(
            model.name,
            run.run_id,
            version=model.version,
            description=f"demo {'champion' if model is champ else 'challenger'}",
            data_locations=locations[m],
            actor=actor,
        )
    scenario = world.scenario.name
    for m, kwargs in (
        (champ.display_name, {}),
        (
            chall.display_name,
            {"production": "score_champion", "production_model": champ.display_name},
        ),
    ):
        column = "score_champion" if m == champ.display_name else "score_challenger"
        result = model_quality_gate(
            m,
            world.offline,
            scorer=column,
            thresholds={"auc": DEMO_AUC_FLOOR},
            policy=policy,
            **kwargs,
        )
        reason = "CI quality gate on the offline holdout"
        if not result.passed:
            failed = "; ".join(r.message for r in result.reasons if r.passed is False)
            reason = (
                f"demo scenario {scenario!r}: the quality gate failed ({failed}); forced to "
                f"Staging so the shadow/canary analyses can be demonstrated"
            )
        name, version = parse_model(m)
        reg.transition(
            name,
            version,
            Stage.STAGING,
            reason=reason,
            actor=actor,
            gate=result,
            force=not result.passed,
        )
    from mlopskit.policy import DEFAULT_POLICY_PATH

    if DEFAULT_POLICY_PATH.is_file():  # the demo's reports render under the default policy
        reg.register_policy(
            DEFAULT_POLICY_PATH,
            approved_by=actor,
            reason="demo world: the default policy (policies/default.yml) as shipped",
        )
    name, version = parse_model(champ.display_name)
    reg.transition(
        name,
        version,
        Stage.PRODUCTION,
        reason="demo bootstrap: the champion was serving before this registry existed; "
        "imported as Production without a rollout report",
        actor=actor,
        force=True,
    )
    return reg.get(champ.display_name), reg.get(chall.display_name)
