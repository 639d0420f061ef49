"""Interop with an independent XML-DSig implementation: the xmlsec1 command line.

govlink signs → ``xmlsec1 --verify`` accepts (whole-package and envelope scope,
xml:lang inherited by SignedInfo, URI="" with a #WithComments transform,
attachments streamed); ``xmlsec1 --sign`` signs → govlink verifies (default and
prefixed namespaces, other algorithms, and a Signature that lost its namespace).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from govlink.core.xml import DSIG_NS
from govlink.documents import (
    EDXML_NS,
    Attachment,
    EdxmlPackage,
    PackageSigner,
    PackageVerifier,
    build_package,
)

pytestmark = pytest.mark.e2e

PKI = Path(__file__).resolve().parents[2] / "mock_servers" / "vdxp" / "pki"
AGENCY_A = "000.00.00.H47"
XMLSEC1 = shutil.which("xmlsec1")


@pytest.fixture(autouse=True)
def _need_xmlsec1() -> None:
    if XMLSEC1 is None:
        if os.environ.get("GOVLINK_REQUIRE_SYSTEM_DEPS") == "1":
            pytest.fail(
                "xmlsec1 is not installed (GOVLINK_REQUIRE_SYSTEM_DEPS=1: run 'make system-deps')"
            )
        pytest.skip("xmlsec1 is not installed (Debian package xmlsec1)")


def _xmlsec(*args: str) -> subprocess.CompletedProcess[str]:
    assert XMLSEC1 is not None
    return subprocess.run([XMLSEC1, *args], capture_output=True, text=True, timeout=60)


def _package(tmp_path: Path, attachment_size: int = 10_000) -> EdxmlPackage:
    package = EdxmlPackage.new(
        sender=AGENCY_A,
        recipients=["000.00.00.G22"],
        subject="Về việc kiểm thử chữ ký số với xmlsec1 & đối tác <khác>",
        code_number="42",
        code_notation="UBND-VP",
        promulgation_date=date(2026, 2, 3),
    )
    source = tmp_path / "phu-luc.pdf"
    source.write_bytes(bytes(range(256)) * (attachment_size // 256 + 1))
    package.add_attachment(Attachment.from_file(source))
    package.add_attachment(Attachment.from_bytes(b"\r\nline\r\n", name="ghi-chu.txt"))
    return package


def _signer(**kwargs: object) -> PackageSigner:
    return PackageSigner.from_files(
        PKI / f"{AGENCY_A}.key.pem",
        PKI / f"{AGENCY_A}.cert.pem",
        **kwargs,  # type: ignore[arg-type]
    )


def _verify_with_xmlsec1(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _xmlsec("--verify", "--trusted-pem", str(PKI / "ca.cert.pem"), *extra, str(path))


def test_xmlsec1_verifies_a_govlink_signed_package(tmp_path: Path) -> None:
    path = tmp_path / "signed.edxml"
    with path.open("wb") as out:
        _signer().write(_package(tmp_path, attachment_size=2_000_000), out)
    result = _verify_with_xmlsec1(path)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout + result.stderr

    tampered = tmp_path / "tampered.edxml"
    tampered.write_bytes(path.read_bytes().replace(b"xmlsec1", b"XMLSEC1"))
    assert _verify_with_xmlsec1(tampered).returncode != 0


@pytest.mark.parametrize("c14n", ["c14n", "c14n11", "exc-c14n"])
def test_xmlsec1_verifies_each_canonicalisation(tmp_path: Path, c14n: str) -> None:
    path = tmp_path / f"{c14n}.edxml"
    path.write_bytes(_signer(c14n=c14n).sign(_package(tmp_path)))
    result = _verify_with_xmlsec1(path)
    assert result.returncode == 0, result.stderr


def test_xmlsec1_verifies_an_envelope_scope_signature(tmp_path: Path) -> None:
    path = tmp_path / "envelope.edxml"
    path.write_bytes(_signer(scope="envelope").sign(_package(tmp_path)))
    result = _verify_with_xmlsec1(path, "--id-attr:Id", f"{EDXML_NS}:edXMLEnvelope")
    assert result.returncode == 0, result.stderr


def _template(tmp_path: Path, *, prefixed: bool, method: str, digest: str, c14n: str) -> Path:
    """An unsigned govlink package with an XML-DSig template in edXMLHeader."""
    data = build_package(_package(tmp_path)).decode("utf-8")
    p = "ds:" if prefixed else ""
    declaration = f'xmlns:ds="{DSIG_NS}"' if prefixed else f'xmlns="{DSIG_NS}"'
    template = (
        f"<{p}Signature {declaration}><{p}SignedInfo>"
        f'<{p}CanonicalizationMethod Algorithm="{c14n}"/>'
        f'<{p}SignatureMethod Algorithm="{method}"/>'
        f'<{p}Reference URI=""><{p}Transforms>'
        f'<{p}Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        f'<{p}Transform Algorithm="{c14n}"/></{p}Transforms>'
        f'<{p}DigestMethod Algorithm="{digest}"/><{p}DigestValue/></{p}Reference>'
        f"</{p}SignedInfo><{p}SignatureValue/><{p}KeyInfo><{p}X509Data>"
        f"<{p}X509Certificate/></{p}X509Data></{p}KeyInfo></{p}Signature>"
    )
    marker = "</edXML:edXMLHeader>"
    assert marker in data
    path = tmp_path / "template.xml"
    path.write_text(data.replace(marker, template + marker, 1), encoding="utf-8")
    return path


def _xmlsec1_sign(tmp_path: Path, template: Path) -> bytes:
    out = tmp_path / "xmlsec-signed.xml"
    key = f"{PKI / f'{AGENCY_A}.key.pem'},{PKI / f'{AGENCY_A}.cert.pem'}"
    result = _xmlsec("--sign", "--privkey-pem", key, "--output", str(out), str(template))
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


@pytest.mark.parametrize(
    ("prefixed", "method", "digest", "c14n", "algorithm"),
    [
        (False, RSA_SHA256, SHA256, C14N, "rsa-sha256"),  # how .NET / Java write it
        (True, RSA_SHA256, SHA256, C14N, "rsa-sha256"),
        (True, RSA_SHA512, SHA512, EXC_C14N, "rsa-sha512"),
    ],
)
def test_govlink_verifies_an_xmlsec1_signed_package(
    tmp_path: Path, prefixed: bool, method: str, digest: str, c14n: str, algorithm: str
) -> None:
    signed = _xmlsec1_sign(
        tmp_path, _template(tmp_path, prefixed=prefixed, method=method, digest=digest, c14n=c14n)
    )
    verifier = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")
    result = verifier.verify(signed)
    assert result.trusted
    assert result.algorithm == algorithm
    assert result.package is not None
    assert result.package.message_header.subject is not None
    assert "xmlsec1" in result.package.message_header.subject
    assert result.package.attachments[1].read_bytes() == b"\r\nline\r\n"
    with pytest.raises(Exception, match="changed after signing"):
        verifier.verify(signed.replace(b"xmlsec1", b"XMLSEC1"))


def test_xmlsec1_signature_without_its_namespace_is_still_found(tmp_path: Path) -> None:
    """A public sample carries <Signature> with no namespace declaration: it falls
    into the edXML default namespace. govlink finds it, says so, and verifies it."""
    signed = _xmlsec1_sign(
        tmp_path, _template(tmp_path, prefixed=False, method=RSA_SHA256, digest=SHA256, c14n=C14N)
    )
    stripped = signed.replace(f'<Signature xmlns="{DSIG_NS}">'.encode(), b"<Signature>")
    assert stripped != signed
    verifier = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")
    result = verifier.verify(stripped)
    assert result.signature_found_as == "edxml-namespace"
    assert result.trusted


# ---- canonicalisation corner cases (XML-DSig / C14N), both directions with xmlsec1

WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
C14N11 = "http://www.w3.org/2006/12/xml-c14n11"


def _with_lang(data: bytes) -> bytes:
    """xml:lang="vi" and xml:space on the root: inherited by every subtree."""
    marker = f'<edXML xmlns="{EDXML_NS}"'.encode()
    assert marker in data
    return data.replace(marker, marker + b' xml:lang="vi" xml:space="default"', 1)


@pytest.mark.parametrize("c14n", ["c14n", "c14n11", "exc-c14n"])
def test_xmlsec1_verifies_govlink_with_inherited_xml_lang(tmp_path: Path, c14n: str) -> None:
    import io

    unsigned = _with_lang(build_package(_package(tmp_path)))
    buffer = io.BytesIO()
    _signer(c14n=c14n).sign_document(unsigned, buffer)
    path = tmp_path / "lang.edxml"
    path.write_bytes(buffer.getvalue())
    assert b'xml:lang="vi"' in path.read_bytes()
    result = _verify_with_xmlsec1(path)
    assert result.returncode == 0, result.stderr
    verifier = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")
    assert verifier.verify(path.read_bytes()).trusted


@pytest.mark.parametrize(
    ("prefixed", "c14n"), [(False, C14N), (True, C14N), (False, C14N11), (True, EXC_C14N)]
)
def test_govlink_verifies_xmlsec1_with_inherited_xml_lang(
    tmp_path: Path, prefixed: bool, c14n: str
) -> None:
    template = _template(tmp_path, prefixed=prefixed, method=RSA_SHA256, digest=SHA256, c14n=c14n)
    template.write_bytes(_with_lang(template.read_bytes()))
    signed = _xmlsec1_sign(tmp_path, template)
    verifier = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")
    result = verifier.verify(signed)
    assert result.trusted
    assert result.package is not None
    assert result.package.message_header.subject is not None


def test_uri_empty_with_a_with_comments_transform_leaves_comments_out(tmp_path: Path) -> None:
    """XML-DSig 4.3.3.3: URI="" is the document *without comments*, even when the
    reference's transform is C14N #WithComments. xmlsec1 signs it that way; govlink
    must verify it — and a comment changed afterwards is not covered."""
    data = build_package(_package(tmp_path)).decode("utf-8")
    data = data.replace("</edXML:MessageHeader>", "<!-- ghi chú nội bộ --></edXML:MessageHeader>")
    p = "ds:"
    template = (
        f'<{p}Signature xmlns:ds="{DSIG_NS}"><{p}SignedInfo>'
        f'<{p}CanonicalizationMethod Algorithm="{C14N}"/>'
        f'<{p}SignatureMethod Algorithm="{RSA_SHA256}"/>'
        f'<{p}Reference URI=""><{p}Transforms>'
        f'<{p}Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        f'<{p}Transform Algorithm="{WITH_COMMENTS}"/></{p}Transforms>'
        f'<{p}DigestMethod Algorithm="{SHA256}"/><{p}DigestValue/></{p}Reference>'
        f"</{p}SignedInfo><{p}SignatureValue/><{p}KeyInfo><{p}X509Data>"
        f"<{p}X509Certificate/></{p}X509Data></{p}KeyInfo></{p}Signature>"
    )
    marker = "</edXML:edXMLHeader>"
    path = tmp_path / "comments-template.xml"
    path.write_text(data.replace(marker, template + marker, 1), encoding="utf-8")
    signed = _xmlsec1_sign(tmp_path, path)
    assert "ghi chú nội bộ".encode() in signed
    verifier = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")
    assert verifier.verify(signed).trusted
    changed = signed.replace("ghi chú nội bộ".encode(), b"another comment")
    assert verifier.verify(changed).trusted  # comments are outside what URI="" covers
    changed_path = tmp_path / "changed.xml"
    changed_path.write_bytes(changed)
    assert _verify_with_xmlsec1(changed_path).returncode == 0  # xmlsec1 agrees
