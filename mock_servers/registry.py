"""Which platform mocks the server mounts, found by module name.

Each module exposes ``create_platform(ctx: MockContext) -> MockPlatform``. A module
that fails to load is reported by the server (``/__admin`` and on start) with the
reason, and its prefix answers 404 saying why.
"""

from __future__ import annotations

PLATFORM_MODULES: dict[str, str] = {
    "gateway": "mock_servers.gateway",
    "sso": "mock_servers.sso",
    "dossiers": "mock_servers.dvcqg",
    "payments": "mock_servers.payments",
    "citizens": "mock_servers.dancu",
    "documents": "mock_servers.vdxp",
}

# Where each platform is mounted (same as ``govlink.core.config.MOCK_PREFIXES``); the
# server answers under a platform that failed to load with an error that says why.
PLATFORM_PREFIXES: dict[str, str] = {
    "gateway": "/gateway",
    "sso": "/sso",
    "dossiers": "/dvcqg",
    "payments": "/payment",
    "citizens": "/dancu",
    "documents": "/vdxp",
}
