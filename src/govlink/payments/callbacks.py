"""Verifying the platform's payment callbacks (IPN) and answering them.

A callback endpoint is the one place where money state changes on a message that
arrives from the internet, so :class:`CallbackVerifier` checks, in this order:

1. the body is a JSON object whose amount is whole VND (a float is refused);
2. ``MaXacThuc`` is right for the secret (constant-time comparison) and ``MaDoiTac`` is
   the vendor's own partner code — nothing below runs for a forged message;
3. a callback already seen (same ``MaGiaoDich``) gets the *same* answer again and is
   not processed twice (the platform retries, and may send one message twice);
4. ``ThoiGianGD`` lies within the time tolerance (old replayed messages are refused);
5. the reference is one the vendor created (the ``lookup`` hook) and the amount and
   currency are exactly what was created.

Every answer is a signed reply message (``MaLoi``, ``MoTaLoi``, ``MaDoiTac``,
``ThoiGianGD``, ``MaXacThuc``). Reply codes other than ``"00"`` are govlink's
assumption (see the docs page); the platform only needs ``"00"`` to stop retrying.

Processing exactly once: pass ``process=`` to :meth:`CallbackVerifier.verify`; it is
called once for a new, valid callback. If it raises, the claim on the transaction is
released and the reply is ``"99"`` so that the platform's retry is processed again.
"""

from __future__ import annotations

import inspect
import json
import logging
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError as PydanticValidationError

from govlink.core.clock import Clock, SystemClock
from govlink.payments import checksum
from govlink.payments.checksum import ChecksumProfile, MessageKind
from govlink.payments.codec import build_reply
from govlink.payments.models import ExpectedPayment, PaymentNotification, whole_vnd

__all__ = [
    "REPLY_CODES",
    "CallbackOutcome",
    "CallbackVerifier",
    "MemoryCallbackStore",
    "ProcessedCallbackStore",
    "SqliteCallbackStore",
    "verify_callback",
]

log = logging.getLogger("govlink.payments.callbacks")

# reason -> (MaLoi, MoTaLoi) of the vendor's reply.
REPLY_CODES: dict[str, tuple[str, str]] = {
    "ok": ("00", "Thành công"),
    "bad_checksum": ("01", "Sai mã xác thực"),
    "partner_mismatch": ("01", "Sai mã đối tác"),
    "unknown_reference": ("02", "Không tìm thấy giao dịch"),
    "amount_mismatch": ("03", "Số tiền không khớp"),
    "currency_mismatch": ("04", "Loại tiền không khớp"),
    "stale": ("05", "Bản tin quá hạn"),
    "malformed": ("06", "Bản tin không hợp lệ"),
    "processing_failed": ("99", "Lỗi khác"),
}
# Decisions worth remembering: the same message must get the same answer. Forged,
# stale, malformed and "unknown reference" answers are not stored (they could be
# an attacker's, or transient), so they are re-evaluated when the message comes back.
_STORED_REASONS = frozenset({"ok", "amount_mismatch", "currency_mismatch"})

Lookup = Callable[[str], "ExpectedPayment | Awaitable[ExpectedPayment | None] | None"]
Process = Callable[[PaymentNotification], "Awaitable[None] | None"]


@dataclass(frozen=True)
class CallbackOutcome:
    """What the verifier decided, and the reply body to send back (HTTP 200, JSON)."""

    accepted: bool
    """Genuine and matching what was created."""
    duplicate: bool
    """Seen before: the stored answer is repeated and nothing is processed again."""
    reason: str
    """``ok``, ``bad_checksum``, ``partner_mismatch``, ``unknown_reference``,
    ``amount_mismatch``, ``currency_mismatch``, ``stale``, ``malformed``,
    ``processing_failed``."""
    message: str
    reply: dict[str, Any]
    notification: PaymentNotification | None = field(default=None, repr=False)

    @property
    def paid(self) -> bool:
        """Accepted *and* the payer paid (``MaLoi == "00"``)."""
        return self.accepted and self.notification is not None and self.notification.paid

    @property
    def first_time(self) -> bool:
        """Accepted and new: the moment to mark the payment in the vendor's books."""
        return self.accepted and not self.duplicate

    def reply_json(self) -> bytes:
        return json.dumps(self.reply, ensure_ascii=False).encode("utf-8")

    def to_record(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "reason": self.reason,
            "message": self.message,
            "reply": self.reply,
            "notification": self.notification.to_wire() if self.notification else None,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CallbackOutcome:
        notification = record.get("notification")
        return cls(
            accepted=bool(record["accepted"]),
            duplicate=True,
            reason=str(record["reason"]),
            message=str(record["message"]),
            reply=dict(record["reply"]),
            notification=PaymentNotification.model_validate(notification) if notification else None,
        )


class ProcessedCallbackStore(Protocol):
    """Remembers the answer given per transaction, so a repeat gets the same one."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored record for ``key``, or None."""

    def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Store ``record`` unless ``key`` exists (atomically); return the existing one."""

    def release(self, key: str) -> None:
        """Forget ``key`` (processing failed; let the platform's retry try again)."""


class MemoryCallbackStore:
    """Default store: per process, lost on restart. Use :class:`SqliteCallbackStore` to keep it."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get(key)
            return dict(record) if record is not None else None

    def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            existing = self._records.get(key)
            if existing is not None:
                return dict(existing)
            self._records[key] = dict(record)
            return None

    def release(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def __len__(self) -> int:
        return len(self._records)


class SqliteCallbackStore:
    """Processed callbacks in a SQLite file: survives restarts, shared by worker processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        with self._lock, self._conn:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS govlink_payment_callbacks ("
                " key TEXT PRIMARY KEY, record TEXT NOT NULL,"
                " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT record FROM govlink_payment_callbacks WHERE key = ?", (key,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def claim(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        encoded = json.dumps(record, ensure_ascii=False)
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO govlink_payment_callbacks (key, record) VALUES (?, ?)",
                (key, encoded),
            )
            if cursor.rowcount == 1:
                return None
            row = self._conn.execute(
                "SELECT record FROM govlink_payment_callbacks WHERE key = ?", (key,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def release(self, key: str) -> None:
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM govlink_payment_callbacks WHERE key = ?", (key,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute(
                "SELECT COUNT(*) FROM govlink_payment_callbacks"
            ).fetchone()
        return int(count)


def _discard(awaitable: Any) -> None:
    """Close a coroutine that will never be awaited (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


@dataclass
class _Checked:
    """A callback that passed the checks that need no vendor data."""

    notification: PaymentNotification
    key: str


class CallbackVerifier:
    """Checks callbacks and builds the signed replies; one instance per endpoint.

    ``secret`` is the partner secret (``dvcqg`` profile) or the *callback* key
    (``legacy`` profile). ``lookup(reference)`` returns what the vendor created for
    that reference (:class:`ExpectedPayment`) or None; it may be async when used
    through :meth:`averify`. ``tolerance`` is how old ``ThoiGianGD`` may be (None
    turns the check off); ``future_skew`` how far ahead of this clock it may be.
    """

    def __init__(
        self,
        secret: str,
        lookup: Lookup,
        store: ProcessedCallbackStore | None = None,
        *,
        partner_code: str | None = None,
        profile: ChecksumProfile | str = ChecksumProfile.DVCQG,
        tolerance: timedelta | None = timedelta(hours=24),
        future_skew: timedelta = timedelta(minutes=10),
        clock: Clock | None = None,
    ) -> None:
        if not secret:
            raise ValueError("CallbackVerifier needs the partner secret")
        self._secret = secret
        self.lookup = lookup
        self.store: ProcessedCallbackStore = store if store is not None else MemoryCallbackStore()
        self.partner_code = partner_code
        self.profile = ChecksumProfile(profile)
        self.tolerance = tolerance
        self.future_skew = future_skew
        self.clock: Clock = clock or SystemClock()

    def __repr__(self) -> str:
        return (
            f"CallbackVerifier(partner_code={self.partner_code!r}, profile={self.profile.value!r})"
        )

    # ------------------------------------------------------------------ public API

    def verify(self, payload: Any, process: Process | None = None) -> CallbackOutcome:
        """Decide on one callback body (already JSON-decoded); see the module docs."""
        first = self._authenticate(payload)
        if isinstance(first, CallbackOutcome):
            return first
        expected = self.lookup(first.notification.reference)
        if inspect.isawaitable(expected):
            _discard(expected)
            raise TypeError("the lookup hook is async: call averify() instead of verify()")
        decided = self._decide(first, expected)
        if isinstance(decided, CallbackOutcome):
            return decided
        outcome, is_new = self._claim(decided)
        if not is_new:
            return outcome
        try:
            if process is not None:
                result = process(decided.notification)
                if inspect.isawaitable(result):
                    _discard(result)
                    raise TypeError("the process hook is async: call averify() instead")
        except Exception as exc:
            return self._processing_failed(decided, exc)
        return outcome

    async def averify(self, payload: Any, process: Process | None = None) -> CallbackOutcome:
        """:meth:`verify` for async frameworks: ``lookup`` and ``process`` may be async."""
        first = self._authenticate(payload)
        if isinstance(first, CallbackOutcome):
            return first
        expected = self.lookup(first.notification.reference)
        if inspect.isawaitable(expected):
            expected = await expected
        decided = self._decide(first, expected)
        if isinstance(decided, CallbackOutcome):
            return decided
        outcome, is_new = self._claim(decided)
        if not is_new:
            return outcome
        try:
            if process is not None:
                result = process(decided.notification)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            return self._processing_failed(decided, exc)
        return outcome

    def reply(self, reason: str, reference: str | None = None) -> dict[str, Any]:
        """The signed reply body for ``reason`` (see :data:`REPLY_CODES`)."""
        code, text = REPLY_CODES[reason]
        if self.profile is ChecksumProfile.LEGACY:
            return {"error": "0" if code == "00" else code, "msg": text}
        return build_reply(
            error_code=code,
            message=text,
            partner_code=self.partner_code or "",
            reference=reference,
            when=self.clock.now(),
            secret=self._secret,
        ).to_wire()

    # ------------------------------------------------------------------ the steps

    def _reject(
        self,
        reason: str,
        message: str,
        notification: PaymentNotification | None = None,
    ) -> CallbackOutcome:
        reference = notification.reference if notification is not None else None
        log.warning("payment callback refused (%s): %s", reason, message)
        return CallbackOutcome(
            accepted=False,
            duplicate=False,
            reason=reason,
            message=message,
            reply=self.reply(reason, reference),
            notification=notification,
        )

    def _authenticate(self, payload: Any) -> _Checked | CallbackOutcome:
        if not isinstance(payload, Mapping):
            return self._reject("malformed", "the callback body is not a JSON object")
        if self.profile is ChecksumProfile.LEGACY:
            return self._authenticate_legacy(payload)
        try:
            notification = PaymentNotification.model_validate(dict(payload))
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return self._reject("malformed", f"{where}: {first['msg']}")
        if not checksum.verify(MessageKind.IPN, payload, self._secret):
            return self._reject(
                "bad_checksum",
                f"MaXacThuc of the callback for {notification.reference} does not verify "
                "(forged, altered, or signed with another secret)",
            )
        if self.partner_code is not None and notification.partner_code != self.partner_code:
            return self._reject(
                "partner_mismatch",
                f"the callback is for partner {notification.partner_code!r}, "
                f"not {self.partner_code!r}",
            )
        return self._dedupe_and_freshness(notification)

    def _authenticate_legacy(self, payload: Mapping[str, Any]) -> _Checked | CallbackOutcome:
        try:
            amount = whole_vnd(payload.get("trans_amount"))
            status = payload.get("status")
            if isinstance(status, bool) or not isinstance(status, int | str):
                raise ValueError("status must be a number")
            expected_sum = checksum.legacy_check_sum(
                payload, self._secret, checksum.LEGACY_CALLBACK_FIELDS
            )
        except (ValueError, TypeError) as exc:
            return self._reject("malformed", str(exc))
        if not checksum.checksums_equal(expected_sum, payload.get("check_sum")):
            return self._reject(
                "bad_checksum",
                f"check_sum of the callback for {payload.get('transaction_id')!r} does not verify",
            )
        client_id = str(payload.get("client_id", ""))
        if self.partner_code is not None and client_id != self.partner_code:
            return self._reject("partner_mismatch", f"the callback is for client {client_id!r}")
        notification = PaymentNotification(
            message_type="legacy",
            error_code="00" if str(status).strip() == "0" else str(status),
            partner_code=client_id,
            reference=str(payload.get("transaction_id", "")),
            amount=amount,
            currency=str(payload.get("currency_code", "VND")),
            transaction_id=str(payload.get("transaction_code", "")),
            checksum=str(payload.get("check_sum", "")),
        )
        return self._dedupe_and_freshness(notification)

    def _key(self, notification: PaymentNotification) -> str:
        if notification.transaction_id:
            return f"{notification.partner_code}:{notification.transaction_id}"
        return (
            f"{notification.partner_code}:ref:{notification.reference}:"
            f"{notification.error_code}:{notification.transaction_time}"
        )

    def _dedupe_and_freshness(
        self, notification: PaymentNotification
    ) -> _Checked | CallbackOutcome:
        key = self._key(notification)
        stored = self.store.get(key)
        if stored is not None:
            log.info("payment callback %s seen before: same answer, not processed again", key)
            return CallbackOutcome.from_record(stored)
        if self.profile is ChecksumProfile.DVCQG and self.tolerance is not None:
            when = notification.transaction_datetime
            if when is None:
                return self._reject(
                    "malformed", "ThoiGianGD is not yyyyMMddHHmmss", notification=notification
                )
            now = self.clock.now()
            if now - when > self.tolerance:
                return self._reject(
                    "stale",
                    f"ThoiGianGD {notification.transaction_time} is older than the tolerance "
                    f"of {self.tolerance} (replayed or delivered too late; reconcile picks it up)",
                    notification=notification,
                )
            if when - now > self.future_skew:
                return self._reject(
                    "stale",
                    f"ThoiGianGD {notification.transaction_time} is in the future "
                    f"(more than {self.future_skew} ahead of this clock)",
                    notification=notification,
                )
        return _Checked(notification=notification, key=key)

    def _decide(
        self, checked: _Checked, expected: ExpectedPayment | None
    ) -> _Checked | CallbackOutcome:
        notification = checked.notification
        if expected is None:
            return self._reject(
                "unknown_reference",
                f"no payment {notification.reference} was created here",
                notification=notification,
            )
        if notification.amount != expected.amount:
            return self._stored_rejection(
                checked,
                "amount_mismatch",
                f"{notification.reference}: the callback says {notification.amount} VND, "
                f"{expected.amount} VND was created",
            )
        if notification.currency and notification.currency != expected.currency:
            return self._stored_rejection(
                checked,
                "currency_mismatch",
                f"{notification.reference}: the callback says {notification.currency}, "
                f"{expected.currency} was created",
            )
        return checked

    def _stored_rejection(self, checked: _Checked, reason: str, message: str) -> CallbackOutcome:
        outcome = self._reject(reason, message, notification=checked.notification)
        existing = self.store.claim(checked.key, outcome.to_record())
        return CallbackOutcome.from_record(existing) if existing is not None else outcome

    def _claim(self, checked: _Checked) -> tuple[CallbackOutcome, bool]:
        """Record the acceptance first, so a concurrent duplicate cannot process too."""
        outcome = self._accepted(checked)
        existing = self.store.claim(checked.key, outcome.to_record())
        if existing is not None:
            return CallbackOutcome.from_record(existing), False
        return outcome, True

    def _accepted(self, checked: _Checked) -> CallbackOutcome:
        notification = checked.notification
        log.info(
            "payment callback accepted: %s %s (MaLoi %s)",
            notification.reference,
            notification.transaction_id,
            notification.error_code,
        )
        return CallbackOutcome(
            accepted=True,
            duplicate=False,
            reason="ok",
            message="accepted" + (" (paid)" if notification.paid else " (not paid)"),
            reply=self.reply("ok", notification.reference),
            notification=notification,
        )

    def _processing_failed(self, checked: _Checked, exc: Exception) -> CallbackOutcome:
        self.store.release(checked.key)
        log.error(
            "processing payment callback %s failed (%s); answering 99 so the platform retries",
            checked.notification.reference,
            type(exc).__name__,
        )
        return CallbackOutcome(
            accepted=False,
            duplicate=False,
            reason="processing_failed",
            message=f"the process hook raised {type(exc).__name__}: {exc}",
            reply=self.reply("processing_failed", checked.notification.reference),
            notification=checked.notification,
        )


def verify_callback(
    payload: Any,
    *,
    secret: str,
    lookup: Lookup,
    store: ProcessedCallbackStore,
    partner_code: str | None = None,
    profile: ChecksumProfile | str = ChecksumProfile.DVCQG,
    tolerance: timedelta | None = timedelta(hours=24),
    process: Process | None = None,
    clock: Clock | None = None,
) -> CallbackOutcome:
    """One-shot :meth:`CallbackVerifier.verify`. Pass the same ``store`` every time —
    it is what recognises duplicates across calls."""
    verifier = CallbackVerifier(
        secret,
        lookup,
        store,
        partner_code=partner_code,
        profile=profile,
        tolerance=tolerance,
        clock=clock,
    )
    return verifier.verify(payload, process=process)
