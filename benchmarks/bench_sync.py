"""Benchmark: dossier status changes through the durable outbox to the local DVCQG mock.

What is measured (one run, same machine, same mock):

* **outbox** — N status changes (default 100,000, over N/5 dossiers, each dossier
  going 1 → 2 → 4 → 9 → 10 in order) are enqueued into a fresh SQLite outbox
  (WAL, synchronous=FULL) and drained by one :class:`govlink.sync.Worker` (two
  batches in flight by default, so client and mock work at the same time;
  ``--concurrency 1`` for one at a time) through
  :class:`govlink.dossiers.DossierSink` to the mock running in a *subprocess*
  (``python -m mock_servers``), so client and mock each get a core. The timed window
  is enqueue + drain until every change is acknowledged. Building the changes
  (pydantic validation + wire encoding) happens before the window and is reported
  separately.
* **naive baseline** — what hand-written integrations do: one HTTP request per
  change on a new TCP connection (``http.client``; login once, to be generous), on
  a sample of the same changes, scaled to changes/s. The output says so.

* **keys** — each change carries the idempotency key ``govlink dossiers push``
  derives from an export's ``changed_at`` column (a SHA-256 of the event: random
  order in the unique index, the costlier case), not a time-ordered one
  (``--keys time`` for those).
* **PostgreSQL, 4 workers** — when a server can be started here (Debian's
  ``postgresql`` binaries; fsync on) or ``--pg-dsn`` names one: ``--pg-changes``
  changes over other dossiers, enqueued, then drained by 4 workers (threads, each
  with its own connection and client) sharing the outbox.
* **transactional vs plain enqueue** — per change, one commit each (SQLite WAL +
  synchronous=FULL; PostgreSQL with fsync): the application's own update alone,
  the update plus ``enqueue_in`` in the same transaction, and a plain
  ``outbox.enqueue`` in the outbox's own transaction.

The mock's own verdict is checked at the end: every change applied exactly once.
The last line of output is one JSON object with the headline figures.

Run: ``.venv/bin/python benchmarks/bench_sync.py [--changes N] [--baseline-sample M]``
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import importlib.util
import json
import os
import resource
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _mockserver import start_mock

from govlink.core.clock import VN_TZ, format_compact
from govlink.core.config import GovLinkSettings, mock_profile
from govlink.dossiers import Dossier, DossierClient, DossierSink, dossier_change
from govlink.dossiers._export import event_key
from govlink.sync import Change, SqliteOutbox, Worker, enqueue_in, open_outbox

STATUSES = (1, 2, 4, 9, 10)
PROCEDURE = "1.001193"
DSTCODE = "000.00.00.H47"  # the mock profile's unit (seed clients.json)


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of another process so far (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def changes(total: int, *, prefix: str = "H47.99", keys: str = "event") -> Iterator[Change]:
    """Status changes in "time order": every dossier's step k before any step k+1."""
    dossiers = max(1, total // len(STATUSES))
    start = datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ)
    made = 0
    for step, status in enumerate(STATUSES):
        for n in range(dossiers):
            if made >= total:
                return
            dossier = Dossier(
                ma_ho_so=f"{prefix}-260302-{n:06d}",
                procedure_code=PROCEDURE,
                procedure_name="Đăng ký khai sinh",
                status=status,
                received_at=start + timedelta(minutes=n % 600),
                due_at=start + timedelta(days=5),
                owner_name="NGUYỄN VĂN AN",
                applicant_type=1,
                handling_unit="UBND xã Tân An",
            )
            change = dossier_change(dossier, is_updating=step > 0)
            if keys == "event":  # as push derives it from a changed_at column
                changed_at = format_compact(start + timedelta(hours=step, seconds=n))
                key = event_key(
                    change.kind, change.key, change.payload_text(), ("changed_at", changed_at), 0
                )
                change = dataclasses.replace(change, idempotency_key=key)
            yield change
            made += 1


def bench_settings(base_url: str, batch: int) -> GovLinkSettings:
    settings = GovLinkSettings(**mock_profile(urlsplit(base_url).port or 80))
    settings.dossiers.options.update({"chunk_size": batch})
    settings.http.timeout = 120.0
    return settings


def run_outbox(
    base_url: str,
    total: int,
    workdir: Path,
    concurrency: int,
    batch: int,
    mock_pid: int,
    keys: str,
) -> dict[str, float]:
    settings = bench_settings(base_url, batch)

    t0 = time.perf_counter()
    prepared = list(changes(total, keys=keys))
    prepare_s = time.perf_counter() - t0

    outbox = SqliteOutbox(workdir / "bench-outbox.db")
    with DossierClient(settings) as client:
        worker = Worker(outbox, DossierSink(client), batch_size=batch, lease_seconds=600)
        cpu0, mock0 = time.process_time(), process_cpu_seconds(mock_pid)
        started = time.perf_counter()
        for i in range(0, len(prepared), 10_000):
            outbox.enqueue_many(prepared[i : i + 10_000], now=time.time())
        enqueued = time.perf_counter()
        cpu1 = time.process_time()
        del prepared
        stats = worker.drain(concurrency=concurrency)
        elapsed = time.perf_counter() - started
        cpu2, mock2 = time.process_time(), process_cpu_seconds(mock_pid)
    status = outbox.status()
    outbox.close()
    return {
        "prepare_s": prepare_s,
        "enqueue_s": enqueued - started,
        "drain_s": elapsed - (enqueued - started),
        "elapsed_s": elapsed,
        "delivered": float(stats.delivered),
        "done": float(status.done),
        "dead": float(status.dead),
        "changes_per_s": status.done / elapsed,
        "enqueue_cpu_s": cpu1 - cpu0,
        "drain_cpu_s": cpu2 - cpu1,
        "mock_cpu_s": -1.0 if mock0 is None or mock2 is None else mock2 - mock0,
    }


def _pg_support() -> Any:
    """The throw-away PostgreSQL server the integration tests use."""
    path = Path(__file__).parents[1] / "tests" / "integration" / "outbox_pg_support.py"
    spec = importlib.util.spec_from_file_location("outbox_pg_support", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def postgres(dsn: str | None) -> Iterator[tuple[str | None, str]]:
    """(DSN or None, why not) — the given server, or one started here."""
    if dsn:
        yield dsn, ""
        return
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        yield None, "psycopg is not installed (pip install 'govlink[postgres]')"
        return
    support = _pg_support()
    try:
        server = support.postgres_server(fsync=True)
        started = server.__enter__()
    except (support.PostgresUnavailable, RuntimeError) as exc:
        yield None, str(exc)
        return
    try:
        yield started, ""
    finally:
        server.__exit__(None, None, None)


def run_postgres(
    base_url: str, total: int, dsn: str, workers: int, batch: int, keys: str
) -> dict[str, float]:
    """``total`` changes through one PostgreSQL outbox drained by ``workers`` workers."""
    settings = bench_settings(base_url, batch)
    prepared = list(changes(total, prefix="P47.99", keys=keys))
    with open_outbox(dsn=dsn) as outbox, outbox._transaction() as cur:
        cur.execute("TRUNCATE govlink_outbox, govlink_outbox_payload")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with open_outbox(dsn=dsn) as store, DossierClient(settings) as client:
                Worker(store, DossierSink(client), batch_size=batch, lease_seconds=600).drain(
                    max_idle_sleep=0.05
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    with open_outbox(dsn=dsn) as outbox:
        started = time.perf_counter()
        for i in range(0, len(prepared), 10_000):
            outbox.enqueue_many(prepared[i : i + 10_000], now=time.time())
        enqueued = time.perf_counter()
        del prepared
        threads = [threading.Thread(target=work) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        status = outbox.status()
    if errors:
        raise errors[0]
    return {
        "enqueue_s": enqueued - started,
        "drain_s": elapsed - (enqueued - started),
        "elapsed_s": elapsed,
        "done": float(status.done),
        "dead": float(status.dead),
        "changes_per_s": status.done / elapsed,
    }


def enqueue_costs(workdir: Path, dsn: str | None, count: int) -> dict[str, dict[str, float]]:
    """Microseconds per change: app update alone, update + enqueue_in, plain enqueue."""
    sample = list(changes(count, prefix="E47.99", keys="event"))
    codes = [(key,) for key in {c.key for c in sample}]
    results: dict[str, dict[str, float]] = {}

    def timed(step: Callable[[int], object]) -> float:
        started = time.perf_counter()
        for n in range(count):
            step(n)
        return (time.perf_counter() - started) / count * 1e6

    path = workdir / "app.db"
    with open_outbox(path) as outbox:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE ho_so (ma TEXT PRIMARY KEY, trang_thai INTEGER)")
        conn.executemany("INSERT INTO ho_so VALUES (?, 1)", codes)
        conn.commit()

        def update(n: int) -> None:
            with conn:
                conn.execute("UPDATE ho_so SET trang_thai = 2 WHERE ma = ?", (sample[n].key,))

        def update_and_enqueue(n: int) -> None:
            with conn:
                conn.execute("UPDATE ho_so SET trang_thai = 3 WHERE ma = ?", (sample[n].key,))
                enqueue_in(conn, sample[n])

        plain = [dataclasses.replace(c, idempotency_key="p" + c.idempotency_key) for c in sample]
        results["sqlite"] = {
            "update_only_us": timed(update),
            "update_plus_enqueue_in_us": timed(update_and_enqueue),
            "plain_enqueue_us": timed(lambda n: outbox.enqueue(plain[n], now=time.time())),
        }
        conn.close()
    if dsn:
        import psycopg

        with open_outbox(dsn=dsn) as outbox, psycopg.connect(dsn) as pg:
            with pg.transaction():
                pg.execute("CREATE TABLE IF NOT EXISTS ho_so (ma TEXT PRIMARY KEY, tt INT)")
                pg.execute("TRUNCATE ho_so")
                with pg.cursor() as cur:
                    cur.executemany("INSERT INTO ho_so VALUES (%s, 1)", codes)

            def pg_update(n: int) -> None:
                with pg.transaction():
                    pg.execute("UPDATE ho_so SET tt = 2 WHERE ma = %s", (sample[n].key,))

            def pg_update_and_enqueue(n: int) -> None:
                with pg.transaction():
                    pg.execute("UPDATE ho_so SET tt = 3 WHERE ma = %s", (sample[n].key,))
                    enqueue_in(pg, sample[n])

            results["postgres"] = {
                "update_only_us": timed(pg_update),
                "update_plus_enqueue_in_us": timed(pg_update_and_enqueue),
                "plain_enqueue_us": timed(lambda n: outbox.enqueue(plain[n], now=time.time())),
            }
    return results


def run_baseline(base_url: str, sample: int) -> float:
    """One request per change, a new TCP connection each time."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    def post(path: str, payload: dict[str, object]) -> dict[str, object]:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            body = json.dumps(payload, ensure_ascii=False).encode()
            # the portal wants the unit's dstcode header on the login and every call
            headers = {"Content-Type": "application/json", "dstcode": DSTCODE}
            conn.request("POST", path, body, headers)
            reply: dict[str, object] = json.loads(conn.getresponse().read())
            return reply
        finally:
            conn.close()

    login = post("/dvcqg/auth", {"username": "govlink-demo", "password": "demo-password"})
    session = login["session"]
    items = []
    for change in changes(sample):
        item = json.loads(change.payload_text())
        item["MaHoSo"] = "BASE-" + item["MaHoSo"]
        item["IdempotencyKey"] = change.idempotency_key
        items.append((change.kind.endswith("update"), item))
    started = time.perf_counter()
    for is_updating, item in items:
        reply = post(
            "/dvcqg/integration",
            {
                "session": session,
                "madonvi": "000.00.00.H47",
                "service": "DongBoHoSoMC",
                "isUpdating": "True" if is_updating else "False",
                "data": [item],
            },
        )
        if str(reply.get("error_code")) not in ("0", "00"):
            raise SystemExit(f"baseline request refused: {reply}")
    return len(items) / (time.perf_counter() - started)


def mock_summary(base_url: str) -> dict[str, object]:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=60)
    try:
        conn.request("GET", "/__admin/state")
        state: dict[str, object] = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    summary = state.get("dossiers")
    return summary if isinstance(summary, dict) else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--baseline-sample", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=1_000, help="changes per claim/request")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="batches in flight (2: the next batch is claimed and encoded while the mock "
        "works on the previous one; 1: strictly one request at a time)",
    )
    parser.add_argument(
        "--keys", choices=("event", "time"), default="event", help="idempotency keys to use"
    )
    parser.add_argument("--pg-dsn", help="PostgreSQL server to use (default: start one)")
    parser.add_argument("--pg-changes", type=int, default=50_000)
    parser.add_argument("--pg-workers", type=int, default=4)
    parser.add_argument("--enqueue-sample", type=int, default=2_000)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    proc, base_url = start_mock()
    pg_result: dict[str, float] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="govlink-bench-") as tmp:
            result = run_outbox(
                base_url,
                args.changes,
                Path(tmp),
                args.concurrency,
                args.batch_size,
                proc.pid,
                args.keys,
            )
            sqlite_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            with postgres(args.pg_dsn) as (dsn, why_not):
                if dsn and args.pg_changes > 0:
                    pg_result = run_postgres(
                        base_url, args.pg_changes, dsn, args.pg_workers, args.batch_size, args.keys
                    )
                costs = enqueue_costs(Path(tmp), dsn, args.enqueue_sample)
        summary = mock_summary(base_url)
        baseline = run_baseline(base_url, args.baseline_sample)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    mock_peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_mb = peak_kb / 1024
    speedup = result["changes_per_s"] / baseline if baseline else float("inf")

    print(
        f"machine: {os.cpu_count()} CPU(s), load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after (other work on the machine slows both sides); "
        f"mock in a subprocess; SQLite outbox (WAL, synchronous=FULL); "
        f"{args.concurrency} batch(es) in flight"
    )
    print(
        f"prepared {args.changes:,} changes (validate + encode) in {result['prepare_s']:.2f} s "
        "(outside the timed window)"
    )
    print(
        f"outbox: enqueue {result['enqueue_s']:.2f} s + drain {result['drain_s']:.2f} s = "
        f"{result['elapsed_s']:.2f} s for {int(result['done']):,} changes "
        f"({int(result['dead'])} dead) -> {result['changes_per_s']:,.0f} changes/s"
    )
    mock_cpu = f", mock {result['mock_cpu_s']:.2f} s" if result["mock_cpu_s"] >= 0 else ""
    print(
        f"CPU time in that window (steadier than wall clock on a busy machine): benchmark "
        f"process {result['enqueue_cpu_s']:.2f} s enqueue + {result['drain_cpu_s']:.2f} s "
        f"drain{mock_cpu}"
    )
    applied = summary.get("changes_applied")
    print(
        f"mock: {applied} changes applied, "
        f"{summary.get('applied_more_than_once')} applied more than once, "
        f"{summary.get('duplicate_deliveries')} duplicate deliveries ignored, "
        f"{summary.get('rejected_items')} refused"
    )
    if pg_result is not None:
        print(
            f"PostgreSQL (fsync on), {args.pg_workers} workers sharing one outbox: enqueue "
            f"{pg_result['enqueue_s']:.2f} s + drain {pg_result['drain_s']:.2f} s = "
            f"{pg_result['elapsed_s']:.2f} s for {int(pg_result['done']):,} changes "
            f"({int(pg_result['dead'])} dead) -> {pg_result['changes_per_s']:,.0f} changes/s"
        )
    else:
        print(f"PostgreSQL: not measured ({why_not or 'disabled with --pg-changes 0'})")
    for backend, cost in costs.items():
        print(
            f"enqueue cost on {backend}, one commit per change ({args.enqueue_sample:,} "
            f"changes): application update alone {cost['update_only_us']:,.0f} µs; update + "
            f"enqueue_in in the same transaction {cost['update_plus_enqueue_in_us']:,.0f} µs; "
            f"plain enqueue in the outbox's own transaction {cost['plain_enqueue_us']:,.0f} µs"
        )
    described = "SHA-256 of the event, as push derives them" if args.keys == "event" else "time"
    print(f"idempotency keys: {args.keys} ({described})")
    print(
        f"naive baseline (one request per change, new TCP connection each): measured on a "
        f"sample of {args.baseline_sample:,} changes and scaled -> {baseline:,.0f} changes/s"
    )
    print(f"speed-up over the baseline: {speedup:.1f}x")
    print(
        f"peak RSS: {peak_mb:.0f} MB (benchmark process: outbox + client; "
        f"{sqlite_peak_mb:.0f} MB after the SQLite run); "
        f"mock subprocess {mock_peak_kb / 1024:.0f} MB"
    )
    expected = args.changes + (0 if pg_result is None else int(pg_result["done"]))
    ok = applied == expected and summary.get("applied_more_than_once") == 0
    if pg_result is not None and int(pg_result["done"]) != args.pg_changes:
        ok = False
    if not ok:
        print("WARNING: the mock did not apply every change exactly once", file=sys.stderr)
    print(
        json.dumps(
            {
                "changes_per_s": round(result["changes_per_s"], 1),
                "baseline_per_s": round(baseline, 1),
                "peak_rss_mb": round(peak_mb, 1),
                "postgres_4_workers_per_s": None
                if pg_result is None
                else round(pg_result["changes_per_s"], 1),
                "enqueue_cost_us": {
                    backend: {k: round(v, 1) for k, v in cost.items()}
                    for backend, cost in costs.items()
                },
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
