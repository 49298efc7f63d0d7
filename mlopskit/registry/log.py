"""The append-only transitions log: writing rows (keyed hash chain), reading, auditing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from mlopskit.registry.audit import AuditKey, AuditKeyError, load_key
from mlopskit.registry.connection import Connection
from mlopskit.registry.records import (
    History,
    RegistryError,
    Stage,
    _json,
    _now,
    _transition,
    check_name,
    display_name,
)
from mlopskit.registry.schema import _GENESIS, _HASHED, _row_hash, _row_mac


class Log(Connection):
    """The transitions log of the registry (a :class:`Registry` mixin)."""

    def _log(
        self,
        con: sqlite3.Connection,
        name: str,
        version: str,
        action: str,
        frm: Stage | None,
        to: Stage,
        actor: str,
        reason: str,
        report_path: str | None = None,
        report_sha: str | None = None,
        forced: bool = False,
        evidence: Mapping[str, Any] | None = None,
    ) -> int:
        prev = con.execute("SELECT row_hash FROM transitions ORDER BY id DESC LIMIT 1").fetchone()
        prev_hash = prev[0] if prev else _GENESIS
        row = {
            "ts": _now(),
            "name": name,
            "version": version,
            "action": action,
            "from_stage": None if frm is None else frm.value,
            "to_stage": to.value,
            "actor": actor,
            "reason": reason,
            "report_path": report_path,
            "report_sha256": report_sha,
            "forced": int(forced),
            "evidence": _json(dict(evidence or {}), "evidence"),
        }
        row_hash = _row_hash(load_key(create=True), prev_hash, row)
        cur = con.execute(
            f"INSERT INTO transitions ({', '.join(row)}, prev_hash, row_hash) "
            f"VALUES ({', '.join('?' * (len(row) + 2))})",
            (*row.values(), prev_hash, row_hash),
        )
        return int(cur.lastrowid or 0)

    def _after_commit(self, name: str, ids: list[int]) -> History:
        hist = self.history(name)
        written = History(name, tuple(t for t in hist.transitions if t.id in ids))
        if self.mirror is not None:
            for t in written.transitions:
                try:
                    self.mirror.on_transition(t)
                except Exception as exc:  # the registry change is committed; say so plainly
                    raise RegistryError(
                        f"{t.display} → {t.to_stage} is committed in the registry, but the "
                        f"mirror failed: {type(exc).__name__}: {exc}"
                    ) from exc
        return written

    def history(self, name: str) -> History:
        """The transitions log of model ``name`` (every version), oldest first."""
        check_name(name)
        with self._connect() as con:
            rows = con.execute(
                "SELECT * FROM transitions WHERE name=? ORDER BY id", (name,)
            ).fetchall()
        return History(name, tuple(_transition(r) for r in rows))

    def verify(self) -> tuple[str, ...]:
        """Audit the whole file (read-only); returns the problems found (empty: consistent).

        Checks SQLite's ``integrity_check``; the keyed hash chain of the log (each broken row
        named); the keyed MACs of run, artifact, gate-result and policy rows; that each
        version's artifacts are those its ``register`` row committed to; that replaying the
        log gives every version's stage and data locations; and that at no point of the log
        two versions of a model were in Production. Raises :class:`RegistryError` when the
        path is not a registry.
        """
        problems: list[str] = []
        try:
            key: AuditKey | None = load_key(create=False)
        except AuditKeyError as exc:
            key = None
            problems.append(f"{exc} Keyed checks skipped.")
        with self._connect() as con:
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                problems.append(f"sqlite integrity_check: {integrity}")
            if key is not None:
                try:
                    self._check_key(con, key)
                except RegistryError as exc:
                    problems.append(f"{exc} Keyed checks skipped.")
                    key = None
            problems += self._verify_log(con, key)
            if key is not None:
                problems += self._verify_macs(con, key)
        return tuple(problems)

    def _verify_log(self, con: sqlite3.Connection, key: AuditKey | None) -> list[str]:
        problems: list[str] = []
        prev_hash = _GENESIS
        stages: dict[tuple[str, str], str] = {}
        locations: dict[tuple[str, str], Any] = {}
        committed: dict[tuple[str, str], Any] = {}
        for r in con.execute("SELECT * FROM transitions ORDER BY id"):
            what = (
                f"transitions row {r['id']} ({display_name(r['name'], r['version'])} {r['action']})"
            )
            if r["prev_hash"] != prev_hash:
                problems.append(
                    f"{what}: does not link to the previous row (a row was deleted, inserted "
                    "or reordered before it)"
                )
            if key is not None and not key.equal(
                r["row_hash"], _row_hash(key, r["prev_hash"], {k: r[k] for k in _HASHED})
            ):
                problems.append(
                    f"{what}: keyed hash does not match its content (the row was edited, or "
                    "the chain recomputed without the audit key)"
                )
            prev_hash = r["row_hash"]
            k = (r["name"], r["version"])
            stages[k] = r["to_stage"]
            ev = json.loads(r["evidence"]) if r["evidence"] else {}
            if r["action"] in ("register", "relocate") and "data_locations" in ev:
                locations[k] = ev["data_locations"]
            if r["action"] == "register" and "artifacts" in ev:
                committed[k] = (ev.get("run_id"), ev["artifacts"])
            prods = [v for v, s in stages.items() if v[0] == r["name"] and s == "Production"]
            if len(prods) > 1:
                problems.append(
                    f"after row {r['id']}: {len(prods)} Production versions of {r['name']}"
                )
        for r in con.execute("SELECT * FROM model_versions"):
            k = (r["name"], r["version"])
            shown = display_name(*k)
            logged = stages.get(k)
            if logged != r["stage"]:
                problems.append(f"{shown}: stage {r['stage']} but the log says {logged}")
            if k in locations and json.loads(r["data_locations"]) != locations[k]:
                problems.append(
                    f"{shown}: data locations differ from the log's last register/relocate "
                    "row (changed without a logged transition)"
                )
            if k in committed:
                run_id, arts = committed[k]
                have = {
                    a["kind"]: a["sha256"]
                    for a in con.execute(
                        "SELECT kind, sha256 FROM artifacts WHERE run_id=?", (r["run_id"],)
                    )
                }
                if run_id != r["run_id"] or have != arts:
                    problems.append(
                        f"{shown}: artifacts of run {r['run_id']} {have} are not those its "
                        f"register row committed to ({run_id}: {arts})"
                    )
        return problems

    def _verify_macs(self, con: sqlite3.Connection, key: AuditKey) -> list[str]:
        problems: list[str] = []
        labels = {
            "runs": lambda r: f"run {r['run_id']}",
            "artifacts": lambda r: f"artifact {r['kind']!r} of run {r['run_id']}",
            "gate_results": lambda r: f"gate result {r['id']} ({r['gate']})",
            "policies": lambda r: f"policy {r['sha256']}",
        }
        for table, label in labels.items():
            for r in con.execute(f"SELECT * FROM {table}"):
                if not key.equal(r["mac"], _row_mac(key, table, r)):
                    problems.append(
                        f"{label(r)}: keyed MAC does not match the row (edited after it was "
                        "recorded)"
                    )
        return problems
