"""Answering the portal when it pulls a dossier's payments from the vendor (by ``MaHoSo``).

PLATFORMS.md §3 records that the portal may pull a payment's state from the vendor by
dossier code; no public source shows that message, so its shape is govlink's
assumption (listed on the docs page) and is checked like every other message:

request (portal → vendor)::

    {"LoaiBanTin": "QUERY_HOSO", "MaDoiTac", "MaHoSo", "ThoiGianGD",
     "MaXacThuc": sha256(LoaiBanTin|MaDoiTac|MaHoSo|ThoiGianGD|secret)}

reply (vendor → portal), HTTP 200::

    {"LoaiBanTin": "QUERY_HOSO", "MaLoi", "MoTaLoi", "MaDoiTac", "MaHoSo", "ThoiGianGD",
     "DanhSachThanhToan": [{"MaThamChieu", "SoTien", "TrangThaiGD", "MaGiaoDich",
                            "ThoiGianGD"}, …],
     "MaXacThuc": sha256(MaLoi|MaDoiTac|MaHoSo|ThoiGianGD|<MaThamChieu|SoTien|
                         TrangThaiGD|MaGiaoDich of each payment>|secret)}

``TrangThaiGD`` uses the QUERY table (``1`` paid, ``3`` pending, ``4`` failed).
:class:`PaymentPullHandler` is sans-I/O: JSON in, JSON out, for any framework
(see ``examples/payments_asgi_callback.py`` and ``examples/payments_wsgi_callback.py``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from govlink.core.clock import Clock, SystemClock, format_compact, parse_compact
from govlink.payments import _checksum as checksum
from govlink.payments._callbacks import discard_awaitable
from govlink.payments.models import PaymentState, whole_vnd

__all__ = [
    "PULL_MESSAGE_TYPE",
    "PULL_REQUEST_FIELDS",
    "DossierPayment",
    "PaymentPullHandler",
    "pull_reply_checksum",
]

log = logging.getLogger("govlink.payments._pull")

PULL_MESSAGE_TYPE = "QUERY_HOSO"
PULL_REQUEST_FIELDS: tuple[str, ...] = ("LoaiBanTin", "MaDoiTac", "MaHoSo", "ThoiGianGD")
_STATUS_CODE = {
    PaymentState.PAID: "1",
    PaymentState.PENDING: "3",
    PaymentState.FAILED: "4",
    PaymentState.CANCELLED: "4",
}
_REPLIES = {
    "ok": ("00", "Thành công"),
    "bad_checksum": ("01", "Sai mã xác thực"),
    "unknown_dossier": ("02", "Không tìm thấy hồ sơ"),
    "stale": ("05", "Bản tin quá hạn"),
    "malformed": ("06", "Bản tin không hợp lệ"),
    "failed": ("99", "Lỗi khác"),
}


@dataclass(frozen=True)
class DossierPayment:
    """One payment of a dossier, as the vendor's books know it."""

    reference: str
    amount: int
    state: PaymentState
    transaction_id: str = ""
    transaction_time: str = ""
    """``ThoiGianGD`` of the payment (``yyyyMMddHHmmss``), if known."""

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"DossierPayment.amount must be whole VND as int, got {self.amount!r}")
        whole_vnd(self.amount)

    def to_wire(self) -> dict[str, str]:
        return {
            "MaThamChieu": self.reference,
            "SoTien": str(self.amount),
            "TrangThaiGD": _STATUS_CODE.get(self.state, "3"),
            "MaGiaoDich": self.transaction_id,
            "ThoiGianGD": self.transaction_time,
        }


PullLookup = Callable[
    [str], "Iterable[DossierPayment] | Awaitable[Iterable[DossierPayment]] | None"
]


def pull_reply_checksum(reply: Mapping[str, Any], secret: str) -> str:
    """``MaXacThuc`` of a pull reply (the head fields, then each payment's four)."""
    values: list[Any] = [reply.get(name) for name in ("MaLoi", "MaDoiTac", "MaHoSo", "ThoiGianGD")]
    for item in reply.get("DanhSachThanhToan") or []:
        values.extend(
            item.get(name) for name in ("MaThamChieu", "SoTien", "TrangThaiGD", "MaGiaoDich")
        )
    return checksum.digest_values(values, secret)


class PaymentPullHandler:
    """Checks a portal pull and answers it with the dossier's payments, signed.

    ``lookup(dossier_code)`` returns the :class:`DossierPayment` rows of that dossier
    (None or empty: unknown dossier); it may be async when used through
    :meth:`ahandle`. ``tolerance``: how old the request's ``ThoiGianGD`` may be.
    """

    def __init__(
        self,
        secret: str,
        lookup: PullLookup,
        *,
        partner_code: str,
        tolerance: timedelta | None = timedelta(minutes=15),
        clock: Clock | None = None,
    ) -> None:
        if not secret:
            raise ValueError("PaymentPullHandler needs the partner secret")
        self._secret = secret
        self.lookup = lookup
        self.partner_code = partner_code
        self.tolerance = tolerance
        self.clock: Clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"PaymentPullHandler(partner_code={self.partner_code!r})"

    def handle(self, payload: Any) -> dict[str, Any]:
        """The reply body for one pull request (already JSON-decoded)."""
        checked = self._check(payload)
        if isinstance(checked, dict):
            return checked
        try:
            rows = self.lookup(checked)
            if inspect.isawaitable(rows):
                discard_awaitable(rows)
                raise TypeError("the lookup hook is async: call ahandle() instead of handle()")
            return self._answer(checked, rows)
        except Exception as exc:
            return self._failed(checked, exc)

    async def ahandle(self, payload: Any) -> dict[str, Any]:
        """:meth:`handle` for async frameworks (``lookup`` may be async)."""
        checked = self._check(payload)
        if isinstance(checked, dict):
            return checked
        try:
            rows = self.lookup(checked)
            if inspect.isawaitable(rows):
                rows = await rows
            return self._answer(checked, rows)
        except Exception as exc:
            return self._failed(checked, exc)

    def _check(self, payload: Any) -> str | dict[str, Any]:
        if not isinstance(payload, Mapping):
            return self._reply("malformed", "")
        dossier = payload.get("MaHoSo")
        if not isinstance(dossier, str) or not dossier.strip():
            return self._reply("malformed", "")
        for name in PULL_REQUEST_FIELDS:
            value = payload.get(name)
            if not isinstance(value, str) or "|" in value:
                return self._reply("malformed", dossier)
        wanted = checksum.ma_xac_thuc(PULL_REQUEST_FIELDS, payload, self._secret)
        if (
            not checksum.checksums_equal(wanted, payload.get("MaXacThuc"))
            or payload.get("MaDoiTac") != self.partner_code
            or payload.get("LoaiBanTin") != PULL_MESSAGE_TYPE
        ):
            log.warning("portal pull for a dossier refused: checksum, partner or type wrong")
            return self._reply("bad_checksum", dossier)
        if self.tolerance is not None:
            try:
                when = parse_compact(str(payload["ThoiGianGD"]))
            except ValueError:
                return self._reply("malformed", dossier)
            if abs(self.clock.now() - when) > self.tolerance:
                return self._reply("stale", dossier)
        return dossier

    def _answer(self, dossier: str, rows: Iterable[DossierPayment] | None) -> dict[str, Any]:
        payments = list(rows or [])
        if not payments:
            return self._reply("unknown_dossier", dossier)
        return self._reply("ok", dossier, payments)

    def _failed(self, dossier: str, exc: Exception) -> dict[str, Any]:
        log.error("answering the portal pull failed (%s)", type(exc).__name__)
        return self._reply("failed", dossier)

    def _reply(
        self, reason: str, dossier: str, payments: list[DossierPayment] | None = None
    ) -> dict[str, Any]:
        code, text = _REPLIES[reason]
        reply: dict[str, Any] = {
            "LoaiBanTin": PULL_MESSAGE_TYPE,
            "MaLoi": code,
            "MoTaLoi": text,
            "MaDoiTac": self.partner_code,
            "MaHoSo": dossier,
            "ThoiGianGD": format_compact(self.clock.now()),
            "DanhSachThanhToan": [p.to_wire() for p in payments or []],
        }
        reply["MaXacThuc"] = pull_reply_checksum(reply, self._secret)
        return reply
