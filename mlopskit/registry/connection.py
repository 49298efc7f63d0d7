"""SQLite connections of the registry: schema creation on first use, write transactions.

Also the test seam ``_HOOKS``: named callbacks run at fixed points inside write transactions
(``after_archive``, ``before_commit``), re-exported as ``mlopskit.registry._HOOKS``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mlopskit.registry.records import RegistryError
from mlopskit.registry.schema import SCHEMA, SCHEMA_VERSION, _statements

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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys = ON")
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                con.execute("BEGIN IMMEDIATE")
                try:
                    if con.execute("PRAGMA user_version").fetchone()[0] == 0:
                        for statement in _statements(SCHEMA):
                            con.execute(statement)
                        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            elif version != SCHEMA_VERSION:
                raise RegistryError(
                    f"registry {self.path} has schema version {version}; this mlopskit reads "
                    f"version {SCHEMA_VERSION}."
                )
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the lock is taken before anything is read."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
