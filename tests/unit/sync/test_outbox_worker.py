"""The worker: batches, retries with backoff, dead letters, order, stop on auth."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from govlink.core.errors import (
    AuthenticationError,
    PlatformError,
    RateLimitedError,
    TransportError,
    ValidationError,
)
from govlink.sync import Change, OutboxItem, SqliteOutbox, Worker, classify


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class ScriptedSink:
    """Fails the first ``failures[key]`` deliveries of each change with ``error``."""

    def __init__(self, failures: dict[str, list[BaseException]] | None = None) -> None:
        self.failures = failures or {}
        self.delivered: list[tuple[str, int]] = []
        self.batches: list[int] = []

    def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
        self.batches.append(len(items))
        out: list[BaseException | None] = []
        for item in items:
            pending = self.failures.get(item.idempotency_key)
            if pending:
                out.append(pending.pop(0))
                continue
            self.delivered.append((item.key, item.payload_json()["n"]))
            out.append(None)
        return out


@pytest.fixture
def store(tmp_path: Path) -> SqliteOutbox:
    outbox = SqliteOutbox(tmp_path / "o.db")
    yield outbox
    outbox.close()


def fill(store: SqliteOutbox, keys: int, per_key: int) -> None:
    store.enqueue_many(
        [Change("k", f"D{k}", {"n": n}, f"D{k}#{n}") for n in range(per_key) for k in range(keys)],
        now=0.0,
    )


def worker(store: SqliteOutbox, sink: ScriptedSink, clock: Clock, **kw: object) -> Worker:
    return Worker(
        store,
        sink,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(7),
        **kw,  # type: ignore[arg-type]
    )


def test_drains_everything_in_batches_keeping_order_per_key(store: SqliteOutbox) -> None:
    fill(store, keys=30, per_key=4)
    sink, clock = ScriptedSink(), Clock()
    stats = worker(store, sink, clock, batch_size=25).drain()
    assert stats.delivered == 120
    assert max(sink.batches) <= 25
    for k in range(30):
        assert [n for key, n in sink.delivered if key == f"D{k}"] == [0, 1, 2, 3]
    assert store.status().done == 120


def test_transient_failures_are_retried_with_growing_backoff(store: SqliteOutbox) -> None:
    fill(store, keys=2, per_key=2)
    flaky = [TransportError("reset"), PlatformError("busy", status_code=503), TransportError("x")]
    sink, clock = ScriptedSink({"D0#0": flaky}), Clock()
    w = worker(store, sink, clock, backoff_initial=1.0, backoff_max=60.0)
    stats = w.drain()
    assert stats.delivered == 4
    assert stats.retried == 3
    # D0's second change waited for its first: order kept through the retries.
    assert [n for key, n in sink.delivered if key == "D0"] == [0, 1]
    assert sum(clock.slept) >= 0.5 + 1 + 2  # half-jitter: at least half of 1, 2, 4
    delays = [w.backoff(n) for n in (1, 2, 3, 10)]
    assert 0.5 <= delays[0] <= 1
    assert 1 <= delays[1] <= 2
    assert 2 <= delays[2] <= 4
    assert delays[3] <= 60


def test_retry_after_is_honoured(store: SqliteOutbox) -> None:
    w = worker(store, ScriptedSink(), Clock())
    assert w.backoff(1, RateLimitedError("429", retry_after=42.0)) == 42.0


def test_poison_changes_are_dead_lettered_with_the_reason(store: SqliteOutbox) -> None:
    fill(store, keys=3, per_key=2)
    refusal = PlatformError("DongBoHoSoMC: dossier D1 refused (12)", code="12", items=("D1",))
    sink = ScriptedSink({"D1#0": [refusal], "D2#0": [ValidationError("MaTTHC", "a code")]})
    stats = worker(store, sink, Clock()).drain()
    assert stats.dead == 2
    dead = {i.key: i.last_error for i in store.items("dead")}
    assert dead["D1"] is not None
    assert "[12]" in dead["D1"]
    assert "refused" in dead["D1"]
    assert dead["D2"] is not None
    assert "MaTTHC" in dead["D2"]
    status = store.status()
    assert (status.done, status.blocked) == (2, 2)  # D1#1 and D2#1 wait behind them
    # Re-drive after the fix: everything arrives, still in order.
    assert store.retry(now=2_000.0) == 2
    worker(store, sink, Clock()).drain()
    assert store.status().done == 6
    assert [n for key, n in sink.delivered if key == "D1"] == [0, 1]


def test_too_many_transient_failures_end_in_dead_letters(store: SqliteOutbox) -> None:
    fill(store, keys=1, per_key=1)
    sink = ScriptedSink({"D0#0": [TransportError("down")] * 10})
    stats = worker(store, sink, Clock(), max_attempts=3).drain()
    assert stats.dead == 1
    [dead] = store.items("dead")
    assert dead.last_error is not None
    assert dead.last_error.startswith("gave up after 3 attempts")


def test_authentication_failure_stops_and_gives_the_batch_back(store: SqliteOutbox) -> None:
    fill(store, keys=2, per_key=1)
    sink = ScriptedSink({"D0#0": [AuthenticationError("login refused")]})
    with pytest.raises(AuthenticationError):
        worker(store, sink, Clock()).drain()
    status = store.status()
    assert status.pending == 1  # given back untouched...
    assert status.done == 1
    [again] = store.claim("w", 10, lease_seconds=5, now=5_000.0, max_attempts=5)
    assert again.attempts == 1  # ...and the failed login did not count as an attempt


def test_a_sink_that_raises_fails_the_whole_batch_transiently(store: SqliteOutbox) -> None:
    fill(store, keys=3, per_key=1)

    class Exploding(ScriptedSink):
        calls = 0

        def deliver(self, items: Sequence[OutboxItem]) -> list[BaseException | None]:
            self.calls += 1
            if self.calls == 1:
                raise TransportError("connection reset")
            return super().deliver(items)

    sink = Exploding()
    stats = worker(store, sink, Clock()).drain()
    assert stats.retried == 3
    assert stats.delivered == 3


def test_concurrent_batches_keep_order_per_key(store: SqliteOutbox) -> None:
    fill(store, keys=50, per_key=5)
    sink = ScriptedSink()
    stats = Worker(store, sink, batch_size=7).drain(concurrency=3)
    assert stats.delivered == 250
    for k in range(50):
        assert [n for key, n in sink.delivered if key == f"D{k}"] == [0, 1, 2, 3, 4]


def test_drain_without_wait_returns_while_retries_are_pending(store: SqliteOutbox) -> None:
    fill(store, keys=1, per_key=1)
    sink, clock = ScriptedSink({"D0#0": [TransportError("x")]}), Clock()
    stats = worker(store, sink, clock).drain(wait=False)
    assert (stats.delivered, stats.retried) == (0, 1)
    assert clock.slept == []


def test_classification() -> None:
    assert classify(TransportError("x")) == "retry"
    assert classify(RateLimitedError("x")) == "retry"
    assert classify(PlatformError("x", status_code=502)) == "retry"
    assert classify(PlatformError("x", code="12")) == "dead"
    assert classify(ValidationError("f", "e")) == "dead"
    assert classify(AuthenticationError("x")) == "stop"
    assert classify(RuntimeError("bug")) == "retry"
