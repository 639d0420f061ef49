"""Payments on the core driver: evidence on every result, receipts through the transport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from payments_fakes import BASE, PARTNER, SECRET

from govlink.core.config import GovLinkSettings
from govlink.core.errors import PlatformError
from govlink.payments import AsyncPaymentClient, PaymentClient, ReceiptInfo
from govlink.payments import _checksum as checksum
from govlink.payments._checksum import MessageKind

PDF = b"%PDF-1.4\n" + b"x" * 5000 + b"\n%%EOF\n"


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def settings(retries: int = 0) -> GovLinkSettings:
    return GovLinkSettings.load(
        payments={"base_url": BASE, "auth": {"client_id": PARTNER, "client_secret": SECRET}},
        http={"max_retries": retries, "backoff_initial": 0, "backoff_max": 0},
    )


def query_reply(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    message: dict[str, Any] = {
        "LoaiBanTin": "QUERY",
        "MaLoi": "00",
        "MaDoiTac": PARTNER,
        "MaThamChieu": body["MaThamChieu"],
        "SoTien": "150000",
        "MaTienTe": "VND",
        "MaGiaoDich": "PP1",
        "MaNganHang": "VCB",
        "ThoiGianGD": "20260105083512",
        "ThongTinGiaoDich": "Le phi",
        "TrangThaiGD": "1",
    }
    message["MaXacThuc"] = checksum.sign(MessageKind.QUERY_REPLY, message, SECRET)
    return httpx.Response(200, json=message)


@respx.mock
def test_every_result_carries_the_evidence_of_its_call():
    respx.post(f"{BASE}/api").mock(
        side_effect=lambda request: (
            httpx.Response(200, json={"MaLoi": "00", "UrlThanhToan": "https://pay.example/1"})
            if json.loads(request.content)["LoaiBanTin"] == "INIT"
            else query_reply(request)
            if json.loads(request.content)["LoaiBanTin"] == "QUERY"
            else httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
        )
    )
    receipt_info = ReceiptInfo(payer_name="NGUYỄN VĂN AN", payer_id_number="001090000001")
    with PaymentClient(settings()) as client:
        created = client.create_payment(150000, reference="REF1", receipt=receipt_info)
        status = client.query_payment("REF1", at=created.transaction_time)
        receipt = client.get_receipt("REF1", at=created.transaction_time)
    for result in (created, status, receipt):
        assert result.evidence is not None
        assert result.evidence.correlation_id
        assert result.evidence.status_code == 200
    assert created.url == "https://pay.example/1"  # the direct INIT reply shape
    masked = json.dumps(created.evidence.masked(), ensure_ascii=False) if created.evidence else ""
    assert "NGUYỄN" not in masked
    assert "001090000001" not in masked
    # QUERY and GET_BILL carry the payment's own ThoiGianGD
    sent = [json.loads(call.request.content) for call in respx.calls]
    assert sent[1]["ThoiGianGD"] == sent[0]["ThoiGianGD"] == sent[2]["ThoiGianGD"]


@respx.mock
def test_a_streamed_receipt_is_retried_through_the_transport(tmp_path: Path):
    route = respx.post(f"{BASE}/api").mock(
        side_effect=[
            httpx.Response(503, text="busy"),
            httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"}),
        ]
    )
    target = tmp_path / "bienlai.pdf"
    with PaymentClient(settings(retries=1)) as client:
        receipt = client.get_receipt("REF1", target)
    assert route.call_count == 2
    assert target.read_bytes() == PDF
    assert receipt.size == len(PDF)
    assert receipt.evidence is not None
    assert receipt.evidence.attempts == 2
    correlation = {call.request.headers.get("x-correlation-id") for call in route.calls}
    assert correlation == {receipt.evidence.correlation_id}
    assert _files(tmp_path) == ["bienlai.pdf"]


@respx.mock
async def test_the_async_receipt_stream_refuses_a_json_error_and_leaves_no_file(tmp_path: Path):
    respx.post(f"{BASE}/api").mock(
        return_value=httpx.Response(200, json={"MaLoi": "04", "MoTaLoi": "chưa thanh toán"})
    )
    async with AsyncPaymentClient(settings()) as client:
        with pytest.raises(PlatformError) as info:
            await client.get_receipt("REF1", tmp_path / "r.pdf")
    assert info.value.code == "04"
    assert info.value.evidence is not None
    assert _files(tmp_path) == []


@respx.mock
async def test_async_results_carry_evidence_and_read_the_gateway_init_shape():
    inner = json.dumps({"UrlThanhToan": "https://pay.example/2"})
    respx.post(f"{BASE}/api").mock(
        return_value=httpx.Response(200, json={"error_code": "0", "message": inner})
    )
    async with AsyncPaymentClient(settings()) as client:
        created = await client.create_payment(150000, reference="REF2")
    assert created.url == "https://pay.example/2"
    assert created.evidence is not None
    assert created.evidence.method == "POST"


@respx.mock
def test_a_direct_init_refusal_is_the_platforms_error():
    respx.post(f"{BASE}/api").mock(
        return_value=httpx.Response(200, json={"MaLoi": "04", "MoTaLoi": "trùng mã tham chiếu"})
    )
    with PaymentClient(settings()) as client, pytest.raises(PlatformError) as info:
        client.create_payment(150000, reference="REF3")
    assert info.value.code == "04"
    assert "trùng" in str(info.value)
