"""The portal's pull of a dossier's payments (by MaHoSo), answered by the vendor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from govlink.core.clock import ManualClock, format_compact
from govlink.payments import DossierPayment, PaymentPullHandler, PaymentState
from govlink.payments import _checksum as checksum
from govlink.payments._pull import PULL_REQUEST_FIELDS, pull_reply_checksum

SECRET = "demo-payment-secret"
PARTNER = "GOVLINKDEMO"
NOW = datetime(2026, 1, 5, 1, 40, tzinfo=UTC)
BOOKS = {
    "G22.0001": [
        DossierPayment("REF1", 150000, PaymentState.PAID, "PP1", "20260105083512"),
        DossierPayment("REF2", 30000, PaymentState.CANCELLED),
    ]
}


def pull(when: datetime = NOW, secret: str = SECRET, **changes: str) -> dict[str, str]:
    message = {
        "LoaiBanTin": "QUERY_HOSO",
        "MaDoiTac": PARTNER,
        "MaHoSo": "G22.0001",
        "ThoiGianGD": format_compact(when),
    }
    message.update(changes)
    message["MaXacThuc"] = checksum.ma_xac_thuc(PULL_REQUEST_FIELDS, message, secret)
    return message


def handler() -> PaymentPullHandler:
    return PaymentPullHandler(SECRET, BOOKS.get, partner_code=PARTNER, clock=ManualClock(NOW))


def test_a_genuine_pull_gets_the_dossiers_payments_signed():
    reply = handler().handle(pull())
    assert reply["MaLoi"] == "00"
    assert [(p["MaThamChieu"], p["TrangThaiGD"]) for p in reply["DanhSachThanhToan"]] == [
        ("REF1", "1"),
        ("REF2", "4"),
    ]
    assert reply["MaXacThuc"] == pull_reply_checksum(reply, SECRET)
    # the payment list is covered: changing a status breaks the reply's checksum
    reply["DanhSachThanhToan"][1]["TrangThaiGD"] = "1"
    assert reply["MaXacThuc"] != pull_reply_checksum(reply, SECRET)


def test_forged_stale_malformed_and_unknown_pulls_reveal_nothing():
    pulls = {
        "01": pull(secret="attacker"),
        "05": pull(when=NOW - timedelta(hours=1)),
        "06": pull(MaHoSo="G22|0001"),
        "02": pull(MaHoSo="G99.9999"),
    }
    for code, message in pulls.items():
        reply = handler().handle(message)
        assert reply["MaLoi"] == code
        assert reply["DanhSachThanhToan"] == []
    assert handler().handle(["not", "an", "object"])["MaLoi"] == "06"


async def test_ahandle_takes_an_async_lookup():
    async def books(dossier: str) -> list[DossierPayment]:
        return BOOKS.get(dossier, [])

    async_handler = PaymentPullHandler(SECRET, books, partner_code=PARTNER, clock=ManualClock(NOW))
    assert (await async_handler.ahandle(pull()))["MaLoi"] == "00"
    assert async_handler.handle(pull())["MaLoi"] == "99"  # sync call with an async hook
