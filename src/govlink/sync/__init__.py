"""Durable outbox: record every change first, deliver it later, exactly once in effect.

``enqueue()`` commits a change to a local store (SQLite by default, PostgreSQL for
several workers) before anything is sent; a :class:`Worker` drains the store to a
platform in batches, keeping the order of changes per ordering key, retrying
transient failures with backoff, dead-lettering poison changes with the reason.
Every change carries an idempotency key, so at-least-once delivery is applied once.

    from govlink.sync import Change, Worker, open_outbox

    with open_outbox("govlink-outbox.db") as outbox:
        outbox.enqueue(Change("dvcqg.dossier.update", "HS-1", {...}), now=time.time())
        Worker(outbox, sink).drain()

To enqueue in the same transaction as your own update, see :func:`enqueue_in`;
:class:`AsyncWorker` drains into an async sink.
"""

from __future__ import annotations

import time
from pathlib import Path

from govlink.sync._aworker import AsyncSink, AsyncWorker
from govlink.sync._postgres import PostgresOutbox
from govlink.sync._sqlite import SqliteOutbox
from govlink.sync._store import SCHEMA_VERSION, OutboxStore, SqlOutbox, Transaction
from govlink.sync._transactional import enqueue_in
from govlink.sync._worker import (
    BatchStats,
    DrainStats,
    Fence,
    LeaseLostError,
    Sink,
    Worker,
    WorkerOptions,
    classify,
    sigterm_as_interrupt,
)
from govlink.sync.models import (
    STATES,
    Change,
    OutboxItem,
    OutboxStatus,
    State,
    new_idempotency_key,
)

__all__ = [
    "SCHEMA_VERSION",
    "STATES",
    "AsyncSink",
    "AsyncWorker",
    "BatchStats",
    "Change",
    "DrainStats",
    "Fence",
    "LeaseLostError",
    "OutboxItem",
    "OutboxStatus",
    "OutboxStore",
    "PostgresOutbox",
    "Sink",
    "SqlOutbox",
    "SqliteOutbox",
    "State",
    "Transaction",
    "Worker",
    "WorkerOptions",
    "classify",
    "enqueue",
    "enqueue_in",
    "new_idempotency_key",
    "open_outbox",
    "sigterm_as_interrupt",
]

DEFAULT_OUTBOX_PATH = "govlink-outbox.db"


def open_outbox(path: str | Path | None = None, *, dsn: str | None = None) -> SqlOutbox:
    """The outbox at ``dsn`` (PostgreSQL) or ``path`` (SQLite, default
    ``./govlink-outbox.db``)."""
    if dsn:
        from govlink.sync._postgres import PostgresOutbox

        return PostgresOutbox(dsn)
    return SqliteOutbox(path or DEFAULT_OUTBOX_PATH)


def enqueue(store: OutboxStore, change: Change) -> int:
    """Record ``change`` durably (committed on return) and give its outbox id."""
    return store.enqueue(change, now=time.time())
