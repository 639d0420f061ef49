"""Dossier changes through the outbox: enqueue checks and the sink's per-item verdicts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest
from _dvcqg_fake import FakePortal, served

from govlink.core.clock import VN_TZ
from govlink.core.config import GovLinkSettings
from govlink.core.errors import PlatformError, TransportError, ValidationError
from govlink.dossiers import (
    Dossier,
    DossierClient,
    DossierSink,
    IllegalTransitionError,
    ProgressRecord,
    enqueue_dossiers,
    enqueue_progress,
)
from govlink.dossiers._outbox import last_queued_status
from govlink.sync import Change, LeaseLostError, SqliteOutbox


def dossier(code: str, status: int) -> Dossier:
    return Dossier(
        ma_ho_so=code,
        procedure_code="1.001193",
        status=status,
        received_at=datetime(2026, 3, 2, 8, tzinfo=VN_TZ),
    )


@pytest.fixture
def outbox(tmp_path: Path) -> SqliteOutbox:
    store = SqliteOutbox(tmp_path / "o.db")
    yield store
    store.close()


def test_enqueue_checks_transitions_against_what_is_queued(outbox: SqliteOutbox) -> None:
    assert enqueue_dossiers(outbox, [dossier("A", 1), dossier("A", 2)], is_updating=False) == 2
    assert last_queued_status(outbox, "A") == 2
    with pytest.raises(IllegalTransitionError, match=r"4 Đang xử lý .* → 10"):
        enqueue_dossiers(outbox, [dossier("A", 4), dossier("A", 10)], is_updating=True)
    assert outbox.status().pending == 2  # all or nothing
    enqueue_progress(
        outbox,
        [ProgressRecord(ma_ho_so="A", handler="B", handled_at=datetime.now(VN_TZ), status=2)],
    )
    assert last_queued_status(outbox, "A") == 2  # progress steps do not count
    with pytest.raises(ValidationError, match="dossier 1: NgayTiepNhan"):
        enqueue_dossiers(
            outbox, [{"MaHoSo": "B", "MaTTHC": "1", "TrangThaiHoSo": 1}], is_updating=False
        )


def test_sink_gives_each_item_its_own_verdict(
    outbox: SqliteOutbox, settings: GovLinkSettings, portal: FakePortal
) -> None:
    enqueue_dossiers(outbox, [dossier(f"D{n}", 1) for n in range(5)], is_updating=False)
    enqueue_progress(
        outbox,
        [ProgressRecord(ma_ho_so="D0", handler="B", handled_at=datetime.now(VN_TZ), status=1)],
    )
    outbox.enqueue(Change("other.kind", "X", {}), now=0.0)
    portal.refuse = {"D3": ("12", "Mã TTHC không tồn tại")}
    items = outbox.claim("w", 100, lease_seconds=30, now=1e10, max_attempts=5)
    with served(portal), DossierClient(settings) as client:
        client.core.chunk_size = 2
        verdicts = DossierSink(client).deliver(items)
    by_key = {item.key: verdict for item, verdict in zip(items, verdicts, strict=True)}
    assert by_key["D1"] is None
    refused = by_key["D3"]
    assert isinstance(refused, PlatformError)
    assert (refused.code, refused.items) == ("12", ("D3",))
    assert isinstance(by_key["X"], ValidationError)  # no route for that kind
    services = [
        (call["service"], len(call["data"]), call.get("isUpdating")) for call in portal.calls
    ]
    assert services == [
        ("DongBoHoSoMC", 2, "False"),
        ("DongBoHoSoMC", 2, "False"),
        ("DongBoHoSoMC", 1, "False"),
    ]
    # D0's progress step was not in this claim: its dossier change is in flight.
    assert all(call["service"] != "CapNhatTienDoHoSoMC" for call in portal.calls)
    sent_keys = {item["IdempotencyKey"] for item in portal.items_sent}
    assert sent_keys == {i.idempotency_key for i in items if i.kind.startswith("dvcqg.dossier")}


def test_a_failed_request_fails_only_its_own_items(
    outbox: SqliteOutbox, settings: GovLinkSettings, portal: FakePortal
) -> None:
    enqueue_dossiers(outbox, [dossier(f"D{n}", 1) for n in range(4)], is_updating=False)
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/integration"):
            calls["n"] += 1
            if calls["n"] == 1:
                raise httpx.ConnectError("refused")
        return portal(request)

    items = outbox.claim("w", 100, lease_seconds=30, now=1e10, max_attempts=5)
    with served(flaky), DossierClient(settings) as client:
        client.core.chunk_size = 2
        verdicts = DossierSink(client).deliver(items)
    assert [type(v) for v in verdicts[:2]] == [TransportError, TransportError]
    assert verdicts[2:] == [None, None]


def test_unpublished_status_codes_are_refused_before_queueing(outbox: SqliteOutbox) -> None:
    with pytest.raises(ValidationError, match="TrangThaiHoSo: expected a published status"):
        enqueue_dossiers(outbox, [dossier("A", 11)], is_updating=False)
    record = {"MaHoSo": "A", "NguoiXuLy": "B", "ThoiDiemXuLy": "20260302080000", "TrangThai": 0}
    with pytest.raises(ValidationError, match="TrangThai: expected a published status"):
        enqueue_progress(outbox, [record])
    assert outbox.status().total == 0


def test_the_fence_keeps_taken_over_items_from_being_sent(
    outbox: SqliteOutbox, settings: GovLinkSettings, portal: FakePortal
) -> None:
    enqueue_dossiers(outbox, [dossier(f"D{n}", 1) for n in range(4)], is_updating=False)
    items = outbox.claim("w", 100, lease_seconds=30, now=1e10, max_attempts=5)
    asked: list[list[str]] = []

    def fence(chunk: object) -> list[bool]:
        keys = [item.key for item in chunk]  # type: ignore[attr-defined]
        asked.append(keys)
        return [key != "D2" for key in keys]  # D2 was taken over by another worker

    with served(portal), DossierClient(settings) as client:
        client.core.chunk_size = 2
        verdicts = DossierSink(client).deliver(items, fence=fence)
    assert asked == [["D0", "D1"], ["D2", "D3"]]  # renewed before each request
    assert isinstance(verdicts[2], LeaseLostError)
    assert [verdicts[i] for i in (0, 1, 3)] == [None, None, None]
    assert {item["MaHoSo"] for item in portal.items_sent} == {"D0", "D1", "D3"}
