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
from typing import TYPE_CHECKING, Any, Self, cast

import httpx

from govlink.core.config import GovLinkSettings
from govlink.core.lifecycle import AsyncClosable, Closable

if TYPE_CHECKING:  # the platform packages load on first use, not at import
    from govlink.citizens import AsyncCitizenClient, CitizenClient
    from govlink.documents import AsyncDocumentClient, DocumentClient
    from govlink.dossiers import AsyncDossierClient, DossierClient
    from govlink.payments import AsyncPaymentClient, PaymentClient
    from govlink.sso import AsyncSsoClient, SsoClient

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
    module = importlib.import_module(module_name)
    return getattr(module, async_name if is_async else sync_name)


class _FacadeBase:
    _is_async = False

    def __init__(self, settings: GovLinkSettings | None = None, transport: Any = None) -> None:
        self.settings = settings or GovLinkSettings.load()
        self._transport = transport
        self._clients: dict[str, Any] = {}

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """Settings from ``GOVLINK_*`` variables, ``.env`` and the selected profile."""
        return cls(GovLinkSettings.load(**overrides))

    @classmethod
    def from_profile(cls, name: str, profile_file: str | Path | None = None) -> Self:
        """Settings of one named profile (built-in ``mock`` or from a TOML file)."""
        return cls(GovLinkSettings.from_profile(name, profile_file))

    def _client(self, name: str) -> Any:
        """The platform client of namespace ``name``, created (and imported) on first use."""
        if name not in self._clients:
            cls = _client_class(name, is_async=self._is_async)
            self._clients[name] = cls(self.settings, transport=self._transport)
        return self._clients[name]

    def available_platforms(self) -> list[str]:
        """The platform namespaces of the facade (every one ships with govlink)."""
        return list(_NAMESPACES)


class GovLink(_FacadeBase, Closable):
    """Synchronous facade: ``with GovLink.from_profile("mock") as gl: gl.dossiers…``."""

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings, transport)

    @property
    def sso(self) -> SsoClient:
        """Login through the DVCQG/VNeID identity provider."""
        return cast("SsoClient", self._client("sso"))

    @property
    def dossiers(self) -> DossierClient:
        """Dossier status, progress and results to DVCQG."""
        return cast("DossierClient", self._client("dossiers"))

    @property
    def payments(self) -> PaymentClient:
        """Fees and charges on the DVCQG payment platform."""
        return cast("PaymentClient", self._client("payments"))

    @property
    def citizens(self) -> CitizenClient:
        """Look-ups in the national population database."""
        return cast("CitizenClient", self._client("citizens"))

    @property
    def documents(self) -> DocumentClient:
        """Official documents over the document axis."""
        return cast("DocumentClient", self._client("documents"))

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

    _is_async = True

    def __init__(
        self,
        settings: GovLinkSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, transport)

    @property
    def sso(self) -> AsyncSsoClient:
        """Login through the DVCQG/VNeID identity provider."""
        return cast("AsyncSsoClient", self._client("sso"))

    @property
    def dossiers(self) -> AsyncDossierClient:
        """Dossier status, progress and results to DVCQG."""
        return cast("AsyncDossierClient", self._client("dossiers"))

    @property
    def payments(self) -> AsyncPaymentClient:
        """Fees and charges on the DVCQG payment platform."""
        return cast("AsyncPaymentClient", self._client("payments"))

    @property
    def citizens(self) -> AsyncCitizenClient:
        """Look-ups in the national population database."""
        return cast("AsyncCitizenClient", self._client("citizens"))

    @property
    def documents(self) -> AsyncDocumentClient:
        """Official documents over the document axis."""
        return cast("AsyncDocumentClient", self._client("documents"))

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
