"""Sans-I/O mapping: requests from the caller's input, replies into models, faults into errors."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from govlink.citizens.codec import CallerContext, CitizenQuery, map_fault, query_params
from govlink.citizens.service import CitizenService
from govlink.core.errors import AuthenticationError, NotFoundError, PlatformError
from govlink.core.soap import SoapAuthenticationError, SoapFault, SoapFaultError


def test_caller_context_from_wire_or_snake_case_options() -> None:
    context = CallerContext.from_options(
        {
            "MaDVC": "DVC01",
            "ma_tich_hop": "TH01",
            "macanbo": "CB7",
            "MaDonVi": "000.00.00.H47",
            "tai_khoan": "",
            "SoDienThoai": None,
            "unrelated": "x",
        }
    )
    assert context.to_wire() == {
        "MaDVC": "DVC01",
        "MaTichHop": "TH01",
        "MaCanBo": "CB7",
        "MaDonVi": "000.00.00.H47",
    }


def test_query_params_carry_context_id_kind_normalised_name_and_date_form() -> None:
    query = CitizenQuery.build(so_dinh_danh="079062003", ho_ten=" lê  văn cường", ngay_sinh=1962)
    params = query_params(query, CallerContext.from_options({"MaDVC": "D1"}), "rid")
    assert params == {
        "MaYeuCau": "rid",
        "MaDVC": "D1",
        "SoCMND": "079062003",
        "HoVaTen": "LÊ VĂN CƯỜNG",
        "NgayThangNamSinh": {"Nam": "1962"},
    }
    full = CitizenQuery.build(
        so_dinh_danh="001085000001", ho_ten="A", ngay_sinh=dt.date(1985, 3, 12)
    )
    params = query_params(full, CallerContext(), "rid2", GioiTinh=None)
    assert params["SoDinhDanh"] == "001085000001"
    assert params["NgayThangNamSinh"] == {"NgayThangNam": "19850312"}
    assert "GioiTinh" not in params


def test_each_request_gets_a_unique_request_id_or_the_configured_one() -> None:
    service = CitizenService()
    ids = {
        service.lookup_request(so_dinh_danh="001085000001", ho_ten="A", ngay_sinh="1985").request_id
        for _ in range(200)
    }
    assert len(ids) == 200
    assert all(len(i) == 32 for i in ids)
    counter = iter(range(1, 100))
    numbered = CitizenService(request_id_factory=lambda: f"H47-{next(counter):06d}")
    call = numbered.lookup_request(so_dinh_danh="001085000001", ho_ten="A", ngay_sinh="1985")
    assert call.request_id == "H47-000001"
    assert call.params["MaYeuCau"] == "H47-000001"
    assert call.safe is True  # a lookup is a read: safe to retry


def _fault(code: str | None, *, status: int = 500, faultcode: str = "soap:Client") -> SoapFault:
    detail = None
    if code is not None:
        detail = etree.fromstring(
            f'<detail><LoiDichVu xmlns="http://dancuquocgia.bca"><MaLoi>{code}</MaLoi>'
            "</LoiDichVu></detail>"
        )
    return SoapFault(
        code=faultcode,
        message="Thông báo của dịch vụ",
        detail=detail,
        status_code=status,
        raw=b"<raw/>",
        operation="TraCuuThongTinCongDan",
        correlation_id="cid",
    )


def test_not_found_fault_is_a_not_found_error_with_code_and_text() -> None:
    error = map_fault(_fault("KHONG_TIM_THAY"))
    assert isinstance(error, NotFoundError)
    assert error.code == "KHONG_TIM_THAY"
    assert error.raw == b"<raw/>"
    assert error.correlation_id == "cid"
    assert "soap:Client" in str(error)
    assert "Thông báo của dịch vụ" in str(error)


@pytest.mark.parametrize(
    ("code", "status"), [("XAC_THUC_THAT_BAI", 401), ("KHONG_CO_QUYEN", 500), (None, 403)]
)
def test_credential_faults_are_authentication_errors(code: str | None, status: int) -> None:
    error = map_fault(_fault(code, status=status))
    assert isinstance(error, AuthenticationError)
    assert isinstance(error, SoapAuthenticationError)
    assert error.fault is not None
    assert "GOVLINK_CITIZENS__AUTH" in str(error)


def test_other_faults_are_platform_errors_keeping_fault_code_and_text() -> None:
    server = map_fault(_fault("LOI_HE_THONG", faultcode="soap:Server"))
    assert isinstance(server, SoapFaultError)
    assert isinstance(server, PlatformError)
    assert not isinstance(server, NotFoundError)
    assert server.code == "LOI_HE_THONG"
    assert server.fault.code == "soap:Server"
    assert server.fault.message == "Thông báo của dịch vụ"
    assert "retry later" in str(server)
    unknown = map_fault(_fault(None))
    assert isinstance(unknown, SoapFaultError)
    assert unknown.code == "soap:Client"  # no service code: the SOAP one is kept
