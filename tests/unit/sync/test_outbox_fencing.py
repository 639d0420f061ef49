"""Leases are renewed while a batch is delivered, fenced when taken over, and a
failed store write never strands a batch; async sinks need the AsyncWorker."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from govlink.core.errors import TransportError
from govlink.sync import (
    AsyncWorker,
    Change,
    Fence,
    LeaseLostError,
    OutboxItem,
    SqliteOutbox,
    Worker,
    sigterm_as_interrupt,
)


@pytest.fixture
def store(tmp_path: Path) -> SqliteOutbox:
    outbox = SqliteOutbox(tmp_path / "o.db")
    yield outbox
    outbox.close()


def changes(key: str, count: int) -> list[Change]:
    return [Change("k", key, {"n": n}, f"{key}#{n}") for n in range(count)]


class SlowSink:
    """Takes ``seconds`` per batch; records what it sent, with the time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.sent: list[tuple[str, int]] = []

    def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        time.sleep(self.seconds)
        with self.lock:
            self.sent.extend((i.key, i.payload_json()["n"]) for i in items)
        return [None] * len(items)


def test_a_delivery_longer_than_the_lease_keeps_its_lease(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with SqliteOutbox(path) as outbox:
        outbox.enqueue_many(changes("D", 2), now=time.time())
    sink = SlowSink(2.5)  # each batch takes 2.5 leases
    stores = [SqliteOutbox(path), SqliteOutbox(path)]
    workers = [
        Worker(s, sink, batch_size=1, lease_seconds=0.2, owner=f"w{n}")
        for n, s in enumerate(stores)
    ]
    threads = [threading.Thread(target=w.drain, kwargs={"max_seconds": 10}) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for s in stores:
        assert s.status().done == 2
        s.close()
    # Never taken over mid-delivery: each change sent once, older never after newer.
    assert sink.sent == [("D", 0), ("D", 1)]


class FencedSink:
    """Sends each item as its own request, asking the fence before each one."""

    def __init__(self, before_send: object = None) -> None:
        self.sent: list[int] = []
        self.before_send = before_send

    def deliver(self, items: Sequence[OutboxItem], *, fence: Fence) -> list[BaseException | None]:
        out: list[BaseException | None] = []
        for item in items:
            if callable(self.before_send):
                self.before_send(item)
            if not fence([item])[0]:
                out.append(LeaseLostError(item.id))
                continue
            self.sent.append(item.payload_json()["n"])
            out.append(None)
        return out


def test_a_worker_whose_lease_was_taken_over_neither_sends_nor_records(
    store: SqliteOutbox,
) -> None:
    store.enqueue_many(changes("D", 2), now=1.0)
    clock = [1000.0]

    def stall(item: OutboxItem) -> None:
        if item.payload_json()["n"] == 1:
            # The worker stalled past its lease; another worker took the change over.
            clock[0] += 100
            assert store.claim("other", 10, lease_seconds=30, now=clock[0], max_attempts=9)

    sink = FencedSink(before_send=stall)
    w = Worker(store, sink, lease_seconds=30, clock=lambda: clock[0], batch_size=1)
    first = w.run_once()
    assert (first.delivered, first.lost) == (1, 0)
    second = w.run_once()
    assert (second.delivered, second.lost) == (0, 1)
    assert sink.sent == [0]  # change 1 was not sent by the stalled worker
    item = store.items(now=clock[0])[1]
    assert item.state == "inflight"
    assert item.attempts == 2


def test_error_texts_with_nul_bytes_are_stored(store: SqliteOutbox) -> None:
    store.enqueue_many(changes("D", 1), now=1.0)

    class NulSink:
        def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
            return [TransportError("bad\x00reply \udcff")] * len(items)

    Worker(store, NulSink(), backoff_initial=0.001).run_once()
    (item,) = store.items()
    assert item.last_error is not None
    assert "bad\\x00reply" in item.last_error


def test_a_refused_outcome_is_recorded_without_texts_or_handed_back(
    store: SqliteOutbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.enqueue_many(changes("D", 1), now=1.0)
    real = store.complete
    calls: list[int] = []

    def flaky(owner: str, **kw: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database refused the row")
        real(owner, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "complete", flaky)

    class Failing:
        def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
            return [TransportError("down")] * len(items)

    Worker(store, Failing(), backoff_initial=0.001).run_once()
    (item,) = store.items()
    assert item.state == "pending"
    assert item.last_error is not None
    assert "could not be stored" in item.last_error


class AsyncSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    async def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        await asyncio.sleep(0)
        self.sent.extend((i.key, i.payload_json()["n"]) for i in items)
        return [None] * len(items)


def test_the_sync_worker_refuses_an_async_sink(store: SqliteOutbox) -> None:
    with pytest.raises(TypeError, match="AsyncWorker"):
        Worker(store, AsyncSink())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not async"):
        AsyncWorker(store, SlowSink(0))  # type: ignore[arg-type]


def test_async_worker_drains_in_order_with_retries(store: SqliteOutbox) -> None:
    store.enqueue_many([c for k in "ABC" for c in changes(k, 4)], now=1.0)

    class FlakySink(AsyncSink):
        def __init__(self) -> None:
            super().__init__()
            self.failed: set[str] = set()

        async def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
            out: list[BaseException | None] = []
            for item in items:
                if item.idempotency_key not in self.failed:
                    self.failed.add(item.idempotency_key)
                    out.append(TransportError("first try fails"))
                    continue
                self.sent.append((item.key, item.payload_json()["n"]))
                out.append(None)
            return out

    sink = FlakySink()
    worker = AsyncWorker(store, sink, batch_size=5, backoff_initial=0.001, backoff_max=0.01)
    stats = asyncio.run(worker.drain(max_seconds=20, max_idle_sleep=0.01, concurrency=2))
    assert stats.delivered == 12
    assert store.status().done == 12
    for key in "ABC":
        assert [n for k, n in sink.sent if k == key] == [0, 1, 2, 3]


def test_sigterm_hands_the_batch_back_like_ctrl_c(store: SqliteOutbox) -> None:
    store.enqueue_many(changes("D", 3), now=1.0)

    class Terminated:
        def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
            signal.raise_signal(signal.SIGTERM)
            time.sleep(5)  # interrupted before this ends
            return [None] * len(items)

    with sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt):
        Worker(store, Terminated()).drain()
    status = store.status()
    assert (status.pending, status.inflight) == (3, 0)  # handed back, not leased
    assert store.items()[0].attempts == 0


class InterruptedAfterClaim(SqliteOutbox):
    """The claim commits, then the interrupt lands before the worker knows its ids."""

    interrupt: type[BaseException] = KeyboardInterrupt

    def claim(self, owner: str, limit: int, **kwargs: float | int) -> list[OutboxItem]:
        super().claim(owner, limit, **kwargs)  # type: ignore[arg-type]
        raise self.interrupt


def test_an_interrupt_right_after_the_claim_commits_leaves_nothing_leased(
    tmp_path: Path,
) -> None:
    outbox = InterruptedAfterClaim(tmp_path / "o.db")
    try:
        outbox.enqueue_many(changes("E", 4), now=1.0)
        with pytest.raises(KeyboardInterrupt):
            Worker(outbox, SlowSink(0.0), lease_seconds=300).run_once()
        status = outbox.status()
        assert (status.pending, status.inflight) == (4, 0)  # not leased for 300 s
        assert all(item.attempts == 0 for item in outbox.items())
    finally:
        outbox.close()


def test_an_async_worker_cancelled_during_its_claim_hands_the_claim_back(
    tmp_path: Path,
) -> None:
    started = threading.Event()

    class SlowClaim(SqliteOutbox):
        def claim(self, owner: str, limit: int, **kwargs: float | int) -> list[OutboxItem]:
            started.set()
            time.sleep(0.3)  # cancelled meanwhile; the claim still commits
            return super().claim(owner, limit, **kwargs)  # type: ignore[arg-type]

    class Never:
        async def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
            raise AssertionError("a cancelled worker must not deliver")

    outbox = SlowClaim(tmp_path / "o.db")
    try:
        outbox.enqueue_many(changes("F", 3), now=1.0)

        async def main() -> None:
            task = asyncio.create_task(AsyncWorker(outbox, Never(), lease_seconds=300).run_once())
            await asyncio.to_thread(started.wait, 5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(main())
        status = outbox.status()
        assert (status.pending, status.inflight) == (3, 0)
    finally:
        outbox.close()
