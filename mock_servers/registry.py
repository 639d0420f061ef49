"""Which platform mocks the server mounts, found by module name.

Each module exposes ``create_platform(ctx: MockContext) -> MockPlatform``. A module
that is not present yet is skipped (the server says so on start), so platforms can
land one at a time.
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
# server answers under a missing platform's prefix with a 404 that says why.
PLATFORM_PREFIXES: dict[str, str] = {
    "gateway": "/gateway",
    "sso": "/sso",
    "dossiers": "/dvcqg",
    "payments": "/payment",
    "citizens": "/dancu",
    "documents": "/vdxp",
}
