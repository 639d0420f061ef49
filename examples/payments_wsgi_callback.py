"""Payment callbacks in a WSGI app (Flask): verify, settle once, answer; and the
portal's pull of a dossier's payments (``POST /payment/status``, by ``MaHoSo``).

Run against the mock (``govlink mock up`` in another terminal)::

    flask --app "examples.payments_wsgi_callback:create_app()" run --port 8000

and create payments with ``callback_url="http://127.0.0.1:8000/payment/callback"``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from govlink.core.config import GovLinkSettings
from govlink.payments import (
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
    """Stand-in for the vendor's database."""

    created: dict[str, int] = field(default_factory=dict)
    paid: dict[str, str] = field(default_factory=dict)
    dossiers: dict[str, str] = field(default_factory=dict)  # reference -> MaHoSo
    lock: threading.Lock = field(default_factory=threading.Lock)

    def lookup(self, reference: str) -> ExpectedPayment | None:
        with self.lock:
            amount = self.created.get(reference)
        return None if amount is None else ExpectedPayment(reference, amount)

    def settle(self, notification: PaymentNotification) -> None:
        if notification.paid:
            with self.lock:
                self.paid[notification.reference] = notification.transaction_id

    def payments_of(self, dossier_code: str) -> list[DossierPayment]:
        """What the portal's pull by MaHoSo is answered with."""
        with self.lock:
            return [
                DossierPayment(
                    reference,
                    self.created[reference],
                    PaymentState.PAID if reference in self.paid else PaymentState.PENDING,
                    transaction_id=self.paid.get(reference, ""),
                )
                for reference, dossier in self.dossiers.items()
                if dossier == dossier_code and reference in self.created
            ]


def create_app(
    settings: GovLinkSettings | None = None,
    *,
    book: PaymentBook | None = None,
    store: ProcessedCallbackStore | None = None,
) -> Flask:
    settings = settings or GovLinkSettings.load()
    book = book or PaymentBook()
    if store is None:
        store = SqliteCallbackStore(os.environ.get("PAYMENT_CALLBACKS_DB", "payment-callbacks.db"))
    with PaymentClient(settings) as client:
        verifier = client.callback_verifier(book.lookup, store)
        pull = client.pull_handler(book.payments_of)

    app = Flask(__name__)

    @app.post("/payment/callback")
    def callback() -> ResponseReturnValue:
        payload: Any = request.get_json(silent=True)
        outcome = verifier.verify(payload, process=book.settle)
        return jsonify(outcome.reply)

    @app.post("/payment/status")
    def status() -> ResponseReturnValue:
        return jsonify(pull.handle(request.get_json(silent=True)))

    app.extensions["payment_book"] = book
    return app
