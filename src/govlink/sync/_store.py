# ruff: noqa: S608  -- statements are assembled from module constants only; values are bound.
"""The outbox store: one protocol, one SQL implementation, two dialects.

Both backends run the same statements from the same schema file
(``schema.sql``); a :class:`Dialect` supplies the few differences (parameter
style, how to pass a list of ids, row locking, the id column). The statements are
the whole delivery contract:

* **claim** picks, in id order, pending changes that are due, not leased (or whose
  lease expired: a killed worker's batch comes back by itself) and whose ordering
  key has no earlier unfinished change (pending or dead), with their payloads; it
  leases them to the worker and counts the attempt — one transaction (PostgreSQL
  adds ``FOR UPDATE SKIP LOCKED`` so several workers never pick the same row);
* **complete** records, in one transaction, what was delivered, what is to be
  retried at which time and what is dead, with the reason.

"In flight" is not a stored state but a pending change under a live lease: taking
a lease then touches no index, which halves the cost of a claim. Nothing is ever
deleted by delivery, so a crash at any point leaves every change pending (leased
or not), done, dead or discarded.
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol, runtime_checkable

from govlink.core.lifecycle import Closable
from govlink.sync.models import Change, OutboxItem, OutboxStatus, State

__all__ = [
    "ADVISORY_NAMESPACE",
    "NOTIFY_CHANNEL",
    "SCHEMA_VERSION",
    "Dialect",
    "OutboxStore",
    "SqlOutbox",
    "Transaction",
    "key_lock_id",
    "render_schema",
    "storable",
]

SCHEMA_VERSION = 1
_OPEN = "('pending', 'dead')"
# "no earlier change of the same ordering key is unfinished" (row alias o).
_HEAD = (
    "NOT EXISTS (SELECT 1 FROM govlink_outbox p WHERE p.ordering_key = o.ordering_key"
    f" AND p.id < o.id AND p.state IN {_OPEN})"
)
# "In flight" = pending under a live lease (first parameter: now).
_STATE_EXPR = (
    "CASE WHEN o.state = 'pending' AND o.lease_expires_at > ? THEN 'inflight' ELSE o.state END"
)
# Reads that need the payload join it in (aliases o and p; first parameter: now).
_SELECT_ITEMS = (
    f"SELECT o.id, o.kind, o.ordering_key, o.idempotency_key, {_STATE_EXPR}, o.attempts,"
    " o.available_at, o.last_error, o.created_at, o.updated_at, p.payload"
    " FROM govlink_outbox o JOIN govlink_outbox_payload p"
    " ON p.id = o.id"
)


@runtime_checkable
class OutboxStore(Protocol):
    """What the worker and the CLI need from a durable outbox."""

    def enqueue(self, change: Change, *, now: float) -> int:
        """Store one change durably (committed on return); its id.

        A change whose idempotency key is already stored is not added again; the
        existing id is returned.
        """
        ...

    def enqueue_many(
        self,
        changes: Iterable[Change],
        *,
        now: float,
        check: Callable[[Transaction], None] | None = None,
    ) -> int:
        """Store many changes in one transaction; how many were new.

        ``check`` runs inside that transaction after the changes' ordering keys are
        locked and before anything is inserted (e.g. a state-machine check against
        the latest stored change); raising there stores nothing.
        """
        ...

    def extend(
        self, owner: str, ids: Sequence[int], *, lease_seconds: float, now: float
    ) -> set[int]:
        """Renew a lease; the ids ``owner`` still holds."""
        ...

    def claim(
        self, owner: str, limit: int, *, lease_seconds: float, now: float, max_attempts: int
    ) -> list[OutboxItem]:
        """Lease up to ``limit`` deliverable changes to ``owner`` (see module docstring)."""
        ...

    def complete(
        self,
        owner: str,
        *,
        done: Sequence[int] = (),
        retry: Sequence[tuple[int, float, str]] = (),
        dead: Sequence[tuple[int, str]] = (),
        release: Sequence[int] = (),
        now: float,
    ) -> None:
        """Record a batch's outcome in one transaction.

        ``retry`` items are ``(id, available_at, error)``, ``dead`` items ``(id,
        reason)``; ``release`` gives changes back without counting the attempt.
        """
        ...

    def next_ready_at(self, *, now: float) -> float | None:
        """When the next change becomes deliverable (``now`` if one is), else None."""
        ...

    def status(self, *, now: float | None = None) -> OutboxStatus: ...

    def items(
        self, state: State | None = None, *, limit: int = 100, now: float | None = None
    ) -> list[OutboxItem]: ...

    def get(self, item_id: int) -> OutboxItem | None: ...

    def latest(self, key: str, *, kind_prefix: str = "") -> OutboxItem | None:
        """The most recent change for ``key`` (not discarded), e.g. to check a transition."""
        ...

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these idempotency keys are already in the outbox."""
        ...

    def keys_of(self, key: str, *, kind_prefix: str = "") -> list[str]:
        """The idempotency keys of ``key``'s changes (not discarded), oldest first."""
        ...

    def retry(self, ids: Sequence[int] | None = None, *, now: float) -> int:
        """Re-drive dead changes (all when ``ids`` is None); how many."""
        ...

    def discard(self, ids: Sequence[int], *, now: float) -> int:
        """Give up on dead changes for good (unblocks their key); how many."""
        ...

    def purge(self, *, done_before: float) -> int:
        """Delete delivered changes older than ``done_before``; how many."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """What differs between SQLite and PostgreSQL, and nothing else."""

    name: str
    id_column: str
    placeholder: str
    lock_clause: str
    payload_id_column: str = "BIGINT PRIMARY KEY"
    serial_ids: bool = False
    """Rows one transaction inserts get consecutive ids (a single writer: SQLite)."""

    def ids(self, column: str = "id") -> str:
        """A condition ``column ∈ <one list parameter>`` (ids or keys)."""
        if self.name == "sqlite":
            return f"{column} IN (SELECT value FROM json_each(?))"
        return f"{column} = ANY(?)"

    def ids_param(self, values: Sequence[int] | Sequence[str]) -> Any:
        return json.dumps(list(values)) if self.name == "sqlite" else list(values)

    def sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)


def render_schema(dialect: Dialect) -> list[str]:
    """The statements of ``schema.sql`` for ``dialect``."""
    text = resources.files("govlink.sync").joinpath("schema.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    body = "\n".join(lines).replace("{{ID}}", dialect.id_column)
    body = body.replace("{{PAYLOAD_ID}}", dialect.payload_id_column)
    return [part.strip() for part in body.split(";") if part.strip()]


_MAX_ID = "SELECT COALESCE(MAX(id), 0) FROM govlink_outbox"


def _row_to_item(row: Sequence[Any], payload: str) -> OutboxItem:
    """An item from the first ten columns of a ``_SELECT_ITEMS`` row and its payload
    (both drivers give the right Python types: no conversions)."""
    return OutboxItem(
        row[0], row[1], row[2], row[3], payload, row[4], row[5], row[6], row[7], row[8], row[9]
    )


def _claimed(row: Sequence[Any], now: float) -> OutboxItem:
    """A just-claimed item from a claim row (id, kind, key, idempotency key, attempts
    before the claim, available_at, last_error, created_at, payload): stored as
    pending, reported as in flight."""
    return OutboxItem(
        row[0], row[1], row[2], row[3], row[8], "inflight", row[4] + 1, row[5], row[6], row[7], now
    )


def _joined_to_item(row: Sequence[Any]) -> OutboxItem:
    """An item from a ``_SELECT_ITEMS`` row."""
    return _row_to_item(row[:10], row[10])


# pg_advisory_xact_lock(namespace, hash of the ordering key): "govl" as an int4.
ADVISORY_NAMESPACE = 0x676F766C
NOTIFY_CHANNEL = "govlink_outbox"
"""The PostgreSQL channel an enqueue notifies (at commit) so idle workers wake up."""

_INSERT = (
    "INSERT INTO govlink_outbox (kind, ordering_key, idempotency_key, state, "
    "attempts, available_at, created_at, updated_at) "
    "VALUES (?, ?, ?, 'pending', 0, ?, ?, ?) "
    "ON CONFLICT (idempotency_key) DO NOTHING"
)
# The payload row takes the id the change got (or already had: then nothing).
_INSERT_PAYLOAD = (
    "INSERT INTO govlink_outbox_payload (id, payload) SELECT o.id, ? FROM govlink_outbox o"
    " WHERE o.idempotency_key = ? ON CONFLICT (id) DO NOTHING"
)


def key_lock_id(key: str) -> int:
    """The advisory lock number (a signed int4) of an ordering key; stable everywhere."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


class Transaction:
    """Outbox statements inside a transaction someone else opened and will commit.

    The store's own methods use it inside their transactions; :func:`enqueue_in`
    uses it inside the *caller's* transaction (the vendor's business update), so
    the change and the business data commit or roll back together.

    ``serial_ids``: the transaction holds the database's only write lock from its
    first statement (the store's ``BEGIN IMMEDIATE`` on SQLite), so the rows it
    inserts get consecutive ids.
    """

    def __init__(self, cur: Any, dialect: Dialect, *, serial_ids: bool | None = None) -> None:
        self.cur = cur
        self.dialect = dialect
        self.serial_ids = dialect.serial_ids if serial_ids is None else serial_ids

    def _q(self, statement: str) -> str:
        return self.dialect.sql(statement)

    def lock_keys(self, keys: Iterable[str]) -> None:
        """Serialise producers of the same ordering keys until this transaction ends.

        PostgreSQL assigns ids at insert and makes them visible at commit, so
        without this a later change of a dossier could be committed (and claimed)
        while an earlier one is still uncommitted in another producer. Holding a
        transaction-scoped advisory lock per key from before the insert until the
        commit makes ids and commits of one key come in the same order. Locks are
        taken in a fixed order (no deadlock between two producers). SQLite needs
        nothing: a writer holds the whole database.
        """
        if self.dialect.name != "postgres":
            return
        ids = sorted({key_lock_id(key) for key in keys})
        if not ids:
            return
        self.cur.executemany(
            "SELECT pg_advisory_xact_lock(%s, %s)", [(ADVISORY_NAMESPACE, i) for i in ids]
        )

    def _notify(self) -> None:
        if self.dialect.name == "postgres":
            self.cur.execute(f"NOTIFY {NOTIFY_CHANNEL}")

    def insert_one(self, change: Change, *, now: float) -> int:
        """Insert ``change`` unless its idempotency key is stored; its id."""
        cur = self.cur
        cur.execute(self._q(_INSERT), _insert_row(change, now))
        cur.execute(self._q(_INSERT_PAYLOAD), (change.payload_text(), change.idempotency_key))
        cur.execute(
            self._q("SELECT id FROM govlink_outbox WHERE idempotency_key = ?"),
            (change.idempotency_key,),
        )
        row = cur.fetchone()
        self._notify()
        return int(row[0])

    def insert(self, batch: Sequence[Change], *, now: float) -> int:
        """Insert the changes whose idempotency keys are new; how many."""
        if not batch:
            return 0
        cur = self.cur
        serial = self.serial_ids
        if serial:
            cur.execute(_MAX_ID)
            before = int(cur.fetchone()[0])
        # Parameters as generators: each row's tuple is freed as soon as it is bound,
        # so a big batch does not set the garbage collector off again and again.
        cur.executemany(self._q(_INSERT), (_insert_row(c, now) for c in batch))
        added = max(int(cur.rowcount), 0)
        self._notify()
        if serial and added == len(batch):
            cur.execute(_MAX_ID)
            if int(cur.fetchone()[0]) - before == added:
                # Every change is new and the ids are before+1 … before+n in order:
                # the payload rows need no lookup by idempotency key.
                cur.executemany(
                    self._q("INSERT INTO govlink_outbox_payload (id, payload) VALUES (?, ?)"),
                    ((before + n, c.payload_text()) for n, c in enumerate(batch, 1)),
                )
                return added
        cur.executemany(
            self._q(_INSERT_PAYLOAD),
            ((c.payload_text(), c.idempotency_key) for c in batch),
        )
        return added

    def latest(self, key: str, *, kind_prefix: str = "") -> OutboxItem | None:
        """The most recent change of ``key`` (not discarded) this transaction sees."""
        self.cur.execute(
            self._q(
                f"{_SELECT_ITEMS} WHERE o.ordering_key = ?"
                " AND o.state <> 'discarded' AND o.kind LIKE ? ESCAPE '\\'"
                " ORDER BY o.id DESC LIMIT 1"
            ),
            (time.time(), key, _like_prefix(kind_prefix)),
        )
        row = self.cur.fetchone()
        return None if row is None else _joined_to_item(row)

    def keys_of(self, key: str, *, kind_prefix: str = "") -> list[str]:
        """The idempotency keys of ``key``'s changes (not discarded), oldest first."""
        self.cur.execute(
            self._q(
                "SELECT idempotency_key FROM govlink_outbox WHERE ordering_key = ?"
                " AND state <> 'discarded' AND kind LIKE ? ESCAPE '\\' ORDER BY id"
            ),
            (key, _like_prefix(kind_prefix)),
        )
        return [str(row[0]) for row in self.cur.fetchall()]

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these idempotency keys are already stored."""
        found: set[str] = set()
        for start in range(0, len(keys), 5000):
            self.cur.execute(
                self._q(
                    "SELECT idempotency_key FROM govlink_outbox"
                    f" WHERE {self.dialect.ids('idempotency_key')}"
                ),
                (self.dialect.ids_param(list(keys[start : start + 5000])),),
            )
            found.update(str(row[0]) for row in self.cur.fetchall())
        return found


class SqlOutbox(Closable):
    """The outbox over a DB-API connection; subclasses open it and run transactions.

    Subclasses implement :meth:`_transaction` (a context manager yielding a cursor
    inside one committed transaction; ``immediate=True`` when it will write).
    """

    dialect: Dialect

    # -- plumbing the backends provide ------------------------------------------------

    @abstractmethod
    def _transaction(self, *, immediate: bool = True) -> Any:
        """A context manager yielding a cursor inside one committed transaction."""

    @abstractmethod
    def close(self) -> None:
        """Close the database connection."""

    def _q(self, statement: str) -> str:
        return self.dialect.sql(statement)

    # -- writes -------------------------------------------------------------------------

    def enqueue(self, change: Change, *, now: float) -> int:
        with self._transaction() as cur:
            tx = Transaction(cur, self.dialect)
            tx.lock_keys([change.key])
            return tx.insert_one(change, now=now)

    def enqueue_many(
        self,
        changes: Iterable[Change],
        *,
        now: float,
        check: Callable[[Transaction], None] | None = None,
    ) -> int:
        batch = list(changes)
        if not batch:
            return 0
        with self._transaction() as cur:
            tx = Transaction(cur, self.dialect)
            tx.lock_keys([c.key for c in batch])
            if check is not None:
                check(tx)
            return tx.insert(batch, now=now)

    def claim(
        self, owner: str, limit: int, *, lease_seconds: float, now: float, max_attempts: int
    ) -> list[OutboxItem]:
        if limit <= 0:
            return []
        d = self.dialect
        with self._transaction() as cur:
            cur.execute(
                self._q(
                    "SELECT o.id, o.kind, o.ordering_key, o.idempotency_key, o.attempts,"
                    " o.available_at, o.last_error, o.created_at, COALESCE(p.payload, '{}')"
                    " FROM govlink_outbox o"
                    " LEFT JOIN govlink_outbox_payload p ON p.id = o.id"
                    " WHERE o.state = 'pending' AND o.available_at <= ?"
                    " AND (o.lease_expires_at IS NULL OR o.lease_expires_at <= ?)"
                    f" AND {_HEAD}"
                    f" ORDER BY o.id LIMIT ? {d.lock_clause}"
                ),
                (now, now, limit),
            )
            rows = cur.fetchall()
            if not rows:
                return []
            # A change claimed more often than max_attempts was never completed: its
            # workers died or stalled on it (a failure is recorded before that).
            lost = [row[0] for row in rows if row[4] >= max_attempts]
            if lost:
                where, params = self._ids_condition(lost)
                cur.execute(
                    self._q(
                        "UPDATE govlink_outbox SET state = 'dead', attempts = attempts + 1,"
                        " lease_owner = NULL, lease_expires_at = NULL, updated_at = ?,"
                        " last_error = 'the worker lost its lease ' || attempts || ' times"
                        f" (killed or stuck while delivering this change)' WHERE {where}"
                    ),
                    (now, *params),
                )
                rows = [row for row in rows if row[4] < max_attempts]
                if not rows:
                    return []
            where, params = self._ids_condition([row[0] for row in rows])
            cur.execute(
                self._q(
                    "UPDATE govlink_outbox SET lease_owner = ?, lease_expires_at = ?,"
                    f" attempts = attempts + 1, updated_at = ? WHERE {where}"
                ),
                (owner, now + lease_seconds, now, *params),
            )
        return [_claimed(row, now) for row in rows]

    def _ids_condition(self, ids: Sequence[int]) -> tuple[str, tuple[Any, ...]]:
        """``id`` ∈ ``ids`` as SQL and parameters: a range when the ids are exactly
        consecutive (the usual batch: an index range scan, nothing to parse), else a
        list parameter."""
        low, high = min(ids), max(ids)
        if high - low + 1 == len(ids) and len(set(ids)) == len(ids):
            return "id BETWEEN ? AND ?", (low, high)
        return self.dialect.ids(), (self.dialect.ids_param(ids),)

    def complete(
        self,
        owner: str,
        *,
        done: Sequence[int] = (),
        retry: Sequence[tuple[int, float, str]] = (),
        dead: Sequence[tuple[int, str]] = (),
        release: Sequence[int] = (),
        now: float,
    ) -> None:
        if not (done or retry or dead or release):
            return
        d = self.dialect
        with self._transaction() as cur:
            if done:
                # Fenced like the others: a worker whose lease was taken over records
                # nothing (the new holder delivers again; the idempotency key makes
                # that harmless), so two workers never both decide a change's fate.
                where, params = self._ids_condition(done)
                cur.execute(
                    self._q(
                        "UPDATE govlink_outbox SET state = 'done', lease_owner = NULL,"
                        " lease_expires_at = NULL, last_error = NULL, updated_at = ?"
                        f" WHERE {where} AND state = 'pending' AND lease_owner = ?"
                    ),
                    (now, *params, owner),
                )
            if retry:
                cur.executemany(
                    self._q(
                        "UPDATE govlink_outbox SET state = 'pending', available_at = ?,"
                        " last_error = ?, lease_owner = NULL, lease_expires_at = NULL,"
                        " updated_at = ? WHERE id = ? AND state = 'pending' AND lease_owner = ?"
                    ),
                    [(at, storable(error), now, item_id, owner) for item_id, at, error in retry],
                )
            if dead:
                cur.executemany(
                    self._q(
                        "UPDATE govlink_outbox SET state = 'dead', last_error = ?,"
                        " lease_owner = NULL, lease_expires_at = NULL, updated_at = ?"
                        " WHERE id = ? AND state = 'pending' AND lease_owner = ?"
                    ),
                    [(storable(reason), now, item_id, owner) for item_id, reason in dead],
                )
            if release:
                cur.execute(
                    self._q(
                        "UPDATE govlink_outbox SET state = 'pending', available_at = ?,"
                        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
                        " lease_owner = NULL, lease_expires_at = NULL, updated_at = ?"
                        f" WHERE {d.ids()} AND state = 'pending' AND lease_owner = ?"
                    ),
                    (now, now, d.ids_param(release), owner),
                )

    def extend(
        self, owner: str, ids: Sequence[int], *, lease_seconds: float, now: float
    ) -> set[int]:
        """Renew ``owner``'s lease on ``ids`` (heartbeat and fence); the ids it still holds.

        An id missing from the answer was taken over by another worker after the
        lease expired (or finished): its holder must not send it nor record it.
        """
        if not ids:
            return set()
        where, params = self._ids_condition(ids)
        with self._transaction() as cur:
            cur.execute(
                self._q(
                    "UPDATE govlink_outbox SET lease_expires_at = ?"
                    f" WHERE {where} AND state = 'pending' AND lease_owner = ?"
                    " RETURNING id"
                ),
                (now + lease_seconds, *params, owner),
            )
            return {int(row[0]) for row in cur.fetchall()}

    def retry(self, ids: Sequence[int] | None = None, *, now: float) -> int:
        d = self.dialect
        where = "state = 'dead'" + ("" if ids is None else f" AND {d.ids()}")
        params: tuple[Any, ...] = (now, now) + (() if ids is None else (d.ids_param(ids),))
        with self._transaction() as cur:
            cur.execute(
                self._q(
                    "UPDATE govlink_outbox SET state = 'pending', attempts = 0,"
                    f" available_at = ?, updated_at = ? WHERE {where}"
                ),
                params,
            )
            return int(cur.rowcount)

    def discard(self, ids: Sequence[int], *, now: float) -> int:
        if not ids:
            return 0
        d = self.dialect
        with self._transaction() as cur:
            cur.execute(
                self._q(
                    "UPDATE govlink_outbox SET state = 'discarded', updated_at = ?"
                    f" WHERE state = 'dead' AND {d.ids()}"
                ),
                (now, d.ids_param(ids)),
            )
            return int(cur.rowcount)

    def purge(self, *, done_before: float) -> int:
        with self._transaction() as cur:
            cur.execute(
                self._q(
                    "DELETE FROM govlink_outbox_payload WHERE id IN"
                    " (SELECT id FROM govlink_outbox"
                    "  WHERE state = 'done' AND updated_at < ?)"
                ),
                (done_before,),
            )
            cur.execute(
                self._q("DELETE FROM govlink_outbox WHERE state = 'done' AND updated_at < ?"),
                (done_before,),
            )
            return int(cur.rowcount)

    # -- reads --------------------------------------------------------------------------

    def next_ready_at(self, *, now: float) -> float | None:
        with self._transaction(immediate=False) as cur:
            cur.execute(
                self._q(
                    "SELECT MIN(CASE WHEN o.lease_expires_at > o.available_at"
                    " THEN o.lease_expires_at ELSE o.available_at END)"
                    f" FROM govlink_outbox o WHERE o.state = 'pending' AND {_HEAD}"
                )
            )
            ready = cur.fetchone()[0]
        return None if ready is None else max(now, float(ready))

    def status(self, *, now: float | None = None) -> OutboxStatus:
        at = time.time() if now is None else now
        with self._transaction(immediate=False) as cur:
            cur.execute(
                self._q(
                    f"SELECT {_STATE_EXPR} AS s, COUNT(*), MIN(o.created_at)"
                    " FROM govlink_outbox o GROUP BY s"
                ),
                (at,),
            )
            rows = cur.fetchall()
            counts = {str(state): int(n) for state, n, _oldest in rows}
            oldest = next((first for state, _n, first in rows if state == "pending"), None)
            blocked = 0
            if counts.get("dead"):
                cur.execute(
                    "SELECT COUNT(*) FROM govlink_outbox o WHERE o.state = 'pending'"
                    " AND EXISTS (SELECT 1 FROM govlink_outbox p WHERE"
                    " p.ordering_key = o.ordering_key AND p.id < o.id AND p.state = 'dead')"
                )
                blocked = int(cur.fetchone()[0])
        return OutboxStatus(
            counts=counts,
            blocked=blocked,
            oldest_pending_at=None if oldest is None else float(oldest),
        )

    def items(
        self, state: State | None = None, *, limit: int = 100, now: float | None = None
    ) -> list[OutboxItem]:
        at = time.time() if now is None else now
        where = "" if state is None else f"WHERE {_STATE_EXPR} = ?"
        params: tuple[Any, ...] = (at, limit) if state is None else (at, at, state, limit)
        with self._transaction(immediate=False) as cur:
            cur.execute(self._q(f"{_SELECT_ITEMS} {where} ORDER BY o.id LIMIT ?"), params)
            return [_joined_to_item(row) for row in cur.fetchall()]

    def get(self, item_id: int) -> OutboxItem | None:
        with self._transaction(immediate=False) as cur:
            cur.execute(self._q(f"{_SELECT_ITEMS} WHERE o.id = ?"), (time.time(), item_id))
            row = cur.fetchone()
        return None if row is None else _joined_to_item(row)

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        with self._transaction(immediate=False) as cur:
            return Transaction(cur, self.dialect).existing_keys(keys)

    def latest(self, key: str, *, kind_prefix: str = "") -> OutboxItem | None:
        with self._transaction(immediate=False) as cur:
            return Transaction(cur, self.dialect).latest(key, kind_prefix=kind_prefix)

    def keys_of(self, key: str, *, kind_prefix: str = "") -> list[str]:
        with self._transaction(immediate=False) as cur:
            return Transaction(cur, self.dialect).keys_of(key, kind_prefix=kind_prefix)


def storable(text: str) -> str:
    """``text`` as every backend stores it: no NUL (PostgreSQL refuses it in TEXT)
    and no lone surrogates (not UTF-8), both shown escaped instead."""
    if text.isascii() and "\x00" not in text:
        return text
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe.replace("\x00", "\\x00")


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _insert_row(change: Change, now: float) -> tuple[Any, ...]:
    return (change.kind, change.key, change.idempotency_key, now, now, now)
