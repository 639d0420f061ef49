"""``MaXacThuc`` as the platform computes it, written independently of govlink.

This duplicates ``govlink.payments.checksum`` on purpose: a mock that borrowed the
client's checksum code would agree with any mistake in it. The two are tied together
only by the published test vectors (``tests/unit/payments/test_checksum.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "INIT_ORDER",
    "IPN_ORDER",
    "KEYPAY_DETAIL_ORDER",
    "KEYPAY_ORDER",
    "LOOKUP_ORDER",
    "PULL_ORDER",
    "QUERY_REPLY_ORDER",
    "REPLY_ORDER",
    "digest",
    "hmac_digest",
    "matches",
    "pull_reply_digest",
]

# KeyPay (the older intermediary gateway): HMAC-SHA256 over these, pipe-joined.
KEYPAY_ORDER: tuple[str, ...] = (
    "addition_fee",
    "client_id",
    "command",
    "trans_amount",
    "transaction_id",
    "version",
)
KEYPAY_DETAIL_ORDER: tuple[str, ...] = ("client_id", "command", "transaction_id")

INIT_ORDER: tuple[str, ...] = (
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
LOOKUP_ORDER: tuple[str, ...] = ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "ThoiGianGD")
IPN_ORDER: tuple[str, ...] = (
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
QUERY_REPLY_ORDER: tuple[str, ...] = (*IPN_ORDER, "TrangThaiGD")
REPLY_ORDER: tuple[str, ...] = ("MaLoi", "MoTaLoi", "MaDoiTac", "ThoiGianGD")


def _part(value: Any) -> str | None:
    """The text of one hashed value; None when the platform would not accept it."""
    if value is None:
        return ""
    if isinstance(value, bool | float):
        return None
    if isinstance(value, int | str):
        return str(value)
    return None


def digest(order: Sequence[str], message: Mapping[str, Any], secret: str) -> str | None:
    """Lowercase hex SHA-256 of the values in ``order`` and the secret, pipe-joined."""
    parts = []
    for name in order:
        part = _part(message.get(name))
        if part is None:
            return None
        parts.append(part)
    parts.append(secret)
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def matches(order: Sequence[str], message: Mapping[str, Any], secret: str) -> bool:
    """Whether ``message["MaXacThuc"]`` is right (constant time, case-insensitive hex)."""
    given = message.get("MaXacThuc")
    wanted = digest(order, message, secret)
    if not isinstance(given, str) or wanted is None:
        return False
    return hmac.compare_digest(wanted.encode(), given.strip().lower().encode())


def hmac_digest(order: Sequence[str], message: Mapping[str, Any], key: str) -> str | None:
    """KeyPay's ``check_sum``: lowercase hex HMAC-SHA256 of the pipe-joined values."""
    parts = [_part(message.get(name)) for name in order]
    if any(part is None for part in parts):
        return None
    data = "|".join(part for part in parts if part is not None)
    return hmac.new(key.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).hexdigest()


# The portal's pull of a dossier's payments from the vendor (govlink's assumed shape).
PULL_ORDER: tuple[str, ...] = ("LoaiBanTin", "MaDoiTac", "MaHoSo", "ThoiGianGD")
_PULL_HEAD = ("MaLoi", "MaDoiTac", "MaHoSo", "ThoiGianGD")
_PULL_ITEM = ("MaThamChieu", "SoTien", "TrangThaiGD", "MaGiaoDich")


def pull_reply_digest(reply: Mapping[str, Any], secret: str) -> str | None:
    """``MaXacThuc`` of a vendor's pull reply: head fields, each payment's four, secret."""
    flat: dict[str, Any] = {name: reply.get(name) for name in _PULL_HEAD}
    order = list(_PULL_HEAD)
    items = reply.get("DanhSachThanhToan") or []
    if not isinstance(items, list):
        return None
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            return None
        for name in _PULL_ITEM:
            flat[f"{index}.{name}"] = item.get(name)
            order.append(f"{index}.{name}")
    return digest(order, flat, secret)
