"""The one error type bad admin input raises, so every admin route answers alike.

The admin API turns it into ``400 {"error": "...", "field": "<name>"}``: a test author
who typed ``latency`` instead of ``latency_ms`` learns which field to fix.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad admin input; ``field`` names what to fix."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_json(self) -> dict[str, str | None]:
        return {"error": self.message, "field": self.field}
