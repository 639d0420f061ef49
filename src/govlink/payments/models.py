"""Typed messages of the DVCQG payment platform (message version 1.0.6) and govlink's own.

Attribute names are English; the wire names are aliases, so ``model_dump(by_alias=True)``
gives exactly what goes on the wire and ``model_validate(wire_dict)`` reads it back.
Unknown keys are kept (``extra="allow"``): the platform adds fields without notice and
a vendor must be able to store what was received.

Money: every amount is an ``int`` of VND. A float, a bool, a negative number or a
decimal string with a fraction is refused when a model is built — a fee of
``150000.0`` is a bug upstream, and rounding it silently is how ledgers drift.
Digit-only strings are accepted on input because public integrations send ``SoTien``
as ``"150000"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from govlink.core.clock import parse_compact
from govlink.core.codes import OpenStrEnum
from govlink.core.driver import EvidenceMixin, EvidenceModel
from govlink.core.redact import masked_repr_args

__all__ = [
    "LEGACY_VERSION",
    "MESSAGE_VERSION",
    "Amount",
    "CallbackReply",
    "DifferenceKind",
    "EReceipt",
    "ExpectedPayment",
    "FeeLine",
    "InitRequest",
    "LocalPayment",
    "PaymentCreated",
    "PaymentItem",
    "PaymentNotification",
    "PaymentState",
    "PaymentStatus",
    "ReceiptInfo",
    "ReconcileDifference",
    "ReconcileProblem",
    "ReconcileReport",
    "TransactionStatus",
    "format_vnd",
    "whole_vnd",
]

MESSAGE_VERSION = "1.0.6"
LEGACY_VERSION = "3.0"
"""``version`` of the KeyPay (legacy profile) messages."""
_DIGITS = re.compile(r"[0-9]+")


def whole_vnd(value: Any) -> int:
    """An amount as whole VND, or ``ValueError`` saying why it is not one."""
    if isinstance(value, bool):
        raise ValueError(f"an amount must be whole VND as an integer, not a bool ({value!r})")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        amount = int(value.strip())
    else:
        raise ValueError(
            f"an amount must be whole VND as an integer (got {type(value).__name__} {value!r}); "
            "floats and decimals are refused on the money path"
        )
    if amount < 0:
        raise ValueError(f"an amount cannot be negative (got {amount})")
    return amount


def format_vnd(amount: int, *, unit: bool = False) -> str:
    """``150000`` → ``150.000`` (Vietnamese thousands separator; ``unit``: ``150.000 VND``)."""
    text = f"{amount:,}".replace(",", ".")
    return f"{text} VND" if unit else text


Amount = Annotated[int, BeforeValidator(whole_vnd)]
"""Whole VND: an ``int`` ≥ 0 (digit strings accepted on input, floats refused)."""


class TransactionStatus(OpenStrEnum):
    """``TrangThaiGD`` in a QUERY reply: ``1`` paid, ``3`` pending, ``4`` failed.

    These are the codes a public production client acts on (PLATFORMS.md §3);
    any other code parses, is kept, and maps to :attr:`PaymentState.UNKNOWN`.
    """

    PAID = "1"
    PENDING = "3"
    FAILED = "4"


class PaymentState(StrEnum):
    """govlink's platform-neutral view of one payment."""

    PAID = "paid"
    PENDING = "pending"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


_STATE_OF_STATUS = {
    TransactionStatus.PAID: PaymentState.PAID,
    TransactionStatus.PENDING: PaymentState.PENDING,
    TransactionStatus.FAILED: PaymentState.FAILED,
}


class _Model(BaseModel):
    """Base: aliases, unknown keys kept, numbers accepted where text is expected, masked repr."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", coerce_numbers_to_str=True)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return masked_repr_args(self, super().__repr_args__())

    def to_wire(self) -> dict[str, Any]:
        """The wire form: aliases, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class _Inbound(_Model):
    """A message that arrives from outside: read by its wire names only.

    With ``populate_by_name`` a body carrying both ``MaThamChieu`` (hashed) and
    ``reference`` (not hashed) could steer which value the application sees; a
    message from the platform is therefore never read by Python names.
    """

    model_config = ConfigDict(populate_by_name=False, extra="allow", coerce_numbers_to_str=True)


class FeeLine(_Model):
    """One line of ``PhiLePhi``: a fee (phí) or a charge (lệ phí)."""

    kind: str = Field("", alias="LoaiPhiLePhi")
    code: str = Field("", alias="MaPhiLePhi")
    name: str = Field("", alias="TenPhiLePhi")
    amount: Amount = Field(alias="SoTien")


class PaymentItem(_Model):
    """One line of ``DSKhoanNop`` (what is paid, for the receipt)."""

    description: str = Field("", alias="NoiDung")
    amount: Amount = Field(alias="SoTien")


class ReceiptInfo(_Model):
    """``ThongTinBienLai``: what the platform prints on the e-receipt."""

    service_code: int | str | None = Field(None, alias="MaDichVu")
    public_service_code: str | None = Field(None, alias="MaDVC")
    public_service_name: str | None = Field(None, alias="TenDVC")
    procedure_code: str | None = Field(None, alias="MaTTHC")
    procedure_name: str | None = Field(None, alias="TenTTHC")
    agency_code: str | None = Field(None, alias="MaDonVi")
    agency_name: str | None = Field(None, alias="TenDonVi")
    dossier_code: str | None = Field(None, alias="MaHoSo")
    beneficiary_account: str | None = Field(None, alias="TKThuHuong")
    beneficiary_bank_code: str | None = Field(None, alias="MaNHThuHuong")
    beneficiary_account_name: str | None = Field(None, alias="TenTKThuHuong")
    deciding_agency_code: str | None = Field(None, alias="MaCoQuanQD")
    deciding_agency_name: str | None = Field(None, alias="TenCoQuanQD")
    payment_content: str | None = Field(None, alias="NoiDungThanhToan")
    payer_name: str | None = Field(None, alias="HoTenNguoiNop")
    payer_id_number: str | None = Field(None, alias="SoCMNDNguoiNop")
    payer_address: str | None = Field(None, alias="DiaChiNguoiNop")
    payer_district: str | None = Field(None, alias="HuyenNguoiNop")
    payer_province: str | None = Field(None, alias="TinhNguoiNop")
    penalty_type_code: str | None = Field(None, alias="MaLoaiHinhThuPhat")
    treasury: str | None = Field(None, alias="KhoBac")
    decision_date: str | None = Field(None, alias="NgayQD")
    decision_number: str | None = Field(None, alias="SoQD")
    violation_time: str | None = Field(None, alias="ThoiGianViPham")
    violation_place: str | None = Field(None, alias="DiaDiemViPham")
    violator_name: str | None = Field(None, alias="TenNguoiViPham")
    state_budget_account: str | None = Field(None, alias="TaiKhoanThuNSNN")
    fees: list[FeeLine] = Field(default_factory=list, alias="PhiLePhi")
    items: list[PaymentItem] = Field(default_factory=list, alias="DSKhoanNop")


class InitRequest(_Model):
    """``INIT``: create a payment; the reply carries the URL to send the payer to.

    ``transaction_time`` is the wire text (``yyyyMMddHHmmss``, Vietnam time) because
    it is hashed exactly as sent. Extension fields (the callback and return URLs,
    whose names are configurable) travel as extra keys.
    """

    message_type: str = Field("INIT", alias="LoaiBanTin")
    version: str = Field(MESSAGE_VERSION, alias="PhienBan")
    partner_code: str = Field(alias="MaDoiTac")
    reference: str = Field(alias="MaThamChieu")
    amount: Amount = Field(alias="SoTien")
    payment_type: str = Field("PAY", alias="LoaiHinhThanhToan")
    channel_code: str = Field("", alias="MaKenhThanhToan")
    device_code: str = Field("", alias="MaThietBi")
    language: str = Field("vi-VN", alias="NgonNgu")
    currency: str = Field("VND", alias="MaTienTe")
    bank_code: str = Field("", alias="MaNganHang")
    description: str = Field("", alias="ThongTinGiaoDich")
    transaction_time: str = Field(alias="ThoiGianGD")
    ip: str = Field("", alias="Ip")
    checksum: str = Field("", alias="MaXacThuc")
    receipt: ReceiptInfo | None = Field(None, alias="ThongTinBienLai")

    @field_validator("transaction_time")
    @classmethod
    def _compact_time(cls, value: str) -> str:
        parse_compact(value)  # raises ValueError naming the expected format
        return value

    @field_serializer("amount")
    def _amount_text(self, amount: int) -> str:
        # Both public clients send SoTien as a digit string; the hash is the same.
        return str(amount)

    @field_validator("reference", "partner_code")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _amounts_add_up(self) -> Self:
        if self.amount <= 0:
            raise ValueError(f"SoTien must be a positive whole VND amount (got {self.amount})")
        if self.receipt is not None:
            for label, lines in (
                ("PhiLePhi", self.receipt.fees),
                ("DSKhoanNop", self.receipt.items),
            ):
                if lines:
                    total = sum(line.amount for line in lines)
                    if total != self.amount:
                        raise ValueError(
                            f"ThongTinBienLai.{label} lines add up to {total} VND "
                            f"but SoTien is {self.amount} VND"
                        )
        return self

    @property
    def transaction_datetime(self) -> datetime:
        return parse_compact(self.transaction_time)


class PaymentNotification(_Inbound):
    """The platform's IPN callback: the payment's outcome, signed with ``MaXacThuc``."""

    message_type: str = Field("", alias="LoaiBanTin")
    error_code: str = Field(alias="MaLoi")
    partner_code: str = Field("", alias="MaDoiTac")
    reference: str = Field(alias="MaThamChieu")
    amount: Amount = Field(alias="SoTien")
    currency: str = Field("", alias="MaTienTe")
    transaction_id: str = Field("", alias="MaGiaoDich")
    bank_code: str = Field("", alias="MaNganHang")
    transaction_time: str = Field("", alias="ThoiGianGD")
    description: str = Field("", alias="ThongTinGiaoDich")
    checksum: str = Field("", alias="MaXacThuc")

    @property
    def paid(self) -> bool:
        """``MaLoi == "00"``: the payer paid."""
        return self.error_code == "00"

    @property
    def transaction_datetime(self) -> datetime | None:
        try:
            return parse_compact(self.transaction_time)
        except ValueError:
            return None


class CallbackReply(_Model):
    """The vendor's answer to a callback (``MaLoi "00"`` = received and accepted)."""

    error_code: str = Field(alias="MaLoi")
    message: str = Field("", alias="MoTaLoi")
    partner_code: str = Field("", alias="MaDoiTac")
    reference: str | None = Field(None, alias="MaThamChieu")
    transaction_time: str = Field("", alias="ThoiGianGD")
    checksum: str = Field("", alias="MaXacThuc")


class PaymentStatus(_Inbound, EvidenceModel):
    """The platform's reply to ``QUERY`` (``.evidence``: the call that fetched it)."""

    message_type: str = Field("", alias="LoaiBanTin")
    error_code: str = Field(alias="MaLoi")
    error_message: str = Field("", alias="MoTaLoi")
    partner_code: str = Field("", alias="MaDoiTac")
    reference: str = Field("", alias="MaThamChieu")
    amount: Amount | None = Field(None, alias="SoTien")
    currency: str = Field("", alias="MaTienTe")
    transaction_id: str | None = Field(None, alias="MaGiaoDich")
    bank_code: str = Field("", alias="MaNganHang")
    transaction_time: str = Field("", alias="ThoiGianGD")
    description: str = Field("", alias="ThongTinGiaoDich")
    status: TransactionStatus | None = Field(None, alias="TrangThaiGD")
    checksum: str = Field("", alias="MaXacThuc")

    @property
    def state(self) -> PaymentState:
        if self.status is None:
            return PaymentState.UNKNOWN
        return _STATE_OF_STATUS.get(self.status, PaymentState.UNKNOWN)

    @property
    def paid(self) -> bool:
        return self.state is PaymentState.PAID


@dataclass(frozen=True)
class PaymentCreated(EvidenceMixin):
    """What ``create_payment`` gives back: where to send the payer, and what was sent.

    ``.evidence`` holds the correlation id, timing and masked exchange of the call.
    """

    url: str
    reference: str
    request: InitRequest | dict[str, Any]
    """The signed INIT message (the raw body for the legacy profile)."""

    @property
    def transaction_time(self) -> str | None:
        """INIT's ``ThoiGianGD``: pass it as ``at=`` to ``query_payment`` and
        ``get_receipt`` (the platform expects the payment's own time back)."""
        if isinstance(self.request, InitRequest):
            return self.request.transaction_time
        return None


@dataclass(frozen=True)
class EReceipt(EvidenceMixin):
    """An e-receipt PDF from ``GET_BILL``: in memory (``content``) or on disk (``path``)."""

    reference: str
    size: int
    content_type: str = "application/pdf"
    content: bytes | None = field(default=None, repr=False)
    path: Path | None = None

    def read_bytes(self) -> bytes:
        if self.content is not None:
            return self.content
        assert self.path is not None
        return self.path.read_bytes()


@dataclass(frozen=True)
class ExpectedPayment:
    """What the vendor created for a reference (the callback verifier's lookup result)."""

    reference: str
    amount: int
    currency: str = "VND"
    addition_fee: int = 0
    """Legacy profile only: the ``addition_fee`` sent when the payment was created
    (its callback checksum covers the values the vendor stored)."""

    def __post_init__(self) -> None:
        for name in ("amount", "addition_fee"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"ExpectedPayment.{name} must be whole VND as int, got {value!r}")
            whole_vnd(value)


class LocalPayment(_Model):
    """One payment as the vendor's own ledger sees it (input of ``reconcile``)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", coerce_numbers_to_str=True)

    reference: str = Field(validation_alias=AliasChoices("reference", "MaThamChieu"))
    amount: Amount = Field(validation_alias=AliasChoices("amount", "SoTien"))
    status: PaymentState = Field(
        PaymentState.PENDING, validation_alias=AliasChoices("status", "state", "TrangThai")
    )
    created_at: datetime | None = Field(None, validation_alias=AliasChoices("created_at", "date"))

    @field_validator("status", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class DifferenceKind(StrEnum):
    PAID_HERE_NOT_THERE = "paid_here_not_there"
    PAID_THERE_PENDING_HERE = "paid_there_pending_here"
    AMOUNT_MISMATCH = "amount_mismatch"
    CLOSED_THERE_OPEN_HERE = "closed_there_open_here"
    """The platform says failed/cancelled while the ledger still waits."""
    UNKNOWN_THERE = "unknown_there"
    """The platform has no such reference."""
    DUPLICATE_ROWS = "duplicate_rows"
    """The ledger has more than one row for the reference."""
    PAID_TWICE_HERE = "paid_twice_here"
    """The ledger books the reference paid on more than one row."""


@dataclass(frozen=True)
class ReconcileDifference:
    """One payment on which the ledger and the platform disagree."""

    reference: str
    kind: DifferenceKind
    local_state: PaymentState
    remote_state: PaymentState
    local_amount: int
    remote_amount: int | None = None
    transaction_id: str | None = None
    remote: PaymentStatus | None = field(default=None, repr=False, compare=False)
    ledger_rows: int = 1
    """How many ledger rows carry this reference."""

    def describe(self) -> str:
        if self.kind is DifferenceKind.AMOUNT_MISMATCH:
            return f"amount {self.local_amount} here, {self.remote_amount} on the platform"
        if self.kind is DifferenceKind.PAID_TWICE_HERE:
            return f"booked paid on {self.ledger_rows} ledger rows"
        if self.kind is DifferenceKind.DUPLICATE_ROWS:
            return f"{self.ledger_rows} ledger rows for one reference"
        return f"{self.local_state.value} here, {self.remote_state.value} on the platform"

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "kind": self.kind.value,
            "local_state": self.local_state.value,
            "remote_state": self.remote_state.value,
            "local_amount": self.local_amount,
            "remote_amount": self.remote_amount,
            "transaction_id": self.transaction_id,
            "ledger_rows": self.ledger_rows,
            "description": self.describe(),
        }


@dataclass(frozen=True)
class ReconcileProblem:
    """A payment that could not be checked (query failed) or not settled (hook raised)."""

    reference: str
    message: str


@dataclass
class ReconcileReport:
    """What ``reconcile`` found; ``differences`` is empty when the books agree."""

    checked: int = 0
    skipped: int = 0
    differences: list[ReconcileDifference] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    errors: list[ReconcileProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "skipped": self.skipped,
            "differences": [d.to_dict() for d in self.differences],
            "settled": list(self.settled),
            "errors": [{"reference": e.reference, "message": e.message} for e in self.errors],
        }
