"""Payment callbacks in an ASGI app (Starlette): verify, settle once, answer; and the
portal's pull of a dossier's payments (``POST /payment/status``, by ``MaHoSo``).

Run against the mock (``govlink mock up`` in another terminal)::

    uvicorn --factory examples.payments_asgi_callback:create_app --port 8000

then create a payment with ``callback_url="http://127.0.0.1:8000/payment/callback"``
and ``return_url="http://127.0.0.1:8000/payment/return"`` and pay it on the mock page.

The pieces a real application replaces: :class:`PaymentBook` (your database: what
you created, what is paid) and the SQLite file of processed callbacks.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from html import escape
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from govlink.core.config import GovLinkSettings
from govlink.payments import (
    CallbackVerifier,
    DossierPayment,
    ExpectedPayment,
    PaymentClient,
    PaymentNotification,
    PaymentState,
    ProcessedCallbackStore,
    SqliteCallbackStore,
)


@dataclass
class PaymentBook:
    """Stand-in for the vendor's database: reference -> amount, and what got paid."""

    created: dict[str, int] = field(default_factory=dict)
    paid: dict[str, str] = field(default_factory=dict)  # reference -> MaGiaoDich
    failed: set[str] = field(default_factory=set)
    dossiers: dict[str, str] = field(default_factory=dict)  # reference -> MaHoSo
    lock: threading.Lock = field(default_factory=threading.Lock)

    def lookup(self, reference: str) -> ExpectedPayment | None:
        with self.lock:
            amount = self.created.get(reference)
        return None if amount is None else ExpectedPayment(reference, amount)

    def settle(self, notification: PaymentNotification) -> None:
        """Called once per genuine callback (never twice for one MaGiaoDich)."""
        with self.lock:
            if notification.paid:
                self.paid[notification.reference] = notification.transaction_id
            else:
                self.failed.add(notification.reference)

    def payments_of(self, dossier_code: str) -> list[DossierPayment]:
        """What the portal's pull by MaHoSo is answered with."""
        with self.lock:
            rows = []
            for reference, dossier in self.dossiers.items():
                if dossier != dossier_code or reference not in self.created:
                    continue
                state = PaymentState.PENDING
                if reference in self.paid:
                    state = PaymentState.PAID
                elif reference in self.failed:
                    state = PaymentState.FAILED
                rows.append(
                    DossierPayment(
                        reference,
                        self.created[reference],
                        state,
                        transaction_id=self.paid.get(reference, ""),
                    )
                )
            return rows


def create_app(
    settings: GovLinkSettings | None = None,
    *,
    book: PaymentBook | None = None,
    store: ProcessedCallbackStore | None = None,
) -> Starlette:
    settings = settings or GovLinkSettings.load()
    book = book or PaymentBook()
    if store is None:
        store = SqliteCallbackStore(os.environ.get("PAYMENT_CALLBACKS_DB", "payment-callbacks.db"))
    with PaymentClient(settings) as client:
        verifier: CallbackVerifier = client.callback_verifier(book.lookup, store)
        pull = client.pull_handler(book.payments_of)

    async def callback(request: Request) -> Response:
        try:
            payload: Any = await request.json()
        except ValueError:
            payload = None  # the verifier answers "malformed", signed
        outcome = await verifier.averify(payload, process=book.settle)
        return JSONResponse(outcome.reply)

    async def status(request: Request) -> Response:
        try:
            payload: Any = await request.json()
        except ValueError:
            payload = None  # answered "malformed", signed
        return JSONResponse(await pull.ahandle(payload))

    async def returned(request: Request) -> Response:
        # The browser comes back here; the callback is what changes state, so this
        # page only shows what the books say (the query string can be forged).
        reference = request.query_params.get("MaThamChieu", "")
        with book.lock:
            if reference in book.paid:
                text = f"Đã thanh toán / Paid — {book.paid[reference]}"
            elif reference in book.failed:
                text = "Chưa thanh toán / Not paid"
            else:
                text = "Đang chờ xác nhận / Waiting for confirmation"
        return HTMLResponse(
            f'<!doctype html><meta charset="utf-8"><title>Payment {escape(reference)}</title>'
            f'<h1 id="result">{escape(text)}</h1><p id="reference">{escape(reference)}</p>'
        )

    app = Starlette(
        routes=[
            Route("/payment/callback", callback, methods=["POST"]),
            Route("/payment/status", status, methods=["POST"]),
            Route("/payment/return", returned, methods=["GET"]),
        ]
    )
    app.state.book = book
    app.state.verifier = verifier
    return app
