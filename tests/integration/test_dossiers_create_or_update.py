"""Create-or-update through the durable outbox, under faults, against the mock.

A vendor's export often says "create" for a dossier the portal already has (it was
pushed by hand, or by a previous system) and "update" for one it never received.
The mock refuses both like the real portal ([TD]: "3"/"-3" "đã tồn tại"); the
outbox must deliver every change anyway instead of dead-lettering it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from govlink.core.clock import VN_TZ
from govlink.dossiers import Dossier, DossierClient, DossierSink, enqueue_dossiers
from govlink.sync import SqliteOutbox, Worker
from govlink.testing._handle import MockHandle

START = datetime(2026, 3, 2, 8, tzinfo=VN_TZ)


def dossier(n: int, status: int) -> Dossier:
    return Dossier(
        ma_ho_so=f"H47-CU-{n:03d}", procedure_code="1.001193", status=status, received_at=START
    )


@pytest.fixture
def outbox(tmp_path: Path) -> SqliteOutbox:
    store = SqliteOutbox(tmp_path / "outbox.db")
    yield store
    store.close()


def statuses(mock: MockHandle) -> dict[str, Any]:
    reply = httpx.get(f"{mock.base_url}/dvcqg/_mock/received", timeout=30)
    reply.raise_for_status()
    history: dict[str, Any] = reply.json()["history"]
    return history


def test_wrong_create_or_update_flags_are_delivered_under_faults(
    govlink_mock: MockHandle, outbox: SqliteOutbox
) -> None:
    settings = govlink_mock.settings(
        http={"max_retries": 1, "backoff_initial": 0.005, "backoff_max": 0.02, "timeout": 10}
    )
    with DossierClient(settings) as client:  # the portal already has the even ones
        client.sync_dossiers([dossier(n, 1) for n in range(0, 40, 2)], is_updating=False)
    # The export says "create" for all 40 and then "update" for 40 more that are new.
    enqueue_dossiers(outbox, [dossier(n, 2) for n in range(40)], is_updating=False)
    enqueue_dossiers(outbox, [dossier(n, 1) for n in range(40, 80)], is_updating=True)
    govlink_mock.set_fault(platform="dossiers", status=503, probability=0.15, seed=7)
    govlink_mock.set_fault(platform="dossiers", reset_connection=True, probability=0.1, seed=8)
    govlink_mock.set_fault(platform="dossiers", malformed_body=True, probability=0.1, seed=9)
    with DossierClient(settings) as client:
        client.core.chunk_size = 7
        worker = Worker(
            outbox,
            DossierSink(client),
            batch_size=20,
            backoff_initial=0.01,
            backoff_max=0.05,
            max_attempts=60,
        )
        stats = worker.drain(max_seconds=90)
    status = outbox.status()
    assert (status.done, status.dead, status.pending) == (80, 0, 0)
    assert stats.retried > 0  # the faults did bite
    govlink_mock.clear_faults()
    summary = govlink_mock.state()["dossiers"]
    assert summary["dossiers"] == 80
    assert summary["applied_more_than_once"] == 0
    history = statuses(govlink_mock)
    assert len(history["H47-CU-000"]) == 2  # the direct create, then the re-sent update
    assert len(history["H47-CU-041"]) == 1  # the "update" that became a create
