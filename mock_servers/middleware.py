"""ASGI middleware put around every platform mock: journal, faults, input guard.

Platform mocks never journal or inject faults themselves; doing it here once means
every platform records the same fields and fails the same way. The middleware
journals the request as it arrives, reads the body (up to the cap: the journal has
it even when a mock ignores it, and a fault can answer before the mock runs),
refuses what no platform could parse, then either answers with the fault or calls
the mock and tees its reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_servers.connections import AbortConnection, abort_connection, close_connection
from mock_servers.faults import Fault
from mock_servers.journal import ENTRY_OVERHEAD, Journal, Part
from mock_servers.platform import MalformedRequest, default_error_reply
from mock_servers.validation import MAX_JSON_DEPTH, json_depth_exceeds

if TYPE_CHECKING:
    from mock_servers.runtime import MockRuntime

__all__ = ["PlatformMiddleware"]

log = logging.getLogger("mock_servers")


class PlatformMiddleware:
    """Journal every exchange with one platform and apply the faults aimed at it.

    Before the platform runs, a request it could not survive is answered with the
    platform's own error reply (:meth:`MockPlatform.error_reply`): a body over the
    runtime's ``request_body_limit`` (413, refused while reading, so memory stays
    bounded), JSON nested deeper than :data:`MAX_JSON_DEPTH` or a JSON body that is
    not UTF-8 (400). A ``ValueError``, ``RecursionError``, ``OverflowError`` or XML
    syntax error escaping the platform is malformed input too (400, journaled with
    its traceback, nothing on stderr); anything else is a mock bug (500, logged).
    """

    def __init__(self, app: ASGIApp, *, platform: str, runtime: MockRuntime) -> None:
        self.app = app
        self.platform = platform
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        # Starlette's Mount keeps the full path and grows root_path by the prefix.
        platform_path = path[len(root_path) :] if root_path and path.startswith(root_path) else path
        platform_path = platform_path or "/"
        method: str = scope["method"]
        runtime = self.runtime
        journal = runtime.journal
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        content_type = declared = ""
        header_bytes = 0
        for name, value in raw_headers:
            header_bytes += len(name) + len(value) + 16
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                declared = value.decode("latin-1")
        client = scope.get("client")
        request = Part.empty(raw_headers, header_bytes)
        entry: dict[str, Any] = {
            "id": 0,
            "time": runtime.ctx.clock.now(),
            "platform": self.platform,
            "method": method,
            "path": path,
            "platform_path": platform_path,
            "query": scope.get("query_string", b""),
            "client": tuple(client) if client else None,
            "pending": True,
            "status": None,
            "duration_ms": None,
            "request": request,
            "response": None,
            "fault": None,
            "error": None,
        }
        base_size = ENTRY_OVERHEAD + len(path)
        # on arrival: visible (pending) even if the client gives up
        journal.add(entry, base_size + request.nbytes)
        reply = _Exchange(entry, journal, send, started, base_size)
        try:
            limit = runtime.request_body_limit
            body, more, size = await _read_body(receive, limit, declared)
            if size:
                kept = body[: journal.body_limit] if len(body) > journal.body_limit else body
                request.set_body(kept, size)
                journal.update(entry, base_size + request.nbytes)
                problem = _refusal(body, size, limit, content_type, platform_path)
                if problem is not None:
                    entry["error"] = f"refused before the mock ran: {problem.detail}"
                    await self._refuse(problem, scope, receive, reply)
                    return
            fault = runtime.faults.pick(self.platform, path, platform_path, method)
            if fault is not None:
                entry["fault"] = {"id": fault.id, "action": fault.action, "name": fault.name}
                delay = fault.delay_seconds()
                if delay:
                    await asyncio.sleep(delay)
                if fault.action != "latency":
                    await self._apply(fault, scope, body, more, receive, send, reply, entry)
                    return
            # Starlette answers an exception with its own 500 before re-raising it:
            # hold 5xx replies until the app returns, so malformed input can still
            # get the platform's 400 instead.
            reply.hold_errors = True
            await self.app(scope, _replay(body, more, receive), reply)
            await reply.flush()
        except AbortConnection as exc:
            entry["error"] = entry["error"] or str(exc)
            raise
        except Exception as exc:
            reply.discard()
            entry["error"] = "".join(traceback.format_exception_only(exc)).strip()
            entry["traceback"] = traceback.format_exc()
            if _is_malformed_input(exc):
                log.info(
                    "%s mock refused malformed input on %s %s: %s",
                    self.platform,
                    method,
                    path,
                    entry["error"],
                )
                if not reply.started:
                    problem = MalformedRequest(
                        status=400,
                        reason="unparseable",
                        detail=f"the request could not be read ({type(exc).__name__})",
                        path=platform_path,
                        content_type=content_type,
                    )
                    await self._refuse(problem, scope, receive, reply)
                return
            log.exception("%s mock failed on %s %s", self.platform, method, path)
            if not reply.started:
                await _send_simple(
                    reply,
                    500,
                    json.dumps(
                        {
                            "error": "internal mock error",
                            "platform": self.platform,
                            "detail": entry["error"],
                        },
                        ensure_ascii=False,
                    ).encode(),
                    "application/json",
                )
        finally:
            reply.finish()

    async def _refuse(
        self, problem: MalformedRequest, scope: Scope, receive: Receive, send: Send
    ) -> None:
        platform = self.runtime.platforms.get(self.platform)
        response: Response | None = None
        if platform is not None:
            try:
                response = platform.error_reply(problem)
            except Exception:  # a broken hook must not turn a 400 into a 500
                log.exception("error_reply of mock platform %s failed", self.platform)
        if response is None:
            response = default_error_reply(problem)
        await response(scope, receive, send)

    async def _apply(
        self,
        fault: Fault,
        scope: Scope,
        body: bytes,
        more: bool,
        receive: Receive,
        send: Send,
        reply: _Exchange,
        entry: dict[str, Any],
    ) -> None:
        if fault.status is not None:
            extra = dict(fault.headers)
            if fault.retry_after is not None:
                extra["retry-after"] = fault.retry_after
            if fault.body is not None:
                payload = fault.body.encode("utf-8")
                content_type = fault.content_type or "application/json"
            else:
                payload = json.dumps(
                    {
                        "error": "fault_injected",
                        "error_description": f"govlink mock fault {fault.id}: HTTP {fault.status}",
                    }
                ).encode()
                content_type = fault.content_type or "application/json"
            if fault.status in (204, 304):  # HTTP forbids a body on these
                await _send_simple(reply, fault.status, b"", None, extra)
                return
            await _send_simple(reply, fault.status, payload, content_type, extra)
            return
        if fault.reset_connection:
            entry["error"] = "connection reset (fault)"
            reply.finish()
            if not await abort_connection(scope):
                raise AbortConnection(f"connection reset by govlink mock fault {fault.id}")
            return
        # truncate_body / malformed_body: run the mock, then damage its reply.
        buffered = _Buffer()
        await self.app(scope, _replay(body, more, receive), buffered.send)
        if buffered.start is None:  # pragma: no cover - the mock sent nothing
            return
        data = buffered.body
        headers = [
            (k, v) for k, v in buffered.start.get("headers", []) if k.lower() != b"content-length"
        ]
        if fault.malformed_body:
            damaged = _malform(data)
            headers.append((b"content-length", str(len(damaged)).encode()))
            await reply({**buffered.start, "headers": headers})
            await reply({"type": "http.response.body", "body": damaged, "more_body": False})
            return
        keep = len(data) // 2 if fault.truncate_body is True else int(fault.truncate_body)
        keep = min(keep, max(len(data) - 1, 0))
        headers.append((b"content-length", str(len(data)).encode()))
        await reply({**buffered.start, "headers": headers})
        await reply({"type": "http.response.body", "body": data[:keep], "more_body": True})
        entry["error"] = f"body truncated after {keep} of {len(data)} bytes (fault)"
        reply.finish()
        if not await close_connection(scope):
            raise AbortConnection(
                f"body truncated by govlink mock fault {fault.id}: {keep} of {len(data)} bytes",
                truncated=True,
            )


def _malform(data: bytes) -> bytes:
    """A body no JSON or XML parser accepts, recognisably derived from the real one."""
    return data[: len(data) // 2] + b'\x00<<govlink-malformed>>{"'


def _is_malformed_input(exc: BaseException) -> bool:
    """Errors that parsing hostile input raises (not mock bugs): answered with 400."""
    return isinstance(exc, ValueError | RecursionError | OverflowError | SyntaxError)


def _refusal(
    body: bytes, size: int, limit: int, content_type: str, platform_path: str
) -> MalformedRequest | None:
    """Why the platform must not see this request, or None."""

    def refused(status: int, reason: str, detail: str) -> MalformedRequest:
        return MalformedRequest(
            status=status,
            reason=reason,
            detail=detail,
            path=platform_path,
            content_type=content_type,
        )

    if size > limit:
        return refused(
            413, "too_large", f"request body of {size} bytes is over the limit of {limit} bytes"
        )
    if not body:
        return None
    if json_depth_exceeds(body):
        return refused(400, "too_deep", f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    if "json" in content_type.lower():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return refused(400, "bad_encoding", "JSON request body is not UTF-8")
    return None


async def _read_body(receive: Receive, limit: int, declared: str) -> tuple[bytes, bool, int]:
    """The request body up to ``limit`` bytes, whether the client is still there, and
    its size (over ``limit``: reading stopped there, the rest is never buffered;
    ``declared`` is the Content-Length header, if any)."""
    if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        return b"", True, int(declared)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), False, size
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"".join(chunks), True, size
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True, size


def _replay(body: bytes, connected: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if not connected:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


async def _send_simple(
    send: Send,
    status: int,
    payload: bytes,
    content_type: str | None,
    extra: dict[str, str] | None = None,
) -> None:
    headers: list[tuple[bytes, bytes]] = []
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("latin-1")))
    if status not in (204, 304):
        headers.append((b"content-length", str(len(payload)).encode()))
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (extra or {}).items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


class _Exchange:
    """The send the platform gets: tees the reply into the journal entry (body capped),
    holds a 5xx reply while ``hold_errors`` until :meth:`flush`, and completes the
    entry (:meth:`finish`) before the end of the reply reaches the client, so a test
    that asserts on the journal right after its call never races the mock."""

    __slots__ = (
        "base_size",
        "chunks",
        "entry",
        "headers",
        "held",
        "hold_errors",
        "holding",
        "journal",
        "kept",
        "limit",
        "send",
        "size",
        "started",
        "started_at",
        "status",
    )

    def __init__(
        self,
        entry: dict[str, Any],
        journal: Journal,
        send: Send,
        started_at: float,
        base_size: int,
    ) -> None:
        self.entry = entry
        self.journal = journal
        self.send = send
        self.started_at = started_at
        self.base_size = base_size
        self.limit = journal.body_limit
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.kept = 0
        self.size = 0
        self.started = False
        self.hold_errors = False
        self.holding = False
        self.held: list[Message] = []

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            status = int(message["status"])
            if self.hold_errors and status >= 500:
                self.holding = True
            if self.holding:
                self.held.append(message)
                return
            self.started = True
            self.status = status
            self.headers = list(message.get("headers", []))
        elif kind == "http.response.body":
            if self.holding:
                self.held.append(message)
                return
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if chunk and self.kept < self.limit:
                piece = chunk[: self.limit - self.kept]
                self.chunks.append(piece)
                self.kept += len(piece)
            if not message.get("more_body", False):
                self.finish()
        await self.send(message)

    async def flush(self) -> None:
        """Send a held 5xx reply (the platform meant it)."""
        held, self.held, self.holding, self.hold_errors = self.held, [], False, False
        for message in held:
            await self(message)

    def discard(self) -> None:
        """Drop a held 5xx reply (an exception followed it: the server answers instead)."""
        self.held, self.holding, self.hold_errors = [], False, False

    def finish(self) -> None:
        entry = self.entry
        if not entry["pending"]:
            return
        entry["pending"] = False
        entry["status"] = self.status
        entry["duration_ms"] = (time.perf_counter() - self.started_at) * 1000
        size = self.base_size + entry["request"].nbytes
        if self.started:
            body = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
            # the mock's own reply headers: a few, short; estimated, not measured
            response = entry["response"] = Part(
                self.headers, body, self.size, header_bytes=48 * len(self.headers)
            )
            size += response.nbytes
        self.journal.update(entry, size)


class _Buffer:
    """Collects a whole reply so a fault can damage it before it is sent."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)
