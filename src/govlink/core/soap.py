"""SOAP for platform clients: zeep (de)serialises, :mod:`govlink.core.http` carries.

Why not plain zeep: zeep's own transports bring their own sessions, so a SOAP call
would skip what every other govlink call gets (retries that never repeat an unsafe
request, a correlation id, evidence for auditors, masked logging). The transports
here are thin zeep transports that hand the envelope to
:class:`~govlink.core.http.HttpTransport` / :class:`~govlink.core.http.AsyncHttpTransport`.

Hardening, because a WSDL is code: WSDL and XSD files are loaded only from local
files shipped with govlink (:func:`load_wsdl` refuses any URL, and the operation
transports refuse to load documents at all), with DTDs, entities and external
references forbidden; each file is parsed once per process and the parsed
document is shared by every client (parsing costs far more than a call).

Usage (what a platform package does)::

    from govlink.core.soap import SoapClient, load_wsdl

    wsdl = load_wsdl(Path(__file__).parent / "wsdl" / "service.wsdl")
    soap = SoapClient(wsdl, http_transport, address="https://host/Service")
    result = soap.call("GetThing", safe=True, Id="42")   # SoapResult(value, evidence)

Faults become :class:`SoapFaultError` (a :class:`~govlink.core.errors.PlatformError`
keeping the fault code, text and detail) unless the client passes a
``fault_mapper`` that turns a :class:`SoapFault` into its own error classes.

zeep is imported by this module; ``import govlink`` never imports this module.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import zeep
import zeep.exceptions
from lxml import etree
from zeep.proxy import AsyncServiceProxy as _AsyncServiceProxy
from zeep.proxy import ServiceProxy as _ServiceProxy
from zeep.transports import AsyncTransport, Transport
from zeep.wsdl import Document as _Document

from govlink.core.errors import (
    AuthenticationError,
    GovLinkError,
    PlatformError,
    ValidationError,
)
from govlink.core.http import (
    AsyncHttpTransport,
    Evidence,
    HttpTransport,
    Reply,
    new_correlation_id,
)
from govlink.core.redact import redact_text

__all__ = [
    "SOAP_RETRY_STATUSES",
    "AsyncSoapClient",
    "AsyncSoapHttpTransport",
    "FaultMapper",
    "SoapAuthenticationError",
    "SoapClient",
    "SoapFault",
    "SoapFaultError",
    "SoapHttpTransport",
    "SoapResult",
    "WsdlError",
    "clear_wsdl_cache",
    "default_fault_mapper",
    "hardened_settings",
    "load_wsdl",
    "wsdl_load_count",
]

log = logging.getLogger("govlink.soap")

# SOAP 1.1 answers every fault with HTTP 500, so 500 means "the service said no",
# not "try again": retrying it would repeat a refused call three times.
SOAP_RETRY_STATUSES = frozenset({429, 502, 503, 504})


class WsdlError(GovLinkError):
    """A WSDL/XSD file is missing, malformed, or refers to a document we will not load."""


# zeep's functions are untyped; these aliases keep mypy --strict honest elsewhere.
Document: Any = _Document
ServiceProxy: Any = _ServiceProxy
AsyncServiceProxy: Any = _AsyncServiceProxy
ZeepClient: Any = zeep.Client
ZeepAsyncClient: Any = zeep.AsyncClient


def _serialize(envelope: etree._Element) -> bytes:
    """The envelope as sent: UTF-8 with an XML declaration (what zeep sends too)."""
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


# --------------------------------------------------------------------------- loading


def hardened_settings() -> zeep.Settings:
    """zeep settings for untrusted input: strict, no DTD, no entities, nothing external."""
    return zeep.Settings(
        strict=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )


class _LocalFileLoader(Transport):
    """The only transport that ever loads documents: local files under one directory.

    It refuses URLs of any scheme (a WSDL with an ``http://`` import would otherwise
    fetch it at run time) and paths that escape the WSDL's own directory.
    """

    def __init__(self, root: Path) -> None:
        # Deliberately not calling Transport.__init__: it opens a requests Session
        # that this loader must never use.
        self.root = root
        self.cache = None
        self.load_timeout = 0
        self.operation_timeout = None
        self.logger = log
        self._close_session = False

    def load(self, url: str) -> bytes:
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(parsed.path)
        elif parsed.scheme and len(parsed.scheme) > 1:  # one letter: a Windows drive
            raise WsdlError(
                f"the WSDL refers to {url!r}, a remote document",
                hint="ship every WSDL/XSD inside the package and refer to it by a relative "
                "schemaLocation; govlink never fetches schemas at run time",
            )
        else:
            path = Path(url)
        path = path.resolve()
        if not path.is_relative_to(self.root):
            raise WsdlError(
                f"the WSDL refers to {str(path)!r}, outside its directory {str(self.root)!r}",
                hint="keep imported schemas next to the WSDL file",
            )
        try:
            return path.read_bytes()
        except OSError as exc:
            raise WsdlError(
                f"cannot read schema file {str(path)!r}: {exc.strerror}",
                hint="reinstall govlink; the package data is incomplete",
            ) from None

    def get(self, address: str, params: Any, headers: Any) -> Any:
        raise WsdlError(f"refusing HTTP GET {address!r} while loading a WSDL")

    def post(self, address: str, message: Any, headers: Any) -> Any:
        raise WsdlError(f"refusing HTTP POST {address!r} while loading a WSDL")


_cache: dict[Path, Any] = {}
_load_counts: dict[Path, int] = {}
_cache_lock = threading.Lock()


def load_wsdl(path: str | Path) -> Any:
    """The parsed WSDL at ``path`` (a local file), parsed once per process and shared.

    Thread-safe: concurrent first calls parse the file once. Returns a
    ``zeep.wsdl.Document``.
    """
    resolved = Path(path).resolve()
    document = _cache.get(resolved)
    if document is not None:
        return document
    with _cache_lock:
        document = _cache.get(resolved)
        if document is None:
            document = _parse(resolved)
            _cache[resolved] = document
            _load_counts[resolved] = _load_counts.get(resolved, 0) + 1
    return document


def _parse(path: Path) -> Any:
    if not path.is_file():
        raise WsdlError(
            f"WSDL file {str(path)!r} does not exist",
            hint="reinstall govlink; the package data is incomplete",
        )
    try:
        return Document(
            str(path),
            _LocalFileLoader(path.parent),
            settings=hardened_settings(),
        )
    except GovLinkError:
        raise
    except (zeep.exceptions.Error, etree.LxmlError) as exc:
        raise WsdlError(
            f"WSDL {str(path)!r} cannot be parsed: {exc}",
            hint="the shipped schema is broken; report it",
        ) from exc


def wsdl_load_count(path: str | Path | None = None) -> int:
    """How many times a WSDL was parsed in this process (all of them if ``path`` is None).

    The benchmark and the tests assert this stays at one per file.
    """
    with _cache_lock:
        if path is None:
            return sum(_load_counts.values())
        return _load_counts.get(Path(path).resolve(), 0)


def clear_wsdl_cache() -> None:
    """Forget parsed WSDLs and counts (tests only; clients keep their documents)."""
    with _cache_lock:
        _cache.clear()
        _load_counts.clear()


# --------------------------------------------------------------------------- transports


class _Scope:
    """Per-call options read by the transports, and where they leave the reply."""

    __slots__ = ("correlation_id", "headers", "reply", "safe")

    def __init__(
        self, *, safe: bool, correlation_id: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.safe = safe
        self.correlation_id = correlation_id
        self.headers = headers
        self.reply: Reply | None = None


_scope: ContextVar[_Scope | None] = ContextVar("govlink_soap_scope", default=None)


def _request_kwargs(
    method: str,
    address: str,
    headers: Mapping[str, str] | None,
    *,
    default_safe: bool,
    **more: Any,
) -> tuple[_Scope | None, dict[str, Any]]:
    """What both transports hand to govlink's HTTP layer for one zeep request.

    A POST is retried as ``safe`` only when the call (or the transport) says so, and
    never on HTTP 500 (SOAP's fault status); a GET is a read.
    """
    scope = _scope.get()
    sent = dict(headers or {})
    if scope is not None and scope.headers:
        sent.update(scope.headers)
    kwargs: dict[str, Any] = {
        "method": method,
        "url": address,
        "safe": True if method == "GET" else (scope.safe if scope else default_safe),
        "correlation_id": scope.correlation_id if scope else None,
        "headers": sent,
        **more,
    }
    if method == "POST":
        kwargs["retry_statuses"] = SOAP_RETRY_STATUSES
    return scope, kwargs


def _keep(scope: _Scope | None, reply: Reply) -> httpx.Response:
    if scope is not None:
        scope.reply = reply
    return reply.response


def _refuse_load(url: str) -> bytes:
    raise WsdlError(
        f"refusing to load {url!r} at run time",
        hint="load WSDLs with govlink.core.soap.load_wsdl (local package files only)",
    )


class SoapHttpTransport(Transport):
    """A zeep transport that posts through :class:`~govlink.core.http.HttpTransport`.

    Usable on its own with ``zeep.Client(load_wsdl(path), transport=...)``; a POST
    is ``safe`` (retried on timeouts and 502-504) only when the caller says so, per
    call through :class:`SoapClient` or for every call with ``safe=True`` here (for
    services whose every operation is a read).
    """

    def __init__(self, http: HttpTransport, *, safe: bool = False) -> None:
        # Not calling Transport.__init__: it opens a requests Session we never use.
        self.http = http
        self.default_safe = safe
        self.cache = None
        self.load_timeout = 0
        self.operation_timeout = None
        self.logger = log
        self._close_session = False

    def post(self, address: str, message: bytes, headers: Mapping[str, str]) -> httpx.Response:
        scope, kwargs = _request_kwargs(
            "POST", address, headers, default_safe=self.default_safe, content=message
        )
        return _keep(scope, self.http.request(**kwargs))

    def post_xml(
        self, address: str, envelope: etree._Element, headers: Mapping[str, str]
    ) -> httpx.Response:
        return self.post(address, _serialize(envelope), headers)

    def get(self, address: str, params: Any, headers: Mapping[str, str]) -> httpx.Response:
        scope, kwargs = _request_kwargs("GET", address, headers, default_safe=True, params=params)
        return _keep(scope, self.http.request(**kwargs))

    def load(self, url: str) -> bytes:
        return _refuse_load(url)

    def close(self) -> None:
        self.http.close()


class AsyncSoapHttpTransport(AsyncTransport):
    """The async twin of :class:`SoapHttpTransport` (for ``zeep.AsyncClient``)."""

    def __init__(self, http: AsyncHttpTransport, *, safe: bool = False) -> None:
        # Not calling AsyncTransport.__init__: it builds two httpx clients we never use.
        self.http = http
        self.default_safe = safe
        self.cache = None
        self.load_timeout = 0
        self.operation_timeout = None
        self.logger = log
        self._close_session = False

    async def post(
        self, address: str, message: bytes, headers: Mapping[str, str]
    ) -> httpx.Response:
        scope, kwargs = _request_kwargs(
            "POST", address, headers, default_safe=self.default_safe, content=message
        )
        return _keep(scope, await self.http.request(**kwargs))

    async def post_xml(
        self, address: str, envelope: etree._Element, headers: Mapping[str, str]
    ) -> httpx.Response:
        # zeep's binding reads status_code, headers and content: an httpx.Response
        # has them all, no need for zeep's conversion to a requests.Response.
        return await self.post(address, _serialize(envelope), headers)

    async def get(self, address: str, params: Any, headers: Mapping[str, str]) -> httpx.Response:
        scope, kwargs = _request_kwargs("GET", address, headers, default_safe=True, params=params)
        return _keep(scope, await self.http.request(**kwargs))

    def load(self, url: str) -> bytes:
        return _refuse_load(url)

    async def aclose(self) -> None:
        await self.http.aclose()


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class SoapFault:
    """A SOAP fault as received: code, text, actor and the ``detail`` element.

    ``status_code`` is the HTTP status it came with (401/403 mean the gateway or
    the service refused the credentials), ``raw`` the reply body.
    """

    code: str | None
    message: str | None
    actor: str | None = None
    detail: etree._Element | None = None
    status_code: int | None = None
    raw: bytes = b""
    operation: str = ""
    correlation_id: str | None = None

    @property
    def local_code(self) -> str | None:
        """The fault code without its namespace prefix (``soap:Client`` → ``Client``)."""
        if self.code is None:
            return None
        return self.code.rsplit(":", 1)[-1].rsplit("}", 1)[-1]

    def detail_text(self, local_name: str) -> str | None:
        """Text of the first element named ``local_name`` (any namespace) in the detail."""
        if self.detail is None:
            return None
        for element in self.detail.iter():
            if isinstance(element.tag, str) and etree.QName(element).localname == local_name:
                text = element.text
                return text.strip() if text else text
        return None


class SoapFaultError(PlatformError):
    """A SOAP fault that no platform mapping claimed. ``fault`` keeps all of it."""

    def __init__(
        self,
        message: str,
        *,
        fault: SoapFault,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.fault = fault
        super().__init__(
            message,
            code=code if code is not None else fault.code,
            raw=fault.raw,
            status_code=fault.status_code,
            hint=hint,
            correlation_id=fault.correlation_id,
        )


class SoapAuthenticationError(AuthenticationError):
    """The service or its gateway refused the credentials (HTTP 401/403 or an auth fault)."""

    def __init__(
        self,
        message: str,
        *,
        fault: SoapFault | None = None,
        code: str | None = None,
        status_code: int | None = None,
        hint: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.fault = fault
        self.code = code if code is not None else (fault.code if fault else None)
        self.status_code = (
            status_code if status_code is not None else (fault.status_code if fault else None)
        )
        super().__init__(
            message,
            hint=hint or "check the credentials and auth style of this profile (govlink doctor)",
            correlation_id=correlation_id or (fault.correlation_id if fault else None),
        )


FaultMapper = Callable[[SoapFault], GovLinkError]
"""Turns a fault into the platform's own error (NotFoundError, …)."""


def default_fault_mapper(fault: SoapFault) -> GovLinkError:
    """401/403 → :class:`SoapAuthenticationError`; anything else → :class:`SoapFaultError`."""
    text = f"{fault.operation}: SOAP fault {fault.code}: {fault.message}"
    if fault.status_code in (401, 403):
        return SoapAuthenticationError(text, fault=fault)
    return SoapFaultError(text, fault=fault)


def _translate(
    exc: Exception,
    scope: _Scope,
    operation: str,
    mapper: FaultMapper,
) -> GovLinkError:
    """The one place zeep's exceptions become govlink errors (both shells use it)."""
    cid = scope.correlation_id
    reply = scope.reply
    status = reply.status_code if reply is not None else None
    raw = reply.content if reply is not None else b""
    if isinstance(exc, zeep.exceptions.Fault):
        detail = exc.detail if isinstance(exc.detail, etree._Element) else None
        fault = SoapFault(
            code=exc.code,
            message=exc.message,
            actor=exc.actor,
            detail=detail,
            status_code=status,
            raw=raw,
            operation=operation,
            correlation_id=cid,
        )
        error = mapper(fault)
        if error.correlation_id is None:
            error.correlation_id = cid
        return error
    if isinstance(exc, zeep.exceptions.ValidationError | TypeError) and reply is None:
        where = ".".join(str(p) for p in getattr(exc, "path", []) or []) or operation
        return ValidationError(
            where, f"parameters the {operation} operation accepts ({_one_line(str(exc))})"
        )
    if status in (401, 403):
        return SoapAuthenticationError(
            f"{operation}: HTTP {status} from the service",
            status_code=status,
            correlation_id=cid,
        )
    if isinstance(exc, zeep.exceptions.TransportError):
        hint = (
            "check the service URL and path in the profile"
            if status == 404
            else "the service answered something that is not SOAP; see the evidence"
        )
        return PlatformError(
            f"{operation}: HTTP {status} without a SOAP reply",
            code=str(status) if status is not None else None,
            raw=raw,
            status_code=status,
            hint=hint,
            correlation_id=cid,
        )
    return PlatformError(
        f"{operation}: reply does not match the WSDL ({type(exc).__name__}: "
        f"{_one_line(redact_text(str(exc)))[:300]})",
        raw=raw,
        status_code=status,
        hint="the service changed its contract or is misbehaving; keep the evidence",
        correlation_id=cid,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- clients


@dataclass(frozen=True)
class SoapResult:
    """An operation's value (zeep objects) with the evidence of the HTTP exchange."""

    value: Any
    evidence: Evidence | None = field(default=None)


def _select_binding(document: Any, service_name: str | None, port_name: str | None) -> Any:
    services = document.services
    if not services:
        raise WsdlError("the WSDL defines no service", hint="fix the shipped WSDL")
    service = services[service_name] if service_name else next(iter(services.values()))
    port = service.ports[port_name] if port_name else next(iter(service.ports.values()))
    return port


class _SoapClientBase:
    """What the two shells share: the document, the binding, the address, the mapping."""

    def __init__(
        self,
        wsdl: Any,
        *,
        address: str | None,
        service_name: str | None,
        port_name: str | None,
        fault_mapper: FaultMapper | None,
    ) -> None:
        self.document = wsdl if isinstance(wsdl, Document) else load_wsdl(wsdl)
        port = _select_binding(self.document, service_name, port_name)
        self.binding = port.binding
        self.address: str = address or port.binding_options["address"]
        self.fault_mapper: FaultMapper = fault_mapper or default_fault_mapper

    def _begin(
        self, safe: bool, correlation_id: str | None, headers: Mapping[str, str] | None
    ) -> tuple[_Scope, Any]:
        scope = _Scope(
            safe=safe, correlation_id=correlation_id or new_correlation_id(), headers=headers
        )
        return scope, _scope.set(scope)

    def _fail(self, exc: Exception, scope: _Scope, operation: str) -> GovLinkError:
        return _translate(exc, scope, operation, self.fault_mapper)


_TRANSLATED = (zeep.exceptions.Error, TypeError)


class SoapClient(_SoapClientBase):
    """Synchronous SOAP client over :class:`~govlink.core.http.HttpTransport`."""

    def __init__(
        self,
        wsdl: Any,
        http: HttpTransport,
        *,
        address: str | None = None,
        service_name: str | None = None,
        port_name: str | None = None,
        fault_mapper: FaultMapper | None = None,
    ) -> None:
        super().__init__(
            wsdl,
            address=address,
            service_name=service_name,
            port_name=port_name,
            fault_mapper=fault_mapper,
        )
        self.transport = SoapHttpTransport(http)
        self.zeep = ZeepClient(self.document, transport=self.transport, settings=_SETTINGS)
        self._service = ServiceProxy(self.zeep, self.binding, address=self.address)

    def call(
        self,
        operation: str,
        /,
        *,
        safe: bool,
        correlation_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> SoapResult:
        """Call ``operation`` with its parameters (zeep keyword arguments).

        ``safe=True`` for reads: retried on timeouts and HTTP 429/502/503/504.
        ``headers`` are extra HTTP headers for this call only.
        """
        scope, token = self._begin(safe, correlation_id, headers)
        try:
            value = self._service[operation](**params)
        except GovLinkError:
            raise
        except _TRANSLATED as exc:
            raise self._fail(exc, scope, operation) from exc
        finally:
            _scope.reset(token)
        return SoapResult(value, scope.reply.evidence if scope.reply else None)

    def message(self, operation: str, /, **params: Any) -> bytes:
        """The envelope ``call`` would send (for debugging and tests); nothing is sent."""
        return bytes(_serialize(self.zeep.create_message(self._service, operation, **params)))

    def close(self) -> None:
        self.transport.close()


class AsyncSoapClient(_SoapClientBase):
    """Asynchronous SOAP client over :class:`~govlink.core.http.AsyncHttpTransport`."""

    def __init__(
        self,
        wsdl: Any,
        http: AsyncHttpTransport,
        *,
        address: str | None = None,
        service_name: str | None = None,
        port_name: str | None = None,
        fault_mapper: FaultMapper | None = None,
    ) -> None:
        super().__init__(
            wsdl,
            address=address,
            service_name=service_name,
            port_name=port_name,
            fault_mapper=fault_mapper,
        )
        self.transport = AsyncSoapHttpTransport(http)
        self.zeep = ZeepAsyncClient(self.document, transport=self.transport, settings=_SETTINGS)
        self._service = AsyncServiceProxy(self.zeep, self.binding, address=self.address)

    async def call(
        self,
        operation: str,
        /,
        *,
        safe: bool,
        correlation_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> SoapResult:
        """Call ``operation`` with its parameters (zeep keyword arguments).

        ``safe=True`` for reads: retried on timeouts and HTTP 429/502/503/504.
        ``headers`` are extra HTTP headers for this call only.
        """
        scope, token = self._begin(safe, correlation_id, headers)
        try:
            value = await self._service[operation](**params)
        except GovLinkError:
            raise
        except _TRANSLATED as exc:
            raise self._fail(exc, scope, operation) from exc
        finally:
            _scope.reset(token)
        return SoapResult(value, scope.reply.evidence if scope.reply else None)

    def message(self, operation: str, /, **params: Any) -> bytes:
        """The envelope ``call`` would send (for debugging and tests); nothing is sent."""
        return bytes(_serialize(self.zeep.create_message(self._service, operation, **params)))

    async def aclose(self) -> None:
        await self.transport.aclose()


# One settings object for every client: zeep reads it on each reply (strict parsing,
# no DTD/entities/external references).
_SETTINGS = hardened_settings()
