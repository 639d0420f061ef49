"""Models: wire aliases round-trip, unknown keys kept, and no float on the money path."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from govlink.payments import (
    ExpectedPayment,
    InitRequest,
    LocalPayment,
    PaymentNotification,
    PaymentState,
    PaymentStatus,
    ReceiptInfo,
    TransactionStatus,
)

WIRE_INIT = {
    "LoaiBanTin": "INIT",
    "PhienBan": "1.0.6",
    "MaDoiTac": "GOVLINKDEMO",
    "MaThamChieu": "REF1",
    "SoTien": "150000",
    "LoaiHinhThanhToan": "PAY",
    "MaKenhThanhToan": "1",
    "MaThietBi": "1",
    "NgonNgu": "vi-VN",
    "MaTienTe": "VND",
    "MaNganHang": "",
    "ThongTinGiaoDich": "Le phi",
    "ThoiGianGD": "20260105083000",
    "Ip": "127.0.0.1",
    "MaXacThuc": "abc",
    "ThongTinBienLai": {
        "MaDichVu": 2,
        "MaTTHC": "1.000894",
        "HoTenNguoiNop": "NGUYỄN VĂN AN",
        "SoCMNDNguoiNop": "001090000001",
        "PhiLePhi": [
            {"LoaiPhiLePhi": "Phi", "MaPhiLePhi": "1", "TenPhiLePhi": "Phí", "SoTien": 100000},
            {"LoaiPhiLePhi": "LePhi", "MaPhiLePhi": "2", "TenPhiLePhi": "Lệ phí", "SoTien": 50000},
        ],
        "DSKhoanNop": [{"NoiDung": "Le phi", "SoTien": 150000}],
        "KhoBac": "1111",
    },
    "UrlCallback": "https://vendor.example/cb",
}


def test_init_round_trips_with_aliases_and_keeps_unknown_keys():
    request = InitRequest.model_validate(WIRE_INIT)
    assert request.amount == 150000
    assert request.receipt is not None
    assert request.receipt.payer_name == "NGUYỄN VĂN AN"
    assert [fee.amount for fee in request.receipt.fees] == [100000, 50000]
    assert request.to_wire() == WIRE_INIT  # extension and receipt keys survive
    assert request.receipt.treasury == "1111"  # KhoBac is typed


def test_attribute_names_build_the_same_wire_message():
    request = InitRequest(
        partner_code="GOVLINKDEMO",
        reference="REF1",
        amount=150000,
        transaction_time="20260105083000",
        receipt=ReceiptInfo(procedure_code="1.000894"),
    )
    wire = request.to_wire()
    assert wire["MaDoiTac"] == "GOVLINKDEMO"
    assert wire["SoTien"] == "150000"  # a digit string on the wire, as public clients send
    assert wire["ThongTinBienLai"] == {"MaTTHC": "1.000894", "PhiLePhi": [], "DSKhoanNop": []}


@pytest.mark.parametrize("amount", [150000.0, 150000.5, True, -1, "150000.00", "1e5", None])
def test_amount_must_be_whole_vnd(amount):
    with pytest.raises(ValidationError) as info:
        InitRequest.model_validate({**WIRE_INIT, "SoTien": amount, "ThongTinBienLai": None})
    assert "SoTien" in str(info.value)


def test_digit_strings_are_accepted_because_integrations_send_them():
    request = InitRequest.model_validate({**WIRE_INIT, "SoTien": "150000"})
    assert request.amount == 150000
    assert isinstance(request.amount, int)


def test_fee_lines_must_add_up_to_the_amount():
    receipt = dict(WIRE_INIT["ThongTinBienLai"])  # type: ignore[arg-type]
    receipt["PhiLePhi"] = [{"SoTien": 100000}, {"SoTien": 40000}]
    with pytest.raises(ValidationError, match="PhiLePhi lines add up to 140000 VND but SoTien"):
        InitRequest.model_validate({**WIRE_INIT, "ThongTinBienLai": receipt})
    receipt["PhiLePhi"] = [{"SoTien": 100000}, {"SoTien": 50000.0}]
    with pytest.raises(ValidationError, match="whole VND"):
        InitRequest.model_validate({**WIRE_INIT, "ThongTinBienLai": receipt})


def test_zero_amount_and_bad_time_are_refused():
    with pytest.raises(ValidationError, match="positive"):
        InitRequest.model_validate({**WIRE_INIT, "SoTien": 0, "ThongTinBienLai": None})
    with pytest.raises(ValidationError, match="yyyyMMddHHmmss"):
        InitRequest.model_validate({**WIRE_INIT, "ThoiGianGD": "2026-01-05"})


def test_repr_masks_the_payer():
    request = InitRequest.model_validate(WIRE_INIT)
    shown = repr(request.receipt)
    assert "NGUYỄN VĂN AN" not in shown
    assert "001090000001" not in shown
    assert "1.000894" in shown


def test_notification_parses_numbers_sent_as_text_and_knows_paid():
    wire = {
        "LoaiBanTin": "CONFIRM",
        "MaLoi": "00",
        "MaDoiTac": "GOVLINKDEMO",
        "MaThamChieu": "REF1",
        "SoTien": "150000",
        "MaTienTe": "VND",
        "MaGiaoDich": 12345,
        "ThoiGianGD": "20260105083512",
        "Extra": "kept",
    }
    notification = PaymentNotification.model_validate(wire)
    assert notification.paid
    assert notification.amount == 150000
    assert notification.transaction_id == "12345"
    assert notification.to_wire()["Extra"] == "kept"
    assert notification.transaction_datetime is not None
    assert not PaymentNotification.model_validate({**wire, "MaLoi": "01"}).paid


def test_transaction_status_is_an_open_code_table():
    status = PaymentStatus.model_validate({"MaLoi": "00", "TrangThaiGD": "07"})
    assert status.status is not None
    assert status.status.value == "07"
    assert not status.status.known
    assert status.state is PaymentState.UNKNOWN
    paid = PaymentStatus.model_validate({"MaLoi": "00", "TrangThaiGD": "1"})
    assert paid.status is TransactionStatus.PAID
    assert paid.paid
    # the public table: 1 paid, 3 pending, 4 failed (PLATFORMS.md §3)
    assert PaymentStatus.model_validate({"MaLoi": "00", "TrangThaiGD": "3"}).state is (
        PaymentState.PENDING
    )
    assert PaymentStatus.model_validate({"MaLoi": "00", "TrangThaiGD": "4"}).state is (
        PaymentState.FAILED
    )


def test_expected_payment_refuses_floats():
    with pytest.raises(TypeError):
        ExpectedPayment("REF1", 150000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        ExpectedPayment("REF1", -5)


def test_local_payment_reads_ledger_columns_in_either_language():
    a = LocalPayment.model_validate({"reference": "R1", "amount": "150000", "status": "PAID"})
    b = LocalPayment.model_validate({"MaThamChieu": "R1", "SoTien": 150000, "status": "paid"})
    assert a.reference == b.reference == "R1"
    assert a.amount == b.amount == 150000
    assert a.status is b.status is PaymentState.PAID
    with pytest.raises(ValidationError):
        LocalPayment.model_validate({"reference": "R1", "amount": 1.5})
