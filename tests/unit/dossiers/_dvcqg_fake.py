"""A scriptable fake DVCQG adapter for unit tests, served through respx."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import respx

from govlink.core.clock import VN_TZ
from govlink.core.config import GovLinkSettings, mock_profile
from govlink.dossiers import Dossier

BASE = "http://portal.test/dvcqg"


def dossier(n: int, status: int = 2) -> Dossier:
    """Dossier ``HS-n`` of procedure 1.001193 received on 2 March 2026."""
    return Dossier(
        ma_ho_so=f"HS-{n}",
        procedure_code="1.001193",
        status=status,
        received_at=datetime(2026, 3, 2, 8, tzinfo=VN_TZ),
    )


def portal_settings(
    base: str, paths: dict[str, str] | None = None, **options: Any
) -> GovLinkSettings:
    """The mock profile pointed at ``base``, with these options (no HTTP retries)."""
    profile = mock_profile()
    profile["dossiers"]["base_url"] = base
    profile["dossiers"]["options"] = options
    if paths:
        profile["dossiers"]["paths"] = paths
    return GovLinkSettings.load(
        profile="mock", profile_file=None, **profile, http={"max_retries": 0}
    )


@contextmanager
def served(handler: Callable[[httpx.Request], httpx.Response]) -> Iterator[respx.MockRouter]:
    """Requests to the adapter at ``BASE`` answered by ``handler`` (respx); none elsewhere."""
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith=BASE).mock(side_effect=handler)
        yield router


@dataclass
class FakePortal:
    """Answers like the portal; tests tweak ``expire_next``, ``refuse`` and ``handler``."""

    sessions_issued: int = 0
    expire_next: int = 0
    refuse: dict[str, tuple[str, str]] = field(default_factory=dict)
    handler: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    logins: list[dict[str, Any]] = field(default_factory=list)
    login_headers: list[httpx.Headers] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    call_headers: list[httpx.Headers] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/auth"):
            self.logins.append(body)
            self.login_headers.append(request.headers)
            if body.get("password") != "demo-password":
                return httpx.Response(200, json={"error_code": "01", "message": "wrong password"})
            self.sessions_issued += 1
            return httpx.Response(
                200, json={"session": f"s{self.sessions_issued}", "error_code": 0}
            )
        self.calls.append(body)
        self.urls.append(str(request.url))
        self.call_headers.append(request.headers)
        if self.expire_next:
            self.expire_next -= 1
            return httpx.Response(200, json={"error_code": "02", "message": "session expired"})
        if self.handler is not None:
            custom = self.handler(body)
            if custom is not None:
                return httpx.Response(200, json=custom)
        if body["service"] in ("DongBoHoSoMC", "CapNhatTienDoHoSoMC"):
            results = []
            for item in body["data"]:
                code, message = self.refuse.get(item["MaHoSo"], ("00", "ok"))
                results.append(
                    {
                        "MaHoSo": item["MaHoSo"],
                        "IdempotencyKey": item.get("IdempotencyKey"),
                        "error_code": code,
                        "message": message,
                    }
                )
            top = "00" if all(r["error_code"] == "00" for r in results) else "10"
            return httpx.Response(200, json={"error_code": top, "result": results})
        return httpx.Response(200, json={"error_code": "00", "result": []})

    @property
    def items_sent(self) -> list[dict[str, Any]]:
        return [item for call in self.calls for item in call.get("data", [])]
