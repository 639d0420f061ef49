"""Benchmark: reconcile a province's register of dossiers with the local DVCQG mock.

What is measured (one run, same machine, same mock):

* **reconcile** — N dossiers (default 100,000) are first created on the mock (not
  timed), a JSON Lines export of them is written with ~5 % of statuses changed, then
  the timed window runs :func:`govlink.dossiers.reconcile` over the export
  as ``govlink dossiers reconcile`` does (read, validate, look up with bounded
  concurrency, classify), counting every class.
* **baseline** — one sequential lookup at a time (the same client, concurrency 1) on
  a sample of the same dossiers, scaled to dossiers/s. The output says so.

Both runs go through the same injected network latency (``--latency-ms``, default
50 ms, a mock latency fault), because a real portal is tens of milliseconds away and
hiding that latency is what bounded concurrency is for; on loopback without it, both
would measure the mock's CPU instead. The mock runs in a subprocess
(``python -m mock_servers``), so client and mock each get a core.

The last line of output is one JSON object:
``{"dossiers_per_s": …, "baseline_per_s": …, "peak_rss_mb": …}``.

Run: ``.venv/bin/python benchmarks/bench_reconcile.py [--dossiers N] [--baseline-sample M]``
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from _mockserver import start_mock

from govlink.cli.reconcile import local_dossiers
from govlink.core.clock import VN_TZ
from govlink.core.config import GovLinkSettings, mock_profile
from govlink.dossiers import Dossier, DossierClient, reconcile

START = datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ)


def dossier(n: int, status: int) -> Dossier:
    return Dossier(
        ma_ho_so=f"BR-{n:07d}",
        procedure_code="1.001193",
        status=status,
        received_at=START + timedelta(minutes=n % 10_000),
        due_at=START + timedelta(days=400),
        owner_name="NGUYỄN VĂN AN",
    )


def seed(settings: GovLinkSettings, total: int) -> None:
    """Create every dossier on the mock at status 4, in chunks (not timed)."""
    with DossierClient(settings) as client:
        chunk: list[Dossier] = []
        for n in range(total):
            chunk.append(dossier(n, 4))
            if len(chunk) == 100:
                client.sync_dossiers(chunk, is_updating=False, force=True)
                chunk = []
        if chunk:
            client.sync_dossiers(chunk, is_updating=False, force=True)


def write_export(path: Path, total: int) -> None:
    """The province's register: 1 in 20 dossiers has moved on to status 5 locally."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(total):
            wire = dossier(n, 5 if n % 20 == 0 else 4).to_wire()
            out.write(json.dumps({k: v for k, v in wire.items() if v not in (None, "")}) + "\n")


def codes(total: int, sample: int) -> Iterator[str]:
    step = max(1, total // sample)
    for n in range(0, total, step):
        yield f"BR-{n:07d}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--baseline-sample", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()

    proc, base_url = start_mock()
    try:
        settings = GovLinkSettings(**mock_profile(urlsplit(base_url).port or 80))
        settings.http.timeout = 120.0
        settings.http.max_connections = max(args.concurrency, 10)
        print(f"seeding {args.dossiers} dossiers on the mock …", flush=True)
        t0 = time.perf_counter()
        seed(settings, args.dossiers)
        print(f"  seeded in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory() as tmp:
            export = Path(tmp) / "register.jsonl"
            write_export(export, args.dossiers)
            httpx.post(
                f"{base_url}/__admin/faults",
                json={"platform": "dossiers", "latency_ms": args.latency_ms},
                timeout=10,
            ).raise_for_status()

            # baseline: one lookup at a time, on a sample, scaled
            sample = list(codes(args.dossiers, args.baseline_sample))
            with DossierClient(settings) as client:
                client.get(sample[0])  # connect and log in outside the window
                t0 = time.perf_counter()
                for code in sample:
                    client.get(code)
                baseline_s = time.perf_counter() - t0
            baseline_per_s = len(sample) / baseline_s

            # reconcile: the whole export, as the CLI does it
            counts: Counter[str] = Counter()
            with DossierClient(settings) as client:
                client.get(sample[0])
                t0 = time.perf_counter()
                for entry in reconcile(
                    client, local_dossiers(export), concurrency=args.concurrency
                ):
                    counts[entry.kind.value] += 1
                elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    total = sum(counts.values())
    rate = total / elapsed
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    expected_diff = len(range(0, args.dossiers, 20))
    print(f"classes: {dict(counts)} (expected {expected_diff} status_differs)")
    print(
        f"reconcile: {total} dossiers in {elapsed:.1f} s = {rate:,.0f}/s "
        f"(concurrency {args.concurrency}, {args.latency_ms:g} ms injected latency)"
    )
    print(
        f"baseline: one sequential lookup at a time, {len(sample)} sampled and scaled: "
        f"{baseline_per_s:,.0f}/s -> {rate / baseline_per_s:.1f}x"
    )
    print(f"peak RSS of the benchmark process: {peak_mb:.0f} MB")
    if total != args.dossiers or counts["status_differs"] != expected_diff:
        print("ERROR: reconcile did not classify every dossier as expected", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "dossiers_per_s": round(rate, 1),
                "baseline_per_s": round(baseline_per_s, 1),
                "peak_rss_mb": round(peak_mb, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
