"""Helpers shared by the payment unit tests (a fake platform served by respx, settings)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from govlink.core.config import GovLinkSettings

BASE = "http://127.0.0.1:9/payment"
SECRET = "demo-payment-secret"
PARTNER = "GOVLINKDEMO"


def make_settings(**options: Any) -> GovLinkSettings:
    return GovLinkSettings.load(
        payments={
            "base_url": BASE,
            "auth": {"client_id": PARTNER, "client_secret": SECRET},
            "options": options,
        },
        http={"max_retries": 0},
    )


@dataclass
class FakePlatform:
    """Records requests; answers with whatever ``reply`` returns for each one."""

    reply: Callable[[dict[str, Any]], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.reply(json.loads(request.content))

    @contextmanager
    def served(self) -> Iterator[respx.MockRouter]:
        """Requests under ``BASE`` go to :meth:`handler` (respx) in this block; none elsewhere."""
        with respx.mock(assert_all_called=False) as router:
            router.route(url__startswith=BASE).mock(side_effect=self.handler)
            yield router

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]
