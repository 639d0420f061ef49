"""The default outbox backend: one SQLite file next to the application.

Durability settings and why:

* ``journal_mode=WAL`` — readers (``govlink outbox status``) never block the worker;
* ``synchronous=FULL`` — a commit is on disk before ``enqueue()`` returns, so a
  power cut (not only a ``kill -9``) cannot lose an acknowledged change;
* ``BEGIN IMMEDIATE`` for every write — two worker processes on one file serialise
  their claims instead of failing with "database is locked" half-way;
* ``busy_timeout`` — a second process waits for the lock instead of erroring.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from govlink.core.errors import ConfigurationError
from govlink.sync._store import SCHEMA_VERSION, Dialect, SqlOutbox, render_schema

__all__ = ["SQLITE", "SqliteOutbox"]

SQLITE = Dialect(
    name="sqlite",
    id_column="INTEGER PRIMARY KEY AUTOINCREMENT",
    placeholder="?",
    lock_clause="",
    # A rowid alias: the payload row is found without a separate index.
    payload_id_column="INTEGER PRIMARY KEY",
    serial_ids=True,  # BEGIN IMMEDIATE: one writer at a time
)


class SqliteOutbox(SqlOutbox):
    """Outbox in a SQLite file (created with its schema on first use)."""

    dialect = SQLITE

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        if not self.path.parent.exists():
            raise ConfigurationError(
                f"the outbox directory {self.path.parent} does not exist",
                setting="--outbox",
                expected="a path in an existing directory",
            )
        try:
            self._conn = sqlite3.connect(
                str(self.path),
                timeout=busy_timeout,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise ConfigurationError(
                f"cannot open the outbox {self.path}: {exc}",
                setting="--outbox",
                expected="a writable SQLite file path",
            ) from None
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        self._create_schema()

    def _create_schema(self) -> None:
        with self._transaction() as cur:
            for statement in render_schema(self.dialect):
                cur.execute(statement)
            cur.execute(
                "INSERT INTO govlink_outbox_meta (name, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (name) DO NOTHING",
                (str(SCHEMA_VERSION),),
            )

    @contextmanager
    def _transaction(self, *, immediate: bool = True) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SqliteOutbox({str(self.path)!r})"
