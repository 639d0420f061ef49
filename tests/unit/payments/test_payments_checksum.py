"""Published checksum test vectors (the same ones are in docs/platforms/payments.md).

Each vector is checked three ways: the digest published as a literal, the digest
computed here with hashlib over the literal pipe-joined string, and what govlink
(and, independently, the mock) computes from the message fields.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from govlink.payments import _checksum as checksum
from govlink.payments._checksum import MessageKind
from mock_servers.payments import signing

SECRET = "demo-payment-secret"
REF = "GL20260105083000ABCDE"

INIT = {
    "LoaiBanTin": "INIT",
    "PhienBan": "1.0.6",
    "MaDoiTac": "GOVLINKDEMO",
    "MaThamChieu": REF,
    "SoTien": 150000,
    "LoaiHinhThanhToan": "PAY",
    "MaKenhThanhToan": "1",
    "MaThietBi": "1",
    "NgonNgu": "vi-VN",
    "MaTienTe": "VND",
    "MaNganHang": "",
    "ThongTinGiaoDich": "Lệ phí hồ sơ G22.0001",
    "ThoiGianGD": "20260105083000",
    "Ip": "127.0.0.1",
    # not hashed: the receipt block and govlink's extension fields
    "ThongTinBienLai": {"MaHoSo": "G22.0001", "PhiLePhi": [{"SoTien": 150000}]},
    "UrlCallback": "https://vendor.example/payment/callback",
}
QUERY = {
    "LoaiBanTin": "QUERY",
    "PhienBan": "1.0.6",
    "MaDoiTac": "GOVLINKDEMO",
    "MaThamChieu": REF,
    "ThoiGianGD": "20260105090000",
}
IPN = {
    "LoaiBanTin": "CONFIRM",
    "MaLoi": "00",
    "MaDoiTac": "GOVLINKDEMO",
    "MaThamChieu": REF,
    "SoTien": 150000,
    "MaTienTe": "VND",
    "MaGiaoDich": "PP20260105083512000042",
    "MaNganHang": "VCB",
    "ThoiGianGD": "20260105083512",
    "ThongTinGiaoDich": "Lệ phí hồ sơ G22.0001",
}
REPLY = {
    "MaLoi": "00",
    "MoTaLoi": "Thành công",
    "MaDoiTac": "GOVLINKDEMO",
    "ThoiGianGD": "20260105083513",
}

VECTORS = [
    (
        MessageKind.INIT,
        INIT,
        "INIT|1.0.6|GOVLINKDEMO|GL20260105083000ABCDE|150000|PAY|1|1|vi-VN|VND|"
        "|Lệ phí hồ sơ G22.0001|20260105083000|127.0.0.1|demo-payment-secret",
        "35845628fe8f5984313ed97cf1f1ef70bdaf469bb0b03a84956b6245132972fb",
        signing.INIT_ORDER,
    ),
    (
        MessageKind.QUERY,
        QUERY,
        "QUERY|1.0.6|GOVLINKDEMO|GL20260105083000ABCDE|20260105090000|demo-payment-secret",
        "c12edde1142073232cd4dd5c7fe2e5c54204d74971d3d5b88aab80a7640d759d",
        signing.LOOKUP_ORDER,
    ),
    (
        MessageKind.GET_BILL,
        {**QUERY, "LoaiBanTin": "GET_BILL"},
        "GET_BILL|1.0.6|GOVLINKDEMO|GL20260105083000ABCDE|20260105090000|demo-payment-secret",
        "2763cd11182e5b02cd4d0f596027ebaf9f81d0217b2d4145b9565e7cd305717f",
        signing.LOOKUP_ORDER,
    ),
    (
        MessageKind.IPN,
        IPN,
        "CONFIRM|00|GOVLINKDEMO|GL20260105083000ABCDE|150000|VND|PP20260105083512000042|VCB"
        "|20260105083512|Lệ phí hồ sơ G22.0001|demo-payment-secret",
        "eed68199cbd3f6a05ee6959ae3786b1c4017db6d9e86653642156a9e8390c014",
        signing.IPN_ORDER,
    ),
    (
        MessageKind.REPLY,
        REPLY,
        "00|Thành công|GOVLINKDEMO|20260105083513|demo-payment-secret",
        "2874cd8ae1c9f65f0b01bec75affcb660cd498760b7b6bab04fc1d255c54c182",
        signing.REPLY_ORDER,
    ),
]


@pytest.mark.parametrize(("kind", "message", "joined", "published", "mock_order"), VECTORS)
def test_dvcqg_vectors(kind, message, joined, published, mock_order):
    independent = hashlib.sha256(joined.encode("utf-8")).hexdigest()
    assert independent == published
    assert checksum.sign(kind, message, SECRET) == published
    assert signing.digest(mock_order, message, SECRET) == published
    assert checksum.verify(kind, {**message, "MaXacThuc": published}, SECRET)
    assert checksum.verify(kind, {**message, "MaXacThuc": published.upper()}, SECRET)


def test_init_checksum_ignores_the_receipt_block_and_extensions():
    bare = {k: v for k, v in INIT.items() if k not in ("ThongTinBienLai", "UrlCallback")}
    assert checksum.sign(MessageKind.INIT, bare, SECRET) == checksum.sign(
        MessageKind.INIT, INIT, SECRET
    )


@pytest.mark.parametrize("field", checksum.INIT_FIELDS)
def test_every_init_field_is_protected(field):
    original = checksum.sign(MessageKind.INIT, INIT, SECRET)
    changed = {**INIT, field: "X" if field != "SoTien" else 150001}
    assert checksum.sign(MessageKind.INIT, changed, SECRET) != original


def test_wrong_secret_or_altered_field_does_not_verify():
    signed = {**IPN, "MaXacThuc": checksum.sign(MessageKind.IPN, IPN, SECRET)}
    assert not checksum.verify(MessageKind.IPN, signed, "another-secret")
    assert not checksum.verify(MessageKind.IPN, {**signed, "SoTien": 150001}, SECRET)
    assert not checksum.verify(MessageKind.IPN, {**IPN}, SECRET)  # no MaXacThuc at all
    assert not checksum.verify(MessageKind.IPN, {**signed, "MaXacThuc": 42}, SECRET)


def test_missing_fields_hash_as_empty_text():
    message = {k: v for k, v in QUERY.items() if k != "ThoiGianGD"}
    expected = hashlib.sha256(
        b"QUERY|1.0.6|GOVLINKDEMO|GL20260105083000ABCDE||demo-payment-secret"
    ).hexdigest()
    assert checksum.sign(MessageKind.QUERY, message, SECRET) == expected


@pytest.mark.parametrize("bad", [150000.0, True, {"a": 1}, [1]])
def test_floats_bools_and_objects_cannot_be_hashed(bad):
    with pytest.raises(TypeError):
        checksum.sign(MessageKind.IPN, {**IPN, "SoTien": bad}, SECRET)
    assert not checksum.verify(MessageKind.IPN, {**IPN, "SoTien": bad, "MaXacThuc": "00"}, SECRET)


def test_legacy_request_vector():
    message = {
        "client_id": "GOVLINKDEMO",
        "transaction_id": REF,
        "trans_amount": 150000,
        "addition_fee": 0,
        "command": "PAY",
        "version": "3.0",
        "description": "not signed",
    }
    joined = "0|GOVLINKDEMO|PAY|150000|GL20260105083000ABCDE|3.0"
    published = "703e8c5c9c1efc1f56bd1e10ad2aa310091c786ff41027402c3b9b9fddb38ab2"
    assert hmac.new(b"legacy-key-1", joined.encode(), hashlib.sha256).hexdigest() == published
    assert checksum.legacy_input(checksum.LEGACY_REQUEST_FIELDS, message) == joined
    assert checksum.legacy_check_sum(message, "legacy-key-1") == published


def test_legacy_callback_vector():
    # KeyPay checks the callback against the values the vendor stored, with key 2
    stored = {
        "addition_fee": 0,
        "client_id": "GOVLINKDEMO",
        "command": "PAY",
        "trans_amount": 150000,
        "transaction_id": REF,
        "version": "3.0",
    }
    joined = "0|GOVLINKDEMO|PAY|150000|GL20260105083000ABCDE|3.0"
    published = "452ea3867a5c20f664a7f3b1dadc49437ce0603170da8fb30d2d3caad2369d26"
    assert hmac.new(b"legacy-key-2", joined.encode(), hashlib.sha256).hexdigest() == published
    assert (
        checksum.legacy_check_sum(stored, "legacy-key-2", checksum.LEGACY_CALLBACK_FIELDS)
        == published
    )
