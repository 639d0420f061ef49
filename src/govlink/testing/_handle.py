"""A test's handle on a mock server: settings for it, faults, clock, journal.

Everything goes through the admin HTTP API, so the same handle drives a server the
plugin started, one started by ``govlink mock up`` in another CI step
(``--govlink-mock-url``), or the in-process app.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from govlink.client import AsyncGovLink, GovLink
    from govlink.core.config import GovLinkSettings

__all__ = ["MockAdminError", "MockHandle"]


class MockAdminError(ValueError):
    """The mock's admin API refused a request (``field`` names what to fix)."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def _params(filters: dict[str, Any]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            params[key] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            params[key] = "true" if value else "false"
        else:
            params[key] = str(value)
    return params


class MockHandle:
    """Helpers on one mock server, through its ``/__admin`` API."""

    def __init__(self, base_url: str, admin: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self.admin = admin
        parts = urlsplit(self.base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)

    # --- plumbing -----------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.admin.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                data = response.json()
            except ValueError:
                data = {"error": response.text}
            raise MockAdminError(
                f"mock admin {method} {path}: {data.get('error', response.text)}",
                field=data.get("field"),
                status=response.status_code,
            )
        return response.json() if response.content else None

    def close(self) -> None:
        self.admin.close()

    # --- connecting a client ------------------------------------------------------------

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/__admin"

    @property
    def dashboard_url(self) -> str:
        return f"{self.admin_url}/ui/"

    def url(self, platform: str) -> str:
        """Base URL of one platform (``sso``, ``dossiers``… or its prefix ``dvcqg``)."""
        for item in self._call("GET", "/platforms")["platforms"]:
            names = {item["name"], item["prefix"].strip("/"), item.get("platform_name")}
            if platform in names:
                return str(item["url"])
        raise MockAdminError(f"no platform {platform!r} on this mock", field="platform")

    def profile(self) -> dict[str, Any]:
        """The built-in ``mock`` profile pointed at this server."""
        from govlink.core.config import mock_profile

        return mock_profile(port=self.port, host=self.host)

    def settings(self, **overrides: Any) -> GovLinkSettings:
        """:class:`GovLinkSettings` for this server; ``overrides`` are deep-merged
        (``settings(http={"max_retries": 0})``)."""
        from govlink.core.config import GovLinkSettings, deep_merge

        values = deep_merge({"profile": "mock", "profile_file": None, **self.profile()}, overrides)
        return GovLinkSettings.load(**values)

    def client(self, **overrides: Any) -> GovLink:
        """A :class:`~govlink.client.GovLink` on this server (close it, or use ``with``)."""
        from govlink.client import GovLink

        return GovLink(self.settings(**overrides))

    def async_client(self, **overrides: Any) -> AsyncGovLink:
        from govlink.client import AsyncGovLink

        return AsyncGovLink(self.settings(**overrides))

    # --- admin operations ---------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def reset(self) -> None:
        """Journal, faults, clock, every platform's state (the seed stays)."""
        self._call("POST", "/reset")

    def set_fault(
        self,
        platform: str | None = None,
        path: str | None = None,
        method: str | list[str] | None = None,
        *,
        status: int | None = None,
        latency_ms: float | tuple[float, float] | list[float] | None = None,
        reset_connection: bool | None = None,
        truncate_body: bool | int | None = None,
        malformed_body: bool | None = None,
        probability: float | None = None,
        count: int | None = None,
        **more: Any,
    ) -> dict[str, Any]:
        """Add a fault; returns it (with its ``id``). See ``docs/testing.md`` for fields
        (``body``, ``headers``, ``retry_after``, ``seed``, ``name`` go in ``more``)."""
        fields: dict[str, Any] = {
            "platform": platform,
            "path": path,
            "method": method,
            "status": status,
            "latency_ms": list(latency_ms) if isinstance(latency_ms, tuple) else latency_ms,
            "reset_connection": reset_connection,
            "truncate_body": truncate_body,
            "malformed_body": malformed_body,
            "probability": probability,
            "count": count,
            **more,
        }
        result: dict[str, Any] = self._call(
            "POST", "/faults", json={k: v for k, v in fields.items() if v is not None}
        )
        return result

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def now(self) -> datetime:
        """The mocks' virtual time."""
        return datetime.fromisoformat(self._call("GET", "/clock")["now"])

    def advance_clock(self, seconds: float) -> datetime:
        """Move the virtual clock forward (tokens and sessions expire by it)."""
        return datetime.fromisoformat(
            self._call("POST", "/clock", json={"advance": seconds})["now"]
        )

    def set_clock(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("set_clock needs an aware datetime (add tzinfo)")
        return datetime.fromisoformat(
            self._call("POST", "/clock", json={"set": when.isoformat()})["now"]
        )

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries, oldest first. Filters: ``platform``, ``path`` (prefix or
        glob), ``method``, ``status`` (``503``, ``"5xx"``), ``since`` (id), ``limit``,
        ``order`` (``"desc"``), ``fault`` (bool), ``pending`` (bool).

        The mock serves the journal in pages; without a ``limit`` every page is
        fetched (following ``next``), so nothing the mock kept is missed.
        """
        params = _params(filters)
        entries: list[dict[str, Any]] = []
        while True:
            page = self._call("GET", "/journal", params=params)
            entries.extend(page["entries"])
            following = page.get("next")
            if "limit" in filters or not page.get("more") or not following:
                return entries
            params = {**params, **{k: str(v) for k, v in following.items()}}

    def count(self, **filters: Any) -> int:
        """How many journal entries match (same filters as :meth:`journal`)."""
        return int(self._call("GET", "/journal/count", params=_params(filters))["count"])

    def clear_journal(self) -> None:
        self._call("DELETE", "/journal")

    def switch(self, platform: str, **switches: Any) -> dict[str, Any]:
        """Set admin switches of one platform mock (``ValueError`` names a bad one)."""
        result: dict[str, Any] = self._call(
            "POST", f"/platforms/{platform}/switches", json=switches
        )["switches"]
        return result

    def state(self) -> dict[str, Any]:
        """Every platform's state summary, by platform."""
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def load_seed(self, **sections: Any) -> list[str]:
        """Replace seed sections (``load_seed(citizens=[...])``); the rest stays."""
        loaded: list[str] = self._call("POST", "/seed", json=sections)["loaded"]
        return loaded

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"
