"""The whole payment flow in headless Chromium.

create → the payer clicks "Thanh toán / Pay" on the mock's page → the mock's callback
reaches the example ASGI endpoint, which verifies it and settles the payment → the
browser lands on the vendor's return page → the e-receipt PDF is downloaded and its
text checked.
"""

from __future__ import annotations

import importlib.util
import io
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govlink.payments import MemoryCallbackStore, PaymentClient, ReceiptInfo
from mock_servers.payments.receipt import find_font, fold_text

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "payments_asgi_callback.py"


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("govlink_example_payments_asgi", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def vendor_app(govlink_mock) -> Iterator[tuple[str, Any]]:
    """The example ASGI callback app under uvicorn on a free loopback port."""
    import uvicorn

    example = _load_example()
    book = example.PaymentBook()
    app = example.create_app(govlink_mock.settings(), book=book, store=MemoryCallbackStore())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", book
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def test_pay_in_the_browser_and_download_the_receipt(
    chromium_browser, govlink_mock, vendor_app, tmp_path: Path
):
    from pypdf import PdfReader

    base, book = vendor_app
    with PaymentClient(govlink_mock.settings()) as client:
        created = client.create_payment(
            200000,
            description="Le phi ho so G22.0042",
            receipt=ReceiptInfo(
                procedure_code="2.000488",
                procedure_name="Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
                dossier_code="G22.0042",
                payer_name="LÊ THỊ HOA",
                fees=[{"LoaiPhiLePhi": "LePhi", "TenPhiLePhi": "Lệ phí", "SoTien": 200000}],
            ),
            callback_url=f"{base}/payment/callback",
            return_url=f"{base}/payment/return",
        )
        book.created[created.reference] = 200000

        context = chromium_browser.new_context()
        try:
            page = context.new_page()
            page.goto(created.url)
            assert page.locator("#amount").inner_text() == "200.000 VND"
            assert page.locator("#reference").inner_text() == created.reference
            # long Vietnamese text wraps between words, never inside one
            page.set_viewport_size({"width": 360, "height": 800})
            wrap = page.evaluate(
                "() => [...document.querySelectorAll('dd')].map(e => getComputedStyle(e).wordBreak)"
            )
            assert set(wrap) == {"normal"}
            page.select_option("#bank", "CTG")
            page.click("#pay")
            page.wait_for_url(f"{base}/payment/return**", timeout=15000)
            # the callback was verified (and the payment settled) before the redirect
            assert page.locator("#result").inner_text().startswith("Đã thanh toán / Paid")
            assert page.locator("#reference").inner_text() == created.reference
        finally:
            context.close()

        assert created.reference in book.paid
        status = client.query_payment(created.reference)
        assert status.paid
        assert status.bank_code == "CTG"
        assert book.paid[created.reference] == status.transaction_id

        receipt = client.get_receipt(created.reference, tmp_path / "bienlai.pdf")
    assert receipt.path is not None
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.read_bytes())).pages)

    def shown(value: str) -> str:  # ASCII-folded when no Unicode font is installed
        return value if find_font() is not None else fold_text(value)

    assert shown("BIÊN LAI THU PHÍ, LỆ PHÍ ĐIỆN TỬ") in text
    assert shown("LÊ THỊ HOA") in text
    assert "200.000 VND" in text
    assert shown("2.000488 - Cấp Phiếu lý lịch tư pháp") in text
    assert status.transaction_id in text
    assert created.reference in text
