"""The outbox worker as a long-running service (``govlink outbox worker``).

It drains continuously and waits for new changes in between: on PostgreSQL it
``LISTEN``\\s on the channel every enqueue notifies at commit (so a change is picked
up at once, with a poll as a safety net); on SQLite it polls, backing off from
``poll_min`` to ``poll_max`` while nothing comes. ``/healthz`` and ``/metrics``
(Prometheus text format, ``prometheus-client``) are served on a small HTTP server;
every event is one structured log line. A first SIGTERM or SIGINT stops it
gracefully (the batch in flight is finished, nothing new is claimed); a second
one hands the batch in flight back at once.

Several services on several machines share one PostgreSQL outbox: claims skip
each other's rows, and per-dossier order holds across them.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from govlink.core.errors import AuthenticationError, ConfigurationError
from govlink.sync._store import NOTIFY_CHANNEL, OutboxStore
from govlink.sync._worker import BatchStats, Worker, describe
from govlink.sync.models import STATES

__all__ = ["JsonLogFormatter", "OutboxMetrics", "OutboxService"]

log = logging.getLogger("govlink.sync._service")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, and the record's extras."""

    _PLAIN = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in self._PLAIN})
        return json.dumps(data, ensure_ascii=False, default=str)


class _StatusCollector(Collector):
    """Gauges read from the store at scrape time (counts per state, oldest age)."""

    def __init__(self, store: OutboxStore) -> None:
        self.store = store
        self.lock = threading.Lock()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.lock:
            status = self.store.status()
        changes = GaugeMetricFamily(
            "govlink_outbox_changes", "Changes in the outbox per state", labels=["state"]
        )
        for state in STATES:
            changes.add_metric([state], status.counts.get(state, 0))
        changes.add_metric(["blocked"], status.blocked)
        yield changes
        oldest = status.oldest_pending_at
        yield GaugeMetricFamily(
            "govlink_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending change (0 when none)",
            value=0.0 if oldest is None else max(0.0, time.time() - oldest),
        )


class OutboxMetrics:
    """The service's Prometheus metrics, in a registry of its own."""

    def __init__(self, store: OutboxStore) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "govlink_outbox_deliveries_total", "Changes delivered", registry=self.registry
        )
        self.failures = Counter(
            "govlink_outbox_failures_total",
            "Failed delivery attempts by reason (error class and code)",
            ["reason"],
            registry=self.registry,
        )
        self.dead = Counter(
            "govlink_outbox_dead_lettered_total", "Changes dead-lettered", registry=self.registry
        )
        self.taken_over = Counter(
            "govlink_outbox_leases_lost_total",
            "Changes whose lease another worker took over",
            registry=self.registry,
        )
        self.registry.register(_StatusCollector(store))

    def observe(self, batch: BatchStats) -> None:
        self.deliveries.inc(batch.delivered)
        self.dead.inc(batch.dead)
        self.taken_over.inc(batch.lost)
        for reason, count in batch.failures.items():
            self.failures.labels(reason=reason).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Waker:
    """Waits for new changes: NOTIFY on PostgreSQL, a backing-off poll on SQLite."""

    def __init__(self, dsn: str | None, stop: threading.Event, poll_min: float, poll_max: float):
        self.stop = stop
        self.poll_min = poll_min
        self.poll_max = poll_max
        self.delay = poll_min
        self.conn: Any = None
        if dsn:
            import psycopg

            self.conn = psycopg.connect(dsn, autocommit=True)
            self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def worked(self) -> None:
        self.delay = self.poll_min

    def wait(self, ready_in: float | None) -> None:
        """Until a change may be there: notified, due (``ready_in`` s), or the poll."""
        timeout = self.delay if ready_in is None else min(self.delay, max(ready_in, 0.0))
        if self.conn is None:
            self.stop.wait(timeout)
            self.delay = min(self.delay * 2, self.poll_max)
            return
        # LISTEN: a notification wakes us at once; the poll stays as a safety net.
        wait = self.poll_max if ready_in is None else min(max(ready_in, 0.0), self.poll_max)
        deadline = time.monotonic() + wait
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for _notify in self.conn.notifies(timeout=min(left, 0.5), stop_after=1):
                return

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class _HealthHandler(BaseHTTPRequestHandler):
    service: OutboxService

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/metrics":
            body = self.service.metrics.render()
            self._send(200, CONTENT_TYPE_LATEST, body)
        elif self.path.split("?")[0] == "/healthz":
            ok, detail = self.service.health()
            self._send(200 if ok else 503, "application/json", json.dumps(detail).encode())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # scrapes every few seconds: not worth a log line each


class OutboxService:
    """Runs a :class:`Worker` until stopped, with health, metrics and structured logs.

    ``status_store`` is a second connection to the same outbox for the metrics
    scrapes (so a scrape never waits behind a claim); ``dsn`` enables LISTEN/NOTIFY.
    """

    def __init__(
        self,
        worker: Worker,
        *,
        status_store: OutboxStore,
        dsn: str | None = None,
        concurrency: int = 1,
        poll_min: float = 0.2,
        poll_max: float = 5.0,
        stale_after: float = 60.0,
    ) -> None:
        self.worker = worker
        self.dsn = dsn
        self.concurrency = concurrency
        self.poll_min = poll_min
        self.poll_max = poll_max
        self.stale_after = stale_after
        self.metrics = OutboxMetrics(status_store)
        self.stop = threading.Event()
        self.tick = time.monotonic()
        self.last_error: str | None = None
        self.server: ThreadingHTTPServer | None = None

    # -- health ---------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        age = time.monotonic() - self.tick
        ok = self.last_error is None and age < self.stale_after
        detail = {
            "status": "ok" if ok else "unhealthy",
            "owner": self.worker.owner,
            "seconds_since_loop": round(age, 1),
            "last_error": self.last_error,
            "stopping": self.stop.is_set(),
        }
        return ok, detail

    def serve_http(self, host: str, port: int) -> tuple[str, int]:
        """Start ``/healthz`` and ``/metrics`` on ``host:port`` (0: any free port)."""
        handler = type("Handler", (_HealthHandler,), {"service": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="govlink-http", daemon=True).start()
        bound = self.server.server_address
        return str(bound[0]), int(bound[1])

    # -- the loop -------------------------------------------------------------------

    def run(self, *, on_batch: Callable[[BatchStats], None] | None = None) -> None:
        """Drain until :attr:`stop` is set; raises on a login/configuration problem."""
        waker = _Waker(self.dsn, self.stop, self.poll_min, self.poll_max)
        log.info("outbox worker started", extra={"event": "started", "owner": self.worker.owner})
        failures = 0

        def observe(batch: BatchStats) -> None:
            self.metrics.observe(batch)
            self.tick = time.monotonic()
            log.info(
                "batch",
                extra={
                    "event": "batch",
                    "claimed": batch.claimed,
                    "delivered": batch.delivered,
                    "retried": batch.retried,
                    "dead": batch.dead,
                    "taken_over": batch.lost,
                },
            )
            if on_batch is not None:
                on_batch(batch)

        try:
            while not self.stop.is_set():
                self.tick = time.monotonic()
                try:
                    stats = self.worker.drain(
                        wait=False,
                        should_stop=self.stop.is_set,
                        on_batch=observe,
                        concurrency=self.concurrency,
                    )
                    now = self.worker.clock()
                    ready = self.worker.store.next_ready_at(now=now)
                except (AuthenticationError, ConfigurationError) as exc:
                    self.last_error = describe(exc)
                    log.error(
                        "stopping: no change can be delivered until this is fixed",
                        extra={"event": "fatal", "error": self.last_error},
                    )
                    raise
                except Exception as exc:  # the store or the network: back off, go on
                    failures += 1
                    self.last_error = describe(exc)
                    pause = min(self.poll_max * 6, self.poll_min * 2**failures)
                    log.warning(
                        "worker error; retrying",
                        extra={"event": "error", "error": self.last_error, "retry_in": pause},
                    )
                    self.stop.wait(pause)
                    continue
                failures = 0
                self.last_error = None
                if stats.batches:
                    waker.worked()
                    continue
                waker.wait(None if ready is None else ready - now)
        finally:
            waker.close()
            log.info("outbox worker stopped", extra={"event": "stopped"})

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def graceful_signals(stop: threading.Event) -> Iterator[None]:
    """First SIGTERM/SIGINT: set ``stop`` (finish the batch in flight). Second: raise
    KeyboardInterrupt (the batch in flight is handed back)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info(
            "stopping after the batch in flight (signal again to hand it back now)",
            extra={"event": "stopping", "signal": signal.Signals(signum).name},
        )
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
