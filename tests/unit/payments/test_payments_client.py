"""The payment clients against a fake platform (respx): what is sent, how replies are read."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from payments_fakes import PARTNER, SECRET, FakePlatform, make_settings

from govlink.core.clock import ManualClock
from govlink.core.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PlatformError,
    SignatureError,
    ValidationError,
)
from govlink.payments import (
    AsyncPaymentClient,
    DifferenceKind,
    LocalPayment,
    PaymentClient,
    PaymentState,
    ReceiptInfo,
)
from govlink.payments import _checksum as checksum
from govlink.payments._checksum import MessageKind

NOW = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
PDF = b"%PDF-1.4\n" + b"x" * 5000 + b"\n%%EOF"


def init_ok(body: dict[str, Any]) -> httpx.Response:
    inner = {"UrlThanhToan": f"http://127.0.0.1:9/payment/pay/{body['MaThamChieu']}"}
    return httpx.Response(200, json={"error_code": "0", "message": json.dumps(inner)})


def query_reply(status: str = "1", amount: int = 150000, **changes: Any):
    def reply(body: dict[str, Any]) -> httpx.Response:
        message: dict[str, Any] = {
            "LoaiBanTin": "QUERY",
            "MaLoi": "00",
            "MoTaLoi": "Thành công",
            "MaDoiTac": PARTNER,
            "MaThamChieu": body["MaThamChieu"],
            "SoTien": amount,
            "MaTienTe": "VND",
            "MaGiaoDich": "PP1" if status == "1" else "",
            "MaNganHang": "VCB",
            "ThoiGianGD": "20260105083000",
            "ThongTinGiaoDich": "Le phi",
            "TrangThaiGD": status,
        }
        message.update(changes)
        message["MaXacThuc"] = checksum.sign(MessageKind.QUERY_REPLY, message, SECRET)
        return httpx.Response(200, json=message)

    return reply


@contextmanager
def client_for(platform: FakePlatform, **options: Any) -> Iterator[PaymentClient]:
    settings = make_settings(**options)
    with platform.served(), PaymentClient(settings, clock=ManualClock(NOW)) as client:
        yield client


def test_create_payment_sends_a_signed_init_and_returns_the_url():
    platform = FakePlatform(init_ok)
    with client_for(platform, callback_url="https://vendor.example/cb") as client:
        created = client.create_payment(
            150000,
            reference="REF1",
            description="Le phi ho so G22.0001",
            receipt=ReceiptInfo(
                procedure_code="1.000894",
                payer_name="NGUYỄN VĂN AN",
                fees=[{"LoaiPhiLePhi": "LePhi", "SoTien": 150000}],
            ),
            return_url="https://vendor.example/return",
        )
    assert created.url == "http://127.0.0.1:9/payment/pay/REF1"
    assert created.reference == "REF1"
    (body,) = platform.bodies()
    assert platform.requests[0].url == "http://127.0.0.1:9/payment/api"
    assert body["LoaiBanTin"] == "INIT"
    assert body["PhienBan"] == "1.0.6"
    assert body["SoTien"] == "150000"
    assert isinstance(body["SoTien"], str)  # both public clients send a digit string
    assert body["ThoiGianGD"] == "20260105083000"  # Vietnam time
    assert body["UrlCallback"] == "https://vendor.example/cb"
    assert body["UrlReturn"] == "https://vendor.example/return"
    assert body["ThongTinBienLai"]["HoTenNguoiNop"] == "NGUYỄN VĂN AN"
    assert checksum.verify(MessageKind.INIT, body, SECRET)


def test_extension_field_names_and_paths_are_configurable():
    platform = FakePlatform(init_ok)
    settings = make_settings(callback_url_field="ReturnNotifyUrl")
    settings.payments.paths["init"] = "/init"
    with platform.served(), PaymentClient(settings) as client:
        client.create_payment(1000, callback_url="https://vendor.example/cb")
    assert platform.requests[0].url.path == "/payment/init"
    assert platform.bodies()[0]["ReturnNotifyUrl"] == "https://vendor.example/cb"


@pytest.mark.parametrize("amount", [150000.0, True, -1, 0, "150000"])
def test_bad_amounts_are_refused_before_sending(amount):
    platform = FakePlatform(init_ok)
    with client_for(platform) as client, pytest.raises(ValidationError) as info:
        client.create_payment(amount)  # type: ignore[arg-type]
    assert "amount" in str(info.value) or "SoTien" in str(info.value)
    assert "nothing was sent" in str(info.value)
    assert platform.requests == []


def test_fee_lines_that_do_not_add_up_are_refused_before_sending():
    platform = FakePlatform(init_ok)
    with client_for(platform) as client, pytest.raises(ValidationError, match="add up"):
        client.create_payment(150000, receipt={"PhiLePhi": [{"SoTien": 100000}]})
    assert platform.requests == []


def test_init_checksum_refusal_points_at_the_secret():
    platform = FakePlatform(lambda b: httpx.Response(200, json={"error_code": "2", "message": "x"}))
    with client_for(platform) as client, pytest.raises(AuthenticationError) as info:
        client.create_payment(1000)
    assert "GOVLINK_PAYMENTS__AUTH__CLIENT_SECRET" in str(info.value)


def test_init_error_codes_keep_code_and_raw_reply():
    platform = FakePlatform(
        lambda b: httpx.Response(200, json={"error_code": "4", "message": "dup"})
    )
    with client_for(platform) as client, pytest.raises(PlatformError) as info:
        client.create_payment(1000, reference="REF1")
    assert info.value.code == "4"
    assert info.value.raw == {"error_code": "4", "message": "dup"}


def test_init_reply_without_url_is_an_error():
    platform = FakePlatform(
        lambda b: httpx.Response(200, json={"error_code": "0", "message": "{}"})
    )
    with client_for(platform) as client, pytest.raises(PlatformError, match="UrlThanhToan"):
        client.create_payment(1000)


def test_missing_secret_is_a_configuration_error():
    from govlink.core.config import GovLinkSettings

    settings = GovLinkSettings.load(
        payments={
            "base_url": "http://127.0.0.1:9/payment",
            "auth": {"client_id": PARTNER, "client_secret": ""},
        }
    )
    with pytest.raises(ConfigurationError) as info:
        PaymentClient(settings)
    assert info.value.setting == "GOVLINK_PAYMENTS__AUTH__CLIENT_SECRET"


def test_query_payment_reads_a_signed_reply():
    platform = FakePlatform(query_reply("1"))
    with client_for(platform) as client:
        status = client.query_payment("REF1")
    assert status.state is PaymentState.PAID
    assert status.amount == 150000
    assert status.transaction_id == "PP1"
    body = platform.bodies()[0]
    assert body["LoaiBanTin"] == "QUERY"
    assert checksum.verify(MessageKind.QUERY, body, SECRET)


def test_query_reply_with_a_bad_checksum_is_refused():
    def tampered(body: dict[str, Any]) -> httpx.Response:
        reply = query_reply("1")(body).json()
        reply["SoTien"] = 1
        return httpx.Response(200, json=reply)

    with client_for(FakePlatform(tampered)) as client, pytest.raises(SignatureError):
        client.query_payment("REF1")
    with client_for(FakePlatform(tampered), verify_replies="false") as client:
        assert client.query_payment("REF1").amount == 1


def test_query_of_an_unknown_reference_is_not_found():
    reply = {"MaLoi": "02", "MoTaLoi": "Không tìm thấy giao dịch"}
    platform = FakePlatform(lambda b: httpx.Response(200, json=reply))
    with client_for(platform) as client, pytest.raises(NotFoundError) as info:
        client.query_payment("NOPE")
    assert info.value.code == "02"


def test_receipt_in_memory_and_streamed_to_a_file(tmp_path: Path):
    platform = FakePlatform(
        lambda b: httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
    )
    with client_for(platform) as client:
        receipt = client.get_receipt("REF1")
        saved = client.get_receipt("REF1", tmp_path / "out" / "r.pdf")
    assert receipt.read_bytes() == PDF
    assert receipt.size == len(PDF)
    assert saved.path == tmp_path / "out" / "r.pdf"
    assert saved.path.read_bytes() == PDF
    assert saved.size == len(PDF)
    assert [b["LoaiBanTin"] for b in platform.bodies()] == ["GET_BILL", "GET_BILL"]
    assert list((tmp_path / "out").iterdir()) == [saved.path]


def test_receipt_error_reply_leaves_no_file(tmp_path: Path):
    reply = {"LoaiBanTin": "GET_BILL", "MaLoi": "04", "MoTaLoi": "chưa thanh toán"}
    platform = FakePlatform(lambda b: httpx.Response(200, json=reply))
    target = tmp_path / "r.pdf"
    with client_for(platform) as client:
        with pytest.raises(PlatformError) as info:
            client.get_receipt("REF1", target)
        assert info.value.code == "04"
        with pytest.raises(PlatformError, match="not paid"):
            client.get_receipt("REF1")
    assert list(tmp_path.iterdir()) == []


def test_legacy_profile_signs_with_hmac_and_queries_the_detail():
    sent: list[dict[str, Any]] = []

    def legacy(body: dict[str, Any]) -> httpx.Response:
        sent.append(body)
        if body["command"] == "DETAIL":
            data = {"transaction_id": "REF1", "trans_amount": "150000", "status": "0"}
            return httpx.Response(200, json={"error": "0", "data": data})
        return httpx.Response(200, json={"error": "0", "payment_url": "http://127.0.0.1:9/p/1"})

    with client_for(FakePlatform(legacy), profile="legacy") as client:
        created = client.create_payment(150000, reference="REF1")
        status = client.query_payment("REF1")
        with pytest.raises(ConfigurationError, match="legacy"):
            client.get_receipt("REF1")
    assert created.url == "http://127.0.0.1:9/p/1"
    assert status.paid
    assert status.amount == 150000
    body = sent[0]
    assert body["command"] == "PAY"
    assert body["version"] == "3.0"
    assert body["trans_amount"] == "150000"
    assert body["check_sum"] == checksum.legacy_check_sum(body, SECRET)
    detail = sent[1]
    assert detail["check_sum"] == checksum.legacy_check_sum(
        detail, SECRET, checksum.LEGACY_DETAIL_FIELDS
    )
    # HMAC(key 1, client_id|command|transaction_id), as the public client signs it
    joined = f"{PARTNER}|DETAIL|REF1".encode()
    assert detail["check_sum"] == hmac.new(SECRET.encode(), joined, hashlib.sha256).hexdigest()


def ledger() -> list[LocalPayment]:
    rows = [
        ("AGREE", 150000, "paid"),
        ("PAID-THERE", 150000, "pending"),
        ("PAID-HERE", 150000, "paid"),
        ("AMOUNT", 100000, "paid"),
        ("UNKNOWN", 150000, "pending"),
        ("FAILED-THERE", 150000, "pending"),
        ("BROKEN", 150000, "pending"),
    ]
    return [LocalPayment(reference=r, amount=a, status=s) for r, a, s in rows]


def reconcile_platform(body: dict[str, Any]) -> httpx.Response:
    ref = body["MaThamChieu"]
    if ref == "UNKNOWN":
        return httpx.Response(200, json={"MaLoi": "02", "MoTaLoi": "Không tìm thấy"})
    if ref == "BROKEN":
        return httpx.Response(200, json={"MaLoi": "99", "MoTaLoi": "Lỗi"})
    status = {"PAID-HERE": "3", "FAILED-THERE": "4"}.get(ref, "1")
    return query_reply(status)(body)


def check_report(report) -> None:
    kinds = {d.reference: d.kind for d in report.differences}
    assert kinds == {
        "PAID-THERE": DifferenceKind.PAID_THERE_PENDING_HERE,
        "PAID-HERE": DifferenceKind.PAID_HERE_NOT_THERE,
        "AMOUNT": DifferenceKind.AMOUNT_MISMATCH,
        "UNKNOWN": DifferenceKind.UNKNOWN_THERE,
        "FAILED-THERE": DifferenceKind.CLOSED_THERE_OPEN_HERE,
    }
    assert [d.reference for d in report.differences] == [
        "PAID-THERE",
        "PAID-HERE",
        "AMOUNT",
        "UNKNOWN",
        "FAILED-THERE",
    ]
    assert report.checked == 7
    assert [e.reference for e in report.errors] == ["BROKEN"]
    amount = next(d for d in report.differences if d.kind is DifferenceKind.AMOUNT_MISMATCH)
    assert (amount.local_amount, amount.remote_amount) == (100000, 150000)
    assert "100000 here, 150000 on the platform" in amount.describe()


def test_reconcile_reports_every_kind_of_difference_and_settles():
    settled: list[str] = []

    def settle(difference) -> None:
        if difference.reference == "UNKNOWN":
            raise RuntimeError("ledger locked")
        settled.append(difference.reference)

    progress: list[str] = []
    with client_for(FakePlatform(reconcile_platform)) as client:
        report = client.reconcile(
            ledger(), settle=settle, on_progress=lambda p, d: progress.append(p.reference)
        )
    check_report_with_settle_error(report)
    assert settled == ["PAID-THERE", "PAID-HERE", "AMOUNT", "FAILED-THERE"]
    assert report.settled == settled
    assert len(progress) == 7
    assert not report.ok


def check_report_with_settle_error(report) -> None:
    errors = {e.reference: e.message for e in report.errors}
    assert "ledger locked" in errors.pop("UNKNOWN")
    report.errors = [e for e in report.errors if e.reference != "UNKNOWN"]
    check_report(report)


def test_reconcile_since_skips_older_payments():
    old = LocalPayment(
        reference="OLD", amount=1, status="paid", created_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    new = LocalPayment(
        reference="AGREE", amount=150000, status="paid", created_at=datetime(2026, 1, 5, tzinfo=UTC)
    )
    platform = FakePlatform(reconcile_platform)
    with client_for(platform) as client:
        report = client.reconcile([old, new], since=datetime(2026, 1, 1, tzinfo=UTC))
        with pytest.raises(ValidationError, match="since"):
            client.reconcile([new], since=datetime(2026, 1, 1))
    assert report.skipped == 1
    assert report.checked == 1
    assert report.ok
    assert [b["MaThamChieu"] for b in platform.bodies()] == ["AGREE"]


async def test_async_client_matches_the_sync_one(tmp_path: Path):
    def platform_reply(body: dict[str, Any]) -> httpx.Response:
        if body["LoaiBanTin"] == "INIT":
            return init_ok(body)
        if body["LoaiBanTin"] == "GET_BILL":
            return httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
        return reconcile_platform(body)

    platform = FakePlatform(platform_reply)
    settled: list[str] = []

    async def settle(difference) -> None:
        settled.append(difference.reference)

    with platform.served():
        async with AsyncPaymentClient(make_settings(), clock=ManualClock(NOW)) as client:
            created = await client.create_payment(150000, reference="REF1")
            status = await client.query_payment("AGREE")
            receipt = await client.get_receipt("AGREE", tmp_path / "r.pdf")
            report = await client.reconcile(ledger(), settle=settle, concurrency=3)
    assert created.url.endswith("/pay/REF1")
    assert status.paid
    assert receipt.path is not None
    assert receipt.path.read_bytes() == PDF
    check_report(report)
    assert settled == ["PAID-THERE", "PAID-HERE", "AMOUNT", "UNKNOWN", "FAILED-THERE"]


def test_facade_exposes_the_payment_client(settings):
    from govlink import GovLink

    with GovLink(settings) as gl:
        assert isinstance(gl.payments, PaymentClient)
        assert gl.payments.partner_code == PARTNER


def test_reconcile_reports_ledger_duplicates_and_settles_once_per_reference():
    platform = FakePlatform(
        lambda body: query_reply(
            "3" if body["MaThamChieu"] == "PENDING" else "1",
            amount=200000 if body["MaThamChieu"] == "PENDING" else 150000,
        )(body)
    )
    ledger = [
        LocalPayment(reference="TWICE", amount=150000, status="paid"),
        LocalPayment(reference="TWICE", amount=150000, status="paid"),
        LocalPayment(reference="DUP", amount=150000, status="paid"),
        LocalPayment(reference="DUP", amount=150000, status="pending"),
        LocalPayment(reference="PENDING", amount=150000, status="pending"),
        LocalPayment(reference="FINE", amount=150000, status="paid"),
    ]
    settled: list[str] = []
    with client_for(platform) as client:
        report = client.reconcile(ledger, settle=lambda d: settled.append(d.reference))
    kinds = {(d.reference, d.kind) for d in report.differences}
    assert kinds == {
        ("TWICE", DifferenceKind.PAID_TWICE_HERE),
        ("DUP", DifferenceKind.DUPLICATE_ROWS),
        ("PENDING", DifferenceKind.AMOUNT_MISMATCH),  # both pending, amounts differ
    }
    queried = [json.loads(request.content)["MaThamChieu"] for request in platform.requests]
    # one query per reference (queries run concurrently, so in any order)
    assert sorted(queried) == ["DUP", "FINE", "PENDING", "TWICE"]
    assert settled == ["TWICE", "DUP", "PENDING"]  # once per reference
    assert report.checked == 6
    twice = next(d for d in report.differences if d.reference == "TWICE")
    assert twice.ledger_rows == 2
    assert "2 ledger rows" in twice.describe()
