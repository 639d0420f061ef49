"""Demo step: pay a dossier's fee end to end against the mock payment platform.

1. start a tiny callback receiver (a WSGI app on a free loopback port, in a thread)
   that checks every callback with :class:`govlink.payments.CallbackVerifier`;
2. ``create_payment`` for the dossier's fee (from ``demo.state["dossier"]`` when the
   dossier step left one, else a procedure with a fee from the mock's seed);
3. "pay" on the mock's payment page headlessly (POST its form, as a browser would);
4. show the verified callback, the platform's QUERY view, and the e-receipt PDF.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from govlink.demo import DemoContext
    from govlink.payments import CallbackOutcome, CallbackVerifier, EReceipt

__all__ = ["CallbackReceiver", "run"]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_FALLBACK_PROCEDURE = {"ma_tthc": "1.000894", "ten_tthc": "Đăng ký kết hôn", "le_phi": 30000}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class CallbackReceiver:
    """The vendor's callback endpoint, as small as it can be: POST JSON → verify → reply."""

    verifier: CallbackVerifier
    outcomes: list[CallbackOutcome] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)
    _server: WSGIServer | None = None
    _thread: threading.Thread | None = None

    def app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            body = "Thanh toán xong — payment finished; you may close this page.".encode()
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [body]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = None
        outcome = self.verifier.verify(payload)
        self.outcomes.append(outcome)
        self.received.set()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [outcome.reply_json()]

    def start(self) -> str:
        server = make_server("127.0.0.1", 0, self.app, handler_class=_QuietHandler)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="govlink-demo-payment-callbacks", daemon=True
        )
        self._thread.start()
        return f"http://127.0.0.1:{server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _field(source: Any, *names: str) -> Any:
    for name in names:
        value = source.get(name) if isinstance(source, Mapping) else getattr(source, name, None)
        if value not in (None, ""):
            return value
    return None


def _procedure(demo: DemoContext, code: str | None) -> Mapping[str, Any]:
    try:
        reply = demo.admin.get("/seed/procedures")
        data = reply.json() if reply.status_code == 200 else None
    except Exception:  # the seed is a nicety here; the fallback is enough for the demo
        data = None
    procedures = data if isinstance(data, list) else (data or {}).get("procedures", [])
    with_fee = [p for p in procedures if isinstance(p, dict) and int(p.get("le_phi") or 0) > 0]
    for procedure in with_fee:
        if procedure.get("ma_tthc") == code:
            return procedure
    return with_fee[0] if with_fee else _FALLBACK_PROCEDURE


def _first_text_line(receipt: EReceipt) -> str | None:
    try:
        from pypdf import PdfReader
    except ImportError:  # pypdf is a dev dependency; the demo works without it
        return None
    import io

    text = PdfReader(io.BytesIO(receipt.read_bytes())).pages[0].extract_text() or ""
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


def run(demo: DemoContext) -> None:
    import httpx

    from govlink.payments import ExpectedPayment, PaymentClient, ReceiptInfo, format_vnd

    out = demo.console
    dossier = demo.state.get("dossier")
    code = _field(dossier, "ma_tthc", "MaTTHC", "procedure_code") if dossier else None
    procedure = _procedure(demo, code)
    amount = int(procedure["le_phi"])
    dossier_code = str(_field(dossier, "ma_ho_so", "MaHoSo", "code") or "G22.DEMO.0001")
    payer = str(_field(dossier, "chu_ho_so", "ChuHoSo", "owner_name") or "NGUYỄN VĂN AN")
    created_refs: dict[str, int] = {}

    with PaymentClient(demo.settings) as client:
        verifier = client.callback_verifier(
            lambda ref: ExpectedPayment(ref, created_refs[ref]) if ref in created_refs else None
        )
        receiver = CallbackReceiver(verifier)
        base = receiver.start()
        try:
            created = client.create_payment(
                amount,
                description=f"Le phi ho so {dossier_code}",
                receipt=ReceiptInfo(
                    procedure_code=str(procedure["ma_tthc"]),
                    procedure_name=str(procedure["ten_tthc"]),
                    dossier_code=dossier_code,
                    payer_name=payer,
                    fees=[{"LoaiPhiLePhi": "LePhi", "TenPhiLePhi": "Lệ phí", "SoTien": amount}],
                ),
                callback_url=f"{base}/callback",
                return_url=f"{base}/return",
            )
            created_refs[created.reference] = amount
            out.print(f"• payment {created.reference} created for {amount:,} VND ({dossier_code})")
            out.print(f"  payment page: {created.url}", soft_wrap=True)

            with httpx.Client(timeout=15) as browser:
                page = browser.get(created.url)
                page.raise_for_status()
                paid = browser.post(created.url, data={"action": "pay", "bank": "VCB"})
            where = paid.headers.get("location", "").split("?", 1)[0]
            out.print(f"• paid on the mock page → browser sent back to {where}", soft_wrap=True)

            if not receiver.received.wait(10):
                raise RuntimeError("no payment callback arrived within 10 s")
            outcome = receiver.outcomes[0]
            if not outcome.accepted:
                raise RuntimeError(f"the callback was refused: {outcome.message}")
            transaction = outcome.notification.transaction_id if outcome.notification else ""
            out.print(
                f"• callback verified (MaXacThuc ok, amount ok): paid={outcome.paid}, "
                f"transaction {transaction}, replied MaLoi {outcome.reply.get('MaLoi')}"
            )

            status = client.query_payment(created.reference, at=created.transaction_time)
            shown = "?" if status.amount is None else format_vnd(status.amount)
            out.print(f"• QUERY says: {status.state.value}, {shown} VND")
            receipt = client.get_receipt(created.reference, at=created.transaction_time)
            line = _first_text_line(receipt)
            shown = f' — "{line}"' if line else ""
            out.print(f"• e-receipt PDF: {receipt.size:,} bytes{shown}")
        finally:
            receiver.stop()
    demo.state["payment"] = {
        "reference": created.reference,
        "amount": amount,
        "transaction_id": transaction,
        "state": status.state.value,
    }
