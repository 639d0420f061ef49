"""Enqueue inside the caller's own database transaction (the point of an outbox).

A vendor's application updates a dossier in its database and records the change to
send *in the same transaction*: both commit, or neither does. No change is sent
for an update that was rolled back, and no committed update misses its change.

    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("UPDATE ho_so SET trang_thai = 4 WHERE ma = %s", (code,))
        enqueue_in(conn, [change])           # committed with the UPDATE

Works with a psycopg 3 connection (PostgreSQL outbox in the application's
database), a :mod:`sqlite3` connection (the embedded case: the outbox tables in the
application's SQLite file) and a SQLAlchemy ``Session`` or ``Connection`` over
either driver. The outbox tables must exist: opening the outbox once
(:func:`govlink.sync.open_outbox`, or any ``govlink outbox`` command) creates them.
Nothing here commits or rolls back: the caller's transaction decides.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from govlink.core.errors import ConfigurationError
from govlink.sync._store import Transaction
from govlink.sync.models import Change

__all__ = ["enqueue_in", "transaction_of"]

_READY: weakref.WeakSet[Any] = weakref.WeakSet()


def _driver_connection(connection: Any) -> Any:
    """The DB-API connection under a SQLAlchemy Session/Connection (others as given)."""
    if not type(connection).__module__.startswith("sqlalchemy"):
        return connection
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    if isinstance(connection, Session):
        connection = connection.connection()  # begins the session's transaction if needed
    if isinstance(connection, Connection):
        if not connection.in_transaction():
            raise ConfigurationError(
                "enqueue_in needs the SQLAlchemy connection inside a transaction",
                setting="connection",
                expected="call it within 'with connection.begin():' or on a Session",
            )
        return connection.connection.driver_connection
    raise ConfigurationError(
        f"enqueue_in cannot use a {type(connection).__name__}",
        setting="connection",
        expected="a SQLAlchemy Session or Connection, a psycopg 3 or a sqlite3 connection",
    )


def transaction_of(connection: Any) -> Transaction:
    """Outbox statements on ``connection``'s current transaction.

    Refuses a connection in autocommit mode outside a transaction block, where
    each statement would commit on its own (the business update and the change
    would no longer be atomic).
    """
    conn = _driver_connection(connection)
    if isinstance(conn, sqlite3.Connection):
        from govlink.sync._sqlite import SQLITE

        autocommit = getattr(conn, "autocommit", -1) is True or conn.isolation_level is None
        if autocommit and not conn.in_transaction:
            _not_in_transaction("sqlite3", "run 'BEGIN' first (or use the default isolation)")
        cur = conn.cursor()
        cur.row_factory = None  # plain tuples whatever the application configured
        # Another connection may write between our statements unless BEGIN IMMEDIATE
        # was used, so ids are not assumed consecutive.
        return _checked(conn, Transaction(cur, SQLITE, serial_ids=False))
    if type(conn).__module__.startswith("psycopg"):
        from psycopg import Connection as PgConnection
        from psycopg.pq import TransactionStatus
        from psycopg.rows import tuple_row

        from govlink.sync._postgres import POSTGRES

        if isinstance(conn, PgConnection):
            idle = conn.info.transaction_status == TransactionStatus.IDLE
            if conn.autocommit and idle:
                _not_in_transaction("psycopg", "use 'with conn.transaction():'")
            return _checked(conn, Transaction(conn.cursor(row_factory=tuple_row), POSTGRES))
    raise ConfigurationError(
        f"enqueue_in cannot use a {type(conn).__module__}.{type(conn).__name__}",
        setting="connection",
        expected="a psycopg 3 connection, a sqlite3 connection or a SQLAlchemy Session",
    )


def _not_in_transaction(driver: str, fix: str) -> None:
    raise ConfigurationError(
        f"the {driver} connection is in autocommit mode outside a transaction: the change "
        "would commit apart from your update",
        setting="connection",
        expected=fix,
    )


def _checked(conn: Any, tx: Transaction) -> Transaction:
    """``tx`` once the outbox tables are known to exist in ``conn``'s database."""
    try:
        if conn in _READY:
            return tx
    except TypeError:  # not weak-referenceable: check every time
        pass
    if tx.dialect.name == "postgres":
        tx.cur.execute("SELECT to_regclass('govlink_outbox') IS NOT NULL")
    else:
        tx.cur.execute("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'govlink_outbox')")
    if not tx.cur.fetchone()[0]:
        raise ConfigurationError(
            "the outbox tables do not exist in this database",
            setting="connection",
            expected="open the outbox once to create them: govlink.sync.open_outbox(...) "
            "or 'govlink outbox status --outbox/--outbox-dsn ...'",
        )
    with contextlib.suppress(TypeError):  # not weak-referenceable: checked every time
        _READY.add(conn)
    return tx


def enqueue_in(
    connection: Any,
    changes: Change | Iterable[Change],
    *,
    now: float | None = None,
    check: Callable[[Transaction], None] | None = None,
) -> int:
    """Record ``changes`` in the caller's open transaction; how many were new.

    Same rules as :meth:`govlink.sync.OutboxStore.enqueue_many`: a change whose
    idempotency key is stored is not added again; on PostgreSQL the changes'
    ordering keys are locked until the caller's commit (per-dossier order holds
    against concurrent producers); ``check`` runs after that lock and before the
    insert. The caller commits — or rolls back, and then nothing was queued.
    """
    batch = [changes] if isinstance(changes, Change) else list(changes)
    tx = transaction_of(connection)
    tx.lock_keys(c.key for c in batch)
    if check is not None:
        check(tx)
    return tx.insert(batch, now=time.time() if now is None else now)
