"""CitizenClient / AsyncCitizenClient over httpx.MockTransport with hand-written replies."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from collections.abc import Callable

import httpx
import pytest
from citizens_support import ENDPOINT, NS, fault, lookup_reply, make_settings, verify_reply
from lxml import etree

from govlink.citizens import AsyncCitizenClient, CitizenClient
from govlink.citizens.service import WSDL_PATH
from govlink.core.config import GovLinkSettings
from govlink.core.errors import (
    AuthenticationError,
    NotFoundError,
    PlatformError,
    ValidationError,
)
from govlink.core.soap import SoapFaultError, wsdl_load_count

Handler = Callable[[httpx.Request], httpx.Response]


def _xml(response: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=response, headers={"content-type": "text/xml"})


class Recorder:
    """A MockTransport handler that records requests and plays replies in order."""

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


def _client(
    settings: GovLinkSettings, handler: Handler, **kwargs: Callable[[], str]
) -> CitizenClient:
    return CitizenClient(settings, transport=httpx.MockTransport(handler), **kwargs)


def test_lookup_returns_a_typed_citizen_with_unknown_elements_kept(
    settings: GovLinkSettings,
) -> None:
    recorder = Recorder(_xml(lookup_reply()))
    with _client(settings, recorder) as client:
        citizen = client.lookup("001085000001", "nguyễn văn an", "1985-03-12")
    assert citizen.full_name == "NGUYỄN VĂN AN"
    assert citizen.birth_date is not None
    assert citizen.birth_date.isoformat() == "1985-03-12"
    assert citizen.father is not None
    assert citizen.father.full_name == "NGUYỄN VĂN BẢY"
    assert citizen.extra["TinhTrangHonNhan"] == "Đã kết hôn"
    assert "<NoiCap>" in citizen.extra["NgayCapCCCD"].replace("ns0:", "")
    assert citizen.request_id == recorder.field(0, "MaYeuCau")
    assert citizen.evidence is not None
    assert citizen.evidence.status_code == 200


def test_request_carries_context_unique_ids_normalised_input_and_soap_action() -> None:
    settings = make_settings(
        options={"MaDVC": "DVC-1", "ma_can_bo": "CB-9", "MaDonVi": "000.00.00.H47"},
        paths={"service": "/ws/CongDan"},
    )
    recorder = Recorder(_xml(lookup_reply()))
    with _client(settings, recorder) as client:
        client.lookup("001085000001", "nguyễn  văn an", 1985)
        client.lookup(so_cmnd="079062003", ho_ten="Lê Văn Cường", ngay_sinh="19620101")
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


def test_configurable_request_id_generator(settings: GovLinkSettings) -> None:
    recorder = Recorder(_xml(lookup_reply()))
    with _client(settings, recorder, request_id_factory=lambda: "H47-0001") as client:
        citizen = client.lookup("001085000001", "A", "1985")
    assert recorder.field(0, "MaYeuCau") == "H47-0001"
    assert citizen.request_id == "H47-0001"


def test_hashed_basic_header_verifies_independently(settings: GovLinkSettings) -> None:
    recorder = Recorder(_xml(lookup_reply()))
    with _client(settings, recorder) as client:
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


def test_x_road_client_header_when_the_profile_says_so() -> None:
    settings = make_settings(
        auth={"style": "x_road", "extra": {"x_road_client": "VN/GOV/000.00.00.H47/govlink-demo"}}
    )
    recorder = Recorder(_xml(lookup_reply()))
    with _client(settings, recorder) as client:
        client.lookup("001085000001", "A", "1985")
    request = recorder.requests[0]
    assert request.headers["X-Road-Client"] == "VN/GOV/000.00.00.H47/govlink-demo"
    assert "Authorization" not in request.headers


def test_gateway_bearer_token_fetched_once_and_sent() -> None:
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

    with _client(settings, handler) as client:
        client.lookup("001085000001", "A", "1985")
        client.lookup("001085000001", "A", "1985")
    token_calls = [r for r in seen if r.url.path == "/gateway/token"]
    soap_calls = [r for r in seen if r.url.path == "/dancu/CongDanService"]
    assert len(token_calls) == 1
    assert str(token_calls[0].url) == "http://gateway.test/gateway/token"
    assert [r.headers["Authorization"] for r in soap_calls] == ["Bearer tok-1"] * 2


def test_not_found_fault(settings: GovLinkSettings) -> None:
    recorder = Recorder(_xml(fault("KHONG_TIM_THAY", "Không tìm thấy"), 500))
    with _client(settings, recorder) as client, pytest.raises(NotFoundError) as caught:
        client.lookup("001085000001", "A", "1985")
    assert caught.value.code == "KHONG_TIM_THAY"
    assert "Không tìm thấy" in str(caught.value)
    assert len(recorder.requests) == 1  # a fault is an answer: never retried


def test_empty_collection_is_not_found_too(settings: GovLinkSettings) -> None:
    recorder = Recorder(_xml(lookup_reply(records="")))
    with _client(settings, recorder) as client, pytest.raises(NotFoundError):
        client.lookup("001085000001", "A", "1985")


def test_refused_credentials(settings: GovLinkSettings) -> None:
    recorder = Recorder(_xml(fault("XAC_THUC_THAT_BAI", "Xác thực không thành công"), 401))
    with _client(settings, recorder) as client, pytest.raises(AuthenticationError) as caught:
        client.lookup("001085000001", "A", "1985")
    assert "Xác thực không thành công" in str(caught.value)


def test_service_fault_keeps_code_and_text(settings: GovLinkSettings) -> None:
    reply = fault("LOI_HE_THONG", "Lỗi hệ thống", faultcode="soap:Server")
    recorder = Recorder(_xml(reply, 500))
    with _client(settings, recorder) as client, pytest.raises(PlatformError) as caught:
        client.lookup("001085000001", "A", "1985")
    error = caught.value
    assert isinstance(error, SoapFaultError)
    assert not isinstance(error, NotFoundError)
    assert error.code == "LOI_HE_THONG"
    assert error.fault.code == "soap:Server"
    assert error.fault.message == "Lỗi hệ thống"


def test_a_503_is_retried_with_the_same_request_id(settings: GovLinkSettings) -> None:
    recorder = Recorder(httpx.Response(503), _xml(lookup_reply()))
    with _client(settings, recorder) as client:
        client.lookup("001085000001", "A", "1985")
    assert len(recorder.requests) == 2
    assert recorder.field(0, "MaYeuCau") == recorder.field(1, "MaYeuCau")


def test_invalid_input_sends_nothing(settings: GovLinkSettings) -> None:
    recorder = Recorder(_xml(lookup_reply()))
    with _client(settings, recorder) as client, pytest.raises(ValidationError) as caught:
        client.lookup("12345", "A", "1985")
    assert caught.value.field == "so_dinh_danh"
    assert recorder.requests == []


def test_verify_reports_mismatched_fields(settings: GovLinkSettings) -> None:
    recorder = Recorder(_xml(verify_reply(False, "NgayThangNamSinh", "GioiTinh")))
    with _client(settings, recorder) as client:
        result = client.verify("001085000001", "A", "1985-03-13", gioi_tinh="Nữ")
    assert result.matches is False
    assert result.mismatched_fields == ("NgayThangNamSinh", "GioiTinh")
    assert recorder.field(0, "GioiTinh") == "Nữ"
    assert recorder.requests[0].headers["SOAPAction"].endswith('XacThucThongTinCongDan"')


def test_wsdl_parsed_once_and_no_network_ever_attempted(
    settings: GovLinkSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"network access attempted: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    recorder = Recorder(_xml(lookup_reply()))
    clients = [_client(settings, recorder) for _ in range(5)]
    async_clients = [
        AsyncCitizenClient(settings, transport=httpx.MockTransport(recorder)) for _ in range(5)
    ]
    for client in clients:
        client.lookup("001085000001", "A", "1985")
        client.close()
    assert wsdl_load_count(WSDL_PATH) == 1
    documents = {id(c.soap.document) for c in clients}
    documents |= {id(c.soap.document) for c in async_clients}
    assert documents == {id(clients[0].soap.document)}
    assert all(r.url.path == "/dancu/CongDanService" for r in recorder.requests)


async def test_async_lookup_verify_and_fault(settings: GovLinkSettings) -> None:
    recorder = Recorder(
        _xml(lookup_reply()),
        _xml(verify_reply(True)),
        _xml(fault("KHONG_TIM_THAY"), 500),
    )
    async with AsyncCitizenClient(settings, transport=httpx.MockTransport(recorder)) as client:
        citizen = await client.lookup("001085000001", "A", "1985-03-12")
        assert citizen.id_number == "001085000001"
        result = await client.verify("001085000001", "A", "1985-03-12")
        assert result.matches is True
        assert result.mismatched_fields == ()
        with pytest.raises(NotFoundError):
            await client.lookup("001085000001", "A", "1985-03-12")
    assert len({recorder.field(i, "MaYeuCau") for i in range(3)}) == 3


def test_facade_exposes_the_citizens_namespace(settings: GovLinkSettings) -> None:
    from govlink import GovLink

    recorder = Recorder(_xml(lookup_reply()))
    with GovLink(settings, transport=httpx.MockTransport(recorder)) as gl:
        assert gl.citizens.lookup("001085000001", "A", "1985").id_number == "001085000001"
