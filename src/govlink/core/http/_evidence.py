"""Correlation ids and the records a call returns: :class:`Evidence`, :class:`Reply`,
:class:`StreamReply` and :class:`Streamed`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from govlink.core.redact import redact_body, redact_text

__all__ = [
    "CORRELATION_HEADER",
    "MAX_LOGGED_BODY",
    "Evidence",
    "Reply",
    "StreamReply",
    "Streamed",
    "evidence_of",
    "new_correlation_id",
    "request_body",
    "response_body",
]

#: The header carrying a logical call's correlation id (the one constant for all of govlink).
CORRELATION_HEADER = "X-Correlation-ID"
#: How much of a body a log line or a masked evidence shows.
MAX_LOGGED_BODY = 2000
_LONG_DIGITS = re.compile(r"\d{9}")


def new_correlation_id() -> str:
    """A fresh id for one logical call (kept across its retries).

    A uuid4 in hex, re-drawn when it holds a run of 9+ digits, so the log masking
    (which hides 9- and 12-digit ID numbers) never mangles a correlation id.
    """
    while True:
        cid = uuid.uuid4().hex
        if not _LONG_DIGITS.search(cid):
            return cid


@dataclass(frozen=True)
class Evidence:
    """What was sent and received in one logical call, for audit and support.

    ``response_body`` is the raw reply, unmasked: it is the vendor's own record.
    :meth:`masked` gives the version fit for logs and tickets.
    """

    correlation_id: str
    method: str
    url: str
    status_code: int | None
    started_at: datetime
    elapsed_seconds: float
    attempts: int
    request_body: bytes = b""
    response_body: bytes = b""
    response_headers: Mapping[str, str] = field(default_factory=dict)
    #: Bytes of the reply body received (for a streamed body, which is not kept here).
    response_size: int | None = None

    def masked(self) -> dict[str, Any]:
        """A log-safe summary: bodies truncated and personal data masked."""
        return {
            "correlation_id": self.correlation_id,
            "method": self.method,
            "url": redact_text(self.url),
            "status_code": self.status_code,
            "started_at": self.started_at.isoformat(),
            "elapsed_seconds": round(self.elapsed_seconds, 4),
            "attempts": self.attempts,
            "request_body": redact_body(self.request_body, MAX_LOGGED_BODY),
            "response_body": redact_body(self.response_body, MAX_LOGGED_BODY),
            "response_size": (
                len(self.response_body) if self.response_size is None else self.response_size
            ),
        }


@dataclass(frozen=True)
class _Answered:
    """An ``httpx.Response`` with the evidence of the call that produced it."""

    response: httpx.Response
    evidence: Evidence

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    @property
    def correlation_id(self) -> str:
        return self.evidence.correlation_id


@dataclass(frozen=True)
class Reply(_Answered):
    """An HTTP reply together with the evidence of the call that produced it."""

    @property
    def content(self) -> bytes:
        return self.response.content

    @property
    def text(self) -> str:
        return self.response.text

    def json(self) -> Any:
        return self.response.json()


@dataclass(frozen=True)
class StreamReply(_Answered):
    """An open streamed reply (status and headers read, body not yet) and its evidence."""


@dataclass(frozen=True)
class Streamed:
    """A body streamed to a :class:`Sink`: status, headers, bytes written, evidence."""

    status_code: int
    headers: httpx.Headers
    size: int
    evidence: Evidence


def evidence_of(
    request: httpx.Request,
    response: httpx.Response | None,
    cid: str,
    started_at: datetime,
    elapsed: float,
    attempts: int,
    size: int | None = None,
) -> Evidence:
    """The :class:`Evidence` of an exchange (``response`` None: no reply came)."""
    return Evidence(
        correlation_id=cid,
        method=request.method,
        url=str(request.url),
        status_code=response.status_code if response is not None else None,
        started_at=started_at,
        elapsed_seconds=elapsed,
        attempts=attempts,
        request_body=request_body(request),
        response_body=response_body(response),
        response_headers=dict(response.headers) if response is not None else {},
        response_size=size,
    )


def request_body(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:  # pragma: no cover - streaming uploads
        return b""


def response_body(response: httpx.Response | None) -> bytes:
    if response is None:
        return b""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return b""
