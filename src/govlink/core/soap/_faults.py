"""SOAP faults: what a fault says, and how it becomes a govlink error.

:class:`SoapFault` keeps a fault as received (code, text, actor, ``detail``, HTTP
status, raw reply); :func:`default_fault_mapper` turns it into
:class:`SoapAuthenticationError` (HTTP 401/403) or :class:`SoapFaultError`, and a
platform passes its own mapper to raise its own classes (``NotFoundError`` …).
:func:`fault_from_element` reads a fault parsed by govlink's hardened parser (for
clients that read replies without zeep); :func:`translate` is where zeep's exceptions
become govlink errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import zeep.exceptions
from lxml import etree

from govlink.core.errors import AuthenticationError, GovLinkError, PlatformError, ValidationError
from govlink.core.redact import redact_text
from govlink.core.soap._transport import Scope

__all__ = [
    "FaultMapper",
    "SoapAuthenticationError",
    "SoapFault",
    "SoapFaultError",
    "default_fault_mapper",
    "fault_from_element",
    "not_soap_error",
    "translate",
]


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


def fault_from_element(
    fault: etree._Element,
    *,
    status_code: int | None = None,
    raw: bytes = b"",
    operation: str = "",
    correlation_id: str | None = None,
) -> SoapFault:
    """A SOAP 1.1 ``Fault`` element (already parsed by the hardened parser) as a
    :class:`SoapFault`; children are found by local name, whatever their prefix."""

    def child(name: str) -> etree._Element | None:
        for element in fault:
            if isinstance(element.tag, str) and etree.QName(element).localname == name:
                return element
        return None

    def text(name: str) -> str | None:
        element = child(name)
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    return SoapFault(
        code=text("faultcode"),
        message=text("faultstring"),
        actor=text("faultactor"),
        detail=child("detail"),
        status_code=status_code,
        raw=raw,
        operation=operation,
        correlation_id=correlation_id,
    )


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
        # SOAP sends every fault with HTTP 500, so that status alone does not make a
        # fault retryable: one whose code blames the request (SOAP 1.1 ``Client``,
        # 1.2 ``Sender``) fails the same way again.
        if fault.local_code in _REQUEST_FAULT_CODES:
            self.retryable = False


_REQUEST_FAULT_CODES = frozenset({"Client", "Sender", "VersionMismatch", "MustUnderstand"})


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


def translate(
    exc: Exception,
    scope: Scope,
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
    if status in (401, 403) or isinstance(exc, zeep.exceptions.TransportError):
        return not_soap_error(operation, status, raw, cid)
    return PlatformError(
        f"{operation}: reply does not match the WSDL ({type(exc).__name__}: "
        f"{_one_line(redact_text(str(exc)))[:300]})",
        raw=raw,
        status_code=status,
        hint="the service changed its contract or is misbehaving; keep the evidence",
        correlation_id=cid,
    )


def not_soap_error(
    operation: str, status: int | None, raw: bytes, correlation_id: str | None, why: str = ""
) -> GovLinkError:
    """The error for a reply that carries no SOAP answer: refused credentials (HTTP
    401/403), a wrong URL (404), or something that is not SOAP (``why`` says what)."""
    if status in (401, 403):
        return SoapAuthenticationError(
            f"{operation}: HTTP {status} from the service",
            status_code=status,
            correlation_id=correlation_id,
        )
    hint = (
        "check the service URL and path in the profile"
        if status == 404
        else "the service answered something that is not SOAP; see the evidence"
    )
    return PlatformError(
        f"{operation}: HTTP {status} without a SOAP reply" + (f" ({why})" if why else ""),
        code=str(status) if status is not None and status >= 300 else None,
        raw=raw,
        status_code=status,
        hint=hint,
        correlation_id=correlation_id,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
