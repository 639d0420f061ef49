"""Payment clients: thin sync and async shells over :mod:`govlink.payments.codec`.

:class:`_PaymentCore` reads the settings once and turns every call into "send this
JSON to that path" plus "parse the reply with that function"; :class:`PaymentClient`
and :class:`AsyncPaymentClient` only send and ``await``. Reconciliation's comparison
rules live in :func:`compare`, also shared.

Settings used (``settings.payments``):

* ``base_url``; ``paths`` ``init``, ``query``, ``get_bill`` (default ``/api`` each: the
  platform takes one JSON endpoint that dispatches on ``LoaiBanTin``; deployments that
  publish one URL per message set them separately) and ``pay`` for the legacy profile;
* the partner code ``MaDoiTac`` and secret: ``options.partner_code`` / ``options.secret``
  if set, else ``auth.client_id`` / ``auth.client_secret``;
* ``options``: ``profile`` (``dvcqg`` | ``legacy``), ``callback_url``, ``return_url``,
  ``callback_url_field`` (default ``UrlCallback``), ``return_url_field`` (default
  ``UrlReturn``), ``channel_code``, ``device_code``, ``bank_code``, ``ip``,
  ``verify_replies`` (default true), ``callback_key`` (legacy profile's second key,
  else ``auth.password``), ``callback_tolerance_seconds`` (default 86400).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import tempfile
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from govlink.core.auth import auth_for
from govlink.core.clock import Clock, SystemClock
from govlink.core.config import GovLinkSettings, resolve_reference
from govlink.core.errors import (
    ConfigurationError,
    GovLinkError,
    NotFoundError,
    ValidationError,
)
from govlink.core.http import (
    AsyncHttpTransport,
    HttpTransport,
    Reply,
    build_async_client,
    build_client,
    new_correlation_id,
)
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.payments import codec
from govlink.payments.callbacks import CallbackVerifier, Lookup, ProcessedCallbackStore
from govlink.payments.checksum import ChecksumProfile, MessageKind
from govlink.payments.models import (
    DifferenceKind,
    EReceipt,
    InitRequest,
    LocalPayment,
    PaymentCreated,
    PaymentState,
    PaymentStatus,
    ReceiptInfo,
    ReconcileDifference,
    ReconcileProblem,
    ReconcileReport,
)
from govlink.payments.options import PaymentsOptions

__all__ = ["AsyncPaymentClient", "PaymentClient", "compare"]

log = logging.getLogger("govlink.payments")

DEFAULT_PATH = "/api"
Settle = Callable[[ReconcileDifference], "Awaitable[None] | None"]
Progress = Callable[[LocalPayment, "ReconcileDifference | None"], None]
_CHUNK = 64 * 1024


def compare(local: LocalPayment, remote: PaymentStatus | None) -> ReconcileDifference | None:
    """How ``local`` and the platform's view disagree (None: they agree).

    ``remote`` None means the platform does not know the reference.
    """
    here = local.status
    there = remote.state if remote is not None else PaymentState.UNKNOWN
    remote_amount = remote.amount if remote is not None else None

    def diff(kind: DifferenceKind) -> ReconcileDifference:
        return ReconcileDifference(
            reference=local.reference,
            kind=kind,
            local_state=here,
            remote_state=there,
            local_amount=local.amount,
            remote_amount=remote_amount,
            transaction_id=remote.transaction_id if remote is not None else None,
            remote=remote,
        )

    if there is PaymentState.PAID:
        if here is not PaymentState.PAID:
            return diff(DifferenceKind.PAID_THERE_PENDING_HERE)
        if remote_amount is not None and remote_amount != local.amount:
            return diff(DifferenceKind.AMOUNT_MISMATCH)
        return None
    if here is PaymentState.PAID:
        return diff(DifferenceKind.PAID_HERE_NOT_THERE)
    if here is PaymentState.PENDING:
        if remote is None:
            return diff(DifferenceKind.UNKNOWN_THERE)
        if there in (PaymentState.FAILED, PaymentState.CANCELLED):
            return diff(DifferenceKind.CLOSED_THERE_OPEN_HERE)
    return None


@dataclass(frozen=True)
class _Call:
    path: str
    body: dict[str, Any]
    safe: bool


class _PaymentCore:
    """Everything both clients share: settings, message building, reply parsing."""

    def __init__(self, settings: GovLinkSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.platform = settings.platform("payments")
        self.clock: Clock = clock or SystemClock()
        options = PaymentsOptions.of(settings)
        self.profile = ChecksumProfile(options.profile)
        auth = self.platform.auth
        partner = options.partner_code or auth.client_id
        if not partner:
            raise ConfigurationError(
                "no payment partner code (MaDoiTac) configured",
                setting="GOVLINK_PAYMENTS__AUTH__CLIENT_ID",
                expected="the MaDoiTac issued by the payment platform",
            )
        self.partner_code = partner
        self._secret = self._resolve_secret(options.secret, auth.client_secret, "SECRET")
        self.options = options

    @staticmethod
    def _resolve_secret(option: str | None, fallback: SecretStr | None, name: str) -> str:
        if option:
            return resolve_reference(option, setting=f"GOVLINK_PAYMENTS__OPTIONS__{name}")
        if fallback is not None and fallback.get_secret_value():
            return fallback.get_secret_value()
        raise ConfigurationError(
            "no payment secret configured",
            setting="GOVLINK_PAYMENTS__AUTH__CLIENT_SECRET",
            expected="the partner secret issued by the payment platform (or env:NAME)",
        )

    def path(self, name: str) -> str:
        return self.platform.paths.get(name, DEFAULT_PATH)

    # ---------------------------------------------------------------- INIT

    def init_call(
        self,
        amount: int,
        *,
        reference: str | None,
        description: str,
        receipt: ReceiptInfo | dict[str, Any] | None,
        callback_url: str | None,
        return_url: str | None,
        ip: str | None,
    ) -> tuple[_Call, str, InitRequest | None]:
        now = self.clock.now()
        reference = reference or codec.new_reference("GL", now)
        callback_url = callback_url or self.options.callback_url
        return_url = return_url or self.options.return_url
        if self.profile is ChecksumProfile.LEGACY:
            body = codec.build_legacy_pay(
                client_id=self.partner_code,
                key=self._secret,
                transaction_id=reference,
                amount=amount,
                description=description,
                return_url=return_url,
                callback_url=callback_url,
            )
            return _Call(self.platform.paths.get("pay", DEFAULT_PATH), body, False), reference, None
        extensions = {}
        if callback_url:
            extensions[self.options.callback_url_field] = str(callback_url)
        if return_url:
            extensions[self.options.return_url_field] = str(return_url)
        request = codec.build_init(
            partner_code=self.partner_code,
            secret=self._secret,
            reference=reference,
            amount=amount,
            when=now,
            description=description or f"Thanh toan {reference}",
            ip=ip or self.options.ip,
            receipt=receipt,
            channel_code=self.options.channel_code,
            device_code=self.options.device_code,
            bank_code=self.options.bank_code,
            extensions=extensions,
        )
        return _Call(self.path("init"), request.to_wire(), False), reference, request

    def init_result(
        self, reply: Reply, reference: str, request: InitRequest | None, body: dict[str, Any]
    ) -> PaymentCreated:
        if request is None:
            url = codec.parse_legacy_pay_reply(reply.status_code, reply.content)
        else:
            url = codec.parse_init_reply(reply.status_code, reply.content)
        log.info("payment %s created [correlation id %s]", reference, reply.evidence.correlation_id)
        return PaymentCreated(
            url=url, reference=reference, request=request if request is not None else body
        )

    # ---------------------------------------------------------------- QUERY / GET_BILL

    def _dvcqg_only(self, what: str) -> None:
        if self.profile is not ChecksumProfile.DVCQG:
            raise ConfigurationError(
                f"{what} is not available with the legacy payments profile",
                setting="GOVLINK_PAYMENTS__OPTIONS__PROFILE",
                expected="dvcqg (the DVCQG PaymentPlatform) to query payments and receipts",
            )

    def query_call(self, reference: str, at: datetime | None) -> _Call:
        self._dvcqg_only("QUERY")
        body = codec.build_lookup(
            MessageKind.QUERY,
            partner_code=self.partner_code,
            secret=self._secret,
            reference=reference,
            when=at or self.clock.now(),
        )
        return _Call(self.path("query"), body, True)

    def query_result(self, reply: Reply, reference: str) -> PaymentStatus:
        return codec.parse_query_reply(
            reply.status_code,
            reply.content,
            reference=reference,
            secret=self._secret,
            verify_checksum=self.options.verify_replies,
        )

    def bill_call(self, reference: str, at: datetime | None) -> _Call:
        self._dvcqg_only("GET_BILL")
        body = codec.build_lookup(
            MessageKind.GET_BILL,
            partner_code=self.partner_code,
            secret=self._secret,
            reference=reference,
            when=at or self.clock.now(),
        )
        return _Call(self.path("get_bill"), body, True)

    # ---------------------------------------------------------------- callbacks

    def callback_verifier(
        self,
        lookup: Lookup,
        store: ProcessedCallbackStore | None,
        tolerance: timedelta | str | None,
    ) -> CallbackVerifier:
        if tolerance == "default":
            seconds = self.options.callback_tolerance_seconds
            tolerance = timedelta(seconds=seconds) if seconds else None
        assert not isinstance(tolerance, str)
        secret = self._secret
        if self.profile is ChecksumProfile.LEGACY:
            secret = self._resolve_secret(
                self.options.callback_key, self.platform.auth.password, "CALLBACK_KEY"
            )
        return CallbackVerifier(
            secret,
            lookup,
            store,
            partner_code=self.partner_code,
            profile=self.profile,
            tolerance=tolerance,
            clock=self.clock,
        )

    # ---------------------------------------------------------------- reconcile

    @staticmethod
    def select(
        payments: Iterable[LocalPayment | dict[str, Any]],
        since: datetime | None,
        report: ReconcileReport,
    ) -> list[LocalPayment]:
        chosen = []
        for item in payments:
            payment = item if isinstance(item, LocalPayment) else LocalPayment.model_validate(item)
            if since is not None and payment.created_at is not None:
                created = payment.created_at
                if created.tzinfo is None:
                    raise ValidationError(
                        f"created_at of {payment.reference}",
                        "an aware datetime (with a time zone, e.g. +07:00)",
                        got=str(created),
                    )
                if created < since:
                    report.skipped += 1
                    continue
            chosen.append(payment)
        return chosen

    @staticmethod
    def record(
        report: ReconcileReport,
        payment: LocalPayment,
        outcome: PaymentStatus | GovLinkError | None,
    ) -> ReconcileDifference | None:
        report.checked += 1
        if isinstance(outcome, GovLinkError):
            report.errors.append(ReconcileProblem(payment.reference, str(outcome)))
            return None
        if outcome is not None and outcome.state is PaymentState.UNKNOWN:
            code = outcome.status.value if outcome.status is not None else "missing"
            report.errors.append(
                ReconcileProblem(
                    payment.reference, f"the platform reports an unknown TrangThaiGD ({code})"
                )
            )
            return None
        difference = compare(payment, outcome)
        if difference is not None:
            report.differences.append(difference)
        return difference


def _since_check(since: datetime | None) -> None:
    if since is not None and since.tzinfo is None:
        raise ValidationError("since", "an aware datetime (with a time zone)", got=str(since))


class _ReceiptWriter:
    """Streams a GET_BILL reply to a temporary file, renamed into place when complete.

    The first KiB is checked before anything is kept, so an error reply (JSON) is
    raised as the platform's error instead of being saved as ``receipt.pdf``.
    """

    _HEAD = 1024

    def __init__(self, target: Path, reference: str) -> None:
        self.target = target
        self.reference = reference
        self.correlation_id = new_correlation_id()
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        self._tmp = Path(tmp)
        self._out = os.fdopen(fd, "wb")
        self._head = b""
        self._checked = False
        self.size = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Correlation-ID": self.correlation_id}

    def _check(self, response: httpx.Response) -> None:
        codec.check_bill_head(
            response.status_code,
            response.headers.get("content-type", ""),
            self._head,
            self.reference,
        )
        self._checked = True

    def feed(self, response: httpx.Response, chunk: bytes) -> None:
        if not self._checked:
            self._head += chunk
            if len(self._head) >= self._HEAD:
                self._check(response)
        self._out.write(chunk)
        self.size += len(chunk)

    def finish(self, response: httpx.Response) -> EReceipt:
        if not self._checked:
            self._check(response)
        self._out.close()
        self._tmp.replace(self.target)
        return EReceipt(reference=self.reference, size=self.size, path=self.target)

    def abort(self, exc: BaseException) -> BaseException:
        """Remove the partial file; the error to raise instead of ``exc``."""
        self._out.close()
        self._tmp.unlink(missing_ok=True)
        if isinstance(exc, httpx.HTTPError):
            return GovLinkError(
                f"GET_BILL {self.reference}: download failed ({type(exc).__name__}: {exc})",
                hint=f"try again; nothing was written to {self.target}",
                correlation_id=self.correlation_id,
            )
        return exc


def _settled(report: ReconcileReport, reference: str, error: Exception | None) -> None:
    if error is None:
        report.settled.append(reference)
    else:
        report.errors.append(ReconcileProblem(reference, f"settle failed: {error}"))


class PaymentClient(Closable):
    """Synchronous payment client (DVCQG PaymentPlatform)::

    with PaymentClient(settings) as payments:
        created = payments.create_payment(150_000, description="Le phi ho so 123")
        redirect(created.url)
    """

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        settings = settings or GovLinkSettings.load()
        self._core = _PaymentCore(settings, clock)
        client = build_client(
            settings, "payments", transport=transport, auth=auth_for(settings, "payments")
        )
        self._http = HttpTransport(client, settings)

    @property
    def partner_code(self) -> str:
        return self._core.partner_code

    def _send(self, call: _Call) -> Reply:
        return self._http.request("POST", call.path, safe=call.safe, json=call.body)

    def create_payment(
        self,
        amount: int,
        *,
        reference: str | None = None,
        description: str = "",
        receipt: ReceiptInfo | dict[str, Any] | None = None,
        callback_url: str | None = None,
        return_url: str | None = None,
        ip: str | None = None,
    ) -> PaymentCreated:
        """Create a payment (``INIT``); redirect the payer to ``.url``, keep ``.reference``.

        ``amount`` is whole VND (int). Inputs are checked before anything is sent
        (:class:`~govlink.ValidationError`). INIT is not retried after a timeout:
        query the reference instead of creating it twice.
        """
        call, ref, request = self._core.init_call(
            amount,
            reference=reference,
            description=description,
            receipt=receipt,
            callback_url=callback_url,
            return_url=return_url,
            ip=ip,
        )
        return self._core.init_result(self._send(call), ref, request, call.body)

    def query_payment(self, reference: str, *, at: datetime | None = None) -> PaymentStatus:
        """The platform's view of one payment (``QUERY``); ``NotFoundError`` if unknown."""
        return self._core.query_result(self._send(self._core.query_call(reference, at)), reference)

    def get_receipt(
        self,
        reference: str,
        to_path: str | Path | None = None,
        *,
        at: datetime | None = None,
    ) -> EReceipt:
        """The e-receipt PDF (``GET_BILL``): in memory, or streamed to ``to_path``.

        A file is written to a temporary name next to ``to_path`` and renamed when the
        whole PDF has arrived, so a half-downloaded receipt never has the final name.
        A streamed download is not retried (the in-memory one is, like every query).
        """
        call = self._core.bill_call(reference, at)
        if to_path is None:
            reply = self._send(call)
            content = codec.parse_bill_reply(
                reply.status_code,
                reply.response.headers.get("content-type", ""),
                reply.content,
                reference,
            )
            return EReceipt(reference=reference, size=len(content), content=content)
        writer = _ReceiptWriter(Path(to_path), reference)
        try:
            with self._http.client.stream(
                "POST", call.path, json=call.body, headers=writer.headers
            ) as response:
                for chunk in response.iter_bytes(_CHUNK):
                    writer.feed(response, chunk)
                return writer.finish(response)
        except BaseException as exc:
            raise writer.abort(exc) from exc

    def reconcile(
        self,
        payments: Iterable[LocalPayment | dict[str, Any]],
        *,
        since: datetime | None = None,
        settle: Settle | None = None,
        on_progress: Progress | None = None,
    ) -> ReconcileReport:
        """Query each local payment and report where the platform disagrees.

        ``since`` skips payments created before it (those without ``created_at`` are
        always checked). ``settle(difference)`` is called for every difference — the
        vendor's hook to mark a payment paid, flag a refund, … — and a raising hook is
        reported in ``errors`` without stopping the run.
        """
        _since_check(since)
        report = ReconcileReport()
        for payment in self._core.select(payments, since, report):
            outcome: PaymentStatus | GovLinkError | None
            try:
                outcome = self.query_payment(payment.reference)
            except NotFoundError:
                outcome = None
            except GovLinkError as exc:
                outcome = exc
            difference = self._core.record(report, payment, outcome)
            if difference is not None and settle is not None:
                error: Exception | None = None
                try:
                    if inspect.isawaitable(settle(difference)):
                        raise TypeError("the settle hook is async: use AsyncPaymentClient")
                except Exception as exc:
                    error = exc
                _settled(report, payment.reference, error)
            if on_progress is not None:
                on_progress(payment, difference)
        return report

    def callback_verifier(
        self,
        lookup: Lookup,
        store: ProcessedCallbackStore | None = None,
        *,
        tolerance: timedelta | str | None = "default",
    ) -> CallbackVerifier:
        """A :class:`CallbackVerifier` with this deployment's partner code, secret and profile."""
        return self._core.callback_verifier(lookup, store, tolerance)

    def close(self) -> None:
        self._http.close()


class AsyncPaymentClient(AsyncClosable):
    """Asynchronous twin of :class:`PaymentClient` (same rules, same results)."""

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        settings = settings or GovLinkSettings.load()
        self._core = _PaymentCore(settings, clock)
        client = build_async_client(
            settings, "payments", transport=transport, auth=auth_for(settings, "payments")
        )
        self._http = AsyncHttpTransport(client, settings)

    @property
    def partner_code(self) -> str:
        return self._core.partner_code

    async def _send(self, call: _Call) -> Reply:
        return await self._http.request("POST", call.path, safe=call.safe, json=call.body)

    async def create_payment(
        self,
        amount: int,
        *,
        reference: str | None = None,
        description: str = "",
        receipt: ReceiptInfo | dict[str, Any] | None = None,
        callback_url: str | None = None,
        return_url: str | None = None,
        ip: str | None = None,
    ) -> PaymentCreated:
        """See :meth:`PaymentClient.create_payment`."""
        call, ref, request = self._core.init_call(
            amount,
            reference=reference,
            description=description,
            receipt=receipt,
            callback_url=callback_url,
            return_url=return_url,
            ip=ip,
        )
        return self._core.init_result(await self._send(call), ref, request, call.body)

    async def query_payment(self, reference: str, *, at: datetime | None = None) -> PaymentStatus:
        """See :meth:`PaymentClient.query_payment`."""
        reply = await self._send(self._core.query_call(reference, at))
        return self._core.query_result(reply, reference)

    async def get_receipt(
        self,
        reference: str,
        to_path: str | Path | None = None,
        *,
        at: datetime | None = None,
    ) -> EReceipt:
        """See :meth:`PaymentClient.get_receipt`."""
        call = self._core.bill_call(reference, at)
        if to_path is None:
            reply = await self._send(call)
            content = codec.parse_bill_reply(
                reply.status_code,
                reply.response.headers.get("content-type", ""),
                reply.content,
                reference,
            )
            return EReceipt(reference=reference, size=len(content), content=content)
        writer = _ReceiptWriter(Path(to_path), reference)
        try:
            async with self._http.client.stream(
                "POST", call.path, json=call.body, headers=writer.headers
            ) as response:
                async for chunk in response.aiter_bytes(_CHUNK):
                    writer.feed(response, chunk)
                return writer.finish(response)
        except BaseException as exc:
            raise writer.abort(exc) from exc

    async def reconcile(
        self,
        payments: Iterable[LocalPayment | dict[str, Any]],
        *,
        since: datetime | None = None,
        settle: Settle | None = None,
        on_progress: Progress | None = None,
        concurrency: int = 4,
    ) -> ReconcileReport:
        """See :meth:`PaymentClient.reconcile`; up to ``concurrency`` queries at once.

        The report lists differences in the order of ``payments``.
        """
        _since_check(since)
        report = ReconcileReport()
        chosen = iter(self._core.select(payments, since, report))
        window: deque[tuple[LocalPayment, asyncio.Task[PaymentStatus | GovLinkError | None]]]
        window = deque()

        async def fetch(payment: LocalPayment) -> PaymentStatus | GovLinkError | None:
            try:
                return await self.query_payment(payment.reference)
            except NotFoundError:
                return None
            except GovLinkError as exc:
                return exc

        def fill() -> None:
            # at most ``concurrency`` queries in flight, results taken in ledger order
            while len(window) < max(1, concurrency):
                payment = next(chosen, None)
                if payment is None:
                    return
                window.append((payment, asyncio.ensure_future(fetch(payment))))

        fill()
        try:
            while window:
                payment, task = window.popleft()
                outcome = await task
                fill()
                difference = self._core.record(report, payment, outcome)
                if difference is not None and settle is not None:
                    error: Exception | None = None
                    try:
                        result = settle(difference)
                        if inspect.isawaitable(result):
                            await result
                    except Exception as exc:
                        error = exc
                    _settled(report, payment.reference, error)
                if on_progress is not None:
                    on_progress(payment, difference)
        finally:
            for _payment, pending in window:
                pending.cancel()
        return report

    def callback_verifier(
        self,
        lookup: Lookup,
        store: ProcessedCallbackStore | None = None,
        *,
        tolerance: timedelta | str | None = "default",
    ) -> CallbackVerifier:
        """See :meth:`PaymentClient.callback_verifier` (use ``averify`` in async code)."""
        return self._core.callback_verifier(lookup, store, tolerance)

    async def aclose(self) -> None:
        await self._http.aclose()
