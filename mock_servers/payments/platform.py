"""The payment platform mock: JSON API, payment page, IPN delivery, e-receipts."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import threading
from collections.abc import Coroutine, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mock_servers.context import MockContext
from mock_servers.payments import signing
from mock_servers.payments.page import BANKS, render_done, render_page
from mock_servers.payments.receipt import render_receipt
from mock_servers.platform import MockPlatform

__all__ = ["CALLBACK_FIELDS", "RETURN_FIELDS", "PaymentsPlatform", "create_platform"]

log = logging.getLogger("mock_servers.payments")

TRANSACTIONS = "payments.transactions"
PAGES = "payments.pages"
COUNTERS = "payments.counters"

# Where a vendor may put its callback / return URL in INIT (govlink's extension;
# the public message list has no such field, see docs/platforms/payments.md).
CALLBACK_FIELDS = ("UrlCallback", "CallbackUrl", "UrlNhanKetQua", "callback_url")
RETURN_FIELDS = ("UrlReturn", "ReturnUrl", "UrlTraVe", "return_url")

IPN_TYPE = "CONFIRM"
DEFAULT_PARTNERS = {"GOVLINKDEMO": "demo-payment-secret"}
_COMPACT = re.compile(r"[0-9]{14}")
_DIGITS = re.compile(r"[0-9]+")

# MaLoi the IPN carries for each outcome on the payment page.
OUTCOME_CODES = {
    "paid": ("00", "Giao dịch thành công"),
    "failed": ("01", "Giao dịch thất bại"),
    "cancelled": ("02", "Người nộp huỷ giao dịch"),
}
# TrangThaiGD in the QUERY reply: 1 paid, 3 pending, 4 failed (the public table; a
# cancelled payment is a failed one there).
STATUS_CODES = {"paid": "1", "pending": "3", "failed": "4", "cancelled": "4"}


# KeyPay (legacy profile) ``status``: 0 paid, 1 pending, 2 failed (assumed codes).
KEYPAY_STATUS = {"paid": "0", "pending": "1", "failed": "2", "cancelled": "2"}
KEYPAY_VERSION = "3.0"


def _keypay_error(code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "msg": message})


def _lookup_error(code: str, message: str, body: Mapping[str, Any]) -> JSONResponse:
    return JSONResponse(
        {
            "LoaiBanTin": str(body.get("LoaiBanTin", "")),
            "MaLoi": code,
            "MoTaLoi": message,
            "MaDoiTac": str(body.get("MaDoiTac", "")),
            "MaThamChieu": str(body.get("MaThamChieu", "")),
        }
    )


def _amount(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _first(body: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = body.get(name)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


def _own_url(request: Request, page: str, token: str) -> str:
    """Absolute URL of one of this mock's pages, as the client reached the mock."""
    root = str(request.base_url).rstrip("/")  # scheme, host and the outer app's root path
    mount = str(request.scope.get("root_path", ""))
    outer = str(request.scope.get("app_root_path", ""))
    if outer and mount.startswith(outer):
        mount = mount[len(outer) :]
    return f"{root}{mount}/{page}/{token}"


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class PaymentsPlatform(MockPlatform):
    """DVCQG PaymentPlatform: ``POST /payment/api`` dispatching on ``LoaiBanTin``.

    Switches (``/__admin/platforms/payments/switches``): ``forged`` (true: the next
    callbacks carry a wrong MaXacThuc), ``duplicate`` (true: each callback is sent
    twice), ``late`` (seconds to wait before sending), ``wrong_amount`` (true or a VND
    delta: SoTien off by that much, correctly signed), ``retry_delay`` (seconds before
    the first retry, doubling; default 1), ``max_attempts`` (default 5),
    ``callback_url`` (used when INIT names none).
    """

    name = "payments"
    prefix = "/payment"
    title = "DVCQG payment platform (PaymentPlatform 1.0.6)"
    switch_names = (
        "forged",
        "duplicate",
        "late",
        "wrong_amount",
        "retry_delay",
        "max_attempts",
        "callback_url",
        "init_reply",
        "strict_lookup_time",
    )

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self.callback_transport: httpx.AsyncBaseTransport | None = None
        """Tests may route callbacks in-process (an ``httpx.ASGITransport``)."""
        self.callback_timeout = 5.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: dict[asyncio.Task[None], asyncio.AbstractEventLoop] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._app = Starlette(
            routes=[
                Route("/api", self.api, methods=["POST"]),
                Route("/pay/{token}", self.page, methods=["GET"], name="pay_page"),
                Route("/pay/{token}", self.choose, methods=["POST"]),
                Route("/done/{token}", self.done, methods=["GET"], name="done_page"),
                Route("/pull", self.pull, methods=["POST"]),
            ]
        )

    @property
    def app(self) -> Starlette:
        return self._app

    # ------------------------------------------------------------------ admin hooks

    def apply_switches(self, switches: dict[str, Any]) -> None:
        unknown = sorted(set(switches) - set(self.switch_names))
        if unknown:
            raise ValueError(
                f"unknown switch {unknown[0]!r} for payments "
                f"(known: {', '.join(self.switch_names)})"
            )
        if "init_reply" in switches and switches["init_reply"] not in ("direct", "gateway"):
            raise ValueError("switch 'init_reply' must be 'direct' or 'gateway'")
        for flag in ("forged", "duplicate", "strict_lookup_time"):
            if flag in switches and not isinstance(switches[flag], bool):
                raise ValueError(f"switch {flag!r} must be true or false")
        for number in ("late", "retry_delay"):
            value = switches.get(number)
            if number in switches and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                raise ValueError(f"switch {number!r} must be a number of seconds >= 0")
        attempts = switches.get("max_attempts")
        if "max_attempts" in switches and (
            isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 20
        ):
            raise ValueError("switch 'max_attempts' must be a whole number from 1 to 20")
        wrong = switches.get("wrong_amount")
        if "wrong_amount" in switches and not (
            isinstance(wrong, bool) or (isinstance(wrong, int) and wrong != 0)
        ):
            raise ValueError("switch 'wrong_amount' must be true/false or a non-zero VND delta")
        url = switches.get("callback_url")
        if "callback_url" in switches and not (
            url is None or (isinstance(url, str) and url.startswith(("http://", "https://")))
        ):
            raise ValueError("switch 'callback_url' must be an http(s) URL or null")
        self.ctx.switches(self.name).update(switches)

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            tasks = list(self._tasks)
        for task in tasks:
            loop = self._loops.get(task)
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)
        super().reset()

    def summary(self) -> dict[str, Any]:
        transactions = [tx for _k, tx in self.ctx.store.items(TRANSACTIONS)]
        by_status: dict[str, int] = {}
        deliveries = {"delivered": 0, "refused": 0, "failed": 0, "pending": 0, "none": 0}
        for tx in transactions:
            by_status[tx["status"]] = by_status.get(tx["status"], 0) + 1
            deliveries[tx.get("callback_state", "none")] = (
                deliveries.get(tx.get("callback_state", "none"), 0) + 1
            )
        recent = sorted(transactions, key=lambda tx: tx.get("seq", 0))[-10:]
        return {
            "transactions": len(transactions),
            "by_status": by_status,
            "callbacks": deliveries,
            "background_deliveries": len(self._tasks),
            "recent": [
                {
                    "reference": tx["reference"],
                    "partner": tx["partner"],
                    "amount": tx["amount"],
                    "status": tx["status"],
                    "transaction_id": tx.get("transaction_id"),
                    "callback_state": tx.get("callback_state", "none"),
                    "callback_attempts": len(tx.get("callbacks", [])),
                    "last_callback": (tx.get("callbacks") or [None])[-1],
                }
                for tx in reversed(recent)
            ],
        }

    # ------------------------------------------------------------------ state helpers

    def _partners(self) -> dict[str, dict[str, Any]]:
        found = {
            str(c["client_id"]): c
            for c in self.ctx.seed.section("clients")
            if isinstance(c, dict) and c.get("kind") == "payment" and c.get("client_id")
        }
        if not found:  # a seed without payment partners: keep the documented demo one
            return {k: {"client_id": k, "client_secret": v} for k, v in DEFAULT_PARTNERS.items()}
        return found

    def _secret(self, partner: Any) -> str | None:
        if not isinstance(partner, str):
            return None
        client = self._partners().get(partner)
        secret = client.get("client_secret") if client else None
        return secret if isinstance(secret, str) and secret else None

    @staticmethod
    def _key(partner: str, reference: str) -> str:
        return f"{partner}:{reference}"

    def _load(self, key: str) -> dict[str, Any] | None:
        tx = self.ctx.store.get(TRANSACTIONS, key)
        return tx if isinstance(tx, dict) else None

    def _save(self, tx: dict[str, Any]) -> None:
        self.ctx.store.put(TRANSACTIONS, self._key(tx["partner"], tx["reference"]), tx)

    def _next_seq(self) -> int:
        with self._lock:
            seq = int(self.ctx.store.get(COUNTERS, "seq") or 0) + 1
            self.ctx.store.put(COUNTERS, "seq", seq)
        return seq

    def _now_compact(self) -> str:
        return self.ctx.clock.now_vn().strftime("%Y%m%d%H%M%S")

    # ------------------------------------------------------------------ JSON API

    async def api(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return JSONResponse(
                {"error_code": "1", "message": "Bản tin không phải JSON / body is not JSON"},
                status_code=400,
            )
        if not isinstance(body, dict):
            return JSONResponse(
                {"error_code": "1", "message": "Bản tin phải là một đối tượng JSON"},
                status_code=400,
            )
        kind = body.get("LoaiBanTin")
        if kind is None and "command" in body:
            return self._keypay(request, body)
        if kind == "INIT":
            return self._init(request, body)
        if kind in ("QUERY", "GET_BILL"):
            return self._lookup(body)
        return self._init_error("1", f"LoaiBanTin không hợp lệ: {kind!r} (INIT, QUERY, GET_BILL)")

    def _init(self, request: Request, body: dict[str, Any]) -> Response:
        for name in ("PhienBan", "MaDoiTac", "MaThamChieu", "SoTien", "ThoiGianGD", "MaXacThuc"):
            if body.get(name) in (None, ""):
                return self._init_error("1", f"Thiếu trường {name} / missing field {name}")
        secret = self._secret(body["MaDoiTac"])
        if secret is None:
            return self._init_error("3", f"Mã đối tác không tồn tại: {body['MaDoiTac']}")
        if not signing.matches(signing.INIT_ORDER, body, secret):
            return self._init_error("2", "Sai mã xác thực (MaXacThuc) / checksum mismatch")
        amount = _amount(body.get("SoTien"))
        if amount is None or amount <= 0:
            return self._init_error("5", f"Số tiền không hợp lệ: {body.get('SoTien')!r}")
        if not isinstance(body["ThoiGianGD"], str) or not _COMPACT.fullmatch(body["ThoiGianGD"]):
            return self._init_error("1", "ThoiGianGD phải có dạng yyyyMMddHHmmss")
        if body.get("MaTienTe", "VND") not in ("VND", "", None):
            return self._init_error("5", f"Loại tiền không hỗ trợ: {body.get('MaTienTe')}")
        receipt = body.get("ThongTinBienLai") or {}
        if not isinstance(receipt, dict):
            return self._init_error("1", "ThongTinBienLai phải là một đối tượng")
        for label in ("PhiLePhi", "DSKhoanNop"):
            lines = receipt.get(label) or []
            if lines:
                amounts = [
                    _amount(line.get("SoTien")) if isinstance(line, dict) else None
                    for line in lines
                ]
                if any(a is None for a in amounts) or sum(a or 0 for a in amounts) != amount:
                    return self._init_error(
                        "5", f"Tổng {label} không bằng SoTien ({amount}) / lines do not add up"
                    )
        partner = str(body["MaDoiTac"])
        reference = str(body["MaThamChieu"])
        key = self._key(partner, reference)
        existing = self._load(key)
        if existing is not None:
            if existing["amount"] == amount and existing["status"] == "pending":
                return self._init_reply(request, existing)
            return self._init_error("4", f"Mã tham chiếu đã được sử dụng: {reference}")
        tx = {
            **self._new_tx(partner, reference, amount, body),
            "description": str(body.get("ThongTinGiaoDich") or ""),
            "init_time": body["ThoiGianGD"],
            "ip": str(body.get("Ip") or ""),
            "receipt": receipt,
            "bank_code": str(body.get("MaNganHang") or ""),
        }
        self._save(tx)
        self.ctx.store.put(PAGES, tx["token"], key)
        return self._init_reply(request, tx)

    def _gateway_shape(self) -> bool:
        return self.ctx.switches(self.name).get("init_reply") == "gateway"

    def _init_error(self, code: str, message: str) -> JSONResponse:
        """INIT refused: ``{MaLoi, MoTaLoi}`` directly, or the gateway's envelope."""
        if self._gateway_shape():
            return JSONResponse({"error_code": code, "message": message})
        return JSONResponse({"LoaiBanTin": "INIT", "MaLoi": code.zfill(2), "MoTaLoi": message})

    def _new_tx(
        self, partner: str, reference: str, amount: int, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        client = self._partners().get(partner, {})
        return {
            "seq": self._next_seq(),
            "partner": partner,
            "reference": reference,
            "amount": amount,
            "currency": "VND",
            "description": "",
            "created_at": self._now_compact(),
            "receipt": {},
            "callback_url": _first(body, CALLBACK_FIELDS) or client.get("callback_url"),
            "return_url": _first(body, RETURN_FIELDS),
            "status": "pending",
            "token": secrets.token_urlsafe(18),
            "transaction_id": None,
            "bank_code": "",
            "paid_at": None,
            "callbacks": [],
            "callback_state": "none",
        }

    def _init_reply(self, request: Request, tx: Mapping[str, Any]) -> JSONResponse:
        """The platform answers ``{MaLoi "00", UrlThanhToan}``; a Bearer-token gateway
        in front of it wraps that as ``{error_code "0", message: "<JSON text>"}``."""
        url = _own_url(request, "pay", tx["token"])
        inner = {
            "LoaiBanTin": "INIT",
            "MaLoi": "00",
            "MoTaLoi": "Thành công",
            "MaThamChieu": tx["reference"],
            "UrlThanhToan": url,
        }
        if self._gateway_shape():
            return JSONResponse(
                {"error_code": "0", "message": json.dumps(inner, ensure_ascii=False)}
            )
        return JSONResponse(inner)

    def _lookup(self, body: dict[str, Any]) -> Response:
        secret = self._secret(body.get("MaDoiTac"))
        if secret is None:
            return _lookup_error("03", "Mã đối tác không tồn tại", body)
        if not signing.matches(signing.LOOKUP_ORDER, body, secret):
            return _lookup_error("01", "Sai mã xác thực (MaXacThuc)", body)
        tx = self._load(self._key(str(body["MaDoiTac"]), str(body.get("MaThamChieu", ""))))
        if tx is None or tx.get("profile") == "keypay":
            return _lookup_error("02", "Không tìm thấy giao dịch", body)
        # Public clients send the payment's own ThoiGianGD; record whether this one did.
        original = body.get("ThoiGianGD") == tx["init_time"]
        tx["lookups_with_original_time"] = int(tx.get("lookups_with_original_time", 0)) + original
        tx["lookups_with_other_time"] = int(tx.get("lookups_with_other_time", 0)) + (not original)
        self._save(tx)
        if not original and self.ctx.switches(self.name).get("strict_lookup_time"):
            return _lookup_error("02", "Không tìm thấy giao dịch (ThoiGianGD khác)", body)
        if body["LoaiBanTin"] == "GET_BILL":
            if tx["status"] != "paid":
                return _lookup_error("04", "Giao dịch chưa thanh toán, chưa có biên lai", body)
            pdf = render_receipt(tx, self.ctx.clock.now_vn())
            return Response(
                pdf,
                media_type="application/pdf",
                headers={
                    "content-disposition": f'attachment; filename="bienlai-{tx["reference"]}.pdf"'
                },
            )
        reply = {
            "LoaiBanTin": "QUERY",
            "MaLoi": "00",
            "MoTaLoi": "Thành công",
            "MaDoiTac": tx["partner"],
            "MaThamChieu": tx["reference"],
            "SoTien": tx["amount"],
            "MaTienTe": tx["currency"],
            "MaGiaoDich": tx.get("transaction_id") or "",
            "MaNganHang": tx.get("bank_code") or "",
            "ThoiGianGD": tx.get("paid_at") or tx["created_at"],
            "ThongTinGiaoDich": tx["description"],
            "TrangThaiGD": STATUS_CODES[tx["status"]],
        }
        reply["MaXacThuc"] = signing.digest(signing.QUERY_REPLY_ORDER, reply, secret)
        return JSONResponse(reply)

    # ------------------------------------------------------------------ portal pull

    async def pull(self, request: Request) -> Response:
        """Play the portal pulling a dossier's payments from a vendor (by ``MaHoSo``).

        Body: ``{"url": vendor endpoint, "MaDoiTac", "MaHoSo"}``. The mock signs the
        pull with the partner's secret, posts it, checks the reply's ``MaXacThuc``
        and answers with what it saw.
        """
        try:
            order = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            order = None
        if not isinstance(order, dict) or not str(order.get("url", "")).startswith("http"):
            return JSONResponse({"error": "body must be {url, MaDoiTac, MaHoSo}"}, 400)
        secret = self._secret(order.get("MaDoiTac"))
        if secret is None:
            return JSONResponse({"error": f"unknown partner {order.get('MaDoiTac')!r}"}, 400)
        message: dict[str, Any] = {
            "LoaiBanTin": "QUERY_HOSO",
            "MaDoiTac": order["MaDoiTac"],
            "MaHoSo": str(order.get("MaHoSo") or ""),
            "ThoiGianGD": self._now_compact(),
        }
        key = secret + "-forged" if order.get("forged") else secret
        message["MaXacThuc"] = signing.digest(signing.PULL_ORDER, message, key)
        result: dict[str, Any] = {"request": message, "status_code": None, "reply": None}
        try:
            async with httpx.AsyncClient(
                transport=self.callback_transport, timeout=self.callback_timeout
            ) as client:
                response = await client.post(str(order["url"]), json=message)
            result["status_code"] = response.status_code
            reply = response.json() if response.content else None
            result["reply"] = reply
            result["reply_checksum_ok"] = isinstance(reply, dict) and reply.get(
                "MaXacThuc"
            ) == signing.pull_reply_digest(reply, secret)
        except (httpx.HTTPError, ValueError) as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        return JSONResponse(result)

    # ------------------------------------------------------------------ KeyPay (legacy)

    def _keys(self, partner: Any) -> tuple[str, str] | None:
        """KeyPay's key 1 (requests) and key 2 (callbacks): the partner's secret, and
        its ``password`` when the seed gives one (else the same secret)."""
        secret = self._secret(partner)
        if secret is None:
            return None
        second = self._partners().get(str(partner), {}).get("password")
        return secret, second if isinstance(second, str) and second else secret

    def _keypay(self, request: Request, body: dict[str, Any]) -> Response:
        keys = self._keys(body.get("client_id"))
        if keys is None:
            return _keypay_error("3", f"client_id không tồn tại: {body.get('client_id')!r}")
        command = body.get("command")
        order = signing.KEYPAY_ORDER if command == "PAY" else signing.KEYPAY_DETAIL_ORDER
        wanted = signing.hmac_digest(order, body, keys[0])
        given = body.get("check_sum")
        if (
            wanted is None
            or not isinstance(given, str)
            or not secrets.compare_digest(wanted, given.lower())
        ):
            return _keypay_error("1", "Sai check_sum")
        partner, reference = str(body["client_id"]), str(body.get("transaction_id") or "")
        key = self._key(partner, reference)
        tx = self._load(key)
        if command != "PAY":
            if tx is None or tx.get("profile") != "keypay":
                return _keypay_error("2", "Không tìm thấy giao dịch")
            data = {
                "transaction_id": reference,
                "transaction_code": tx.get("transaction_id") or "",
                "trans_amount": str(tx["amount"]),
                "status": KEYPAY_STATUS[tx["status"]],
            }
            return JSONResponse({"error": "0", "msg": "Thành công", "data": data})
        amount = _amount(body.get("trans_amount"))
        if (
            amount is None
            or amount <= 0
            or not reference
            or _amount(body.get("addition_fee")) is None
        ):
            return _keypay_error("4", "trans_amount / addition_fee / transaction_id không hợp lệ")
        if tx is not None:
            if tx["amount"] != amount or tx["status"] != "pending":
                return _keypay_error("5", f"transaction_id đã được sử dụng: {reference}")
        else:
            tx = {
                **self._new_tx(partner, reference, amount, body),
                "profile": "keypay",
                "addition_fee": str(body.get("addition_fee")),
                "command": "PAY",
                "version": str(body.get("version") or KEYPAY_VERSION),
                "init_time": self._now_compact(),
                "description": str(body.get("description") or ""),
            }
            self._save(tx)
            self.ctx.store.put(PAGES, tx["token"], key)
        url = _own_url(request, "pay", tx["token"])
        return JSONResponse(
            {"error": "0", "msg": "Thành công", "payment_url": url, "data": {"payment_url": url}}
        )

    # ------------------------------------------------------------------ the payment page

    def _by_token(self, token: str) -> dict[str, Any] | None:
        key = self.ctx.store.get(PAGES, token)
        return self._load(key) if isinstance(key, str) else None

    async def page(self, request: Request) -> Response:
        tx = self._by_token(request.path_params["token"])
        if tx is None:
            return HTMLResponse("<h1>Không tìm thấy giao dịch / Unknown payment</h1>", 404)
        if tx["status"] != "pending":
            return HTMLResponse(render_done(tx))
        action = _own_url(request, "pay", tx["token"])
        return HTMLResponse(render_page(tx, action))

    async def done(self, request: Request) -> Response:
        tx = self._by_token(request.path_params["token"])
        if tx is None:
            return HTMLResponse("<h1>Không tìm thấy giao dịch / Unknown payment</h1>", 404)
        return HTMLResponse(render_done(tx))

    async def choose(self, request: Request) -> Response:
        tx = self._by_token(request.path_params["token"])
        if tx is None:
            return HTMLResponse("<h1>Không tìm thấy giao dịch / Unknown payment</h1>", 404)
        form = await request.form()
        action = str(form.get("action", ""))
        outcome = {"pay": "paid", "fail": "failed", "cancel": "cancelled"}.get(action)
        if tx["status"] == "pending":
            if outcome is None:
                return HTMLResponse(
                    "<h1>Hãy chọn Thanh toán, Thất bại hoặc Huỷ / choose pay, fail or cancel</h1>",
                    400,
                )
            bank = str(form.get("bank") or "")
            tx["status"] = outcome
            tx["bank_code"] = bank if bank in dict(BANKS) else BANKS[0][0]
            tx["paid_at"] = self._now_compact()
            tx["transaction_id"] = f"PP{tx['paid_at']}{secrets.randbelow(10**6):06d}"
            self._save(tx)
            await self._notify(tx)
            tx = self._load(self._key(tx["partner"], tx["reference"])) or tx
        return RedirectResponse(self._return_url(request, tx), status_code=303)

    def _return_url(self, request: Request, tx: Mapping[str, Any]) -> str:
        if not tx.get("return_url"):
            return _own_url(request, "done", tx["token"])
        secret = self._secret(tx["partner"]) or ""
        params = self._ipn(tx, secret)
        return _with_query(str(tx["return_url"]), {k: str(v) for k, v in params.items()})

    # ------------------------------------------------------------------ IPN delivery

    def _keypay_ipn(self, tx: Mapping[str, Any], key: str, amount: int | None) -> dict[str, Any]:
        """KeyPay's callback: ``check_sum`` over the values the vendor sent when it
        created the payment, keyed by the second key (as the public client checks)."""
        stored = {
            "addition_fee": tx.get("addition_fee", "0"),
            "client_id": tx["partner"],
            "command": tx.get("command", "PAY"),
            "trans_amount": str(tx["amount"]),
            "transaction_id": tx["reference"],
            "version": tx.get("version", KEYPAY_VERSION),
        }
        return {
            "error": "0",
            "transaction_id": tx["reference"],
            "transaction_code": tx.get("transaction_id") or "",
            "trans_amount": str(tx["amount"] if amount is None else amount),
            "status": KEYPAY_STATUS[str(tx["status"])],
            "check_sum": signing.hmac_digest(signing.KEYPAY_ORDER, stored, key),
        }

    def _ipn(self, tx: Mapping[str, Any], secret: str, amount: int | None = None) -> dict[str, Any]:
        if tx.get("profile") == "keypay":
            keys = self._keys(tx["partner"])
            return self._keypay_ipn(tx, keys[1] if keys else secret, amount)
        code, text = OUTCOME_CODES.get(str(tx["status"]), ("99", "Không xác định"))
        message: dict[str, Any] = {
            "LoaiBanTin": IPN_TYPE,
            "MaLoi": code,
            "MaDoiTac": tx["partner"],
            "MaThamChieu": tx["reference"],
            "SoTien": tx["amount"] if amount is None else amount,
            "MaTienTe": tx["currency"],
            "MaGiaoDich": tx.get("transaction_id") or "",
            "MaNganHang": tx.get("bank_code") or "",
            "ThoiGianGD": tx.get("paid_at") or "",
            "ThongTinGiaoDich": tx["description"] or text,
        }
        message["MaXacThuc"] = signing.digest(signing.IPN_ORDER, message, secret)
        return message

    def _callback_body(self, tx: Mapping[str, Any], switches: Mapping[str, Any]) -> dict[str, Any]:
        secret = self._secret(tx["partner"]) or ""
        amount = None
        wrong = switches.get("wrong_amount")
        if wrong:
            amount = int(tx["amount"]) + (1000 if wrong is True else int(wrong))
            amount = max(amount, 0)
        body = self._ipn(tx, secret, amount)
        if switches.get("forged"):
            if tx.get("profile") == "keypay":
                forged = self._keypay_ipn(tx, secret + "-forged", amount)
                body["check_sum"] = forged["check_sum"]
            else:
                body["MaXacThuc"] = signing.digest(signing.IPN_ORDER, body, secret + "-forged")
        return body

    async def _notify(self, tx: dict[str, Any]) -> None:
        switches = dict(self.ctx.switches(self.name))
        url = tx.get("callback_url") or switches.get("callback_url")
        if not url:
            return
        body = self._callback_body(tx, switches)
        sends = 2 if switches.get("duplicate") else 1
        tx["callback_state"] = "pending"
        self._save(tx)
        job = (tx["partner"], tx["reference"], str(url), body, switches, sends)
        late = float(switches.get("late") or 0)
        if late > 0:
            self._background(self._run(*job, delay=late))
            return
        # The first attempt happens before the browser is redirected, so the vendor
        # usually knows before the payer lands on its return page; retries and the
        # duplicate go on in the background.
        ok = await self._attempt(tx["partner"], tx["reference"], str(url), body, 1)
        if not ok or sends > 1:
            self._background(self._run(*job, first_tried=True, first_ok=ok))

    def _background(self, coro: Coroutine[Any, Any, None]) -> None:
        loop = asyncio.get_running_loop()
        task: asyncio.Task[None] = loop.create_task(coro)
        with self._lock:
            self._tasks.add(task)
            self._loops[task] = loop

        def forget(finished: asyncio.Task[None]) -> None:
            with self._lock:
                self._tasks.discard(finished)
                self._loops.pop(finished, None)

        task.add_done_callback(forget)

    async def _run(
        self,
        partner: str,
        reference: str,
        url: str,
        body: dict[str, Any],
        switches: Mapping[str, Any],
        sends: int,
        *,
        delay: float = 0.0,
        first_tried: bool = False,
        first_ok: bool = False,
    ) -> None:
        """Deliver ``body`` ``sends`` times, each retried with exponential backoff.

        Backoff is real time (``retry_delay``, doubling), not the virtual clock: a
        vendor's endpoint sees the retries spaced as a real platform would space them.
        """
        generation = self._generation
        if delay:
            await asyncio.sleep(delay)
        attempts = int(switches.get("max_attempts", 5))
        base = float(switches.get("retry_delay", 1.0))
        number = 1 if first_tried else 0
        for send in range(sends):
            resumed = send == 0 and first_tried
            tried = 1 if resumed else 0
            ok = first_ok if resumed else False
            while not ok and tried < attempts:
                if tried:
                    await asyncio.sleep(base * 2 ** (tried - 1))
                if generation != self._generation:
                    return
                tried += 1
                number += 1
                ok = await self._attempt(partner, reference, url, body, number)
            if not ok:
                self._mark(partner, reference, "failed")
                return

    def _mark(self, partner: str, reference: str, state: str) -> None:
        tx = self._load(self._key(partner, reference))
        if tx is not None:
            tx["callback_state"] = state
            self._save(tx)

    async def _attempt(
        self, partner: str, reference: str, url: str, body: dict[str, Any], attempt: int
    ) -> bool:
        """One POST; True when the vendor gave a final answer (any MaLoi but 99)."""
        generation = self._generation
        record: dict[str, Any] = {
            "attempt": attempt,
            "at": self.ctx.clock.now().isoformat(),
            "url": url,
            "forged": False,
            "status_code": None,
            "MaLoi": None,
            "reply_checksum_ok": None,
            "error": None,
        }
        secret = self._secret(partner) or ""
        keypay = "check_sum" in body
        if keypay:
            stored = self._load(self._key(partner, reference))
            record["forged"] = stored is None or body.get("check_sum") != self._ipn(
                stored, secret
            ).get("check_sum")
            record["SoTien"] = body.get("trans_amount")
        else:
            record["forged"] = not signing.matches(signing.IPN_ORDER, body, secret)
            record["SoTien"] = body["SoTien"]
        final = False
        try:
            async with httpx.AsyncClient(
                transport=self.callback_transport, timeout=self.callback_timeout
            ) as client:
                response = await client.post(url, json=body)
            record["status_code"] = response.status_code
            reply = response.json() if response.content else None
            if keypay and isinstance(reply, dict) and "return_code" in reply:
                # KeyPay's vendor answers {return_code, return_msg}
                reply = {"MaLoi": str(reply["return_code"]), "MoTaLoi": reply.get("return_msg")}
                record["MaLoi"] = reply["MaLoi"]
            elif isinstance(reply, dict):
                record["MaLoi"] = reply.get("MaLoi")
                # Public vendors echo the IPN's own MaXacThuc; others hash their reply.
                echoed = reply.get("MaXacThuc") == body.get("MaXacThuc")
                record["reply_checksum_ok"] = echoed or signing.matches(
                    signing.REPLY_ORDER, reply, secret
                )
                record["reply_checksum"] = "echo" if echoed else "own"
            final = (
                200 <= response.status_code < 300
                and isinstance(reply, dict)
                and isinstance(reply.get("MaLoi"), str)
                and reply.get("MaLoi") != "99"
            )
        except (httpx.HTTPError, ValueError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
        if generation != self._generation:
            return True
        tx = self._load(self._key(partner, reference))
        if tx is not None:
            tx.setdefault("callbacks", []).append(record)
            if final:
                tx["callback_state"] = "delivered" if record["MaLoi"] == "00" else "refused"
            self._save(tx)
        if not final:
            log.info("callback for %s attempt %d not accepted: %s", reference, attempt, record)
        return final


def create_platform(ctx: MockContext) -> PaymentsPlatform:
    return PaymentsPlatform(ctx)
