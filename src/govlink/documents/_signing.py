"""Sign and verify edXML packages and status messages (XML-DSig via core/xml).

Where the signature goes and what it covers — the decision (PLATFORMS.md §5):

* the ``Signature`` element is placed in ``edXMLHeader`` (after ``MessageHeader`` and
  ``TraceHeaderList``), where the standard puts it;
* scope ``"document"`` (default): one enveloped reference ``URI=""`` over the whole
  document, attachments included — what legacy packages carry and what any XML-DSig
  implementation verifies without configuration;
* scope ``"envelope"``: the reference points at ``edXMLEnvelope`` (given an ``Id``),
  so the attachments are *not* covered. For deployments that sign the envelope only;
  a verified package then marks its attachments ``signed = False``.

Large packages cost no extra memory in either scope: attachment text is streamed
into the digest (see :mod:`govlink.core.xml`), and on the receiving side the
attachment text is spooled to disk and streamed into the digest check the same way.

Verification returns a :class:`VerifiedEdxml` whose package was rebuilt from the
*signed* content only. A package whose signature covers something other than the
document or its envelope, or whose signed envelope is not the one in place (the
classic signature-wrapping trick), is rejected.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from govlink.core.clock import Clock
from govlink.core.config import GovLinkSettings
from govlink.core.driver import EvidenceMixin
from govlink.core.errors import ConfigurationError, SignatureError
from govlink.core.xml import (
    StreamedXml,
    TrustStore,
    VerifiedXml,
    XmlSigner,
    XmlVerifier,
    load_certificates,
    write_xml,
)
from govlink.documents.edxml._build import BuiltTree, package_tree, status_tree
from govlink.documents.edxml._parse import (
    DEFAULT_PACKAGE_MAX_BYTES,
    edxml_child,
    edxml_local,
    kind_of,
    package_from_tree,
    read_tree,
    status_from_tree,
)
from govlink.documents.edxml._validate import AGENCY_CODE_RE, check_package, check_status
from govlink.documents.edxml.models import EDXML_NS, EdxmlPackage, StatusMessage
from govlink.documents.options import DocumentsOptions

__all__ = [
    "PackageSigner",
    "PackageVerifier",
    "SignatureScope",
    "VerifiedEdxml",
    "signer_agency_code",
    "signer_from_settings",
    "verifier_from_settings",
]

SignatureScope = Literal["document", "envelope"]

_EDXML_TAG = f"{{{EDXML_NS}}}edXML"
_HEADER_TAG = f"{{{EDXML_NS}}}edXMLHeader"


_local = edxml_local
_child = edxml_child


def _header_of(root: etree._Element) -> etree._Element | None:
    envelope = root if _local(root) == "edXMLEnvelope" else _child(root, "edXMLEnvelope")
    return _child(envelope, "edXMLHeader")


def signer_agency_code(cert: x509.Certificate) -> str | None:
    """The agency code a certificate names (``UID``, else any attribute that looks
    like ``NNN.NN.NN.XNN``), or None when it names none."""
    for oid in (NameOID.USER_ID, NameOID.SERIAL_NUMBER, NameOID.COMMON_NAME):
        for attribute in cert.subject.get_attributes_for_oid(oid):
            value = str(attribute.value).strip()
            if AGENCY_CODE_RE.match(value):
                return value
    for attribute in cert.subject:
        found = re.search(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}", str(attribute.value))
        if found:
            return found.group()
    return None


class PackageSigner:
    """Signs packages and status messages as one agency (key loaded once)."""

    def __init__(self, signer: XmlSigner, *, scope: SignatureScope = "document") -> None:
        if scope not in ("document", "envelope"):
            raise ConfigurationError(
                f"unknown signature scope {scope!r}",
                setting="documents.options.signature_scope",
                expected="document or envelope",
            )
        self.signer = signer
        self.scope: SignatureScope = scope

    @classmethod
    def from_files(
        cls,
        key_file: str | Path,
        cert_file: str | Path,
        *,
        password: str | None = None,
        algorithm: str = "rsa-sha256",
        c14n: str = "c14n",
        scope: SignatureScope = "document",
        allow_sha1: bool = False,
    ) -> PackageSigner:
        signer = XmlSigner(
            Path(key_file),
            Path(cert_file),
            password=password,
            algorithm=algorithm,
            c14n=c14n,
            allow_sha1=allow_sha1,
        )
        return cls(signer, scope=scope)

    @property
    def agency_code(self) -> str | None:
        """The agency code the signing certificate names (None if it names none)."""
        return signer_agency_code(self.signer.certificate)

    def sign_tree(self, built: BuiltTree, *, in_place: bool = False) -> BuiltTree:
        """A signed copy of ``built`` (its external texts are shared, not copied);
        ``in_place=True`` signs ``built`` itself (for trees built only to be signed)."""
        reference = ""
        if self.scope == "envelope":
            envelope_id = built.envelope.get("Id") or f"edxml-{uuid.uuid4().hex}"
            built.envelope.set("Id", envelope_id)
            reference = f"#{envelope_id}"
        signed = self.signer.sign(
            built.root,
            parent=built.header,
            reference_uri=reference,
            external=built.external,
            in_place=in_place,
        )
        if signed is built.root:  # in place: the same header and envelope
            return built
        header = _header_of(signed)
        envelope = _child(signed, "edXMLEnvelope")
        assert header is not None
        assert envelope is not None
        return BuiltTree(signed, header, envelope, dict(built.external))

    def write(
        self, message: EdxmlPackage | StatusMessage, out: BinaryIO, *, validate: bool = True
    ) -> int:
        """Sign ``message`` and write it to ``out`` (streaming); returns bytes written."""
        if isinstance(message, StatusMessage):
            if validate:
                check_status(message)
            built = status_tree(message)
        else:
            if validate:
                check_package(message)
            built = package_tree(message)
        signed = self.sign_tree(built, in_place=True)
        return write_xml(signed.root, out, external=signed.external)

    def sign(self, message: EdxmlPackage | StatusMessage, *, validate: bool = True) -> bytes:
        """The signed package (or status message) as bytes."""
        buffer = io.BytesIO()
        self.write(message, buffer, validate=validate)
        return buffer.getvalue()

    def sign_document(
        self,
        source: bytes | BinaryIO | Path,
        out: BinaryIO,
        *,
        replace: bool = False,
        max_bytes: int = DEFAULT_PACKAGE_MAX_BYTES,
    ) -> int:
        """Sign an existing edXML file as it is (contents untouched, streamed).

        An already signed document is refused unless ``replace=True`` (which removes
        the old signatures from ``edXMLHeader`` first).
        """
        streamed = read_tree(source, max_bytes=max_bytes)
        try:
            root = streamed.root
            header = _header_of(root)
            envelope = root if _local(root) == "edXMLEnvelope" else _child(root, "edXMLEnvelope")
            if header is None or envelope is None:
                raise SignatureError(
                    "the document has no edXMLEnvelope/edXMLHeader to put the signature in",
                    hint="is it an edXML package?",
                )
            existing = [
                e
                for e in root.iter()
                if isinstance(e.tag, str) and etree.QName(e).localname == "Signature"
            ]
            if existing and not replace:
                raise SignatureError(
                    "the document is already signed",
                    hint="pass replace=True (CLI: --replace) to re-sign it",
                )
            for element in existing:
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)
            built = BuiltTree(root, header, envelope, dict(streamed.external))
            signed = self.sign_tree(built, in_place=True)  # the tree is ours, parsed here
            return write_xml(signed.root, out, external=signed.external)
        finally:
            streamed.close()


@dataclass
class VerifiedEdxml(EvidenceMixin):
    """A verified package or status message, built from the signed content only."""

    kind: Literal["edoc", "status"]
    xml: VerifiedXml = field(repr=False)
    scope: SignatureScope
    signature_found_as: str
    """``xmldsig``, ``edxml-namespace`` (a ``<Signature>`` with no namespace of its
    own, as in a public sample) or ``no-namespace``."""
    streamed: StreamedXml | None = field(default=None, repr=False)
    content_root: etree._Element | None = field(default=None, repr=False)
    """The signed content (what the models are read from)."""
    attachments_root: etree._Element | None = field(default=None, repr=False)
    _package: EdxmlPackage | None = field(default=None, repr=False)
    _status: StatusMessage | None = field(default=None, repr=False)

    @property
    def package(self) -> EdxmlPackage | None:
        """The document package (None for a status message), read on first use
        from the signed content only."""
        if self._package is None and self.kind == "edoc" and self.content_root is not None:
            self._package = package_from_tree(
                self.content_root,
                self.streamed.external if self.streamed is not None else {},
                attachments_root=self.attachments_root,
                attachments_signed=self.scope == "document",
            )
        return self._package

    @property
    def status(self) -> StatusMessage | None:
        """The status message (None for a document package)."""
        if self._status is None and self.kind == "status" and self.content_root is not None:
            self._status = status_from_tree(self.content_root)
        return self._status

    @property
    def trusted(self) -> bool:
        return self.xml.trusted

    @property
    def algorithm(self) -> str:
        return self.xml.algorithm

    @property
    def certificate(self) -> x509.Certificate:
        return self.xml.certificate

    @property
    def signer_subject(self) -> str:
        return self.xml.signer_subject

    @property
    def signer_agency_code(self) -> str | None:
        return signer_agency_code(self.xml.certificate)

    @property
    def sender(self) -> str | None:
        """The agency the message says it is from (``From/OrganId``)."""
        if self.package is not None:
            return self.package.sender
        if self.status is not None and self.status.from_ is not None:
            return self.status.from_.organ_id
        return None

    @property
    def sender_matches(self) -> bool | None:
        """Whether the certificate names the sending agency (None: it names none)."""
        code = self.signer_agency_code
        return None if code is None else code == self.sender

    @property
    def attachments_signed(self) -> bool:
        return self.scope == "document"

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (for the CLI and logs)."""
        cert = self.xml.certificate
        return {
            "kind": self.kind,
            "signer": self.signer_subject,
            "signer_agency_code": self.signer_agency_code,
            "sender": self.sender,
            "sender_matches": self.sender_matches,
            "algorithm": self.algorithm,
            "digest_algorithm": self.xml.digest_algorithm,
            "c14n": self.xml.c14n,
            "trusted": self.trusted,
            "trust": self.xml.trust_note,
            "scope": self.scope,
            "signature_found_as": self.signature_found_as,
            "certificate_valid_from": cert.not_valid_before_utc.isoformat(),
            "certificate_valid_until": cert.not_valid_after_utc.isoformat(),
            "certificate_serial": format(cert.serial_number, "x"),
        }

    def close(self) -> None:
        """Delete the temporary files holding attachment contents."""
        if self.streamed is not None:
            self.streamed.close()


class PackageVerifier:
    """Verifies packages and status messages, then parses only the signed content."""

    def __init__(
        self,
        verifier: XmlVerifier,
        *,
        max_bytes: int = DEFAULT_PACKAGE_MAX_BYTES,
        require_sender_match: bool = False,
    ) -> None:
        self.verifier = verifier
        self.max_bytes = max_bytes
        self.require_sender_match = require_sender_match

    @classmethod
    def from_files(
        cls,
        *,
        trust_store: str | Path | list[str | Path] | None = None,
        pinned: str | Path | list[str | Path] | None = None,
        allow_sha1: bool = False,
        require_trusted: bool = True,
        clock: Clock | None = None,
        **kwargs: Any,
    ) -> PackageVerifier:
        trust = None
        if trust_store:
            paths = trust_store if isinstance(trust_store, list) else [trust_store]
            trust = TrustStore.from_pem(*(Path(p) for p in paths))
        pinned_certs: list[x509.Certificate] = []
        if pinned:
            for path in pinned if isinstance(pinned, list) else [pinned]:
                pinned_certs.extend(load_certificates(Path(path)))
        verifier = XmlVerifier(
            pinned=pinned_certs,
            trust=trust,
            allow_sha1=allow_sha1,
            require_trusted=require_trusted,
            clock=clock,
        )
        return cls(verifier, **kwargs)

    def verify(
        self, source: bytes | BinaryIO | Path, *, at: datetime | None = None
    ) -> VerifiedEdxml:
        """Verify; :class:`SignatureError` says what failed. The package (or status)
        is read from the signed content on first access.

        Close the result (or let it be garbage-collected) to delete the spooled
        attachment files of large packages.
        """
        if isinstance(source, (bytes, bytearray)) and len(source) <= _IN_MEMORY_LIMIT:
            # small: libxml2 parses the bytes (attachments inline), no spooling
            verified = self.verifier.verify(
                bytes(source), location=_signature_location, at=at, max_bytes=self.max_bytes
            )
            assert verified.unverified_document is not None
            return self._finish(verified, StreamedXml(verified.unverified_document, {}))
        streamed = read_tree(source, max_bytes=self.max_bytes)
        try:
            verified = self.verifier.verify(
                streamed.root,
                location=_signature_location(streamed.root),
                at=at,
                external=streamed.external,
            )
            return self._finish(verified, streamed)
        except BaseException:
            streamed.close()
            raise

    def _finish(self, verified: VerifiedXml, streamed: StreamedXml) -> VerifiedEdxml:
        root = (
            verified.unverified_document
            if verified.unverified_document is not None
            else streamed.root
        )
        found_as = verified.found_as
        if found_as == "foreign-namespace":
            found_as = (
                "edxml-namespace" if verified.found_namespace == EDXML_NS else "other-namespace"
            )
        signed = verified.signed_xml
        reference = verified.reference_uri
        scope: SignatureScope
        attachments_root = None
        if reference == "":
            if _local(signed) not in ("edXML", "edXMLEnvelope"):
                raise SignatureError("the signed content is not an edXML document")
            scope = "document"
        elif reference.startswith("#"):
            envelope = root if _local(root) == "edXMLEnvelope" else _child(root, "edXMLEnvelope")
            if _local(signed) != "edXMLEnvelope":
                raise SignatureError(
                    f"the signature covers only <{etree.QName(signed).localname}>, not the "
                    "package's edXMLEnvelope",
                    hint="the header is unsigned; do not trust this package",
                )
            if envelope is None or envelope.get("Id") != reference[1:]:
                raise SignatureError(
                    "signature wrapping: the signed edXMLEnvelope is not the one the package "
                    "presents",
                    hint="the package was tampered with to show unsigned content; reject it",
                )
            scope = "envelope"
            attachments_root = root
        else:
            raise SignatureError(f"unsupported signature reference {reference!r}")
        result = VerifiedEdxml(
            _kind(signed, verified.signed_data),
            verified,
            scope,
            found_as,
            streamed=streamed,
            content_root=signed,
            attachments_root=attachments_root,
        )
        if self.require_sender_match and result.sender_matches is False:
            raise SignatureError(
                f"the package says it is from {result.sender} but is signed by "
                f"{result.signer_agency_code}",
                hint="only accept packages signed by the sending agency's certificate",
            )
        return result


_IN_MEMORY_LIMIT = 8 * 1024 * 1024


def _kind(signed: etree._Element, canonical: bytes | str) -> Literal["edoc", "status"]:
    """:func:`kind_of` the signed content, whose canonical bytes are at hand: without
    ``Status`` in them it has neither a ``Status`` nor a ``StatusCode`` element (an
    element's name is always spelled out in canonical XML), so it is a document
    package; a byte search is cheaper than walking the header for each package."""
    if isinstance(canonical, bytes) and b"Status" not in canonical:
        return "edoc"
    return kind_of(signed)


def _signature_location(root: etree._Element) -> etree._Element | None:
    """Where the standard puts the signature (``edXMLEnvelope/edXMLHeader``, handed
    on as the element itself) when it is there in proper namespaces; else None
    (anywhere, exactly one)."""
    if root.tag != _EDXML_TAG:
        return None
    header = _child(_child(root, "edXMLEnvelope"), "edXMLHeader")
    if header is None or header.tag != _HEADER_TAG:
        return None
    for child in header:  # a Signature child, in any namespace or none
        tag = child.tag
        if isinstance(tag, str) and (tag == "Signature" or tag.endswith("}Signature")):
            return header
    return None


def signer_from_settings(settings: GovLinkSettings) -> PackageSigner | None:
    """The agency's signer from ``settings.documents.options`` (None if unset)."""
    options = DocumentsOptions.of(settings)
    key = options.signing_key or settings.documents.auth.private_key_file
    cert = options.signing_cert
    if not key and not cert:
        return None
    if not key or not cert:
        missing = "signing_key" if not key else "signing_cert"
        raise ConfigurationError(
            f"documents.options.{missing} is not set (signing needs key and certificate)",
            setting=f"GOVLINK_DOCUMENTS__OPTIONS__{missing.upper()}",
            expected="the path of a PEM file",
        )
    return PackageSigner.from_files(
        Path(str(key)),
        Path(cert),
        password=options.signing_key_password,
        algorithm=options.signature_algorithm,
        c14n=options.c14n,
        scope=options.signature_scope,
        allow_sha1=options.allow_sha1,
    )


def verifier_from_settings(
    settings: GovLinkSettings, *, clock: Clock | None = None, require_trusted: bool = True
) -> PackageVerifier | None:
    """The receiving side's verifier from ``settings.documents.options`` (None if no
    trust store or pinned certificate is configured and trust is required)."""
    options = DocumentsOptions.of(settings)
    trust: list[str | Path] | None = list(options.trust_store or ()) or None
    pinned: list[str | Path] | None = list(options.pinned_certs or ()) or None
    if not trust and not pinned and require_trusted:
        return None
    extra: dict[str, Any] = {}
    if options.max_package_mb:
        extra["max_bytes"] = int(options.max_package_mb * 1024 * 1024)
    return PackageVerifier.from_files(
        trust_store=trust,
        pinned=pinned,
        allow_sha1=options.allow_sha1,
        require_trusted=require_trusted,
        clock=clock,
        # On by default for receivers: a certificate of another agency from the same CA
        # must not be able to send in the name of the agency in From.
        require_sender_match=options.require_sender_match,
        **extra,
    )
