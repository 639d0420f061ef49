"""Chaos: ``kill -9`` the outbox worker again and again under 30 % faults.

The outbox is filled with a day of dossier changes; ``govlink outbox drain`` runs
as a separate process against the DVCQG mock, which fails 30 % of the calls
(before handling them, or after — then the reply is garbled and the worker must
resend). The test SIGKILLs the worker several times while it is delivering, then
lets a last one finish, and checks what the mock applied: every change, exactly
once per idempotency key, and in order for every dossier.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from govlink.core.clock import VN_TZ
from govlink.dossiers import Dossier, ProgressRecord, dossier_change, progress_change
from govlink.sync import SqliteOutbox
from govlink.testing import MockHandle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _load_pg_support() -> ModuleType:
    """The PostgreSQL server fixture the integration tests use (one machinery)."""
    path = Path(__file__).parents[1] / "integration" / "outbox_pg_support.py"
    spec = importlib.util.spec_from_file_location("outbox_pg_support_e2e", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pg_dsn = _load_pg_support().pg_dsn

DOSSIERS = 100
START = datetime(2026, 3, 2, 8, tzinfo=VN_TZ)


def _govlink() -> list[str]:
    script = Path(sys.executable).parent / "govlink"
    return [str(script)] if script.exists() else [sys.executable, "-m", "govlink.cli.app"]


def _fill(path: Path) -> list[tuple[str, str]]:
    """Four changes per dossier, interleaved like a real day; (MaHoSo, key) in order."""
    changes = []
    for step in range(4):
        for n in range(DOSSIERS):
            code = f"H47.99-{n:04d}"
            if step == 2:
                change = progress_change(
                    ProgressRecord(
                        ma_ho_so=code,
                        handler="Cán bộ một cửa",
                        handled_at=START + timedelta(hours=1),
                        status=2,
                    )
                )
            else:
                status = (1, 2, None, 4)[step]
                change = dossier_change(
                    Dossier(
                        ma_ho_so=code, procedure_code="1.001193", status=status, received_at=START
                    ),
                    is_updating=step > 0,
                )
            changes.append(change)
    with SqliteOutbox(path) as outbox:
        assert outbox.enqueue_many(changes, now=time.time()) == len(changes)
    return [(c.key, c.idempotency_key) for c in changes]


def _done(path: Path) -> int:
    with sqlite3.connect(path, timeout=30) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM govlink_outbox WHERE state = 'done'").fetchone()[0]
        )


def test_kill_minus_nine_mid_drain_loses_nothing_and_applies_once_in_order(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.db"
    expected = _fill(outbox)
    total = len(expected)
    for fault in (
        {"status": 503, "probability": 0.10, "seed": 11},
        {"reset_connection": True, "probability": 0.11, "seed": 12},
        {"malformed_body": True, "probability": 0.125, "seed": 13},  # after the mock applied
        # Whatever the faults above let through is slowed a little, so that a drain
        # takes seconds, not a fraction of one, and the kills below land mid-drain on
        # any machine (first fault that fires wins, so this one comes last).
        {"latency_ms": 25},
    ):
        govlink_mock.set_fault(platform="dossiers", **fault)

    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env |= {
        "GOVLINK_DOSSIERS__BASE_URL": govlink_mock.url("dossiers"),
        "GOVLINK_HTTP__MAX_RETRIES": "1",
        "GOVLINK_HTTP__BACKOFF_INITIAL": "0.01",
        "GOVLINK_HTTP__BACKOFF_MAX": "0.05",
        "GOVLINK_HTTP__TIMEOUT": "5",
    }
    command = [
        *_govlink(), "outbox", "drain", "--outbox", str(outbox), "--batch-size", "8",
        "--lease-seconds", "1", "--backoff", "0.02", "--max-attempts", "100", "--json",
    ]  # fmt: skip
    rng = random.Random(5)
    kills = 0
    started = time.monotonic()
    while kills < 5 and time.monotonic() - started < 35:
        before = _done(outbox)
        worker = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # Wait until this worker is visibly delivering, then kill it at a random moment.
        while worker.poll() is None and _done(outbox) <= before:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.15))
        if worker.poll() is not None:
            break  # it finished before we could kill it
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        if _done(outbox) < total:
            kills += 1
    assert kills >= 3, f"only {kills} kill(s) landed mid-drain; the test proves nothing"

    final = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert final.returncode == 0, final.stderr.decode(errors="replace")
    assert _done(outbox) == total

    govlink_mock.clear_faults()  # the faults would hit the inspection call too
    received = httpx.get(f"{govlink_mock.url('dossiers')}/_mock/received", timeout=30).json()
    deliveries, history = received["deliveries"], received["history"]
    assert set(deliveries) == {key for _code, key in expected}  # nothing lost
    assert received["summary"]["applied_more_than_once"] == 0  # nothing applied twice
    assert received["summary"]["duplicate_deliveries"] > 0  # resent, recognised, ignored
    for n in range(DOSSIERS):  # order kept per dossier
        code = f"H47.99-{n:04d}"
        assert history[code] == [key for c, key in expected if c == code]
    assert time.monotonic() - started < 60


PRODUCER = """
import sys, time
from datetime import datetime, timedelta
from govlink.core.clock import VN_TZ
from govlink.dossiers import ProgressRecord, enqueue_progress
from govlink.sync import open_outbox
target, name, dossiers = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = datetime(2026, 3, 2, 8, tzinfo=VN_TZ)
store = open_outbox(dsn=target) if "=" in target else open_outbox(target)
for step in range(3):
    for n in range(dossiers):
        record = ProgressRecord(
            ma_ho_so=f"H47.98-{n:04d}", handler=f"producer {name}", status=4,
            handled_at=start + timedelta(minutes=step), content=f"{name}{step}",
        )
        enqueue_progress(store, [record])
    time.sleep(0.05)
store.close()
"""


def _rows(target: str) -> list[tuple[str, str, str]]:
    """(state, MaHoSo, idempotency key) of every change, in id order."""
    from govlink.sync import open_outbox

    store = open_outbox(dsn=target) if "=" in target else open_outbox(target)
    try:
        items = store.items(limit=100_000)
    finally:
        store.close()
    return [(i.state, i.key, i.idempotency_key) for i in items]


@pytest.fixture(params=["sqlite", "postgres"])
def outbox_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "outbox.db")
    request.applymarker(pytest.mark.postgres)
    dsn = str(request.getfixturevalue("pg_dsn"))
    from govlink.sync import open_outbox

    with open_outbox(dsn=dsn) as store, store._transaction() as cur:  # type: ignore[attr-defined]
        cur.execute("TRUNCATE govlink_outbox, govlink_outbox_payload")
    return dsn


def test_two_producers_and_leases_shorter_than_a_delivery_keep_order(
    govlink_mock: MockHandle, tmp_path: Path, outbox_target: str
) -> None:
    """Two producers race on the same dossiers while two workers, one of them
    killed and restarted, deliver with a lease shorter than one (slowed) request:
    the heartbeat keeps the lease, and what the mock applied is, per dossier,
    exactly the outbox order — no older change after a newer one, none twice."""
    dossiers = 12
    from govlink.sync import open_outbox

    store = open_outbox(dsn=outbox_target) if "=" in outbox_target else open_outbox(outbox_target)
    with store:
        created = [
            Dossier(
                ma_ho_so=f"H47.98-{n:04d}", procedure_code="1.001193", status=1, received_at=START
            )
            for n in range(dossiers)
        ]
        store.enqueue_many([dossier_change(d, is_updating=False) for d in created], now=time.time())
    govlink_mock.set_fault(platform="dossiers", status=503, probability=0.1, seed=21)
    govlink_mock.set_fault(platform="dossiers", latency_ms=700)  # > --lease-seconds 0.5
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env |= {
        "GOVLINK_DOSSIERS__BASE_URL": govlink_mock.url("dossiers"),
        "GOVLINK_HTTP__MAX_RETRIES": "0",
        "GOVLINK_HTTP__TIMEOUT": "10",
    }
    where = ["--outbox-dsn", outbox_target] if "=" in outbox_target else ["--outbox", outbox_target]
    drain = [
        *_govlink(), "outbox", "drain", *where, "--batch-size", "6", "--lease-seconds", "0.5",
        "--backoff", "0.02", "--max-attempts", "100", "--no-wait", "--json",
    ]  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    try:
        producers = [
            subprocess.Popen([sys.executable, "-c", PRODUCER, outbox_target, name, str(dossiers)])
            for name in ("A", "B")
        ]
        procs += producers
        time.sleep(0.5)
        workers = [
            subprocess.Popen(drain, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL)
            for _ in range(2)
        ]
        procs += workers
        time.sleep(2.0)
        workers[0].send_signal(signal.SIGKILL)  # mid-delivery: its lease must expire
        workers[0].wait(timeout=10)
        assert [p.wait(timeout=60) for p in producers] == [0, 0]
        deadline = time.monotonic() + 90
        while any(state != "done" for state, _k, _i in _rows(outbox_target)):
            assert time.monotonic() < deadline, "the outbox did not drain"
            if workers[-1].poll() is not None:
                workers.append(
                    subprocess.Popen(drain, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL)
                )
                procs.append(workers[-1])
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    rows = _rows(outbox_target)
    assert len(rows) == (1 + 2 * 3) * dossiers
    govlink_mock.clear_faults()
    received = httpx.get(f"{govlink_mock.url('dossiers')}/_mock/received", timeout=30).json()
    assert received["summary"]["applied_more_than_once"] == 0
    for n in range(dossiers):
        code = f"H47.98-{n:04d}"
        assert received["history"][code] == [key for _s, c, key in rows if c == code]
