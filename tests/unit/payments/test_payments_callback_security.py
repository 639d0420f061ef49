"""Callbacks that must not fool the verifier (issue 15, security items 1-5).

Fixtures are written from the public message shapes (PLATFORMS.md §3): the IPN
field order, the QUERY reply (the IPN fields plus ``TrangThaiGD``), and the KeyPay
callback checked against the values the vendor stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from govlink.core.clock import ManualClock, format_compact
from govlink.core.errors import ValidationError
from govlink.payments import (
    CallbackOutcome,
    CallbackVerifier,
    ExpectedPayment,
    MemoryCallbackStore,
    PaymentNotification,
)
from govlink.payments import _checksum as checksum
from govlink.payments._checksum import MessageKind
from govlink.payments._codec import build_init

SECRET = "demo-payment-secret"
PARTNER = "GOVLINKDEMO"
NOW = datetime(2026, 1, 5, 1, 40, tzinfo=UTC)
WHEN = format_compact(NOW - timedelta(minutes=5))


def lookup(reference: str) -> ExpectedPayment | None:
    return ExpectedPayment(reference, 150000) if reference.startswith("REF") else None


def signed(kind: MessageKind, **fields: object) -> dict[str, object]:
    message: dict[str, object] = {
        "LoaiBanTin": "CONFIRM",
        "MaLoi": "00",
        "MaDoiTac": PARTNER,
        "MaThamChieu": "REF1",
        "SoTien": "150000",
        "MaTienTe": "VND",
        "MaGiaoDich": "PP0001",
        "MaNganHang": "VCB",
        "ThoiGianGD": WHEN,
        "ThongTinGiaoDich": "Le phi ho so",
    }
    message.update(fields)
    message["MaXacThuc"] = checksum.sign(kind, message, SECRET)
    return message


@pytest.fixture
def verifier() -> CallbackVerifier:
    return CallbackVerifier(
        SECRET, lookup, MemoryCallbackStore(), partner_code=PARTNER, clock=ManualClock(NOW)
    )


# ------------------------------------------------------------ 1. message type


def test_a_signed_query_reply_of_a_pending_payment_reposted_is_refused(verifier):
    # The platform's QUERY reply for a payment still pending: MaLoi "00" (the query
    # worked) and TrangThaiGD "3". Its hash covers the IPN fields plus TrangThaiGD.
    reply = signed(MessageKind.QUERY_REPLY, LoaiBanTin="QUERY", MaGiaoDich="", TrangThaiGD="3")
    # Folding TrangThaiGD into the free text makes the same hash input as an IPN.
    reposted = {k: v for k, v in reply.items() if k != "TrangThaiGD"}
    reposted["ThongTinGiaoDich"] = f"{reply['ThongTinGiaoDich']}|3"
    assert checksum.verify(MessageKind.IPN, reposted, SECRET)  # the hash alone is fooled
    processed: list[PaymentNotification] = []
    outcome = verifier.verify(reposted, process=processed.append)
    assert not outcome.accepted
    assert not outcome.paid
    assert processed == []


def test_a_genuinely_signed_message_of_another_type_is_refused(verifier):
    other = signed(MessageKind.IPN, LoaiBanTin="QUERY")
    outcome = verifier.verify(other)
    assert outcome.reason == "wrong_message_type"
    assert not outcome.accepted
    assert outcome.reply["MaLoi"] != "00"


def test_the_callback_type_is_configurable():
    custom = CallbackVerifier(
        SECRET, lookup, partner_code=PARTNER, clock=ManualClock(NOW), message_type="IPN"
    )
    assert custom.verify(signed(MessageKind.IPN, LoaiBanTin="IPN")).accepted
    assert custom.verify(signed(MessageKind.IPN, MaGiaoDich="PP2")).reason == ("wrong_message_type")


# ------------------------------------------------------------ 2. wire names only


def test_python_names_in_a_callback_do_not_dodge_deduplication(verifier):
    # A genuine callback of a failed payment carries an empty MaGiaoDich; the
    # Python name "transaction_id" is not hashed and must not make it look new.
    genuine = signed(MessageKind.IPN, MaLoi="01", MaGiaoDich="")
    processed: list[PaymentNotification] = []
    first = verifier.verify(genuine, process=processed.append)
    assert first.first_time
    # the same signed message without the (empty, hashed as "") MaGiaoDich key
    stripped = {k: v for k, v in genuine.items() if k != "MaGiaoDich"}
    for fake in ("X1", "X2"):
        again = verifier.verify({**stripped, "transaction_id": fake}, process=processed.append)
        assert again.duplicate
    assert len(processed) == 1
    assert processed[0].transaction_id == ""


def test_python_names_never_replace_wire_values(verifier):
    processed: list[PaymentNotification] = []
    payload = {**signed(MessageKind.IPN), "reference": "REF9", "amount": 1, "error_code": "01"}
    outcome = verifier.verify(payload, process=processed.append)
    assert outcome.accepted
    assert outcome.paid
    assert processed[0].reference == "REF1"
    assert processed[0].amount == 150000


def test_a_callback_without_its_wire_names_is_malformed(verifier):
    by_name = {
        "message_type": "CONFIRM",
        "error_code": "00",
        "partner_code": PARTNER,
        "reference": "REF1",
        "amount": 150000,
    }
    by_name["MaXacThuc"] = checksum.sign(MessageKind.IPN, {}, SECRET)
    assert verifier.verify(by_name).reason in ("malformed", "bad_checksum")
    assert not verifier.verify(by_name).accepted


# ------------------------------------------------------------ 3. the '|' separator


@pytest.mark.parametrize("name", ["MaThamChieu", "MaGiaoDich", "MaNganHang", "ThongTinGiaoDich"])
def test_a_separator_in_a_callback_field_is_refused(verifier, name):
    message = signed(MessageKind.IPN, **{name: "A|B"})
    outcome = verifier.verify(message)
    assert outcome.reason == "malformed"
    assert name in outcome.message


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("description", "Le phi | ho so"), ("reference", "REF|1"), ("ip", "127.0.0.1|x")],
)
def test_a_separator_in_a_hashed_init_field_is_refused(parameter, value):
    arguments: dict[str, object] = {
        "partner_code": PARTNER,
        "secret": SECRET,
        "reference": "REF1",
        "amount": 150000,
        "when": NOW,
        "description": "Le phi",
        "ip": "127.0.0.1",
    }
    arguments[parameter] = value
    with pytest.raises(ValidationError) as info:
        build_init(**arguments)  # type: ignore[arg-type]
    assert parameter in info.value.field
    assert "|" in str(info.value)


# ------------------------------------------------------------ 4. paid twice


def test_a_second_paid_transaction_for_a_paid_reference_is_an_anomaly(verifier):
    processed: list[PaymentNotification] = []
    anomalies: list[CallbackOutcome] = []
    first = verifier.verify(signed(MessageKind.IPN), process=processed.append)
    assert first.first_time
    assert first.paid
    second_message = signed(MessageKind.IPN, MaGiaoDich="PP0002")
    second = verifier.verify(second_message, process=processed.append, on_anomaly=anomalies.append)
    assert second.anomaly
    assert second.reason == "paid_twice"
    assert second.previous_transaction_id == "PP0001"
    assert not second.accepted
    assert second.reply["MaLoi"] != "00"
    assert [n.transaction_id for n in processed] == ["PP0001"]  # never overwritten
    assert [a.notification.transaction_id for a in anomalies if a.notification] == ["PP0002"]
    # the platform's retry of that message gets the same answer, reported once
    again = verifier.verify(second_message, process=processed.append, on_anomaly=anomalies.append)
    assert again.duplicate
    assert again.anomaly
    assert again.reply == second.reply
    assert len(anomalies) == 1


def test_a_failed_then_paid_transaction_is_no_anomaly(verifier):
    processed: list[PaymentNotification] = []
    verifier.verify(signed(MessageKind.IPN, MaLoi="01", MaGiaoDich="PP1"), process=processed.append)
    paid = verifier.verify(signed(MessageKind.IPN, MaGiaoDich="PP2"), process=processed.append)
    assert paid.first_time
    assert paid.paid
    assert not paid.anomaly
    assert len(processed) == 2


def test_a_failed_process_hook_releases_the_reference_too(verifier):
    def broken(notification: PaymentNotification) -> None:
        raise RuntimeError("database is down")

    assert verifier.verify(signed(MessageKind.IPN), process=broken).reason == "processing_failed"
    retried = verifier.verify(signed(MessageKind.IPN, MaGiaoDich="PP0001"))
    assert retried.first_time
    assert not retried.anomaly


# ------------------------------------------------------------ 5. no personal data in errors


def test_receipt_lines_that_do_not_add_up_name_the_field_and_hide_the_payer():
    receipt = {
        "HoTenNguoiNop": "NGUYỄN VĂN AN",
        "DiaChiNguoiNop": "12 Phố Huế, Hà Nội",
        "SoCMNDNguoiNop": "001090000001",
        "PhiLePhi": [{"LoaiPhiLePhi": "LePhi", "TenPhiLePhi": "Lệ phí", "SoTien": 100000}],
    }
    with pytest.raises(ValidationError) as info:
        build_init(
            partner_code=PARTNER,
            secret=SECRET,
            reference="REF1",
            amount=150000,
            when=NOW,
            receipt=receipt,
        )
    text = str(info.value)
    assert "PhiLePhi" in info.value.field
    assert "INIT.INIT" not in text
    for personal in ("NGUYỄN", "Phố Huế", "001090000001"):
        assert personal not in text


def test_a_bad_receipt_value_names_its_path_without_personal_data():
    receipt = {
        "HoTenNguoiNop": "NGUYỄN VĂN AN",
        "DiaChiNguoiNop": "12 Phố Huế, Hà Nội",
        "PhiLePhi": [{"LoaiPhiLePhi": "LePhi", "SoTien": 150000.5}],
    }
    with pytest.raises(ValidationError) as info:
        build_init(
            partner_code=PARTNER,
            secret=SECRET,
            reference="REF1",
            amount=150000,
            when=NOW,
            receipt=receipt,
        )
    assert info.value.field.endswith("PhiLePhi.0.SoTien")
    assert "NGUYỄN" not in str(info.value)
    assert "Phố Huế" not in str(info.value)
