"""SQLite connections of the registry: read-only reads, schema creation on first write,
write transactions, keyed row MACs.

Reads (``list``, ``show``, ``history``, ``verify``, loading artifacts) open the file with
``mode=ro`` and refuse a path that does not exist or is not a registry, so they never create
or change a file. Writes create the file, its schema and the audit key
(:mod:`mlopskit.registry.audit`) on first use.

Also the test seam ``_HOOKS``: named callbacks run at fixed points inside write transactions
(``after_archive``, ``before_commit``), re-exported as ``mlopskit.registry._HOOKS``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from mlopskit.registry.audit import AuditKey, load_key
from mlopskit.registry.records import RegistryError, _now
from mlopskit.registry.schema import (
    MAC_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    _row_mac,
    _statements,
)

#: where the registry file is configured (named in error messages).
ENV_VAR = "MLOPSKIT_REGISTRY"

#: test seam: named callbacks run at fixed points inside write transactions.
_HOOKS: dict[str, Callable[[], None]] = {}


def _hook(point: str) -> None:
    fn = _HOOKS.get(point)
    if fn is not None:
        fn()


class Connection:
    """Base of the :class:`~mlopskit.registry.store.Registry` mixins: its fields and connections."""

    path: Path
    timeout: float
    mirror: Any

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection (``mode=ro``): never creates or changes the file.

        Refuses a path that does not exist, is not a file, is not a SQLite database, or is a
        database without the registry schema.
        """
        if not self.path.exists():
            raise RegistryError(
                f"registry {self.path} does not exist; nothing to read. Check the path "
                f"(--registry / ${ENV_VAR}); a registry is created by its first write "
                "(record_run / register)."
            )
        if not self.path.is_file():
            raise RegistryError(f"registry path {self.path} is not a file.")
        uri = self.path.as_uri() + "?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            self._check_schema(con, empty_ok=False)
            yield con
        finally:
            con.close()

    def _check_schema(self, con: sqlite3.Connection, *, empty_ok: bool) -> int:
        """The file's registry schema version; refuses anything that is not a registry."""
        try:
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            n_tables = con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise RegistryError(
                f"{self.path} is not an mlopskit registry: not a SQLite database ({exc})."
            ) from None
        if version == 0 and (n_tables or not empty_ok):
            raise RegistryError(
                f"{self.path} is not an mlopskit registry: a SQLite database without the "
                "registry schema."
            )
        if version not in (0, SCHEMA_VERSION):
            raise RegistryError(
                f"registry {self.path} has schema version {version}; this mlopskit reads "
                f"version {SCHEMA_VERSION} (version 2 added the keyed audit chain). Build a "
                "new registry (`mlopskit demo --force` rebuilds the demo registry)."
            )
        return version

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the lock is taken before anything is read.

        The first write creates the file, its schema and (if absent) the audit key, and
        records the key's id; later writes refuse a different key.
        """
        if self.path.exists() and not self.path.is_file():
            raise RegistryError(f"registry path {self.path} is not a file.")
        if self.path.is_file():  # refuse a non-registry file before touching it
            with contextlib.closing(
                sqlite3.connect(self.path.as_uri() + "?mode=ro", uri=True)
            ) as c:
                self._check_schema(c, empty_ok=self.path.stat().st_size == 0)
        key = load_key(create=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("BEGIN IMMEDIATE")
            try:
                if self._check_schema(con, empty_ok=True) == 0:
                    for statement in _statements(SCHEMA):
                        con.execute(statement)
                    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    con.execute("INSERT INTO audit VALUES (?, ?)", (key.key_id, _now()))
                self._check_key(con, key)
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()

    def _check_key(self, con: sqlite3.Connection, key: AuditKey) -> None:
        row = con.execute("SELECT key_id FROM audit ORDER BY rowid LIMIT 1").fetchone()
        if row is None or row[0] != key.key_id:
            raise RegistryError(
                f"registry {self.path} was written with another audit key (key id "
                f"{None if row is None else row[0]}; the key from {key.source} has id "
                f"{key.key_id}). Set $MLOPSKIT_AUDIT_KEY or $MLOPSKIT_AUDIT_KEY_FILE to the "
                "registry's key (mlopskit.registry.audit documents where keys live)."
            )

    @staticmethod
    def _insert(con: sqlite3.Connection, table: str, row: Mapping[str, Any], key: AuditKey) -> None:
        """Insert a row with its keyed MAC (the columns of ``MAC_COLUMNS[table]`` + ``mac``)."""
        cols = MAC_COLUMNS[table]
        con.execute(
            f"INSERT INTO {table} ({', '.join(cols)}, mac) "
            f"VALUES ({', '.join('?' * (len(cols) + 1))})",
            (*(row[c] for c in cols), _row_mac(key, table, row)),
        )
