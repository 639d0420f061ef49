"""Where an attachment's bytes live, and base64 in and out without whole copies.

An official document's attachments (scanned PDFs, signed DOCX) reach tens of
megabytes. A source therefore never holds more than one copy: bytes given by the
caller, a file on disk, or the base64 text spooled while parsing. Encoding and
decoding work in chunks, so building, signing, writing and reading a 50 MB
attachment keeps only a few hundred kilobytes of it in memory at a time.
"""

from __future__ import annotations

import base64
import binascii
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from govlink.core.errors import ValidationError
from govlink.core.xml import SpooledText

__all__ = [
    "AttachmentSource",
    "BytesSource",
    "EncodedSource",
    "FileSource",
    "decode_base64_chunks",
    "inline_base64",
]

_RAW_CHUNK = 57 * 1024 * 3  # a multiple of 3 bytes: base64 chunks concatenate cleanly


class AttachmentSource(Protocol):
    """What an attachment's content comes from."""

    def base64_chunks(self) -> Iterator[str]:
        """The content as base64 text, in chunks (callable more than once)."""
        ...

    def open(self) -> BinaryIO:
        """The decoded content as a binary stream."""
        ...

    @property
    def size(self) -> int | None:
        """Decoded size in bytes, when known without reading everything."""
        ...


def _encode_stream(stream: BinaryIO) -> Iterator[str]:
    while True:
        block = stream.read(_RAW_CHUNK)
        if not block:
            return
        yield base64.b64encode(block).decode("ascii")


class BytesSource:
    """Content held by the caller already (small attachments, tests)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)

    def base64_chunks(self) -> Iterator[str]:
        view = memoryview(self.data)
        for start in range(0, len(view), _RAW_CHUNK):
            yield base64.b64encode(view[start : start + _RAW_CHUNK]).decode("ascii")

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)

    @property
    def size(self) -> int | None:
        return len(self.data)

    def __repr__(self) -> str:
        return f"BytesSource({len(self.data)} bytes)"


class FileSource:
    """Content read from a file each time it is needed (never loaded whole)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ValidationError("attachment", "a readable file", got=str(self.path))

    def base64_chunks(self) -> Iterator[str]:
        with self.path.open("rb") as stream:
            yield from _encode_stream(stream)

    def open(self) -> BinaryIO:
        return self.path.open("rb")

    @property
    def size(self) -> int | None:
        return self.path.stat().st_size

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r})"


def inline_base64(source: AttachmentSource, limit: int) -> str | None:
    """The whole base64 text of a source already in memory (bytes given by the
    caller, or text spooled while parsing) holding at most ``limit`` bytes; None
    for files and anything larger, which stay streamed."""
    if isinstance(source, BytesSource):
        if len(source.data) <= limit:
            return base64.b64encode(source.data).decode("ascii")
    elif isinstance(source, EncodedSource) and source.text.size <= limit:
        return "".join(source.text.chunks())
    return None


def decode_base64_chunks(chunks: Iterator[str], *, field: str = "attachment") -> Iterator[bytes]:
    """Decode base64 text arriving in arbitrary chunks (whitespace and line breaks
    allowed anywhere), yielding decoded blocks."""
    pending = ""
    for chunk in chunks:
        text = pending + "".join(chunk.split())
        usable = len(text) - len(text) % 4
        pending = text[usable:]
        if usable:
            try:
                yield base64.b64decode(text[:usable], validate=True)
            except binascii.Error as exc:
                raise ValidationError(field, "base64 content", got=str(exc)) from None
    if pending:
        raise ValidationError(field, "base64 content (length a multiple of 4)", got=pending)


class _ChunkReader(io.RawIOBase):
    """A read-only binary stream over an iterator of byte blocks."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        while not len(self._buffer):
            try:
                self._buffer = memoryview(next(self._blocks))
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


class EncodedSource:
    """Base64 text as it arrived in a parsed package, decoded only when read.

    Re-serialising the package writes the text back exactly as received (line
    breaks included), which keeps the sender's signature valid.
    """

    def __init__(self, text: SpooledText, *, field: str = "attachment") -> None:
        self.text = text
        self.field = field
        self._size: int | None = None

    def base64_chunks(self) -> Iterator[str]:
        return self.text.chunks()

    def open(self) -> BinaryIO:
        reader = _ChunkReader(decode_base64_chunks(self.text.chunks(), field=self.field))
        return cast(BinaryIO, io.BufferedReader(reader, buffer_size=1 << 16))

    @property
    def size(self) -> int | None:
        if self._size is None:
            total = 0
            for block in decode_base64_chunks(self.text.chunks(), field=self.field):
                total += len(block)
            self._size = total
        return self._size

    def __repr__(self) -> str:
        return f"EncodedSource({self.text.size} base64 characters)"


def copy_to(source: AttachmentSource, target: BinaryIO) -> int:
    """Decode ``source`` into ``target``; returns the number of bytes written."""
    with source.open() as stream:
        before = target.tell() if target.seekable() else 0
        shutil.copyfileobj(stream, target, 1 << 16)
        return (target.tell() - before) if target.seekable() else -1
