"""The append-only transitions log: writing rows (hash-chained), reading, auditing."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

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
from mlopskit.registry.schema import _GENESIS, _HASHED, _row_hash


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
        row_hash = _row_hash(prev_hash, row)
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
        """Audit the whole file; returns the problems found (empty: consistent).

        Checks the hash chain of the log, that replaying the log gives every version's
        current stage, that at no point of the log two versions of a model were in
        Production, and SQLite's own ``integrity_check``.
        """
        problems: list[str] = []
        with self._connect() as con:
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                problems.append(f"sqlite integrity_check: {integrity}")
            prev_hash = _GENESIS
            stages: dict[tuple[str, str], str] = {}
            for r in con.execute("SELECT * FROM transitions ORDER BY id"):
                row = {k: r[k] for k in _HASHED}
                if r["prev_hash"] != prev_hash or _row_hash(prev_hash, row) != r["row_hash"]:
                    problems.append(f"transitions row {r['id']}: hash chain broken (row edited?)")
                prev_hash = r["row_hash"]
                stages[(r["name"], r["version"])] = r["to_stage"]
                prods = [k for k, s in stages.items() if k[0] == r["name"] and s == "Production"]
                if len(prods) > 1:
                    problems.append(
                        f"after row {r['id']}: {len(prods)} Production versions of {r['name']}"
                    )
            for r in con.execute("SELECT name, version, stage FROM model_versions"):
                logged = stages.get((r["name"], r["version"]))
                if logged != r["stage"]:
                    problems.append(
                        f"{display_name(r['name'], r['version'])}: stage {r['stage']} but the "
                        f"log says {logged}"
                    )
        return tuple(problems)
