"""Hardened XML parsing and XML-DSig signing/verification (over signxml).

Why one module: every XML byte govlink reads comes from a platform or another agency,
so it is untrusted; parsing it one way everywhere (no entities, no DTD, no network,
size limits, DOCTYPE refused) and verifying signatures one way everywhere (pinned
certificate or trust store, chain and validity checked, SHA-1 only when a profile
allows it, and afterwards *only the signed content* is handed on) is what keeps a
signature-wrapping or entity-expansion attack from working in one corner of the SDK.

Large documents: a 50 MB attachment is 67 MB of base64 text, which neither fits a
default libxml2 text node (``huge_tree=False`` caps one at 10 MB) nor should be copied
four times by the signature code. Callers therefore keep such text *outside* the
tree: the tree holds a random marker in its place and an :data:`ExternalText` source
streams the real text on demand. :class:`XmlSigner`, :class:`XmlVerifier` and
:func:`write_xml` substitute the text while hashing and writing, chunk by chunk, so
the digests are exactly those of the full document (the interop tests check this
with ``xmlsec1``). :func:`parse_xml_streaming` is the reading side: it builds the
tree with markers and spools the diverted text to temporary files.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import itertools
import logging
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, BinaryIO, Final, Literal, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification as x509v
from lxml import etree
from signxml import algorithms as dsig_algorithms
from signxml import exceptions as dsig_errors
from signxml.algorithms import SignatureConstructionMethod
from signxml.signer import XMLSigner as _XMLSigner
from signxml.verifier import SignatureConfiguration
from signxml.verifier import XMLVerifier as _XMLVerifier

from govlink.core.clock import Clock, SystemClock
from govlink.core.errors import ConfigurationError, GovLinkError, SignatureError

__all__ = [
    "C14N_METHODS",
    "DEFAULT_MAX_BYTES",
    "DSIG_NS",
    "SIGNATURE_ALGORITHMS",
    "ExternalText",
    "SpooledText",
    "StreamedXml",
    "TrustStore",
    "VerifiedXml",
    "XmlRejectedError",
    "XmlSigner",
    "XmlVerifier",
    "c14n_escape_text",
    "hardened_parser",
    "load_certificates",
    "load_private_key",
    "new_marker",
    "parse_xml",
    "parse_xml_streaming",
    "write_xml",
]

log = logging.getLogger("govlink.xml")

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


class _DivertingTarget:
    """lxml parser target: builds the tree, but spools the text of chosen elements."""

    def __init__(self, divert: Callable[[str], bool], what: str) -> None:
        self._builder: Any = etree.TreeBuilder()
        self._divert = divert
        self._what = what
        self._depth = 0
        self._diverting_at: int | None = None
        self._spool: SpooledText | None = None
        self.external: dict[str, SpooledText] = {}

    def start(self, tag: str, attrib: dict[str, str], nsmap: dict[str, str] | None = None) -> None:
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
        else:
            self._builder.data(text)

    def comment(self, text: str) -> None:
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


# ------------------------------------------------------------------ keys and certs

SignatureAlgorithm = Literal[
    "rsa-sha256", "rsa-sha384", "rsa-sha512", "rsa-sha1", "ecdsa-sha256", "ecdsa-sha384"
]

SIGNATURE_ALGORITHMS: Final[dict[str, str]] = {
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "ecdsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
}
"""Friendly name → XML-DSig ``SignatureMethod`` URI."""

_DIGEST_FOR: Final[dict[str, str]] = {
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
    "rsa-sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "rsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "rsa-sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
    "ecdsa-sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "ecdsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
}

C14N_METHODS: Final[dict[str, str]] = {
    "c14n": "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "c14n11": "http://www.w3.org/2006/12/xml-c14n11",
    "exc-c14n": "http://www.w3.org/2001/10/xml-exc-c14n#",
}
"""Friendly name → canonicalisation URI. ``c14n`` (1.0) is the default because the
.NET and older Java stacks agencies run do not all implement C14N 1.1."""

_ALGORITHM_NAMES: Final = {uri: name for name, uri in SIGNATURE_ALGORITHMS.items()}
_DIGEST_NAMES: Final = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmldsig-more#sha224": "sha224",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}


def _read(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str) and "-----BEGIN" in source:
        return source.encode("ascii")
    path = Path(source).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {path}: {exc.strerror or exc}",
            setting=str(path),
            expected="a readable PEM file",
        ) from None


def load_private_key(
    source: bytes | str | Path, password: str | bytes | None = None
) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """A signing key from PEM (or DER) bytes or a file path."""
    data = _read(source)
    secret = password.encode("utf-8") if isinstance(password, str) else password
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, secret)
        else:
            key = serialization.load_der_private_key(data, secret)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"the signing key cannot be loaded: {exc}",
            setting="documents.options.signing_key",
            expected="an RSA or EC private key in PEM (with its password if encrypted)",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigurationError(
            f"the signing key is a {type(key).__name__}, not RSA or EC",
            setting="documents.options.signing_key",
            expected="an RSA (2048 bits or more) or EC private key",
        )
    return key


def load_certificates(source: bytes | str | Path) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (or one DER certificate)."""
    data = _read(source)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ConfigurationError(
            f"no usable certificate: {exc}",
            setting="certificate file",
            expected="PEM certificates (-----BEGIN CERTIFICATE-----)",
        ) from None


def _public_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


_DER_OF: dict[int, tuple[x509.Certificate, bytes]] = {}


@lru_cache(maxsize=512)
def _certificate_from_der(der: bytes) -> x509.Certificate:
    cert = x509.load_der_x509_certificate(der)
    if len(_DER_OF) > 2048:
        _DER_OF.clear()
    _DER_OF[id(cert)] = (cert, der)
    return cert


def _der(cert: x509.Certificate) -> bytes:
    """DER bytes of ``cert``, remembered for certificates read from signatures."""
    known = _DER_OF.get(id(cert))
    if known is not None and known[0] is cert:
        return known[1]
    return cert.public_bytes(serialization.Encoding.DER)


_SUBJECTS: dict[int, tuple[x509.Certificate, str]] = {}


def _subject(cert: x509.Certificate) -> str:
    known = _SUBJECTS.get(id(cert))
    if known is not None and known[0] is cert:
        return known[1]
    try:
        text = cert.subject.rfc4514_string()
    except ValueError:  # pragma: no cover - malformed names
        text = "<unreadable subject>"
    if len(_SUBJECTS) > 2048:
        _SUBJECTS.clear()
    _SUBJECTS[id(cert)] = (cert, text)
    return text


# ------------------------------------------------------------------------- signing


def _external_digest(data: bytes, algorithm: Any, external: ExternalText) -> bytes:
    hasher = hashes.Hash(dsig_algorithms.digest_algorithm_implementations[algorithm]())
    for piece in _substituted(data, external):
        hasher.update(piece)
    return hasher.finalize()


def _rooted(node: Any) -> Any:
    """``node`` as the root of its own document, namespaces in scope declared on it.

    Why: the libxml2 bundled with lxml 6 (2.14) canonicalises a *subtree* under a
    default-namespace declaration wrongly (grandchildren get a spurious
    ``xmlns=""``), which breaks every ``<Signature xmlns="…xmldsig#">`` signature as
    .NET and Java write them. Canonicalising a document root is correct, and for
    inclusive C14N a root carrying the in-scope declarations renders the same bytes
    the subset should have.
    """
    if (
        isinstance(node, etree._Element)
        and node.getparent() is not None
        and any(e.prefix is None for e in node.iter() if isinstance(e.tag, str))
    ):
        # only subtrees with unprefixed (default-namespace) elements are affected
        return etree.fromstring(etree.tostring(node, with_tail=False), parser=hardened_parser())
    return node


def _c14n_fixed(self: Any, nodes: Any, algorithm: Any, inclusive_ns_prefixes: Any) -> bytes:
    items = nodes if isinstance(nodes, list) else [nodes]
    canonical: bytes = super(type(self), self)._c14n(
        [_rooted(n) for n in items],
        algorithm=algorithm,
        inclusive_ns_prefixes=inclusive_ns_prefixes,
    )
    return canonical


def _encloses(nodes: list[Any], element: etree._Element) -> bool:
    ancestors = list(element.iterancestors())
    return any(node is ancestor for node in nodes for ancestor in ancestors)


def _signer_class(allow_sha1: bool) -> Any:
    class _Signer(_XMLSigner):
        """signxml's signer, minus its defensive copies of the document.

        Per signature signxml serialises and re-parses the document twice: once for
        the tree to put the signature in, once more for the content to digest (from
        which it then cuts the placeholder). Here the first is the caller's tree
        (``in_place``) or one copy, and the second is that same tree: the signature
        being built is detached while the content is canonicalised, which is exactly
        the enveloped-signature transform (the xmlsec1 interop tests check the
        result). One instance signs one document.
        """

        external: ExternalText = MappingProxyType({})
        in_place = False
        _source: Any = None
        _document: Any = None
        _signature: Any = None

        def get_root(self, data: Any) -> Any:
            if not isinstance(data, etree._Element):
                return super().get_root(data)  # type: ignore[no-untyped-call]
            if self._document is None:  # the document the signature goes into
                self._source = data
                self._document = (
                    data if self.in_place else super().get_root(data)  # type: ignore[no-untyped-call]
                )
                return self._document
            # the content to digest: the whole document again, or (``#id``
            # references) an element signxml found in our document
            return self._document if data is self._source else data

        def _unpack(self, data: Any, references: Any) -> Any:
            unpacked = super()._unpack(data, references)
            self._signature = unpacked[0]
            return unpacked

        def _c14n(self, nodes: Any, algorithm: Any, inclusive_ns_prefixes: Any = None) -> bytes:
            signature = self._signature
            items = nodes if isinstance(nodes, list) else [nodes]
            holder = signature.getparent() if signature is not None else None
            if holder is None or not _encloses(items, signature):
                return _c14n_fixed(self, items, algorithm, inclusive_ns_prefixes)
            index = holder.index(signature)
            # lxml would take a tail along; the placeholder XmlSigner.sign inserts has none
            holder.remove(signature)
            try:
                return _c14n_fixed(self, items, algorithm, inclusive_ns_prefixes)
            finally:
                holder.insert(index, signature)

        def check_deprecated_methods(self) -> None:
            if not allow_sha1:
                super().check_deprecated_methods()  # type: ignore[no-untyped-call]

        def _get_digest(self, data: bytes, algorithm: Any) -> bytes:
            if self.external:
                return _external_digest(data, algorithm, self.external)
            digest: bytes = super()._get_digest(data, algorithm)
            return digest

    return _Signer


_PLACEHOLDER_ID = "placeholder"


class XmlSigner:
    """Enveloped XML-DSig signatures with one key and certificate, loaded once.

    ``algorithm`` defaults to RSA-SHA256 (the digest follows it); ``rsa-sha1`` is
    refused unless ``allow_sha1=True`` (only for interop tests with legacy systems).
    The signature carries the certificate chain in ``KeyInfo/X509Data`` so receivers
    can check it against their trust store. One instance is safe to share between
    threads.
    """

    def __init__(
        self,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | bytes | str | Path,
        certificates: x509.Certificate | Sequence[x509.Certificate] | bytes | str | Path,
        *,
        algorithm: str = "rsa-sha256",
        c14n: str = "c14n",
        password: str | bytes | None = None,
        allow_sha1: bool = False,
    ) -> None:
        if algorithm not in SIGNATURE_ALGORITHMS:
            raise ConfigurationError(
                f"unknown signature algorithm {algorithm!r}",
                setting="signature algorithm",
                expected=", ".join(SIGNATURE_ALGORITHMS),
            )
        if "sha1" in algorithm and not allow_sha1:
            raise ConfigurationError(
                "RSA-SHA1 signatures are refused by default (SHA-1 is broken)",
                setting="allow_sha1",
                expected="true only to produce legacy test packages",
            )
        if c14n not in C14N_METHODS:
            raise ConfigurationError(
                f"unknown canonicalisation {c14n!r}",
                setting="c14n",
                expected=", ".join(C14N_METHODS),
            )
        self.key = (
            key
            if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
            else load_private_key(key, password)
        )
        if isinstance(certificates, x509.Certificate):
            chain = [certificates]
        elif isinstance(certificates, bytes | str | Path):
            chain = load_certificates(certificates)
        else:
            chain = list(certificates)
        if not chain:
            raise ConfigurationError(
                "no signing certificate given",
                setting="documents.options.signing_cert",
                expected="the PEM certificate of the signing key",
            )
        if _public_der(chain[0].public_key()) != _public_der(self.key.public_key()):
            raise ConfigurationError(
                f"the signing certificate ({_subject(chain[0])}) does not match the key",
                setting="documents.options.signing_cert",
                expected="the certificate issued for this private key (first in the file)",
            )
        self.certificates = chain
        self.certificate = chain[0]
        self.algorithm = algorithm
        self.c14n = c14n
        self.allow_sha1 = allow_sha1
        self._pems = [c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain]
        self._cls = _signer_class(allow_sha1)
        self._method = dsig_algorithms.SignatureMethod(SIGNATURE_ALGORITHMS[algorithm])
        self._digest = dsig_algorithms.DigestAlgorithm(_DIGEST_FOR[algorithm])
        self._c14n = dsig_algorithms.CanonicalizationMethod(C14N_METHODS[c14n])

    @classmethod
    def from_files(cls, key_file: str | Path, cert_file: str | Path, **kwargs: Any) -> XmlSigner:
        """Key and certificate chain from PEM files."""
        return cls(Path(key_file), Path(cert_file), **kwargs)

    @property
    def subject(self) -> str:
        return _subject(self.certificate)

    def sign(
        self,
        root: etree._Element,
        *,
        parent: etree._Element | None = None,
        index: int | None = None,
        reference_uri: str = "",
        external: ExternalText | None = None,
        in_place: bool = False,
    ) -> etree._Element:
        """Return a signed copy of ``root`` (``root`` itself is left unchanged), or,
        with ``in_place=True``, sign ``root`` itself and return it (saves a copy of
        the document for callers that built the tree just to sign it).

        The ``Signature`` goes into ``parent`` (an element of ``root``; default:
        ``root``) at ``index`` (default: last). ``reference_uri=""`` signs the whole
        document (enveloped); ``"#id"`` signs the element whose ``Id`` is ``id``.
        """
        signer = self._cls(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm=self._method,
            digest_algorithm=self._digest,
            c14n_algorithm=self._c14n,
        )
        signer.external = dict(external or {})
        signer.in_place = in_place
        holder = root if parent is None else parent
        placeholder = etree.Element(
            f"{{{DSIG_NS}}}Signature", {"Id": _PLACEHOLDER_ID}, nsmap={"ds": DSIG_NS}
        )
        if index is None:
            holder.append(placeholder)
        else:
            holder.insert(index, placeholder)
        done = False
        try:
            signed: etree._Element = signer.sign(
                root,
                key=self.key,
                cert=self._pems,
                reference_uri=reference_uri or None,
            )
            done = True
        except dsig_errors.SignXMLException as exc:
            raise SignatureError(f"signing failed: {exc}") from None
        finally:
            if not (in_place and done):
                holder.remove(placeholder)  # in place, it became the signature
        return signed


# ------------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerifiedXml:
    """The outcome of a successful verification.

    ``signed_xml`` is *only what the signature covers*, re-parsed from its canonical
    form (comments the signature does not cover are gone): read everything from here,
    never from the document you passed in, or a signature-wrapping attack could feed
    you unsigned content.
    """

    signed_xml: etree._Element
    signed_data: bytes
    reference_uri: str
    certificate: x509.Certificate
    algorithm: str
    digest_algorithm: str
    c14n: str
    trusted: bool
    trust_note: str
    found_as: str
    """How the ``Signature`` element was found: ``"xmldsig"`` (the proper namespace),
    ``"foreign-namespace"`` (no namespace declaration of its own, so it fell into the
    document's default namespace: :attr:`found_namespace`) or ``"no-namespace"``."""
    found_namespace: str | None = DSIG_NS
    unverified_document: etree._Element | None = field(default=None, repr=False)
    """The whole document as parsed — NOT trusted: only for checks such as
    signature wrapping (is the signed element the one in place?), never for
    reading content."""

    @property
    def signer_subject(self) -> str:
        return _subject(self.certificate)

    @property
    def is_sha1(self) -> bool:
        return "sha1" in self.algorithm or self.digest_algorithm == "sha1"


class TrustStore:
    """CA certificates that signer certificates must chain to, checked with
    ``cryptography``'s path validation at a given time (validity of every
    certificate in the chain included).

    Successful chains are cached by certificate bytes; a cached chain is reused only
    while the verification time lies inside every certificate's validity period, so
    the cache never lets an expired certificate through.
    """

    def __init__(self, cas: Sequence[x509.Certificate], *, max_chain_depth: int = 4) -> None:
        if not cas:
            raise ConfigurationError(
                "an empty trust store trusts nobody",
                setting="documents.options.trust_store",
                expected="a PEM file with the CA certificates of the signers",
            )
        self.cas = list(cas)
        self._store = x509v.Store(self.cas)
        self._max_depth = max_chain_depth
        self._cache: dict[tuple[bytes, ...], tuple[list[x509.Certificate], datetime, datetime]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_pem(cls, *sources: bytes | str | Path) -> TrustStore:
        certs: list[x509.Certificate] = []
        for source in sources:
            certs.extend(load_certificates(source))
        return cls(certs)

    @staticmethod
    def _ee_policy() -> x509v.ExtensionPolicy:
        def key_usage(policy: Any, cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
            if usage is not None and not (usage.digital_signature or usage.content_commitment):
                raise ValueError("the certificate's KeyUsage allows no signatures")

        return x509v.ExtensionPolicy.permit_all().may_be_present(
            x509.KeyUsage, x509v.Criticality.AGNOSTIC, key_usage
        )

    @staticmethod
    def _ca_policy() -> x509v.ExtensionPolicy:
        def basic(policy: Any, cert: x509.Certificate, bc: x509.BasicConstraints) -> None:
            if not bc.ca:
                raise ValueError("an issuer certificate is not a CA (BasicConstraints)")

        return x509v.ExtensionPolicy.permit_all().require_present(
            x509.BasicConstraints, x509v.Criticality.AGNOSTIC, basic
        )

    def chain(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        at: datetime,
    ) -> list[x509.Certificate]:
        """The verified chain (leaf first); :class:`SignatureError` when not trusted."""
        key = tuple(_der(c) for c in (leaf, *intermediates))
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[1] <= at <= cached[2]:
            return cached[0]
        builder = (
            x509v.PolicyBuilder()
            .store(self._store)
            .time(at)
            .max_chain_depth(self._max_depth)
            .extension_policies(ee_policy=self._ee_policy(), ca_policy=self._ca_policy())
        )
        try:
            verified = builder.build_client_verifier().verify(leaf, list(intermediates))
        except x509v.VerificationError as exc:
            issuers = [
                c
                for c in self.cas
                if c.subject in {leaf.issuer, *(i.issuer for i in intermediates)}
            ]
            problem = _chain_problem(leaf, [*intermediates, *issuers], at)
            raise SignatureError(
                f"the signer's certificate ({_subject(leaf)}) is not trusted: {problem or exc}",
                hint="check the signer's certificate, its validity dates and the configured "
                "trust store (documents.options.trust_store)",
            ) from None
        chain = list(verified.chain)
        window = (
            max(c.not_valid_before_utc for c in chain),
            min(c.not_valid_after_utc for c in chain),
        )
        with self._lock:
            if len(self._cache) > 1024:
                self._cache.clear()
            self._cache[key] = (chain, *window)
        return chain


def _chain_problem(
    leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], at: datetime
) -> str | None:
    for cert in (leaf, *intermediates):
        if at > cert.not_valid_after_utc:
            return (
                f"certificate {_subject(cert)} expired on "
                f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
            )
        if at < cert.not_valid_before_utc:
            return (
                f"certificate {_subject(cert)} is not valid before "
                f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
            )
    return None


def _find_signatures(root: etree._Element, location: str | None) -> list[etree._Element]:
    base = root if location is None else root.find(location.rstrip("/") or ".")
    if base is None:
        return []
    if location is None:
        return list(root.iter(f"{{{DSIG_NS}}}Signature"))
    return base.findall(f"{{{DSIG_NS}}}Signature")


def _find_foreign_signature(root: etree._Element, location: str | None) -> etree._Element | None:
    """A ``Signature`` element outside the xmldsig namespace (real-world samples)."""
    base = root if location is None else root.find(location.rstrip("/") or ".")
    if base is None:
        return None
    candidates = base.iter() if location is None else iter(base)
    for element in candidates:
        if isinstance(element.tag, str) and etree.QName(element).localname == "Signature":
            return element
    return None


def _to_dsig_namespace(element: etree._Element) -> etree._Element:
    """A copy of a namespace-less ``Signature`` subtree moved into xmldsig."""

    def convert(node: etree._Element, parent: etree._Element | None) -> etree._Element:
        tag = f"{{{DSIG_NS}}}{etree.QName(node).localname}"
        attrib = {str(k): str(v) for k, v in node.attrib.items()}
        if parent is None:
            nsmap: dict[str | None, str] = {None: DSIG_NS}
            new = etree.Element(tag, attrib, nsmap=cast(Any, nsmap))
        else:
            new = etree.SubElement(parent, tag, attrib)
        new.text = node.text
        new.tail = node.tail
        for child in node:
            if isinstance(child.tag, str):
                convert(child, new)
        return new

    return convert(element, None)


_CERT_PATH = f"{{{DSIG_NS}}}KeyInfo/{{{DSIG_NS}}}X509Data/{{{DSIG_NS}}}X509Certificate"


@lru_cache(maxsize=512)
def _certificate_from_text(text: str) -> x509.Certificate:
    return _certificate_from_der(base64.b64decode("".join(text.split()), validate=True))


def _embedded_chain(signature: etree._Element) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for node in signature.findall(_CERT_PATH):
        text = node.text or ""
        if not text.strip():
            continue
        try:
            certs.append(_certificate_from_text(text))
        except (ValueError, binascii.Error) as exc:
            raise SignatureError(
                f"the signature carries an unreadable certificate: {exc}"
            ) from None
    return certs


def _order_chain(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """Leaf first: the certificate that issued no other one in the list."""
    if len(certs) < 2:
        return certs
    issuers = {c.issuer.public_bytes() for c in certs}
    leaves = [c for c in certs if c.subject.public_bytes() not in issuers or c.issuer == c.subject]
    leaf = next((c for c in leaves if c.issuer != c.subject), certs[0])
    return [leaf, *(c for c in certs if c is not leaf)]


def _verifier_class() -> Any:
    class _Verifier(_XMLVerifier):
        external: ExternalText = MappingProxyType({})

        def get_root(self, data: Any) -> Any:
            # signxml copies the tree before changing anything (signature removal,
            # transforms), so the tree govlink parsed once can be used as is.
            if isinstance(data, etree._Element):
                return data
            return super().get_root(data)  # type: ignore[no-untyped-call]

        def _c14n(self, nodes: Any, algorithm: Any, inclusive_ns_prefixes: Any = None) -> bytes:
            return _c14n_fixed(self, nodes, algorithm, inclusive_ns_prefixes)

        def _get_digest(self, data: bytes, algorithm: Any) -> bytes:
            if self.external:
                return _external_digest(data, algorithm, self.external)
            digest: bytes = super()._get_digest(data, algorithm)
            return digest

    return _Verifier


class XmlVerifier:
    """Verify enveloped XML-DSig signatures against pinned certificates or CAs.

    * ``pinned``: the signature must be made with one of these certificates (the
      one embedded in the signature, if any, must be one of them);
    * ``trust``: the embedded certificate must chain to one of these CAs, valid at
      the verification time (``clock`` or the ``at`` argument);
    * neither, with ``require_trusted=False``: integrity only — the embedded
      certificate is used and the result says ``trusted=False`` (the CLI's
      "who signed this?" mode). With ``require_trusted=True`` (default) an
      untrusted signer raises :class:`~govlink.core.errors.SignatureError`.

    RSA-SHA1 (legacy packages) verifies only with ``allow_sha1=True``, and each such
    verification logs a warning. Thread-safe; build it once and reuse it.
    """

    def __init__(
        self,
        *,
        pinned: Sequence[x509.Certificate] = (),
        trust: TrustStore | None = None,
        allow_sha1: bool = False,
        require_trusted: bool = True,
        clock: Clock | None = None,
        validate_schema: bool = True,
    ) -> None:
        if require_trusted and not pinned and trust is None:
            raise ConfigurationError(
                "signature verification needs a pinned certificate or a trust store",
                setting="documents.options.trust_store",
                expected="a PEM file of CA certificates (or pinned_certs), or "
                "require_trusted=False for an integrity-only check",
            )
        self.pinned = list(pinned)
        self._pinned_der = {c.public_bytes(serialization.Encoding.DER): c for c in self.pinned}
        self.trust = trust
        self.allow_sha1 = allow_sha1
        self.require_trusted = require_trusted
        self.clock: Clock = clock or SystemClock()
        self.validate_schema = validate_schema
        self._cls = _verifier_class()
        self._methods = frozenset(
            m for m in dsig_algorithms.SignatureMethod if allow_sha1 or "SHA1" not in m.name
        )
        self._digests = frozenset(
            d for d in dsig_algorithms.DigestAlgorithm if allow_sha1 or "SHA1" not in d.name
        )

    def _config(self, location: str, at: datetime) -> Any:
        return SignatureConfiguration(
            require_x509=True,
            location=location,
            expect_references=1,
            signature_methods=self._methods,
            digest_algorithms=self._digests,
            verification_time=at,
            default_reference_c14n_method=dsig_algorithms.CanonicalizationMethod.CANONICAL_XML_1_0,
        )

    def _pick_certificate(
        self, embedded: list[x509.Certificate], at: datetime
    ) -> tuple[list[x509.Certificate], bool, str]:
        """Candidate signing certificates, whether trusted, and why (or why not)."""
        if self.pinned:
            if embedded:
                leaf_der = _der(embedded[0])
                pinned = self._pinned_der.get(leaf_der)
                if pinned is not None:
                    return [pinned], True, "pinned certificate"
                if self.trust is None:
                    return self._untrusted(
                        embedded,
                        f"the signer's certificate ({_subject(embedded[0])}) is not one of the "
                        "pinned certificates",
                    )
            else:
                return self.pinned, True, "pinned certificate"
        if self.trust is not None:
            if not embedded:
                return self._untrusted(
                    [], "the signature carries no X509Certificate to check against the trust store"
                )
            try:
                chain = self.trust.chain(embedded[0], embedded[1:], at)
            except SignatureError as exc:
                return self._untrusted(embedded, exc.message)
            return [chain[0]], True, f"chains to trusted CA {_subject(chain[-1])}"
        return self._untrusted(embedded, "no trust store or pinned certificate configured")

    def _untrusted(
        self, embedded: list[x509.Certificate], reason: str
    ) -> tuple[list[x509.Certificate], bool, str]:
        if self.require_trusted:
            raise SignatureError(
                reason,
                hint="configure the signer's CA in documents.options.trust_store "
                "(or pin its certificate)",
            )
        if not embedded:
            raise SignatureError("the signature carries no certificate to verify it with")
        return [embedded[0]], False, reason

    def verify(
        self,
        data: bytes | etree._Element,
        *,
        location: str | Callable[[etree._Element], str | None] | None = None,
        at: datetime | None = None,
        external: ExternalText | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> VerifiedXml:
        """Verify the one signature at ``location`` (an ElementPath to its parent,
        e.g. ``"./{ns}Header/"``, or a function of the parsed document giving one;
        default: anywhere, but then exactly one).

        Raises :class:`~govlink.core.errors.SignatureError` naming what failed.
        """
        # signxml gets the tree parsed here (its get_root is overridden to use it as
        # is), so the document is parsed once, by the hardened parser.
        root = (
            parse_xml(bytes(data), max_bytes=max_bytes)
            if isinstance(data, bytes | bytearray)
            else data
        )
        payload: etree._Element = root
        if callable(location):
            location = location(root)
        when = (at or self.clock.now()).astimezone(UTC)
        found_as = "xmldsig"
        found_namespace: str | None = DSIG_NS
        signatures = _find_signatures(root, location)
        if not signatures:
            foreign = _find_foreign_signature(root, location)
            if foreign is None:
                raise SignatureError(
                    "the document is not signed (no Signature element"
                    + (f" at {location}" if location else "")
                    + ")",
                    hint="ask the sender to sign it, or check that it is the document you meant",
                )
            found_namespace = etree.QName(foreign).namespace
            found_as = "no-namespace" if found_namespace is None else "foreign-namespace"
            log.info(
                "the Signature element is not in the xmldsig namespace (%s); verifying it as "
                "xmldsig",
                etree.QName(foreign).namespace or "no namespace",
            )
            root = etree.fromstring(etree.tostring(root), parser=hardened_parser())
            foreign = _find_foreign_signature(root, location)
            assert foreign is not None
            converted = _to_dsig_namespace(foreign)
            holder = foreign.getparent()
            if holder is None:
                raise SignatureError("the Signature element is the whole document")
            holder.replace(foreign, converted)
            signatures = [converted]
            payload = root
        if len(signatures) != 1:
            raise SignatureError(
                f"the document carries {len(signatures)} signatures where one was expected",
                hint="a second signature is a sign of tampering (signature wrapping)",
            )
        signature = signatures[0]
        embedded = _order_chain(_embedded_chain(signature))
        candidates, trusted, note = self._pick_certificate(embedded, when)
        config_location = location if location is not None else ".//"
        config = self._config(config_location, when)
        result: Any = None
        last_error: Exception | None = None
        for cert in candidates:
            verifier = self._cls()
            verifier.external = dict(external or {})
            try:
                result = verifier.verify(
                    payload,
                    x509_cert=cert,
                    expect_config=config,
                    parser=hardened_parser(),
                    validate_schema=self.validate_schema,
                )
                signing_cert = cert
                break
            except dsig_errors.InvalidCertificate as exc:
                last_error = SignatureError(
                    f"the signer's certificate is not valid: {_short(exc)}",
                    hint="the certificate has expired or is not yet valid at the verification "
                    "time; ask the sender to re-sign with a current certificate",
                )
            except dsig_errors.InvalidDigest:
                last_error = SignatureError(
                    "the signed content was changed after signing (digest mismatch)",
                    hint="do not use this document; ask the sender to send it again",
                )
            except dsig_errors.InvalidSignature as exc:
                last_error = SignatureError(
                    f"the signature does not verify: {_short(exc)}",
                    hint="the document was altered or signed with another key; do not use it",
                )
            except dsig_errors.InvalidInput as exc:
                text = str(exc)
                if "SHA1" in text and "forbidden" in text:
                    last_error = SignatureError(
                        "the document is signed with legacy RSA-SHA1, which this profile "
                        "does not accept",
                        hint="set documents.options.allow_sha1 = true only if this sender "
                        "cannot upgrade (SHA-1 signatures are forgeable)",
                    )
                else:
                    last_error = SignatureError(f"the signature is malformed: {_short(exc)}")
            except (dsig_errors.SignXMLException, etree.LxmlError, ValueError) as exc:
                last_error = SignatureError(f"the signature is malformed: {_short(exc)}")
        if result is None:
            assert last_error is not None
            raise last_error
        signature_xml = result.signature_xml
        method = signature_xml.find(f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}SignatureMethod")
        c14n_node = signature_xml.find(
            f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}CanonicalizationMethod"
        )
        reference = signature_xml.find(f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}Reference")
        digest_node = signature_xml.find(
            f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}Reference/{{{DSIG_NS}}}DigestMethod"
        )
        method_uri = method.get("Algorithm", "") if method is not None else ""
        c14n_uri = c14n_node.get("Algorithm", "") if c14n_node is not None else ""
        digest_uri = digest_node.get("Algorithm", "") if digest_node is not None else ""
        algorithm = _ALGORITHM_NAMES.get(method_uri, method_uri)
        digest_name = _DIGEST_NAMES.get(digest_uri, digest_uri)
        if result.signed_xml is None:
            raise SignatureError("the signed content is not XML")
        verified = VerifiedXml(
            signed_xml=result.signed_xml,
            signed_data=result.signed_data,
            reference_uri=reference.get("URI", "") if reference is not None else "",
            certificate=signing_cert,
            algorithm=algorithm,
            digest_algorithm=digest_name,
            c14n=next((k for k, v in C14N_METHODS.items() if c14n_uri.startswith(v)), c14n_uri),
            trusted=trusted,
            trust_note=note,
            found_as=found_as,
            found_namespace=found_namespace,
            unverified_document=root,
        )
        if verified.is_sha1:
            log.warning(
                "accepted a legacy SHA-1 signature by %s (allowed by this profile); "
                "SHA-1 signatures can be forged — ask the sender to move to RSA-SHA256",
                verified.signer_subject,
            )
        return verified


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint (hex, colon-separated), as shown by most tools."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
