"""Enveloped XML-DSig signing with one key and certificate chain."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import algorithms as dsig_algorithms
from signxml import exceptions as dsig_errors
from signxml.algorithms import SignatureConstructionMethod

from govlink.core.errors import ConfigurationError, SignatureError
from govlink.core.xml._algorithms import _DIGEST_FOR, C14N_METHODS, SIGNATURE_ALGORITHMS
from govlink.core.xml._keys import _public_der, _subject, load_certificates, load_private_key
from govlink.core.xml._parsing import DSIG_NS, ExternalText
from govlink.core.xml._signxml import _signer_class

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
        signer.placeholder = placeholder
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
