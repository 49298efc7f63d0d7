"""SQLite schema of the model registry and the hash chain of its transitions log.

The database itself keeps the invariants (ARCHITECTURE.md: "enforced by the database"):
one Production version per model (partial unique index), legal transitions only, no stage
change without its log row, and append-only tables (triggers refusing UPDATE/DELETE).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from mlopskit.registry.records import LEGAL_TRANSITIONS

SCHEMA_VERSION = 1
_GENESIS = "0" * 64


# --------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------
def _append_only(table: str) -> str:
    return f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE is forbidden'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE is forbidden'); END;
"""


_LEGAL_SQL = " OR ".join(
    f"(NEW.from_stage = '{a}' AND NEW.to_stage = '{b}')" for a, b in sorted(LEGAL_TRANSITIONS)
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY CHECK (length(run_id) > 0),
    created_at TEXT NOT NULL,
    model_name TEXT,
    data_hash TEXT NOT NULL,
    n_rows INTEGER NOT NULL CHECK (n_rows >= 0),
    feature_set_version TEXT NOT NULL,
    features TEXT NOT NULL,
    hyperparameters TEXT NOT NULL,
    code_commit TEXT,
    metrics TEXT NOT NULL,
    feature_importances TEXT NOT NULL,
    data_locations TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    kind TEXT NOT NULL CHECK (length(kind) > 0),
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    size_bytes INTEGER NOT NULL,
    PRIMARY KEY (run_id, kind)
);
CREATE TABLE IF NOT EXISTS model_versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    stage TEXT NOT NULL DEFAULT 'None'
        CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
    created_at TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    data_locations TEXT NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_production_per_model
    ON model_versions(name) WHERE stage = 'Production';
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('register', 'transition', 'supersede', 'revert')),
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    actor TEXT NOT NULL CHECK (length(trim(actor)) > 0),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    report_path TEXT,
    report_sha256 TEXT,
    forced INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1)),
    evidence TEXT NOT NULL DEFAULT '{{}}',
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL UNIQUE,
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
);
CREATE INDEX IF NOT EXISTS transitions_by_model ON transitions(name, id);
CREATE TABLE IF NOT EXISTS gate_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    gate TEXT NOT NULL CHECK (length(gate) > 0),
    passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
    record TEXT NOT NULL,
    FOREIGN KEY (name, version) REFERENCES model_versions(name, version)
);
{_append_only("transitions")}
{_append_only("runs")}
{_append_only("artifacts")}
{_append_only("gate_results")}
CREATE TRIGGER IF NOT EXISTS model_versions_no_delete BEFORE DELETE ON model_versions
BEGIN SELECT RAISE(ABORT, 'model_versions rows are never deleted; archive instead'); END;
CREATE TRIGGER IF NOT EXISTS model_versions_identity BEFORE UPDATE OF name, version, run_id,
    created_at ON model_versions
BEGIN SELECT RAISE(ABORT, 'model version identity (name, version, run_id) is immutable'); END;
CREATE TRIGGER IF NOT EXISTS transitions_legal BEFORE INSERT ON transitions
WHEN NOT (
    (NEW.action = 'register' AND NEW.from_stage IS NULL AND NEW.to_stage = 'None')
    OR (NEW.action = 'revert' AND (
        (NEW.from_stage = 'Archived' AND NEW.to_stage = 'Production')
        OR (NEW.from_stage = 'Production' AND NEW.to_stage = 'Archived')))
    OR (NEW.action IN ('transition', 'supersede') AND ({_LEGAL_SQL}))
)
BEGIN SELECT RAISE(ABORT, 'illegal stage transition'); END;
CREATE TRIGGER IF NOT EXISTS transitions_from_current BEFORE INSERT ON transitions
WHEN NEW.action != 'register' AND NEW.from_stage IS NOT (
    SELECT stage FROM model_versions WHERE name = NEW.name AND version = NEW.version)
BEGIN SELECT RAISE(ABORT, 'transition from_stage is not the current stage'); END;
CREATE TRIGGER IF NOT EXISTS stage_change_is_logged BEFORE UPDATE OF stage ON model_versions
WHEN NEW.stage IS NOT OLD.stage AND NOT EXISTS (
    SELECT 1 FROM transitions
    WHERE id = (SELECT max(id) FROM transitions WHERE name = NEW.name AND version = NEW.version)
      AND from_stage = OLD.stage AND to_stage = NEW.stage)
BEGIN SELECT RAISE(ABORT, 'stage change without its transitions log row'); END;
"""


def _statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (trigger bodies contain ';')."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise RuntimeError(f"incomplete SQL statement in the registry schema: {buf!r}")
    return out


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


def _row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    payload = json.dumps({k: row[k] for k in _HASHED}, sort_keys=True)
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()
