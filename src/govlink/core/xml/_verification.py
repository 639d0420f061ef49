"""Verification and trust: one signature, checked against pinned certificates or a
trust store; afterwards only the signed content is handed on (no signature wrapping)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import algorithms as dsig_algorithms
from signxml import exceptions as dsig_errors
from signxml.verifier import SignatureConfiguration

from govlink.core.clock import Clock, SystemClock
from govlink.core.errors import ConfigurationError, SignatureError
from govlink.core.xml._algorithms import (
    _ALGORITHM_NAMES,
    _DIGEST_NAMES,
    C14N_METHODS,
    accepted_digests,
    accepted_signature_methods,
)
from govlink.core.xml._keys import (
    TrustStore,
    _der,
    _embedded_chain,
    _order_chain,
    _subject,
)
from govlink.core.xml._parsing import (
    DEFAULT_MAX_BYTES,
    DSIG_NS,
    ExternalText,
    hardened_parser,
    parse_xml,
)
from govlink.core.xml._signxml import _verifier_class

log = logging.getLogger("govlink.xml")


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

    @classmethod
    def _of(cls, **values: Any) -> VerifiedXml:
        """The instance with these field values, built without the generated
        ``__init__`` (a frozen dataclass sets each field through
        ``object.__setattr__``, a measurable part of a small verification). Every
        field must be given."""
        if values.keys() != _VERIFIED_FIELDS:
            raise TypeError(f"VerifiedXml needs exactly the fields {sorted(_VERIFIED_FIELDS)}")
        instance = object.__new__(cls)
        instance.__dict__.update(values)
        return instance

    @property
    def signer_subject(self) -> str:
        return _subject(self.certificate)

    @property
    def is_sha1(self) -> bool:
        return "sha1" in self.algorithm or self.digest_algorithm == "sha1"


_SIGNATURE_TAG = f"{{{DSIG_NS}}}Signature"


_VERIFIED_FIELDS = frozenset(f.name for f in fields(VerifiedXml))


def _find_signatures(
    root: etree._Element, location: str | None, base: etree._Element | None = None
) -> tuple[list[etree._Element], bool]:
    """The xmldsig ``Signature`` children of ``base`` (the element ``location`` names,
    when the caller already holds it), or anywhere in the document (no location);
    and whether the document holds no other xmldsig ``Signature``."""
    everywhere = list(root.iter(_SIGNATURE_TAG))
    if location is None:
        return everywhere, True
    if base is None:
        base = root.find(location.rstrip("/") or ".")
    found = [s for s in everywhere if s.getparent() is base] if base is not None else []
    return found, len(everywhere) == len(found)


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


SignatureLocation = str | etree._Element | Callable[[etree._Element], str | etree._Element | None]
"""Where :meth:`XmlVerifier.verify` expects the signature: see there."""


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
        self._methods = accepted_signature_methods(allow_sha1)
        self._digests = accepted_digests(allow_sha1)
        self._configs: dict[str, Any] = {}

    def _config(self, location: str, at: datetime | None) -> Any:
        """signxml's expectations; ``at=None``: signxml checks the certificate's
        validity at the current time, and the configuration is built once per
        location (it then holds nothing that changes between calls)."""
        if at is None:
            cached = self._configs.get(location)
            if cached is None:
                if len(self._configs) > 64:
                    self._configs.clear()
                cached = self._configs[location] = self._new_config(location, None)
            return cached
        return self._new_config(location, at)

    def _new_config(self, location: str, at: datetime | None) -> Any:
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

    def _attempt(
        self,
        payload: etree._Element,
        candidates: list[x509.Certificate],
        config: Any,
        external: ExternalText | None,
        signature_xml_scope: dict[str, str],
    ) -> tuple[Any, x509.Certificate | None, SignatureError | None]:
        """signxml's verification with each candidate certificate until one succeeds.

        signxml canonicalises ``SignedInfo`` from a standalone copy of the Signature,
        which loses the ``xml:*`` attributes it inherits in the document (e.g.
        ``xml:lang="vi"`` on the root); ``signature_xml_scope`` gives them back."""
        last_error: SignatureError | None = None
        for cert in candidates:
            verifier = self._cls()
            verifier.external = dict(external or {})
            verifier.outer_xml_attributes = signature_xml_scope
            try:
                result = verifier.verify(
                    payload,
                    x509_cert=cert,
                    expect_config=config,
                    parser=hardened_parser(),
                    validate_schema=self.validate_schema,
                )
                return result, cert, None
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
        return None, None, last_error

    def verify(
        self,
        data: bytes | etree._Element,
        *,
        location: SignatureLocation | None = None,
        at: datetime | None = None,
        external: ExternalText | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> VerifiedXml:
        """Verify the one signature at ``location`` (an ElementPath to its parent,
        e.g. ``"./{ns}Header/"``, or that parent element itself, or a function of the
        parsed document giving either; default: anywhere, but then exactly one).

        Raises :class:`~govlink.core.errors.SignatureError` naming what failed.
        """
        # signxml gets the tree parsed here (its get_root is overridden to use it as
        # is), so the document is parsed once, by the hardened parser.
        root = (
            parse_xml(bytes(data), max_bytes=max_bytes)
            if isinstance(data, (bytes, bytearray))
            else data
        )
        if (
            b"WithComments" in data if isinstance(data, (bytes, bytearray)) else True
        ) and _uri_empty_with_comments(root):
            root = _without_comments(root)
        payload: etree._Element = root
        if callable(location):
            location = location(root)
        base: etree._Element | None = None
        if isinstance(location, etree._Element):
            # the parent itself (found by the caller): its path is what signxml needs
            tree = location.getroottree()
            path = tree.getelementpath(location)
            base = location if tree.getroot() is root else None  # else: a copy of root
            location = "./" if path == "." else f"./{path}/"
        when = (at or self.clock.now()).astimezone(UTC)
        found_as = "xmldsig"
        found_namespace: str | None = DSIG_NS
        signatures, alone = _find_signatures(root, location, base)
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
        # signxml looks the signature up again by its location; when it is the only
        # xmldsig Signature in the document, ".//" finds the same element for less
        # (an ElementPath of several steps is a measurable part of a small verification)
        config_location = location if location is not None and not alone else ".//"
        # on the real clock signxml's own "now" is this same time, so the configuration
        # without a time is reused; an explicit time or a given Clock is passed on
        real_time = at is None and type(self.clock) is SystemClock
        config = self._config(config_location, None if real_time else when)
        result, signing_cert, last_error = self._attempt(
            payload, candidates, config, external, _xml_attributes_in_scope(signature)
        )
        if result is None or signing_cert is None:
            assert last_error is not None
            raise last_error
        # what signxml verified, read from its own copy of the Signature
        c14n_node, method, reference, digest_node = _signed_info_parts(result.signature_xml)
        method_uri = _algorithm_of(method)
        c14n_uri = _algorithm_of(c14n_node)
        digest_uri = _algorithm_of(digest_node)
        if result.signed_xml is None:
            raise SignatureError("the signed content is not XML")
        verified = VerifiedXml._of(
            signed_xml=result.signed_xml,
            signed_data=result.signed_data,
            reference_uri=str(reference.get("URI", "")) if reference is not None else "",
            certificate=signing_cert,
            algorithm=_ALGORITHM_NAMES.get(method_uri, method_uri),
            digest_algorithm=_DIGEST_NAMES.get(digest_uri, digest_uri),
            c14n=_c14n_name(c14n_uri),
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


_SIGNED_INFO_TAG = f"{{{DSIG_NS}}}SignedInfo"
_C14N_METHOD_TAG = f"{{{DSIG_NS}}}CanonicalizationMethod"
_SIGNATURE_METHOD_TAG = f"{{{DSIG_NS}}}SignatureMethod"
_REFERENCE_TAG = f"{{{DSIG_NS}}}Reference"
_DIGEST_METHOD_TAG = f"{{{DSIG_NS}}}DigestMethod"


_Found = etree._Element | None


def _signed_info_parts(signature: etree._Element) -> tuple[_Found, _Found, _Found, _Found]:
    """``SignedInfo``'s ``CanonicalizationMethod``, ``SignatureMethod`` and
    ``Reference``, and the reference's ``DigestMethod``: the first of each, as
    ``find`` gives them. Plain loops that stop once all are found (the schema puts
    them first): this runs for every verification, where ElementPath is a measurable
    part of the cost."""
    signed_info = None
    for child in signature:
        if child.tag == _SIGNED_INFO_TAG:
            signed_info = child
            break
    c14n_node = method = reference = digest_node = None
    if signed_info is not None:
        for child in signed_info:
            tag = child.tag
            if tag == _C14N_METHOD_TAG and c14n_node is None:
                c14n_node = child
            elif tag == _SIGNATURE_METHOD_TAG and method is None:
                method = child
            elif tag == _REFERENCE_TAG and reference is None:
                reference = child
            if c14n_node is not None and method is not None and reference is not None:
                break
    if reference is not None:
        for child in reference:
            if child.tag == _DIGEST_METHOD_TAG:
                digest_node = child
                break
    return c14n_node, method, reference, digest_node


_C14N_NAMES = {uri: name for name, uri in C14N_METHODS.items()}


def _c14n_name(uri: str) -> str:
    """The friendly name of a canonicalisation URI (``#WithComments`` variants
    included), or the URI itself."""
    name = _C14N_NAMES.get(uri)
    if name is not None:
        return name
    return next((k for k, v in C14N_METHODS.items() if uri.startswith(v)), uri)


def _algorithm_of(element: etree._Element | None) -> str:
    return str(element.get("Algorithm", "")) if element is not None else ""


_XML_NS = "http://www.w3.org/XML/1998/namespace"


def _xml_attributes_in_scope(element: etree._Element) -> dict[str, str]:
    """The ``xml:*`` attributes in scope at ``element`` (its own, then inherited)."""
    found: dict[str, str] = {}
    for node in (element, *element.iterancestors()):
        for name, value in node.items():
            key = str(name)
            if key.startswith(f"{{{_XML_NS}}}") and key not in found:
                found[key] = str(value)
    return found


def _uri_empty_with_comments(root: etree._Element) -> bool:
    """Whether a ``Reference URI=""`` asks for a ``#WithComments`` canonicalisation."""
    for reference in root.iterfind(f".//{{{DSIG_NS}}}Reference[@URI='']"):
        if any(
            str(t.get("Algorithm", "")).endswith("#WithComments")
            for t in reference.iter(f"{{{DSIG_NS}}}Transform")
        ):
            return True
    return False


def _without_comments(root: etree._Element) -> etree._Element:
    """A copy of the document without comments: what ``URI=""`` dereferences to
    (XML-DSig §4.4.3.3), whatever canonicalisation the transforms then apply."""
    copy = etree.fromstring(etree.tostring(root), parser=hardened_parser())
    for comment in list(copy.iter(etree.Comment)):
        parent = comment.getparent()
        if parent is None:
            continue
        tail = comment.tail or ""
        previous = comment.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(comment)
    return copy


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]
