"""Everything one running mock server holds: context, platforms, journal, faults.

The admin API, the dashboard, the middleware and the in-process test transports all
work on one :class:`MockRuntime`; keeping it in one object (instead of module
globals) is what lets a test suite run several servers side by side.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mock_servers import registry
from mock_servers.context import MockContext
from mock_servers.faults import FaultBook
from mock_servers.journal import Journal
from mock_servers.platform import MockPlatform
from mock_servers.seed import SeedError, validate_sections

__all__ = ["MockRuntime", "PlatformFactory", "PlatformInfo"]

log = logging.getLogger("mock_servers")

PlatformFactory = Callable[[MockContext], MockPlatform]
PlatformSource = str | PlatformFactory
"""A module path exposing ``create_platform(ctx)``, or the factory itself."""

DEFAULT_REQUEST_LIMIT = 32 * 1024 * 1024
"""Largest request body a platform route reads (a document package with attachments
is the biggest legitimate one)."""

_STATE_NAMESPACE = "__mock"
_CLOCK_KEY = "clock_offset_seconds"


@dataclass
class PlatformInfo:
    """One platform slot: mounted, or missing with the reason."""

    key: str
    prefix: str
    platform: MockPlatform | None = None
    source: str | None = None
    problem: str | None = None

    @property
    def available(self) -> bool:
        return self.platform is not None

    def describe(self) -> dict[str, Any]:
        platform = self.platform
        return {
            "name": self.key,
            "platform_name": platform.name if platform else None,
            "title": (platform.title or platform.name) if platform else None,
            "prefix": self.prefix,
            "available": platform is not None,
            "problem": self.problem,
            "switches": list(platform.switch_names) if platform else [],
        }


class MockRuntime:
    """The state of one mock server (not the HTTP plumbing around it)."""

    def __init__(
        self,
        ctx: MockContext,
        *,
        platforms: Mapping[str, PlatformSource] | None = None,
        extra_platforms: Sequence[PlatformFactory] = (),
        fault_seed: int | None = None,
        journal: Journal | None = None,
        request_body_limit: int = DEFAULT_REQUEST_LIMIT,
        mask_credentials: bool = False,
        admin_token: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.journal = journal or Journal()
        self.request_body_limit = request_body_limit
        """Largest request body any platform route reads (413 beyond, refused while reading)."""
        self.mask_credentials = mask_credentials
        """Whether the journal shows credentials as ``***`` unless a read asks otherwise."""
        self.admin_token = admin_token
        """Bearer token the admin API requires (None: open, the loopback default)."""
        self.faults = FaultBook(seed=fault_seed)
        self.slots: dict[str, PlatformInfo] = {}
        sources = dict(registry.PLATFORM_MODULES if platforms is None else platforms)
        for key, source in sources.items():
            self._load(key, source)
        for factory in extra_platforms:
            self._load(None, factory)
        self._restore_clock()

    # --- platforms ----------------------------------------------------------------------

    def _load(self, key: str | None, source: PlatformSource) -> None:
        prefix = registry.PLATFORM_PREFIXES.get(key or "", f"/{key}")
        label = source if isinstance(source, str) else getattr(source, "__qualname__", "factory")
        try:
            if isinstance(source, str):
                factory = importlib.import_module(source).create_platform
            else:
                factory = source
            platform = factory(self.ctx)
            if not isinstance(platform, MockPlatform):
                raise TypeError(f"{label} returned {type(platform).__name__}, not a MockPlatform")
        except Exception as exc:
            self._failed(key, prefix, label, exc)
            return
        key = key or platform.name
        if not key:
            raise ValueError(f"{label}: a platform without a name cannot be mounted")
        if key in self.slots and self.slots[key].available:
            raise ValueError(f"two platforms named {key!r}")
        prefix = platform.prefix or registry.PLATFORM_PREFIXES.get(key, f"/{key}")
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"{label}: prefix {prefix!r} must start and not end with '/'")
        self.slots[key] = PlatformInfo(key=key, prefix=prefix, platform=platform, source=label)

    def _failed(self, key: str | None, prefix: str, label: str, exc: BaseException) -> None:
        log.error("mock platform %s failed to load: %s", key or label, exc, exc_info=exc)
        name = key or label
        self.slots[name] = PlatformInfo(
            key=name,
            prefix=prefix if key else f"/{name}",
            source=label,
            problem=f"failed to load: {type(exc).__name__}: {exc}",
        )

    @property
    def platforms(self) -> dict[str, MockPlatform]:
        """The mounted platforms by key (``gateway``, ``sso``, ``dossiers``…)."""
        return {k: s.platform for k, s in self.slots.items() if s.platform is not None}

    @property
    def unavailable(self) -> dict[str, str]:
        """Platforms that could not be mounted, with the reason."""
        return {k: s.problem or "" for k, s in self.slots.items() if s.platform is None}

    def resolve(self, name: str) -> str | None:
        """The platform key for any of its names: key, ``platform.name``, prefix, module."""
        wanted = name.strip().strip("/").lower()
        if not wanted:
            return None
        for key, slot in self.slots.items():
            aliases = {key.lower(), slot.prefix.strip("/").lower()}
            if slot.platform is not None and slot.platform.name:
                aliases.add(slot.platform.name.lower())
            if slot.source:
                aliases.add(slot.source.rsplit(".", 1)[-1].lower())
            if wanted in aliases:
                return key
        return None

    def platform(self, name: str) -> MockPlatform | None:
        key = self.resolve(name)
        return None if key is None else self.slots[key].platform

    # --- admin operations ---------------------------------------------------------------

    def reset(self) -> None:
        """Journal, faults, clock and every platform's state; the seed is kept."""
        self.journal.clear()
        self.faults.clear()
        self.ctx.clock.reset()
        self.ctx.store.delete(_STATE_NAMESPACE, _CLOCK_KEY)
        for key, platform in self.platforms.items():
            try:
                platform.reset()
            except Exception:
                log.exception("reset of mock platform %s failed", key)
                raise
            self.ctx.switches(platform.name or key).clear()

    def set_clock(self, when: datetime) -> None:
        """Move the virtual clock (``ClockRangeError`` if out of range; nothing changes)."""
        self.ctx.clock.set(when)
        self._clock_moved()

    def advance_clock(self, seconds: float) -> None:
        """Advance the virtual clock (``ClockRangeError`` if out of range; nothing changes)."""
        self.ctx.clock.advance(seconds)
        self._clock_moved()

    def _clock_moved(self) -> None:
        self._save_clock()
        for expiring in list(self.ctx.expiring_namespaces.values()):
            expiring.prune()

    def clock_json(self) -> dict[str, Any]:
        clock = self.ctx.clock
        return {
            "now": clock.now().isoformat(),
            "now_vn": clock.now_vn().isoformat(),
            "offset_seconds": clock.offset_seconds,
        }

    def _save_clock(self) -> None:
        self.ctx.store.put(_STATE_NAMESPACE, _CLOCK_KEY, self.ctx.clock.offset_seconds)

    def _restore_clock(self) -> None:
        saved = self.ctx.store.get(_STATE_NAMESPACE, _CLOCK_KEY)
        if isinstance(saved, bool) or not isinstance(saved, int | float) or not saved:
            return
        self.ctx.clock.reset()
        try:
            self.ctx.clock.advance(float(saved))
        except ValueError as exc:  # a state file written before the range was enforced
            log.warning("ignoring the saved clock offset %r: %s", saved, exc)
            self.ctx.store.delete(_STATE_NAMESPACE, _CLOCK_KEY)

    def load_seed(self, sections: Any) -> list[str]:
        """Replace the sections named in ``sections`` (validated first, all or nothing)."""
        checked = validate_sections(sections, source="seed")
        unknown = sorted(set(checked) - set(self.ctx.seed.sections))
        if unknown:
            known = ", ".join(sorted(self.ctx.seed.sections))
            raise SeedError(f"seed: no section {unknown[0]!r} (known: {known})", section=unknown[0])
        # In place: a platform holding ctx.seed sees the new sections on its next request.
        self.ctx.seed.sections.update(checked)
        return sorted(checked)

    def summaries(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, platform in self.platforms.items():
            try:
                out[key] = platform.summary()
            except Exception as exc:  # a broken summary must not break the dashboard
                log.exception("summary of mock platform %s failed", key)
                out[key] = {"error": f"{type(exc).__name__}: {exc}"}
        return out
