"""The base class every platform mock derives from.

A platform mock is a Starlette app mounted under its prefix (``/sso``, ``/dvcqg``…)
plus three hooks the server and dashboard use: :meth:`reset`, :meth:`summary` and
:meth:`apply_switches`. Request journaling and fault injection are done by the
server around every platform, so a platform mock never has to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from starlette.types import ASGIApp

from mock_servers.context import MockContext


class MockPlatform(ABC):
    """One national platform's mock. Subclasses set ``name``/``prefix`` and build ``app``."""

    name: str = ""
    prefix: str = ""
    title: str = ""
    switch_names: tuple[str, ...] = ()
    """Admin switches this mock understands (validated by the admin API)."""

    def __init__(self, ctx: MockContext) -> None:
        self.ctx = ctx

    @property
    @abstractmethod
    def app(self) -> ASGIApp:
        """The platform's ASGI app, mounted by the server under :attr:`prefix`."""

    def reset(self) -> None:
        """Forget everything received; keep the seed. Called by ``/__admin/reset``."""
        self.ctx.store.clear(f"{self.name}.")
        self.ctx.switches(self.name).clear()

    def summary(self) -> dict[str, Any]:
        """A JSON-ready view of the state, for ``/__admin/state`` and the dashboard."""
        return {}

    def apply_switches(self, switches: dict[str, Any]) -> None:
        """Validate and store admin switches; raise ``ValueError`` naming a bad one."""
        unknown = sorted(set(switches) - set(self.switch_names))
        if unknown:
            known = ", ".join(self.switch_names) or "none"
            raise ValueError(f"unknown switch {unknown[0]!r} for {self.name} (known: {known})")
        self.ctx.switches(self.name).update(switches)
