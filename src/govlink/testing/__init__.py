"""Test helpers for integrations: the mock platforms as pytest fixtures.

The fixtures come from :mod:`govlink.testing.plugin` (loaded automatically through
the ``pytest11`` entry point); the classes here are what they hand out, importable
for type hints and for use outside pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from govlink.testing._handle import MockAdminError, MockHandle
from govlink.testing._hermetic import HermeticGuard, HermeticViolation, is_loopback_address

if TYPE_CHECKING:
    from govlink.testing._inprocess import InProcessMock

__all__ = [
    "HermeticGuard",
    "HermeticViolation",
    "InProcessMock",
    "MockAdminError",
    "MockHandle",
    "is_loopback_address",
]


def __getattr__(name: str) -> Any:
    # InProcessMock needs the 'mock' extra (starlette); import it only when asked.
    if name == "InProcessMock":
        from govlink.testing._inprocess import InProcessMock

        return InProcessMock
    raise AttributeError(f"module 'govlink.testing' has no attribute {name!r}")
