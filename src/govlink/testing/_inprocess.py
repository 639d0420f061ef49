"""The mock platforms without a server: the ASGI app plus httpx transports.

``govlink_mock_app`` hands this to unit tests that want the real mock behaviour but
no sockets at all (and so run under the hermetic switch trivially). It is a
:class:`MockHandle` too: faults, clock and journal work exactly as on a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from govlink.testing._handle import MockHandle
from govlink.testing._transports import MockASGITransport, SyncASGITransport

if TYPE_CHECKING:
    from govlink.client import AsyncGovLink, GovLink

__all__ = ["IN_PROCESS_HOST", "InProcessMock"]

IN_PROCESS_HOST = "mock.govlink.test"
"""Host name of in-process URLs: a reserved ``.test`` name, so a request that escapes
the in-process transport fails to resolve instead of reaching something real."""


class InProcessMock(MockHandle):
    """The mock app, its transports, and the :class:`MockHandle` helpers."""

    def __init__(self, **create_app_kwargs: Any) -> None:
        from mock_servers.server import ServerOptions, create_app, runtime_of

        base_url = f"http://{IN_PROCESS_HOST}"
        options = ServerOptions(base_url=base_url)
        self.app = create_app(options, **create_app_kwargs)
        self.runtime = runtime_of(self.app)
        self.transport = MockASGITransport(self.app)
        """For ``httpx.AsyncClient`` and :class:`~govlink.client.AsyncGovLink`."""
        self.sync_transport = SyncASGITransport(self.app)
        """For ``httpx.Client`` and :class:`~govlink.client.GovLink`."""
        super().__init__(
            base_url, httpx.Client(transport=self.sync_transport, base_url=f"{base_url}/__admin")
        )

    def client(self, **overrides: Any) -> GovLink:
        from govlink.client import GovLink

        return GovLink(self.settings(**overrides), transport=self.sync_transport)

    def async_client(self, **overrides: Any) -> AsyncGovLink:
        from govlink.client import AsyncGovLink

        return AsyncGovLink(self.settings(**overrides), transport=self.transport)

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """A plain ``httpx.Client`` on the app (``base_url`` is the mock root)."""
        return httpx.Client(transport=self.sync_transport, base_url=self.base_url, **kwargs)

    def async_http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, base_url=self.base_url, **kwargs)

    def reset(self) -> None:
        self.runtime.reset()

    def close(self) -> None:
        super().close()
        self.sync_transport.close()
