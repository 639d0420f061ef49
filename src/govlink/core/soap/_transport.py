"""zeep transports that carry SOAP through govlink's HTTP layer.

zeep's own transports bring their own sessions, so a SOAP call would skip what every
other govlink call gets (retries that never repeat an unsafe request, a correlation
id, evidence, masked logging, a reply size cap enforced while reading). These are
zeep transports, built with zeep's public constructors, whose requests go to
:class:`~govlink.core.http.HttpTransport` / :class:`~govlink.core.http.AsyncHttpTransport`.
They never load documents (:func:`~govlink.core.soap.load_wsdl` does, from local files).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import httpx
from lxml import etree
from zeep.transports import AsyncTransport, Transport

from govlink.core.http import AsyncHttpTransport, HttpTransport, Reply
from govlink.core.soap._wsdl import refuse_load

__all__ = [
    "SOAP_MAX_REPLY_BYTES",
    "SOAP_RETRY_STATUSES",
    "AsyncSoapHttpTransport",
    "Scope",
    "SoapHttpTransport",
    "current_scope",
    "serialize",
]

# SOAP 1.1 answers every fault with HTTP 500, so 500 means "the service said no",
# not "try again": retrying it would repeat a refused call three times.
SOAP_RETRY_STATUSES = frozenset({429, 502, 503, 504})

SOAP_MAX_REPLY_BYTES = 16 * 1024 * 1024
"""Default cap on a SOAP reply, enforced while it is read: zeep's objects take several
times the reply's size, so a 200 MB reply is refused after 16 MiB, not parsed."""


# zeep's public constructors, untyped
_TRANSPORT_INIT: Any = Transport.__init__
_ASYNC_TRANSPORT_INIT: Any = AsyncTransport.__init__


def serialize(envelope: etree._Element) -> bytes:
    """The envelope as sent: UTF-8 with an XML declaration (what zeep sends too)."""
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


class _Refused(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The transport of the httpx clients zeep's constructor insists on: never used."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise RuntimeError("govlink's SOAP transports send through govlink's HTTP layer only")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise RuntimeError("govlink's SOAP transports send through govlink's HTTP layer only")


class Scope:
    """Per-call options read by the transports, and where they leave the reply."""

    __slots__ = ("correlation_id", "headers", "reply", "safe")

    def __init__(
        self, *, safe: bool, correlation_id: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.safe = safe
        self.correlation_id = correlation_id
        self.headers = headers
        self.reply: Reply | None = None


current_scope: ContextVar[Scope | None] = ContextVar("govlink_soap_scope", default=None)


def _request_kwargs(
    method: str,
    address: str,
    headers: Mapping[str, str] | None,
    *,
    default_safe: bool,
    **more: Any,
) -> tuple[Scope | None, dict[str, Any]]:
    """What both transports hand to govlink's HTTP layer for one zeep request.

    A POST is retried as ``safe`` only when the call (or the transport) says so, and
    never on HTTP 500 (SOAP's fault status); a GET is a read.
    """
    scope = current_scope.get()
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


def _keep(scope: Scope | None, reply: Reply) -> httpx.Response:
    if scope is not None:
        scope.reply = reply
    return reply.response


class SoapHttpTransport(Transport):
    """A zeep transport that posts through :class:`~govlink.core.http.HttpTransport`.

    Usable on its own with ``zeep.Client(load_wsdl(path), transport=...)``; a POST
    is ``safe`` (retried on timeouts and 502-504) only when the caller says so, per
    call through :class:`SoapClient` or for every call with ``safe=True`` here (for
    services whose every operation is a read).
    """

    def __init__(
        self, http: HttpTransport, *, safe: bool = False, max_bytes: int | None = None
    ) -> None:
        _TRANSPORT_INIT(self, cache=None, timeout=0)
        # zeep's constructor opened a requests session; every request goes through
        # ``http`` instead, so it is closed at once
        self.session.close()
        self.http = http
        self.default_safe = safe
        self.max_bytes = max_bytes

    def post(self, address: str, message: bytes, headers: Mapping[str, str]) -> httpx.Response:
        scope, kwargs = _request_kwargs(
            "POST",
            address,
            headers,
            default_safe=self.default_safe,
            content=message,
            max_bytes=self.max_bytes,
        )
        return _keep(scope, self.http.request(**kwargs))

    def post_xml(
        self, address: str, envelope: etree._Element, headers: Mapping[str, str]
    ) -> httpx.Response:
        return self.post(address, serialize(envelope), headers)

    def get(self, address: str, params: Any, headers: Mapping[str, str]) -> httpx.Response:
        scope, kwargs = _request_kwargs(
            "GET", address, headers, default_safe=True, params=params, max_bytes=self.max_bytes
        )
        return _keep(scope, self.http.request(**kwargs))

    def load(self, url: str) -> bytes:
        return refuse_load(url)

    def close(self) -> None:
        self.http.close()


class AsyncSoapHttpTransport(AsyncTransport):
    """The async twin of :class:`SoapHttpTransport` (for ``zeep.AsyncClient``)."""

    def __init__(
        self, http: AsyncHttpTransport, *, safe: bool = False, max_bytes: int | None = None
    ) -> None:
        # zeep's constructor wants httpx clients of its own: given ones that can never
        # reach the network (it would otherwise build real ones; every request goes
        # through ``http`` instead)
        _ASYNC_TRANSPORT_INIT(
            self,
            client=httpx.AsyncClient(transport=_Refused()),
            wsdl_client=httpx.Client(transport=_Refused()),
            cache=None,
        )
        self.http = http
        self.default_safe = safe
        self.max_bytes = max_bytes

    async def post(
        self, address: str, message: bytes, headers: Mapping[str, str]
    ) -> httpx.Response:
        scope, kwargs = _request_kwargs(
            "POST",
            address,
            headers,
            default_safe=self.default_safe,
            content=message,
            max_bytes=self.max_bytes,
        )
        return _keep(scope, await self.http.request(**kwargs))

    async def post_xml(
        self, address: str, envelope: etree._Element, headers: Mapping[str, str]
    ) -> httpx.Response:
        # zeep's binding reads status_code, headers and content: an httpx.Response
        # has them all, no need for zeep's conversion to a requests.Response.
        return await self.post(address, serialize(envelope), headers)

    async def get(self, address: str, params: Any, headers: Mapping[str, str]) -> httpx.Response:
        scope, kwargs = _request_kwargs(
            "GET", address, headers, default_safe=True, params=params, max_bytes=self.max_bytes
        )
        return _keep(scope, await self.http.request(**kwargs))

    def load(self, url: str) -> bytes:
        return refuse_load(url)

    async def aclose(self) -> None:
        self.wsdl_client.close()  # zeep's unused clients, then govlink's own
        await self.client.aclose()
        await self.http.aclose()
