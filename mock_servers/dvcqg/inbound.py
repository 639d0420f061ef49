"""Dossiers that flow down, in the DVCQG mock: citizen-submitted dossiers the portal
pushes to the province ([OC] ``/nhanhsdvcqg``) until it answers ``error_code`` 0.

The portal holds them (seed ``submitted_dossiers``, ``POST /dvcqg/_mock/submitted``);
``POST /dvcqg/_mock/deliver`` pushes every one not yet acknowledged to the
``deliver_to`` switch (or ``?to=URL``; loopback only, a test tool never calls out).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from mock_servers.context import MockContext
from mock_servers.dvcqg.wire import error, json_body, reply

__all__ = ["DELIVERY_SERVICE", "Submissions"]

NS_SUBMITTED = "dossiers.submitted"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
DELIVERY_SERVICE = "NhanHoSoDVCQG"
"""The ``service`` named in a push (assumed: [OC] only distinguishes NhanChungTuThueDat)."""


class Submissions:
    """The portal's citizen-submitted dossiers and their delivery to the province."""

    def __init__(self, ctx: MockContext, lock: threading.RLock, platform: str) -> None:
        self.ctx = ctx
        self._lock = lock
        self.platform = platform

    def pending_and_done(self) -> dict[str, dict[str, Any]]:
        """Citizen-submitted dossiers: the seed's ``submitted_dossiers`` plus those
        injected through ``POST /dvcqg/_mock/submitted``, with their delivery state."""
        state = dict(self.ctx.store.items(NS_SUBMITTED))
        out: dict[str, dict[str, Any]] = {}
        for position, item in enumerate(self.ctx.seed.section("submitted_dossiers")):
            if isinstance(item, dict) and isinstance(item.get("data"), dict):
                key = f"seed-{position:04d}"
                out[key] = {**item, **state.get(key, {})}
        for key, record in state.items():
            if not key.startswith("seed-"):
                out[key] = record
        return out

    async def submit(self, request: Request) -> Response:
        """Inject a dossier "submitted by a citizen on the portal":
        ``{"data": {"MaHoSo", "MaTTHC", …}, "isUpdating": false}``."""
        item = json_body(await request.body(), dict)
        if isinstance(item, Response):
            return item
        data = item.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("MaHoSo"), str):
            return error("04", 'cần {"data": {"MaHoSo": …}} (data with MaHoSo needed)')
        with self._lock:
            key = f"inj-{self.ctx.store.count(NS_SUBMITTED):06d}"
            record = {"data": data, "isUpdating": bool(item.get("isUpdating", False))}
            self.ctx.store.put(NS_SUBMITTED, key, record)
        return reply({"error_code": "00", "message": "Đã thêm", "key": key})

    async def listing(self, request: Request) -> Response:
        with self._lock:
            submitted = self.pending_and_done()
        return reply(
            {
                "submitted": [
                    {
                        "key": key,
                        "MaHoSo": record["data"].get("MaHoSo"),
                        "acknowledged": bool(record.get("acknowledged")),
                        "attempts": int(record.get("attempts", 0)),
                        "last": record.get("last"),
                    }
                    for key, record in submitted.items()
                ]
            }
        )

    async def deliver(self, request: Request) -> Response:
        """Push every dossier not yet acknowledged to the province (switch
        ``deliver_to``, or ``?to=URL``), as [OC]'s ``/nhanhsdvcqg`` receives it; a
        dossier stays pending until the province answers ``error_code`` 0."""
        target = request.query_params.get("to") or self.ctx.switches(self.platform).get(
            "deliver_to"
        )
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            return error("04", "cần switch deliver_to hoặc ?to=URL (no receiver URL)")
        if httpx.URL(target).host not in _LOOPBACK:  # a test tool: never call out
            return error("04", "deliver_to phải là địa chỉ loopback (127.0.0.1, localhost)")
        with self._lock:
            pending = {
                k: r for k, r in self.pending_and_done().items() if not r.get("acknowledged")
            }
        results = []
        async with httpx.AsyncClient(timeout=15) as client:
            for key, record in pending.items():
                body = {
                    "service": DELIVERY_SERVICE,
                    "isUpdating": bool(record.get("isUpdating", False)),
                    "data": record["data"],
                }
                outcome: dict[str, Any] = {"at": self.ctx.clock.now_vn().isoformat()}
                try:
                    response = await client.post(target, json=body)
                    answer = response.json()
                    code = answer.get("error_code") if isinstance(answer, dict) else None
                    outcome |= {"status_code": response.status_code, "error_code": code}
                    ok = response.status_code == 200 and str(code) == "0"
                except (httpx.HTTPError, ValueError) as exc:
                    outcome["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
                    ok = False
                state = {
                    "data": record["data"],
                    "isUpdating": bool(record.get("isUpdating", False)),
                    "acknowledged": ok,
                    "attempts": int(record.get("attempts", 0)) + 1,
                    "last": outcome,
                }
                with self._lock:
                    self.ctx.store.put(NS_SUBMITTED, key, state)
                results.append({"key": key, "MaHoSo": record["data"].get("MaHoSo"), **outcome})
        delivered = sum(1 for r in results if str(r.get("error_code")) == "0")
        return reply(
            {"delivered": delivered, "pending": len(results) - delivered, "results": results}
        )
