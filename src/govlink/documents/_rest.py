"""The axis REST API (PLATFORMS.md §5), sans-I/O: request building and reply parsing.

Call signing follows the vendor SDK (``JAVA_SDK_VXP``, ``com.vpcp.services.VnptService``):
every request field is sent as an HTTP header ``XroadVnpt-<name>`` —

* ``timestamp``: ``ddMMyyyy'T'HHmmss+SSSS`` in Vietnam time. The pattern is Java's
  ``SimpleDateFormat``: ``'T'`` is a literal, and ``+SSSS`` a literal plus sign followed
  by the *milliseconds* zero-padded to four digits (``21112026T093005+0042`` is
  09:30:05.042 on 21 Nov 2026), not a UTC offset;
* ``systemid`` (``documents.auth.client_id``), ``Content-Type`` (the SDK signs it too),
  and the call's own fields: ``servicetype``, ``messagetype``, ``docId``, ``from``,
  ``status``, ``hash-file`` (SHA-256 of the package), ``AgencyCode`` …

— plus ``XroadVnpt-sign-header`` (compact JSON object of exactly those
``XroadVnpt-<name>: value`` pairs), ``XroadVnpt-sign-header-key`` (the bare names joined
by ``;``, same order), ``XroadVnpt-hash-header`` (lowercase hex HMAC-SHA256 of the
sign-header text keyed by the system secret, ``documents.auth.client_secret``) and
``XroadVnpt-version: 3.0.201608``. ``sendEdoc`` posts the package as multipart with the
part ``file_doc``; ``downloadEdoc``, ``countReceiveEdoc`` and ``countReceiveStatus`` are
GET. Replies are ``{status: OK|FAIL, ErrorCode, ErrorDesc, data, DocId}``; ``getEdoc``
carries the package base64 in ``data``, ``downloadEdoc`` answers the bytes themselves.
Paths are configurable per deployment (``documents.paths``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from govlink.core.clock import Clock, SystemClock, to_vn
from govlink.core.driver import Send
from govlink.core.errors import AuthenticationError, NotFoundError, PlatformError
from govlink.core.redact import redact_text
from govlink.documents.models import Agency, AxisReply, EdocSummary, SentEdoc, SyncUnit

__all__ = [
    "DEFAULT_PATHS",
    "TRANSPORT_STATES",
    "XROAD_PREFIX",
    "XROAD_VERSION",
    "AxisRequest",
    "Operation",
    "RestProtocol",
    "XroadSigner",
    "content_from_reply",
    "format_axis_timestamp",
    "multipart_file",
    "raise_for_reply",
    "reply_from_json",
    "results_for",
    "sdk_file_hash",
    "xroad_headers",
]

XROAD_PREFIX = "XroadVnpt-"
XROAD_VERSION = "3.0.201608"
TRANSPORT_STATES = ("initial", "processing", "done", "fail")
"""``updateStatus`` states the vendor SDK documents."""

DEFAULT_PATHS: dict[str, str] = {
    "send": "/sendEdoc",
    "received": "/getReceivedEdocList",
    "sent": "/getSentEdocList",
    "get": "/getEdoc",
    "download": "/downloadEdoc",
    "update_state": "/updateStatus",
    "count": "/countReceiveEdoc",
    "count_status": "/countReceiveStatus",
    "agencies": "/getAgenciesList",
    "register": "/registerAgency",
    "delete_agency": "/deleteAgency",
    "sync_units": "/getSynchronizeUnit",
}
_GET_OPERATIONS = frozenset({"download", "count", "count_status"})

_AUTH_CODES = frozenset({"E_AUTH", "E_TIMESTAMP", "401", "AUTH"})
_NOT_FOUND_CODES = frozenset({"E_NOT_FOUND", "404", "NOT_FOUND"})
_SIGNATURE_CODES = frozenset({"E_SIGNATURE", "E_CERT", "E_UNSIGNED"})


def format_axis_timestamp(when: datetime) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS`` in Vietnam time (see the module docstring)."""
    local = to_vn(when)
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


def sdk_file_hash(content: bytes) -> str:
    """``hash-file`` as the vendor SDK writes it: SHA-256, each byte in hex *without*
    zero padding (``0x0a`` → ``a``), so the text is 32 to 64 characters long."""
    return "".join(f"{byte:x}" for byte in hashlib.sha256(content).digest())


def xroad_headers(
    fields: Mapping[str, str], secret: str, *, version: str = XROAD_VERSION
) -> dict[str, str]:
    """The signed ``XroadVnpt-*`` headers for ``fields`` (name → value, in order)."""
    signed = {XROAD_PREFIX + name: str(value) for name, value in fields.items()}
    text = json.dumps(signed, separators=(",", ":"), ensure_ascii=True)
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return {
        **signed,
        XROAD_PREFIX + "sign-header-key": ";".join(fields),
        XROAD_PREFIX + "sign-header": text,
        XROAD_PREFIX + "hash-header": digest,
        XROAD_PREFIX + "version": version,
    }


class XroadSigner:
    """The calling system's identity: adds ``timestamp`` and ``systemid`` to each
    call's fields and signs them (:func:`xroad_headers`)."""

    def __init__(self, system_id: str, secret: str, *, clock: Clock | None = None) -> None:
        if not system_id or not secret:
            raise ValueError("system_id and secret must not be empty")
        self.system_id = system_id
        self._secret = secret
        self.clock: Clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"XroadSigner(system_id={self.system_id!r}, secret=***)"

    def headers(self, fields: Mapping[str, str]) -> dict[str, str]:
        base = {
            "timestamp": format_axis_timestamp(self.clock.now()),
            "systemid": self.system_id,
        }
        return xroad_headers({**base, **fields}, self._secret)


@dataclass(frozen=True)
class Operation:
    """One exchange operation, independent of the variant (axis REST or gateway)."""

    name: str
    """``send``, ``received``, ``sent``, ``get``, ``download``, ``update_state``,
    ``count``, ``count_status``, ``agencies``, ``register``, ``delete_agency`` or
    ``sync_units``."""
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
        return self.name in (
            "received",
            "sent",
            "get",
            "download",
            "count",
            "count_status",
            "agencies",
            "sync_units",
        )


@dataclass(frozen=True)
class AxisRequest:
    """An HTTP request to send (``url`` relative to the base URL)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = field(default=None, repr=False)
    json: Any = None
    params: dict[str, str] | None = None

    def send(self, *, safe: bool) -> Send:
        """The core driver's step for this request."""
        return Send(
            self.method,
            self.url,
            safe=safe,
            headers=self.headers,
            params=self.params,
            content=self.content,
            json=self.json,
        )


def multipart_file(name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with one file part, and its Content-Type."""
    boundary = secrets.token_hex(16)
    while boundary.encode() in content:  # pragma: no cover - 2**-128 per attempt
        boundary = secrets.token_hex(16)
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode("ascii")
    body = head + content + f"\r\n--{boundary}--\r\n".encode("ascii")
    return body, f"multipart/form-data; boundary={boundary}"


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


def _object(data: Any) -> Any:
    if isinstance(data, str):
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data


def results_for(operation: Operation, reply: AxisReply, *, what: str) -> Any:
    """The typed result of ``operation`` from a validated OK reply (shared by variants)."""
    if operation.name == "received":
        return [EdocSummary.model_validate(item) for item in _items(reply.data, what)]
    if operation.name == "sent":
        return [SentEdoc.model_validate(item) for item in _items(reply.data, what)]
    if operation.name == "agencies":
        return [Agency.model_validate(item) for item in _items(reply.data, what)]
    if operation.name == "sync_units":
        return [SyncUnit.model_validate(item) for item in _items(reply.data, what)]
    if operation.name == "register":
        data = _object(reply.data)
        return Agency.model_validate(data) if isinstance(data, Mapping) else None
    if operation.name in ("count", "count_status"):
        extra = reply.model_extra or {}
        if "count" in extra:  # the SDK reads the top-level ``count``
            return int(extra["count"] or 0)
        data = _object(reply.data)
        if isinstance(data, Mapping):
            return int(data.get("count", data.get("total", 0)) or 0)
        return int(data or 0)
    if operation.name == "send":
        if not reply.doc_id:
            raise PlatformError(f"{what}: the axis accepted the message but gave no DocId")
        return reply.doc_id
    return reply.doc_id


class RestProtocol:
    """Builds signed axis REST requests and parses their replies."""

    variant = "rest"

    def __init__(
        self, signer: XroadSigner | None = None, *, paths: Mapping[str, str] | None = None
    ) -> None:
        self.signer = signer
        self.paths = {**DEFAULT_PATHS, **(paths or {})}

    @staticmethod
    def fields(operation: Operation) -> dict[str, str]:
        """The call's own signed fields (the SDK's JSON request header)."""
        name = operation.name
        if name == "send":
            content = operation.content or b""
            fields = {"Content-Type": "application/octet-stream"}
            if operation.agency:
                fields["from"] = operation.agency
            fields.update(
                servicetype="eDoc",
                messagetype=operation.messagetype,
                **{"hash-file": sdk_file_hash(content)},
            )
            return fields
        fields = {"Content-Type": "application/json"}
        if name in ("received", "sent", "count", "count_status"):
            fields.update(servicetype="eDoc", messagetype=operation.messagetype)
        if name in ("get", "download") and operation.doc_id:
            fields["docId"] = operation.doc_id
        if name == "update_state":
            fields["status"] = operation.state or ""
            fields["docId"] = operation.doc_id or ""
        if name == "delete_agency" and operation.data:
            fields["AgencyCode"] = str(operation.data.get("AgencyCode", ""))
        return fields

    def build(self, operation: Operation) -> AxisRequest:
        path = self.paths[operation.name]
        fields = self.fields(operation)
        headers = self.signer.headers(fields) if self.signer is not None else {}
        method = "GET" if operation.name in _GET_OPERATIONS else "POST"
        if operation.name == "send":
            body, content_type = multipart_file("file_doc", "edoc.edxml", operation.content or b"")
            headers["Content-Type"] = content_type
            return AxisRequest(method, path, headers, content=body)
        if operation.name == "register":
            return AxisRequest(method, path, headers, json=dict(operation.data or {}))
        return AxisRequest(method, path, headers)

    def parse(
        self, operation: Operation, status_code: int, headers: Mapping[str, str], body: bytes
    ) -> Any:
        what = f"VDXP {operation.name}"
        content_type = headers.get("content-type", "")
        if operation.name == "download" and status_code < 400 and "json" not in content_type:
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
        if operation.name in ("get", "download"):
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
