"""Hardened XML parsing, and writing with text kept outside the tree.

Every XML byte govlink reads comes from a platform or another agency, so it is
untrusted: it is parsed one way everywhere — no entities, no DTD, no network, size
limits, DOCTYPE refused.

Large documents: a 50 MB attachment is 67 MB of base64 text, which neither fits a
default libxml2 text node (``huge_tree=False`` caps one at 10 MB) nor should be copied
four times by the signature code. Callers therefore keep such text *outside* the
tree: the tree holds a random marker in its place and an :data:`ExternalText` source
streams the real text on demand. :func:`write_xml` (and the signer and verifier)
substitute the text chunk by chunk. :func:`parse_xml_streaming` is the reading side:
it builds the tree with markers and spools the diverted text to temporary files.
"""

from __future__ import annotations

import codecs
import itertools
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, cast

from lxml import etree

from govlink.core.errors import GovLinkError

DSIG_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
DEFAULT_MAX_BYTES: Final = 10 * 1024 * 1024
"""Default size limit of :func:`parse_xml` (10 MiB): replies and headers are small."""

TextSource = Callable[[], Iterable[str]]
"""Yields, each time it is called, the text an external marker stands for."""

ExternalText = Mapping[str, TextSource]
"""Marker → source of the text it replaces (see the module docstring)."""

_CHUNK = 1 << 16


class XmlRejectedError(GovLinkError):
    """XML refused before use: malformed, too large, or carrying a DOCTYPE/entities."""


# --------------------------------------------------------------------------- parsing

_local = threading.local()


def hardened_parser(*, huge_tree: bool = False) -> etree.XMLParser:
    """The one lxml parser configuration govlink uses for untrusted XML.

    Entities are never resolved, no DTD is loaded or validated, nothing is fetched
    from the network. Comments and processing instructions are *kept*: a signature
    made with a ``#WithComments`` canonicalisation covers them, so dropping them would
    break valid signatures. One parser per thread (lxml parsers are not shareable).
    """
    key = "huge" if huge_tree else "normal"
    parser: etree.XMLParser | None = getattr(_local, key, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=huge_tree,
            remove_comments=False,
            remove_pis=False,
            collect_ids=False,
        )
        setattr(_local, key, parser)
    return parser


def _check_no_doctype(root: etree._Element, what: str) -> None:
    docinfo = root.getroottree().docinfo
    if (
        getattr(docinfo, "doctype", "")
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
    ):
        raise XmlRejectedError(
            f"{what} carries a DOCTYPE declaration, which govlink refuses",
            hint="DTDs and entities are a classic attack vector; ask the sender to drop them",
        )


def _prolog_has_doctype(data: bytes) -> bool:
    """Whether a DOCTYPE comes before the root element (checked before libxml2 sees
    the DTD, so entity tricks never reach the parser)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data[:65536].decode("utf-16", errors="ignore")
        except UnicodeDecodeError:  # pragma: no cover - errors are ignored
            return False
        head = text.encode("utf-8", errors="ignore")
    else:
        head = data[:65536].replace(b"\x00", b"")
    pos = 0
    while True:
        start = head.find(b"<", pos)
        if start < 0 or start + 1 >= len(head):
            return False
        if head.startswith(b"<?", start):
            end = head.find(b"?>", start)
            pos = len(head) if end < 0 else end + 2
        elif head.startswith(b"<!--", start):
            end = head.find(b"-->", start)
            pos = len(head) if end < 0 else end + 3
        elif head.startswith(b"<!", start):
            return head[start + 2 : start + 9].upper() == b"DOCTYPE"
        else:
            return False


def _refuse_doctype(what: str) -> XmlRejectedError:
    return XmlRejectedError(
        f"{what} carries a DOCTYPE declaration, which govlink refuses",
        hint="DTDs and entities are a classic attack vector; ask the sender to drop them",
    )


def parse_xml(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    what: str = "the XML document",
) -> etree._Element:
    """Parse untrusted XML safely; :class:`XmlRejectedError` says why it was refused.

    The size is checked *before* parsing. A DOCTYPE (and so any entity declaration:
    billion laughs, external entities) is refused outright rather than ignored.
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError("parse_xml takes bytes (let the XML declaration name the encoding)")
    if len(data) > max_bytes:
        raise XmlRejectedError(
            f"{what} is {len(data):,} bytes, over the {max_bytes:,}-byte limit",
            hint="raise the limit only for a source you trust to send large documents",
        )
    if _prolog_has_doctype(bytes(data)):
        raise _refuse_doctype(what)
    try:
        root = etree.fromstring(bytes(data), parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejectedError(f"{what} is not well-formed XML: {exc}") from None
    if root is None:
        raise XmlRejectedError(f"{what} is empty")
    _check_no_doctype(root, what)
    return root


_MARKER_PREFIX = secrets.token_hex(8)
_marker_numbers = itertools.count()


def new_marker() -> str:
    """A placeholder for text kept outside the tree: a per-process random prefix
    plus a counter, so a sender cannot guess (and plant) one."""
    return f"govlink-external-{_MARKER_PREFIX}{next(_marker_numbers):016x}"


_MARKER_RE = re.compile(rb"govlink-external-[0-9a-f]{32}")


class SpooledText:
    """Text diverted out of the tree while parsing, spooled to memory or disk.

    Stored as UTF-8 exactly as parsed (line breaks normalised by the XML parser), so
    re-inserting it reproduces the document's canonical form for signature checks.
    """

    def __init__(self, max_memory: int = 1 << 20) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=max_memory)  # noqa: SIM115
        self.size = 0

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.size += len(data)
        self._file.write(data)

    def chunks(self, size: int = _CHUNK) -> Iterator[str]:
        """The text again, from the start, in chunks (safe to call repeatedly)."""
        self._file.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        while True:
            block = self._file.read(size)
            if not block:
                tail = decoder.decode(b"", final=True)
                if tail:
                    yield tail
                return
            text = decoder.decode(block)
            if text:
                yield text

    def __call__(self) -> Iterator[str]:
        return self.chunks()

    def close(self) -> None:
        self._file.close()


@dataclass
class StreamedXml:
    """A tree whose diverted texts were replaced by markers, with those texts."""

    root: etree._Element
    external: dict[str, SpooledText] = field(default_factory=dict)

    def close(self) -> None:
        for text in self.external.values():
            text.close()


MAX_TEXT_CHARS: Final = 10 * 1024 * 1024
"""Longest text node kept in a tree (10 Mi characters, libxml2's own default cap):
larger text must be diverted out of the tree or it is refused while being read."""


class _DivertingTarget:
    """lxml parser target: builds the tree, but spools the text of chosen elements.

    Any other text is counted as it arrives and refused once one text node passes
    ``max_text`` characters, so a 200 MB ``<Subject>`` is never buffered whole."""

    def __init__(
        self, divert: Callable[[str], bool], what: str, max_text: int = MAX_TEXT_CHARS
    ) -> None:
        self._builder: Any = etree.TreeBuilder()
        self._divert = divert
        self._what = what
        self._max_text = max_text
        self._text_run = 0
        self._depth = 0
        self._diverting_at: int | None = None
        self._spool: SpooledText | None = None
        self.external: dict[str, SpooledText] = {}

    def start(self, tag: str, attrib: dict[str, str], nsmap: dict[str, str] | None = None) -> None:
        self._text_run = 0
        if self._diverting_at is not None:
            raise XmlRejectedError(
                f"{self._what}: element {tag} inside text-only content",
                hint="attachment content must be base64 text only",
            )
        self._depth += 1
        namespaces = {(prefix or None): uri for prefix, uri in (nsmap or {}).items()}
        self._builder.start(tag, attrib, namespaces)
        if self._divert(tag):
            self._diverting_at = self._depth
            self._spool = SpooledText()

    def end(self, tag: str) -> None:
        self._text_run = 0
        if self._diverting_at == self._depth and self._spool is not None:
            if self._spool.size:
                marker = new_marker()
                self.external[marker] = self._spool
                self._builder.data(marker)
            else:
                self._spool.close()
            self._spool = None
            self._diverting_at = None
        self._depth -= 1
        self._builder.end(tag)

    def data(self, text: str) -> None:
        if self._spool is not None:
            self._spool.write(text)
            return
        self._text_run += len(text)
        if self._text_run > self._max_text:
            raise XmlRejectedError(
                f"{self._what}: a text node is longer than {self._max_text:,} characters",
                hint="only attachment contents may be that large; this document is refused",
            )
        self._builder.data(text)

    def comment(self, text: str) -> None:
        self._text_run = 0
        if self._diverting_at is not None:
            raise XmlRejectedError(f"{self._what}: comment inside attachment content")
        self._builder.comment(text)

    def pi(self, target: str, data: str | None = None) -> None:
        if self._diverting_at is not None:
            raise XmlRejectedError(f"{self._what}: processing instruction inside attachment")
        self._builder.pi(target, data)

    def doctype(self, *_args: Any) -> None:
        raise _refuse_doctype(self._what)

    def close(self) -> etree._Element:
        root: etree._Element = self._builder.close()
        return root

    def discard(self) -> None:
        for text in self.external.values():
            text.close()
        if self._spool is not None:
            self._spool.close()


_IN_MEMORY_LIMIT = 8 * 1024 * 1024
"""Below this, bytes are parsed by libxml2 in one go (faster than the streaming
target parser) and the diverted text is moved out afterwards; no text node can
reach libxml2's 10 MB cap in a document this small."""


def _parse_and_divert(
    data: bytes, divert: Callable[[str], bool], max_bytes: int, what: str
) -> StreamedXml:
    root = parse_xml(data, max_bytes=max_bytes, what=what)
    external: dict[str, SpooledText] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or not divert(element.tag):
            continue
        if len(element) or any(True for _ in element.iterchildren(etree.Comment, etree.PI)):
            for item in external.values():
                item.close()
            raise XmlRejectedError(
                f"{what}: element {element.tag} inside text-only content",
                hint="attachment content must be base64 text only",
            )
        if element.text:
            spool = SpooledText()
            spool.write(element.text)
            marker = new_marker()
            external[marker] = spool
            element.text = marker
    return StreamedXml(root, external)


def parse_xml_streaming(
    source: bytes | BinaryIO | Path,
    *,
    divert: Callable[[str], bool],
    max_bytes: int,
    what: str = "the XML document",
) -> StreamedXml:
    """Parse untrusted XML in chunks, moving the text of ``divert(tag)`` elements out.

    The same hardening as :func:`parse_xml` (DOCTYPE refused, no entities, no network);
    the size limit is counted while reading, so a file larger than ``max_bytes`` is
    refused without being read whole. Diverted elements must hold text only.
    """
    if isinstance(source, bytes | bytearray) and len(source) <= _IN_MEMORY_LIMIT:
        return _parse_and_divert(bytes(source), divert, max_bytes, what)
    target = _DivertingTarget(divert, what)
    parser = etree.XMLParser(
        target=cast(Any, target),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
    )
    total = 0
    close_after = False
    stream: BinaryIO
    if isinstance(source, Path):
        stream = source.open("rb")
        close_after = True
    elif isinstance(source, bytes | bytearray):
        if len(source) > max_bytes:
            raise XmlRejectedError(
                f"{what} is {len(source):,} bytes, over the {max_bytes:,}-byte limit",
                hint="raise the limit only for a source you trust to send large documents",
            )
        import io

        stream = io.BytesIO(bytes(source))
    else:
        stream = source
    try:
        while True:
            block = stream.read(_CHUNK)
            if not block:
                break
            if total == 0 and _prolog_has_doctype(block):
                raise _refuse_doctype(what)
            total += len(block)
            if total > max_bytes:
                raise XmlRejectedError(
                    f"{what} is over the {max_bytes:,}-byte limit",
                    hint="raise the limit only for a source you trust to send large documents",
                )
            parser.feed(block)
        built = parser.close()
        # Re-parse the (small) tree: lxml's TreeBuilder can leave an element's
        # namespace pointing at a declaration that is not in scope (seen with
        # default-namespace signatures), which breaks canonicalisation. A round trip
        # through the hardened parser gives a tree exactly as a normal parse would.
        root = etree.fromstring(etree.tostring(built), parser=hardened_parser())
    except XmlRejectedError:
        target.discard()
        raise
    except etree.XMLSyntaxError as exc:
        target.discard()
        cause = exc.__context__
        if isinstance(cause, XmlRejectedError):
            raise cause from None
        raise XmlRejectedError(f"{what} is not well-formed XML: {exc}") from None
    finally:
        if close_after:
            stream.close()
    return StreamedXml(root, dict(target.external))


# ------------------------------------------------------------- external text helpers

_C14N_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})


def c14n_escape_text(text: str) -> str:
    """Escape element text the way Canonical XML does (also valid XML output)."""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_C14N_TEXT_ESCAPES)
    return text


def _substituted(data: bytes, external: ExternalText) -> Iterator[bytes]:
    """``data`` with every marker replaced by its (escaped) text, in pieces."""
    if not external:
        yield data
        return
    pos = 0
    for match in _MARKER_RE.finditer(data):
        source = external.get(match.group().decode("ascii"))
        if source is None:
            continue  # looks like a marker but is not one of ours: plain text
        yield data[pos : match.start()]
        for chunk in source():
            if chunk:
                yield c14n_escape_text(chunk).encode("utf-8")
        pos = match.end()
    yield data[pos:]


def write_xml(
    root: etree._Element,
    out: BinaryIO,
    *,
    external: ExternalText | None = None,
    xml_declaration: bool = True,
) -> int:
    """Serialise ``root`` (UTF-8) to ``out``, streaming external texts; returns bytes."""
    data = etree.tostring(root, xml_declaration=xml_declaration, encoding="UTF-8")
    written = 0
    for piece in _substituted(data, external or {}):
        out.write(piece)
        written += len(piece)
    return written
