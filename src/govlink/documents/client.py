"""``DocumentClient`` / ``AsyncDocumentClient``: thin shells over one core.

The variant — the axis REST API (``rest``, default) or a provincial gateway
(``gateway``) — comes from ``settings.documents.options["variant"]``.
Everything that is not I/O lives in :class:`_DocumentCore`: it turns each public
method into a *plan* for the core driver (:mod:`govlink.core.driver`) — each axis
operation becomes a ``Send`` step built by the variant's protocol and its reply is
parsed in the plan, signing and verification included — and the two shells only run
plans with :class:`~govlink.core.driver.Runner` or
:class:`~govlink.core.driver.AsyncRunner`, so the sync and async clients cannot drift
apart. Results carry the evidence of their call (``result.evidence``).

Settings used (``settings.documents``): ``base_url``; ``auth`` (``vdxp_hmac``:
``client_id`` = system id, ``client_secret`` = HMAC secret; the gateway variant
uses ``settings.gateway.auth`` for its token); ``paths``; ``options``:
``variant``, ``agency_code``, ``signing_key``, ``signing_cert``,
``signing_key_password``, ``signature_algorithm``, ``c14n``, ``signature_scope``,
``trust_store``, ``pinned_certs``, ``allow_sha1``, ``require_sender_match``,
``max_package_mb``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from govlink.core.auth import auth_for
from govlink.core.clock import Clock, SystemClock
from govlink.core.config import GovLinkSettings
from govlink.core.driver import AsyncRunner, Plan, Runner
from govlink.core.errors import ConfigurationError
from govlink.core.http import (
    AsyncHttpTransport,
    HttpTransport,
    build_async_client,
    build_client,
)
from govlink.core.lifecycle import AsyncClosable, Closable
from govlink.documents._gateway import GatewayProtocol
from govlink.documents._receive import ReceivedDocument, ReceiveReport, receive_plan
from govlink.documents._rest import TRANSPORT_STATES, Operation, RestProtocol, XroadSigner
from govlink.documents._signing import (
    PackageSigner,
    PackageVerifier,
    VerifiedEdxml,
    signer_from_settings,
    verifier_from_settings,
)
from govlink.documents.edxml._parse import kind_of, read_tree
from govlink.documents.edxml._validate import is_agency_code, validate_agency_code
from govlink.documents.edxml.models import EdxmlPackage, StaffInfo, StatusCode, StatusMessage
from govlink.documents.models import Agency, EdocSummary, SendResult, SentEdoc, SyncUnit
from govlink.documents.options import DocumentsOptions

__all__ = ["AsyncDocumentClient", "DocumentClient"]

T = TypeVar("T")
Callback = Callable[[ReceivedDocument], Any]
InvalidHook = Callable[[EdocSummary, Exception], Any]

VARIANTS = ("rest", "gateway")


class _DocumentCore:
    """Settings, protocol, signer, verifier and the plans both shells run."""

    def __init__(
        self,
        settings: GovLinkSettings,
        *,
        signer: PackageSigner | None = None,
        verifier: PackageVerifier | None = None,
        clock: Clock | None = None,
        agency_code: str | None = None,
    ) -> None:
        self.settings = settings
        self.platform = settings.platform("documents")
        options = DocumentsOptions.of(settings)
        self.options = options
        self.clock: Clock = clock or SystemClock()
        variant = options.variant
        self.variant = variant
        self.protocol: RestProtocol | GatewayProtocol
        if variant == "rest":
            self.protocol = RestProtocol(self.xroad_signer(), paths=self.platform.paths)
        else:
            self.protocol = GatewayProtocol(paths=self.platform.paths)
        self._signer = signer
        self._signer_loaded = signer is not None
        self._verifier = verifier
        self._verifier_loaded = verifier is not None
        code = agency_code or options.agency_code
        if code:
            validate_agency_code(str(code), "documents.options.agency_code")
        self._agency_code = str(code) if code else None

    # -- lazily built pieces (loading keys costs; a read-only user never needs them) --

    @property
    def signer(self) -> PackageSigner | None:
        if not self._signer_loaded:
            self._signer = signer_from_settings(self.settings)
            self._signer_loaded = True
        return self._signer

    @property
    def verifier(self) -> PackageVerifier | None:
        if not self._verifier_loaded:
            self._verifier = verifier_from_settings(self.settings, clock=self.clock)
            self._verifier_loaded = True
        return self._verifier

    @property
    def agency_code(self) -> str | None:
        """Who we are: ``options.agency_code``, else the signing certificate's agency,
        else the system id when it is an agency code."""
        if self._agency_code:
            return self._agency_code
        signer = self._signer if self._signer_loaded else None
        if signer is None and (self.options.signing_key or self.options.signing_cert):
            signer = self.signer
        if signer is not None and signer.agency_code:
            return signer.agency_code
        client_id = self.platform.auth.client_id
        return client_id if is_agency_code(client_id) else None

    def need_signer(self) -> PackageSigner:
        signer = self.signer
        if signer is None:
            raise ConfigurationError(
                "sending needs the agency's signing key and certificate",
                setting="GOVLINK_DOCUMENTS__OPTIONS__SIGNING_KEY",
                expected="PEM paths in documents.options.signing_key and signing_cert "
                "(test keys for the mock: govlink mock issue-cert AGENCY_CODE)",
            )
        return signer

    def need_verifier(self) -> PackageVerifier:
        verifier = self.verifier
        if verifier is None:
            raise ConfigurationError(
                "receiving needs a trust store (or pinned certificates) to verify senders",
                setting="GOVLINK_DOCUMENTS__OPTIONS__TRUST_STORE",
                expected="the PEM file of the CA(s) that issue agency certificates",
            )
        return verifier

    def need_agency(self) -> str:
        code = self.agency_code
        if code is None:
            raise ConfigurationError(
                "the agency code this client acts for is unknown",
                setting="GOVLINK_DOCUMENTS__OPTIONS__AGENCY_CODE",
                expected="your agency code, e.g. 000.00.00.H47",
            )
        return code

    # -- transports ---------------------------------------------------------------------

    def xroad_signer(self) -> XroadSigner | None:
        """The axis call signer (``vdxp_hmac``: system id + secret), if configured."""
        auth = self.platform.auth
        if auth.style != "vdxp_hmac":
            return None
        secret = auth.client_secret.get_secret_value() if auth.client_secret else ""
        if not auth.client_id or not secret:
            raise ConfigurationError(
                "the axis needs the system id and its HMAC secret",
                setting="GOVLINK_DOCUMENTS__AUTH__CLIENT_ID / __CLIENT_SECRET",
                expected="the system id and secret issued by the axis operator",
            )
        return XroadSigner(auth.client_id, secret, clock=self.clock)

    def auth(self) -> httpx.Auth | None:
        """HTTP-level auth: the gateway's token, or none (axis calls are signed per
        request by :class:`~govlink.documents._rest.XroadSigner`)."""
        auth = self.platform.auth
        if self.variant == "gateway":
            if auth.style in ("none", "vdxp_hmac"):
                return auth_for(self.settings, "gateway")
            return auth_for(self.settings, "documents")
        if auth.style == "vdxp_hmac":
            return None
        return auth_for(self.settings, "documents")

    def call(self, operation: Operation) -> Plan[Any]:
        """One axis operation as a sub-plan: the request, then the parsed reply."""
        request = self.protocol.build(operation)
        reply = yield request.send(safe=operation.safe)
        return self.protocol.parse(operation, reply.status_code, reply.headers, reply.content)

    # -- plans --------------------------------------------------------------------------

    def _content(
        self, message: EdxmlPackage | StatusMessage | bytes | Path, sign: bool
    ) -> tuple[bytes, str]:
        if isinstance(message, bytes | Path):
            data = message if isinstance(message, bytes) else message.read_bytes()
            streamed = read_tree(data)
            try:
                kind = kind_of(streamed.root)
            finally:
                streamed.close()
            return data, kind
        kind = "status" if isinstance(message, StatusMessage) else "edoc"
        if not sign:
            from govlink.documents.edxml._build import build_package, build_status

            if isinstance(message, StatusMessage):
                return build_status(message), kind
            return build_package(message), kind
        return self.need_signer().sign(message), kind

    def plan_send(
        self, message: EdxmlPackage | StatusMessage | bytes | Path, *, sign: bool = True
    ) -> Plan[SendResult]:
        content, kind = self._content(message, sign)
        sender: str | None
        if isinstance(message, EdxmlPackage):
            sender = message.sender
        elif isinstance(message, StatusMessage):
            sender = message.from_.organ_id if message.from_ else None
        else:
            sender = self.agency_code
        doc_id: str = yield from self.call(
            Operation("send", agency=sender, messagetype=kind, content=content)
        )
        return SendResult(doc_id=doc_id, messagetype=kind)

    def status_for(
        self,
        package: EdxmlPackage,
        code: StatusCode | str,
        *,
        description: str | None = None,
        staff: StaffInfo | None = None,
    ) -> StatusMessage:
        return StatusMessage.for_package(
            package,
            code,
            sender=self.need_agency(),
            description=description,
            staff=staff,
            timestamp=self.clock.now(),
        )

    def plan_received(self, messagetype: str) -> Plan[list[EdocSummary]]:
        result: list[EdocSummary] = yield from self.call(
            Operation("received", agency=self.agency_code, messagetype=messagetype)
        )
        return result

    def plan_sent(self, messagetype: str) -> Plan[list[SentEdoc]]:
        result: list[SentEdoc] = yield from self.call(
            Operation("sent", agency=self.agency_code, messagetype=messagetype)
        )
        return result

    def plan_fetch(
        self, doc_id: str, messagetype: str = "edoc", *, download: bool = False
    ) -> Plan[bytes]:
        content: bytes = yield from self.call(
            Operation(
                "download" if download else "get",
                agency=self.agency_code,
                messagetype=messagetype,
                doc_id=doc_id,
            )
        )
        return content

    def plan_get(self, doc_id: str, messagetype: str = "edoc") -> Plan[VerifiedEdxml]:
        verifier = self.need_verifier()
        content: bytes = yield from self.call(
            Operation("get", agency=self.agency_code, messagetype=messagetype, doc_id=doc_id)
        )
        return verifier.verify(content)

    def plan_state(self, doc_id: str, state: str, messagetype: str = "edoc") -> Plan[None]:
        if state not in TRANSPORT_STATES:
            raise ConfigurationError(
                f"unknown transport state {state!r}",
                setting="state",
                expected=", ".join(TRANSPORT_STATES),
            )
        yield from self.call(
            Operation(
                "update_state",
                agency=self.agency_code,
                messagetype=messagetype,
                doc_id=doc_id,
                state=state,
            )
        )
        return None

    def plan_agencies(self) -> Plan[list[Agency]]:
        result: list[Agency] = yield from self.call(Operation("agencies", agency=self.agency_code))
        return result

    def plan_register(
        self, code: str, name: str, parent: str | None, email: str | None
    ) -> Plan[Agency]:
        validate_agency_code(code, "code")
        if parent is not None:
            validate_agency_code(parent, "parent")
        # The vendor SDK's registerAgency body: {id, pcode, code, name, mail, mobile, fax}.
        data = {"id": "", "pcode": parent, "code": code, "name": name, "mail": email}
        result: Agency = yield from self.call(
            Operation("register", data={k: v for k, v in data.items() if v is not None})
        )
        return result

    def plan_delete_agency(self, code: str) -> Plan[None]:
        validate_agency_code(code, "code")
        yield from self.call(Operation("delete_agency", data={"AgencyCode": code}))
        return None

    def plan_sync_units(self) -> Plan[list[SyncUnit]]:
        result: list[SyncUnit] = yield from self.call(Operation("sync_units"))
        return result

    def plan_count(self, messagetype: str, *, statuses: bool = False) -> Plan[int]:
        result: int = yield from self.call(
            Operation(
                "count_status" if statuses else "count",
                agency=self.agency_code,
                messagetype=messagetype,
            )
        )
        return result

    def plan_receive(
        self,
        callback: Callback,
        on_invalid: InvalidHook | None,
        *,
        messagetype: str,
        limit: int | None,
        acknowledge: bool,
        reject_invalid: bool,
    ) -> Plan[ReceiveReport]:
        verifier = self.need_verifier()
        arrived = None
        if acknowledge and messagetype == "edoc":
            signer = self.need_signer()

            def arrived(verified: VerifiedEdxml) -> bytes:
                assert verified.package is not None
                status = self.status_for(verified.package, StatusCode.ARRIVED)
                return signer.sign(status)

        return receive_plan(
            call=self.call,
            callback=callback,
            on_invalid=on_invalid,
            agency=self.agency_code,
            messagetype=messagetype,
            verify=verifier.verify,
            arrived_status=arrived,
            limit=limit,
            acknowledge=acknowledge,
            reject_invalid=reject_invalid,
        )


class _ShellBase:
    _core: _DocumentCore

    @property
    def settings(self) -> GovLinkSettings:
        return self._core.settings

    @property
    def variant(self) -> str:
        return self._core.variant

    @property
    def agency_code(self) -> str | None:
        return self._core.agency_code

    @property
    def signer(self) -> PackageSigner | None:
        return self._core.signer

    @property
    def verifier(self) -> PackageVerifier | None:
        return self._core.verifier

    def status_message(
        self,
        package: EdxmlPackage | ReceivedDocument | VerifiedEdxml,
        code: StatusCode | str,
        *,
        description: str | None = None,
        staff: StaffInfo | None = None,
    ) -> StatusMessage:
        """The status message this agency reports about ``package`` (not sent)."""
        return self._core.status_for(
            _package_of(package), code, description=description, staff=staff
        )

    def verify(self, content: bytes | Path) -> VerifiedEdxml:
        """Verify a package or status message held locally (no network)."""
        return self._core.need_verifier().verify(content)


def _package_of(value: EdxmlPackage | ReceivedDocument | VerifiedEdxml) -> EdxmlPackage:
    package = value if isinstance(value, EdxmlPackage) else value.package
    if package is None:
        raise ConfigurationError(
            "a status can only be reported about a document package, not a status message",
            setting="package",
            expected="the received document package",
        )
    return package


class DocumentClient(_ShellBase, Closable):
    """Synchronous document-exchange client (axis REST or a provincial gateway).

    ``with DocumentClient(settings) as client:`` — ``send(package)``,
    ``received()``, ``get(doc_id)``, ``receive(callback)``,
    ``send_status(document, "03")``, ``sent()``, ``agencies()``.
    """

    def __init__(
        self,
        settings: GovLinkSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        signer: PackageSigner | None = None,
        verifier: PackageVerifier | None = None,
        clock: Clock | None = None,
        agency_code: str | None = None,
    ) -> None:
        self._core = _DocumentCore(
            settings, signer=signer, verifier=verifier, clock=clock, agency_code=agency_code
        )
        client = build_client(settings, "documents", transport=transport, auth=self._core.auth())
        self._http = HttpTransport(client, settings)
        self._runner = Runner(self._http)

    def _run(self, plan: Plan[T]) -> T:
        return self._runner.run(plan)

    # -- sending ------------------------------------------------------------------------

    def send(
        self, message: EdxmlPackage | StatusMessage | bytes | Path, *, sign: bool = True
    ) -> SendResult:
        """Sign (unless ``sign=False`` or already bytes) and send a package or status."""
        return self._run(self._core.plan_send(message, sign=sign))

    def send_status(
        self,
        about: EdxmlPackage | ReceivedDocument | VerifiedEdxml,
        code: StatusCode | str,
        *,
        description: str | None = None,
        staff: StaffInfo | None = None,
    ) -> SendResult:
        """Report status ``code`` (03 received, 04 assigned, 05 in progress, 06
        completed, 02 rejected…) about a received document to its sender."""
        status = self.status_message(about, code, description=description, staff=staff)
        return self.send(status)

    # -- reading ------------------------------------------------------------------------

    def received(self, *, messagetype: str = "edoc") -> list[EdocSummary]:
        """Messages waiting for us (``edoc`` packages or ``status`` messages)."""
        return self._run(self._core.plan_received(messagetype))

    def sent(self, *, messagetype: str = "edoc") -> list[SentEdoc]:
        """What we sent: one entry per document and recipient, with the latest
        status that recipient reported (``receive_status``)."""
        return self._run(self._core.plan_sent(messagetype))

    def count(self, *, messagetype: str = "edoc") -> int:
        """How many documents wait for us (``countReceiveEdoc``)."""
        return self._run(self._core.plan_count(messagetype))

    def count_statuses(self) -> int:
        """How many status messages wait for us (``countReceiveStatus``)."""
        return self._run(self._core.plan_count("status", statuses=True))

    def fetch(self, doc_id: str, *, messagetype: str = "edoc", download: bool = False) -> bytes:
        """The raw message as delivered — NOT verified (see :meth:`get`).
        ``download=True`` uses ``GET /downloadEdoc`` (bytes) instead of ``getEdoc``."""
        return self._run(self._core.plan_fetch(doc_id, messagetype, download=download))

    def get(self, doc_id: str, *, messagetype: str = "edoc") -> VerifiedEdxml:
        """Fetch and verify; :class:`~govlink.core.errors.SignatureError` if it fails."""
        return self._run(self._core.plan_get(doc_id, messagetype))

    def acknowledge(self, doc_id: str, *, state: str = "done", messagetype: str = "edoc") -> None:
        """Set our transport state of a received message (``done``, ``fail``)."""
        self._run(self._core.plan_state(doc_id, state, messagetype))

    def receive(
        self,
        callback: Callable[[ReceivedDocument], Any],
        *,
        messagetype: str = "edoc",
        limit: int | None = None,
        acknowledge: bool = True,
        reject_invalid: bool = False,
        on_invalid: InvalidHook | None = None,
    ) -> ReceiveReport:
        """One pass of the receive loop (see :mod:`govlink.documents._receive`)."""

        def plain(document: ReceivedDocument) -> Any:
            result = callback(document)
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError("DocumentClient.receive needs a plain function")
            return result

        plan = self._core.plan_receive(
            plain,
            on_invalid,
            messagetype=messagetype,
            limit=limit,
            acknowledge=acknowledge,
            reject_invalid=reject_invalid,
        )
        return self._run(plan)

    # -- agencies -----------------------------------------------------------------------

    def agencies(self) -> list[Agency]:
        return self._run(self._core.plan_agencies())

    def register_agency(
        self, code: str, name: str, *, parent: str | None = None, email: str | None = None
    ) -> Agency:
        return self._run(self._core.plan_register(code, name, parent, email))

    def delete_agency(self, code: str) -> None:
        """Unregister one of this system's agencies (``deleteAgency``)."""
        self._run(self._core.plan_delete_agency(code))

    def sync_units(self) -> list[SyncUnit]:
        """The axis's unit directory (``getSynchronizeUnit``)."""
        return self._run(self._core.plan_sync_units())

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()


class AsyncDocumentClient(_ShellBase, AsyncClosable):
    """Asynchronous twin of :class:`DocumentClient` (same plans, awaited I/O)."""

    def __init__(
        self,
        settings: GovLinkSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        signer: PackageSigner | None = None,
        verifier: PackageVerifier | None = None,
        clock: Clock | None = None,
        agency_code: str | None = None,
    ) -> None:
        self._core = _DocumentCore(
            settings, signer=signer, verifier=verifier, clock=clock, agency_code=agency_code
        )
        client = build_async_client(
            settings, "documents", transport=transport, auth=self._core.auth()
        )
        self._http = AsyncHttpTransport(client, settings)
        self._runner = AsyncRunner(self._http)

    async def _run(self, plan: Plan[T]) -> T:
        return await self._runner.run(plan)

    async def send(
        self, message: EdxmlPackage | StatusMessage | bytes | Path, *, sign: bool = True
    ) -> SendResult:
        return await self._run(self._core.plan_send(message, sign=sign))

    async def send_status(
        self,
        about: EdxmlPackage | ReceivedDocument | VerifiedEdxml,
        code: StatusCode | str,
        *,
        description: str | None = None,
        staff: StaffInfo | None = None,
    ) -> SendResult:
        status = self.status_message(about, code, description=description, staff=staff)
        return await self.send(status)

    async def received(self, *, messagetype: str = "edoc") -> list[EdocSummary]:
        return await self._run(self._core.plan_received(messagetype))

    async def sent(self, *, messagetype: str = "edoc") -> list[SentEdoc]:
        return await self._run(self._core.plan_sent(messagetype))

    async def count(self, *, messagetype: str = "edoc") -> int:
        return await self._run(self._core.plan_count(messagetype))

    async def count_statuses(self) -> int:
        return await self._run(self._core.plan_count("status", statuses=True))

    async def fetch(
        self, doc_id: str, *, messagetype: str = "edoc", download: bool = False
    ) -> bytes:
        return await self._run(self._core.plan_fetch(doc_id, messagetype, download=download))

    async def get(self, doc_id: str, *, messagetype: str = "edoc") -> VerifiedEdxml:
        return await self._run(self._core.plan_get(doc_id, messagetype))

    async def acknowledge(
        self, doc_id: str, *, state: str = "done", messagetype: str = "edoc"
    ) -> None:
        await self._run(self._core.plan_state(doc_id, state, messagetype))

    async def receive(
        self,
        callback: Callable[[ReceivedDocument], Awaitable[Any] | Any],
        *,
        messagetype: str = "edoc",
        limit: int | None = None,
        acknowledge: bool = True,
        reject_invalid: bool = False,
        on_invalid: InvalidHook | None = None,
    ) -> ReceiveReport:
        plan = self._core.plan_receive(
            callback,
            on_invalid,
            messagetype=messagetype,
            limit=limit,
            acknowledge=acknowledge,
            reject_invalid=reject_invalid,
        )
        return await self._run(plan)

    async def agencies(self) -> list[Agency]:
        return await self._run(self._core.plan_agencies())

    async def register_agency(
        self, code: str, name: str, *, parent: str | None = None, email: str | None = None
    ) -> Agency:
        return await self._run(self._core.plan_register(code, name, parent, email))

    async def delete_agency(self, code: str) -> None:
        await self._run(self._core.plan_delete_agency(code))

    async def sync_units(self) -> list[SyncUnit]:
        return await self._run(self._core.plan_sync_units())

    async def aclose(self) -> None:
        await self._http.aclose()
