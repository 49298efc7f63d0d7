"""Model registry: lifecycle, database-enforced invariants, gates, revert, sha256, concurrency."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import _registry_workers
import pytest
from _registry_helpers import (
    add_version,
    ci_pass,
    render_report,
    to_stage,
    trust_hand_written_reports,
)
from hypothesis import given
from hypothesis import strategies as st

from mlopskit import registry as registry_module
from mlopskit.cli import main as cli_main
from mlopskit.config import REPO_ROOT
from mlopskit.registry import (
    LEGAL_TRANSITIONS,
    ArtifactError,
    GateRefused,
    IllegalTransition,
    Registry,
    RegistryError,
    Stage,
    default_registry_path,
    display_name,
    open_registry,
    parse_model,
)


@pytest.fixture(autouse=True)
def _lifecycle_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand-written reports stand in for rendered ones here (see trust_hand_written_reports)."""
    from mlopskit.registry.gates import rederive

    monkeypatch.setattr(rederive, "rederive", rederive.rederive)  # restored after
    trust_hand_written_reports()


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry.sqlite")


def _count_log(reg: Registry) -> int:
    return len(reg.history("fraud").transitions)


# --------------------------------------------------------------------------------------
# Names and locations
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fraud_v2.3", ("fraud", "2.3")),
        ("fraud_vip_v2", ("fraud_vip", "2")),  # the LAST "_v" separates (versions have no "_")
        ("credit-risk.eu_v10.0.1-rc1", ("credit-risk.eu", "10.0.1-rc1")),
    ],
)
def test_parse_model_display_form(text: str, expected: tuple[str, str]) -> None:
    assert parse_model(text) == expected
    assert display_name(*expected) == text


@pytest.mark.parametrize(
    "bad", ["fraud", "fraud_v", "_v2", "fraud v2", "fraud_v2;rm", "../x_v1", "fraud_v2_3", ""]
)
def test_parse_model_rejects_bad_names(bad: str) -> None:
    with pytest.raises(ValueError, match="model"):
        parse_model(bad)


_name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_version = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,10}", fullmatch=True)


@given(_name, _version)
def test_display_form_round_trips(name: str, version: str) -> None:
    assert parse_model(display_name(name, version)) == (name, version)


def test_registry_location_is_absolute_never_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLOPSKIT_REGISTRY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_registry_path() == REPO_ROOT / "data" / "registry.sqlite"
    assert open_registry().path == REPO_ROOT / "data" / "registry.sqlite"
    monkeypatch.setenv("MLOPSKIT_REGISTRY", str(tmp_path / "r.sqlite"))
    assert default_registry_path() == tmp_path / "r.sqlite"
    monkeypatch.setenv("MLOPSKIT_REGISTRY", "relative/r.sqlite")
    with pytest.raises(ValueError, match="MLOPSKIT_REGISTRY must be an absolute path"):
        default_registry_path()
    with pytest.raises(ValueError, match="registry `path` must be absolute"):
        Registry(Path("r.sqlite"))


# --------------------------------------------------------------------------------------
# Run records
# --------------------------------------------------------------------------------------
def test_run_record_round_trip(reg: Registry, tmp_path: Path) -> None:
    model = tmp_path / "m.json"
    model.write_text('{"w": [1, 2]}')
    preds = tmp_path / "p.csv"
    preds.write_text("row_id,score\n0,0.5\n")
    run = reg.record_run(
        data_hash="a" * 64,
        n_rows=123,
        feature_set_version="fs-7",
        features=["amount", "hour"],
        hyperparameters={"C": 0.5, "layers": [3, 2]},
        metrics={"auc": 0.91, "brier": 0.01},
        artifacts={"model": model, "eval_predictions": preds},
        code_commit="deadbeef",
        feature_importances={"amount": 0.8, "hour": 0.2},
        data_locations={"reference": tmp_path / "ref.parquet"},
        model_name="fraud",
        run_id="run-1",
    )
    assert run == reg.get_run("run-1")
    assert run.n_rows == 123 and run.features == ("amount", "hour")
    assert run.hyperparameters["layers"] == (3, 2)
    assert run.metrics == {"auc": 0.91, "brier": 0.01}
    assert run.artifacts["model"].sha256 == registry_module.sha256_file(model)
    assert run.artifacts["model"].path == str(model) and run.artifacts["model"].size_bytes == 13
    assert run.data_locations == {"reference": str(tmp_path / "ref.parquet")}
    assert run.to_dict()["artifacts"]["eval_predictions"]["path"] == str(preds)
    assert [r.run_id for r in reg.list_runs()] == ["run-1"]  # most runs are never registered
    with pytest.raises(RegistryError, match="run 'run-1' already exists"):
        reg.record_run(
            data_hash="a", n_rows=1, feature_set_version="f", features=["x"],
            hyperparameters={}, metrics={}, artifacts={}, run_id="run-1",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"artifacts": {"model": "/nonexistent/m.json"}}, "does not exist"),
        ({"artifacts": {"model": "relative.json"}}, "must be an absolute path"),
        ({"metrics": {"auc": float("nan")}}, "finite numbers"),
        ({"features": ["a", "a"]}, "unique"),
        ({"n_rows": -1}, "non-negative int"),
        ({"hyperparameters": {"f": object()}}, "JSON-serializable"),
        ({"data_hash": " "}, "`data_hash` must be a non-empty string"),
    ],
)
def test_record_run_validation(reg: Registry, override: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = dict(
        data_hash="a", n_rows=1, feature_set_version="f", features=["x"], hyperparameters={},
        metrics={}, artifacts={},
    )  # fmt: skip
    kwargs.update(override)
    with pytest.raises(ValueError, match=message):
        reg.record_run(**kwargs)
    assert not reg.path.exists() or reg.list_runs() == ()  # nothing written


# --------------------------------------------------------------------------------------
# Lifecycle: every legal transition, every illegal one
# --------------------------------------------------------------------------------------
def test_register_creates_version_in_stage_none_and_logs_it(reg: Registry, tmp_path: Path) -> None:
    mv = add_version(reg, tmp_path, "2.3")
    assert (mv.display, mv.stage, mv.run.n_rows) == ("fraud_v2.3", Stage.NONE, 1000)
    (row,) = reg.history("fraud").transitions
    assert (row.action, row.from_stage, row.to_stage, row.actor) == (
        "register",
        None,
        "None",
        "trainer",
    )
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("fraud", mv.run_id, version="2.3")
    with pytest.raises(RegistryError, match="run 'nope' is not recorded"):
        reg.register("fraud", "nope", version="9")
    auto = reg.register("other", mv.run_id)
    assert auto.version == "1" and reg.register("other", mv.run_id).version == "2"


@pytest.mark.parametrize(("frm", "to"), sorted(LEGAL_TRANSITIONS))
def test_every_legal_transition(reg: Registry, tmp_path: Path, frm: Stage, to: Stage) -> None:
    add_version(reg, tmp_path, "1")
    to_stage(reg, tmp_path, "fraud_v1", frm)  # Archived → Production is revert's: tested below
    assert reg.get("fraud_v1").stage is frm
    evidence: dict[str, Any] = {}
    if to is Stage.STAGING:
        evidence = {"gate": ci_pass("fraud_v1")}
    if to is Stage.PRODUCTION:
        evidence = {"report": render_report(tmp_path / "r", "fraud_v1")}
    written = reg.transition("fraud", "1", to, reason=f"move to {to}", actor="alice", **evidence)
    assert reg.get("fraud_v1").stage is to
    last = written.transitions[-1]
    assert (last.from_stage, last.to_stage, last.actor, last.reason) == (
        frm,
        to,
        "alice",
        f"move to {to}",
    )
    assert not last.forced
    assert reg.history("fraud").transitions[-1] == last
    assert reg.verify() == ()


_ALL_STAGES = list(Stage)
_ILLEGAL = [(a, b) for a in _ALL_STAGES for b in _ALL_STAGES if (a, b) not in LEGAL_TRANSITIONS]


@pytest.mark.parametrize(("frm", "to"), _ILLEGAL)
def test_every_illegal_transition_is_refused_even_forced(
    reg: Registry, tmp_path: Path, frm: Stage, to: Stage
) -> None:
    add_version(reg, tmp_path, "1")
    if frm is Stage.ARCHIVED:
        to_stage(reg, tmp_path, "fraud_v1", Stage.NONE)
        reg.transition("fraud", "1", Stage.ARCHIVED, reason="discard", actor="t")
    else:
        to_stage(reg, tmp_path, "fraud_v1", frm)
    before = reg.history("fraud")
    with pytest.raises((IllegalTransition, ValueError)) as err:
        reg.transition("fraud", "1", to, reason="try", actor="mallory", force=True)
    if (frm, to) == (Stage.ARCHIVED, Stage.PRODUCTION):
        assert "Use revert()" in str(err.value)
    assert reg.get("fraud_v1").stage is frm
    assert reg.history("fraud") == before


def test_database_refuses_what_the_api_refuses(reg: Registry, tmp_path: Path) -> None:
    """The invariants hold for raw SQL too: they live in the database, not only in Python."""
    add_version(reg, tmp_path, "1")
    add_version(reg, tmp_path, "2")
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.STAGING)
    con = sqlite3.connect(reg.path)
    with pytest.raises(sqlite3.IntegrityError, match="without its transitions log row"):
        con.execute("UPDATE model_versions SET stage='Production' WHERE version='2'")
    with pytest.raises(sqlite3.IntegrityError, match="illegal stage transition"):
        con.execute(
            "INSERT INTO transitions (ts, name, version, action, from_stage, to_stage, actor, "
            "reason, prev_hash, row_hash) VALUES ('t','fraud','2','transition','Staging','None',"
            "'x','y','0','h1')"
        )
    with pytest.raises(sqlite3.IntegrityError, match="not the current stage"):
        con.execute(
            "INSERT INTO transitions (ts, name, version, action, from_stage, to_stage, actor, "
            "reason, prev_hash, row_hash) VALUES ('t','fraud','2','transition','None','Staging',"
            "'x','y','0','h2')"
        )
    # Even with every trigger dropped, the partial unique index allows one Production.
    for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        con.execute(f"DROP TRIGGER {trigger}")
    with pytest.raises(
        sqlite3.IntegrityError, match=r"UNIQUE constraint failed: model_versions\.name"
    ):
        con.execute("UPDATE model_versions SET stage='Production' WHERE version='2'")
    con.close()


def test_promotion_archives_previous_production_in_the_same_transaction(
    reg: Registry, tmp_path: Path
) -> None:
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.STAGING)
    report = render_report(tmp_path / "rep2", "fraud_v2")
    written = reg.transition(
        "fraud", "2", "production", reason="canary ok", actor="bob", report=report
    )
    sup, promo = written.transitions
    assert (sup.display, sup.action, sup.from_stage, sup.to_stage) == (
        "fraud_v1", "supersede", Stage.PRODUCTION, Stage.ARCHIVED
    )  # fmt: skip
    assert sup.reason == "superseded by fraud_v2: canary ok" and sup.actor == "bob"
    assert (promo.display, promo.to_stage, promo.id) == ("fraud_v2", Stage.PRODUCTION, sup.id + 1)
    assert promo.report_sha256 == registry_module.sha256_file(report)
    assert promo.report_path == str(report.resolve())
    assert reg.production("fraud").display == "fraud_v2"
    assert reg.get("fraud_v1").stage is Stage.ARCHIVED
    assert reg.load_artifact("fraud_v1")  # archived stays loadable


def test_exception_inside_a_transition_rolls_everything_back(
    reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.STAGING)
    before = reg.history("fraud")

    def boom() -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(registry_module._HOOKS, "after_archive", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        reg.transition("fraud", "2", Stage.PRODUCTION, reason="r", actor="a",
                       report=render_report(tmp_path / "r2", "fraud_v2"))  # fmt: skip
    assert reg.production("fraud").display == "fraud_v1"
    assert reg.get("fraud_v2").stage is Stage.STAGING
    assert reg.history("fraud") == before and reg.verify() == ()


# --------------------------------------------------------------------------------------
# Gates: refusal and override
# --------------------------------------------------------------------------------------
def test_staging_needs_a_passing_ci_gate(reg: Registry, tmp_path: Path) -> None:
    add_version(reg, tmp_path, "1")
    with pytest.raises(GateRefused, match="no CI gate result is recorded"):
        reg.transition("fraud", "1", Stage.STAGING, reason="r", actor="a")
    reg.record_gate(ci_pass("fraud_v1", passed=True, gate="model_quality"))
    reg.record_gate(ci_pass("fraud_v1", passed=False, gate="feature_parity"))
    with pytest.raises(GateRefused, match="latest feature_parity gate result failed"):
        reg.transition("fraud", "1", Stage.STAGING, reason="r", actor="a")
    # the latest result of each gate counts: a fixed parity passes now
    written = reg.transition(
        "fraud", "1", Stage.STAGING, reason="r", actor="a",
        gate=ci_pass("fraud_v1", passed=True, gate="feature_parity"),
    )  # fmt: skip
    checks = written.transitions[-1].evidence["checks"]
    assert {c["gate"]: c["passed"] for c in checks} == {
        "feature_parity": True,
        "model_quality": True,
    }
    assert [g["passed"] for g in reg.gate_results("fraud_v1")] == [True, False, True]
    with pytest.raises(ValueError, match="is a result for 'fraud_v9'"):
        reg.transition(
            "fraud", "1", Stage.ARCHIVED, reason="r", actor="a", gate=ci_pass("fraud_v9")
        )


def test_forced_override_is_logged_with_reason_and_failures(reg: Registry, tmp_path: Path) -> None:
    add_version(reg, tmp_path, "1")
    reg.record_gate(ci_pass("fraud_v1", passed=False, gate="model_quality"))
    written = reg.transition(
        "fraud",
        "1",
        Stage.STAGING,
        reason="hotfix approved by risk lead",
        actor="carol",
        force=True,
    )
    row = written.transitions[-1]
    assert row.forced and row.reason == "hotfix approved by risk lead" and row.actor == "carol"
    assert row.evidence["failures"] == ("latest model_quality gate result failed",)
    assert "[FORCED]" in reg.history("fraud").summary()
    # force on a passing gate is not an override
    add_version(reg, tmp_path, "2")
    ok = reg.transition("fraud", "2", Stage.STAGING, reason="r", actor="a",
                        gate=ci_pass("fraud_v2"), force=True)  # fmt: skip
    assert not ok.transitions[-1].forced


@pytest.mark.parametrize(
    ("kwargs", "edit", "message"),
    [
        ({"verdict": "ROLLBACK"}, None, "verdict is 'ROLLBACK'; promotion needs 'PROMOTE'"),
        ({"decision_model": "fraud_v9"}, None, "decision.json is for model 'fraud_v9'"),
        (
            {"provenance_model": "fraud_v1"},
            None,
            "provenance names model 'fraud_v1', not 'fraud_v2'",
        ),
        ({}, "html", "edited after rendering"),
        ({}, "decision", "not found beside the report"),
        ({}, "garbage", "is not valid JSON"),
        ({}, "rename", "names report 'rollout.html', not this file 'copy.html'"),
        ({"extra_provenance": {"model_sha256": "0" * 64}}, None, "is not the registered artifact"),
    ],
)
def test_production_gate_refuses_bad_reports_and_force_overrides(
    reg: Registry, tmp_path: Path, kwargs: dict[str, Any], edit: str | None, message: str
) -> None:
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.STAGING)
    html = render_report(tmp_path / "rep", "fraud_v2", **kwargs)
    if edit == "html":  # someone "fixes" a number in the rendered report
        html.write_text(html.read_text().replace("PROMOTE", "PROMOTE (edited)"))
    elif edit == "decision":
        (html.parent / "decision.json").unlink()
    elif edit == "garbage":
        (html.parent / "decision.json").write_text("{not json")
    elif edit == "rename":
        html = html.rename(html.parent / "copy.html")
    with pytest.raises(GateRefused, match=message) as err:
        reg.transition("fraud", "2", Stage.PRODUCTION, reason="r", actor="a", report=html)
    assert err.value.evidence["passed"] is False
    assert reg.production("fraud").display == "fraud_v1"
    written = reg.transition(
        "fraud", "2", Stage.PRODUCTION, reason="VP override, INC-42", actor="dave", report=html,
        force=True,
    )  # fmt: skip
    row = written.transitions[-1]
    assert row.forced and row.reason == "VP override, INC-42"
    assert any(message in f for f in row.evidence["failures"])
    assert reg.production("fraud").display == "fraud_v2"


def test_production_gate_requires_a_report_and_a_passing_smoke_test(
    reg: Registry, tmp_path: Path
) -> None:
    add_version(reg, tmp_path, "1")
    to_stage(reg, tmp_path, "fraud_v1", Stage.STAGING)
    with pytest.raises(GateRefused, match="no rendered rollout report given"):
        reg.transition("fraud", "1", Stage.PRODUCTION, reason="r", actor="a")
    with pytest.raises(ValueError, match="`report` is the evidence for → Production"):
        reg.transition("fraud", "1", Stage.ARCHIVED, reason="r", actor="a", report=tmp_path / "x")
    reg.record_gate(ci_pass("fraud_v1", passed=False, gate="staging_smoke"))
    html = render_report(tmp_path / "rep", "fraud_v1")
    with pytest.raises(GateRefused, match="latest staging smoke test of this version failed"):
        reg.transition("fraud", "1", Stage.PRODUCTION, reason="r", actor="a", report=html)
    reg.record_gate(ci_pass("fraud_v1", passed=True, gate="staging_smoke"))
    reg.transition("fraud", "1", Stage.PRODUCTION, reason="r", actor="a", report=html)
    assert reg.production("fraud").display == "fraud_v1"


# --------------------------------------------------------------------------------------
# Revert and artifacts
# --------------------------------------------------------------------------------------
def test_revert_brings_back_the_last_version_that_left_production(
    reg: Registry, tmp_path: Path
) -> None:
    for v in ("1", "2", "3"):
        add_version(reg, tmp_path, v)
    with pytest.raises(RegistryError, match="nothing to revert to"):
        reg.revert("fraud", reason="r", actor="a")
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v3", Stage.PRODUCTION)
    written = reg.revert("fraud", reason="fraud spike after v3", actor="oncall")
    out, back = written.transitions
    assert (out.display, out.from_stage, out.to_stage, out.action) == (
        "fraud_v3", Stage.PRODUCTION, Stage.ARCHIVED, "revert"
    )  # fmt: skip
    assert (back.display, back.from_stage, back.to_stage) == (
        "fraud_v2",
        Stage.ARCHIVED,
        Stage.PRODUCTION,
    )
    assert back.reason == "fraud spike after v3" and back.actor == "oncall"
    assert (
        back.evidence["artifacts_verified"]["model"]
        == reg.get("fraud_v2").run.artifacts["model"].sha256
    )
    # reverting again undoes the revert (v3 is now the last that left Production)
    reg.revert("fraud", reason="false alarm", actor="oncall")
    assert reg.production("fraud").display == "fraud_v3"
    # with no Production at all (retired), revert brings the retired one back
    reg.transition("fraud", "3", Stage.ARCHIVED, reason="retire", actor="a")
    assert reg.production("fraud") is None
    reg.revert("fraud", reason="un-retire", actor="a")
    assert reg.production("fraud").display == "fraud_v3"
    assert reg.verify() == ()


def test_revert_refuses_a_corrupted_archived_artifact(reg: Registry, tmp_path: Path) -> None:
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.PRODUCTION)
    Path(reg.get("fraud_v1").run.artifacts["model"].path).write_text('{"tampered": true}')
    before = reg.history("fraud")
    with pytest.raises(ArtifactError, match="corrupted or was replaced"):
        reg.revert("fraud", reason="r", actor="a")
    assert reg.production("fraud").display == "fraud_v2" and reg.history("fraud") == before


def test_load_artifact_verifies_sha256(reg: Registry, tmp_path: Path) -> None:
    mv = add_version(reg, tmp_path, "1")
    art = mv.run.artifacts["model"]
    path = Path(art.path)
    assert reg.load_artifact("fraud_v1") == path.read_bytes()
    assert reg.artifact_path("fraud_v1") == path
    path.write_bytes(path.read_bytes().replace(b"0.2", b"0.3"))  # one digit changed
    with pytest.raises(ArtifactError) as err:
        reg.load_artifact("fraud_v1")
    msg = str(err.value)
    assert "corrupted or was replaced" in msg and art.sha256 in msg
    assert registry_module.sha256_file(path) in msg
    # a version whose artifact is corrupt cannot move to Staging, forced or not
    with pytest.raises(ArtifactError):
        reg.transition("fraud", "1", Stage.STAGING, reason="r", actor="a",
                       gate=ci_pass("fraud_v1"), force=True)  # fmt: skip
    path.unlink()
    with pytest.raises(ArtifactError, match=r"is missing: .* does not exist"):
        reg.load_artifact("fraud_v1")
    with pytest.raises(ArtifactError, match="has no 'calibrator' artifact"):
        reg.load_artifact("fraud_v1", "calibrator")


# --------------------------------------------------------------------------------------
# Append-only log
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", ["transitions", "gate_results", "runs", "artifacts"])
def test_append_only_tables(reg: Registry, tmp_path: Path, table: str) -> None:
    add_version(reg, tmp_path, "1")
    reg.record_gate(ci_pass("fraud_v1"))
    con = sqlite3.connect(reg.path)
    assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] >= 1
    with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only: UPDATE"):
        con.execute(f"UPDATE {table} SET rowid = rowid")
    with pytest.raises(sqlite3.IntegrityError, match=f"{table} is append-only: DELETE"):
        con.execute(f"DELETE FROM {table}")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        con.execute("DELETE FROM model_versions")
    con.close()


def test_verify_detects_an_edited_log_row(reg: Registry, tmp_path: Path) -> None:
    add_version(reg, tmp_path, "1")
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    assert reg.verify() == ()
    con = sqlite3.connect(reg.path)
    con.execute("DROP TRIGGER transitions_no_update")  # an attacker with write access
    con.execute("UPDATE transitions SET actor='someone else' WHERE action='transition'")
    con.commit()
    con.close()
    problems = reg.verify()
    # the keyed chain names the edited row (tests/test_registry_audit.py has the attacks)
    assert problems and all("keyed hash does not match" in p for p in problems)


# --------------------------------------------------------------------------------------
# Concurrency and crashes with real processes
# --------------------------------------------------------------------------------------
def _run_processes(targets: list[tuple[Any, ...]], n: int) -> list[tuple[str, str]]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [
        ctx.Process(target=_registry_workers.promote, args=(*t, barrier, out)) for t in targets
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


def test_concurrent_promotions_leave_one_production_and_a_complete_log(
    reg: Registry, tmp_path: Path
) -> None:
    n = 5
    add_version(reg, tmp_path, "0")
    to_stage(reg, tmp_path, "fraud_v0", Stage.PRODUCTION)
    targets = []
    for i in range(1, n + 1):
        add_version(reg, tmp_path, str(i))
        to_stage(reg, tmp_path, f"fraud_v{i}", Stage.STAGING)
        report = render_report(tmp_path / f"rep{i}", f"fraud_v{i}")
        targets.append((str(reg.path), str(i), str(report)))
    results = _run_processes(targets, n)
    assert sorted(results) == [(str(i), "ok") for i in range(1, n + 1)]  # serialized, all applied
    stages = {mv.version: mv.stage for mv in reg.list_models().versions}
    assert list(stages.values()).count(Stage.PRODUCTION) == 1
    rows = reg.history("fraud").transitions
    promos = [t for t in rows if t.to_stage is Stage.PRODUCTION]
    supersedes = [t for t in rows if t.action == "supersede"]
    assert len(promos) == n + 1 and len(supersedes) == n
    # each supersede archives exactly the version the previous promotion put in Production
    for prev, sup in zip(promos[:-1], supersedes, strict=True):
        assert sup.version == prev.version and sup.id > prev.id
    assert stages[promos[-1].version] is Stage.PRODUCTION
    assert reg.verify() == ()


def test_concurrent_promotions_of_one_version_apply_once(reg: Registry, tmp_path: Path) -> None:
    n = 4
    for v in ("0", "1"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v0", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v1", Stage.STAGING)
    report = str(render_report(tmp_path / "rep1", "fraud_v1"))
    results = _run_processes([(str(reg.path), "1", report)] * n, n)
    outcomes = sorted(r[1].split(":")[0] for r in results)
    assert outcomes == ["IllegalTransition"] * (n - 1) + ["ok"]
    rows = reg.history("fraud").transitions
    assert sum(t.version == "1" and t.to_stage is Stage.PRODUCTION for t in rows) == 1
    assert reg.production("fraud").display == "fraud_v1" and reg.verify() == ()


def test_crash_mid_transition_leaves_the_previous_state(reg: Registry, tmp_path: Path) -> None:
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.STAGING)
    report = str(render_report(tmp_path / "rep2", "fraud_v2"))
    before = reg.history("fraud")
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(
        target=_registry_workers.promote_then_stall, args=(str(reg.path), report, ready)
    )
    proc.start()
    assert ready.wait(timeout=120)
    os.kill(proc.pid, signal.SIGKILL)  # kill -9 between the two writes of the transaction
    proc.join(timeout=60)
    assert proc.exitcode == -signal.SIGKILL
    assert reg.production("fraud").display == "fraud_v1"
    assert reg.get("fraud_v2").stage is Stage.STAGING
    assert reg.history("fraud") == before
    assert reg.verify() == ()
    # the lock died with the process: the promotion can be done again
    reg.transition("fraud", "2", Stage.PRODUCTION, reason="retry", actor="a", report=report)
    assert reg.production("fraud").display == "fraud_v2"


# --------------------------------------------------------------------------------------
# Reading: resolve, list, history, rendering
# --------------------------------------------------------------------------------------
def test_resolve_get_list_and_renderings(reg: Registry, tmp_path: Path) -> None:
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    reg.set_data_locations("fraud", "2", {"shadow_log": tmp_path / "<b>shadow.parquet"})
    assert reg.resolve("fraud_v2").stage is Stage.NONE
    assert reg.resolve("fraud").display == "fraud_v1"  # bare name → Production
    assert reg.get("fraud", "2") == reg.get("fraud_v2")
    with pytest.raises(RegistryError, match=r"Registered: \['fraud_v1 \(Production\)'"):
        reg.resolve("fraud_v7")
    with pytest.raises(RegistryError, match=r"registered versions of fraud: \['1', '2'\]"):
        reg.get("fraud_v7")
    mv = reg.get("fraud_v2")
    assert mv.data_locations == {"shadow_log": str(tmp_path / "<b>shadow.parquet")}
    assert "&lt;b&gt;shadow.parquet" in mv._repr_html_() and "<b>shadow" not in mv._repr_html_()
    table = reg.list_models()
    assert table.to_frame()[["model", "stage"]].values.tolist() == [
        ["fraud_v1", "Production"], ["fraud_v2", "None"]
    ]  # fmt: skip
    hist = reg.history("fraud")
    df = hist.to_frame()
    assert list(df.columns) == [
        "id", "ts", "model", "action", "from_stage", "to_stage", "actor", "reason", "forced",
        "report_path", "report_sha256",
    ]  # fmt: skip
    # fraud_v2's set_data_locations is a logged `relocate` row (stage unchanged)
    assert df["to_stage"].tolist() == ["None", "None", "Staging", "Production", "None"]
    assert df["action"].tolist()[-1] == "relocate"
    ax = hist.plot()
    assert ax.get_title() == "Registry stages of fraud" and ax.get_xlabel() and ax.get_ylabel()


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def test_cli_registry_promote_revert(
    reg: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v1", Stage.PRODUCTION)
    to_stage(reg, tmp_path, "fraud_v2", Stage.STAGING)
    r = ["--registry", str(reg.path)]
    assert cli_main(["registry", "list", *r]) == 0
    assert "fraud_v2 fraud       2    Staging" in capsys.readouterr().out
    assert cli_main(["promote", "fraud_v2", "--to", "Production", "--reason", "x", *r]) == 2
    assert "refused by its gate: no rendered rollout report" in capsys.readouterr().err
    html = render_report(tmp_path / "rep", "fraud_v2")
    code = cli_main(["promote", "fraud_v2", "--to", "Production", "--report", str(html),
                     "--reason", "canary PROMOTE", "--actor", "erin", *r])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "fraud_v1: Production → Archived (supersede) by erin" in out
    assert reg.production("fraud").display == "fraud_v2"
    assert cli_main(["revert", "fraud", "--reason", "alert", "--actor", "oncall", *r]) == 0
    assert reg.production("fraud").display == "fraud_v1"
    assert cli_main(["registry", "history", "fraud_v2", *r]) == 0
    out = capsys.readouterr().out
    assert "fraud_v2: Archived" not in out and "fraud_v2: Production → Archived (revert)" in out
    assert cli_main(["registry", "show", "fraud", *r]) == 0
    assert capsys.readouterr().out.startswith("fraud_v1  stage: Production")
    assert cli_main(["registry", "verify", *r]) == 0
    assert cli_main(["promote", "bad name", "--to", "Staging", "--reason", "x", *r]) == 2
    assert "must match [A-Za-z0-9_.-]+" in capsys.readouterr().err


def test_decision_json_fields_are_the_documented_ones(tmp_path: Path) -> None:
    """The report helper writes these fields; the gate reads exactly these (contract test)."""
    html = render_report(tmp_path, "fraud_v2.3")
    decision = json.loads((tmp_path / "decision.json").read_text())
    assert set(decision) == {"model", "verdict", "report", "report_sha256", "provenance"}
    assert decision["provenance"]["model"] == "fraud_v2.3" and decision["report"] == html.name


def test_load_artifact_by_name_is_what_serving_loads(reg: Registry, tmp_path: Path) -> None:
    for v in ("1", "2"):
        add_version(reg, tmp_path, v)
    to_stage(reg, tmp_path, "fraud_v2", Stage.PRODUCTION)
    assert reg.load_artifact("fraud") == reg.load_artifact("fraud_v2")
    assert json.loads(reg.load_artifact("fraud"))["version"] == "2"


def test_report_evidence_is_logged_with_both_hashes(reg: Registry, tmp_path: Path) -> None:
    add_version(reg, tmp_path, "1")
    to_stage(reg, tmp_path, "fraud_v1", Stage.STAGING)
    html = render_report(tmp_path / "rep", "fraud_v1")
    row = reg.promote("fraud_v1", to="Production", reason="r", actor="a", report=html).transitions[
        -1
    ]
    check, rederived = row.evidence["checks"]  # the file check, then the re-derivation
    assert check["gate"] == "report" and check["passed"] is True
    assert rederived["gate"] == "rederive"
    assert check["details"]["report_sha256"] == registry_module.sha256_file(html)
    assert check["details"]["decision_sha256"] == registry_module.sha256_file(
        html.parent / "decision.json"
    )
    assert (
        row.evidence["artifacts_verified"]["model"]
        == reg.get("fraud_v1").run.artifacts["model"].sha256
    )


def test_schema_version_and_location_errors(reg: Registry, tmp_path: Path) -> None:
    add_version(reg, tmp_path, "1")
    with pytest.raises(ValueError, match=r"`data_locations\['events'\]` must be an absolute path"):
        reg.set_data_locations("fraud", "1", {"events": "data/events.parquet"})
    reg.set_data_locations("fraud", "1", {"events": tmp_path / "e.parquet"})
    reg.set_data_locations("fraud", "1", {"canary_log": tmp_path / "c.parquet"})  # merged
    assert set(reg.get("fraud_v1").data_locations) == {"events", "canary_log"}
    con = sqlite3.connect(reg.path)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    with pytest.raises(RegistryError, match="has schema version 99; this mlopskit reads version 2"):
        reg.list_models()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"gate_alpha": 0.7}, "gate_alpha must be in"),
        ({"auc_margin": -0.01}, "auc_margin must be ≥ 0"),
        ({"min_positives": 0}, "min_positives must be ≥ 1"),
        ({"n_boot": 2000}, r"unknown keys \['n_boot'\]"),  # DeLong SEs: no bootstrap
        ({"smoke_max_error_rate": 2.0}, "smoke_max_error_rate must be in"),
    ],
)
def test_registry_policy_validation(raw: dict[str, float], message: str) -> None:
    from mlopskit.policy import Policy, RegistryPolicy

    with pytest.raises(ValueError, match=message):
        Policy(raw={"registry": raw}).section("registry", RegistryPolicy)
