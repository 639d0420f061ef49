"""Keys and certificates: loading PEM, naming subjects, fingerprints, and the trust
store that checks a signer's certificate chain at a given time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification as x509v
from lxml import etree

from govlink.core.errors import ConfigurationError, SignatureError
from govlink.core.xml._parsing import DSIG_NS


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


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint (hex, colon-separated), as shown by most tools."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
