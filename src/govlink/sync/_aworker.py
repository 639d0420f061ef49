"""The asyncio twin of :class:`~govlink.sync._worker.Worker`: same rules, same guarantees.

Claims, leases, the heartbeat and fence, classification, backoff and the recorded
outcome are exactly those of the synchronous worker (the classification and the
recording are the same functions); only the waiting differs: the sink is awaited
(e.g. :class:`~govlink.dossiers.AsyncDossierSink` over an ``AsyncDossierClient``)
and the store — a blocking database driver — runs in a worker thread so the event
loop is never blocked. Cancelling a drain hands the batches in flight back.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, Unpack

from govlink.sync._store import OutboxStore
from govlink.sync._worker import (
    BatchStats,
    DrainStats,
    Lease,
    WorkerOptions,
    WorkerSettings,
    _accepts_fence,
    _log_outcome,
    record_outcome,
)
from govlink.sync.models import OutboxItem

__all__ = ["AsyncFence", "AsyncSink", "AsyncWorker"]

AsyncFence = Callable[[Sequence[OutboxItem]], Awaitable[list[bool]]]


class AsyncSink(Protocol):
    """Delivers changes asynchronously; one result per item (see :class:`Sink`)."""

    async def deliver(self, items: Sequence[OutboxItem]) -> Sequence[BaseException | None]: ...


class _AsyncHeartbeat:
    def __init__(self, worker: AsyncWorker, token: str, ids: Sequence[int]) -> None:
        self.worker = worker
        self.token = token
        self.lease = Lease(ids, worker.lease_seconds)
        self.held = self.lease.held
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _AsyncHeartbeat:
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def _run(self) -> None:
        interval = max(self.worker.lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            await self.renew()

    async def renew(self) -> set[int]:
        ids = sorted(self.held)
        if not ids:
            return set()
        w = self.worker
        try:
            kept = await asyncio.to_thread(
                w.store.extend, self.token, ids, lease_seconds=w.lease_seconds, now=w.clock()
            )
        except Exception as exc:
            return self.lease.unknown(ids, exc)
        return self.lease.kept(kept)

    async def fence(self, items: Sequence[OutboxItem]) -> list[bool]:
        held = await self.renew()
        return [item.id in held for item in items]


class AsyncWorker(WorkerSettings):
    """Drains an :class:`OutboxStore` into an async sink (see :class:`Worker`)."""

    def __init__(
        self, store: OutboxStore, sink: AsyncSink, **settings: Unpack[WorkerOptions]
    ) -> None:
        if not inspect.iscoroutinefunction(getattr(sink, "deliver", None)):
            raise TypeError(
                f"{type(sink).__name__}.deliver is not async: AsyncWorker needs an async sink "
                "(use govlink.sync.Worker with a synchronous one)"
            )
        super().__init__(store, **settings)
        self.sink = sink
        self._fenced = _accepts_fence(sink)

    async def run_once(self) -> BatchStats:
        """Claim, deliver and record one batch (empty stats when nothing is due)."""
        token = self._token()
        items = await asyncio.to_thread(
            self.store.claim,
            token,
            self.batch_size,
            lease_seconds=self.lease_seconds,
            now=self.clock(),
            max_attempts=self.max_attempts,
        )
        if not items:
            return BatchStats()
        ids = [i.id for i in items]
        sink: Any = self.sink
        async with _AsyncHeartbeat(self, token, ids) as beat:
            try:
                if self._fenced:
                    results = list(await sink.deliver(items, fence=beat.fence))
                else:
                    results = list(await sink.deliver(items))
            except BaseException as exc:
                if not isinstance(exc, Exception):  # cancelled, KeyboardInterrupt
                    await asyncio.shield(
                        asyncio.to_thread(self.store.complete, token, release=ids, now=self.clock())
                    )
                    raise
                results = [exc] * len(items)
            held = await beat.renew() if self._fenced else set(beat.held)
        outcome, now = self._plan(items, results, held)
        await asyncio.to_thread(record_outcome, self.store, token, outcome, now=now)
        _log_outcome(len(items), outcome)
        if outcome.stop is not None:
            raise outcome.stop
        return outcome.stats(len(items))

    async def drain(
        self,
        *,
        wait: bool = True,
        max_seconds: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_batch: Callable[[BatchStats], None] | None = None,
        max_idle_sleep: float = 1.0,
        concurrency: int = 1,
    ) -> DrainStats:
        """Deliver until nothing deliverable is left (see :meth:`Worker.drain`);
        ``concurrency`` batches in flight as tasks of one event loop."""
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        started = time.monotonic()
        total = DrainStats()
        busy = 0
        changed = asyncio.Event()

        def out_of_time() -> bool:
            return max_seconds is not None and time.monotonic() - started >= max_seconds

        async def loop() -> None:
            nonlocal busy
            while not ((should_stop is not None and should_stop()) or out_of_time()):
                busy += 1
                try:
                    batch = await self.run_once()
                finally:
                    busy -= 1
                    changed.set()
                if batch.claimed:
                    total.add(batch)
                    if on_batch is not None:
                        on_batch(batch)
                    continue
                if busy > 0:  # a sibling's batch may unblock or fail changes
                    changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), timeout=max_idle_sleep)
                    continue
                if not wait:
                    return
                now = self.clock()
                ready = await asyncio.to_thread(self.store.next_ready_at, now=now)
                if ready is None:
                    return
                pause = min(max(ready - now, 0.01), max_idle_sleep)
                if max_seconds is not None:
                    pause = min(pause, max(0.0, max_seconds - (time.monotonic() - started)))
                await asyncio.sleep(pause)

        tasks = [asyncio.create_task(loop()) for _ in range(concurrency)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        total.elapsed = time.monotonic() - started
        return total
