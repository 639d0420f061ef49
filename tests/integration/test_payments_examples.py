"""The callback examples (Starlette/ASGI and Flask/WSGI) against the mock platform."""

from __future__ import annotations

import httpx
import pytest
from payments_helpers import ServedApp, choose, load_example, wait_until

from govlink.payments import MemoryCallbackStore, PaymentClient


@pytest.mark.parametrize(
    ("name", "asgi"), [("payments_asgi_callback", True), ("payments_wsgi_callback", False)]
)
def test_example_endpoint_verifies_and_settles_once(govlink_mock, name, asgi):
    govlink_mock.switch("payments", duplicate=True, retry_delay=0)
    example = load_example(name)
    book = example.PaymentBook()
    settled = []
    original = book.settle

    def counting(notification):
        settled.append(notification.transaction_id)
        original(notification)

    book.settle = counting
    app = example.create_app(govlink_mock.settings(), book=book, store=MemoryCallbackStore())
    served = ServedApp(app, asgi=asgi)
    try:
        with PaymentClient(govlink_mock.settings()) as client:
            created = client.create_payment(
                30000,
                callback_url=f"{served.base_url}/payment/callback",
                return_url=f"{served.base_url}/payment/return",
            )
            book.created[created.reference] = 30000
            redirect = choose(created.url)
        wait_until(lambda: created.reference in book.paid, what="the callback to settle")
        wait_until(
            lambda: govlink_mock.state()["payments"]["recent"][0]["callback_attempts"] == 2,
            what="the duplicate to be delivered",
        )
        assert govlink_mock.state()["payments"]["recent"][0]["reference"] == created.reference
        assert book.paid[created.reference].startswith("PP")
        assert settled == [book.paid[created.reference]]  # the duplicate was not settled again
        if asgi:
            page = httpx.get(redirect.headers["location"])
            assert "Đã thanh toán / Paid" in page.text
        # a forged callback straight to the endpoint is answered "01" and changes nothing
        forged = {
            "MaThamChieu": created.reference,
            "MaLoi": "00",
            "SoTien": 30000,
            "MaGiaoDich": "FAKE",
            "MaDoiTac": "GOVLINKDEMO",
            "MaXacThuc": "0" * 64,
            "ThoiGianGD": "20260105083000",
        }
        answer = httpx.post(f"{served.base_url}/payment/callback", json=forged)
        assert answer.json()["MaLoi"] == "01"
        assert book.paid[created.reference] != "FAKE"
    finally:
        served.stop()


@pytest.mark.parametrize(
    ("name", "asgi"), [("payments_asgi_callback", True), ("payments_wsgi_callback", False)]
)
def test_the_portal_pulls_a_dossiers_payments_from_the_example(govlink_mock, name, asgi):
    example = load_example(name)
    book = example.PaymentBook()
    app = example.create_app(govlink_mock.settings(), book=book, store=MemoryCallbackStore())
    served = ServedApp(app, asgi=asgi)
    try:
        with PaymentClient(govlink_mock.settings()) as client:
            created = client.create_payment(
                30000, callback_url=f"{served.base_url}/payment/callback"
            )
            book.created[created.reference] = 30000
            book.dossiers[created.reference] = "G22.0001"
            choose(created.url)
        wait_until(lambda: created.reference in book.paid, what="the callback to settle")
        mock_url = govlink_mock.settings().payments.base_url.rstrip("/")

        def pull(dossier: str, **extra: object) -> dict:
            order = {"url": f"{served.base_url}/payment/status", "MaDoiTac": "GOVLINKDEMO"}
            answer = httpx.post(f"{mock_url}/pull", json={**order, "MaHoSo": dossier, **extra})
            assert answer.status_code == 200
            return answer.json()

        seen = pull("G22.0001")
        assert seen["reply_checksum_ok"] is True
        assert seen["reply"]["MaLoi"] == "00"
        (payment,) = seen["reply"]["DanhSachThanhToan"]
        assert payment["MaThamChieu"] == created.reference
        assert payment["TrangThaiGD"] == "1"
        assert payment["SoTien"] == "30000"
        assert payment["MaGiaoDich"] == book.paid[created.reference]
        assert pull("G99.9999")["reply"]["MaLoi"] == "02"
        forged = pull("G22.0001", forged=True)["reply"]
        assert forged["MaLoi"] == "01"
        assert forged["DanhSachThanhToan"] == []
    finally:
        served.stop()
