"""The worker that drains the outbox to a platform, batch by batch.

One loop, four rules:

1. **claim** a batch under a lease (a killed worker's claims come back when the
   lease expires; nothing is lost);
2. **deliver** it through a :class:`Sink` (the platform client), which answers per
   change: delivered, or the exception that stopped it;
3. **classify** each failure: transient (transport errors, rate limiting, 5xx, or
   an error whose ``retryable`` is true) → retried later with exponential backoff and
   jitter; permanent (:class:`~govlink.core.errors.ValidationError`, a platform
   refusal) or too many attempts → dead-lettered with the reason; a
   configuration or login problem → the batch is given back untouched and the
   worker stops, because no change can succeed until a human fixes it;
4. **record** the batch's outcome in one transaction.

Delivery is at least once (a crash after the platform accepted a change and before
step 4 delivers it again); the idempotency key each change carries lets the
platform apply it once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from govlink.core.errors import (
    AuthenticationError,
    ConfigurationError,
    GovLinkError,
    PlatformError,
    RateLimitedError,
    TransportError,
    ValidationError,
)
from govlink.core.redact import redact_text
from govlink.sync.models import OutboxItem
from govlink.sync.store import OutboxStore

__all__ = [
    "BatchStats",
    "Disposition",
    "DrainStats",
    "Sink",
    "Worker",
    "classify",
]

log = logging.getLogger("govlink.sync")

Disposition = Literal["retry", "dead", "stop"]


class Sink(Protocol):
    """Delivers changes to a platform; one result per item, in the items' order.

    ``None`` means delivered (or recognised as already delivered); an exception
    says why not. Raising instead applies that exception to the whole batch.
    """

    def deliver(self, items: Sequence[OutboxItem]) -> Sequence[BaseException | None]: ...


def classify(exc: BaseException) -> Disposition:
    """What to do with a change that failed with ``exc``."""
    if isinstance(exc, AuthenticationError | ConfigurationError):
        return "stop"
    if isinstance(exc, TransportError):  # includes timeouts, 429, token endpoint down
        return "retry"
    if isinstance(exc, PlatformError):
        return "retry" if exc.retryable else "dead"
    if isinstance(exc, ValidationError):
        return "dead"
    if isinstance(exc, GovLinkError):
        return "dead"
    # Anything else is unexpected (a bug, a dropped connection outside httpx):
    # retry, and let max_attempts turn a poison change into a dead one.
    return "retry"


def describe(exc: BaseException) -> str:
    """One masked line for ``last_error``."""
    text = str(exc).strip() or type(exc).__name__
    code = getattr(exc, "code", None)
    prefix = f"{type(exc).__name__}" + (f" [{code}]" if code else "")
    return redact_text(f"{prefix}: {text}")[:1000]


@dataclass
class BatchStats:
    """What one :meth:`Worker.run_once` did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0


@dataclass
class DrainStats:
    """What :meth:`Worker.drain` did in total."""

    batches: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    elapsed: float = 0.0
    dead_reasons: list[str] = field(default_factory=list)

    def add(self, batch: BatchStats) -> None:
        self.batches += 1
        self.delivered += batch.delivered
        self.retried += batch.retried
        self.dead += batch.dead


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Drains an :class:`OutboxStore` into a :class:`Sink`.

    ``lease_seconds`` must exceed the longest delivery of one batch (including the
    transport's own retries), or a slow worker's batch is delivered twice (harmless
    with idempotency keys, but wasteful). ``clock`` gives POSIX seconds.
    """

    def __init__(
        self,
        store: OutboxStore,
        sink: Sink,
        *,
        batch_size: int = 500,
        lease_seconds: float = 300.0,
        max_attempts: int = 10,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.store = store
        self.sink = sink
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.owner = owner or _default_owner()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()

    def backoff(self, attempts: int, exc: BaseException | None = None) -> float:
        """Seconds before the next attempt: exponential, half jitter, ``Retry-After`` wins."""
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            return min(max(float(exc.retry_after), 0.0), self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_initial * (2.0 ** max(attempts - 1, 0)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def run_once(self) -> BatchStats:
        """Claim, deliver and record one batch (empty stats when nothing is due)."""
        now = self.clock()
        items = self.store.claim(
            self.owner,
            self.batch_size,
            lease_seconds=self.lease_seconds,
            now=now,
            max_attempts=self.max_attempts,
        )
        stats = BatchStats(claimed=len(items))
        if not items:
            return stats
        try:
            results = list(self.sink.deliver(items))
        except BaseException as exc:  # one failure for the whole batch
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
                self.store.complete(self.owner, release=[i.id for i in items], now=self.clock())
                raise
            results = [exc] * len(items)
        if len(results) != len(items):
            raise RuntimeError(
                f"sink returned {len(results)} results for {len(items)} changes (a sink bug)"
            )
        done: list[int] = []
        retry: list[tuple[int, float, str]] = []
        dead: list[tuple[int, str]] = []
        release: list[int] = []
        stop: BaseException | None = None
        now = self.clock()
        for item, result in zip(items, results, strict=True):
            if result is None:
                done.append(item.id)
                continue
            disposition = classify(result)
            if disposition == "stop":
                release.append(item.id)
                stop = stop or result
            elif disposition == "dead":
                dead.append((item.id, describe(result)))
            elif item.attempts >= self.max_attempts:
                dead.append(
                    (item.id, f"gave up after {item.attempts} attempts; last: {describe(result)}")
                )
            else:
                retry.append((item.id, now + self.backoff(item.attempts, result), describe(result)))
        self.store.complete(self.owner, done=done, retry=retry, dead=dead, release=release, now=now)
        stats.delivered, stats.retried, stats.dead = len(done), len(retry), len(dead)
        if retry or dead:
            log.info(
                "batch of %d: %d delivered, %d to retry, %d dead-lettered",
                len(items),
                len(done),
                len(retry),
                len(dead),
            )
        for _item_id, reason in dead:
            log.warning("dead-lettered change %d: %s", _item_id, reason)
        if stop is not None:
            raise stop
        return stats

    def drain(
        self,
        *,
        wait: bool = True,
        max_seconds: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_batch: Callable[[BatchStats], None] | None = None,
        max_idle_sleep: float = 1.0,
        concurrency: int = 1,
    ) -> DrainStats:
        """Deliver until nothing deliverable is left.

        With ``wait`` the worker sleeps until changes waiting for a retry are due
        (and until leases of other, possibly dead, workers expire); without it,
        drain returns as soon as nothing is claimable right now. Dead changes and
        the changes blocked behind them are left for :meth:`OutboxStore.retry`.

        ``concurrency`` > 1 keeps that many batches in flight (threads sharing the
        store and the sink): while the platform works on one batch the next is
        claimed and sent. Order per key still holds — a key with a change in flight
        is never claimed. ``on_batch`` is then called from those threads.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        started = time.monotonic()
        total = DrainStats()
        state = _DrainState()

        def out_of_time() -> bool:
            return max_seconds is not None and time.monotonic() - started >= max_seconds

        def loop() -> None:
            while state.error is None and not state.stop:
                if (should_stop is not None and should_stop()) or out_of_time():
                    return
                with state.cond:
                    state.busy += 1
                try:
                    batch = self.run_once()
                except BaseException as exc:
                    state.error = state.error or exc
                    return
                finally:
                    with state.cond:
                        state.busy -= 1
                        state.cond.notify_all()
                if batch.claimed:
                    with state.cond:
                        total.add(batch)
                    if on_batch is not None:
                        on_batch(batch)
                    continue
                with state.cond:
                    if state.busy > 0:  # a sibling's batch may unblock or fail changes
                        state.cond.wait(timeout=max_idle_sleep)
                        continue
                if not wait:
                    return
                now = self.clock()
                ready = self.store.next_ready_at(now=now)
                if ready is None:
                    return
                pause = min(max(ready - now, 0.01), max_idle_sleep)
                if max_seconds is not None:
                    pause = min(pause, max(0.0, max_seconds - (time.monotonic() - started)))
                self.sleep(pause)

        threads = [
            threading.Thread(target=loop, name=f"govlink-outbox-{n}", daemon=True)
            for n in range(1, concurrency)
        ]
        for thread in threads:
            thread.start()
        try:
            loop()
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.2)
        except BaseException:
            state.stop = True
            raise
        if state.error is not None:
            raise state.error
        total.elapsed = time.monotonic() - started
        return total


class _DrainState:
    """What the threads of one :meth:`Worker.drain` share."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.busy = 0
        self.error: BaseException | None = None
        self.stop = False
