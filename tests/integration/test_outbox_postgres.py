"""The outbox on a real PostgreSQL server: same contract, several workers at once.

The server is started by :mod:`outbox_pg_support` (skipped without the binaries,
failed instead under ``GOVLINK_REQUIRE_SYSTEM_DEPS=1``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import outbox_pg_support
import pytest

from govlink.core.errors import TransportError
from govlink.sync import Change, OutboxItem, Worker, open_outbox
from govlink.sync._postgres import PostgresOutbox

pytestmark = pytest.mark.postgres
pg_dsn = outbox_pg_support.pg_dsn  # the server (module-scoped fixture)


@pytest.fixture
def pg(pg_dsn: str) -> Iterator[PostgresOutbox]:
    store = open_outbox(dsn=pg_dsn)
    assert isinstance(store, PostgresOutbox)
    with store._transaction() as cur:
        cur.execute("TRUNCATE govlink_outbox, govlink_outbox_payload")
    yield store
    store.close()


def change(key: str, n: int) -> Change:
    return Change("k", key, {"n": n}, f"{key}#{n}")


def test_same_contract_as_sqlite(pg: PostgresOutbox) -> None:
    assert pg.enqueue_many([change("A", 1), change("A", 2), change("B", 1)], now=1.0) == 3
    assert pg.enqueue(change("A", 1), now=2.0) == pg.items()[0].id  # idempotent
    first = pg.claim("w1", 10, lease_seconds=30, now=100.0, max_attempts=5)
    assert [(i.key, i.payload_json()["n"]) for i in first] == [("A", 1), ("B", 1)]
    assert pg.claim("w2", 10, lease_seconds=30, now=100.0, max_attempts=5) == []
    pg.complete("w1", dead=[(first[0].id, "refused")], done=[first[1].id], now=101.0)
    status = pg.status()
    assert (status.done, status.dead, status.blocked) == (1, 1, 1)
    assert pg.next_ready_at(now=102.0) is None
    assert pg.retry(now=103.0) == 1
    again = pg.claim("w2", 10, lease_seconds=30, now=104.0, max_attempts=5)
    assert [i.id for i in again] == [first[0].id]
    expired = pg.claim("w3", 10, lease_seconds=30, now=200.0, max_attempts=5)  # w2 died
    assert [i.id for i in expired] == [first[0].id]
    latest = pg.latest("A", kind_prefix="k")
    assert latest is not None
    assert latest.payload_json() == {"n": 2}


def test_schema_is_created_once_by_racing_workers(pg_dsn: str) -> None:
    errors: list[BaseException] = []

    def open_close() -> None:
        try:
            open_outbox(dsn=pg_dsn).close()
        except BaseException as exc:  # pragma: no cover - the failure is the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_close) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


class RecordingSink:
    """Thread-safe sink that records every delivery; fails some first attempts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delivered: list[tuple[str, int]] = []
        self.seen: set[str] = set()

    def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        out: list[BaseException | None] = []
        time.sleep(0.002)  # a little network time, so workers overlap
        with self.lock:
            for item in items:
                if item.idempotency_key.endswith("#0") and item.idempotency_key not in self.seen:
                    self.seen.add(item.idempotency_key)
                    out.append(TransportError("first try fails"))
                    continue
                self.delivered.append((item.key, item.payload_json()["n"]))
                out.append(None)
        return out


def test_several_workers_skip_locked_rows_and_keep_order(pg: PostgresOutbox, pg_dsn: str) -> None:
    pg.enqueue_many([change(f"D{k}", n) for n in range(5) for k in range(40)], now=0.0)
    sink = RecordingSink()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        store = open_outbox(dsn=pg_dsn)
        try:
            Worker(
                store, sink, owner=name, batch_size=7, backoff_initial=0.001, backoff_max=0.01
            ).drain(max_seconds=60, max_idle_sleep=0.01)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert pg.status().done == 200
    assert len(sink.delivered) == 200  # no change delivered twice: rows were never shared
    for k in range(40):
        assert [n for key, n in sink.delivered if key == f"D{k}"] == [0, 1, 2, 3, 4]


def test_bad_dsn_is_a_configuration_error() -> None:
    from govlink.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"password=\*\*\*") as caught:
        PostgresOutbox("host=127.0.0.1 port=1 user=x password=secret connect_timeout=1")
    assert "secret" not in str(caught.value)


def test_error_texts_with_nul_bytes_are_stored(pg: PostgresOutbox) -> None:
    pg.enqueue_many([change("A", 1), change("B", 1)], now=1.0)
    taken = pg.claim("w1", 10, lease_seconds=30, now=100.0, max_attempts=5)
    pg.complete(
        "w1",
        retry=[(taken[0].id, 101.0, "reply: bad\x00byte")],
        dead=[(taken[1].id, "refused \udcff\x00")],
        now=100.5,
    )
    first, second = pg.get(taken[0].id), pg.get(taken[1].id)
    assert first is not None
    assert second is not None
    assert first.last_error == "reply: bad\\x00byte"
    assert second.state == "dead"
    assert "\\x00" in (second.last_error or "")
