"""Mock of a provincial gateway (LGSP/NGSP) in WSO2 API Manager style (PLATFORMS.md §6).

``POST /gateway/token`` issues client-credentials tokens (key/secret by HTTP Basic
or as form fields), ``POST /gateway/token/partner`` the vendor variant whose
credentials travel as base64 JSON in one header (the wire form of
``govlink.core.auth.GatewayHeaderJsonAuth``). Tokens live in the store and expire
by the virtual clock, so a test can make a token expire with
``/__admin/clock {"advance": 3600}`` instead of waiting an hour.

Other mocks reached "through the gateway" check bearer tokens in-process with
:func:`token_is_valid` (or :func:`bearer_client`).
"""

from __future__ import annotations

from mock_servers.gateway.platform import (
    GatewayPlatform,
    bearer_client,
    create_platform,
    token_is_valid,
)

__all__ = ["GatewayPlatform", "bearer_client", "create_platform", "token_is_valid"]
