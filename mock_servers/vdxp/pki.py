"""The mock axis's TEST certificate authority (never for production use).

Why a CA and not just pinned keys: a receiver must be able to check a signer's
certificate chain and validity period, the way a real agency checks a certificate
issued by the government CA. The PEM files next to this module were generated once
with :func:`generate_pki` and are committed, so every checkout (and CI) signs and
verifies with the same keys:

* ``ca.cert.pem`` / ``ca.key.pem`` — the test CA (2025-01-01 … 2045-01-01);
* ``<agency code>.cert.pem`` / ``.key.pem`` — one signing certificate per seeded
  agency, subject ``UID=<agency code>`` (valid like the CA);
* ``expired.cert.pem`` / ``.key.pem`` — an agency certificate from the same CA that
  expired on 2025-07-01 (the ``deliver_expired_cert`` switch);
* ``rogue.cert.pem`` / ``.key.pem`` — a self-signed look-alike of an agency
  certificate that no trust store accepts (the ``deliver_wrong_signer`` switch).

``govlink mock issue-cert AGENCY_CODE`` calls :func:`issue_cert` to give any other
agency code a certificate from the same CA. This module imports nothing from govlink.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_NAME",
    "PKI_DIR",
    "CertPaths",
    "agency_paths",
    "generate_pki",
    "issue_cert",
    "load_ca",
]

PKI_DIR = Path(__file__).resolve().parent / "pki"
CA_NAME = "govlink mock axis TEST CA (not for production)"
VALID_FROM = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
VALID_UNTIL = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)
EXPIRED_FROM = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
EXPIRED_UNTIL = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
KEY_BITS = 2048


@dataclass(frozen=True)
class CertPaths:
    """Where one certificate and its private key were written (PEM)."""

    cert: Path
    key: Path


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _write_key(key: rsa.RSAPrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _ca_name() -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "govlink mock"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
        ]
    )


def agency_name(code: str, name: str | None = None) -> x509.Name:
    """Subject of an agency certificate: the agency code is the ``UID`` attribute."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, (name or code)[:64]),
            x509.NameAttribute(NameOID.USER_ID, code),
            x509.NameAttribute(NameOID.COMMON_NAME, code),
        ]
    )


def _build_ca(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = _ca_name()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _build_leaf(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer_cert: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    issuer_ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def load_ca(pki_dir: Path = PKI_DIR) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """The test CA certificate and key from ``pki_dir``."""
    cert = x509.load_pem_x509_certificate((pki_dir / "ca.cert.pem").read_bytes())
    key = serialization.load_pem_private_key((pki_dir / "ca.key.pem").read_bytes(), None)
    if not isinstance(key, rsa.RSAPrivateKey):  # pragma: no cover - we wrote it
        raise ValueError("the test CA key is not an RSA key")
    return cert, key


def agency_paths(agency_code: str, pki_dir: Path = PKI_DIR) -> CertPaths:
    """Where the committed certificate and key of ``agency_code`` live."""
    return CertPaths(pki_dir / f"{agency_code}.cert.pem", pki_dir / f"{agency_code}.key.pem")


def issue_cert(
    agency_code: str,
    out_dir: str | Path,
    *,
    name: str | None = None,
    not_before: dt.datetime = VALID_FROM,
    not_after: dt.datetime = VALID_UNTIL,
    pki_dir: Path = PKI_DIR,
    file_stem: str | None = None,
) -> CertPaths:
    """Issue a signing certificate for ``agency_code`` from the test CA into ``out_dir``.

    Writes ``<code>.cert.pem`` (issued directly by the CA, so ``ca.cert.pem`` is the
    whole chain) and ``<code>.key.pem`` (unencrypted PKCS#8: test keys only).
    """
    code = agency_code.strip()
    if not code:
        raise ValueError("agency_code must not be empty")
    ca_cert, ca_key = load_ca(pki_dir)
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    key = _new_key()
    cert = _build_leaf(agency_name(code, name), key, ca_cert, ca_key, not_before, not_after)
    stem = file_stem or code
    paths = CertPaths(target / f"{stem}.cert.pem", target / f"{stem}.key.pem")
    _write_cert(cert, paths.cert)
    _write_key(key, paths.key)
    return paths


def generate_pki(agencies: list[dict[str, str]], pki_dir: Path = PKI_DIR) -> None:
    """(Re)generate the whole committed PKI: CA, one certificate per agency, extras."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key()
    ca_cert = _build_ca(ca_key)
    _write_key(ca_key, pki_dir / "ca.key.pem")
    _write_cert(ca_cert, pki_dir / "ca.cert.pem")
    for agency in agencies:
        issue_cert(agency["code"], pki_dir, name=agency.get("name"), pki_dir=pki_dir)
    first = agencies[0] if agencies else {"code": "000.00.00.H47"}
    issue_cert(
        first["code"],
        pki_dir,
        name=first.get("name"),
        not_before=EXPIRED_FROM,
        not_after=EXPIRED_UNTIL,
        pki_dir=pki_dir,
        file_stem="expired",
    )
    rogue_key = _new_key()
    subject = agency_name(first["code"], first.get("name"))
    rogue = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(rogue_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(rogue_key, hashes.SHA256())
    )
    _write_cert(rogue, pki_dir / "rogue.cert.pem")
    _write_key(rogue_key, pki_dir / "rogue.key.pem")


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - maintenance tool
    parser = argparse.ArgumentParser(description="Maintain the mock axis's test PKI.")
    parser.add_argument("--regenerate", action="store_true", help="rebuild every PEM file")
    parser.add_argument("--issue", metavar="AGENCY_CODE", help="issue one more certificate")
    parser.add_argument("--out", default=".", help="directory for --issue (default: .)")
    args = parser.parse_args(argv)
    if args.regenerate:
        seed = Path(__file__).resolve().parent.parent / "seed" / "agencies.json"
        generate_pki(json.loads(seed.read_text(encoding="utf-8")))
    elif args.issue:
        paths = issue_cert(args.issue, args.out)
        print(f"{paths.cert}\n{paths.key}")
    else:
        parser.print_help()


if __name__ == "__main__":  # pragma: no cover
    main()
