"""govlink: a typed SDK for Vietnam's national e-government platforms.

Importing ``govlink`` is cheap on purpose (a CLI call or a web worker should not
pay for zeep, signxml or rich until it uses them): the facade and platform clients
are loaded on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from govlink._version import __version__
from govlink.core.errors import (
    AuthenticationError,
    ConfigurationError,
    GovLinkError,
    GovLinkTimeoutError,
    NotFoundError,
    PlatformError,
    RateLimitedError,
    SignatureError,
    TransportError,
    ValidationError,
)

if TYPE_CHECKING:
    from govlink.client import AsyncGovLink, GovLink
    from govlink.core.config import GovLinkSettings

__all__ = [
    "AsyncGovLink",
    "AuthenticationError",
    "ConfigurationError",
    "GovLink",
    "GovLinkError",
    "GovLinkSettings",
    "GovLinkTimeoutError",
    "NotFoundError",
    "PlatformError",
    "RateLimitedError",
    "SignatureError",
    "TransportError",
    "ValidationError",
    "__version__",
]

_LAZY = {
    "GovLink": "govlink.client",
    "AsyncGovLink": "govlink.client",
    "GovLinkSettings": "govlink.core.config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'govlink' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
