"""SOAP clients: one operation call through zeep over govlink's HTTP layer.

Usage (what a platform package does)::

    from govlink.core.soap import SoapClient, load_wsdl

    wsdl = load_wsdl(Path(__file__).parent / "wsdl" / "service.wsdl")
    soap = SoapClient(wsdl, http_transport, address="https://host/Service")
    result = soap.call("GetThing", safe=True, Id="42")   # SoapResult(value, evidence)

Faults become :class:`~govlink.core.soap.SoapFaultError` unless the client passes a
``fault_mapper``; replies over ``max_reply_bytes`` are refused while they are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import zeep.exceptions
from zeep.proxy import AsyncServiceProxy as _AsyncServiceProxy
from zeep.proxy import ServiceProxy as _ServiceProxy

from govlink.core.errors import GovLinkError
from govlink.core.http import AsyncHttpTransport, Evidence, HttpTransport, new_correlation_id
from govlink.core.soap._faults import FaultMapper, default_fault_mapper, translate
from govlink.core.soap._transport import (
    SOAP_MAX_REPLY_BYTES,
    AsyncSoapHttpTransport,
    Scope,
    SoapHttpTransport,
    current_scope,
    serialize,
)
from govlink.core.soap._wsdl import (
    SETTINGS,
    WsdlError,
    ZeepAsyncClient,
    ZeepClient,
    is_document,
    load_wsdl,
)

__all__ = ["AsyncSoapClient", "SoapClient", "SoapResult"]

ServiceProxy: Any = _ServiceProxy
AsyncServiceProxy: Any = _AsyncServiceProxy


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
        max_reply_bytes: int,
    ) -> None:
        self.max_reply_bytes = max_reply_bytes
        self.document = wsdl if is_document(wsdl) else load_wsdl(wsdl)
        port = _select_binding(self.document, service_name, port_name)
        self.binding = port.binding
        self.address: str = address or port.binding_options["address"]
        self.fault_mapper: FaultMapper = fault_mapper or default_fault_mapper

    def _begin(
        self, safe: bool, correlation_id: str | None, headers: Mapping[str, str] | None
    ) -> tuple[Scope, Any]:
        scope = Scope(
            safe=safe, correlation_id=correlation_id or new_correlation_id(), headers=headers
        )
        return scope, current_scope.set(scope)

    def _fail(self, exc: Exception, scope: Scope, operation: str) -> GovLinkError:
        return translate(exc, scope, operation, self.fault_mapper)


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
        max_reply_bytes: int = SOAP_MAX_REPLY_BYTES,
    ) -> None:
        super().__init__(
            wsdl,
            address=address,
            service_name=service_name,
            port_name=port_name,
            fault_mapper=fault_mapper,
            max_reply_bytes=max_reply_bytes,
        )
        self.transport = SoapHttpTransport(http, max_bytes=max_reply_bytes)
        self.zeep = ZeepClient(self.document, transport=self.transport, settings=SETTINGS)
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
            current_scope.reset(token)
        return SoapResult(value, scope.reply.evidence if scope.reply else None)

    def message(self, operation: str, /, **params: Any) -> bytes:
        """The envelope ``call`` would send (for debugging and tests); nothing is sent."""
        return bytes(serialize(self.zeep.create_message(self._service, operation, **params)))

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
        max_reply_bytes: int = SOAP_MAX_REPLY_BYTES,
    ) -> None:
        super().__init__(
            wsdl,
            address=address,
            service_name=service_name,
            port_name=port_name,
            fault_mapper=fault_mapper,
            max_reply_bytes=max_reply_bytes,
        )
        self.transport = AsyncSoapHttpTransport(http, max_bytes=max_reply_bytes)
        self.zeep = ZeepAsyncClient(self.document, transport=self.transport, settings=SETTINGS)
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
            current_scope.reset(token)
        return SoapResult(value, scope.reply.evidence if scope.reply else None)

    def message(self, operation: str, /, **params: Any) -> bytes:
        """The envelope ``call`` would send (for debugging and tests); nothing is sent."""
        return bytes(serialize(self.zeep.create_message(self._service, operation, **params)))

    async def aclose(self) -> None:
        await self.transport.aclose()
