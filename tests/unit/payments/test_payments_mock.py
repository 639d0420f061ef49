"""The payment mock in-process (no socket): it checks messages like the platform does."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
import respx
from pypdf import PdfReader
from starlette.applications import Starlette
from starlette.routing import Mount

from mock_servers.context import MemoryStore, MockContext, SeedData, VirtualClock
from mock_servers.payments import create_platform, signing
from mock_servers.payments.receipt import render_receipt

SECRET = "demo-payment-secret"
SEED = {
    "clients": [
        {"client_id": "GOVLINKDEMO", "client_secret": SECRET, "kind": "payment"},
        {"client_id": "other", "client_secret": "x", "kind": "sso"},
    ]
}


@pytest.fixture
def platform():
    ctx = MockContext(clock=VirtualClock(), store=MemoryStore(), seed=SeedData(dict(SEED)))
    return create_platform(ctx)


@pytest.fixture
async def api(platform):
    app = Starlette(routes=[Mount("/payment", app=platform.app)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock.test") as client:
        yield client


def init(**changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "LoaiBanTin": "INIT",
        "PhienBan": "1.0.6",
        "MaDoiTac": "GOVLINKDEMO",
        "MaThamChieu": "REF1",
        "SoTien": 150000,
        "LoaiHinhThanhToan": "PAY",
        "MaKenhThanhToan": "1",
        "MaThietBi": "1",
        "NgonNgu": "vi-VN",
        "MaTienTe": "VND",
        "MaNganHang": "",
        "ThongTinGiaoDich": "Le phi",
        "ThoiGianGD": "20260105083000",
        "Ip": "127.0.0.1",
    }
    message.update(changes)
    message["MaXacThuc"] = signing.digest(signing.INIT_ORDER, message, SECRET)
    return message


def payment_url(reply: dict[str, object]) -> str:
    """UrlThanhToan of either INIT reply shape."""
    if "error_code" in reply:
        reply = json.loads(str(reply["message"]))
    assert reply["MaLoi"] == "00"
    return str(reply["UrlThanhToan"])


def init_code(reply: dict[str, object]) -> str:
    """The INIT error code of either shape, without the direct shape's leading zero."""
    return str(reply.get("error_code", reply.get("MaLoi"))).lstrip("0") or "0"


async def test_init_replies_with_the_payment_url(api, platform):
    reply = (await api.post("/payment/api", json=init())).json()
    assert reply["MaLoi"] == "00"  # the platform's own shape
    url = payment_url(reply)
    assert url.startswith("http://mock.test/payment/pay/")
    platform.apply_switches({"init_reply": "gateway"})
    wrapped = (await api.post("/payment/api", json=init())).json()
    assert wrapped["error_code"] == "0"
    assert payment_url(wrapped) == url  # the same INIT again: the same page
    page = await api.get(url)
    assert "Thanh toán / Pay" in page.text
    assert "150.000 VND" in page.text


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({**init(), "MaXacThuc": "0" * 64}, "2"),
        ({**init(), "SoTien": 150001}, "2"),  # altered after signing
        (init(MaDoiTac="NOBODY"), "3"),
        (init(SoTien="abc"), "5"),
        (init(SoTien=0), "5"),
        (init(ThoiGianGD="2026-01-05"), "1"),
        ({k: v for k, v in init().items() if k != "MaXacThuc"}, "1"),
        (init(ThongTinBienLai={"PhiLePhi": [{"SoTien": 100}]}), "5"),
    ],
)
async def test_init_is_refused_like_the_platform(api, message, code):
    reply = (await api.post("/payment/api", json=message)).json()
    assert init_code(reply) == code


async def test_float_amount_cannot_even_be_signed(api):
    message = init()
    message["SoTien"] = 150000.0
    assert init_code((await api.post("/payment/api", json=message)).json()) == "2"


async def test_not_json_and_unknown_message_type(api):
    assert (await api.post("/payment/api", content=b"<xml/>")).status_code == 400
    reply = (await api.post("/payment/api", json={"LoaiBanTin": "REFUND"})).json()
    assert init_code(reply) == "1"


async def test_query_checks_its_checksum(api):
    await api.post("/payment/api", json=init())
    query = {
        "LoaiBanTin": "QUERY",
        "PhienBan": "1.0.6",
        "MaDoiTac": "GOVLINKDEMO",
        "MaThamChieu": "REF1",
        "ThoiGianGD": "20260105090000",
    }
    good = {**query, "MaXacThuc": signing.digest(signing.LOOKUP_ORDER, query, SECRET)}
    reply = (await api.post("/payment/api", json=good)).json()
    assert reply["MaLoi"] == "00"
    assert reply["TrangThaiGD"] == "3"  # pending
    assert signing.matches(signing.QUERY_REPLY_ORDER, reply, SECRET)
    bad = (await api.post("/payment/api", json={**query, "MaXacThuc": "0" * 64})).json()
    assert bad["MaLoi"] == "01"
    bill = {**query, "LoaiBanTin": "GET_BILL"}
    bill["MaXacThuc"] = signing.digest(signing.LOOKUP_ORDER, bill, SECRET)
    assert (await api.post("/payment/api", json=bill)).json()["MaLoi"] == "04"


async def test_callback_retries_go_through_the_switches(api, platform):
    vendor_url = "http://vendor.test/cb"
    with respx.mock(assert_all_called=True) as vendor:  # the mock's callbacks; api is ASGI
        cb = vendor.post(vendor_url).respond(200, json={"MaLoi": "00", "MoTaLoi": "ok"})
        platform.apply_switches({"wrong_amount": True})
        init_reply = await api.post("/payment/api", json=init(UrlCallback=vendor_url))
        url = payment_url(init_reply.json())
        answer = await api.post(url, data={"action": "pay", "bank": "VCB"})
        assert answer.status_code == 303
        (call,) = cb.calls
    callback = json.loads(call.request.content)
    assert callback["SoTien"] == 151000  # wrong_amount: +1000, correctly signed
    assert signing.matches(signing.IPN_ORDER, callback, SECRET)
    summary = platform.summary()
    assert summary["by_status"] == {"paid": 1}
    assert summary["recent"][0]["callback_state"] == "delivered"
    platform.reset()
    assert platform.summary()["transactions"] == 0


def test_switch_values_are_checked(platform):
    for bad in ({"forged": "yes"}, {"late": -1}, {"max_attempts": 0}, {"wrong_amount": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            platform.apply_switches(bad)
    with pytest.raises(ValueError, match="unknown switch"):
        platform.apply_switches({"explode": True})


def test_receipt_without_a_unicode_font_is_folded_to_ascii(monkeypatch, tmp_path):
    from datetime import datetime

    monkeypatch.setenv("GOVLINK_RECEIPT_FONT", str(tmp_path / "missing.ttf"))
    tx = {
        "reference": "REF1",
        "amount": 150000,
        "transaction_id": "PP1",
        "paid_at": "20260105083512",
        "description": "Lệ phí",
        "receipt": {"HoTenNguoiNop": "NGUYỄN VĂN ĐỨC", "MaTTHC": "1.000894"},
    }
    pdf = render_receipt(tx, datetime(2026, 1, 5, 8, 40))
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "NGUYEN VAN DUC" in text
    assert "BIEN LAI THU PHI" in text
    assert "150.000 VND" in text
