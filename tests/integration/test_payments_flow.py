"""Payments against the mock platform: create → page → callback → verify → query → receipt."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from payments_helpers import VendorEndpoint, choose, wait_for_delivery
from pypdf import PdfReader

from govlink.core.errors import AuthenticationError, NotFoundError, PlatformError
from govlink.payments import AsyncPaymentClient, PaymentClient, PaymentState, ReceiptInfo
from mock_servers.payments.receipt import find_font, fold_text

RECEIPT = ReceiptInfo(
    procedure_code="1.000894",
    procedure_name="Đăng ký kết hôn",
    dossier_code="G22.0001",
    payer_name="TRẦN THỊ BÌNH",
    fees=[
        {"LoaiPhiLePhi": "Phi", "TenPhiLePhi": "Phí", "SoTien": 120000},
        {"LoaiPhiLePhi": "LePhi", "TenPhiLePhi": "Lệ phí", "SoTien": 30000},
    ],
)


@pytest.fixture
def payments(govlink_mock) -> Iterator[PaymentClient]:
    with PaymentClient(govlink_mock.settings()) as client:
        yield client


@pytest.fixture
def vendor(payments) -> Iterator[VendorEndpoint]:
    endpoint = VendorEndpoint(payments)
    yield endpoint
    endpoint.stop()


def create(payments: PaymentClient, vendor: VendorEndpoint, amount: int = 150000, **kw):
    created = payments.create_payment(
        amount,
        description="Le phi ho so G22.0001",
        receipt=kw.pop("receipt", RECEIPT if amount == 150000 else None),
        callback_url=vendor.callback_url,
        return_url=vendor.return_url,
        **kw,
    )
    vendor.created[created.reference] = amount
    return created


def shown(text: str) -> str:
    """How the receipt prints ``text`` (ASCII-folded when no Unicode font is installed)."""
    return text if find_font() is not None else fold_text(text)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_full_flow_sync(govlink_mock, payments, vendor, tmp_path: Path):
    created = create(payments, vendor)
    assert payments.query_payment(created.reference).state is PaymentState.PENDING

    page = httpx.get(created.url)
    assert page.status_code == 200
    for label in ("Thanh toán / Pay", "Huỷ / Cancel", "150.000 VND", created.reference):
        assert label in page.text

    redirect = choose(created.url, "pay")
    assert redirect.status_code == 303
    location = redirect.headers["location"]
    assert location.startswith(vendor.return_url + "?")
    assert f"MaThamChieu={created.reference}" in location

    (outcome,) = vendor.wait_for(1)
    assert outcome.accepted
    assert outcome.paid
    assert [n.reference for n in vendor.processed] == [created.reference]

    status = payments.query_payment(created.reference)
    assert status.state is PaymentState.PAID
    assert status.amount == 150000
    assert status.transaction_id == outcome.notification.transaction_id

    receipt = payments.get_receipt(created.reference, tmp_path / "bienlai.pdf")
    text = pdf_text(receipt.read_bytes())
    for expected in (
        "TRẦN THỊ BÌNH",
        "150.000 VND",
        "1.000894 - Đăng ký kết hôn",
        status.transaction_id,
        created.reference,
    ):
        assert shown(expected) in text
    assert wait_for_delivery(govlink_mock, created.reference, "delivered")["callback_attempts"] == 1


async def test_full_flow_async(govlink_mock, payments, vendor):
    async with AsyncPaymentClient(govlink_mock.settings()) as client:
        created = await client.create_payment(
            30000, callback_url=vendor.callback_url, return_url=vendor.return_url
        )
        vendor.created[created.reference] = 30000
        async with httpx.AsyncClient(timeout=15) as browser:
            answer = await browser.post(created.url, data={"action": "pay", "bank": "BIDV"})
        assert answer.status_code == 303
        (outcome,) = vendor.wait_for(1)
        assert outcome.paid
        status = await client.query_payment(created.reference)
        assert status.paid
        assert status.bank_code == "BIDV"
        receipt = await client.get_receipt(created.reference)
        assert receipt.read_bytes().startswith(b"%PDF-")
        assert "30.000 VND" in pdf_text(receipt.read_bytes())


# The public TrangThaiGD table has no "cancelled": a cancelled payment reads as failed.
@pytest.mark.parametrize(("action", "state"), [("fail", "failed"), ("cancel", "failed")])
def test_failed_and_cancelled_payments(payments, vendor, action, state):
    created = create(payments, vendor, 30000)
    assert choose(created.url, action).status_code == 303
    (outcome,) = vendor.wait_for(1)
    assert outcome.accepted
    assert not outcome.paid
    assert vendor.processed[0].error_code != "00"
    assert payments.query_payment(created.reference).state.value == state
    with pytest.raises(PlatformError) as info:
        payments.get_receipt(created.reference)
    assert info.value.code == "04"
    # the page does not take a second choice
    assert choose(created.url, "pay").status_code == 303
    assert payments.query_payment(created.reference).state.value == state


def test_without_a_return_url_the_mock_shows_its_result_page(payments, vendor):
    created = payments.create_payment(30000)
    redirect = choose(created.url, "pay")
    assert "/payment/done/" in redirect.headers["location"]
    done = httpx.get(redirect.headers["location"])
    assert 'data-state="paid"' in done.text
    assert vendor.outcomes == []  # no callback URL: nothing sent


def test_wrong_secret_is_refused_by_the_mock(govlink_mock):
    settings = govlink_mock.settings(payments={"auth": {"client_secret": "not-the-secret"}})
    with PaymentClient(settings) as client:
        with pytest.raises(AuthenticationError, match="MaXacThuc"):
            client.create_payment(30000)
        with pytest.raises(AuthenticationError):
            client.query_payment("ANY")


def test_unknown_reference(payments):
    with pytest.raises(NotFoundError):
        payments.query_payment("NO-SUCH-PAYMENT")


def test_same_reference_twice_returns_the_same_page_or_is_refused(payments, vendor):
    first = create(payments, vendor, 30000, reference="GLSAMEREF1")
    again = payments.create_payment(30000, reference="GLSAMEREF1")
    assert again.url == first.url
    with pytest.raises(PlatformError) as info:
        payments.create_payment(40000, reference="GLSAMEREF1")
    assert info.value.code == "04"  # MaLoi of the direct INIT reply


def test_switch_forged_callback_is_rejected(govlink_mock, payments, vendor):
    govlink_mock.switch("payments", forged=True, retry_delay=0)
    created = create(payments, vendor, 30000)
    choose(created.url)
    (outcome,) = vendor.wait_for(1)
    assert outcome.reason == "bad_checksum"
    assert not outcome.accepted
    assert vendor.processed == []
    recent = wait_for_delivery(govlink_mock, created.reference, "refused")
    assert recent["callback_attempts"] == 1  # a signed refusal ends delivery
    # reconcile would still find it paid on the platform
    assert payments.query_payment(created.reference).paid


def test_switch_duplicate_callback_is_processed_once(govlink_mock, payments, vendor):
    govlink_mock.switch("payments", duplicate=True, retry_delay=0)
    created = create(payments, vendor, 30000)
    choose(created.url)
    first, second = vendor.wait_for(2)
    assert first.first_time
    assert second.duplicate
    assert second.reply == first.reply
    assert len(vendor.processed) == 1


def test_switch_wrong_amount_is_rejected(govlink_mock, payments, vendor):
    govlink_mock.switch("payments", wrong_amount=5000)
    created = create(payments, vendor, 30000)
    choose(created.url)
    (outcome,) = vendor.wait_for(1)
    assert outcome.reason == "amount_mismatch"
    assert outcome.reply["MaLoi"] == "03"
    assert outcome.notification.amount == 35000
    assert vendor.processed == []


def test_switch_late_callback_is_rejected_as_stale(govlink_mock, payments):
    vendor = VendorEndpoint(payments, tolerance=timedelta(seconds=1))
    try:
        govlink_mock.switch("payments", late=1.5)
        created = create(payments, vendor, 30000)
        choose(created.url)
        assert vendor.outcomes == []  # not sent before the redirect
        (outcome,) = vendor.wait_for(1, timeout=10)
        assert outcome.reason == "stale"
        assert vendor.processed == []
    finally:
        vendor.stop()


def test_mock_retries_until_the_vendor_answers(govlink_mock, payments, vendor):
    govlink_mock.switch("payments", retry_delay=0.05)
    vendor.fail_next = 2
    created = create(payments, vendor, 30000)
    choose(created.url)
    (outcome,) = vendor.wait_for(1)
    assert outcome.first_time
    assert len(vendor.raw) == 3  # two HTTP 500s, then the verified one
    recent = wait_for_delivery(govlink_mock, created.reference, "delivered")
    assert recent["callback_attempts"] == 3


def test_mock_gives_up_after_max_attempts(govlink_mock, payments, vendor):
    govlink_mock.switch("payments", retry_delay=0.01, max_attempts=3)
    vendor.fail_next = 10
    created = create(payments, vendor, 30000)
    choose(created.url)
    recent = wait_for_delivery(govlink_mock, created.reference, "failed")
    assert recent["callback_attempts"] == 3
    assert vendor.outcomes == []
    assert payments.query_payment(created.reference).paid


def test_bad_switch_values_are_refused(govlink_mock):
    from govlink.testing._handle import MockAdminError

    with pytest.raises(MockAdminError, match="late"):
        govlink_mock.switch("payments", late="soon")
    with pytest.raises(MockAdminError, match="unknown switch"):
        govlink_mock.switch("payments", teleport=True)


def test_receipt_fee_lines_show_names_not_codes(payments, vendor, tmp_path: Path):
    receipt = ReceiptInfo(
        payer_name="TRẦN THỊ BÌNH",
        fees=[
            {"LoaiPhiLePhi": "Phi", "TenPhiLePhi": "Phí thẩm định", "SoTien": 100000},
            {"LoaiPhiLePhi": "LePhi", "SoTien": 50000},  # no name: the kind's name is printed
        ],
    )
    created = create(payments, vendor, 150000, receipt=receipt)
    choose(created.url, "pay")
    vendor.wait_for(1)
    text = pdf_text(
        payments.get_receipt(created.reference, at=created.transaction_time).read_bytes()
    )
    assert shown("Phí thẩm định") in text
    assert shown("Lệ phí") in text
    assert "LePhi" not in text
    assert "100.000 VND" in text


def test_the_payment_page_does_not_break_vietnamese_words(payments, vendor):
    created = create(payments, vendor, 30000)
    page = httpx.get(created.url).text
    assert "break-all" not in page  # words wrap between words, never inside one
    assert "overflow-wrap:break-word" in page
    assert 'class="code" id="reference"' in page  # only codes may wrap anywhere
