"""The admin API under ``/__admin``: what tests and people use to drive the mocks.

JSON in, JSON out; bad input is ``400 {"error": "...", "field": "<name>"}`` so a
test author learns which field to fix. The reference is in ``docs/testing.md``.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mock_servers.faults import FAULT_FIELDS
from mock_servers.journal import DEFAULT_PAGE, JournalQuery, masked_entry, view
from mock_servers.runtime import MockRuntime
from mock_servers.seed import SeedError
from mock_servers.validation import ADMIN_BODY_LIMIT, InputError, parse_admin_json

__all__ = ["create_admin_app"]

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboard"
_DASHBOARD_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}

Handler = Callable[[Request], Awaitable[Response]]


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"cache-control": "no-store"})


def _guard(handler: Handler) -> Handler:
    """Turn :class:`InputError` into the documented 400 shape."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except InputError as exc:
            return _json(exc.as_json(), 400)

    return guarded


async def _body(request: Request) -> Any:
    """The JSON body, read up to :data:`ADMIN_BODY_LIMIT` (refused while reading)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and len(declared) < 20 and int(declared) > ADMIN_BODY_LIMIT:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > ADMIN_BODY_LIMIT:
            raise _too_large()
        chunks.append(chunk)
    return parse_admin_json(b"".join(chunks))


def _too_large() -> InputError:
    return InputError(f"request body is over {ADMIN_BODY_LIMIT} bytes", field="body")


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError("request body must be a JSON object", field="body")
    return data


class AdminGate:
    """Requires ``runtime.admin_token`` (when set) on every admin route but the static
    dashboard files, which hold no data: the page sends the token it was opened with.

    The token travels as ``Authorization: Bearer <token>`` or ``X-Mock-Admin-Token``.
    """

    def __init__(self, app: Starlette, runtime: MockRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = self.runtime.admin_token
        if token is None or scope["type"] != "http" or self._static(scope):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        given = headers.get("x-mock-admin-token", b"")
        bearer = headers.get("authorization", b"")
        if bearer[:7].lower() == b"bearer ":
            given = given or bearer[7:].strip()
        if not hmac.compare_digest(given, token.encode("latin-1")):
            response = _json(
                {
                    "error": "this mock is reachable off loopback: send the admin token printed "
                    "at start-up as 'Authorization: Bearer <token>'",
                    "field": "authorization",
                },
                401,
            )
            response.headers["www-authenticate"] = 'Bearer realm="govlink mock admin"'
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _static(scope: Scope) -> bool:
        root = str(scope.get("root_path", ""))
        path = str(scope.get("path", ""))
        inner = path[len(root) :] if root and path.startswith(root) else path
        return scope.get("method") == "GET" and (inner == "/ui" or inner.startswith("/ui/"))


def create_admin_app(runtime: MockRuntime, urls: Callable[[], dict[str, str]]) -> AdminGate:
    """The ``/__admin`` app for ``runtime``; ``urls()`` gives each platform's base URL."""

    async def health(request: Request) -> Response:
        return _json(
            {
                "status": "ok",
                "platforms": sorted(runtime.platforms),
                "unavailable": runtime.unavailable,
                "clock": runtime.clock_json(),
                "journal_entries": len(runtime.journal),
                "journal_bytes": runtime.journal.size_bytes,
                "faults": len(runtime.faults.list()),
                "store": type(runtime.ctx.store).__name__,
            }
        )

    async def reset(request: Request) -> Response:
        runtime.reset()
        return _json({"reset": True, "clock": runtime.clock_json()})

    def _query(request: Request) -> JournalQuery:
        params = dict(request.query_params)
        params.pop("brief", None)
        params.pop("credentials", None)
        return JournalQuery.from_params(params, runtime.resolve)

    def _masking(request: Request) -> bool:
        choice = request.query_params.get("credentials", "").lower()
        if choice not in ("", "masked", "shown"):
            raise InputError("credentials must be 'masked' or 'shown'", field="credentials")
        return runtime.mask_credentials if not choice else choice == "masked"

    async def journal(request: Request) -> Response:
        query = _query(request)
        limit = query.limit or DEFAULT_PAGE
        if limit > runtime.journal.max_entries:
            raise InputError(
                f"limit must be <= {runtime.journal.max_entries} (page with 'since')",
                field="limit",
            )
        found = runtime.journal.select(dataclasses.replace(query, limit=limit + 1))
        more = len(found) > limit
        entries = found[:limit]
        brief = request.query_params.get("brief", "").lower() in ("1", "true", "yes")
        mask = _masking(request)
        following: dict[str, int] | None = None
        if more:
            following = {"before" if query.descending else "since": int(entries[-1]["id"])}

        def shape(entry: dict[str, Any]) -> dict[str, Any]:
            shown = masked_entry(view(entry)) if mask else view(entry)
            return _brief(shown) if brief else shown

        async def stream() -> AsyncIterator[bytes]:
            head = {"count": len(entries), "more": more, "next": following}
            yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "entries": ['
            for index, entry in enumerate(entries):
                text = json.dumps(shape(entry), ensure_ascii=False, default=str)
                yield (b"," if index else b"") + text.encode("utf-8")
            yield b"]}"

        return StreamingResponse(
            stream(), media_type="application/json", headers={"cache-control": "no-store"}
        )

    async def journal_count(request: Request) -> Response:
        return _json({"count": runtime.journal.count(_query(request))})

    async def journal_entry(request: Request) -> Response:
        entry_id = request.path_params["entry_id"]
        entry = runtime.journal.get(entry_id)
        if entry is None:
            return _json({"error": f"no journal entry {entry_id}", "field": "id"}, 404)
        return _json(masked_entry(entry) if _masking(request) else entry)

    async def journal_clear(request: Request) -> Response:
        runtime.journal.clear()
        return _json({"cleared": True})

    async def faults_list(request: Request) -> Response:
        return _json(
            {"faults": [f.to_json() for f in runtime.faults.list()], "fields": FAULT_FIELDS}
        )

    async def faults_add(request: Request) -> Response:
        data = await _body(request)
        if isinstance(data, list):
            # all or nothing: validate every fault before keeping any
            added = []
            try:
                for index, item in enumerate(data):
                    try:
                        added.append(runtime.faults.add(item, runtime.resolve))
                    except InputError as exc:
                        raise InputError(f"fault {index}: {exc.message}", field=exc.field) from None
            except InputError:
                for fault in added:
                    runtime.faults.remove(fault.id)
                raise
            return _json({"faults": [f.to_json() for f in added]}, 201)
        fault = runtime.faults.add(_object(data), runtime.resolve)
        return _json(fault.to_json(), 201)

    async def faults_clear(request: Request) -> Response:
        runtime.faults.clear()
        return _json({"cleared": True})

    async def fault_delete(request: Request) -> Response:
        fault_id = request.path_params["fault_id"]
        if runtime.faults.remove(fault_id):
            return _json({"deleted": fault_id})
        return _json({"error": f"no fault {fault_id!r}", "field": "id"}, 404)

    async def clock_get(request: Request) -> Response:
        return _json(runtime.clock_json())

    async def clock_post(request: Request) -> Response:
        data = _object(await _body(request))
        unknown = sorted(set(data) - {"set", "advance", "reset"})
        if unknown:
            raise InputError(
                f"unknown clock field {unknown[0]!r} (use set, advance or reset)", field=unknown[0]
            )
        if len(data) != 1:
            raise InputError("give exactly one of set, advance or reset", field="set")
        if "set" in data:
            raw = data["set"]
            try:
                when = datetime.fromisoformat(raw) if isinstance(raw, str) else None
            except ValueError:
                when = None
            if when is None:
                raise InputError(
                    "set must be an ISO 8601 date-time, e.g. 2026-01-01T08:00:00+07:00", field="set"
                )
            if when.tzinfo is None:
                raise InputError(
                    "set needs a UTC offset, e.g. 2026-01-01T08:00:00+07:00 or ...Z", field="set"
                )
            try:
                runtime.set_clock(when)
            except (ValueError, OverflowError) as exc:
                raise InputError(str(exc), field="set") from None
        elif "advance" in data:
            seconds = data["advance"]
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
            ):
                raise InputError("advance must be a number of seconds", field="advance")
            try:
                runtime.advance_clock(float(seconds))
            except (ValueError, OverflowError) as exc:
                raise InputError(str(exc), field="advance") from None
        else:
            if data["reset"] is not True:
                raise InputError("reset must be true", field="reset")
            runtime.ctx.clock.reset()
            runtime.advance_clock(0)
        return _json(runtime.clock_json())

    async def seed_get(request: Request) -> Response:
        sections = runtime.ctx.seed.sections
        return _json(
            {name: len(v) if isinstance(v, list | dict) else 1 for name, v in sections.items()}
        )

    async def seed_section(request: Request) -> Response:
        name = request.path_params["section"]
        if name not in runtime.ctx.seed.sections:
            return _json({"error": f"no seed section {name!r}", "field": "section"}, 404)
        return _json(runtime.ctx.seed.sections[name])

    async def seed_post(request: Request) -> Response:
        data = await _body(request)
        try:
            loaded = runtime.load_seed(data)
        except SeedError as exc:
            raise InputError(str(exc), field=exc.section or "body") from None
        return _json({"loaded": loaded})

    async def state(request: Request) -> Response:
        return _json(runtime.summaries())

    async def platforms(request: Request) -> Response:
        base = urls()
        described = []
        for key, slot in runtime.slots.items():
            item = slot.describe()
            item["url"] = base.get(key)
            described.append(item)
        return _json({"platforms": described})

    def _platform_or_404(request: Request) -> tuple[str, Any] | JSONResponse:
        name = request.path_params["name"]
        key = runtime.resolve(name)
        platform = runtime.platforms.get(key) if key else None
        if key is None or platform is None:
            known = ", ".join(sorted(runtime.platforms)) or "none"
            return _json(
                {"error": f"no platform {name!r} (mounted: {known})", "field": "name"}, 404
            )
        return key, platform

    async def switches_get(request: Request) -> Response:
        found = _platform_or_404(request)
        if isinstance(found, JSONResponse):
            return found
        _key, platform = found
        return _json(
            {
                "switches": runtime.ctx.switches(platform.name),
                "known": list(platform.switch_names),
            }
        )

    async def switches_post(request: Request) -> Response:
        found = _platform_or_404(request)
        if isinstance(found, JSONResponse):
            return found
        _key, platform = found
        data = _object(await _body(request))
        try:
            platform.apply_switches(data)
        except InputError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # a platform's own check, or its code tripping over a wrong-typed value:
            # either way the input is wrong, never the server
            raise InputError(str(exc), field=_switch_named(exc, data)) from None
        return _json({"switches": runtime.ctx.switches(platform.name)})

    async def switches_delete(request: Request) -> Response:
        found = _platform_or_404(request)
        if isinstance(found, JSONResponse):
            return found
        _key, platform = found
        runtime.ctx.switches(platform.name).clear()
        return _json({"switches": {}})

    async def ui_index(request: Request) -> Response:
        return FileResponse(
            DASHBOARD_DIR / "index.html",
            media_type=_DASHBOARD_FILES["index.html"],
            headers={"cache-control": "no-store"},
        )

    async def ui_redirect(request: Request) -> Response:
        return RedirectResponse(request.url.path + "/")

    async def ui_file(request: Request) -> Response:
        name = request.path_params["file"]
        if name not in _DASHBOARD_FILES:
            return _json({"error": f"no dashboard file {name!r}"}, 404)
        return FileResponse(
            DASHBOARD_DIR / name,
            media_type=_DASHBOARD_FILES[name],
            headers={"cache-control": "no-store"},
        )

    async def index(request: Request) -> Response:
        return _json(
            {
                "admin": "/__admin",
                "dashboard": "/__admin/ui/",
                "endpoints": sorted({str(getattr(r, "path", "")) for r in routes}),
            }
        )

    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        return Route(path, _guard(handler), methods=methods)

    routes = [
        route("/", index, ["GET"]),
        route("/health", health, ["GET"]),
        route("/reset", reset, ["POST"]),
        route("/journal", journal, ["GET"]),
        route("/journal", journal_clear, ["DELETE"]),
        route("/journal/count", journal_count, ["GET"]),
        Route("/journal/{entry_id:int}", _guard(journal_entry), methods=["GET"]),
        route("/faults", faults_list, ["GET"]),
        route("/faults", faults_add, ["POST"]),
        route("/faults", faults_clear, ["DELETE"]),
        route("/faults/{fault_id}", fault_delete, ["DELETE"]),
        route("/clock", clock_get, ["GET"]),
        route("/clock", clock_post, ["POST"]),
        route("/seed", seed_get, ["GET"]),
        route("/seed", seed_post, ["POST"]),
        route("/seed/{section}", seed_section, ["GET"]),
        route("/state", state, ["GET"]),
        route("/platforms", platforms, ["GET"]),
        route("/platforms/{name}/switches", switches_get, ["GET"]),
        route("/platforms/{name}/switches", switches_post, ["POST"]),
        route("/platforms/{name}/switches", switches_delete, ["DELETE"]),
        route("/ui", ui_redirect, ["GET"]),
        route("/ui/", ui_index, ["GET"]),
        route("/ui/{file}", ui_file, ["GET"]),
    ]
    return AdminGate(Starlette(routes=routes), runtime)


def _brief(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without headers and bodies (sizes kept): what a list view needs."""
    out = {k: v for k, v in entry.items() if k not in ("request", "response", "traceback")}
    for side in ("request", "response"):
        part = entry.get(side)
        out[side] = None if part is None else {"body_size": part.get("body_size", 0)}
    return out


def _switch_named(exc: Exception, data: dict[str, Any]) -> str | None:
    """Which switch a platform's ``ValueError`` is about (attribute, quoted name, or key)."""
    for attr in ("switch", "field", "name"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            return value
    for quoted in re.findall(r"['\"]([^'\"]+)['\"]", str(exc)):
        if quoted in data:
            return str(quoted)
    return next(iter(data), None) if len(data) == 1 else None
