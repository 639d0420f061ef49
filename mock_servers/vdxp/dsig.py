"""The mock axis's own XML-DSig code: signxml and lxml directly, never govlink.

Why separate from ``govlink.core.xml``: a mock that verified with the client's own
code would accept whatever the client gets wrong. This module checks signatures
the way an independent axis would (certificate chain to the test CA, validity on
the virtual clock) and forges the bad packages the admin switches deliver.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import algorithms as dsig_algorithms
from signxml import exceptions as dsig_errors
from signxml.algorithms import SignatureConstructionMethod
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from mock_servers.vdxp.pki import PKI_DIR, agency_name

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
MAX_PACKAGE_BYTES = 300 * 1024 * 1024


class PackageRejected(ValueError):
    """A package the axis refuses; ``code`` is the axis's ErrorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parser() -> etree.XMLParser:
    # huge_tree: a package carries attachments of tens of MB as one text node; the
    # size cap above bounds what that allows.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def parse(data: bytes) -> etree._Element:
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageRejected("E_FORMAT", f"package too large ({len(data)} bytes)")
    try:
        root = etree.fromstring(data, parser=parser())
    except etree.XMLSyntaxError as exc:
        raise PackageRejected("E_FORMAT", f"not well-formed XML: {exc}") from None
    info = root.getroottree().docinfo
    doctype: Any = getattr(info, "doctype", None)
    if info.internalDTD is not None or doctype:
        raise PackageRejected("E_FORMAT", "DOCTYPE declarations are refused")
    return root


def local(element: Any) -> str | None:
    if not isinstance(element.tag, str):
        return None
    q = etree.QName(element)
    return q.localname if q.namespace in (EDXML_NS, None) else None


def child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    return next((c for c in element if local(c) == name), None)


def children(element: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if element is None else [c for c in element if local(c) == name]


def header_of(root: etree._Element) -> etree._Element | None:
    envelope = root if local(root) == "edXMLEnvelope" else child(root, "edXMLEnvelope")
    return child(envelope, "edXMLHeader")


def signatures(root: etree._Element) -> list[etree._Element]:
    return [
        e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "Signature"
    ]


class _Verifier(XMLVerifier):
    """signxml, canonicalising subtrees as roots: the libxml2 bundled with lxml 6
    mis-canonicalises a subtree under a default-namespace declaration (spurious
    ``xmlns=""``), which would refuse every ``<Signature xmlns="…xmldsig#">`` as
    .NET and Java sign it."""

    def _c14n(self, nodes: Any, algorithm: Any, inclusive_ns_prefixes: Any = None) -> bytes:
        items = nodes if isinstance(nodes, list) else [nodes]
        rooted = [
            etree.fromstring(etree.tostring(n, with_tail=False), parser=parser())
            if isinstance(n, etree._Element) and n.getparent() is not None
            else n
            for n in items
        ]
        out: bytes = super()._c14n(rooted, algorithm, inclusive_ns_prefixes)
        return out


@dataclass(frozen=True)
class SignatureCheck:
    signer: str
    algorithm: str


@cache
def _ca_file() -> str:
    return str(PKI_DIR / "ca.cert.pem")


def verify(data: bytes, at: dt.datetime) -> SignatureCheck:
    """Check the package's signature against the test CA at virtual time ``at``."""
    root = parse(data)
    if not [s for s in signatures(root) if etree.QName(s).namespace == DSIG_NS]:
        raise PackageRejected("E_UNSIGNED", "the package carries no XML signature")
    config = SignatureConfiguration(
        location=".//",
        expect_references=1,
        signature_methods=frozenset(dsig_algorithms.SignatureMethod),
        digest_algorithms=frozenset(dsig_algorithms.DigestAlgorithm),
        verification_time=at,
    )
    try:
        result: Any = _Verifier().verify(
            data, ca_pem_file=_ca_file(), expect_config=config, parser=parser()
        )
    except dsig_errors.InvalidCertificate as exc:
        raise PackageRejected("E_CERT", f"signing certificate not accepted: {exc}") from None
    except dsig_errors.InvalidDigest as exc:
        raise PackageRejected("E_SIGNATURE", f"signed content was altered: {exc}") from None
    except dsig_errors.InvalidSignature as exc:
        raise PackageRejected("E_SIGNATURE", f"signature does not verify: {exc}") from None
    except (dsig_errors.SignXMLException, etree.LxmlError, ValueError) as exc:
        raise PackageRejected("E_SIGNATURE", f"malformed signature: {exc}") from None
    method = result.signature_xml.find(f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}SignatureMethod")
    algorithm = method.get("Algorithm", "") if method is not None else ""
    cert_text = result.signature_xml.findtext(
        f"{{{DSIG_NS}}}KeyInfo/{{{DSIG_NS}}}X509Data/{{{DSIG_NS}}}X509Certificate"
    )
    signer = ""
    if cert_text:
        import base64

        cert = x509.load_der_x509_certificate(base64.b64decode("".join(cert_text.split())))
        signer = cert.subject.rfc4514_string()
    return SignatureCheck(signer, algorithm.rsplit("#", 1)[-1])


# ------------------------------------------------------------------ forging (switches)


class _LegacySigner(XMLSigner):
    def check_deprecated_methods(self) -> None:
        return None


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _sign(root: etree._Element, key: rsa.RSAPrivateKey, cert_pem: str, sha1: bool) -> bytes:
    header = header_of(root)
    holder = header if header is not None else root
    placeholder = etree.SubElement(
        holder, f"{{{DSIG_NS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DSIG_NS}
    )
    cls = _LegacySigner if sha1 else XMLSigner
    signer = cls(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=dsig_algorithms.SignatureMethod.RSA_SHA1
        if sha1
        else dsig_algorithms.SignatureMethod.RSA_SHA256,
        digest_algorithm=dsig_algorithms.DigestAlgorithm.SHA1
        if sha1
        else dsig_algorithms.DigestAlgorithm.SHA256,
        c14n_algorithm=dsig_algorithms.CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    signed = signer.sign(root, key=key, cert=[cert_pem])
    holder.remove(placeholder)
    out: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return out


def _strip_signatures(root: etree._Element) -> None:
    for signature in signatures(root):
        parent = signature.getparent()
        if parent is not None:
            parent.remove(signature)


def tamper(data: bytes) -> bytes:
    """Change the subject (or the first text) *after* signing."""
    root = parse(data)
    target = next((e for e in root.iter() if local(e) == "Subject"), None)
    if target is None:
        target = next(
            (
                e
                for e in root.iter()
                if isinstance(e.tag, str)
                and e.text
                and e.text.strip()
                and etree.QName(e).namespace != DSIG_NS
            ),
            root,
        )
    target.text = (target.text or "") + " [altered in transit]"
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


def unsign(data: bytes) -> bytes:
    root = parse(data)
    _strip_signatures(root)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


def resign(data: bytes, *, key_file: Path, cert_file: Path, sha1: bool = False) -> bytes:
    """Replace the signature by one made with ``key_file`` / ``cert_file``."""
    root = parse(data)
    _strip_signatures(root)
    return _sign(root, _load_key(key_file), cert_file.read_text(encoding="ascii"), sha1)


def sender_key(sender: str | None, pki_dir: Path = PKI_DIR) -> tuple[Path, Path]:
    """The committed key and certificate of ``sender`` (falls back to the first
    seeded agency's, which any receiver still sees as a valid test-CA signature)."""
    if sender:
        key, cert = pki_dir / f"{sender}.key.pem", pki_dir / f"{sender}.cert.pem"
        if key.is_file() and cert.is_file():
            return key, cert
    return pki_dir / "000.00.00.H47.key.pem", pki_dir / "000.00.00.H47.cert.pem"


__all__ = [
    "PackageRejected",
    "SignatureCheck",
    "agency_name",
    "parse",
    "resign",
    "sender_key",
    "tamper",
    "unsign",
    "verify",
]
