"""One Starlette app with every platform mock, and a server that runs it in a thread.

``create_app`` mounts each platform of :data:`mock_servers.registry.PLATFORM_MODULES`
under its prefix (wrapped in the journal/fault middleware), the admin API and the
dashboard under ``/__admin``. A platform module that is not there yet is skipped and
answered with a 404 saying so, so platforms can land one at a time.

:class:`MockServer` is what the CLI, the demo and the pytest plugin start: uvicorn
in a background thread on a socket bound *before* the app is built, so the app knows
its own URL even with ``port=0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_servers.admin import create_admin_app
from mock_servers.cli import is_loopback
from mock_servers.context import MockContext, SeedData, VirtualClock
from mock_servers.middleware import PlatformMiddleware
from mock_servers.profile import build_profile
from mock_servers.runtime import (
    DEFAULT_REQUEST_LIMIT,
    MockRuntime,
    PlatformFactory,
    PlatformSource,
)
from mock_servers.seed import load_seed
from mock_servers.store import open_store

if TYPE_CHECKING:
    import httpx

__all__ = ["MockServer", "ServerOptions", "create_app", "runtime_of"]

log = logging.getLogger("mock_servers")

DEFAULT_PORT = 8700


@dataclass
class ServerOptions:
    """How to build a mock app when no :class:`MockContext` is given."""

    state_path: str | Path | None = None
    seed_path: str | Path | None = None
    base_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    fault_seed: int | None = None

    def context(self) -> MockContext:
        return MockContext(
            clock=VirtualClock(),
            store=open_store(self.state_path),
            seed=SeedData(load_seed(self.seed_path)),
            base_url=self.base_url.rstrip("/"),
        )


def runtime_of(app: Starlette) -> MockRuntime:
    """The :class:`MockRuntime` behind an app made by :func:`create_app`."""
    runtime: MockRuntime = app.state.runtime
    return runtime


class _Unavailable:
    """Answers under the prefix of a platform that is not mounted, saying why."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover - websockets are not served
            return
        response = JSONResponse(
            {"error": "platform_unavailable", "platform": self.key, "detail": self.problem},
            status_code=404,
        )
        await response(scope, receive, send)


def create_app(
    ctx_or_options: MockContext | ServerOptions | None = None,
    *,
    platforms: Mapping[str, PlatformSource] | None = None,
    extra_platforms: Sequence[PlatformFactory] = (),
    urls: Mapping[str, str] | None = None,
    fault_seed: int | None = None,
    mask_credentials: bool = False,
    admin_token: str | None = None,
    request_body_limit: int = DEFAULT_REQUEST_LIMIT,
) -> Starlette:
    """The whole mock as one ASGI app (the runtime is ``runtime_of(app)``).

    ``platforms`` replaces the registry (name → module path or factory);
    ``extra_platforms`` adds factories (keyed by ``platform.name``) — how tests mount a
    test-only platform such as :mod:`mock_servers.echo`. ``urls`` overrides the base
    URL reported for a platform (it defaults to ``ctx.base_url + prefix``).
    ``mask_credentials`` makes journal reads show credentials as ``***``;
    ``admin_token`` makes the admin API require it; ``request_body_limit`` caps every
    platform request body (413 beyond).
    """
    options = ctx_or_options if isinstance(ctx_or_options, ServerOptions) else None
    ctx = ctx_or_options if isinstance(ctx_or_options, MockContext) else None
    if ctx is None:
        options = options or ServerOptions()
        ctx = options.context()
    seed = fault_seed if fault_seed is not None else (options.fault_seed if options else None)
    runtime = MockRuntime(
        ctx,
        platforms=platforms,
        extra_platforms=extra_platforms,
        fault_seed=seed,
        mask_credentials=mask_credentials,
        admin_token=admin_token,
        request_body_limit=request_body_limit,
    )
    return _build_app(runtime, urls=dict(urls or {}))


def _platform_urls(runtime: MockRuntime, overrides: Mapping[str, str]) -> dict[str, str]:
    root = runtime.ctx.base_url.rstrip("/")
    return {key: overrides.get(key, root + slot.prefix) for key, slot in runtime.slots.items()}


def _platform_routes(runtime: MockRuntime, keys: Sequence[str] | None = None) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for key, slot in runtime.slots.items():
        if keys is not None and key not in keys:
            continue
        app: ASGIApp
        if slot.platform is None:
            app = _Unavailable(key, slot.problem or "not available")
        else:
            app = PlatformMiddleware(slot.platform.app, platform=key, runtime=runtime)
        routes.append(Mount(slot.prefix, app=app))
    return routes


def _build_app(runtime: MockRuntime, *, urls: dict[str, str]) -> Starlette:
    def current_urls() -> dict[str, str]:
        return _platform_urls(runtime, urls)

    async def root(request: Request) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/__admin/ui/")
        return JSONResponse(
            {
                "service": "govlink mock platforms",
                "platforms": current_urls(),
                "unavailable": runtime.unavailable,
                "admin": "/__admin",
                "dashboard": "/__admin/ui/",
            }
        )

    routes: list[BaseRoute] = [
        Route("/", root, methods=["GET"]),
        Mount("/__admin", app=create_admin_app(runtime, current_urls)),
        *_platform_routes(runtime),
    ]
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    app.state.urls = current_urls
    return app


def platform_app(runtime: MockRuntime, key: str) -> Starlette:
    """One platform alone (same runtime, journal and faults): for ``--separate-ports``."""
    app = Starlette(routes=_platform_routes(runtime, [key]))
    app.state.runtime = runtime
    return app


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on accepted sockets whose
    # proto says TCP; without it every small reply waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno, f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port"
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class MockServer:
    """The mock platforms on a real socket, in a background thread.

    ``with MockServer() as mock: ...`` (port 0 picks a free port). With
    ``separate_ports=True`` each platform is also served on a port of its own (all
    platforms stay reachable under their prefix on the main port, which also carries
    the admin API): with ``port=N`` the platforms get ``N+1``, ``N+2``… in registry
    order, with ``port=0`` free ports.

    Bound to anything but loopback, the admin API requires a token (``admin_token``,
    generated when not given, printed by the CLI at start-up) and journal reads mask
    credentials; ``mask_credentials`` overrides that default either way.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_path: str | Path | None = None,
        seed_path: str | Path | None = None,
        separate_ports: bool = False,
        *,
        platforms: Mapping[str, PlatformSource] | None = None,
        extra_platforms: Sequence[PlatformFactory] = (),
        fault_seed: int | None = None,
        log_level: str = "warning",
        admin_token: str | None = None,
        mask_credentials: bool | None = None,
        request_body_limit: int = DEFAULT_REQUEST_LIMIT,
    ) -> None:
        self.host = host
        self.port = port
        self.state_path = state_path
        self.seed_path = seed_path
        self.separate_ports = separate_ports
        self._platform_sources = platforms
        self._extra_platforms = tuple(extra_platforms)
        self._fault_seed = fault_seed
        self._log_level = log_level
        loopback = is_loopback(host)
        self.admin_token = admin_token or (None if loopback else secrets.token_urlsafe(24))
        """Token the admin API requires (None on loopback unless one was given)."""
        self.mask_credentials = (not loopback) if mask_credentials is None else mask_credentials
        self._request_body_limit = request_body_limit
        self._sockets: list[socket.socket] = []
        self._servers: list[Any] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._admin: httpx.Client | None = None
        self._urls: dict[str, str] = {}
        self.app: Starlette | None = None
        self.runtime: MockRuntime | None = None
        self.startup_seconds: float | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind, build the app, serve in a thread; return once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("this MockServer is already running")
        began = time.perf_counter()
        requested = self.port
        main = _bind(self.host, requested)
        self._sockets = [main]
        self.port = int(main.getsockname()[1])
        try:
            options = ServerOptions(
                state_path=self.state_path,
                seed_path=self.seed_path,
                base_url=f"http://{_url_host(self.host)}:{self.port}",
                fault_seed=self._fault_seed,
            )
            ctx = options.context()
            runtime = MockRuntime(
                ctx,
                platforms=self._platform_sources,
                extra_platforms=self._extra_platforms,
                fault_seed=self._fault_seed,
                mask_credentials=self.mask_credentials,
                admin_token=self.admin_token,
                request_body_limit=self._request_body_limit,
            )
            apps: list[tuple[socket.socket, ASGIApp]] = []
            overrides: dict[str, str] = {}
            if self.separate_ports:
                for offset, (key, slot) in enumerate(runtime.slots.items(), start=1):
                    sock = _bind(self.host, requested + offset if requested else 0)
                    self._sockets.append(sock)
                    port = int(sock.getsockname()[1])
                    overrides[key] = f"http://{_url_host(self.host)}:{port}{slot.prefix}"
                    apps.append((sock, platform_app(runtime, key)))
            self.app = _build_app(runtime, urls=overrides)
            self.runtime = runtime
            self._urls = _platform_urls(runtime, overrides)
            apps.insert(0, (main, self.app))
            self._serve(apps)
        except BaseException:
            self._close_sockets()
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def _serve(self, apps: list[tuple[socket.socket, ASGIApp]]) -> None:
        import uvicorn

        from mock_servers.connections import TrackingH11Protocol

        servers = []
        for _sock, app in apps:
            config = uvicorn.Config(
                app,
                http=TrackingH11Protocol,
                loop="asyncio",
                lifespan="off",
                log_config=None,
                log_level=self._log_level,
                access_log=False,
                timeout_graceful_shutdown=2,
                timeout_keep_alive=5,
            )
            servers.append(uvicorn.Server(config))
        self._servers = servers
        ready = threading.Event()

        async def serve_all() -> None:
            self._loop = asyncio.get_running_loop()
            tasks = [
                asyncio.create_task(server.serve(sockets=[sock]))
                for server, (sock, _app) in zip(servers, apps, strict=True)
            ]
            while not all(s.started for s in servers) and not any(t.done() for t in tasks):  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.005)
            ready.set()
            await asyncio.gather(*tasks)

        def run() -> None:
            try:
                asyncio.run(serve_all())
            except BaseException as exc:  # surfaced by start()/stop()
                self._error = exc
            finally:
                ready.set()

        self._thread = threading.Thread(target=run, name=f"govlink-mock-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=15):
            raise RuntimeError("the mock server did not start within 15 s")
        if self._error is not None or not all(s.started for s in servers):
            error = self._error
            self.stop()
            raise RuntimeError(f"the mock server failed to start: {error}") from error

    def stop(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                for server in self._servers:
                    server.force_exit = True
                self._thread.join(timeout=5)
        self._thread = None
        self._servers = []
        self._close_sockets()
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        store = self.runtime.ctx.store if self.runtime else None
        close = getattr(store, "close", None)
        if callable(close):
            close()

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._sockets = []

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what clients need --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the main port (admin API, every platform)."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/__admin"

    @property
    def urls(self) -> dict[str, str]:
        """Each platform's base URL (its own port with ``separate_ports``)."""
        return dict(self._urls)

    def profile(self) -> dict[str, Any]:
        """Settings for govlink (same shape as ``govlink.core.config.mock_profile``)."""
        runtime = self._require_runtime()
        return build_profile(self.urls, runtime.ctx.seed.section("clients"))

    @property
    def admin(self) -> httpx.Client:
        """An ``httpx.Client`` on ``/__admin`` (closed by :meth:`stop`)."""
        if self._admin is None:
            import httpx

            headers = {"authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
            self._admin = httpx.Client(base_url=self.admin_url, timeout=30.0, headers=headers)
        return self._admin

    def _require_runtime(self) -> MockRuntime:
        if self.runtime is None:
            raise RuntimeError("start the MockServer first")
        return self.runtime

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"MockServer({self.base_url!r}, {state})"
