"""Where a streamed body goes: the :class:`Sink` protocol and :class:`FileSink`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx

from govlink.core.errors import PlatformError
from govlink.core.http._evidence import MAX_LOGGED_BODY
from govlink.core.redact import redact_body

__all__ = ["DEFAULT_DOWNLOAD_CAP", "FileSink", "Sink", "aborted_on_failure"]

#: Default cap of a body streamed to a sink (a file): 1 GiB.
DEFAULT_DOWNLOAD_CAP = 1024 * 1024 * 1024


class Sink(Protocol):
    """Where a streamed body goes (:meth:`HttpTransport.download`).

    ``begin`` sees the status and headers first (raise to refuse the reply, e.g.
    an error page instead of a PDF); ``write`` gets the decoded body in chunks;
    ``finish`` runs once the whole body arrived; ``abort`` drops what was written
    (before a retry, or when the download fails). ``begin`` is called again after
    an ``abort`` when a safe download is retried.
    """

    def begin(self, status_code: int, headers: httpx.Headers) -> None: ...

    def write(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


@contextmanager
def aborted_on_failure(sink: Sink) -> Iterator[None]:
    """``sink.abort()`` when the block fails (whatever the failure), then re-raise."""
    try:
        yield
    except BaseException:
        sink.abort()
        raise


def _refuse_errors(status_code: int, headers: httpx.Headers, head: bytes) -> None:
    """:class:`FileSink`'s default check: an HTTP error reply is never saved as the file."""
    if status_code >= 400:
        raise PlatformError(
            f"the download was refused (HTTP {status_code}): {redact_body(head, MAX_LOGGED_BODY)}",
            status_code=status_code,
            raw=head,
        )


class FileSink:
    """A :class:`Sink` writing to a temporary file next to ``target``, renamed on finish.

    A half-downloaded file never has the final name. ``check`` (optional) is called
    with the status, headers and the first ``head_size`` bytes before anything is
    kept: raise from it to refuse the reply (an error page saved as ``receipt.pdf``).
    """

    def __init__(
        self,
        target: str | Path,
        *,
        check: Callable[[int, httpx.Headers, bytes], None] | None = None,
        head_size: int = 1024,
    ) -> None:
        self.target = Path(target)
        self.check = check or _refuse_errors
        self.head_size = head_size
        self.size = 0
        self._tmp: Path | None = None
        self._out: Any = None
        self._status = 0
        self._headers = httpx.Headers()
        self._head = b""
        self._checked = False

    def begin(self, status_code: int, headers: httpx.Headers) -> None:
        import tempfile

        self.abort()
        self._status, self._headers = status_code, headers
        self._head, self._checked, self.size = b"", False, 0
        self.target.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in finish/abort
            prefix=f".{self.target.name}.", suffix=".part", dir=self.target.parent, delete=False
        )
        self._tmp, self._out = Path(handle.name), handle

    def _run_check(self) -> None:
        self._checked = True
        self.check(self._status, self._headers, self._head)

    def write(self, chunk: bytes) -> None:
        if not self._checked:
            self._head += chunk
            if len(self._head) >= self.head_size:
                self._run_check()
        self._out.write(chunk)
        self.size += len(chunk)

    def finish(self) -> None:
        if not self._checked:
            self._run_check()
        assert self._tmp is not None
        self._out.close()
        self._tmp.replace(self.target)
        self._tmp = self._out = None

    def abort(self) -> None:
        if self._out is not None:
            self._out.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
        self._tmp = self._out = None
