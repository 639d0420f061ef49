"""The population-database mock in-process: WSDL served, auth checked, faults, matching.

Requests here are hand-written XML (not zeep's), so the mock is checked on its own.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from lxml import etree
from starlette.applications import Starlette
from starlette.routing import Mount

from govlink.citizens.client import WSDL_PATH
from govlink.testing._transports import SyncASGITransport
from mock_servers.context import VN_TZ, MockContext, SeedData, VirtualClock
from mock_servers.dancu import FAULTS, DanCuPlatform, create_platform
from mock_servers.dancu.wsdl import CANONICAL_ADDRESS
from mock_servers.seed import load_default_seed
from mock_servers.store import MemoryStore

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://dancuquocgia.bca"
URL = "http://testserver/dancu/CongDanService"


class Http(httpx.Client):
    """An httpx client on the mock app that remembers the platform and the last status."""

    platform: DanCuPlatform
    last_status: int = 0


@pytest.fixture
def ctx() -> MockContext:
    return MockContext(
        clock=VirtualClock(), store=MemoryStore(), seed=SeedData(load_default_seed())
    )


@pytest.fixture
def http(ctx: MockContext) -> Iterator[Http]:
    platform = create_platform(ctx)
    app = Starlette(routes=[Mount(platform.prefix, app=platform.app)])
    with Http(transport=SyncASGITransport(app), base_url="http://testserver") as client:
        client.platform = platform
        yield client


def _hashed(
    ctx: MockContext, *, secret: str = "demo-dancu-secret", skew: float = 0
) -> dict[str, str]:
    stamp = (ctx.clock.now() + timedelta(seconds=skew)).astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")
    digest = hashlib.sha256(f"{URL}govlink-demo{stamp}{secret}".encode()).hexdigest()
    token = base64.b64encode(f"govlink-demo:{digest}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Timestamp": stamp}


X_ROAD = {"X-Road-Client": "VN/GOV/000.00.00.H47/govlink-demo"}


def _request(operation: str = "TraCuuThongTinCongDan", **fields: str) -> bytes:
    values = {
        "MaYeuCau": "req-1",
        "SoDinhDanh": "001085000001",
        "HoVaTen": "NGUYỄN VĂN AN",
        "NgayThangNamSinh": "<NgayThangNam>19850312</NgayThangNam>",
    } | fields
    inner = "".join(f"<d:{k}>{v}</d:{k}>" for k, v in values.items() if v is not None and v != "-")
    return (
        f'<soap:Envelope xmlns:soap="{ENV}" xmlns:d="{NS}"><soap:Body>'
        f"<d:{operation}>{inner}</d:{operation}></soap:Body></soap:Envelope>"
    ).encode()


def _post(http: Http, body: bytes, headers: dict[str, str] | None = None) -> etree._Element:
    sent = X_ROAD if headers is None else headers
    response = http.post("/dancu/CongDanService", content=body, headers=sent)
    http.last_status = response.status_code
    return etree.fromstring(response.content)


def _fault_code(root: etree._Element) -> str | None:
    return root.findtext(f".//{{{NS}}}MaLoi")


# ---------------------------------------------------------------- WSDL and schemas


def test_served_wsdl_is_the_clients_file_with_the_mocks_address(http: Http) -> None:
    served = http.get("/dancu/CongDanService?wsdl")
    assert served.status_code == 200
    shipped = WSDL_PATH.read_bytes()
    assert CANONICAL_ADDRESS in shipped
    assert served.content == shipped.replace(CANONICAL_ADDRESS, URL.encode())


def test_wsdl_at_the_prefix_redirects_to_the_service_url(http: Http) -> None:
    response = http.get("/dancu/?wsdl", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == f"{URL}?wsdl"


@pytest.mark.parametrize(
    "path", ["/dancu/dancu.xsd", "/dancu/other.xsd", "/dancu/..%2F..%2Fpyproject.xsd"]
)
def test_only_shipped_schemas_are_served(http: Http, path: str) -> None:
    assert http.get(path).status_code == 404


# ---------------------------------------------------------------- credentials


def test_hashed_basic_accepted_and_checked(http: Http, ctx: MockContext) -> None:
    assert _fault_code(_post(http, _request(), _hashed(ctx))) is None
    assert http.last_status == 200
    for headers in (
        {},
        _hashed(ctx, secret="wrong"),
        _hashed(ctx, skew=-600),
        {"Authorization": _hashed(ctx)["Authorization"]},  # no Timestamp
    ):
        root = _post(http, _request(), headers)
        assert http.last_status == 401
        assert _fault_code(root) == "XAC_THUC_THAT_BAI"


def test_timestamp_tolerance_follows_the_virtual_clock(http: Http, ctx: MockContext) -> None:
    headers = _hashed(ctx)
    # The virtual clock also moves with real time: leave a margin for a loaded machine.
    ctx.clock.advance(290)
    assert _fault_code(_post(http, _request(), headers)) is None
    ctx.clock.advance(20)
    assert _fault_code(_post(http, _request(), headers)) == "XAC_THUC_THAT_BAI"


def test_x_road_client_must_be_registered(http: Http) -> None:
    assert _fault_code(_post(http, _request(), X_ROAD)) is None
    bad = {"X-Road-Client": "VN/GOV/000.00.00.H47/someone-else"}
    assert _fault_code(_post(http, _request(), bad)) == "XAC_THUC_THAT_BAI"
    assert (
        _fault_code(_post(http, _request(), {"X-Road-Client": "nonsense"})) == "XAC_THUC_THAT_BAI"
    )


def test_gateway_bearer_token_checked_with_the_gateway_mock(http: Http, ctx: MockContext) -> None:
    ctx.store.put(
        "gateway.tokens",
        "tok-live",
        {"client_id": "govlink-demo", "scope": "default", "expires_at": ctx.clock.timestamp() + 60},
    )
    assert _fault_code(_post(http, _request(), {"Authorization": "Bearer tok-live"})) is None
    root = _post(http, _request(), {"Authorization": "Bearer tok-unknown"})
    assert _fault_code(root) == "XAC_THUC_THAT_BAI"


# ---------------------------------------------------------------- malformed requests


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not xml at all", "XML_KHONG_HOP_LE"),
        (b"", "XML_KHONG_HOP_LE"),
        (b"<a/>", "XML_KHONG_HOP_LE"),
        (
            b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x "boom">]>'
            + _request(HoVaTen="&x;").split(b"?>", 1)[-1],
            "XML_KHONG_HOP_LE",
        ),
        (_request(MaYeuCau="-"), "THIEU_MA_YEU_CAU"),
        (_request(MaYeuCau="  "), "THIEU_MA_YEU_CAU"),
        (_request(SoDinhDanh="-"), "THIEU_THONG_TIN"),
        (_request(HoVaTen="-"), "THIEU_THONG_TIN"),
        (_request(NgayThangNamSinh="-"), "THIEU_THONG_TIN"),
        (_request(SoDinhDanh="00108500000"), "SAI_DINH_DANG"),
        (_request(SoDinhDanh="-", SoCMND="1234"), "SAI_DINH_DANG"),
        (_request(NgayThangNamSinh="<NgayThangNam>1985-03-12</NgayThangNam>"), "SAI_DINH_DANG"),
        (_request("XoaCongDan"), "THAO_TAC_KHONG_HO_TRO"),
    ],
)
def test_malformed_requests_get_client_faults(http: Http, body: bytes, code: str) -> None:
    root = _post(http, body)
    assert _fault_code(root) == code
    assert root.findtext(".//faultcode") == "soap:Client"
    assert http.last_status == FAULTS[code][1]


def test_entity_in_a_request_is_never_expanded(http: Http) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<l>&c;</l>"
    )
    response = http.post("/dancu/CongDanService", content=laughs, headers=X_ROAD)
    assert b"aaaaaaaaaa" not in response.content
    assert _fault_code(etree.fromstring(response.content)) == "XML_KHONG_HOP_LE"


# ---------------------------------------------------------------- matching rules


def _found(http: Http, **fields: str) -> etree._Element | None:
    root = _post(http, _request(**fields))
    return root.find(f".//{{{NS}}}CongDan")


def test_lookup_matches_name_case_and_normalisation_insensitively(http: Http) -> None:
    record = _found(http, HoVaTen=unicodedata.normalize("NFD", "nguyễn  văn an"))
    assert record is not None
    assert record.findtext(f"{{{NS}}}SoDinhDanh") == "001085000001"
    assert record.findtext(f"{{{NS}}}NgayThangNamSinh/{{{NS}}}NgayThangNam") == "19850312"
    assert _found(http, HoVaTen="NGUYỄN VĂN ANH") is None
    assert _found(http, NgayThangNamSinh="<NgayThangNam>19850313</NgayThangNam>") is None
    assert _found(http, NgayThangNamSinh="<Nam>1985</Nam>") is not None
    assert _found(http, NgayThangNamSinh="<Nam>1986</Nam>") is None


def test_year_only_record_and_old_card_number(http: Http) -> None:
    common = {"HoVaTen": "Lê Hoàng Cường", "SoDinhDanh": "-", "SoCMND": "020000003"}
    record = _found(http, **common, NgayThangNamSinh="<NgayThangNam>19620101</NgayThangNam>")
    assert record is not None
    assert record.findtext(f"{{{NS}}}NgayThangNamSinh/{{{NS}}}Nam") == "1962"
    assert record.find(f"{{{NS}}}NgayThangNamSinh/{{{NS}}}NgayThangNam") is None
    assert _found(http, **common, NgayThangNamSinh="<Nam>1963</Nam>") is None


def test_unknown_person_is_the_not_found_fault(http: Http) -> None:
    root = _post(http, _request(SoDinhDanh="001099999999"))
    assert _fault_code(root) == "KHONG_TIM_THAY"
    assert root.findtext(f".//{{{NS}}}MaYeuCau") == "req-1"
    assert http.last_status == 500


def test_verify_names_the_mismatched_fields(http: Http) -> None:
    body = _request(
        "XacThucThongTinCongDan",
        NgayThangNamSinh="<Nam>1984</Nam>",
        GioiTinh="Nữ",
    )
    root = _post(http, body)
    assert root.findtext(f".//{{{NS}}}KetQua") == "false"
    fields = [e.text for e in root.iter(f"{{{NS}}}TruongKhongKhop")]
    assert fields == ["NgayThangNamSinh", "GioiTinh"]
    assert _post(http, _request("XacThucThongTinCongDan")).findtext(f".//{{{NS}}}KetQua") == "true"


def test_force_fault_switch_and_reset(http: Http) -> None:
    platform = http.platform
    platform.apply_switches({"force_fault": "LOI_HE_THONG"})
    root = _post(http, _request())
    assert _fault_code(root) == "LOI_HE_THONG"
    assert root.findtext(".//faultcode") == "soap:Server"
    with pytest.raises(ValueError, match="force_fault"):
        platform.apply_switches({"force_fault": "NOPE"})
    with pytest.raises(ValueError, match="unknown switch"):
        platform.apply_switches({"nope": 1})
    assert platform.summary()["calls"]["fault:LOI_HE_THONG"] == 1
    platform.reset()
    assert _fault_code(_post(http, _request())) is None
    assert platform.summary()["calls"] == {"TraCuuThongTinCongDan": 1}


# ---------------------------------------------------------------- every operation, shapes


def _schema() -> etree.XMLSchema:
    schema = etree.parse(str(WSDL_PATH)).find(".//{http://www.w3.org/2001/XMLSchema}schema")
    assert schema is not None
    return etree.XMLSchema(schema)


@pytest.mark.parametrize(
    ("operation", "expect"),
    [
        ("TraCuuThongTinCongDan", "CongDan"),
        ("XacMinhThongTinNhanThan", "CongDan"),
        ("XacThucThongTinCongDan", "KetQua"),
        ("CungCapThongTinHoGiaDinh", "ThanhVien"),
        ("XacMinhTinhTrangHonNhan", "TinhTrangHonNhan"),
    ],
)
def test_every_operation_answers_within_the_published_schema(
    http: Http, operation: str, expect: str
) -> None:
    root = _post(http, _request(operation, MaYeuCau=f"op-{operation}"))
    assert root.find(f".//{{{NS}}}{expect}") is not None, etree.tostring(root)
    (payload,) = root[0]
    assert etree.QName(payload).localname == f"{operation}Response"
    _schema().assertValid(payload)


def test_household_lists_every_member_of_the_book(http: Http) -> None:
    root = _post(http, _request("CungCapThongTinHoGiaDinh"))
    members = root.findall(f".//{{{NS}}}ThanhVien")
    assert [m.findtext(f"{{{NS}}}QuanHe") for m in members] == ["Chủ hộ", "Vợ"]
    assert root.findtext(f".//{{{NS}}}HoGiaDinh/{{{NS}}}SoSoHoKhau") == "010000001"


def test_request_status_remembers_earlier_requests(http: Http) -> None:
    _post(http, _request(MaYeuCau="earlier-1"))
    _post(http, _request(MaYeuCau="earlier-2", SoDinhDanh="001099999999"))
    done = _post(http, _request("GetRequestStatus", MaYeuCau="earlier-1"))
    assert done.findtext(f".//{{{NS}}}TrangThai") == "DA_XU_LY"
    failed = _post(http, _request("GetRequestStatus", MaYeuCau="earlier-2"))
    assert failed.findtext(f".//{{{NS}}}TrangThai") == "LOI"
    assert "KHONG_TIM_THAY" in (failed.findtext(f".//{{{NS}}}MoTa") or "")
    unknown = _post(http, _request("GetRequestStatus", MaYeuCau="never"))
    assert _fault_code(unknown) == "KHONG_TIM_THAY"


def test_records_carry_every_known_element_and_unknown_ones(http: Http) -> None:
    record = _found(http)
    assert record is not None
    names = [etree.QName(e).localname for e in record]
    for known in ("LoaiTaiKhoan", "MaSoThue", "ThuDienTu", "TinhTrangHonNhan", "ChuHo"):
        assert known in names
    assert record.find(f"{{{NS}}}ThuongTru/{{{NS}}}QuocGia") is not None
    assert record.findtext(f"{{{NS}}}ThuongTru/{{{NS}}}TenTinhThanh") == "Thành phố Hà Nội"
    assert record.findtext(f"{{{NS}}}Cha/{{{NS}}}QuocTich") == "Việt Nam"
    extension = [e for e in record if etree.QName(e).namespace != NS]
    assert {etree.QName(e).localname for e in extension} == {"SoDienThoai", "MaBHXH", "SoHoChieu"}
    assert names.index("SoDinhDanh") < names.index("HoVaTen")  # the Thanh Hoa order


def test_record_order_and_the_national_services_own_shape(http: Http) -> None:
    http.platform.apply_switches({"record_order": "reversed", "reply_shape": "td"})
    root = _post(http, _request())
    body = root[0]
    (collection,) = body  # no ...Response wrapper
    assert etree.QName(collection).localname == "CongdanCollection"
    assert etree.QName(collection).namespace == "http://www.mic.gov.vn/dancu/1.0"
    record = collection[0]
    names = [etree.QName(e).localname for e in record]
    assert names[0] == "SoHoChieu"
    assert names.index("HoVaTen") > names.index("ChuHo")
    http.platform.apply_switches({"record_order": ["HoVaTen", "SoSoHoKhau"]})
    names = [etree.QName(e).localname for e in _post(http, _request())[0][0][0]]
    assert names[:2] == ["HoVaTen", "SoSoHoKhau"]
    with pytest.raises(ValueError, match="record_order"):
        http.platform.apply_switches({"record_order": 3})
    with pytest.raises(ValueError, match="reply_shape"):
        http.platform.apply_switches({"reply_shape": "json"})


def test_body_size_cap_is_enforced_while_reading(http: Http) -> None:
    def chunks() -> Iterator[bytes]:
        yield _request()[:-20]
        for _ in range(1000):
            yield b"<!--" + b"x" * 1024 + b"-->"

    response = http.post("/dancu/CongDanService", content=chunks(), headers=X_ROAD)
    assert response.status_code == 413
    assert _fault_code(etree.fromstring(response.content)) == "QUA_KICH_THUOC"
    declared = http.post(
        "/dancu/CongDanService",
        content=b"x",
        headers={**X_ROAD, "content-length": str(10**9)},
    )
    assert declared.status_code == 413


def test_gateway_variant_answers_json_around_the_soap_reply(http: Http) -> None:
    sent = {
        "maYeuCau": "gw-1",  # an ASP.NET client camelCases the keys
        "SoDinhDanh": "001085000001",
        "HoVaTen": "NGUYỄN VĂN AN",
        "NgayThangNam": "19850312",
        "Nam": None,
        "MaDVC": "DVC-1",
    }
    response = http.post("/dancu/gateway/TraCuuThongTinCongDan", json=sent, headers=X_ROAD)
    assert response.status_code == 200
    reply = response.json()
    assert reply["error_code"] == "0"
    inner = etree.fromstring(reply["message"].encode())
    assert inner.findtext(f".//{{{NS}}}SoDinhDanh") == "001085000001"
    missing = http.post(
        "/dancu/gateway/TraCuuThongTinCongDan",
        json={**sent, "SoDinhDanh": "001099999999"},
        headers=X_ROAD,
    ).json()
    assert missing["error_code"] == "KHONG_TIM_THAY"
    assert "<MaLoi>KHONG_TIM_THAY</MaLoi>" in missing["message"]
    refused = http.post("/dancu/gateway/TraCuuThongTinCongDan", json=sent)
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "XAC_THUC_THAT_BAI"
