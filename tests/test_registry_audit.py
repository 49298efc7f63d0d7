"""Keyed tamper evidence, read-only reads, logged data locations and registered policies
(issue 14). Every attack here is made with the SQLite file alone, as an auditor would:
triggers dropped, rows rewritten, the chain recomputed."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from _registry_helpers import add_version, ci_pass

from mlopskit.cli import main as cli_main
from mlopskit.registry import ArtifactError, Registry, RegistryError, audit, open_registry


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    r = Registry(tmp_path / "registry.sqlite")
    add_version(r, tmp_path, "1")
    r.promote("fraud_v1", to="Staging", reason="ci green", actor="ci", gate=ci_pass("fraud_v1"))
    add_version(r, tmp_path, "2")
    return r


def _raw(reg: Registry) -> sqlite3.Connection:
    con = sqlite3.connect(reg.path, isolation_level=None)
    con.row_factory = sqlite3.Row
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    return con


_HASHED = (
    "ts",
    "name",
    "version",
    "action",
    "from_stage",
    "to_stage",
    "actor",
    "reason",
    "report_path",
    "report_sha256",
    "forced",
    "evidence",
)


def _rechain(con: sqlite3.Connection, link: object) -> None:
    """Recompute the whole chain the way an attacker without the key can."""
    prev = "0" * 64
    for r in con.execute("SELECT * FROM transitions ORDER BY id").fetchall():
        row = {k: r[k] for k in _HASHED}
        h = link(prev, row)  # type: ignore[operator]
        con.execute("UPDATE transitions SET prev_hash=?, row_hash=? WHERE id=?", (prev, h, r["id"]))
        prev = h


def _unkeyed(prev: str, row: dict[str, object]) -> str:  # the schema-1 chain (sha256)
    return hashlib.sha256((prev + json.dumps(row, sort_keys=True)).encode()).hexdigest()


def test_a_fresh_registry_verifies(reg: Registry) -> None:
    assert reg.verify() == ()


def test_rewritten_row_with_recomputed_unkeyed_chain_is_detected(reg: Registry) -> None:
    con = _raw(reg)
    target = con.execute("SELECT id FROM transitions WHERE action='transition'").fetchone()[0]
    con.execute("UPDATE transitions SET actor='someone else' WHERE id=?", (target,))
    _rechain(con, _unkeyed)
    con.close()
    problems = reg.verify()
    assert problems, "a rewritten, re-chained log verified as consistent"
    assert any(f"transitions row {target}" in p for p in problems), problems


def test_rechained_with_a_guessed_key_is_detected(reg: Registry) -> None:
    wrong = audit.AuditKey(b"\x01" * 32, "attacker")
    con = _raw(reg)
    con.execute("UPDATE transitions SET reason='approved by the board' WHERE id=1")
    _rechain(con, wrong.chain)
    con.close()
    problems = reg.verify()
    assert any("transitions row 1" in p for p in problems), problems


def test_deleted_log_row_is_detected(reg: Registry) -> None:
    con = _raw(reg)
    con.execute("DELETE FROM transitions WHERE id = (SELECT max(id) FROM transitions)")
    con.close()
    assert reg.verify()


def test_swapped_artifact_and_row_is_detected_and_not_served(reg: Registry, tmp_path: Path) -> None:
    mv = reg.get("fraud_v1")
    art = mv.run.artifacts["model"]
    evil = tmp_path / "evil.json"
    evil.write_text('{"coef": [9, 9]}')
    con = _raw(reg)
    con.execute(
        "UPDATE artifacts SET path=?, sha256=?, size_bytes=? WHERE run_id=? AND kind='model'",
        (
            str(evil),
            hashlib.sha256(evil.read_bytes()).hexdigest(),
            evil.stat().st_size,
            mv.run.run_id,
        ),
    )
    con.close()
    problems = reg.verify()
    assert any("artifact" in p and mv.run.run_id in p for p in problems), problems
    with pytest.raises(ArtifactError, match="artifact"):
        reg.load_artifact("fraud_v1")
    assert art.sha256 != hashlib.sha256(evil.read_bytes()).hexdigest()


def test_swapped_file_alone_is_refused(reg: Registry) -> None:
    path = Path(reg.get("fraud_v1").run.artifacts["model"].path)
    path.write_text('{"coef": [9, 9]}')
    with pytest.raises(ArtifactError, match=r"replaced|corrupted"):
        reg.load_artifact("fraud_v1")


def test_edited_run_metrics_are_detected(reg: Registry) -> None:
    con = _raw(reg)
    con.execute("UPDATE runs SET metrics=? ", (json.dumps({"auc": 0.99}),))
    con.close()
    assert any("run" in p for p in reg.verify())


def test_edited_data_locations_are_detected(reg: Registry, tmp_path: Path) -> None:
    con = _raw(reg)
    con.execute(
        "UPDATE model_versions SET data_locations=? WHERE version='1'",
        (json.dumps({"canary_log": str(tmp_path / "other.parquet")}),),
    )
    con.close()
    assert any("data locations" in p for p in reg.verify())


def test_registry_written_with_another_key_says_so(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(audit.KEY_ENV, "ab" * 32)
    problems = reg.verify()
    assert any("another audit key" in p for p in problems), problems


# --------------------------------------------------------------------------------------
# The key
# --------------------------------------------------------------------------------------
def test_key_file_is_created_on_first_write_with_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "keys" / "audit.key"
    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    monkeypatch.setenv(audit.KEY_FILE_ENV, str(key))
    r = Registry(tmp_path / "r.sqlite")
    with pytest.raises(RegistryError):
        r.list_models()  # reading a missing registry creates neither it nor the key
    assert not key.exists() and not r.path.exists()
    add_version(r, tmp_path, "1")
    assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    assert r.verify() == ()


def test_group_readable_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "audit.key"
    key.write_text("cd" * 32)
    key.chmod(0o644)
    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    monkeypatch.setenv(audit.KEY_FILE_ENV, str(key))
    with pytest.raises(audit.AuditKeyError, match="chmod 600"):
        audit.load_key(create=False)


@pytest.mark.parametrize("bad", ["not hex", "abcd"])
def test_malformed_env_key_is_refused(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit.KEY_ENV, bad)
    with pytest.raises(audit.AuditKeyError, match=audit.KEY_ENV):
        audit.load_key(create=True)


def test_verify_without_the_key_fails_clearly(
    reg: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    monkeypatch.setenv(audit.KEY_FILE_ENV, str(tmp_path / "absent.key"))
    problems = reg.verify()
    assert any("no audit key" in p for p in problems), problems
    assert not (tmp_path / "absent.key").exists()


# --------------------------------------------------------------------------------------
# Read-only stays read-only
# --------------------------------------------------------------------------------------
def _snapshot(d: Path) -> dict[str, Any]:
    """Every file's bytes, mtime and inode, and every directory's mtime (a file created and
    removed again, e.g. a SQLite journal, changes its directory's mtime)."""
    return {
        str(p): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns, p.stat().st_ino)
        for p in [d, *sorted(d.rglob("*"))]
    }


@pytest.mark.parametrize("what", ["text", "missing", "missing_dir", "other_sqlite", "directory"])
@pytest.mark.parametrize("op", ["list", "show", "history", "verify"])
def test_read_commands_never_create_or_change(tmp_path: Path, what: str, op: str) -> None:
    d = tmp_path / "work"
    d.mkdir()
    target = {
        "text": d / "notes.txt",
        "missing": d / "typo.sqlite",
        "missing_dir": d / "nope" / "registry.sqlite",
        "other_sqlite": d / "other.sqlite",
        "directory": d,
    }[what]
    if what == "text":
        target.write_text("meeting notes\n")
    if what == "other_sqlite":
        con = sqlite3.connect(target)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
    before = _snapshot(d)
    listing = sorted(str(p) for p in d.rglob("*"))
    args = {
        "list": ["registry", "list"],
        "show": ["registry", "show", "fraud_v1"],
        "history": ["registry", "history", "fraud"],
        "verify": ["registry", "verify"],
    }[op]
    code = cli_main([*args, "--registry", str(target)])
    assert code == 2
    assert _snapshot(d) == before
    assert sorted(str(p) for p in d.rglob("*")) == listing
    with pytest.raises(RegistryError, match="registry"):
        open_registry(target).verify()
    assert _snapshot(d) == before


def test_verify_cli_on_a_good_registry(reg: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    before = reg.path.read_bytes()
    assert cli_main(["registry", "verify", "--registry", str(reg.path)]) == 0
    assert "consistent" in capsys.readouterr().out
    assert reg.path.read_bytes() == before


def test_reads_work_on_a_read_only_file(reg: Registry) -> None:
    os.chmod(reg.path, 0o444)
    try:
        assert len(reg.list_models().versions) == 2
        assert reg.verify() == ()
    finally:
        os.chmod(reg.path, 0o644)


# --------------------------------------------------------------------------------------
# Data locations are logged; policies are registered
# --------------------------------------------------------------------------------------
def test_data_location_change_is_a_logged_transition(reg: Registry, tmp_path: Path) -> None:
    new = tmp_path / "canary.parquet"
    reg.set_data_locations("fraud", "2", {"canary_log": new}, actor="ana", reason="canary started")
    last = reg.history("fraud").transitions[-1]
    assert last.action == "relocate" and last.actor == "ana" and last.reason == "canary started"
    assert last.evidence["data_locations"]["canary_log"] == str(new)
    assert reg.get("fraud_v2").data_locations["canary_log"] == str(new)
    assert reg.verify() == ()


def test_policy_registration(reg: Registry, tmp_path: Path) -> None:
    p = tmp_path / "policy.yml"
    p.write_text("canary:\n  alpha: 0.025\n")
    rec = reg.register_policy(p, approved_by="risk committee", reason="Q3 review")
    assert rec.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    assert rec.approved_by == "risk committee" and rec.approved_at
    assert reg.policy(rec.sha256) == rec
    assert reg.policy("0" * 64) is None
    assert reg.register_policy(p, approved_by="x", reason="again") == rec  # idempotent
    assert reg.verify() == ()
    con = _raw(reg)
    con.execute("UPDATE policies SET approved_by='nobody'")
    con.close()
    assert any("policy" in p for p in reg.verify())


def test_invalid_policy_cannot_be_registered(reg: Registry, tmp_path: Path) -> None:
    p = tmp_path / "policy.yml"
    p.write_text("canray:\n  alpha: 0.025\n")
    with pytest.raises(ValueError, match="canray"):
        reg.register_policy(p, approved_by="x", reason="y")
