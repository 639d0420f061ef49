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

Leases are kept alive while a batch is delivered (a heartbeat renews them every
third of ``lease_seconds``) and **fenced**: each claim gets its own lease token; a
sink that takes a ``fence`` renews the lease right before each request and skips
the changes another worker took over, and the outcome is only recorded for
changes the token still holds. So a stalled worker never sends an older status
after the worker that took its batch over sent a newer one.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, Unpack

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
from govlink.sync._store import OutboxStore, storable
from govlink.sync.models import OutboxItem

__all__ = [
    "BatchStats",
    "Disposition",
    "DrainStats",
    "Fence",
    "Lease",
    "LeaseLostError",
    "Outcome",
    "Sink",
    "Worker",
    "WorkerOptions",
    "WorkerSettings",
    "classify",
    "plan_outcome",
    "sigterm_as_interrupt",
]

log = logging.getLogger("govlink.sync")

Disposition = Literal["retry", "dead", "stop"]


class Sink(Protocol):
    """Delivers changes to a platform; one result per item, in the items' order.

    ``None`` means delivered (or recognised as already delivered); an exception
    says why not. Raising instead applies that exception to the whole batch.
    """

    def deliver(self, items: Sequence[OutboxItem]) -> Sequence[BaseException | None]: ...


Fence = Callable[[Sequence[OutboxItem]], list[bool]]
"""Given the changes about to be sent: which of them this worker still holds (the
lease is renewed on the way). A sink whose ``deliver`` takes a ``fence`` keyword
calls it before each request and answers :class:`LeaseLostError` for the others."""


class LeaseLostError(Exception):
    """The lease on a change was taken over by another worker: not sent, not recorded."""

    def __init__(self, item_id: int) -> None:
        super().__init__(f"the lease on change {item_id} was taken over by another worker")
        self.item_id = item_id


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
    """One masked line for ``last_error`` (storable: no NUL, valid UTF-8)."""
    text = str(exc).strip() or type(exc).__name__
    code = getattr(exc, "code", None)
    prefix = f"{type(exc).__name__}" + (f" [{code}]" if code else "")
    return storable(redact_text(f"{prefix}: {text}"))[:1000]


def reason_of(exc: BaseException) -> str:
    """A short, bounded label for metrics: the error class (and code when it has one)."""
    code = getattr(exc, "code", None)
    return type(exc).__name__ + (f":{code}" if isinstance(code, str | int) and code else "")


@dataclass
class BatchStats:
    """What one :meth:`Worker.run_once` did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    """Changes whose lease another worker took over (neither sent nor recorded here)."""
    failures: dict[str, int] = field(default_factory=dict)
    """Failed deliveries per :func:`reason_of` label (for metrics)."""


@dataclass
class DrainStats:
    """What :meth:`Worker.drain` did in total."""

    batches: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    elapsed: float = 0.0
    dead_reasons: list[str] = field(default_factory=list)

    def add(self, batch: BatchStats) -> None:
        self.batches += 1
        self.delivered += batch.delivered
        self.retried += batch.retried
        self.dead += batch.dead
        self.lost += batch.lost


def backoff_delay(
    attempts: int, exc: BaseException | None, initial: float, ceiling: float, rng: random.Random
) -> float:
    """Exponential backoff with half jitter; a rate limit's ``Retry-After`` wins."""
    if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
        return min(max(float(exc.retry_after), 0.0), ceiling)
    top = min(ceiling, initial * (2.0 ** max(attempts - 1, 0)))
    return top / 2 + rng.uniform(0, top / 2)


def _default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Outcome:
    """What to record for one delivered batch (see :meth:`OutboxStore.complete`)."""

    done: list[int] = field(default_factory=list)
    retry: list[tuple[int, float, str]] = field(default_factory=list)
    dead: list[tuple[int, str]] = field(default_factory=list)
    release: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    stop: BaseException | None = None

    def stats(self, claimed: int) -> BatchStats:
        return BatchStats(
            claimed, len(self.done), len(self.retry), len(self.dead), len(self.lost), self.failures
        )


def plan_outcome(
    items: Sequence[OutboxItem],
    results: Sequence[BaseException | None],
    *,
    now: float,
    max_attempts: int,
    backoff: Callable[[int, BaseException], float],
    held: set[int] | None = None,
) -> Outcome:
    """Classify each change's result (one rule for :class:`Worker` and ``AsyncWorker``).

    ``held``: the ids whose lease is still this worker's (others are left alone).
    """
    if len(results) != len(items):
        raise RuntimeError(
            f"sink returned {len(results)} results for {len(items)} changes (a sink bug)"
        )
    out = Outcome()
    for item, result in zip(items, results, strict=True):
        if isinstance(result, LeaseLostError) or (held is not None and item.id not in held):
            out.lost.append(item.id)
            continue
        if result is None:
            out.done.append(item.id)
            continue
        label = reason_of(result)
        out.failures[label] = out.failures.get(label, 0) + 1
        disposition = classify(result)
        if disposition == "stop":
            out.release.append(item.id)
            out.stop = out.stop or result
        elif disposition == "dead":
            out.dead.append((item.id, describe(result)))
        elif item.attempts >= max_attempts:
            out.dead.append(
                (item.id, f"gave up after {item.attempts} attempts; last: {describe(result)}")
            )
        else:
            out.retry.append((item.id, now + backoff(item.attempts, result), describe(result)))
    return out


def record_outcome(store: OutboxStore, token: str, outcome: Outcome, *, now: float) -> None:
    """Store a batch's outcome; a failed write never strands the batch silently.

    If the store refuses the outcome (e.g. an error text it cannot hold), it is
    recorded again with the error texts replaced; if that fails too, the batch is
    handed back (released) and the original error raised.
    """
    o = outcome
    try:
        store.complete(token, done=o.done, retry=o.retry, dead=o.dead, release=o.release, now=now)
        return
    except Exception as exc:
        first = exc
        log.error("could not record a batch outcome: %s", describe(exc))
    placeholder = "the error text could not be stored: " + type(first).__name__
    try:
        store.complete(
            token,
            done=o.done,
            retry=[(i, at, placeholder) for i, at, _e in o.retry],
            dead=[(i, placeholder) for i, _e in o.dead],
            release=o.release,
            now=now,
        )
        return
    except Exception as exc:
        log.error("could not record the outcome without error texts: %s", describe(exc))
    ids = [*o.done, *(i for i, _a, _e in o.retry), *(i for i, _e in o.dead), *o.release]
    try:
        store.complete(token, release=ids, now=now)
    except Exception as exc:
        log.error("could not hand the batch back either: %s", describe(exc))
    raise first


def _accepts_fence(sink: object) -> bool:
    try:
        parameters = inspect.signature(sink.deliver).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return False
    return "fence" in parameters


def _is_async_sink(sink: object) -> bool:
    deliver = getattr(sink, "deliver", None)
    return inspect.iscoroutinefunction(deliver) or inspect.iscoroutinefunction(
        getattr(deliver, "__call__", None)  # noqa: B004 - a callable object's method
    )


class Lease:
    """What one claim still holds, as its renewals tell (shared by both workers)."""

    def __init__(self, ids: Sequence[int], seconds: float) -> None:
        self.held = set(ids)
        self.seconds = seconds
        self.renewed = time.monotonic()

    def kept(self, kept: set[int]) -> set[int]:
        """Record a renewal that kept ``kept``; what is still held."""
        lost = self.held - kept
        self.held &= kept
        self.renewed = time.monotonic()
        if lost:
            log.warning("lost the lease of %d change(s) to another worker", len(lost))
        return set(self.held)

    def unknown(self, ids: Sequence[int], exc: BaseException) -> set[int]:
        """A renewal failed: trust the lease only while it surely has not run out."""
        log.warning("could not renew the lease of %d change(s): %s", len(ids), describe(exc))
        if time.monotonic() - self.renewed < self.seconds / 2:
            return set(ids)
        return set()


class _AsyncSinkError(TypeError):
    """The sink handed the synchronous worker a coroutine."""


class _Heartbeat:
    """Renews one claim's lease while its batch is delivered; the fence of that claim."""

    def __init__(self, worker: Worker, token: str, ids: Sequence[int]) -> None:
        self.worker = worker
        self.token = token
        self.lease = Lease(ids, worker.lease_seconds)
        self.held = self.lease.held
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="govlink-lease", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _run(self) -> None:
        interval = max(self.worker.lease_seconds / 3, 0.05)
        while not self.done.wait(interval):
            self.renew()

    def renew(self) -> set[int]:
        with self.lock:
            ids = sorted(self.held)
        if not ids:
            return set()
        w = self.worker
        try:
            kept = w.store.extend(self.token, ids, lease_seconds=w.lease_seconds, now=w.clock())
        except Exception as exc:
            return self.lease.unknown(ids, exc)
        with self.lock:
            return self.lease.kept(kept)

    def fence(self, items: Sequence[OutboxItem]) -> list[bool]:
        held = self.renew()
        return [item.id in held for item in items]


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (systemd, docker, ``timeout``) acts like Ctrl-C: the
    batch in flight is handed back at once instead of staying leased.

    Only in the main thread (elsewhere Python cannot install handlers): a no-op there.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class WorkerOptions(TypedDict, total=False):
    """The settings :class:`Worker` and ``AsyncWorker`` take as keywords."""

    batch_size: int
    lease_seconds: float
    max_attempts: int
    backoff_initial: float
    backoff_max: float
    owner: str | None
    clock: Callable[[], float]
    rng: random.Random | None


class WorkerSettings:
    """What both workers are configured with (validated once, here)."""

    def __init__(
        self,
        store: OutboxStore,
        *,
        batch_size: int = 500,
        lease_seconds: float = 300.0,
        max_attempts: int = 10,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be > 0")
        self.store = store
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.owner = owner or _default_owner()
        self.clock = clock
        self.rng = rng or random.Random()
        self._claims = itertools.count(1)

    def backoff(self, attempts: int, exc: BaseException | None = None) -> float:
        """Seconds before the next attempt: exponential, half jitter, ``Retry-After`` wins."""
        return backoff_delay(attempts, exc, self.backoff_initial, self.backoff_max, self.rng)

    def _token(self) -> str:
        """A lease token unique to one claim (threads of one worker fence each other too)."""
        return f"{self.owner}#{next(self._claims)}"

    def _plan(
        self, items: Sequence[OutboxItem], results: Sequence[BaseException | None], held: set[int]
    ) -> tuple[Outcome, float]:
        now = self.clock()
        outcome = plan_outcome(
            items, results, now=now, max_attempts=self.max_attempts, backoff=self.backoff, held=held
        )
        return outcome, now


class Worker(WorkerSettings):
    """Drains an :class:`OutboxStore` into a :class:`Sink`.

    ``lease_seconds`` must exceed the longest single request to the platform
    (including the transport's own retries): the lease is renewed while a batch
    is delivered, and a fence-aware sink renews it before each request. ``clock``
    gives POSIX seconds. The sink must be synchronous (:class:`AsyncWorker` takes
    an async one).
    """

    def __init__(
        self,
        store: OutboxStore,
        sink: Sink,
        *,
        sleep: Callable[[float], None] = time.sleep,
        **settings: Unpack[WorkerOptions],
    ) -> None:
        if _is_async_sink(sink):
            raise TypeError(
                f"{type(sink).__name__}.deliver is async: Worker needs a synchronous sink "
                "(use govlink.sync.AsyncWorker with an async sink such as AsyncDossierSink)"
            )
        super().__init__(store, **settings)
        self.sink = sink
        self.sleep = sleep
        self._fenced = _accepts_fence(sink)
        self._active: dict[str, list[int]] = {}
        self._active_lock = threading.Lock()

    def _deliver(self, items: Sequence[OutboxItem], beat: _Heartbeat) -> list[Any]:
        sink: Any = self.sink
        results = sink.deliver(items, fence=beat.fence) if self._fenced else sink.deliver(items)
        if inspect.isawaitable(results):
            close = getattr(results, "close", None)
            if close is not None:
                close()
            raise _AsyncSinkError(
                f"{type(self.sink).__name__}.deliver returned an awaitable: use AsyncWorker"
            )
        return list(results)

    def run_once(self) -> BatchStats:
        """Claim, deliver and record one batch (empty stats when nothing is due)."""
        token = self._token()
        items = self.store.claim(
            token,
            self.batch_size,
            lease_seconds=self.lease_seconds,
            now=self.clock(),
            max_attempts=self.max_attempts,
        )
        if not items:
            return BatchStats()
        ids = [i.id for i in items]
        with self._active_lock:
            self._active[token] = ids
        try:
            with _Heartbeat(self, token, ids) as beat:
                try:
                    results = self._deliver(items, beat)
                except _AsyncSinkError:  # a wiring bug: hand back and stop
                    self.store.complete(token, release=ids, now=self.clock())
                    raise
                except BaseException as exc:  # one failure for the whole batch
                    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
                        self.store.complete(token, release=ids, now=self.clock())
                        raise
                    results = [exc] * len(items)
                held = beat.renew() if self._fenced else set(beat.held)
            outcome, now = self._plan(items, results, held)
            record_outcome(self.store, token, outcome, now=now)
        finally:
            with self._active_lock:
                self._active.pop(token, None)
        _log_outcome(len(items), outcome)
        if outcome.stop is not None:
            raise outcome.stop
        return outcome.stats(len(items))

    def release_active(self) -> int:
        """Hand back every batch this worker's threads still hold; how many changes."""
        with self._active_lock:
            active = dict(self._active)
            self._active.clear()
        count = 0
        for token, ids in active.items():
            try:
                self.store.complete(token, release=ids, now=self.clock())
                count += len(ids)
            except Exception as exc:
                log.error("could not hand back %d change(s): %s", len(ids), describe(exc))
        return count

    def drain(
        self,
        *,
        wait: bool = True,
        max_seconds: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_batch: Callable[[BatchStats], None] | None = None,
        max_idle_sleep: float = 1.0,
        concurrency: int = 1,
        stop_timeout: float = 10.0,
    ) -> DrainStats:
        """Deliver until nothing deliverable is left.

        With ``wait`` the worker sleeps until changes waiting for a retry are due
        (and until leases of other, possibly dead, workers expire); without it,
        drain returns as soon as nothing is claimable right now. Dead changes and
        the changes blocked behind them are left for :meth:`OutboxStore.retry`.

        ``concurrency`` > 1 keeps that many batches in flight (threads sharing the
        store and the sink): while the platform works on one batch the next is
        claimed and sent. Order per key still holds — a key with a change in flight
        is never claimed. ``on_batch`` is then called from those threads. On an
        interrupt (Ctrl-C, or SIGTERM under :func:`sigterm_as_interrupt`) the other
        threads finish their batch for up to ``stop_timeout`` seconds; what they
        still hold then is handed back.
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
            deadline = time.monotonic() + stop_timeout
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
            self.release_active()
            raise
        if state.error is not None:
            raise state.error
        total.elapsed = time.monotonic() - started
        return total


def _log_outcome(size: int, outcome: Outcome) -> None:
    if outcome.retry or outcome.dead or outcome.lost:
        log.info(
            "batch of %d: %d delivered, %d to retry, %d dead-lettered, %d taken over",
            size,
            len(outcome.done),
            len(outcome.retry),
            len(outcome.dead),
            len(outcome.lost),
        )
    for item_id, reason in outcome.dead:
        log.warning("dead-lettered change %d: %s", item_id, reason)


class _DrainState:
    """What the threads of one :meth:`Worker.drain` share."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.busy = 0
        self.error: BaseException | None = None
        self.stop = False
