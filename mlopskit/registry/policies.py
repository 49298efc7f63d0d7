"""Registered policies: a policy file's exact content, sha256, approver and approval time.

A rollout report rendered under a policy that is not registered cannot promote: the
promotion gate (:mod:`mlopskit.registry.gates.rederive`) refuses unless forced with a
logged reason, and re-derives the verdict under the registered content, not a file on disk.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from mlopskit.registry.audit import load_key
from mlopskit.registry.connection import Connection
from mlopskit.registry.records import PolicyRecord, RegistryError, _nonempty, _now


class Policies(Connection):
    """Registered policies of the registry (a :class:`Registry` mixin)."""

    def register_policy(self, path: str | Path, *, approved_by: str, reason: str) -> PolicyRecord:
        """Register a policy file: its exact content, sha256, approver and time.

        The file must be a valid policy (every section validated). Registering the same
        content again returns the existing record (the first approval stands).
        """
        from mlopskit.policy import load_policy

        approved_by = _nonempty(approved_by, "approved_by")
        reason = _nonempty(reason, "reason")
        p = Path(path).expanduser().resolve()
        pol = load_policy(p)  # validates; raises ValueError naming the problem
        content = p.read_bytes()
        sha = hashlib.sha256(content).hexdigest()
        if pol.sha256 != sha:  # the file changed between reading and hashing
            raise RegistryError(f"policy file {p} changed while it was being registered.")
        with self._write() as con:
            existing = con.execute("SELECT * FROM policies WHERE sha256=?", (sha,)).fetchone()
            if existing is None:
                row = {
                    "sha256": sha,
                    "content": content.decode("utf-8"),
                    "source_path": str(p),
                    "approved_by": approved_by,
                    "approved_at": _now(),
                    "reason": reason,
                }
                self._insert(con, "policies", row, load_key(create=True))
        rec = self.policy(sha)
        if rec is None:  # written in the transaction above; absent only if the store is broken
            raise RuntimeError(f"registry: policy {sha} was written but cannot be read back.")
        return rec

    def policy(self, sha256: str) -> PolicyRecord | None:
        """The registered policy with this sha256, or ``None``."""
        with self._connect() as con:
            r = con.execute("SELECT * FROM policies WHERE sha256=?", (str(sha256),)).fetchone()
        return None if r is None else _policy_record(r)

    def policies(self) -> tuple[PolicyRecord, ...]:
        """Every registered policy, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM policies ORDER BY approved_at, sha256").fetchall()
        return tuple(_policy_record(r) for r in rows)


def _policy_record(r: sqlite3.Row) -> PolicyRecord:
    return PolicyRecord(
        sha256=r["sha256"],
        content=r["content"],
        source_path=r["source_path"],
        approved_by=r["approved_by"],
        approved_at=r["approved_at"],
        reason=r["reason"],
    )
