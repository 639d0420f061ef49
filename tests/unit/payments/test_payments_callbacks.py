"""Callback verification: every bad callback refused, duplicates answered once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from govlink.core.clock import ManualClock, format_compact
from govlink.payments import (
    CallbackVerifier,
    ExpectedPayment,
    MemoryCallbackStore,
    PaymentNotification,
    SqliteCallbackStore,
    verify_callback,
)
from govlink.payments import _checksum as checksum
from govlink.payments._checksum import MessageKind

SECRET = "demo-payment-secret"
PARTNER = "GOVLINKDEMO"
NOW = datetime(2026, 1, 5, 1, 40, tzinfo=UTC)  # 08:40 in Vietnam
CREATED = {"REF1": 150000, "REF2": 30000}


def lookup(reference: str) -> ExpectedPayment | None:
    amount = CREATED.get(reference)
    return None if amount is None else ExpectedPayment(reference, amount)


def callback(**changes: object) -> dict[str, object]:
    message: dict[str, object] = {
        "LoaiBanTin": "CONFIRM",
        "MaLoi": "00",
        "MaDoiTac": PARTNER,
        "MaThamChieu": "REF1",
        "SoTien": 150000,
        "MaTienTe": "VND",
        "MaGiaoDich": "PP0001",
        "MaNganHang": "VCB",
        "ThoiGianGD": format_compact(NOW - timedelta(minutes=5)),
        "ThongTinGiaoDich": "Le phi",
    }
    message.update(changes)
    message["MaXacThuc"] = checksum.sign(MessageKind.IPN, message, SECRET)
    return message


@pytest.fixture
def verifier() -> CallbackVerifier:
    return CallbackVerifier(
        SECRET, lookup, MemoryCallbackStore(), partner_code=PARTNER, clock=ManualClock(NOW)
    )


def assert_signed_reply(reply: dict[str, object], code: str, echoed: object = None) -> None:
    """The reply names the code and the partner and echoes the callback's MaXacThuc."""
    assert reply["MaLoi"] == code
    assert reply["MaDoiTac"] == PARTNER
    assert isinstance(reply["MaXacThuc"], str)
    if echoed is not None:
        assert reply["MaXacThuc"] == echoed


def test_genuine_callback_is_accepted_and_processed_once(verifier):
    processed: list[PaymentNotification] = []
    outcome = verifier.verify(callback(), process=processed.append)
    assert outcome.accepted
    assert outcome.paid
    assert outcome.first_time
    assert outcome.reason == "ok"
    assert_signed_reply(outcome.reply, "00", echoed=callback()["MaXacThuc"])
    assert outcome.reply["ThoiGianGD"] == callback()["ThoiGianGD"]
    assert [n.transaction_id for n in processed] == ["PP0001"]


def test_duplicate_gets_the_same_answer_and_is_not_processed_again(verifier):
    processed: list[PaymentNotification] = []
    first = verifier.verify(callback(), process=processed.append)
    second = verifier.verify(callback(), process=processed.append)
    assert second.duplicate
    assert second.accepted
    assert not second.first_time
    assert second.reply == first.reply  # byte for byte the same answer
    assert len(processed) == 1


def test_concurrent_duplicates_are_processed_once(verifier):
    processed: list[str] = []
    barrier = threading.Barrier(8)

    def slow(notification: PaymentNotification) -> None:
        processed.append(notification.transaction_id)

    def deliver() -> None:
        barrier.wait()
        verifier.verify(callback(), process=slow)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert processed == ["PP0001"]


def test_forged_checksum_is_refused_and_not_remembered(verifier):
    forged = callback()
    forged["MaXacThuc"] = checksum.sign(MessageKind.IPN, forged, "attacker-secret")
    processed: list[PaymentNotification] = []
    outcome = verifier.verify(forged, process=processed.append)
    assert not outcome.accepted
    assert outcome.reason == "bad_checksum"
    assert_signed_reply(outcome.reply, "01")
    assert processed == []
    # the forged message did not poison the store: the genuine one is still processed
    assert verifier.verify(callback(), process=processed.append).first_time
    assert len(processed) == 1


def test_altered_amount_breaks_the_checksum(verifier):
    altered = callback()
    altered["SoTien"] = 1
    assert verifier.verify(altered).reason == "bad_checksum"


def test_other_partner_is_refused(verifier):
    other = callback(MaDoiTac="OTHERPARTNER")
    outcome = verifier.verify(other)
    assert outcome.reason == "partner_mismatch"
    assert outcome.reply["MaLoi"] == "01"


def test_wrong_amount_is_refused_with_the_same_answer_each_time(verifier):
    processed: list[PaymentNotification] = []
    outcome = verifier.verify(callback(SoTien=151000), process=processed.append)
    assert not outcome.accepted
    assert outcome.reason == "amount_mismatch"
    assert "151000 VND" in outcome.message
    assert "150000 VND was created" in outcome.message
    assert_signed_reply(outcome.reply, "03")
    again = verifier.verify(callback(SoTien=151000), process=processed.append)
    assert again.duplicate
    assert again.reply == outcome.reply
    assert processed == []


def test_wrong_currency_is_refused(verifier):
    outcome = verifier.verify(callback(MaTienTe="USD"))
    assert outcome.reason == "currency_mismatch"
    assert_signed_reply(outcome.reply, "04")


def test_unknown_reference_is_refused_but_not_remembered(verifier):
    outcome = verifier.verify(callback(MaThamChieu="NOPE"))
    assert outcome.reason == "unknown_reference"
    assert_signed_reply(outcome.reply, "02")
    assert verifier.store.get(f"{PARTNER}:PP0001") is None


def test_replayed_old_callback_is_refused(verifier):
    old = callback(ThoiGianGD=format_compact(NOW - timedelta(days=2)), MaGiaoDich="PP-OLD")
    outcome = verifier.verify(old)
    assert not outcome.accepted
    assert outcome.reason == "stale"
    assert_signed_reply(outcome.reply, "05")


def test_tolerance_is_configurable_and_can_be_turned_off():
    late = callback(ThoiGianGD=format_compact(NOW - timedelta(seconds=90)))
    strict = CallbackVerifier(
        SECRET,
        lookup,
        partner_code=PARTNER,
        tolerance=timedelta(seconds=60),
        clock=ManualClock(NOW),
    )
    assert strict.verify(late).reason == "stale"
    lenient = CallbackVerifier(
        SECRET, lookup, partner_code=PARTNER, tolerance=None, clock=ManualClock(NOW)
    )
    assert lenient.verify(callback(ThoiGianGD="20200101000000")).accepted


def test_callback_from_the_future_is_refused(verifier):
    future = callback(ThoiGianGD=format_compact(NOW + timedelta(hours=1)))
    assert verifier.verify(future).reason == "stale"


def test_a_duplicate_of_an_accepted_callback_is_answered_even_when_late():
    clock = ManualClock(NOW)
    verifier = CallbackVerifier(SECRET, lookup, partner_code=PARTNER, clock=clock)
    first = verifier.verify(callback())
    clock.advance(3 * 86400)
    again = verifier.verify(callback())
    assert again.duplicate
    assert again.reply == first.reply


@pytest.mark.parametrize(
    "payload",
    [None, [], "text", {"MaLoi": "00"}],
)
def test_malformed_bodies_are_refused(verifier, payload):
    outcome = verifier.verify(payload)
    assert outcome.reason == "malformed"
    assert_signed_reply(outcome.reply, "06")


def test_float_amount_is_refused_even_when_signed_over_its_text(verifier):
    message = callback()
    message["SoTien"] = 150000.0
    outcome = verifier.verify(message)
    assert outcome.reason == "malformed"
    assert "whole VND" in outcome.message


def test_failed_payment_is_accepted_but_not_paid(verifier):
    outcome = verifier.verify(callback(MaLoi="01", MaGiaoDich="PP0002"))
    assert outcome.accepted
    assert not outcome.paid


def test_processing_failure_answers_99_and_lets_the_retry_through(verifier):
    calls: list[str] = []

    def flaky(notification: PaymentNotification) -> None:
        calls.append(notification.transaction_id)
        if len(calls) == 1:
            raise RuntimeError("database is down")

    first = verifier.verify(callback(), process=flaky)
    assert first.reason == "processing_failed"
    assert not first.accepted
    assert_signed_reply(first.reply, "99")
    retry = verifier.verify(callback(), process=flaky)
    assert retry.first_time
    assert retry.accepted
    assert calls == ["PP0001", "PP0001"]


def test_sqlite_store_remembers_across_restarts(tmp_path: Path):
    db = tmp_path / "callbacks.db"
    processed: list[str] = []
    store = SqliteCallbackStore(db)
    first = verify_callback(
        callback(),
        secret=SECRET,
        lookup=lookup,
        store=store,
        partner_code=PARTNER,
        process=lambda n: processed.append(n.transaction_id),
        clock=ManualClock(NOW),
    )
    store.close()
    reopened = SqliteCallbackStore(db)
    again = verify_callback(
        callback(),
        secret=SECRET,
        lookup=lookup,
        store=reopened,
        partner_code=PARTNER,
        process=lambda n: processed.append(n.transaction_id),
        clock=ManualClock(NOW),
    )
    assert first.first_time
    assert again.duplicate
    assert again.reply == first.reply
    assert processed == ["PP0001"]
    assert len(reopened) == 2  # the transaction, and the reference it paid
    reopened.close()


async def test_averify_takes_async_hooks():
    async def async_lookup(reference: str) -> ExpectedPayment | None:
        return lookup(reference)

    settled: list[str] = []

    async def settle(notification: PaymentNotification) -> None:
        settled.append(notification.reference)

    verifier = CallbackVerifier(SECRET, async_lookup, partner_code=PARTNER, clock=ManualClock(NOW))
    outcome = await verifier.averify(callback(), process=settle)
    assert outcome.accepted
    assert settled == ["REF1"]
    with pytest.raises(TypeError, match="averify"):
        verifier.verify(callback(MaGiaoDich="PP9"))


def test_legacy_profile_callback():
    """KeyPay: check_sum over the values the vendor stored, keyed by the second key."""
    key = "legacy-key-2"

    def stored_sum(amount: int = 30000, reference: str = "REF2") -> str:
        stored = {
            "addition_fee": 0,
            "client_id": PARTNER,
            "command": "PAY",
            "trans_amount": amount,
            "transaction_id": reference,
            "version": "3.0",
        }
        return checksum.legacy_check_sum(stored, key, checksum.LEGACY_CALLBACK_FIELDS)

    def legacy(**changes: object) -> dict[str, object]:
        message: dict[str, object] = {
            "transaction_id": "REF2",
            "transaction_code": "KP0001",
            "status": 0,
            "check_sum": stored_sum(),
        }
        message.update(changes)
        return message

    verifier = CallbackVerifier(key, lookup, partner_code=PARTNER, profile="legacy")
    outcome = verifier.verify(legacy())
    assert outcome.accepted
    assert outcome.paid
    assert outcome.notification is not None
    assert outcome.notification.amount == 30000
    assert outcome.reply == {"return_code": "00", "return_msg": "Thành công"}
    assert verifier.verify(legacy()).duplicate
    # uncovered fields (transaction_code, currency_code) neither make it new nor decide
    assert verifier.verify(legacy(transaction_code="KP0002", currency_code="USD")).duplicate
    forged = legacy(transaction_id="REF1", check_sum="0" * 64)
    refused = verifier.verify(forged)
    assert refused.reason == "bad_checksum"
    assert refused.reply == {"return_code": "01", "return_msg": "Thất bại"}
    # a checksum made for another amount is not this payment's
    assert verifier.verify(
        legacy(transaction_id="REF1", check_sum=stored_sum(30000, "REF1"))
    ).reason == ("bad_checksum")
    assert verifier.verify(legacy(transaction_id="A|B")).reason == "malformed"
