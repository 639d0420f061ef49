"""The SQLite outbox drained to the DVCQG mock: faults, exactly once, order, dead letters."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from govlink.core.clock import VN_TZ
from govlink.dossiers import (
    Dossier,
    DossierClient,
    DossierSink,
    IllegalTransitionError,
    ProgressRecord,
    enqueue_dossiers,
    enqueue_progress,
)
from govlink.sync import SqliteOutbox, Worker
from govlink.testing._handle import MockHandle

START = datetime(2026, 3, 2, 8, tzinfo=VN_TZ)


def dossier(n: int, status: int, procedure: str = "1.001193") -> Dossier:
    return Dossier(
        ma_ho_so=f"H47-{n:04d}", procedure_code=procedure, status=status, received_at=START
    )


def received(mock: MockHandle) -> dict[str, Any]:
    reply = httpx.get(f"{mock.base_url}/dvcqg/_mock/received", timeout=30)
    reply.raise_for_status()
    return reply.json()


def fast_settings(mock: MockHandle) -> Any:
    return mock.settings(
        http={"max_retries": 1, "backoff_initial": 0.005, "backoff_max": 0.02, "timeout": 10}
    )


@pytest.fixture
def outbox(tmp_path: Path) -> SqliteOutbox:
    store = SqliteOutbox(tmp_path / "outbox.db")
    yield store
    store.close()


def day_of_changes(outbox: SqliteOutbox, dossiers: int) -> list[str]:
    """Per dossier: create (1), update (2), a progress step, update (4). Keys in order."""
    order: list[str] = []
    for n in range(dossiers):
        keys = [f"{n}-create", f"{n}-received", f"{n}-step", f"{n}-processing"]
        enqueue_dossiers(outbox, [dossier(n, 1)], is_updating=False, idempotency_keys=keys[:1])
        enqueue_dossiers(outbox, [dossier(n, 2)], is_updating=True, idempotency_keys=keys[1:2])
        enqueue_progress(
            outbox,
            [
                ProgressRecord(
                    ma_ho_so=f"H47-{n:04d}",
                    handler="Cán bộ một cửa",
                    handled_at=START + timedelta(hours=1),
                    status=2,
                )
            ],
            idempotency_keys=keys[2:3],
        )
        enqueue_dossiers(outbox, [dossier(n, 4)], is_updating=True, idempotency_keys=keys[3:])
        order += keys
    return order


def test_thirty_percent_faults_still_apply_every_change_once_in_order(
    govlink_mock: MockHandle, outbox: SqliteOutbox
) -> None:
    expected = day_of_changes(outbox, 60)
    # 30 % of the calls fail: before the mock runs (503, reset) or after it applied the
    # batch (garbled reply) — the latter forces redeliveries the mock must recognise.
    govlink_mock.set_fault(platform="dossiers", status=503, probability=0.10, seed=1)
    govlink_mock.set_fault(platform="dossiers", reset_connection=True, probability=0.11, seed=2)
    govlink_mock.set_fault(platform="dossiers", malformed_body=True, probability=0.125, seed=3)
    with DossierClient(fast_settings(govlink_mock)) as client:
        client.core.chunk_size = 17
        worker = Worker(
            outbox,
            DossierSink(client),
            batch_size=40,
            backoff_initial=0.01,
            backoff_max=0.05,
            max_attempts=50,
        )
        stats = worker.drain(max_seconds=60)
    status = outbox.status()
    assert (status.done, status.dead, status.pending) == (240, 0, 0)
    assert stats.retried > 0  # the faults did bite
    fired = sum(f["fired"] for f in govlink_mock.faults())
    assert fired > 0
    govlink_mock.clear_faults()  # the faults would hit the inspection call too
    got = received(govlink_mock)
    assert set(got["deliveries"]) == set(expected)  # nothing lost
    assert got["summary"]["applied_more_than_once"] == 0  # nothing applied twice
    assert got["summary"]["duplicate_deliveries"] > 0  # ... although some were resent
    for n in range(60):  # order kept per dossier
        assert got["history"][f"H47-{n:04d}"] == [k for k in expected if k.startswith(f"{n}-")]


def test_refused_changes_are_dead_lettered_and_block_their_dossier(
    govlink_mock: MockHandle, outbox: SqliteOutbox
) -> None:
    enqueue_dossiers(outbox, [dossier(1, 1, procedure="9.999999")], is_updating=False)
    enqueue_dossiers(outbox, [dossier(1, 2)], is_updating=True)
    enqueue_dossiers(outbox, [dossier(2, 1)], is_updating=False)
    with DossierClient(fast_settings(govlink_mock)) as client:
        worker = Worker(outbox, DossierSink(client), backoff_initial=0.01)
        worker.drain()
        [dead] = outbox.items("dead")
        assert dead.key == "H47-0001"
        assert dead.last_error is not None
        assert "[12]" in dead.last_error
        assert "9.999999" in dead.last_error
        status = outbox.status()
        assert (status.done, status.dead, status.blocked) == (1, 1, 1)
        # An operator decides the bad creation is not worth fixing: discard it.
        outbox.discard([dead.id], now=0.0)
        worker.drain()
    assert outbox.status().done == 2
    assert received(govlink_mock)["history"]["H47-0001"] != []


def test_illegal_transitions_are_refused_at_enqueue(outbox: SqliteOutbox) -> None:
    enqueue_dossiers(outbox, [dossier(1, 10)], is_updating=False)
    with pytest.raises(IllegalTransitionError, match="10 Đã trả kết quả"):
        enqueue_dossiers(outbox, [dossier(1, 4)], is_updating=True)
    assert outbox.status().pending == 1  # nothing was stored
    enqueue_dossiers(outbox, [dossier(1, 4)], is_updating=True, force=True)
    assert outbox.status().pending == 2


def test_login_refused_stops_the_worker_without_losing_anything(
    govlink_mock: MockHandle, outbox: SqliteOutbox
) -> None:
    from govlink.core.errors import AuthenticationError

    enqueue_dossiers(outbox, [dossier(1, 1)], is_updating=False)
    settings = govlink_mock.settings(dossiers={"auth": {"password": "wrong"}})
    with DossierClient(settings) as client, pytest.raises(AuthenticationError, match="refused"):
        Worker(outbox, DossierSink(client)).drain()
    assert outbox.status().pending == 1
