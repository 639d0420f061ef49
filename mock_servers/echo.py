"""A tiny "platform" that echoes requests: for testing the server machinery itself.

Not mounted by default (it is no national platform). Tests mount it with
``create_app(extra_platforms=[echo.create_platform])`` or
``MockServer(extra_platforms=[...])`` to exercise the journal, faults, clock and
state without depending on any real platform mock.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_servers.context import MockContext
from mock_servers.platform import MockPlatform

__all__ = ["EchoPlatform", "create_platform"]


class EchoPlatform(MockPlatform):
    name = "echo"
    prefix = "/echo"
    title = "Echo (test platform)"
    switch_names = ("status",)

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self._app = Starlette(
            routes=[
                Route("/boom", self.boom),
                Route("/parse", self.parse, methods=["POST"]),
                Route("/big", self.big),
                Route("/status/{code:int}", self.status),
                Route("/{path:path}", self.echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            ]
        )

    @property
    def app(self) -> Starlette:
        return self._app

    def apply_switches(self, switches: dict[str, Any]) -> None:
        status = switches.get("status")
        if (
            "status" in switches
            and status is not None
            and (
                isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599
            )
        ):
            raise ValueError("switch 'status' must be an HTTP status 200..599 or null")
        super().apply_switches(switches)

    def _count(self) -> int:
        calls = int(self.ctx.store.get("echo.stats", "calls") or 0) + 1
        self.ctx.store.put("echo.stats", "calls", calls)
        return calls

    async def echo(self, request: Request) -> Response:
        body = await request.body()
        calls = self._count()
        status = self.ctx.switches(self.name).get("status") or 200
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "body": body.decode("utf-8", "replace"),
                "calls": calls,
                "now": self.ctx.clock.now().isoformat(),
            },
            status_code=int(status),
        )

    async def boom(self, request: Request) -> Response:
        raise RuntimeError("the echo platform blew up on purpose")

    async def parse(self, request: Request) -> Response:
        """Parses the body as JSON carelessly: bad input raises, the server answers 400."""
        return JSONResponse({"parsed": json.loads(await request.body())})

    async def big(self, request: Request) -> Response:
        size = int(request.query_params.get("n", "100000"))
        return Response(b"x" * size, media_type="text/plain")

    async def status(self, request: Request) -> Response:
        return JSONResponse({"status": request.path_params["code"]}, request.path_params["code"])

    def summary(self) -> dict[str, Any]:
        return {"calls": int(self.ctx.store.get("echo.stats", "calls") or 0)}


def create_platform(ctx: MockContext) -> EchoPlatform:
    return EchoPlatform(ctx)
