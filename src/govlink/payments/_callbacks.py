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
from govlink.payments import _checksum as checksum
from govlink.payments._checksum import ChecksumProfile, MessageKind
from govlink.payments._codec import build_reply
from govlink.payments.models import LEGACY_VERSION, ExpectedPayment, PaymentNotification

__all__ = [
    "REPLY_CODES",
    "CallbackOutcome",
    "CallbackVerifier",
    "MemoryCallbackStore",
    "ProcessedCallbackStore",
    "SqliteCallbackStore",
    "verify_callback",
]

log = logging.getLogger("govlink.payments._callbacks")

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
    "wrong_message_type": ("06", "Loại bản tin không hợp lệ"),
    "paid_twice": ("07", "Mã tham chiếu đã được thanh toán bởi giao dịch khác"),
    "processing_failed": ("99", "Lỗi khác"),
}
# Legacy (KeyPay) replies: {return_code, return_msg}; the codes are assumed.
LEGACY_RETURN_CODES = {True: ("00", "Thành công"), False: ("01", "Thất bại")}
# IPN fields that must not contain the '|' separator (so boundaries cannot move).
_NO_SEPARATOR = checksum.IPN_FIELDS
# Decisions worth remembering: the same message must get the same answer. Forged,
# stale, malformed and "unknown reference" answers are not stored (they could be
# an attacker's, or transient), so they are re-evaluated when the message comes back.
_STORED_REASONS = frozenset({"ok", "amount_mismatch", "currency_mismatch", "paid_twice"})

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
    ``wrong_message_type``, ``paid_twice``, ``processing_failed``."""
    message: str
    reply: dict[str, Any]
    notification: PaymentNotification | None = field(default=None, repr=False)
    previous_transaction_id: str | None = None
    """``paid_twice`` only: the transaction that paid this reference first."""

    @property
    def anomaly(self) -> bool:
        """A genuine message the books must not absorb silently (``paid_twice``):
        money was taken twice for one reference; refund or investigate."""
        return self.reason == "paid_twice"

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
            "previous_transaction_id": self.previous_transaction_id,
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
            previous_transaction_id=record.get("previous_transaction_id"),
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


def discard_awaitable(awaitable: Any) -> None:
    """Close a coroutine that will never be awaited (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


@dataclass
class _Checked:
    """A callback that passed the checks that need no vendor data."""

    notification: PaymentNotification
    key: str
    echo: str | None = None
    """The callback's own checksum, echoed in the reply."""
    authenticated: bool = True
    """False for a legacy callback until its checksum is checked against the lookup."""


Anomaly = Callable[["CallbackOutcome"], "Awaitable[None] | None"]


class CallbackVerifier:
    """Checks callbacks and builds the replies; one instance per endpoint.

    ``secret`` is the partner secret (``dvcqg`` profile) or the *callback* key
    (``legacy`` profile). ``lookup(reference)`` returns what the vendor created for
    that reference (:class:`ExpectedPayment`) or None; it may be async when used
    through :meth:`averify`. ``tolerance`` is how old ``ThoiGianGD`` may be (None
    turns the check off); ``future_skew`` how far ahead of this clock it may be.
    ``message_type`` is the callback's ``LoaiBanTin`` (anything else — a re-posted
    QUERY reply, say — is refused). ``reply_checksum`` is ``"echo"`` (the reply
    carries the callback's own ``MaXacThuc`` and ``ThoiGianGD``, as both public
    clients answer) or ``"own"`` (the reply is hashed with the secret).
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
        message_type: str = "CONFIRM",
        reply_checksum: str = "echo",
    ) -> None:
        if not secret:
            raise ValueError("CallbackVerifier needs the partner secret")
        if reply_checksum not in ("echo", "own"):
            raise ValueError(f"reply_checksum must be 'echo' or 'own', not {reply_checksum!r}")
        self._secret = secret
        self.lookup = lookup
        self.store: ProcessedCallbackStore = store if store is not None else MemoryCallbackStore()
        self.partner_code = partner_code
        self.profile = ChecksumProfile(profile)
        self.tolerance = tolerance
        self.future_skew = future_skew
        self.clock: Clock = clock or SystemClock()
        self.message_type = message_type
        self.reply_checksum = reply_checksum

    def __repr__(self) -> str:
        return (
            f"CallbackVerifier(partner_code={self.partner_code!r}, profile={self.profile.value!r})"
        )

    # ------------------------------------------------------------------ public API

    def verify(
        self,
        payload: Any,
        process: Process | None = None,
        *,
        on_anomaly: Anomaly | None = None,
    ) -> CallbackOutcome:
        """Decide on one callback body (already JSON-decoded); see the module docs.

        ``process(notification)`` runs once for a new, valid callback;
        ``on_anomaly(outcome)`` once for a genuine message the books must not absorb
        (a second paid transaction for an already-paid reference).
        """
        first = self._authenticate(payload)
        if isinstance(first, CallbackOutcome):
            return first
        expected = self.lookup(first.notification.reference)
        if inspect.isawaitable(expected):
            discard_awaitable(expected)
            raise TypeError("the lookup hook is async: call averify() instead of verify()")
        decided = self._decide(first, expected)
        if isinstance(decided, CallbackOutcome):
            return decided
        outcome, is_new, claimed = self._claim(decided)
        hook = self._hook(outcome, decided, process if is_new else None, on_anomaly)
        try:
            if hook is not None and inspect.isawaitable(result := hook()):
                discard_awaitable(result)
                raise TypeError("the hook is async: call averify() instead of verify()")
        except Exception as exc:
            return self._processing_failed(decided, exc, claimed)
        return outcome

    async def averify(
        self,
        payload: Any,
        process: Process | None = None,
        *,
        on_anomaly: Anomaly | None = None,
    ) -> CallbackOutcome:
        """:meth:`verify` for async frameworks: the hooks may be async."""
        first = self._authenticate(payload)
        if isinstance(first, CallbackOutcome):
            return first
        expected = self.lookup(first.notification.reference)
        if inspect.isawaitable(expected):
            expected = await expected
        decided = self._decide(first, expected)
        if isinstance(decided, CallbackOutcome):
            return decided
        outcome, is_new, claimed = self._claim(decided)
        hook = self._hook(outcome, decided, process if is_new else None, on_anomaly)
        try:
            if hook is not None and inspect.isawaitable(result := hook()):
                await result
        except Exception as exc:
            return self._processing_failed(decided, exc, claimed)
        return outcome

    @staticmethod
    def _hook(
        outcome: CallbackOutcome,
        checked: _Checked,
        process: Process | None,
        on_anomaly: Anomaly | None,
    ) -> Callable[[], Any] | None:
        """What to run for a newly stored outcome (``process`` is None for a repeat)."""
        if outcome.anomaly:
            if on_anomaly is None or outcome.duplicate:
                return None
            return lambda: on_anomaly(outcome)
        if process is None:
            return None
        return lambda: process(checked.notification)

    def reply(
        self,
        reason: str,
        reference: str | None = None,
        *,
        echo: str | None = None,
        transaction_time: str | None = None,
    ) -> dict[str, Any]:
        """The reply body for ``reason`` (see :data:`REPLY_CODES`)."""
        code, text = REPLY_CODES[reason]
        if self.profile is ChecksumProfile.LEGACY:
            return_code, return_msg = LEGACY_RETURN_CODES[code == "00"]
            return {"return_code": return_code, "return_msg": return_msg}
        own = self.reply_checksum == "own"
        return build_reply(
            error_code=code,
            message=text,
            partner_code=self.partner_code or "",
            reference=reference,
            when=self.clock.now(),
            secret=self._secret,
            echo=None if own else (echo or ""),
            transaction_time=None if own else transaction_time,
        ).to_wire()

    # ------------------------------------------------------------------ the steps

    def _reject(
        self,
        reason: str,
        message: str,
        notification: PaymentNotification | None = None,
        *,
        payload: Mapping[str, Any] | None = None,
        previous_transaction_id: str | None = None,
    ) -> CallbackOutcome:
        reference = notification.reference if notification is not None else None
        source: Mapping[str, Any] = payload or {}
        echo = notification.checksum if notification is not None else source.get("MaXacThuc")
        when = (
            notification.transaction_time if notification is not None else source.get("ThoiGianGD")
        )
        log.warning("payment callback refused (%s): %s", reason, message)
        return CallbackOutcome(
            accepted=False,
            duplicate=False,
            reason=reason,
            message=message,
            reply=self.reply(
                reason,
                reference,
                echo=echo if isinstance(echo, str) else None,
                transaction_time=when if isinstance(when, str) and when else None,
            ),
            notification=notification,
            previous_transaction_id=previous_transaction_id,
        )

    def _authenticate(self, payload: Any) -> _Checked | CallbackOutcome:
        if not isinstance(payload, Mapping):
            return self._reject("malformed", "the callback body is not a JSON object")
        if self.profile is ChecksumProfile.LEGACY:
            return self._parse_legacy(payload)
        for name in _NO_SEPARATOR:
            value = payload.get(name)
            if isinstance(value, str) and "|" in value:
                return self._reject(
                    "malformed",
                    f"{name} contains '|', which separates hashed fields",
                    payload=payload,
                )
        try:
            notification = PaymentNotification.model_validate(dict(payload))
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return self._reject("malformed", f"{where}: {first['msg']}", payload=payload)
        if not checksum.verify(MessageKind.IPN, payload, self._secret):
            return self._reject(
                "bad_checksum",
                f"MaXacThuc of the callback for {notification.reference} does not verify "
                "(forged, altered, or signed with another secret)",
                payload=payload,
            )
        if self.partner_code is not None and notification.partner_code != self.partner_code:
            return self._reject(
                "partner_mismatch",
                f"the callback is for partner {notification.partner_code!r}, "
                f"not {self.partner_code!r}",
                payload=payload,
            )
        if notification.message_type != self.message_type:
            return self._reject(
                "wrong_message_type",
                f"LoaiBanTin is {notification.message_type!r}, a callback is "
                f"{self.message_type!r} (a signed reply of another message re-posted?)",
                payload=payload,
            )
        return self._dedupe_and_freshness(
            _Checked(notification, self._key(notification), echo=notification.checksum)
        )

    def _parse_legacy(self, payload: Mapping[str, Any]) -> _Checked | CallbackOutcome:
        """Read a KeyPay callback; its checksum is checked once the lookup is known.

        The public client checks ``check_sum`` against the values it *stored* when it
        created the payment (``addition_fee|client_id|command|trans_amount|
        transaction_id|version``, keyed by the second key), so only
        ``transaction_id`` is taken from the body before that check.
        """
        reference = payload.get("transaction_id")
        if not isinstance(reference, str) or not reference.strip() or "|" in reference:
            return self._reject("malformed", "transaction_id must be a reference without '|'")
        data = payload.get("data")
        status = payload.get("status")
        if status is None and isinstance(data, Mapping):
            status = data.get("status")
        if isinstance(status, bool) or not isinstance(status, int | str):
            return self._reject("malformed", "status must be a number")
        code = str(payload.get("transaction_code") or "")
        notification = PaymentNotification.model_validate(
            {
                "LoaiBanTin": "legacy",
                "MaLoi": "00" if str(status).strip() == "0" else str(status),
                "MaDoiTac": self.partner_code or "",
                "MaThamChieu": reference,
                "SoTien": 0,
                "MaGiaoDich": code,
                "MaXacThuc": str(payload.get("check_sum", "")),
            }
        )
        key = f"legacy:{self.partner_code or ''}:{reference}"
        return _Checked(notification, key, authenticated=False)

    def _check_legacy(
        self, checked: _Checked, expected: ExpectedPayment
    ) -> _Checked | CallbackOutcome:
        notification = checked.notification
        stored = {
            "addition_fee": expected.addition_fee,
            "client_id": self.partner_code or "",
            "command": "PAY",
            "trans_amount": expected.amount,
            "transaction_id": notification.reference,
            "version": LEGACY_VERSION,
        }
        wanted = checksum.legacy_check_sum(stored, self._secret, checksum.LEGACY_CALLBACK_FIELDS)
        if not checksum.checksums_equal(wanted, notification.checksum):
            return self._reject(
                "bad_checksum",
                f"check_sum of the callback for {notification.reference} does not verify",
            )
        notification = notification.model_copy(
            update={"amount": expected.amount, "currency": expected.currency}
        )
        return self._dedupe_and_freshness(_Checked(notification, checked.key))

    def _key(self, notification: PaymentNotification) -> str:
        # Only hashed fields: a field the checksum does not cover could otherwise
        # make one genuine message look new (and be processed twice).
        if notification.transaction_id:
            return f"{notification.partner_code}:{notification.transaction_id}"
        return (
            f"{notification.partner_code}:ref:{notification.reference}:"
            f"{notification.error_code}:{notification.transaction_time}"
        )

    def _dedupe_and_freshness(self, checked: _Checked) -> _Checked | CallbackOutcome:
        notification = checked.notification
        stored = self.store.get(checked.key)
        if stored is not None:
            log.info(
                "payment callback %s seen before: same answer, not processed again", checked.key
            )
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
        return checked

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
        if not checked.authenticated:
            return self._check_legacy(checked, expected)
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

    def _claim(self, checked: _Checked) -> tuple[CallbackOutcome, bool, str | None]:
        """Record the decision first, so a concurrent duplicate cannot process too.

        A paid callback also claims its reference: a second *paid* transaction for a
        reference another transaction already paid is an anomaly (``paid_twice``),
        stored and answered as such, and never handed to ``process``.
        Returns the outcome, whether it is new, and the reference claim to release
        if processing fails.
        """
        notification = checked.notification
        claimed: str | None = None
        if notification.paid:
            ref_key = f"paid:{notification.partner_code}:{notification.reference}"
            first = self.store.claim(
                ref_key, {"key": checked.key, "transaction_id": notification.transaction_id}
            )
            if first is None:
                claimed = ref_key
            elif first.get("key") != checked.key:
                previous = str(first.get("transaction_id") or "")
                anomaly = self._reject(
                    "paid_twice",
                    f"{notification.reference} was already paid by transaction {previous}; "
                    f"transaction {notification.transaction_id} paid it again "
                    "(refund or investigate; the books were not changed)",
                    notification=notification,
                    previous_transaction_id=previous,
                )
                log.error("payment anomaly: %s", anomaly.message)
                existing = self.store.claim(checked.key, anomaly.to_record())
                if existing is not None:
                    return CallbackOutcome.from_record(existing), False, None
                return anomaly, True, None
        outcome = self._accepted(checked)
        existing = self.store.claim(checked.key, outcome.to_record())
        if existing is not None:
            return CallbackOutcome.from_record(existing), False, None
        return outcome, True, claimed

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
            reply=self.reply(
                "ok",
                notification.reference,
                echo=checked.echo,
                transaction_time=notification.transaction_time or None,
            ),
            notification=notification,
        )

    def _processing_failed(
        self, checked: _Checked, exc: Exception, claimed: str | None
    ) -> CallbackOutcome:
        self.store.release(checked.key)
        if claimed is not None:
            self.store.release(claimed)
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
            reply=self.reply(
                "processing_failed",
                checked.notification.reference,
                echo=checked.echo,
                transaction_time=checked.notification.transaction_time or None,
            ),
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
