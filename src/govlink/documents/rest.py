"""The axis REST API (PLATFORMS.md §5), sans-I/O: request building and reply parsing.

Every call carries signed headers:

* ``systemid`` — the calling system's id (``documents.auth.client_id``);
* ``timestamp`` — ``ddMMyyyy'T'HHmmss+SSSS`` in Vietnam time. The pattern is Java's
  ``SimpleDateFormat``: ``'T'`` is a literal, and ``+SSSS`` a literal plus sign
  followed by the *milliseconds* zero-padded to four digits (e.g.
  ``21112026T093005+0042`` is 09:30:05.042 on 21 Nov 2026). It is not a UTC offset;
* ``signheader`` — compact JSON ``{"systemid": …, "timestamp": …}`` (sorted keys);
* ``signature`` — lowercase hex HMAC-SHA256 of the ``signheader`` text, keyed by the
  system secret (``documents.auth.client_secret``);

and the request header JSON ``{from, servicetype: "eDoc", messagetype, docId,
status}`` in the ``header`` HTTP header (ASCII-escaped). Replies are
``{status: OK|FAIL, ErrorCode, ErrorDesc, data, DocId}``; ``getEdoc`` answers the
package itself (octet-stream) and JSON only on failure. Header names and paths are
configurable per deployment (``documents.options.header_names``, ``documents.paths``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from govlink.core.clock import Clock, SystemClock, to_vn
from govlink.core.errors import AuthenticationError, NotFoundError, PlatformError
from govlink.core.redact import redact_text
from govlink.documents.models import Agency, AxisReply, EdocSummary

__all__ = [
    "DEFAULT_HEADER_NAMES",
    "DEFAULT_PATHS",
    "AxisRequest",
    "Operation",
    "RestProtocol",
    "VdxpHmacAuth",
    "content_from_reply",
    "format_axis_timestamp",
    "raise_for_reply",
    "reply_from_json",
    "results_for",
    "sign_header",
]

DEFAULT_HEADER_NAMES: dict[str, str] = {
    "systemid": "systemid",
    "timestamp": "timestamp",
    "signheader": "signheader",
    "signature": "signature",
    "header": "header",
}
DEFAULT_PATHS: dict[str, str] = {
    "send": "/sendEdoc",
    "received": "/getReceivedEdocList",
    "sent": "/getSentEdocList",
    "get": "/getEdoc",
    "update_state": "/updateStatus",
    "count": "/countReceiveEdoc",
    "agencies": "/getAgenciesList",
    "register": "/registerAgency",
}

_AUTH_CODES = frozenset({"E_AUTH", "E_TIMESTAMP", "401", "AUTH"})
_NOT_FOUND_CODES = frozenset({"E_NOT_FOUND", "404", "NOT_FOUND"})
_SIGNATURE_CODES = frozenset({"E_SIGNATURE", "E_CERT", "E_UNSIGNED"})


def format_axis_timestamp(when: datetime) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS`` in Vietnam time (see the module docstring)."""
    local = to_vn(when)
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


def sign_header(system_id: str, timestamp: str, secret: str) -> tuple[str, str]:
    """The sign-header JSON and its HMAC-SHA256 hex signature."""
    text = json.dumps(
        {"systemid": system_id, "timestamp": timestamp}, separators=(",", ":"), sort_keys=True
    )
    return text, hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class VdxpHmacAuth(httpx.Auth):
    """Adds the signed headers to every request (REST and SOAP alike)."""

    def __init__(
        self,
        system_id: str,
        secret: str,
        *,
        clock: Clock | None = None,
        header_names: Mapping[str, str] | None = None,
    ) -> None:
        if not system_id or not secret:
            raise ValueError("system_id and secret must not be empty")
        self.system_id = system_id
        self._secret = secret
        self.clock: Clock = clock or SystemClock()
        self.names = {**DEFAULT_HEADER_NAMES, **(header_names or {})}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = format_axis_timestamp(self.clock.now())
        text, signature = sign_header(self.system_id, timestamp, self._secret)
        request.headers[self.names["systemid"]] = self.system_id
        request.headers[self.names["timestamp"]] = timestamp
        request.headers[self.names["signheader"]] = text
        request.headers[self.names["signature"]] = signature
        yield request


@dataclass(frozen=True)
class Operation:
    """One exchange operation, independent of the variant (REST, gateway, SOAP)."""

    name: str
    """``send``, ``received``, ``sent``, ``get``, ``update_state``, ``count``,
    ``agencies`` or ``register``."""
    agency: str | None = None
    messagetype: str = "edoc"
    doc_id: str | None = None
    state: str | None = None
    content: bytes | None = field(default=None, repr=False)
    data: Mapping[str, Any] | None = None

    @property
    def safe(self) -> bool:
        """Reads may be retried; a send or a state change is retried only when the
        request provably never arrived (see ``govlink.core.http``)."""
        return self.name in ("received", "sent", "get", "count", "agencies")


@dataclass(frozen=True)
class AxisRequest:
    """An HTTP request for the shells to send (``url`` relative to the base URL)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = field(default=None, repr=False)
    json: Any = None
    params: dict[str, str] | None = None

    def as_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if self.content is not None:
            kwargs["content"] = self.content
        if self.json is not None:
            kwargs["json"] = self.json
        if self.params:
            kwargs["params"] = self.params
        return kwargs


def _short(text: str) -> str:
    return redact_text(" ".join(text.split())[:300])


def reply_from_json(data: Any, *, status_code: int, what: str) -> AxisReply:
    """Validate the reply envelope (raise when it is not one)."""
    if not isinstance(data, Mapping):
        raise PlatformError(
            f"{what}: the axis answered HTTP {status_code} with JSON that is not an object",
            raw=data,
            status_code=status_code,
        )
    return AxisReply.model_validate(dict(data))


def raise_for_reply(reply: AxisReply, *, status_code: int, what: str) -> AxisReply:
    """Turn ``status: FAIL`` (or an HTTP error) into the matching govlink error."""
    if reply.ok and status_code < 400:
        return reply
    code = reply.error_code or str(status_code)
    desc = reply.error_desc or "no description"
    raw = reply.model_dump(by_alias=True)
    message = f"{what}: the axis refused ({code}): {_short(desc)}"
    if code in _AUTH_CODES or status_code == 401:
        raise AuthenticationError(
            message,
            hint="check documents.auth.client_id (system id) and client_secret, and the "
            "machine clock (the timestamp must be within the axis's tolerance)",
        )
    if code in _NOT_FOUND_CODES or status_code == 404:
        raise NotFoundError(message, code=code, raw=raw, status_code=status_code)
    hint = None
    if code in _SIGNATURE_CODES:
        hint = (
            "the axis could not verify the package's XML signature: sign with the agency's "
            "current certificate and do not modify the package after signing"
        )
    raise PlatformError(message, code=code, raw=raw, status_code=status_code, hint=hint)


def _items(data: Any, what: str) -> list[Any]:
    if data is None:
        return []
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise PlatformError(f"{what}: data is not JSON", raw=data) from None
    if isinstance(data, Mapping):
        for key in ("items", "list", "data", "knobsticks"):
            if isinstance(data.get(key), list):
                return list(data[key])
        return [data]
    if not isinstance(data, list):
        raise PlatformError(f"{what}: expected a list in data", raw=data)
    return data


def results_for(operation: Operation, reply: AxisReply, *, what: str) -> Any:
    """The typed result of ``operation`` from a validated OK reply (shared by variants)."""
    if operation.name in ("received", "sent"):
        return [EdocSummary.model_validate(item) for item in _items(reply.data, what)]
    if operation.name == "agencies":
        return [Agency.model_validate(item) for item in _items(reply.data, what)]
    if operation.name == "register":
        data = reply.data
        if isinstance(data, str):
            data = json.loads(data)
        return Agency.model_validate(data) if isinstance(data, Mapping) else None
    if operation.name == "count":
        data = reply.data
        if isinstance(data, str):
            data = json.loads(data)
        if isinstance(data, Mapping):
            return int(data.get("total", data.get("count", 0)))
        return int(data or 0)
    if operation.name == "send":
        if not reply.doc_id:
            raise PlatformError(f"{what}: the axis accepted the message but gave no DocId")
        return reply.doc_id
    return reply.doc_id


class RestProtocol:
    """Builds axis REST requests and parses their replies."""

    variant = "rest"

    def __init__(
        self,
        *,
        paths: Mapping[str, str] | None = None,
        header_names: Mapping[str, str] | None = None,
    ) -> None:
        self.paths = {**DEFAULT_PATHS, **(paths or {})}
        self.names = {**DEFAULT_HEADER_NAMES, **(header_names or {})}

    def _header(self, operation: Operation) -> dict[str, str]:
        header: dict[str, Any] = {"servicetype": "eDoc", "messagetype": operation.messagetype}
        if operation.agency:
            key = "from" if operation.name == "send" else "agency"
            header[key] = operation.agency
        if operation.doc_id:
            header["docId"] = operation.doc_id
        if operation.state:
            header["status"] = operation.state
        return {self.names["header"]: json.dumps(header, ensure_ascii=True, sort_keys=True)}

    def build(self, operation: Operation) -> AxisRequest:
        path = self.paths[operation.name]
        headers = self._header(operation)
        if operation.name == "send":
            headers["Content-Type"] = "application/octet-stream"
            return AxisRequest("POST", path, headers, content=operation.content or b"")
        if operation.name == "register":
            return AxisRequest("POST", path, headers, json=dict(operation.data or {}))
        return AxisRequest("POST", path, headers)

    def parse(
        self, operation: Operation, status_code: int, headers: Mapping[str, str], body: bytes
    ) -> Any:
        what = f"VDXP {operation.name}"
        content_type = headers.get("content-type", "")
        if operation.name == "get" and status_code < 400 and "json" not in content_type:
            if not body:
                raise PlatformError(f"{what}: the axis answered an empty document")
            return body
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise PlatformError(
                f"{what}: the axis answered HTTP {status_code} with something that is not "
                f"JSON: {_short(body.decode('utf-8', 'replace'))}",
                raw=body,
                status_code=status_code,
                hint="check documents.base_url and the paths (documents.paths)",
            ) from None
        reply = raise_for_reply(
            reply_from_json(data, status_code=status_code, what=what),
            status_code=status_code,
            what=what,
        )
        if operation.name == "get":
            return content_from_reply(reply, what)
        return results_for(operation, reply, what=what)


def content_from_reply(reply: AxisReply, what: str) -> bytes:
    """The package carried base64 in ``data`` (``data.content`` or ``data`` itself)."""
    data = reply.data
    text = data.get("content") if isinstance(data, Mapping) else data
    if not isinstance(text, str) or not text:
        raise PlatformError(f"{what}: the reply carries no document content", raw=reply.data)
    try:
        return base64.b64decode(text, validate=False)
    except binascii.Error as exc:
        raise PlatformError(f"{what}: the document content is not base64 ({exc})") from None
