"""DossierClient / AsyncDossierClient against a fake adapter (no sockets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx
import pytest
from _dvcqg_fake import FakePortal, dossier, served

from govlink.core.clock import VN_TZ
from govlink.core.config import GovLinkSettings
from govlink.core.errors import AuthenticationError, NotFoundError, ValidationError
from govlink.dossiers import (
    AsyncDossierClient,
    BatchRejectedError,
    DossierClient,
    DossierStatus,
    IllegalTransitionError,
    ProgressRecord,
)


@contextmanager
def client(settings: GovLinkSettings, portal: FakePortal) -> Iterator[DossierClient]:
    with served(portal), DossierClient(settings) as c:
        yield c


def test_logs_in_once_and_sends_session_and_unit(
    settings: GovLinkSettings, portal: FakePortal
) -> None:
    with client(settings, portal) as c:
        report = c.sync_dossiers([dossier(1), dossier(2)], is_updating=False)
        c.sync_dossiers([dossier(1, 4)], is_updating=True)
    assert portal.logins == [{"username": "govlink-demo", "password": "demo-password"}]
    assert report.accepted == ["HS-1", "HS-2"]
    first, second = portal.calls
    assert (first["session"], first["madonvi"], first["service"]) == (
        "s1",
        "000.00.00.H47",
        "DongBoHoSoMC",
    )
    assert first["isUpdating"] == "False"
    assert second["isUpdating"] == "True"
    keys = [item["IdempotencyKey"] for item in portal.items_sent]
    assert len(set(keys)) == 3
    assert all(keys)


def test_expired_session_is_renewed_and_the_call_replayed_once(
    settings: GovLinkSettings, portal: FakePortal
) -> None:
    with client(settings, portal) as c:
        c.sync_dossiers([dossier(1)], is_updating=False)
        portal.expire_next = 1
        report = c.sync_dossiers([dossier(1, 4)], is_updating=True)
    assert report.accepted == ["HS-1"]
    assert len(portal.logins) == 2
    replayed = portal.calls[-2:]
    assert [call["session"] for call in replayed] == ["s1", "s2"]
    assert replayed[0]["data"] == replayed[1]["data"]  # same items, same keys


def test_a_second_expiry_is_not_looped_on(settings: GovLinkSettings, portal: FakePortal) -> None:
    portal.expire_next = 5
    with client(settings, portal) as c, pytest.raises(AuthenticationError, match="expired"):
        c.get("HS-1")
    assert len(portal.calls) == 2


def test_wrong_password_is_an_authentication_error(
    settings: GovLinkSettings, portal: FakePortal
) -> None:
    settings.dossiers.auth.password = None
    bad = settings.model_copy(deep=True)
    from pydantic import SecretStr

    bad.dossiers.auth.password = SecretStr("nope")
    with (
        served(portal),
        DossierClient(bad) as c,
        pytest.raises(AuthenticationError, match="wrong password"),
    ):
        c.procedures()


def test_batches_are_chunked(settings: GovLinkSettings, portal: FakePortal) -> None:
    with client(settings, portal) as c:
        c.sync_dossiers([dossier(n) for n in range(7)], is_updating=False, chunk_size=3)
        c.push_progress(
            [
                ProgressRecord(
                    ma_ho_so=f"HS-{n}",
                    handler="Cán bộ",
                    handled_at=datetime(2026, 3, 2, 9, tzinfo=VN_TZ),
                    status=DossierStatus.PROCESSING,
                )
                for n in range(12)
            ]
        )
    sizes = [(call["service"], len(call["data"])) for call in portal.calls]
    assert sizes == [
        ("DongBoHoSoMC", 3),
        ("DongBoHoSoMC", 3),
        ("DongBoHoSoMC", 1),
        ("CapNhatTienDoHoSoMC", 10),
        ("CapNhatTienDoHoSoMC", 2),
    ]


def test_refused_items_are_named_and_the_rest_is_applied(
    settings: GovLinkSettings, portal: FakePortal
) -> None:
    portal.refuse = {"HS-2": ("12", "Mã thủ tục không tồn tại"), "HS-5": ("13", "Sai ngày")}
    with client(settings, portal) as c, pytest.raises(BatchRejectedError) as caught:
        c.sync_dossiers([dossier(n) for n in range(6)], is_updating=False, chunk_size=2)
    error = caught.value
    assert error.items == ("HS-2", "HS-5")
    assert error.report.accepted == ["HS-0", "HS-1", "HS-3", "HS-4"]
    assert len(portal.calls) == 3  # every chunk was sent


def test_invalid_input_sends_nothing(settings: GovLinkSettings, portal: FakePortal) -> None:
    with client(settings, portal) as c:
        with pytest.raises(ValidationError) as caught:
            c.sync_dossiers(
                [dossier(1).to_wire(), {"MaHoSo": "HS-2", "MaTTHC": "1.001193"}],
                is_updating=False,
            )
        assert caught.value.field.startswith("dossier 2: ")
        with pytest.raises(IllegalTransitionError, match=r"10 .* → 4"):
            c.sync_dossiers([dossier(1, 4)], is_updating=True, previous={"HS-1": 10})
        with pytest.raises(IllegalTransitionError):
            c.sync_dossiers([dossier(1, 10), dossier(1, 4)], is_updating=True)
        c.sync_dossiers([dossier(1, 10), dossier(1, 4)], is_updating=True, force=True)
    assert portal.logins
    assert len(portal.calls) == 1


def test_lookup_and_catalogues(settings: GovLinkSettings, portal: FakePortal) -> None:
    def answer(body: dict[str, object]) -> dict[str, object] | None:
        service = body["service"]
        if service == "TraCuuHoSo":
            if body.get("mahoso") == "HS-1":
                found = {
                    **dossier(1, 9).to_wire(),
                    "QuaTrinhXuLy": [
                        {
                            "MaHoSo": "HS-1",
                            "NguoiXuLy": "A",
                            "ThoiDiemXuLy": "20260302090000",
                            "TrangThai": "4",
                        }
                    ],
                }
                return {"error_code": "00", "result": [found]}
            return {"error_code": "15", "message": "Không tìm thấy hồ sơ"}
        if service == "LayDanhSachTTHC":
            return {"error_code": 0, "result": [{"MATTHC": "1.001193", "TENTTHC": "Khai sinh"}]}
        if service == "LayThuTuc" and body.get("maTTHC") == "1.001193":
            fee = {"MAPHILEPHI": "LP1", "SOTIEN": 8000.0, "DONVI": "Đồng"}
            return {
                "error_code": 0,
                "result": [
                    {
                        "MATTHC": "1.001193",
                        "TENTTHC": "Khai sinh",
                        "LINHVUCTHUCHIEN": [{"MALINHVUC": "G09-TP03", "TENLINHVUC": "Hộ tịch"}],
                        "CACHTHUCTHUCHIEN": [{"KENH": 2, "THOIGIAN": [{"PHILEPHI": [fee]}]}],
                        "NEWKEY": "kept",
                    }
                ],
            }
        if service == "LayDanhMucCoQuan":
            return {
                "error_code": "0",
                "result": [{"MADONVI": "000.00.00.H47", "TENDONVI": "UBND", "CAPDONVI": "1"}],
            }
        if service == "LayDanhMucLinhVuc":
            return {
                "error_code": "00",
                "result": [{"MALINHVUC": "G09-TP03", "TENLINHVUC": "Hộ tịch", "MANGANH": "BTP"}],
            }
        return None

    portal.handler = answer
    with client(settings, portal) as c:
        found = c.get("HS-1")
        assert found.status is DossierStatus.PROCESSED
        assert found.progress is not None
        assert found.progress[0].handler == "A"
        with pytest.raises(NotFoundError, match="Không tìm thấy"):
            c.get("HS-404")
        assert [p.code for p in c.procedures()] == ["1.001193"]
        one = c.procedure("1.001193")
        assert (one.fee, one.field_code, one.field_name) == (8000, "G09-TP03", "Hộ tịch")
        assert one.model_extra == {"NEWKEY": "kept"}
        assert (c.agencies()[0].code, c.agencies()[0].level) == ("000.00.00.H47", 1)
        assert (c.fields()[0].name, c.fields()[0].sector_code) == ("Hộ tịch", "BTP")
    assert [call["service"] for call in portal.calls][:2] == ["TraCuuHoSo", "TraCuuHoSo"]
    # the sharing services go to the share endpoint, the others to integration [OC]
    routes = {call["service"]: url for call, url in zip(portal.calls, portal.urls, strict=True)}
    assert routes["LayDanhSachTTHC"].endswith("/share")
    assert routes["LayDanhMucCoQuan"].endswith("/share")
    assert routes["TraCuuHoSo"].endswith("/integration")
    assert routes["LayThuTuc"].endswith("/integration")


async def test_async_client_shares_the_behaviour(
    settings: GovLinkSettings, portal: FakePortal
) -> None:
    with served(portal):
        async with AsyncDossierClient(settings) as c:
            await c.sync_dossiers([dossier(1)], is_updating=False)
            portal.expire_next = 1
            report = await c.sync_dossiers([dossier(1, 4)], is_updating=True)
            portal.refuse = {"HS-9": ("12", "no")}
            with pytest.raises(BatchRejectedError):
                await c.sync_dossiers([dossier(9)], is_updating=False)
    assert report.accepted == ["HS-1"]
    assert len(portal.logins) == 2


def _with_options(settings: GovLinkSettings, **options: object) -> GovLinkSettings:
    dumped = settings.dossiers.model_dump()
    dumped["options"] = {**dumped["options"], **options}
    dumped["auth"]["password"] = "demo-password"
    return settings.model_copy(update={"dossiers": type(settings.dossiers)(**dumped)})


@pytest.mark.parametrize("bad", [0, -3, "ten"])
def test_a_bad_chunk_size_is_a_configuration_error_naming_the_variable(
    settings: GovLinkSettings, bad: object
) -> None:
    from govlink.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        DossierClient(_with_options(settings, chunk_size=bad))
    assert info.value.setting == "GOVLINK_DOSSIERS__OPTIONS__CHUNK_SIZE"


def _timing_out_once(portal: FakePortal) -> Callable[[httpx.Request], httpx.Response]:
    state = {"timeouts": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/auth") and state["timeouts"] == 0:
            state["timeouts"] += 1
            raise httpx.ReadTimeout("no answer", request=request)
        return portal(request)

    return handler


def test_writes_are_not_replayed_after_a_read_timeout_unless_the_portal_deduplicates(
    settings: GovLinkSettings, portal: FakePortal
) -> None:
    from govlink.core.errors import GovLinkTimeoutError

    retrying = {"max_retries": 2, "backoff_initial": 0, "backoff_max": 0}
    cautious = _with_options(settings, portal_deduplicates=False)
    cautious = cautious.model_copy(update={"http": cautious.http.model_copy(update=retrying)})
    with (
        served(_timing_out_once(portal)),
        DossierClient(cautious) as dossiers,
        pytest.raises(GovLinkTimeoutError),
    ):
        dossiers.sync_dossiers([dossier(1)], is_updating=False)
    assert portal.items_sent == []  # the timed-out write was not sent a second time

    trusting = cautious.model_copy(
        update={"dossiers": _with_options(cautious, portal_deduplicates=True).dossiers}
    )
    with served(_timing_out_once(portal)), DossierClient(trusting) as dossiers:
        dossiers.sync_dossiers([dossier(1)], is_updating=False)
    assert [item["MaHoSo"] for item in portal.items_sent] == ["HS-1"]
