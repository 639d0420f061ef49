"""Context-manager behaviour for everything that owns a connection pool.

Every client (platform clients, HTTP transports, the facades) closes its pools in
``close()`` / ``aclose()``; these mixins turn that into ``with`` / ``async with``
support once, instead of each class repeating the same ``__enter__``/``__exit__``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["AsyncClosable", "Closable"]


class Closable(ABC):
    """``with obj: …`` calls ``obj.close()`` on the way out, error or not."""

    @abstractmethod
    def close(self) -> None:
        """Release the connections this object owns."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClosable(ABC):
    """``async with obj: …`` awaits ``obj.aclose()`` on the way out, error or not."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the connections this object owns."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
