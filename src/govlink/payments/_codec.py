"""Sans-I/O building and parsing of payment messages: the logic both clients share.

Nothing here sends anything. The sync and async clients call these functions to get
a request body, hand it to their transport, and pass the reply back here. That keeps
one implementation of every rule (checksums, amount checks, error-code mapping) and
makes each rule testable without HTTP.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from govlink.core.clock import format_compact, parse_compact
from govlink.core.errors import (
    AuthenticationError,
    GovLinkError,
    NotFoundError,
    PlatformError,
    SignatureError,
    ValidationError,
)
from govlink.payments import _checksum as checksum
from govlink.payments._checksum import MessageKind
from govlink.payments.models import (
    LEGACY_VERSION,
    MESSAGE_VERSION,
    CallbackReply,
    InitRequest,
    PaymentStatus,
    ReceiptInfo,
    whole_vnd,
)

__all__ = [
    "INIT_ERRORS",
    "QUERY_ERRORS",
    "build_init",
    "build_legacy_pay",
    "build_lookup",
    "build_reply",
    "new_reference",
    "parse_bill_reply",
    "parse_init_reply",
    "parse_legacy_pay_reply",
    "parse_query_reply",
    "validation_error",
]

# Error codes of the INIT reply (``error_code`` of the gateway shape, or ``MaLoi``),
# as the mock implements them (the real tables are not public).
INIT_ERRORS: dict[str, str] = {
    "1": "the message is malformed or a required field is missing",
    "2": "MaXacThuc does not match (wrong secret or wrong field order)",
    "3": "MaDoiTac is not a registered partner",
    "4": "MaThamChieu was already used for a different payment",
    "5": "SoTien is not a valid amount or the fee lines do not add up",
    "01": "the message is malformed or a required field is missing",
    "02": "MaXacThuc does not match (wrong secret or wrong field order)",
    "03": "MaDoiTac is not a registered partner",
    "04": "MaThamChieu was already used for a different payment",
    "05": "SoTien is not a valid amount or the fee lines do not add up",
}
# ``MaLoi`` of QUERY and GET_BILL error replies.
QUERY_ERRORS: dict[str, str] = {
    "01": "MaXacThuc does not match (wrong secret or wrong field order)",
    "02": "no payment with this MaThamChieu",
    "03": "MaDoiTac is not a registered partner",
    "04": "the payment is not paid, so there is no receipt yet",
    "99": "the platform failed to process the request",
}
_CHECKSUM_HINT = (
    "check GOVLINK_PAYMENTS__AUTH__CLIENT_ID (MaDoiTac) and GOVLINK_PAYMENTS__AUTH__CLIENT_SECRET"
)


def new_reference(prefix: str = "GL", when: datetime | None = None) -> str:
    """A fresh ``MaThamChieu``: letters and digits only (some portals strip the rest)."""
    stamp = format_compact(when) if when is not None else ""
    return f"{prefix}{stamp}{secrets.token_hex(5).upper()}"


# Fields whose value may be shown in an error: codes and amounts, never a person's data.
_SHOWABLE = frozenset(
    {"SoTien", "ThoiGianGD", "MaThamChieu", "MaDoiTac", "MaTienTe", "PhienBan", "LoaiBanTin"}
)
# INIT's hashed fields, by the Python parameter that fills them (for error messages).
_INIT_PARAMETERS: dict[str, str] = {
    "MaDoiTac": "partner_code",
    "MaThamChieu": "reference",
    "LoaiHinhThanhToan": "payment_type",
    "MaKenhThanhToan": "channel_code",
    "MaThietBi": "device_code",
    "NgonNgu": "language",
    "MaTienTe": "currency",
    "MaNganHang": "bank_code",
    "ThongTinGiaoDich": "description",
    "Ip": "ip",
}


def validation_error(exc: PydanticValidationError, what: str) -> ValidationError:
    """The first problem of a pydantic error as a govlink ``ValidationError``.

    The field is named by its wire path (``INIT.ThongTinBienLai.PhiLePhi.0.SoTien``);
    the offending value is shown only for codes and amounts, so a payer's name or
    address never ends up in an exception, a log line or a CLI message.
    """
    first = exc.errors()[0]
    path = [str(part) for part in first["loc"]]
    field = ".".join([what, *path])
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    value = first.get("input")
    showable = bool(path) and path[-1] in _SHOWABLE and isinstance(value, int | str | float)
    return ValidationError(field, message, got=value if showable else None)


def refuse_separator(fields: Mapping[str, Any], names: tuple[str, ...], what: str) -> None:
    """``ValidationError`` if a hashed text field contains ``|``.

    Checksums join fields with ``|``; a value holding one would let a signed message
    be re-read with its field boundaries moved.
    """
    for name in names:
        value = fields.get(name)
        if isinstance(value, str) and "|" in value:
            parameter = _INIT_PARAMETERS.get(name)
            label = f"{parameter} ({what}.{name})" if parameter else f"{what}.{name}"
            raise ValidationError(
                label, "text without the '|' character (it separates hashed fields)"
            )


def _check_lines(amount: int, receipt: ReceiptInfo | Mapping[str, Any] | None) -> None:
    if receipt is None:
        return
    try:
        info = receipt if isinstance(receipt, ReceiptInfo) else ReceiptInfo.model_validate(receipt)
    except PydanticValidationError as exc:
        raise validation_error(exc, "INIT.ThongTinBienLai") from None
    for label, lines in (("PhiLePhi", info.fees), ("DSKhoanNop", info.items)):
        if lines:
            total = sum(line.amount for line in lines)
            if total != amount:
                raise ValidationError(
                    f"receipt (INIT.ThongTinBienLai.{label})",
                    f"lines adding up to SoTien {amount} VND (they add up to {total} VND)",
                )


def build_init(
    *,
    partner_code: str,
    secret: str,
    reference: str,
    amount: int,
    when: datetime,
    description: str = "",
    ip: str = "",
    receipt: ReceiptInfo | Mapping[str, Any] | None = None,
    channel_code: str = "",
    device_code: str = "",
    bank_code: str = "",
    language: str = "vi-VN",
    currency: str = "VND",
    extensions: Mapping[str, str] | None = None,
) -> InitRequest:
    """A signed ``INIT`` message; ``ValidationError`` (nothing sent) if an input is wrong."""
    try:
        whole_vnd(amount)
        if not isinstance(amount, int):
            raise ValueError(f"an amount must be whole VND as an int (got {amount!r})")
    except ValueError as exc:
        raise ValidationError("amount", "whole VND as an int > 0", got=amount) from exc
    if amount <= 0:
        raise ValidationError("amount", "whole VND as an int > 0", got=amount)
    _check_lines(amount, receipt)
    fields: dict[str, Any] = {
        "LoaiBanTin": "INIT",
        "PhienBan": MESSAGE_VERSION,
        "MaDoiTac": partner_code,
        "MaThamChieu": reference,
        "SoTien": amount,
        "LoaiHinhThanhToan": "PAY",
        "MaKenhThanhToan": channel_code,
        "MaThietBi": device_code,
        "NgonNgu": language,
        "MaTienTe": currency,
        "MaNganHang": bank_code,
        "ThongTinGiaoDich": description,
        "ThoiGianGD": format_compact(when),
        "Ip": ip,
    }
    if receipt is not None:
        fields["ThongTinBienLai"] = (
            receipt.to_wire() if isinstance(receipt, ReceiptInfo) else dict(receipt)
        )
    for name, value in (extensions or {}).items():
        if value:
            fields[name] = value
    refuse_separator(fields, checksum.INIT_FIELDS, "INIT")
    try:
        request = InitRequest.model_validate(fields)
    except PydanticValidationError as exc:
        raise validation_error(exc, "INIT") from None
    request.checksum = checksum.sign(MessageKind.INIT, request.to_wire(), secret)
    return request


def _init_refused(code: str, text: str, body: Mapping[str, Any], status_code: int) -> GovLinkError:
    meaning = INIT_ERRORS.get(code, "the platform refused the payment")
    if code in ("2", "02"):
        return AuthenticationError(
            f"INIT refused (error {code}): {meaning}: {text}", hint=_CHECKSUM_HINT
        )
    return PlatformError(
        f"INIT refused (error {code or 'missing'}): {meaning}: {text}",
        code=code or None,
        raw=dict(body),
        status_code=status_code,
        hint="nothing was charged; fix the request and create the payment again",
    )


def parse_init_reply(status_code: int, content: bytes) -> str:
    """``UrlThanhToan`` from the INIT reply, or the platform's error as an exception.

    Two public shapes are read: the platform's own ``{"MaLoi": "00", "UrlThanhToan":
    …}``, and a Bearer-token gateway's ``{"error_code": "0", "message": "<JSON text
    holding UrlThanhToan>"}`` (PLATFORMS.md §3).
    """
    body = _json_object(status_code, content, "INIT")
    inner: Any = body
    if "error_code" in body and "MaLoi" not in body:
        code = str(body.get("error_code", "")).strip()
        message = body.get("message")
        if code != "0":
            text = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
            raise _init_refused(code, text, body, status_code)
        inner = message
        if isinstance(message, str):
            try:
                inner = json.loads(message)
            except ValueError:
                inner = {"UrlThanhToan": message} if message.startswith("http") else None
    if isinstance(inner, dict) and "MaLoi" in inner:
        code = str(inner.get("MaLoi", "")).strip()
        if code != "00":
            raise _init_refused(code, str(inner.get("MoTaLoi", "") or ""), body, status_code)
    url = inner.get("UrlThanhToan") if isinstance(inner, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise PlatformError(
            "INIT succeeded but its reply holds no UrlThanhToan",
            raw=body,
            status_code=status_code,
            hint="the platform's reply format changed; report it with the evidence",
        )
    return url


def build_lookup(
    kind: MessageKind,
    *,
    partner_code: str,
    secret: str,
    reference: str,
    when: datetime | str,
) -> dict[str, Any]:
    """A signed ``QUERY`` or ``GET_BILL`` message.

    ``when`` is the **original payment's** ``ThoiGianGD`` (a datetime, or the
    ``yyyyMMddHHmmss`` text that INIT carried): both public clients send it, and the
    platform finds the transaction by reference and time.
    """
    if kind not in (MessageKind.QUERY, MessageKind.GET_BILL):
        raise ValueError(f"build_lookup builds QUERY or GET_BILL, not {kind}")
    if not reference.strip() or "|" in reference:
        raise ValidationError("reference", "the MaThamChieu of a payment (no '|')", got=reference)
    if isinstance(when, str):
        try:
            parse_compact(when)
        except ValueError:
            raise ValidationError(
                "transaction_time", "the payment's ThoiGianGD as yyyyMMddHHmmss", got=when
            ) from None
    message: dict[str, Any] = {
        "LoaiBanTin": kind.value,
        "PhienBan": MESSAGE_VERSION,
        "MaDoiTac": partner_code,
        "MaThamChieu": reference,
        "ThoiGianGD": when if isinstance(when, str) else format_compact(when),
    }
    message["MaXacThuc"] = checksum.sign(kind, message, secret)
    return message


def _lookup_error(what: str, reference: str, body: Mapping[str, Any], status_code: int) -> None:
    code = str(body.get("MaLoi", "")).strip()
    if code == "00":
        return
    text = str(body.get("MoTaLoi", "") or "")
    meaning = QUERY_ERRORS.get(code, "the platform refused the request")
    message = f"{what} {reference}: MaLoi {code or 'missing'}: {meaning}" + (
        f" ({text})" if text else ""
    )
    if code == "01":
        raise AuthenticationError(message, hint=_CHECKSUM_HINT)
    if code == "02":
        raise NotFoundError(
            message,
            code=code,
            raw=dict(body),
            status_code=status_code,
            hint="check the reference; payments created on another profile are not here",
        )
    raise PlatformError(
        message,
        code=code or None,
        raw=dict(body),
        status_code=status_code,
        hint="try again later" if code in ("99", "") else None,
    )


def parse_query_reply(
    status_code: int,
    content: bytes,
    *,
    reference: str,
    secret: str,
    verify_checksum: bool = True,
) -> PaymentStatus:
    """The QUERY reply as :class:`PaymentStatus`; its ``MaXacThuc`` checked when present."""
    body = _json_object(status_code, content, "QUERY")
    _lookup_error("QUERY", reference, body, status_code)
    signed = verify_checksum and bool(body.get("MaXacThuc"))
    if signed and not checksum.verify(MessageKind.QUERY_REPLY, body, secret):
        raise SignatureError(
            f"QUERY {reference}: the reply's MaXacThuc does not verify",
            hint="the reply may have been altered; set payments.options.verify_replies "
            "to false only if your platform signs QUERY replies differently",
        )
    try:
        status = PaymentStatus.model_validate(body)
    except PydanticValidationError as exc:
        raise PlatformError(
            f"QUERY {reference}: unreadable reply: {validation_error(exc, 'QUERY')}",
            raw=body,
            status_code=status_code,
        ) from None
    if status.reference and status.reference != reference:
        raise PlatformError(
            f"QUERY {reference}: the reply is about {status.reference}",
            raw=body,
            status_code=status_code,
        )
    return status


def parse_bill_reply(status_code: int, content_type: str, content: bytes, reference: str) -> bytes:
    """The receipt PDF of a GET_BILL reply; a JSON reply is the platform's error."""
    check_bill_head(status_code, content_type, content[:1024], reference)
    return content


def check_bill_head(status_code: int, content_type: str, head: bytes, reference: str) -> None:
    """Raise the platform's error unless the reply starts like a PDF (for streaming too)."""
    if head.startswith(b"%PDF-") and status_code == 200:
        return
    if "json" in content_type.lower() or head.lstrip().startswith(b"{"):
        try:
            body = json.loads(head.decode("utf-8"))
        except ValueError:
            body = None
        if isinstance(body, dict):
            _lookup_error("GET_BILL", reference, body, status_code)
    raise PlatformError(
        f"GET_BILL {reference}: expected a PDF, got HTTP {status_code} {content_type or 'no type'}",
        status_code=status_code,
        raw=head[:200],
        hint="the receipt may not be ready yet; try again later",
    )


def build_reply(
    *,
    error_code: str,
    message: str,
    partner_code: str,
    reference: str | None,
    when: datetime,
    secret: str,
    echo: str | None = None,
    transaction_time: str | None = None,
) -> CallbackReply:
    """The vendor's answer to a callback.

    ``echo`` given (the callback's own ``MaXacThuc``): the reply carries it and the
    callback's ``ThoiGianGD``, as both public clients answer. Without it the reply is
    signed with the vendor's own hash over ``MaLoi|MoTaLoi|MaDoiTac|ThoiGianGD``.
    """
    reply = CallbackReply(
        error_code=error_code,
        message=message,
        partner_code=partner_code,
        reference=reference,
        transaction_time=transaction_time or format_compact(when),
    )
    if echo is not None:
        reply.checksum = echo
    else:
        reply.checksum = checksum.sign(MessageKind.REPLY, reply.to_wire(), secret)
    return reply


def _json_object(status_code: int, content: bytes, what: str) -> dict[str, Any]:
    try:
        body = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        preview = content[:200].decode("utf-8", errors="replace")
        raise PlatformError(
            f"{what}: the platform answered HTTP {status_code} with something that is not a "
            f"JSON object: {preview!r}",
            status_code=status_code,
            raw=content[:2000],
            hint="check the base URL and paths of the payments platform (govlink doctor)",
        )
    return body


# ---------------------------------------------------------------- legacy profile


def build_legacy_pay(
    *,
    client_id: str,
    key: str,
    transaction_id: str,
    amount: int,
    description: str = "",
    return_url: str | None = None,
    callback_url: str | None = None,
    addition_fee: int = 0,
    locale: str = "vi_VN",
) -> dict[str, Any]:
    """A signed ``command=PAY`` request of the KeyPay profile.

    ``check_sum`` = HMAC-SHA256(key 1, ``addition_fee|client_id|command|trans_amount|
    transaction_id|version``); amounts travel as digit strings, as the public client
    sends them.
    """
    for name, value in (("amount", amount), ("addition_fee", addition_fee)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(name, "whole VND as an int ≥ 0", got=value)
    if amount <= 0:
        raise ValidationError("amount", "whole VND as an int > 0", got=amount)
    message: dict[str, Any] = {
        "client_id": client_id,
        "transaction_id": transaction_id,
        "trans_amount": str(amount),
        "addition_fee": str(addition_fee),
        "command": "PAY",
        "version": LEGACY_VERSION,
        "description": description,
        "locale": locale,
        "currency_code": "VND",
    }
    refuse_separator(message, checksum.LEGACY_REQUEST_FIELDS, "PAY")
    if return_url:
        message["return_url"] = return_url
    if callback_url:
        message["callback_url"] = callback_url
    message["check_sum"] = checksum.legacy_check_sum(message, key)
    return message


def parse_legacy_pay_reply(status_code: int, content: bytes) -> str:
    """The payment URL of a KeyPay reply (``{"error": "0", "payment_url" | "data": …}``)."""
    body = _json_object(status_code, content, "PAY")
    code = str(body.get("error", body.get("error_code", ""))).strip()
    data = body.get("data")
    url = body.get("payment_url")
    if url is None and isinstance(data, Mapping):
        url = data.get("payment_url")
    if code != "0" or not isinstance(url, str):
        raise PlatformError(
            f"PAY refused (error {code or 'missing'}): {body.get('msg', '')}",
            code=code or None,
            raw=body,
            status_code=status_code,
        )
    return url


# KeyPay detail ``status`` -> TrangThaiGD of the DVCQG table (assumed codes).
LEGACY_STATUS: dict[str, str] = {"0": "1", "1": "3", "2": "4"}


def build_legacy_detail(
    *, client_id: str, key: str, transaction_id: str, command: str = "DETAIL"
) -> dict[str, Any]:
    """The KeyPay detail query, signed HMAC(key 1, ``client_id|command|transaction_id``)."""
    message: dict[str, Any] = {
        "client_id": client_id,
        "command": command,
        "transaction_id": transaction_id,
    }
    refuse_separator(message, checksum.LEGACY_DETAIL_FIELDS, command)
    message["check_sum"] = checksum.legacy_check_sum(message, key, checksum.LEGACY_DETAIL_FIELDS)
    return message


def parse_legacy_detail_reply(
    status_code: int, content: bytes, *, reference: str, partner_code: str
) -> PaymentStatus:
    """A KeyPay detail reply as :class:`PaymentStatus` (``TrangThaiGD`` mapped)."""
    body = _json_object(status_code, content, "DETAIL")
    code = str(body.get("error", "")).strip()
    data = body.get("data") if isinstance(body.get("data"), Mapping) else body
    if code != "0" or not isinstance(data, Mapping):
        if code == "2":
            raise NotFoundError(
                f"DETAIL {reference}: no such transaction",
                code=code,
                raw=body,
                status_code=status_code,
            )
        raise PlatformError(
            f"DETAIL {reference} refused (error {code or 'missing'}): {body.get('msg', '')}",
            code=code or None,
            raw=body,
            status_code=status_code,
        )
    status = str(data.get("status", "")).strip()
    wire = {
        "LoaiBanTin": "DETAIL",
        "MaLoi": "00",
        "MaDoiTac": partner_code,
        "MaThamChieu": str(data.get("transaction_id") or reference),
        "SoTien": data.get("trans_amount"),
        "MaGiaoDich": str(data.get("transaction_code") or ""),
        "TrangThaiGD": LEGACY_STATUS.get(status, f"legacy-{status}"),
    }
    try:
        return PaymentStatus.model_validate(wire)
    except PydanticValidationError as exc:
        raise PlatformError(
            f"DETAIL {reference}: unreadable reply: {validation_error(exc, 'DETAIL')}",
            raw=body,
            status_code=status_code,
        ) from None
