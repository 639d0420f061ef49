"""Fee payments through the DVCQG payment platform (PaymentPlatform, message version 1.0.6).

Create a payment and send the payer to its URL, verify the platform's callback, query
a payment's state, download the e-receipt PDF, and reconcile the vendor's ledger with
the platform. Amounts are whole VND as ``int`` everywhere.

::

    from govlink.payments import PaymentClient, ExpectedPayment

    with PaymentClient(settings) as payments:
        created = payments.create_payment(150_000, description="Le phi ho so G22.0001")
        # redirect the payer to created.url, remember created.reference

    verifier = payments.callback_verifier(lookup=lambda ref: ExpectedPayment(ref, 150_000))
    outcome = verifier.verify(request_json)       # in the callback endpoint
    return JSONResponse(outcome.reply)
"""

from govlink.payments._callbacks import (
    REPLY_CODES,
    CallbackOutcome,
    CallbackVerifier,
    MemoryCallbackStore,
    ProcessedCallbackStore,
    SqliteCallbackStore,
    verify_callback,
)
from govlink.payments._checksum import ChecksumProfile, MessageKind, legacy_check_sum, sign
from govlink.payments._checksum import verify as verify_checksum
from govlink.payments._pull import DossierPayment, PaymentPullHandler
from govlink.payments.client import AsyncPaymentClient, PaymentClient, compare
from govlink.payments.models import (
    MESSAGE_VERSION,
    Amount,
    CallbackReply,
    DifferenceKind,
    EReceipt,
    ExpectedPayment,
    FeeLine,
    InitRequest,
    LocalPayment,
    PaymentCreated,
    PaymentItem,
    PaymentNotification,
    PaymentState,
    PaymentStatus,
    ReceiptInfo,
    ReconcileDifference,
    ReconcileProblem,
    ReconcileReport,
    TransactionStatus,
    format_vnd,
)

__all__ = [
    "MESSAGE_VERSION",
    "REPLY_CODES",
    "Amount",
    "AsyncPaymentClient",
    "CallbackOutcome",
    "CallbackReply",
    "CallbackVerifier",
    "ChecksumProfile",
    "DifferenceKind",
    "DossierPayment",
    "EReceipt",
    "ExpectedPayment",
    "FeeLine",
    "InitRequest",
    "LocalPayment",
    "MemoryCallbackStore",
    "MessageKind",
    "PaymentClient",
    "PaymentCreated",
    "PaymentItem",
    "PaymentNotification",
    "PaymentPullHandler",
    "PaymentState",
    "PaymentStatus",
    "ProcessedCallbackStore",
    "ReceiptInfo",
    "ReconcileDifference",
    "ReconcileProblem",
    "ReconcileReport",
    "SqliteCallbackStore",
    "TransactionStatus",
    "compare",
    "format_vnd",
    "legacy_check_sum",
    "sign",
    "verify_callback",
    "verify_checksum",
]
