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

The mock's own verdict is checked at the end: every change applied exactly once.
The last line of output is one JSON object with the three headline figures.

Run: ``.venv/bin/python benchmarks/bench_sync.py [--changes N] [--baseline-sample M]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from govlink.core.clock import VN_TZ
from govlink.core.config import GovLinkSettings, mock_profile
from govlink.dossiers import Dossier, DossierClient, DossierSink, dossier_change
from govlink.sync import Change, SqliteOutbox, Worker

STATUSES = (1, 2, 4, 9, 10)
PROCEDURE = "1.001193"


def start_mock() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_servers", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise SystemExit("the mock server did not start")
    return proc, json.loads(line)["base_url"]


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of another process so far (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def changes(total: int) -> Iterator[Change]:
    """Status changes in "time order": every dossier's step k before any step k+1."""
    dossiers = max(1, total // len(STATUSES))
    start = datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ)
    made = 0
    for step, status in enumerate(STATUSES):
        for n in range(dossiers):
            if made >= total:
                return
            dossier = Dossier(
                ma_ho_so=f"H47.99-260302-{n:06d}",
                procedure_code=PROCEDURE,
                procedure_name="Đăng ký khai sinh",
                status=status,
                received_at=start + timedelta(minutes=n % 600),
                due_at=start + timedelta(days=5),
                owner_name="NGUYỄN VĂN AN",
                applicant_type=1,
                handling_unit="UBND xã Tân An",
            )
            yield dossier_change(dossier, is_updating=step > 0)
            made += 1


def run_outbox(
    base_url: str, total: int, workdir: Path, concurrency: int, batch: int, mock_pid: int
) -> dict[str, float]:
    settings = GovLinkSettings(**mock_profile(urlsplit(base_url).port or 80))
    settings.dossiers.options.update({"chunk_size": batch})
    settings.http.timeout = 120.0

    t0 = time.perf_counter()
    prepared = list(changes(total))
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


def run_baseline(base_url: str, sample: int) -> float:
    """One request per change, a new TCP connection each time."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    def post(path: str, payload: dict[str, object]) -> dict[str, object]:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            body = json.dumps(payload, ensure_ascii=False).encode()
            conn.request("POST", path, body, {"Content-Type": "application/json"})
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
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    proc, base_url = start_mock()
    try:
        with tempfile.TemporaryDirectory(prefix="govlink-bench-") as tmp:
            result = run_outbox(
                base_url, args.changes, Path(tmp), args.concurrency, args.batch_size, proc.pid
            )
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
    print(
        f"naive baseline (one request per change, new TCP connection each): measured on a "
        f"sample of {args.baseline_sample:,} changes and scaled -> {baseline:,.0f} changes/s"
    )
    print(f"speed-up over the baseline: {speedup:.1f}x")
    print(
        f"peak RSS: {peak_mb:.0f} MB (benchmark process: outbox + client); "
        f"mock subprocess {mock_peak_kb / 1024:.0f} MB"
    )
    ok = applied == args.changes and summary.get("applied_more_than_once") == 0
    if not ok:
        print("WARNING: the mock did not apply every change exactly once", file=sys.stderr)
    print(
        json.dumps(
            {
                "changes_per_s": round(result["changes_per_s"], 1),
                "baseline_per_s": round(baseline, 1),
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
