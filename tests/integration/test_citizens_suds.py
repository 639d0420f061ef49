"""A second, independent SOAP stack (suds) calls the mock from its WSDL URL alone."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from suds import WebFault
from suds.client import Client

from govlink.testing import MockHandle

VN = timezone(timedelta(hours=7))


@pytest.fixture
def service_url(govlink_mock: MockHandle) -> str:
    return f"{govlink_mock.url('citizens')}/CongDanService"


def _hashed_basic(url: str, when: datetime) -> dict[str, str]:
    stamp = when.astimezone(VN).strftime("%Y%m%d%H%M%S")
    digest = hashlib.sha256(f"{url}govlink-demo{stamp}demo-dancu-secret".encode()).hexdigest()
    token = base64.b64encode(f"govlink-demo:{digest}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Timestamp": stamp}


def test_suds_looks_up_a_citizen_from_the_wsdl_url(
    govlink_mock: MockHandle, service_url: str
) -> None:
    client = Client(f"{service_url}?wsdl", cache=None)
    assert client.wsdl.services[0].ports[0].location == service_url  # address rewritten
    client.set_options(headers=_hashed_basic(service_url, govlink_mock.now()))
    birth = client.factory.create("{http://dancuquocgia.bca}NgayThangNamSinhType")
    birth.NgayThangNam = "19850312"
    reply = client.service.TraCuuThongTinCongDan(
        MaYeuCau="suds-1",
        SoDinhDanh="001085000001",
        HoVaTen="NGUYỄN VĂN AN",
        NgayThangNamSinh=birth,
    )
    assert reply.MaYeuCau == "suds-1"
    (citizen,) = reply.CongdanCollection.CongDan
    assert citizen.SoDinhDanh == "001085000001"
    assert citizen.HoVaTen.Ten == "AN"
    assert citizen.ThuongTru.MaTinhThanh == "01"
    assert citizen.ChuHo.QuanHe == "Chủ hộ"


def test_suds_sees_faults_and_verification(govlink_mock: MockHandle, service_url: str) -> None:
    client = Client(f"{service_url}?wsdl", cache=None)
    client.set_options(headers={"X-Road-Client": "VN/GOV/000.00.00.H47/govlink-demo"})
    birth = client.factory.create("{http://dancuquocgia.bca}NgayThangNamSinhType")
    birth.Nam = "1985"
    with pytest.raises(WebFault) as caught:
        client.service.TraCuuThongTinCongDan(
            MaYeuCau="suds-2", SoDinhDanh="001099000099", HoVaTen="A", NgayThangNamSinh=birth
        )
    assert caught.value.fault.faultcode == "soap:Client"
    assert caught.value.fault.detail.LoiDichVu.MaLoi == "KHONG_TIM_THAY"
    verdict = client.service.XacThucThongTinCongDan(
        MaYeuCau="suds-3",
        SoDinhDanh="001085000001",
        HoVaTen="NGUYỄN VĂN AN",
        NgayThangNamSinh=birth,
        GioiTinh="Nữ",
    )
    assert verdict.KetQua is False
    assert list(verdict.DanhSachTruongKhongKhop.TruongKhongKhop) == ["GioiTinh"]


def test_served_wsdl_and_schema_are_the_clients_files(service_url: str) -> None:
    import httpx

    from govlink.citizens.client import WSDL_PATH

    shipped = WSDL_PATH.read_bytes()
    canonical = b"http://127.0.0.1:8700/dancu/CongDanService"
    with httpx.Client(trust_env=False, timeout=10) as http:
        served = http.get(f"{service_url}?wsdl")
    assert served.content == shipped.replace(canonical, service_url.encode())
