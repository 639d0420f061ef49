"""``govlink outbox worker`` as an operator runs it: a process that delivers as
changes come, reports health and metrics, logs JSON, and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import outbox_pg_support
import pytest

from govlink.core.clock import VN_TZ
from govlink.dossiers import Dossier, enqueue_dossiers
from govlink.sync import open_outbox
from govlink.testing import MockHandle

pytestmark = pytest.mark.slow
pg_dsn = outbox_pg_support.pg_dsn


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def dossiers(prefix: str, count: int) -> list[Dossier]:
    return [
        Dossier(
            ma_ho_so=f"{prefix}-{n}",
            procedure_code="1.001193",
            status=1,
            received_at=datetime(2026, 3, 2, 8, tzinfo=VN_TZ),
        )
        for n in range(count)
    ]


@pytest.fixture
def service(
    govlink_mock: MockHandle, tmp_path: Path
) -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*outbox: str) -> tuple[subprocess.Popen[str], str]:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
        env["GOVLINK_DOSSIERS__BASE_URL"] = govlink_mock.url("dossiers")
        proc = subprocess.Popen(
            [sys.executable, "-m", "govlink.cli.app", "outbox", "worker", *outbox,
             "--http", f"127.0.0.1:{port}", "--poll-max", "0.5", "--lease-seconds", "5"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        started.append(proc)
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _until(up)
        return proc, base

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _metric(base: str, name: str) -> float:
    for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def _stop(proc: subprocess.Popen[str]) -> list[dict[str, object]]:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert proc.stderr is not None
    return [json.loads(line) for line in proc.stderr.read().splitlines() if line.startswith("{")]


def test_sqlite_service_delivers_as_changes_come(
    service: Callable[..., tuple[subprocess.Popen[str], str]], tmp_path: Path
) -> None:
    path = tmp_path / "outbox.db"
    with open_outbox(path) as outbox:
        enqueue_dossiers(outbox, dossiers("S", 20), is_updating=False)
        proc, base = service("--outbox", str(path))
        _until(lambda: outbox.status().done == 20)
        enqueue_dossiers(outbox, dossiers("T", 5), is_updating=False)  # while it runs
        _until(lambda: outbox.status().done == 25)
        assert _metric(base, "govlink_outbox_deliveries_total") == 25
        assert _metric(base, 'govlink_outbox_changes{state="pending"}') == 0
        assert _metric(base, "govlink_outbox_oldest_pending_age_seconds") == 0
        health = httpx.get(f"{base}/healthz", timeout=5).json()
        assert health["status"] == "ok"
        events = _stop(proc)
        assert outbox.status().inflight == 0
    kinds = [e.get("event") for e in events]
    assert kinds.index("started") < kinds.index("batch")
    assert kinds[-1] == "stopped"


@pytest.mark.postgres
def test_postgres_services_wake_on_notify_and_share_the_outbox(
    service: Callable[..., tuple[subprocess.Popen[str], str]], pg_dsn: str
) -> None:
    with open_outbox(dsn=pg_dsn) as outbox:
        with outbox._transaction() as cur:
            cur.execute("TRUNCATE govlink_outbox, govlink_outbox_payload")
        first, _base = service("--outbox-dsn", pg_dsn)
        second, _ = service("--outbox-dsn", pg_dsn)
        started = time.monotonic()
        enqueue_dossiers(outbox, dossiers("P", 30), is_updating=False)
        _until(lambda: outbox.status().done == 30)
        assert time.monotonic() - started < 10
        events = _stop(first) + _stop(second)
    batches = [e for e in events if e.get("event") == "batch"]
    delivered = sum(int(str(e["delivered"])) for e in batches)
    assert delivered == 30  # shared, none delivered twice


def test_sigterm_hands_a_drains_batch_back_at_once(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.db"
    with open_outbox(path) as outbox:
        enqueue_dossiers(outbox, dossiers("K", 10), is_updating=False)
    govlink_mock.set_fault(platform="dossiers", latency_ms=5000)  # the batch stays in flight
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env["GOVLINK_DOSSIERS__BASE_URL"] = govlink_mock.url("dossiers")
    proc = subprocess.Popen(
        [sys.executable, "-m", "govlink.cli.app", "outbox", "drain", "--outbox", str(path),
         "--lease-seconds", "300", "--json"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        with open_outbox(path) as outbox:
            _until(lambda: outbox.status().inflight == 10)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 130  # like Ctrl-C
            status = outbox.status()
        assert (status.inflight, status.pending) == (0, 10)  # not leased for 300 s
    finally:
        govlink_mock.clear_faults()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
