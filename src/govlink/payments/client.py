"""Payment clients: each call written once as a plan, run by the core driver.

:class:`PaymentPlans` reads the settings once and turns every call into a sans-I/O
plan (:mod:`govlink.core.driver`): build the message, ``Send`` it (or ``Stream`` the
receipt into a file), parse the reply. :class:`PaymentClient` runs the plans with the
blocking :class:`~govlink.core.driver.Runner`, :class:`AsyncPaymentClient` with the
:class:`~govlink.core.driver.AsyncRunner`; both attach the call's evidence
(correlation id, timing, masked exchanges) to every result and error.

Settings used (``settings.payments``):

* ``base_url``; ``paths`` ``init``, ``query``, ``get_bill`` (default ``/api`` each: the
  platform takes one JSON endpoint that dispatches on ``LoaiBanTin``; deployments that
  publish one URL per message set them separately) and ``pay`` / ``detail`` for the
  legacy profile;
* the partner code ``MaDoiTac`` and secret: ``options.partner_code`` / ``options.secret``
  if set, else ``auth.client_id`` / ``auth.client_secret``;
* ``options`` (:class:`~govlink.payments.options.PaymentsOptions`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from govlink.core.auth import auth_for
from govlink.core.clock import Clock, SystemClock, format_compact
from govlink.core.config import GovLinkSettings, resolve_reference
from govlink.core.driver import AsyncRunner, Plan, Runner, Send, Stream
from govlink.core.errors import ConfigurationError, GovLinkError, NotFoundError, ValidationError
from govlink.core.http import (
    AsyncHttpTransport,
    FileSink,
    HttpTransport,
    build_async_client,
    build_client,
)
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.payments import _codec as codec
from govlink.payments._callbacks import (
    CallbackVerifier,
    Lookup,
    ProcessedCallbackStore,
    discard_awaitable,
)
from govlink.payments._checksum import ChecksumProfile, MessageKind
from govlink.payments._pull import PaymentPullHandler, PullLookup
from govlink.payments.models import (
    DifferenceKind,
    EReceipt,
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

__all__ = ["AsyncPaymentClient", "PaymentClient", "PaymentPlans", "compare"]

log = logging.getLogger("govlink.payments")

DEFAULT_PATH = "/api"
Settle = Callable[[ReconcileDifference], "Awaitable[None] | None"]
Progress = Callable[[LocalPayment, "ReconcileDifference | None"], None]
OriginalTime = datetime | str | None


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

    amounts_differ = remote_amount is not None and remote_amount != local.amount
    if there is PaymentState.PAID:
        if here is not PaymentState.PAID:
            return diff(DifferenceKind.PAID_THERE_PENDING_HERE)
        return diff(DifferenceKind.AMOUNT_MISMATCH) if amounts_differ else None
    if here is PaymentState.PAID:
        return diff(DifferenceKind.PAID_HERE_NOT_THERE)
    if here is PaymentState.PENDING:
        if remote is None:
            return diff(DifferenceKind.UNKNOWN_THERE)
        if there in (PaymentState.FAILED, PaymentState.CANCELLED):
            return diff(DifferenceKind.CLOSED_THERE_OPEN_HERE)
        if there is PaymentState.PENDING and amounts_differ:
            return diff(DifferenceKind.AMOUNT_MISMATCH)
    return None


def _ledger_difference(
    rows: list[LocalPayment], remote: PaymentStatus | None
) -> ReconcileDifference | None:
    """A reference on more than one ledger row: booked paid twice, or duplicated."""
    if len(rows) < 2:
        return None
    paid = [row for row in rows if row.status is PaymentState.PAID]
    first = paid[0] if paid else rows[0]
    return ReconcileDifference(
        reference=first.reference,
        kind=DifferenceKind.PAID_TWICE_HERE if len(paid) > 1 else DifferenceKind.DUPLICATE_ROWS,
        local_state=first.status,
        remote_state=remote.state if remote is not None else PaymentState.UNKNOWN,
        local_amount=first.amount,
        remote_amount=remote.amount if remote is not None else None,
        transaction_id=remote.transaction_id if remote is not None else None,
        remote=remote,
        ledger_rows=len(rows),
    )


class PaymentPlans:
    """Everything both clients share: settings, and one plan per operation."""

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

    def create(
        self,
        amount: int,
        *,
        reference: str | None,
        description: str,
        receipt: ReceiptInfo | dict[str, Any] | None,
        callback_url: str | None,
        return_url: str | None,
        ip: str | None,
    ) -> Plan[PaymentCreated]:
        """INIT (or the legacy PAY): never retried once it may have arrived."""
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
            reply = yield Send("POST", self.path("pay"), safe=False, json=body)
            url = codec.parse_legacy_pay_reply(reply.status_code, reply.content)
            return PaymentCreated(url=url, reference=reference, request=body)
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
        reply = yield Send("POST", self.path("init"), safe=False, json=request.to_wire())
        url = codec.parse_init_reply(reply.status_code, reply.content)
        log.info("payment %s created [correlation id %s]", reference, reply.correlation_id)
        return PaymentCreated(url=url, reference=reference, request=request)

    # ---------------------------------------------------------------- QUERY / GET_BILL

    def _lookup(self, kind: MessageKind, reference: str, at: OriginalTime) -> dict[str, Any]:
        if at is None:
            log.debug(
                "%s %s without the payment's ThoiGianGD: sending the current time", kind, reference
            )
        return codec.build_lookup(
            kind,
            partner_code=self.partner_code,
            secret=self._secret,
            reference=reference,
            when=at if at is not None else self.clock.now(),
        )

    def query(self, reference: str, at: OriginalTime = None) -> Plan[PaymentStatus]:
        """QUERY (the legacy profile's detail query); safe, so retried."""
        if self.profile is ChecksumProfile.LEGACY:
            body = codec.build_legacy_detail(
                client_id=self.partner_code,
                key=self._secret,
                transaction_id=reference,
                command=self.options.legacy_detail_command,
            )
            reply = yield Send("POST", self.path("detail"), safe=True, json=body)
            return codec.parse_legacy_detail_reply(
                reply.status_code,
                reply.content,
                reference=reference,
                partner_code=self.partner_code,
            )
        body = self._lookup(MessageKind.QUERY, reference, at)
        reply = yield Send("POST", self.path("query"), safe=True, json=body)
        return codec.parse_query_reply(
            reply.status_code,
            reply.content,
            reference=reference,
            secret=self._secret,
            verify_checksum=self.options.verify_replies,
        )

    def _dvcqg_only(self, what: str) -> None:
        if self.profile is not ChecksumProfile.DVCQG:
            raise ConfigurationError(
                f"{what} is not available with the legacy payments profile",
                setting="GOVLINK_PAYMENTS__OPTIONS__PROFILE",
                expected="dvcqg (the DVCQG PaymentPlatform) to download e-receipts",
            )

    def receipt(
        self, reference: str, to_path: str | Path | None, at: OriginalTime = None
    ) -> Plan[EReceipt]:
        """GET_BILL: the PDF in memory, or streamed through the transport to a file."""
        self._dvcqg_only("GET_BILL")
        request = Send(
            "POST",
            self.path("get_bill"),
            safe=True,
            json=self._lookup(MessageKind.GET_BILL, reference, at),
        )
        if to_path is None:
            reply = yield request
            content = codec.parse_bill_reply(
                reply.status_code, reply.headers.get("content-type", ""), reply.content, reference
            )
            return EReceipt(reference=reference, size=len(content), content=content)

        def check(status_code: int, headers: httpx.Headers, head: bytes) -> None:
            codec.check_bill_head(status_code, headers.get("content-type", ""), head, reference)

        target = Path(to_path)
        streamed = yield Stream(request, FileSink(target, check=check))
        return EReceipt(
            reference=reference,
            size=streamed.size,
            content_type=streamed.headers.get("content-type", "application/pdf"),
            path=target,
        )

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
            message_type=self.options.callback_message_type,
            reply_checksum=self.options.reply_checksum,
        )

    def pull_handler(self, lookup: PullLookup) -> PaymentPullHandler:
        return PaymentPullHandler(
            self._secret, lookup, partner_code=self.partner_code, clock=self.clock
        )

    # ---------------------------------------------------------------- reconcile

    @staticmethod
    def select(
        payments: Iterable[LocalPayment | dict[str, Any]],
        since: datetime | None,
        report: ReconcileReport,
    ) -> list[list[LocalPayment]]:
        """The ledger rows to check, grouped by reference (first-seen order)."""
        if since is not None and since.tzinfo is None:
            raise ValidationError("since", "an aware datetime (with a time zone)", got=str(since))
        groups: dict[str, list[LocalPayment]] = {}
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
            groups.setdefault(payment.reference, []).append(payment)
        return list(groups.values())

    def check(self, rows: list[LocalPayment]) -> Plan[PaymentStatus | GovLinkError | None]:
        """QUERY one reference for reconcile: unknown is None, a failure is returned."""
        first = rows[0]
        at = format_compact(first.created_at) if first.created_at is not None else None
        try:
            return (yield from self.query(first.reference, at))
        except NotFoundError:
            return None
        except GovLinkError as exc:
            return exc

    @staticmethod
    def record(
        report: ReconcileReport,
        rows: list[LocalPayment],
        outcome: PaymentStatus | GovLinkError | None,
    ) -> ReconcileDifference | None:
        """Book one reference's outcome; the difference to settle (at most one)."""
        report.checked += len(rows)
        reference = rows[0].reference
        if isinstance(outcome, GovLinkError):
            report.errors.append(ReconcileProblem(reference, str(outcome)))
            return None
        ledger = _ledger_difference(rows, outcome)
        if outcome is not None and outcome.state is PaymentState.UNKNOWN:
            code = outcome.status.value if outcome.status is not None else "missing"
            report.errors.append(
                ReconcileProblem(reference, f"the platform reports an unknown TrangThaiGD ({code})")
            )
            difference = None
        else:
            paid = [row for row in rows if row.status is PaymentState.PAID]
            difference = compare(paid[0] if paid else rows[0], outcome)
        found = [d for d in (difference, ledger) if d is not None]
        report.differences.extend(found)
        return found[0] if found else None


def _settled(report: ReconcileReport, reference: str, error: Exception | None) -> None:
    if error is None:
        report.settled.append(reference)
    else:
        report.errors.append(ReconcileProblem(reference, f"settle failed: {error}"))


def _check_concurrency(concurrency: int) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError("concurrency", "a whole number >= 1", got=concurrency)


class _PaymentHelpers:
    """What both clients offer without I/O: written once, shared by both."""

    _plans: PaymentPlans

    def callback_verifier(
        self,
        lookup: Lookup,
        store: ProcessedCallbackStore | None = None,
        *,
        tolerance: timedelta | str | None = "default",
    ) -> CallbackVerifier:
        """A :class:`CallbackVerifier` with this deployment's partner code, secret and
        profile (``verify`` in sync code, ``averify`` in async code)."""
        return self._plans.callback_verifier(lookup, store, tolerance)

    def pull_handler(self, lookup: PullLookup) -> PaymentPullHandler:
        """A :class:`~govlink.payments._pull.PaymentPullHandler` answering the portal's
        pull of a dossier's payments (by ``MaHoSo``) with this deployment's secret."""
        return self._plans.pull_handler(lookup)


class PaymentClient(_PaymentHelpers, Closable):
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
        self._plans = PaymentPlans(settings, clock)
        client = build_client(
            settings, "payments", transport=transport, auth=auth_for(settings, "payments")
        )
        self._http = HttpTransport(client, settings)
        self._runner = Runner(self._http)

    @property
    def partner_code(self) -> str:
        return self._plans.partner_code

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
        """Create a payment (``INIT``); redirect the payer to ``.url``, keep ``.reference``
        and ``.transaction_time`` (QUERY and GET_BILL send it back).

        ``amount`` is whole VND (int). Inputs are checked before anything is sent
        (:class:`~govlink.ValidationError`). INIT is not retried after a timeout:
        query the reference instead of creating it twice.
        """
        return self._runner.run(
            self._plans.create(
                amount,
                reference=reference,
                description=description,
                receipt=receipt,
                callback_url=callback_url,
                return_url=return_url,
                ip=ip,
            )
        )

    def query_payment(self, reference: str, *, at: OriginalTime = None) -> PaymentStatus:
        """The platform's view of one payment (``QUERY``); ``NotFoundError`` if unknown.

        ``at``: the payment's own ``ThoiGianGD`` (``PaymentCreated.transaction_time``,
        or its datetime), which the platform expects back; the current time if omitted.
        """
        return self._runner.run(self._plans.query(reference, at))

    def get_receipt(
        self,
        reference: str,
        to_path: str | Path | None = None,
        *,
        at: OriginalTime = None,
    ) -> EReceipt:
        """The e-receipt PDF (``GET_BILL``): in memory, or streamed to ``to_path``.

        A file is written to a temporary name next to ``to_path`` and renamed when the
        whole PDF has arrived, so a half-downloaded receipt never has the final name.
        Both ways go through the transport: retried like every query, size-capped,
        masked in the evidence.
        """
        return self._runner.run(self._plans.receipt(reference, to_path, at))

    def reconcile(
        self,
        payments: Iterable[LocalPayment | dict[str, Any]],
        *,
        since: datetime | None = None,
        settle: Settle | None = None,
        on_progress: Progress | None = None,
        concurrency: int = 4,
    ) -> ReconcileReport:
        """Query each referenced payment once and report where the platform disagrees.

        ``since`` skips payments created before it (those without ``created_at`` are
        always checked). Duplicate ledger rows and a reference booked paid twice are
        reported too. ``settle(difference)`` is called once per reference that differs
        — the vendor's hook to mark a payment paid, flag a refund, … — and a raising
        hook is reported in ``errors`` without stopping the run. Up to ``concurrency``
        queries are in flight at once (threads); the report, ``settle`` and
        ``on_progress`` follow the order of ``payments``, in the calling thread.
        """
        _check_concurrency(concurrency)
        report = ReconcileReport()
        chosen = iter(self._plans.select(payments, since, report))
        Outcome = PaymentStatus | GovLinkError | None
        window: deque[tuple[list[LocalPayment], Future[Outcome]]] = deque()

        def check(rows: list[LocalPayment]) -> Outcome:
            result: Outcome = self._runner.run(self._plans.check(rows))
            return result

        with ThreadPoolExecutor(concurrency, thread_name_prefix="govlink-reconcile") as pool:

            def fill() -> None:
                while len(window) < concurrency:
                    rows = next(chosen, None)
                    if rows is None:
                        return
                    window.append((rows, pool.submit(check, rows)))

            fill()
            while window:
                rows, pending = window.popleft()
                outcome = pending.result()
                fill()
                self._settle_one(report, rows, outcome, settle, on_progress)
        return report

    @staticmethod
    def _settle_one(
        report: ReconcileReport,
        rows: list[LocalPayment],
        outcome: PaymentStatus | GovLinkError | None,
        settle: Settle | None,
        on_progress: Progress | None,
    ) -> None:
        difference = PaymentPlans.record(report, rows, outcome)
        if difference is not None and settle is not None:
            error: Exception | None = None
            try:
                if inspect.isawaitable(result := settle(difference)):
                    discard_awaitable(result)
                    raise TypeError("the settle hook is async: use AsyncPaymentClient")
            except Exception as exc:
                error = exc
            _settled(report, difference.reference, error)
        if on_progress is not None:
            for row in rows:
                on_progress(row, difference)

    def close(self) -> None:
        self._http.close()


class AsyncPaymentClient(_PaymentHelpers, AsyncClosable):
    """Asynchronous twin of :class:`PaymentClient` (same plans, same results)."""

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        settings = settings or GovLinkSettings.load()
        self._plans = PaymentPlans(settings, clock)
        client = build_async_client(
            settings, "payments", transport=transport, auth=auth_for(settings, "payments")
        )
        self._http = AsyncHttpTransport(client, settings)
        self._runner = AsyncRunner(self._http)

    @property
    def partner_code(self) -> str:
        return self._plans.partner_code

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
        return await self._runner.run(
            self._plans.create(
                amount,
                reference=reference,
                description=description,
                receipt=receipt,
                callback_url=callback_url,
                return_url=return_url,
                ip=ip,
            )
        )

    async def query_payment(self, reference: str, *, at: OriginalTime = None) -> PaymentStatus:
        """See :meth:`PaymentClient.query_payment`."""
        return await self._runner.run(self._plans.query(reference, at))

    async def get_receipt(
        self,
        reference: str,
        to_path: str | Path | None = None,
        *,
        at: OriginalTime = None,
    ) -> EReceipt:
        """See :meth:`PaymentClient.get_receipt`."""
        return await self._runner.run(self._plans.receipt(reference, to_path, at))

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
        _check_concurrency(concurrency)
        report = ReconcileReport()
        chosen = iter(self._plans.select(payments, since, report))
        Outcome = PaymentStatus | GovLinkError | None
        window: deque[tuple[list[LocalPayment], asyncio.Task[Outcome]]] = deque()

        async def fetch(rows: list[LocalPayment]) -> Outcome:
            return await self._runner.run(self._plans.check(rows))

        def fill() -> None:
            # at most ``concurrency`` queries in flight, results taken in ledger order
            while len(window) < concurrency:
                rows = next(chosen, None)
                if rows is None:
                    return
                window.append((rows, asyncio.ensure_future(fetch(rows))))

        fill()
        try:
            while window:
                rows, task = window.popleft()
                outcome = await task
                fill()
                difference = PaymentPlans.record(report, rows, outcome)
                if difference is not None and settle is not None:
                    error: Exception | None = None
                    try:
                        result = settle(difference)
                        if inspect.isawaitable(result):
                            await result
                    except Exception as exc:
                        error = exc
                    _settled(report, difference.reference, error)
                if on_progress is not None:
                    for row in rows:
                        on_progress(row, difference)
        finally:
            for _rows, pending in window:
                pending.cancel()
        return report

    async def aclose(self) -> None:
        await self._http.aclose()
