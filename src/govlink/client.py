"""The facades: one object per deployment, one namespace per platform.

``GovLink`` and ``AsyncGovLink`` own the settings and create each platform client
on first use (so a vendor that only uses SSO never loads zeep). They are context
managers: leaving the block closes every connection pool they opened.

Platform clients follow one constructor contract, which is what lets the facade
stay this small::

    XClient(settings: GovLinkSettings, *, transport: httpx.BaseTransport | None = None)
    AsyncXClient(settings: GovLinkSettings, *, transport: httpx.AsyncBaseTransport | None = None)

with ``close()`` / ``aclose()``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Self

import httpx

from govlink.core.config import GovLinkSettings
from govlink.core.errors import GovLinkError
from govlink.core.lifecycle import AsyncClosable, Closable

__all__ = ["AsyncGovLink", "GovLink"]

# namespace -> (module, sync class, async class)
_NAMESPACES: dict[str, tuple[str, str, str]] = {
    "sso": ("govlink.sso", "SsoClient", "AsyncSsoClient"),
    "dossiers": ("govlink.dossiers", "DossierClient", "AsyncDossierClient"),
    "payments": ("govlink.payments", "PaymentClient", "AsyncPaymentClient"),
    "citizens": ("govlink.citizens", "CitizenClient", "AsyncCitizenClient"),
    "documents": ("govlink.documents", "DocumentClient", "AsyncDocumentClient"),
}


def _client_class(namespace: str, *, is_async: bool) -> Any:
    module_name, sync_name, async_name = _NAMESPACES[namespace]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise GovLinkError(
            f"the {namespace} platform client is not part of this govlink version",
            hint="upgrade govlink (see CHANGELOG.md for when it landed)",
        ) from None
    return getattr(module, async_name if is_async else sync_name)


class _FacadeBase:
    def __init__(self, settings: GovLinkSettings | None = None) -> None:
        self.settings = settings or GovLinkSettings.load()
        self._clients: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in _NAMESPACES:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        return self._client(name)

    def _client(self, name: str) -> Any:
        raise AttributeError(name)  # overridden by the two facades

    def available_platforms(self) -> list[str]:
        """The platform namespaces this installation provides."""
        found = []
        for name, (module_name, _s, _a) in _NAMESPACES.items():
            try:
                importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            found.append(name)
        return found


class GovLink(_FacadeBase, Closable):
    """Synchronous facade: ``with GovLink.from_profile("mock") as gl: gl.dossiers…``."""

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings)
        self._transport = transport

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Settings from ``GOVLINK_*`` variables, ``.env`` and the selected profile."""
        return cls(GovLinkSettings.load(**overrides))

    @classmethod
    def from_profile(cls, name: str, profile_file: str | Path | None = None) -> Self:
        """Settings of one named profile (built-in ``mock`` or from a TOML file)."""
        return cls(GovLinkSettings.from_profile(name, profile_file))

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            cls = _client_class(name, is_async=False)
            self._clients[name] = cls(self.settings, transport=self._transport)
        return self._clients[name]

    def close(self) -> None:
        """Close every platform client opened so far (all of them, even if one fails)."""
        clients, self._clients = self._clients, {}
        failure: BaseException | None = None
        for client in clients.values():
            try:
                client.close()
            except Exception as exc:  # close the others, then report the first failure
                failure = failure or exc
        if failure is not None:
            raise failure


class AsyncGovLink(_FacadeBase, AsyncClosable):
    """Asynchronous facade: ``async with AsyncGovLink.from_profile("mock") as gl: …``."""

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings)
        self._transport = transport

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Settings from ``GOVLINK_*`` variables, ``.env`` and the selected profile."""
        return cls(GovLinkSettings.load(**overrides))

    @classmethod
    def from_profile(cls, name: str, profile_file: str | Path | None = None) -> Self:
        """Settings of one named profile (built-in ``mock`` or from a TOML file)."""
        return cls(GovLinkSettings.from_profile(name, profile_file))

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            cls = _client_class(name, is_async=True)
            self._clients[name] = cls(self.settings, transport=self._transport)
        return self._clients[name]

    async def aclose(self) -> None:
        """Close every platform client opened so far (all of them, even if one fails)."""
        clients, self._clients = self._clients, {}
        failure: BaseException | None = None
        for client in clients.values():
            try:
                await client.aclose()
            except Exception as exc:  # close the others, then report the first failure
                failure = failure or exc
        if failure is not None:
            raise failure
