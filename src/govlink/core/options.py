"""Typed reads of a platform's free-form ``options`` table.

``settings.<platform>.options`` comes from TOML, ``.env`` or environment variables,
so a flag may arrive as ``true``, ``"true"`` or ``"1"`` and a number as ``"100"``.
Every platform reads its options through :class:`PlatformOptions`, so they all accept
the same spellings and a bad value is one :class:`ConfigurationError` that names the
variable to fix (``GOVLINK_<PLATFORM>__OPTIONS__<NAME>``) when the client is created,
not a ``ValueError`` deep inside a call.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from govlink.core.errors import ConfigurationError

__all__ = ["PlatformOptions"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class PlatformOptions:
    """The ``options`` of one platform, read with validation."""

    def __init__(self, platform: str, options: Mapping[str, Any]) -> None:
        self.platform = platform
        self.options = options

    def variable(self, name: str) -> str:
        """The environment variable that sets option ``name``."""
        return f"GOVLINK_{self.platform.upper()}__OPTIONS__{name.upper()}"

    def _bad(self, name: str, value: Any, expected: str) -> ConfigurationError:
        return ConfigurationError(
            f"{self.platform} option {name} is {value!r}",
            setting=self.variable(name),
            expected=expected,
        )

    def flag(self, name: str, default: bool) -> bool:
        value = self.options.get(name, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self._bad(name, value, "true or false")

    def whole(self, name: str, default: int, *, minimum: int = 1) -> int:
        value = self.options.get(name, default)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise self._bad(name, value, f"a whole number >= {minimum}") from None
        if number < minimum:
            raise self._bad(name, value, f"a whole number >= {minimum}")
        return number

    def seconds(self, name: str, default: float) -> float:
        value = self.options.get(name, default)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if not number >= 0:  # also refuses NaN
            raise self._bad(name, value, "a number of seconds >= 0")
        return number

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.options.get(name, default)
        if value is None or value == "":
            return default if value is None else None
        if not isinstance(value, str):
            raise self._bad(name, value, "a string")
        return value

    def paths(self, name: str) -> list[str | Path] | None:
        """A list of file paths: a TOML list, or one comma-separated string."""
        value = self.options.get(name)
        if not value:
            return None
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [part.strip() for part in str(value).split(",") if part.strip()]
