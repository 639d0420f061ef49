"""The public wire against the mock: KeyPay profile end to end, the payment's own time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from payments_helpers import VendorEndpoint, choose, wait_for_delivery

from govlink.core.errors import NotFoundError
from govlink.payments import PaymentClient


@pytest.fixture
def keypay(govlink_mock) -> Iterator[PaymentClient]:
    # the mock partner has one key for both (no ``password`` in the seed)
    options = {"profile": "legacy", "callback_key": "demo-payment-secret"}
    settings = govlink_mock.settings(payments={"options": options})
    with PaymentClient(settings) as client:
        yield client


def test_keypay_profile_end_to_end(govlink_mock, keypay):
    vendor = VendorEndpoint(keypay)
    try:
        created = keypay.create_payment(
            150000, callback_url=vendor.callback_url, return_url=vendor.return_url
        )
        vendor.created[created.reference] = 150000
        assert keypay.query_payment(created.reference).state.value == "pending"
        assert choose(created.url, "pay").status_code == 303
        (outcome,) = vendor.wait_for(1)
        assert outcome.accepted
        assert outcome.paid
        assert outcome.reply == {"return_code": "00", "return_msg": "Thành công"}
        summary = wait_for_delivery(govlink_mock, created.reference, "delivered")
        assert summary["last_callback"]["MaLoi"] == "00"
        assert keypay.query_payment(created.reference).paid  # the signed detail query
    finally:
        vendor.stop()


def test_keypay_forged_callback_is_refused(govlink_mock, keypay):
    vendor = VendorEndpoint(keypay)
    try:
        govlink_mock.switch("payments", forged=True, retry_delay=0, max_attempts=1)
        created = keypay.create_payment(150000, callback_url=vendor.callback_url)
        vendor.created[created.reference] = 150000
        choose(created.url, "pay")
        (outcome,) = vendor.wait_for(1)
        assert outcome.reason == "bad_checksum"
        assert vendor.processed == []
        summary = wait_for_delivery(govlink_mock, created.reference, "refused")
        assert summary["last_callback"]["forged"] is True
    finally:
        vendor.stop()


def test_query_and_bill_send_the_payments_own_time(govlink_mock):
    govlink_mock.switch("payments", strict_lookup_time=True)
    with PaymentClient(govlink_mock.settings()) as payments:
        created = payments.create_payment(30000)
        assert created.transaction_time is not None
        status = payments.query_payment(created.reference, at=created.transaction_time)
        assert status.state.value == "pending"
        with pytest.raises(NotFoundError):
            payments.query_payment(created.reference, at="20200101000000")  # another time


def test_the_gateway_init_shape_is_read_too(govlink_mock):
    govlink_mock.switch("payments", init_reply="gateway")
    with PaymentClient(govlink_mock.settings()) as payments:
        created = payments.create_payment(30000)
    assert "/payment/pay/" in created.url
