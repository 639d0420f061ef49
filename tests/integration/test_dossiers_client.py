"""DossierClient against the DVCQG mock on a real socket."""

from __future__ import annotations

from datetime import datetime

import pytest

from govlink.core.clock import VN_TZ
from govlink.core.errors import NotFoundError
from govlink.dossiers import (
    AsyncDossierClient,
    BatchRejectedError,
    Dossier,
    DossierClient,
    DossierStatus,
    Fee,
    OwnerIdentifier,
    ProgressRecord,
    ResultDocument,
)
from govlink.testing._handle import MockHandle

RECEIVED = datetime(2026, 3, 2, 8, 15, tzinfo=VN_TZ)


def dossier(code: str, status: int = 2, **extra: object) -> Dossier:
    return Dossier(
        ma_ho_so=code,
        procedure_code="1.001193",
        procedure_name="Đăng ký khai sinh",
        status=status,
        received_at=RECEIVED,
        owner_name="NGUYỄN VĂN AN",
        **extra,
    )


def received(mock: MockHandle, ma_ho_so: str | None = None) -> dict:
    import httpx

    params = {"ma_ho_so": ma_ho_so} if ma_ho_so else None
    reply = httpx.get(f"{mock.base_url}/dvcqg/_mock/received", params=params, timeout=10)
    reply.raise_for_status()
    return reply.json()


def test_a_dossier_round_trips_with_every_kind_of_field(govlink_mock: MockHandle) -> None:
    full = dossier(
        "H47.01-260302-0001",
        status=10,
        returned_at=datetime(2026, 3, 6, 10, tzinfo=VN_TZ),
        owner_id_number="001099012345",
        vneid_verified=True,
        fees=[Fee(name="Lệ phí", amount=8000, kind=1)],
        result_documents=[ResultDocument(name="Giấy khai sinh", result_code="KQ.1")],
        owner_identifiers=[OwnerIdentifier(kind=1, number="001099012345")],
    )
    with DossierClient(govlink_mock.settings()) as client:
        report = client.sync_dossiers([full], is_updating=False)
        assert report.accepted == ["H47.01-260302-0001"]
        client.push_progress(
            [
                ProgressRecord(
                    ma_ho_so="H47.01-260302-0001",
                    handler="Trần Thị B",
                    handled_at=datetime(2026, 3, 3, 9, tzinfo=VN_TZ),
                    status=DossierStatus.PROCESSING,
                )
            ]
        )
        back = client.get("H47.01-260302-0001")
    assert back.to_wire() == full.to_wire()
    assert back.progress is not None
    assert [p.handler for p in back.progress] == ["Trần Thị B"]
    state = govlink_mock.state()["dossiers"]
    assert state["dossiers"] == 1
    assert state["progress_records"] == 1


def test_an_expired_session_is_renewed_without_the_caller_noticing(
    govlink_mock: MockHandle,
) -> None:
    with DossierClient(govlink_mock.settings()) as client:
        client.sync_dossiers([dossier("HS-1", 1)], is_updating=False)
        govlink_mock.advance_clock(31 * 60)  # the mock's sessions last 30 minutes
        client.sync_dossiers([dossier("HS-1", 2)], is_updating=True)
        assert client.get("HS-1").status is DossierStatus.RECEIVED
    state = govlink_mock.state()["dossiers"]
    assert state["logins"] == 2
    assert state["expired_session_calls"] == 1


def test_portal_refusals_name_the_dossiers(govlink_mock: MockHandle) -> None:
    bad = dossier("HS-BAD", 1).model_copy(update={"procedure_code": "9.999999"})
    with DossierClient(govlink_mock.settings()) as client:
        with pytest.raises(BatchRejectedError) as caught:
            client.sync_dossiers([dossier("HS-OK", 1), bad], is_updating=False)
        assert caught.value.items == ("HS-BAD",)
        assert caught.value.code == "12"
        assert "9.999999" in str(caught.value)
        with pytest.raises(BatchRejectedError) as unknown:
            client.push_progress(
                [
                    ProgressRecord(
                        ma_ho_so="HS-NOPE",
                        handler="A",
                        handled_at=RECEIVED,
                        status=DossierStatus.PROCESSING,
                    )
                ]
            )
        assert unknown.value.code == "15"
        with pytest.raises(NotFoundError):
            client.get("HS-NOPE")
    history = received(govlink_mock)["history"]
    assert list(history) == ["HS-OK"]  # the refused ones left no trace
    assert len(history["HS-OK"]) == 1


def test_redelivery_with_the_same_keys_is_applied_once(govlink_mock: MockHandle) -> None:
    with DossierClient(govlink_mock.settings()) as client:
        client.sync_dossiers([dossier("HS-1", 1)], is_updating=False, idempotency_keys=["k-1"])
        again = client.sync_dossiers(
            [dossier("HS-1", 1)], is_updating=False, idempotency_keys=["k-1"]
        )
    assert again.duplicates == 1
    got = received(govlink_mock, "HS-1")
    assert got["deliveries"] == {"k-1": 2}
    assert got["history"] == {"HS-1": ["k-1"]}
    assert got["summary"]["applied_more_than_once"] == 0


def test_catalogues_come_from_the_seed(govlink_mock: MockHandle) -> None:
    seed = govlink_mock._call("GET", "/seed/procedures")
    with DossierClient(govlink_mock.settings()) as client:
        procedures = client.procedures()
        assert {p.code for p in procedures} == {p["ma_tthc"] for p in seed}
        one = client.procedure(seed[0]["ma_tthc"])
        assert one.name == seed[0]["ten_tthc"]
        assert one.fee == seed[0]["le_phi"]
        assert {a.code for a in client.agencies()} >= {"000.00.00.H47"}
        assert {f.code for f in client.fields()} == {p["ma_linh_vuc"] for p in seed}


async def test_async_client_against_the_mock(govlink_mock: MockHandle) -> None:
    async with AsyncDossierClient(govlink_mock.settings()) as client:
        await client.sync_dossiers([dossier("HS-A", 1)], is_updating=False)
        govlink_mock.advance_clock(3600)
        await client.sync_dossiers([dossier("HS-A", 2)], is_updating=True)
        found = await client.get("HS-A")
        assert found.status is DossierStatus.RECEIVED
        assert len(await client.procedures()) > 0
