"""Single flight for code shared by several event loops: one asyncio lock per loop.

Used wherever one object serves sync and async callers alike and must let only one
of them fetch something at a time (a gateway token, a platform session): the call
driver's credential fetches and the gateway token styles.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

__all__ = ["LoopLocks"]


class LoopLocks:
    """One :class:`asyncio.Lock` per running event loop.

    An asyncio lock binds to the first loop that waits on it, so an object shared by
    two loops (two threads, or successive ``asyncio.run`` calls) needs one lock per
    loop. Loops are held weakly so closed loops do not pile up.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._guard = threading.Lock()

    def get(self) -> asyncio.Lock:
        """The lock of the running loop (created on first use)."""
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = asyncio.Lock()
                self._locks[loop] = lock
            return lock
