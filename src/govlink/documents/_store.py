"""Durable storage of received messages: the signed original, byte for byte.

The signed package as the axis delivered it is the legal record; the parsed view
and the verification report sit next to it. Every name that comes from outside
(the axis's DocId, attachment names in the package) is reduced to one safe path
component before it touches the filesystem, and each file is written to a
temporary name, flushed to disk (``fsync``) and renamed, so that a message is
acknowledged only once it is durably stored.

Layout of ``<directory>/<safe DocId>/``:

* ``original.edxml`` — the signed message exactly as delivered;
* ``verification.json`` — who signed, algorithm, trust, scope (the verification report);
* ``message.json`` — the parsed header (subject, code, sender, recipients…);
* ``attachments/<safe name>`` — the decoded attachments (document packages).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from govlink.core.errors import GovLinkError

if TYPE_CHECKING:
    from govlink.documents._receive import ReceivedDocument

__all__ = ["ORIGINAL_NAME", "safe_component", "store_received"]

ORIGINAL_NAME = "original.edxml"
_MAX_COMPONENT = 120
_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_component(name: str | None, fallback: str) -> str:
    """``name`` as one harmless path component (never empty, ``.``, ``..``, absolute,
    nor containing a separator, a drive or a control character); ``fallback`` when
    nothing usable is left. ``../x`` becomes ``x``; ``/etc/passwd`` becomes ``passwd``."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").split("/")[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _UNSAFE.sub("_", text).strip(" .")
    text = text[:_MAX_COMPONENT].strip(" .")
    if not text or set(text) <= {"_"}:
        return fallback
    if text.upper().split(".")[0] in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}:
        return f"_{text}"
    return text


def _inside(directory: Path, name: str) -> Path:
    target = directory / name
    if target.resolve().parent != directory.resolve():
        raise GovLinkError(
            f"refusing to write {name!r} outside {directory}",
            hint="this is a bug in name sanitising; report it",
        )
    return target


@contextmanager
def _durable(target: Path) -> Iterator[IO[bytes]]:
    """Write ``target`` atomically: temp file in the same directory, fsync, rename."""
    handle, temp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def store_received(document: ReceivedDocument, directory: str | Path) -> Path:
    """Store ``document`` durably under ``directory``; returns its folder."""
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    folder = _inside(base, safe_component(document.doc_id, "document"))
    folder.mkdir(exist_ok=True)
    with _durable(_inside(folder, ORIGINAL_NAME)) as stream:
        stream.write(document.original)
    with _durable(_inside(folder, "verification.json")) as stream:
        stream.write(_json_bytes(document.verified.summary()))
    parsed: dict[str, Any] = {"doc_id": document.doc_id, "kind": document.verified.kind}
    if document.package is not None:
        parsed["message_header"] = document.package.message_header.model_dump(
            mode="json", exclude_none=True
        )
        parsed["attachments"] = []
        attachments = folder / "attachments"
        if document.package.attachments:
            attachments.mkdir(exist_ok=True)
        used: set[str] = set()
        for index, attachment in enumerate(document.package.attachments, start=1):
            name = safe_component(
                attachment.attachment_name or attachment.content_id, f"attachment-{index}"
            )
            if name in used:
                name = f"{index}-{name}"
            used.add(name)
            with _durable(_inside(attachments, name)) as stream, attachment.source.open() as data:
                while chunk := data.read(1 << 16):
                    stream.write(chunk)
            parsed["attachments"].append(
                {"name": attachment.attachment_name, "saved_as": f"attachments/{name}"}
            )
        if document.package.attachments:
            _sync_dir(attachments)
    if document.status is not None:
        parsed["status"] = document.status.model_dump(mode="json", exclude_none=True)
    with _durable(_inside(folder, "message.json")) as stream:
        stream.write(_json_bytes(parsed))
    _sync_dir(folder)
    _sync_dir(base)
    return folder
