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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_servers.connections import AbortConnection, abort_connection, close_connection
from mock_servers.faults import Fault
from mock_servers.journal import encode_body, headers_to_dict
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
        path = str(scope.get("path", ""))
        root_path = str(scope.get("root_path", ""))
        # Starlette's Mount keeps the full path and grows root_path by the prefix.
        platform_path = path[len(root_path) :] if root_path and path.startswith(root_path) else path
        platform_path = platform_path or "/"
        method = str(scope.get("method", "GET"))
        journal = self.runtime.journal
        request_headers = headers_to_dict(list(scope.get("headers", [])))
        content_type = request_headers.get("content-type", "")
        entry: dict[str, Any] = {
            "id": journal.next_id(),
            "time": self.runtime.ctx.clock.now().isoformat(),
            "platform": self.platform,
            "method": method,
            "path": path,
            "platform_path": platform_path,
            "query": scope.get("query_string", b"").decode("latin-1"),
            "client": _client(scope),
            "pending": True,
            "status": None,
            "duration_ms": None,
            "request": {"headers": request_headers, **encode_body(b"", content_type, 0)},
            "response": None,
            "fault": None,
            "error": None,
        }
        journal.record(entry)  # on arrival: visible (pending) even if the client gives up

        def finish() -> None:
            # Recorded before the client can see the end of the reply (or the broken
            # connection), so a test that asserts on the journal right after its call
            # never races the mock.
            if not entry["pending"]:
                return
            entry["pending"] = False
            entry["status"] = reply.status
            entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
            if reply.started:
                entry["response"] = reply.as_json()
            journal.update(entry)

        reply = _Reply(journal.body_limit, on_complete=finish)
        held: _HoldServerErrors | None = None
        try:
            limit = self.runtime.request_body_limit
            body, more, size = await _read_body(receive, limit, request_headers)
            entry["request"] = {
                "headers": request_headers,
                **encode_body(body, content_type, journal.body_limit),
            }
            if size > len(body):
                entry["request"]["body_size"] = size
                entry["request"]["body_truncated"] = True
            journal.update(entry)
            problem = _refusal(body, size, limit, content_type, platform_path)
            if problem is not None:
                entry["error"] = f"refused before the mock ran: {problem.detail}"
                await self._refuse(problem, scope, receive, reply.tee(send))
                return
            fault = self.runtime.faults.pick(self.platform, path, platform_path, method)
            if fault is not None:
                entry["fault"] = {"id": fault.id, "action": fault.action, "name": fault.name}
                delay = fault.delay_seconds()
                if delay:
                    await asyncio.sleep(delay)
                if fault.action != "latency":
                    await self._apply(fault, scope, body, more, receive, send, reply, entry, finish)
                    return
            # Starlette answers an exception with its own 500 before re-raising it:
            # hold 5xx replies until the app returns, so malformed input can still
            # get the platform's 400 instead.
            held = _HoldServerErrors(reply.tee(send))
            await self.app(scope, _replay(body, more, receive), held)
            await held.flush()
        except AbortConnection as exc:
            entry["error"] = entry["error"] or str(exc)
            raise
        except Exception as exc:
            if held is not None:
                held.discard()
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
                    await self._refuse(problem, scope, receive, reply.tee(send))
                return
            log.exception("%s mock failed on %s %s", self.platform, method, path)
            if not reply.started:
                await _send_simple(
                    reply.tee(send),
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
            finish()

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
        reply: _Reply,
        entry: dict[str, Any],
        finish: Callable[[], None],
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
                await _send_simple(reply.tee(send), fault.status, b"", None, extra)
                return
            await _send_simple(reply.tee(send), fault.status, payload, content_type, extra)
            return
        if fault.reset_connection:
            entry["error"] = "connection reset (fault)"
            finish()
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
            out = reply.tee(send)
            await out({**buffered.start, "headers": headers})
            await out({"type": "http.response.body", "body": damaged, "more_body": False})
            return
        keep = len(data) // 2 if fault.truncate_body is True else int(fault.truncate_body)
        keep = min(keep, max(len(data) - 1, 0))
        headers.append((b"content-length", str(len(data)).encode()))
        out = reply.tee(send)
        await out({**buffered.start, "headers": headers})
        await out({"type": "http.response.body", "body": data[:keep], "more_body": True})
        entry["error"] = f"body truncated after {keep} of {len(data)} bytes (fault)"
        finish()
        if not await close_connection(scope):
            raise AbortConnection(
                f"body truncated by govlink mock fault {fault.id}: {keep} of {len(data)} bytes",
                truncated=True,
            )


def _malform(data: bytes) -> bytes:
    """A body no JSON or XML parser accepts, recognisably derived from the real one."""
    return data[: len(data) // 2] + b'\x00<<govlink-malformed>>{"'


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


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


async def _read_body(
    receive: Receive, limit: int, headers: dict[str, str]
) -> tuple[bytes, bool, int]:
    """The request body up to ``limit`` bytes, whether the client is still there, and
    its size (over ``limit``: reading stopped there, the rest is never buffered)."""
    declared = headers.get("content-length", "")
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


class _Reply:
    """Tees the reply the client gets into the journal (body capped)."""

    def __init__(self, limit: int, on_complete: Callable[[], None]) -> None:
        self.limit = limit
        self.on_complete = on_complete
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.size = 0
        self.started = False

    def tee(self, send: Send) -> Send:
        async def teeing(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.started = True
                self.status = int(message["status"])
                self.headers = headers_to_dict(list(message.get("headers", [])))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                self.size += len(chunk)
                kept = sum(len(c) for c in self.chunks)
                if kept <= self.limit:
                    self.chunks.append(chunk[: self.limit + 1 - kept])
                if not message.get("more_body", False):
                    self.on_complete()
            await send(message)

        return teeing

    def as_json(self) -> dict[str, Any]:
        body = b"".join(self.chunks)
        info = encode_body(body, self.headers.get("content-type", ""), self.limit)
        info["body_size"] = self.size
        info["body_truncated"] = self.size > self.limit
        return {"headers": self.headers, **info}


class _HoldServerErrors:
    """Forwards a reply, except a 5xx one, which waits for :meth:`flush`."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.holding = False
        self.held: list[Message] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and int(message["status"]) >= 500:
            self.holding = True
        if self.holding:
            self.held.append(message)
            return
        await self.send(message)

    async def flush(self) -> None:
        held, self.held, self.holding = self.held, [], False
        for message in held:
            await self.send(message)

    def discard(self) -> None:
        self.held, self.holding = [], False


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
