"""HTTP for every platform client: one client factory, one retry policy, evidence.

Why one package: every platform needs the same things (pooling, timeouts, mTLS,
proxy, a correlation id per logical call, masked logging, retries that never
repeat an unsafe request) and they must behave the same everywhere. Platform
clients build requests and parse replies in their own sans-I/O code and hand the
request to :class:`HttpTransport` or :class:`AsyncHttpTransport`; those two shells
differ only in ``await``. Every reply carries an :class:`Evidence` record so a vendor
can show an auditor exactly what was sent and received.

Six modules, one job each (import everything from this package):

* :mod:`~govlink.core.http._evidence` — correlation ids (:data:`CORRELATION_HEADER`,
  :func:`new_correlation_id`) and the records a call returns: :class:`Evidence`,
  :class:`Reply`, :class:`StreamReply`, :class:`Streamed`;
* :mod:`~govlink.core.http._retry` — :class:`RetryPolicy`: what may be retried,
  ``Retry-After``, backoff and the time budget, and the error raised on giving up;
* :mod:`~govlink.core.http._client` — :func:`build_client` /
  :func:`build_async_client`: pooling, timeouts, TLS and mTLS, proxy, base URL;
* :mod:`~govlink.core.http._sinks` — where a streamed body goes: :class:`Sink`,
  :class:`FileSink`, :data:`DEFAULT_DOWNLOAD_CAP`;
* :mod:`~govlink.core.http._call` — the sans-I/O part of one call (attempts, size
  cap, logs, evidence), shared by both transports;
* :mod:`~govlink.core.http._transport` — :class:`HttpTransport` /
  :class:`AsyncHttpTransport`, the shells that send, read and await.

All of them log to the ``govlink.http`` logger.

Outcomes of :meth:`HttpTransport.request`:

* 2xx and 4xx other than 429 are *returned* (the platform client knows what its
  platform's 400 means);
* 429 and 5xx are retried for safe requests (429 for unsafe ones too: the server
  says it did not process it); when the retries run out, or at once for an unsafe
  request on 5xx, a :class:`~govlink.core.errors.TransportError` (or
  :class:`~govlink.core.errors.RateLimitedError`) is raised with ``.evidence``
  holding the last raw reply;
* connection failures that provably happened before the request was sent are
  retried for every request; timeouts and resets after sending only for safe ones;
  a :class:`~govlink.core.errors.GovLinkError` raised during an attempt is retried
  when its ``retryable`` says so (for unsafe requests only a
  :class:`~govlink.core.errors.TokenUnavailableError`: nothing reached the API).

Reply bodies are read under a size cap while they arrive (``GOVLINK_HTTP__MAX_REPLY_BYTES``,
default 64 MiB, counted after decoding gzip/deflate): past it a
:class:`~govlink.core.errors.ReplyTooLargeError` is raised and never retried. Large
bodies go to disk instead: :meth:`HttpTransport.download` streams a body into a
:class:`Sink` such as :class:`FileSink` (temporary file renamed into place; default
cap 1 GiB), with the same retry rules; :meth:`HttpTransport.stream` opens a streamed
reply for callers that read it themselves. Both carry the correlation header and
return evidence. Platform code normally reaches all this through
:mod:`govlink.core.driver` (``Send`` and ``Stream`` steps) rather than directly.

Every request, including those an ``httpx.Auth`` flow adds (a gateway token
request), carries the client's timeout.
"""

from __future__ import annotations

from govlink.core.http._client import _client_kwargs as _client_kwargs  # for the TLS tests
from govlink.core.http._client import build_async_client, build_client
from govlink.core.http._evidence import (
    CORRELATION_HEADER,
    Evidence,
    Reply,
    Streamed,
    StreamReply,
    new_correlation_id,
)
from govlink.core.http._retry import RETRYABLE_STATUS, RetryPolicy
from govlink.core.http._sinks import DEFAULT_DOWNLOAD_CAP, FileSink, Sink
from govlink.core.http._transport import AsyncHttpTransport, HttpTransport

__all__ = [
    "CORRELATION_HEADER",
    "DEFAULT_DOWNLOAD_CAP",
    "RETRYABLE_STATUS",
    "AsyncHttpTransport",
    "Evidence",
    "FileSink",
    "HttpTransport",
    "Reply",
    "RetryPolicy",
    "Sink",
    "StreamReply",
    "Streamed",
    "build_async_client",
    "build_client",
    "new_correlation_id",
]
