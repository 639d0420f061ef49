"""The one place that computes payment checksums (``MaXacThuc`` and legacy ``check_sum``).

Two profiles exist on the wire, and a deployment uses exactly one of them
(``settings.payments.options["profile"]``):

``dvcqg`` (default) — DVCQG PaymentPlatform, message version 1.0.6.
    ``MaXacThuc`` = lowercase hex SHA-256 of the message's fields, in a fixed order,
    joined by ``|``, with the partner secret appended as the last element::

        sha256("INIT|1.0.6|GOVLINKDEMO|REF1|150000|PAY|…|20260101080000|127.0.0.1|<secret>")

    Which fields, per message, is given by the ``*_FIELDS`` tuples below. The nested
    receipt block ``ThongTinBienLai`` (and any other nested value) is *not* hashed: the
    order observed on the wire ends with ``…|ThoiGianGD|Ip|<secret>`` and public
    integrations hash exactly the 14 top-level fields before ``MaXacThuc``. Extension
    fields govlink adds (``UrlCallback``/``UrlReturn``) are not hashed either, so a
    platform that does not know them still accepts the checksum.

``legacy`` — the older intermediary gateway.
    ``check_sum`` = lowercase hex HMAC-SHA256 keyed by the partner's *request* key over
    the values of a fixed set of fields in alphabetical order of their names, joined
    by ``|`` (``addition_fee|client_id|command|trans_amount|transaction_id|version``).
    Callbacks carry a ``check_sum`` over the same six fields, keyed by the *second*
    key; the detail query signs ``client_id|command|transaction_id`` with the first.

Value rules shared by both: ``None`` becomes the empty string, integers their decimal
form, strings are used as they are (no trimming, no case change). Anything else — a
float amount, a bool, a nested object — is refused: a checksum over ``150000.0``
would never match the platform's and would be a silent money-path bug.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

__all__ = [
    "GET_BILL_FIELDS",
    "INIT_FIELDS",
    "IPN_FIELDS",
    "LEGACY_CALLBACK_FIELDS",
    "LEGACY_DETAIL_FIELDS",
    "LEGACY_REQUEST_FIELDS",
    "QUERY_FIELDS",
    "QUERY_REPLY_FIELDS",
    "REPLY_FIELDS",
    "ChecksumProfile",
    "MessageKind",
    "checksum_input",
    "checksums_equal",
    "digest_values",
    "legacy_check_sum",
    "legacy_input",
    "ma_xac_thuc",
    "sign",
    "verify",
]


class ChecksumProfile(StrEnum):
    """Which checksum scheme a deployment speaks (``options["profile"]``)."""

    DVCQG = "dvcqg"
    LEGACY = "legacy"


class MessageKind(StrEnum):
    """The DVCQG messages that carry a ``MaXacThuc``."""

    INIT = "INIT"
    QUERY = "QUERY"
    GET_BILL = "GET_BILL"
    IPN = "IPN"
    """The platform's payment notification (callback) to the vendor."""
    REPLY = "REPLY"
    """The vendor's answer to a callback."""
    QUERY_REPLY = "QUERY_REPLY"
    """The platform's answer to ``QUERY``."""


INIT_FIELDS: tuple[str, ...] = (
    "LoaiBanTin",
    "PhienBan",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "LoaiHinhThanhToan",
    "MaKenhThanhToan",
    "MaThietBi",
    "NgonNgu",
    "MaTienTe",
    "MaNganHang",
    "ThongTinGiaoDich",
    "ThoiGianGD",
    "Ip",
)
QUERY_FIELDS: tuple[str, ...] = ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "ThoiGianGD")
GET_BILL_FIELDS: tuple[str, ...] = QUERY_FIELDS
IPN_FIELDS: tuple[str, ...] = (
    "LoaiBanTin",
    "MaLoi",
    "MaDoiTac",
    "MaThamChieu",
    "SoTien",
    "MaTienTe",
    "MaGiaoDich",
    "MaNganHang",
    "ThoiGianGD",
    "ThongTinGiaoDich",
)
REPLY_FIELDS: tuple[str, ...] = ("MaLoi", "MoTaLoi", "MaDoiTac", "ThoiGianGD")
QUERY_REPLY_FIELDS: tuple[str, ...] = (*IPN_FIELDS, "TrangThaiGD")

_FIELDS: dict[MessageKind, tuple[str, ...]] = {
    MessageKind.INIT: INIT_FIELDS,
    MessageKind.QUERY: QUERY_FIELDS,
    MessageKind.GET_BILL: GET_BILL_FIELDS,
    MessageKind.IPN: IPN_FIELDS,
    MessageKind.REPLY: REPLY_FIELDS,
    MessageKind.QUERY_REPLY: QUERY_REPLY_FIELDS,
}

LEGACY_REQUEST_FIELDS: tuple[str, ...] = (
    "addition_fee",
    "client_id",
    "command",
    "trans_amount",
    "transaction_id",
    "version",
)
LEGACY_CALLBACK_FIELDS: tuple[str, ...] = LEGACY_REQUEST_FIELDS
"""The callback's ``check_sum`` covers the same six fields, keyed by the *second* key,
over the values the vendor stored when it created the payment (public KeyPay client)."""
LEGACY_DETAIL_FIELDS: tuple[str, ...] = ("client_id", "command", "transaction_id")
"""The detail query (``command=DETAIL``) is signed over these, keyed by the first key."""


def _text(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError(f"{name}: a bool cannot be part of a checksum (got {value!r})")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(
        f"{name}: only text and whole numbers can be part of a checksum "
        f"(got {type(value).__name__}); amounts are whole VND as int"
    )


def checksum_input(fields: Iterable[str], message: Mapping[str, Any]) -> str:
    """The pipe-joined field values, *without* the secret (for logs and debugging)."""
    return "|".join(_text(name, message.get(name)) for name in fields)


def ma_xac_thuc(fields: Iterable[str], message: Mapping[str, Any], secret: str) -> str:
    """Lowercase hex SHA-256 of ``field1|field2|…|secret``."""
    names = list(fields)
    return digest_values([message.get(name) for name in names], secret, names=names)


def digest_values(values: Iterable[Any], secret: str, *, names: list[str] | None = None) -> str:
    """Lowercase hex SHA-256 of ``value1|value2|…|secret`` (the value rules above)."""
    parts = [_text(names[i] if names else f"value {i}", v) for i, v in enumerate(values)]
    data = "|".join([*parts, secret])
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def sign(kind: MessageKind | str, message: Mapping[str, Any], secret: str) -> str:
    """``MaXacThuc`` of one DVCQG message of ``kind`` (fields taken from ``message``)."""
    return ma_xac_thuc(_FIELDS[MessageKind(kind)], message, secret)


def checksums_equal(expected: str, given: object) -> bool:
    """Constant-time comparison of hex digests; upper-case hex is accepted."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.lower().encode("utf-8"), given.lower().encode("utf-8"))


def verify(
    kind: MessageKind | str,
    message: Mapping[str, Any],
    secret: str,
    *,
    field: str = "MaXacThuc",
) -> bool:
    """Whether ``message[field]`` is the right ``MaXacThuc`` (constant time).

    A message whose hashed fields cannot be hashed (a float amount, say) does not
    verify: it cannot have come from a correct signer.
    """
    try:
        expected = sign(kind, message, secret)
    except TypeError:
        return False
    return checksums_equal(expected, message.get(field))


def legacy_input(fields: Iterable[str], message: Mapping[str, Any]) -> str:
    """Values of ``fields`` sorted by field name, pipe-joined (legacy profile)."""
    return "|".join(_text(name, message.get(name)) for name in sorted(fields))


def legacy_check_sum(
    message: Mapping[str, Any],
    key: str,
    fields: Iterable[str] = LEGACY_REQUEST_FIELDS,
) -> str:
    """Lowercase hex HMAC-SHA256 over :func:`legacy_input`, keyed by ``key``."""
    data = legacy_input(fields, message)
    return hmac.new(key.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).hexdigest()
