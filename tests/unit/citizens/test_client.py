"""CitizenClient / AsyncCitizenClient against respx with hand-written replies: every
operation, both wire formats (SOAP and the provincial gateway's JSON), faults, auth."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import inspect
import json
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx
from citizens_support import (
    BASE,
    CONG_DAN,
    ENDPOINT,
    NS,
    fault,
    lookup_reply,
    make_settings,
    reply,
    verify_reply,
)
from lxml import etree

from govlink.citizens import AsyncCitizenClient, CitizenClient, ReplyShapeError
from govlink.core.config import GovLinkSettings
from govlink.core.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PlatformError,
    ReplyTooLargeError,
    ValidationError,
)
from govlink.core.soap import SoapFaultError

Handler = Callable[[httpx.Request], httpx.Response]


def _xml(response: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=response, headers={"content-type": "text/xml"})


class Recorder:
    """A respx side effect that records requests and plays replies in order."""

    def __init__(self, *replies: httpx.Response) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply

    def field(self, index: int, name: str) -> str | None:
        root = etree.fromstring(self.requests[index].content)
        return root.findtext(f".//{{{NS}}}{name}")


@pytest.fixture
def http() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


class _Routed:
    """A client whose HTTP goes to ``handler`` through respx."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    def __call__(
        self, settings: GovLinkSettings, handler: Handler, **kwargs: Callable[[], str]
    ) -> CitizenClient:
        self.router.route().mock(side_effect=handler)
        return CitizenClient(settings, **kwargs)


@pytest.fixture
def client_for(http: respx.MockRouter) -> _Routed:
    return _Routed(http)


def test_lookup_returns_a_typed_citizen_with_unknown_elements_kept(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    recorder = Recorder(_xml(lookup_reply()))
    with client_for(settings, recorder) as client:
        citizen = client.lookup("001085000001", "nguyễn văn an", "1985-03-12")
    assert citizen.full_name == "NGUYỄN VĂN AN"
    assert citizen.birth_date is not None
    assert citizen.birth_date.isoformat() == "1985-03-12"
    assert citizen.father is not None
    assert citizen.father.full_name == "NGUYỄN VĂN BẢY"
    assert citizen.marital_status == "Đã kết hôn"
    assert "<NoiCap>Cục CS QLHC về TTXH</NoiCap>" in citizen.extra["NgayCapCCCD"]
    assert citizen.request_id == recorder.field(0, "MaYeuCau")
    assert citizen.evidence is not None
    assert citizen.evidence.status_code == 200


def test_request_carries_context_unique_ids_normalised_input_and_soap_action(
    client_for: _Routed,
) -> None:
    settings = make_settings(
        options={"MaDVC": "DVC-1", "ma_can_bo": "CB-9", "MaDonVi": "000.00.00.H47"},
        paths={"service": "/ws/CongDan"},
    )
    recorder = Recorder(_xml(lookup_reply()))
    with client_for(settings, recorder) as client:
        client.lookup("001085000001", "nguyễn  văn an", 1985)
        client.lookup(old_id_number="079062003", full_name="Lê Văn Cường", birth_date="19620101")
    first, _second = recorder.requests
    assert str(first.url) == "http://dancu.test/dancu/ws/CongDan"
    assert first.headers["SOAPAction"] == '"http://dancuquocgia.bca/TraCuuThongTinCongDan"'
    assert first.headers["content-type"].startswith("text/xml")
    assert recorder.field(0, "MaYeuCau") != recorder.field(1, "MaYeuCau")
    assert recorder.field(0, "MaDVC") == "DVC-1"
    assert recorder.field(0, "MaCanBo") == "CB-9"
    assert recorder.field(0, "MaDonVi") == "000.00.00.H47"
    assert recorder.field(0, "HoVaTen") == "NGUYỄN VĂN AN"
    assert recorder.field(0, "Nam") == "1985"
    assert recorder.field(1, "SoCMND") == "079062003"
    assert recorder.field(1, "SoDinhDanh") is None
    assert recorder.field(1, "NgayThangNam") == "19620101"


def test_configurable_request_id_generator(settings: GovLinkSettings, client_for: _Routed) -> None:
    recorder = Recorder(_xml(lookup_reply()))
    with client_for(settings, recorder, request_id_factory=lambda: "H47-0001") as client:
        citizen = client.lookup("001085000001", "A", "1985")
    assert recorder.field(0, "MaYeuCau") == "H47-0001"
    assert citizen.request_id == "H47-0001"


def test_hashed_basic_header_verifies_independently(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    recorder = Recorder(_xml(lookup_reply()))
    with client_for(settings, recorder) as client:
        client.lookup("001085000001", "A", "1985")
    request = recorder.requests[0]
    timestamp = request.headers["Timestamp"]
    assert re.fullmatch(r"\d{14}", timestamp)
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, digest = base64.b64decode(value).decode().partition(":")
    assert user == "govlink-demo"
    expected = hashlib.sha256(
        f"{ENDPOINT}govlink-demo{timestamp}demo-dancu-secret".encode()
    ).hexdigest()
    assert digest == expected


def test_x_road_client_header_when_the_profile_says_so(client_for: _Routed) -> None:
    settings = make_settings(
        auth={"style": "x_road", "extra": {"x_road_client": "VN/GOV/000.00.00.H47/govlink-demo"}}
    )
    recorder = Recorder(_xml(lookup_reply()))
    with client_for(settings, recorder) as client:
        client.lookup("001085000001", "A", "1985")
    request = recorder.requests[0]
    assert request.headers["X-Road-Client"] == "VN/GOV/000.00.00.H47/govlink-demo"
    assert "Authorization" not in request.headers


def test_gateway_bearer_token_fetched_once_and_sent(client_for: _Routed) -> None:
    settings = make_settings(
        auth={
            "style": "client_credentials_basic",
            "client_id": "govlink-demo",
            "client_secret": "demo-gateway-secret",
        }
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/gateway/token":
            return httpx.Response(
                200, json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}
            )
        return _xml(lookup_reply())

    with client_for(settings, handler) as client:
        client.lookup("001085000001", "A", "1985")
        client.lookup("001085000001", "A", "1985")
    token_calls = [r for r in seen if r.url.path == "/gateway/token"]
    soap_calls = [r for r in seen if r.url.path == "/dancu/CongDanService"]
    assert len(token_calls) == 1
    assert str(token_calls[0].url) == "http://gateway.test/gateway/token"
    assert [r.headers["Authorization"] for r in soap_calls] == ["Bearer tok-1"] * 2


def test_not_found_fault(settings: GovLinkSettings, client_for: _Routed) -> None:
    recorder = Recorder(_xml(fault("KHONG_TIM_THAY", "Không tìm thấy"), 500))
    with client_for(settings, recorder) as client, pytest.raises(NotFoundError) as caught:
        client.lookup("001085000001", "A", "1985")
    assert caught.value.code == "KHONG_TIM_THAY"
    assert "Không tìm thấy" in str(caught.value)
    assert len(recorder.requests) == 1  # a fault is an answer: never retried


def test_empty_collection_is_not_found_too(settings: GovLinkSettings, client_for: _Routed) -> None:
    recorder = Recorder(_xml(lookup_reply(records="")))
    with client_for(settings, recorder) as client, pytest.raises(NotFoundError):
        client.lookup("001085000001", "A", "1985")


def test_refused_credentials(settings: GovLinkSettings, client_for: _Routed) -> None:
    recorder = Recorder(_xml(fault("XAC_THUC_THAT_BAI", "Xác thực không thành công"), 401))
    with client_for(settings, recorder) as client, pytest.raises(AuthenticationError) as caught:
        client.lookup("001085000001", "A", "1985")
    assert "Xác thực không thành công" in str(caught.value)


def test_service_fault_keeps_code_and_text(settings: GovLinkSettings, client_for: _Routed) -> None:
    reply = fault("LOI_HE_THONG", "Lỗi hệ thống", faultcode="soap:Server")
    recorder = Recorder(_xml(reply, 500))
    with client_for(settings, recorder) as client, pytest.raises(PlatformError) as caught:
        client.lookup("001085000001", "A", "1985")
    error = caught.value
    assert isinstance(error, SoapFaultError)
    assert not isinstance(error, NotFoundError)
    assert error.code == "LOI_HE_THONG"
    assert error.fault.code == "soap:Server"
    assert error.fault.message == "Lỗi hệ thống"


def test_a_503_is_retried_with_the_same_request_id(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    recorder = Recorder(httpx.Response(503), _xml(lookup_reply()))
    with client_for(settings, recorder) as client:
        client.lookup("001085000001", "A", "1985")
    assert len(recorder.requests) == 2
    assert recorder.field(0, "MaYeuCau") == recorder.field(1, "MaYeuCau")


def test_invalid_input_sends_nothing(settings: GovLinkSettings, client_for: _Routed) -> None:
    recorder = Recorder(_xml(lookup_reply()))
    with client_for(settings, recorder) as client, pytest.raises(ValidationError) as caught:
        client.lookup("12345", "A", "1985")
    assert caught.value.field == "id_number"
    assert recorder.requests == []


def test_verify_reports_mismatched_fields(settings: GovLinkSettings, client_for: _Routed) -> None:
    recorder = Recorder(_xml(verify_reply(False, "NgayThangNamSinh", "GioiTinh")))
    with client_for(settings, recorder) as client:
        result = client.verify("001085000001", "A", "1985-03-13", gender="Nữ")
    assert result.matches is False
    assert result.mismatched_fields == ("NgayThangNamSinh", "GioiTinh")
    assert recorder.field(0, "GioiTinh") == "Nữ"
    assert recorder.requests[0].headers["SOAPAction"].endswith('XacThucThongTinCongDan"')


async def test_async_lookup_verify_and_fault(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    recorder = Recorder(
        _xml(lookup_reply()),
        _xml(verify_reply(True)),
        _xml(fault("KHONG_TIM_THAY"), 500),
    )
    client_for.router.route().mock(side_effect=recorder)
    async with AsyncCitizenClient(settings) as client:
        citizen = await client.lookup("001085000001", "A", "1985-03-12")
        assert citizen.id_number == "001085000001"
        result = await client.verify("001085000001", "A", "1985-03-12")
        assert result.matches is True
        assert result.mismatched_fields == ()
        with pytest.raises(NotFoundError):
            await client.lookup("001085000001", "A", "1985-03-12")
    assert len({recorder.field(i, "MaYeuCau") for i in range(3)}) == 3


def test_facade_exposes_the_citizens_namespace(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    from govlink import GovLink

    client_for.router.route().mock(side_effect=Recorder(_xml(lookup_reply())))
    with GovLink(settings) as gl:
        assert gl.citizens.lookup("001085000001", "A", "1985").id_number == "001085000001"


# ------------------------------------------------------------------ every operation

HOUSEHOLD = """
<MaYeuCau>r</MaYeuCau>
<HoGiaDinh>
  <SoSoHoKhau>010000001</SoSoHoKhau>
  <ChuHo><QuanHe>Chủ hộ</QuanHe><HoVaTen>NGUYỄN VĂN AN</HoVaTen>
    <SoDinhDanh>001085000001</SoDinhDanh></ChuHo>
  <DiaChi><QuocGia>VN</QuocGia><MaTinhThanh>01</MaTinhThanh>
    <TenTinhThanh>Thành phố Hà Nội</TenTinhThanh><ChiTiet>Số 1</ChiTiet></DiaChi>
  <ThanhVien><HoVaTen><Ho>NGUYỄN</Ho><ChuDem>VĂN</ChuDem><Ten>AN</Ten></HoVaTen>
    <SoDinhDanh>001085000001</SoDinhDanh><QuanHe>Chủ hộ</QuanHe>
    <NgayThangNamSinh><NgayThangNam>19850312</NgayThangNam></NgayThangNamSinh></ThanhVien>
  <ThanhVien><HoVaTen><Ho>TRẦN</Ho><ChuDem>THỊ</ChuDem><Ten>BÌNH</Ten></HoVaTen>
    <SoDinhDanh>001188000002</SoDinhDanh><QuanHe>Vợ</QuanHe><GioiTinh>Nữ</GioiTinh>
    <SoThuTu>2</SoThuTu></ThanhVien>
</HoGiaDinh>
"""


def test_household_reads_head_address_and_every_member(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    recorder = Recorder(_xml(reply("CungCapThongTinHoGiaDinh", HOUSEHOLD)))
    with client_for(settings, recorder) as client:
        household = client.household("001085000001", "Nguyễn Văn An", "1985-03-12")
    assert household.household_book_number == "010000001"
    assert household.head is not None
    assert household.head.relationship == "Chủ hộ"
    assert household.address is not None
    assert household.address.province_name == "Thành phố Hà Nội"
    assert [m.relationship for m in household.members] == ["Chủ hộ", "Vợ"]
    assert household.members[1].full_name == "TRẦN THỊ BÌNH"
    assert household.members[1].extra == {"SoThuTu": "2"}
    assert household.request_id == "r"
    assert household.evidence is not None
    assert recorder.requests[0].headers["SOAPAction"] == f'"{NS}/CungCapThongTinHoGiaDinh"'


def test_marital_status_with_spouse_and_without_the_wrapper(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    inner = (
        f'<MaTinhTrangHonNhan xmlns="{NS}">2</MaTinhTrangHonNhan>'
        f'<TinhTrangHonNhan xmlns="{NS}">Đã kết hôn</TinhTrangHonNhan>'
        f'<VoChong xmlns="{NS}"><HoVaTen>TRẦN THỊ BÌNH</HoVaTen><QuocTich>VN</QuocTich>'
        "<SoDinhDanh>001188000002</SoDinhDanh></VoChong>"
    )
    recorder = Recorder(_xml(reply("XacMinhTinhTrangHonNhan", inner, wrapper=False)))
    with client_for(settings, recorder, request_id_factory=lambda: "mar-1") as client:
        result = client.marital_status("001085000001", "Nguyễn Văn An", "1985-03-12")
    assert (result.status_code, result.status) == ("2", "Đã kết hôn")
    assert result.spouse is not None
    assert result.spouse.full_name == "TRẦN THỊ BÌNH"
    assert result.spouse.nationality == "VN"
    assert result.request_id == "mar-1"  # not in the reply: the one sent


def test_verify_identity_returns_the_record_with_relatives(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    inner = (
        f'<CongdanCollection xmlns="{NS}"><SoCongDan>1</SoCongDan><GhiChu></GhiChu>'
        f"{CONG_DAN}</CongdanCollection>"
    )
    recorder = Recorder(_xml(reply("XacMinhThongTinNhanThan", inner)))
    with client_for(settings, recorder) as client:
        citizen = client.verify_identity("001085000001", "Nguyễn Văn An", "1985-03-12")
    assert citizen.father is not None
    assert citizen.father.id_number == "034055000011"
    assert citizen.collection is not None
    assert citizen.collection.count == "1"


def test_request_status_sends_the_earlier_request_id(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    inner = (
        "<MaYeuCau>abc-1</MaYeuCau><TrangThai>DA_XU_LY</TrangThai>"
        "<MoTa>đã xử lý</MoTa><ThoiGianCapNhat>2026-12-02T10:00:00+07:00</ThoiGianCapNhat>"
    )
    recorder = Recorder(_xml(reply("GetRequestStatus", inner)))
    with client_for(settings, recorder) as client:
        status = client.request_status("abc-1")
        with pytest.raises(ValidationError):
            client.request_status("  ")
    assert recorder.field(0, "MaYeuCau") == "abc-1"
    assert (status.status, status.description) == ("DA_XU_LY", "đã xử lý")
    assert len(recorder.requests) == 1


def _schema() -> etree.XMLSchema:
    from govlink.citizens.client import WSDL_PATH

    schema = etree.parse(str(WSDL_PATH)).find(".//{http://www.w3.org/2001/XMLSchema}schema")
    assert schema is not None
    return etree.XMLSchema(schema)


def test_every_request_is_valid_against_the_published_schema(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    schema = _schema()
    recorder = Recorder(_xml(lookup_reply()))
    who = ("001085000001", "Nguyễn Văn An", "1985")
    with client_for(settings, recorder) as client:
        for call in (client.lookup, client.verify_identity, client.household):
            # the canned reply fits only the lookup; the request is what counts
            with contextlib.suppress(PlatformError):
                call(*who)
        with pytest.raises(PlatformError):
            client.verify(*who, gender="Nữ")
        with pytest.raises(PlatformError):
            client.marital_status(old_id_number="079062003", full_name="A", birth_date="19620101")
        with pytest.raises(PlatformError):
            client.request_status("abc")
    assert len(recorder.requests) == 6
    for request in recorder.requests:
        body = etree.fromstring(request.content)[0][0]
        schema.assertValid(body)


def test_sync_and_async_clients_have_the_same_methods() -> None:
    public = {n for n in dir(CitizenClient) if not n.startswith("_")} - {"close"}
    apublic = {n for n in dir(AsyncCitizenClient) if not n.startswith("_")} - {"aclose"}
    assert public == apublic
    assert {"lookup", "verify", "verify_identity", "household", "marital_status"} <= public
    for name in public:
        sync, asynchronous = getattr(CitizenClient, name), getattr(AsyncCitizenClient, name)
        if callable(sync):
            assert inspect.signature(sync) == inspect.signature(asynchronous), name
            assert inspect.iscoroutinefunction(asynchronous), name


def test_a_record_that_cannot_be_read_is_an_error_not_an_empty_field(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    broken = CONG_DAN.replace(
        "<SoSoHoKhau>010000001</SoSoHoKhau>", "<SoSoHoKhau><So>010000001</So></SoSoHoKhau>"
    )
    recorder = Recorder(_xml(lookup_reply(records=broken)))
    with client_for(settings, recorder) as client, pytest.raises(ReplyShapeError) as caught:
        client.lookup("001085000001", "A", "1985")
    assert "CongDan/SoSoHoKhau" in str(caught.value)
    assert "010000001" not in str(caught.value)
    assert caught.value.evidence is not None


def test_an_oversized_reply_is_refused(client_for: _Routed) -> None:
    settings = make_settings(options={"max_reply_bytes": 4096})
    padding = "<Them>" + "x" * 8192 + "</Them>"
    recorder = Recorder(
        _xml(lookup_reply(records=CONG_DAN.replace("</CongDan>", padding + "</CongDan>")))
    )
    with client_for(settings, recorder) as client, pytest.raises(ReplyTooLargeError) as caught:
        client.lookup("001085000001", "A", "1985")
    assert caught.value.limit == 4096
    assert "GOVLINK_CITIZENS__OPTIONS__MAX_REPLY_BYTES" in str(caught.value)
    assert len(recorder.requests) == 1  # not retried: the same request brings the same reply


def test_bad_options_fail_when_the_client_is_created() -> None:
    with pytest.raises(ConfigurationError) as caught:
        CitizenClient(make_settings(options={"transport": "carrier-pigeon"}))
    assert caught.value.setting == "GOVLINK_CITIZENS__OPTIONS__TRANSPORT"


# ------------------------------------------------------------------ provincial gateway


def _gateway_settings() -> GovLinkSettings:
    return make_settings(options={"transport": "gateway_json", "MaDVC": "DVC-1"})


def test_gateway_variant_sends_flat_json_and_reads_the_soap_inside(client_for: _Routed) -> None:
    soap = lookup_reply().decode()
    recorder = Recorder(httpx.Response(200, json={"error_code": "0", "message": soap}))
    with client_for(_gateway_settings(), recorder, request_id_factory=lambda: "g-1") as client:
        citizen = client.lookup("001085000001", "nguyễn văn an", "1985-03-12")
    request = recorder.requests[0]
    assert str(request.url) == f"{BASE}/gateway/TraCuuThongTinCongDan"
    assert json.loads(request.content) == {
        "MaYeuCau": "g-1",
        "MaDVC": "DVC-1",
        "SoDinhDanh": "001085000001",
        "HoVaTen": "NGUYỄN VĂN AN",
        "NgayThangNam": "19850312",
    }
    assert citizen.full_name == "NGUYỄN VĂN AN"


def test_gateway_error_code_and_fault_inside(client_for: _Routed) -> None:
    recorder = Recorder(
        httpx.Response(200, json={"error_code": "500", "message": "Hệ thống bận"}),
        httpx.Response(
            200, json={"error_code": "KHONG_TIM_THAY", "message": fault("KHONG_TIM_THAY").decode()}
        ),
        httpx.Response(200, content=b"<html>proxy error</html>"),
    )
    with client_for(_gateway_settings(), recorder) as client:
        with pytest.raises(PlatformError) as caught:
            client.lookup("001085000001", "A", "1985")
        assert caught.value.code == "500"
        with pytest.raises(NotFoundError):
            client.lookup("001085000001", "A", "1985")
        with pytest.raises(PlatformError) as caught:
            client.lookup("001085000001", "A", "1985")
        assert "error_code, message" in str(caught.value)


def test_a_200_mb_reply_costs_at_most_the_cap(
    settings: GovLinkSettings, client_for: _Routed
) -> None:
    import tracemalloc

    from govlink.citizens.options import DEFAULT_MAX_REPLY_BYTES

    chunk = b"<Them>" + b"x" * (1 << 20) + b"</Them>"

    def body() -> Iterator[bytes]:
        yield lookup_reply().split(b"</CongDan>")[0]
        for _ in range(200):
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body())

    tracemalloc.start()
    try:
        with client_for(settings, handler) as client, pytest.raises(ReplyTooLargeError):
            client.lookup("001085000001", "A", "1985")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * DEFAULT_MAX_REPLY_BYTES
