"""The vendor's own code: one call to an API behind the provincial gateway.

It is written against govlink's settings only, so the same function runs against
production (a profile naming the real gateway) and against the mocks in tests.
"""

from __future__ import annotations

from typing import Any

import httpx

from govlink.core.auth import auth_for
from govlink.core.config import GovLinkSettings
from govlink.core.http import HttpTransport, build_client


def gateway_ping(
    settings: GovLinkSettings, *, transport: httpx.BaseTransport | None = None
) -> dict[str, Any]:
    """Call ``GET {gateway}/api/ping`` with a gateway token (retries what is safe)."""
    base_url = settings.platform("gateway").base_url
    auth = auth_for(settings, "gateway")
    with build_client(settings, "gateway", transport=transport, auth=auth) as client:
        reply = HttpTransport(client, settings).request("GET", f"{base_url}/api/ping", safe=True)
        reply.response.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result
