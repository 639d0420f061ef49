"""State stores: in memory by default, SQLite when ``--state FILE.db`` is given.

Both implement :class:`mock_servers.context.Store`. The SQLite one exists so a
vendor can restart the mock (or their laptop) in the middle of a multi-day scenario
— a dossier waiting for payment, a document waiting for its status — and lose
nothing. WAL mode keeps readers (the dashboard) from blocking the writer.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from mock_servers.context import MemoryStore, Store

__all__ = ["MemoryStore", "SqliteStore", "open_store"]


class SqliteStore:
    """:class:`~mock_servers.context.Store` in one SQLite file (thread-safe, WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        if self.path.parent and not self.path.parent.exists():
            raise FileNotFoundError(
                2, "the directory for the state file does not exist", str(self.path.parent)
            )
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS kv ("
                " namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
                " PRIMARY KEY (namespace, key))"
            )

    def get(self, namespace: str, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, namespace: str, key: str, value: Any) -> None:
        encoded = json.dumps(value, ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                (namespace, key, encoded),
            )

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            )
        return cursor.rowcount > 0

    def items(self, namespace: str) -> list[tuple[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM kv WHERE namespace = ? ORDER BY rowid", (namespace,)
            ).fetchall()
        return [(str(key), json.loads(value)) for key, value in rows]

    def count(self, namespace: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM kv WHERE namespace = ?", (namespace,)
            ).fetchone()
        return int(row[0])

    def clear(self, namespace_prefix: str = "") -> None:
        with self._lock:
            if namespace_prefix:
                self._db.execute(
                    "DELETE FROM kv WHERE substr(namespace, 1, ?) = ?",
                    (len(namespace_prefix), namespace_prefix),
                )
            else:
                self._db.execute("DELETE FROM kv")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"


def open_store(path: str | Path | None) -> Store:
    """The store for ``--state``: SQLite at ``path``, else a fresh in-memory one."""
    return MemoryStore() if path is None else SqliteStore(path)
