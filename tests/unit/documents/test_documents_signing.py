"""Signing and verification of packages: trust, tampering, wrapping, SHA-1, namespaces."""

from __future__ import annotations

import base64
import copy
import io
import logging
import re
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from documents_fixtures import AGENCY_A, AGENCY_B, PKI, sample_package
from lxml import etree

from govlink.core.errors import ConfigurationError, SignatureError
from govlink.core.xml import DSIG_NS, XmlSigner
from govlink.documents import (
    EDXML_NS,
    EdxmlPackage,
    PackageSigner,
    PackageVerifier,
    StatusCode,
    StatusMessage,
)
from govlink.documents.edxml._build import package_tree, write


def _tree(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def test_signed_package_verifies_and_names_the_signer(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    data = signer.sign(package)
    signature = _tree(data).find(
        f"{{{EDXML_NS}}}edXMLEnvelope/{{{EDXML_NS}}}edXMLHeader/{{{DSIG_NS}}}Signature"
    )
    assert signature is not None, "the signature must sit in edXMLHeader"
    result = verifier.verify(data)
    assert result.kind == "edoc"
    assert result.trusted
    assert result.algorithm == "rsa-sha256"
    assert result.scope == "document"
    assert result.attachments_signed
    assert result.signer_agency_code == AGENCY_A
    assert result.sender_matches is True
    assert "000.00.00.H47" in result.signer_subject
    assert result.package is not None
    assert result.package.model_dump() == package.model_dump()
    assert result.package.attachments[0].read_bytes() == package.attachments[0].read_bytes()


def test_changed_subject_is_rejected(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    data = signer.sign(package).replace("liên thông".encode(), "LIÊN THÔNG".encode())
    with pytest.raises(SignatureError, match="changed after signing"):
        verifier.verify(data)


def test_changed_attachment_is_rejected(signer: PackageSigner, verifier: PackageVerifier) -> None:
    package = sample_package(attachment=b"A" * 3000)
    data = signer.sign(package)
    encoded = base64.b64encode(b"A" * 3000)
    tampered = data.replace(encoded, base64.b64encode(b"B" + b"A" * 2999))
    assert tampered != data
    with pytest.raises(SignatureError, match="changed after signing"):
        verifier.verify(tampered)


def test_unsigned_package_is_rejected(verifier: PackageVerifier, package: EdxmlPackage) -> None:
    from govlink.documents import build_package

    with pytest.raises(SignatureError, match="not signed"):
        verifier.verify(build_package(package))


def test_envelope_signature_wrapping_is_rejected(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    """The classic attack, built byte for byte as an attacker would: the genuine
    signed envelope is hidden in an extension element, a forged envelope (no Id,
    other subject) takes its place and carries the genuine signature in its header.
    The signature itself still verifies; the reader must notice the swap."""
    genuine = PackageSigner(signer.signer, scope="envelope").sign(package)
    assert verifier.verify(genuine).scope == "envelope"

    text = genuine.decode("utf-8")
    start = text.index("<edXML:edXMLEnvelope")
    end = text.index("</edXML:edXMLEnvelope>") + len("</edXML:edXMLEnvelope>")
    envelope = text[start:end]
    sig_start = envelope.index("<ds:Signature")
    sig_end = envelope.index("</ds:Signature>") + len("</ds:Signature>")
    hidden = envelope[:sig_start] + envelope[sig_end:]
    forged = re.sub(r' Id="[^"]+"', "", envelope, count=1).replace(
        package.message_header.subject or "", "Chuyển tiền gấp vào tài khoản 123"
    )
    attack = (text[:start] + forged + f"<Extension>{hidden}</Extension>" + text[end:]).encode()

    with pytest.raises(SignatureError, match="signature wrapping"):
        verifier.verify(attack)


def test_document_scope_cannot_be_wrapped(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    """With URI="" the whole document is signed: moving the genuine content under a
    forged header breaks the digest instead of fooling the reader."""
    root = _tree(signer.sign(package))
    genuine = copy.deepcopy(root.find(f"{{{EDXML_NS}}}edXMLEnvelope"))
    subject = root.find(f".//{{{EDXML_NS}}}Subject")
    assert subject is not None
    subject.text = "Forged"
    etree.SubElement(root, f"{{{EDXML_NS}}}Extension").append(genuine)  # type: ignore[arg-type]
    with pytest.raises(SignatureError):
        verifier.verify(etree.tostring(root))


def test_verified_content_is_only_what_was_signed(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    """An unsigned comment added after signing (comments are outside C14N) never
    reaches the caller, and the package comes from the signed bytes."""
    data = signer.sign(package).replace(b"<edXML:Subject>", b"<!-- injected --><edXML:Subject>")
    result = verifier.verify(data)
    assert b"injected" not in result.xml.signed_data
    assert result.package is not None
    assert result.package.message_header.subject == package.message_header.subject


def _sha1_signed(package: EdxmlPackage) -> bytes:
    legacy = XmlSigner(
        PKI / f"{AGENCY_A}.key.pem",
        PKI / f"{AGENCY_A}.cert.pem",
        algorithm="rsa-sha1",
        allow_sha1=True,
    )
    return PackageSigner(legacy).sign(package)


def test_sha1_refused_by_default(verifier: PackageVerifier, package: EdxmlPackage) -> None:
    with pytest.raises(SignatureError, match="RSA-SHA1") as caught:
        verifier.verify(_sha1_signed(package))
    assert "allow_sha1" in str(caught.value)


def test_sha1_accepted_when_allowed_with_a_warning(
    package: EdxmlPackage, caplog: pytest.LogCaptureFixture
) -> None:
    lenient = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem", allow_sha1=True)
    with caplog.at_level(logging.WARNING, logger="govlink.xml"):
        result = lenient.verify(_sha1_signed(package))
    assert result.algorithm == "rsa-sha1"
    assert any("SHA-1" in r.getMessage() for r in caplog.records)


def test_new_signatures_are_never_sha1_by_accident() -> None:
    with pytest.raises(ConfigurationError, match="SHA1"):
        XmlSigner(PKI / f"{AGENCY_A}.key.pem", PKI / f"{AGENCY_A}.cert.pem", algorithm="rsa-sha1")


def test_expired_certificate_is_rejected_with_the_date(
    verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    expired = PackageSigner.from_files(PKI / "expired.key.pem", PKI / "expired.cert.pem")
    data = expired.sign(package)
    with pytest.raises(SignatureError, match="expired on 2025-07-01"):
        verifier.verify(data)
    # ...but it was valid when it was made: verification at that time passes
    assert verifier.verify(data, at=datetime(2025, 3, 1, tzinfo=UTC)).trusted


def test_certificate_from_another_ca_is_not_trusted(
    verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    rogue = PackageSigner.from_files(PKI / "rogue.key.pem", PKI / "rogue.cert.pem")
    with pytest.raises(SignatureError, match="not trusted"):
        verifier.verify(rogue.sign(package))


def test_pinned_certificate(signer: PackageSigner, package: EdxmlPackage) -> None:
    data = signer.sign(package)
    pinned = PackageVerifier.from_files(pinned=PKI / f"{AGENCY_A}.cert.pem")
    result = pinned.verify(data)
    assert result.trusted
    assert result.xml.trust_note == "pinned certificate"
    other = PackageVerifier.from_files(pinned=PKI / f"{AGENCY_B}.cert.pem")
    with pytest.raises(SignatureError, match="not one of the pinned"):
        other.verify(data)


def test_integrity_only_mode_reports_untrusted(package: EdxmlPackage) -> None:
    rogue = PackageSigner.from_files(PKI / "rogue.key.pem", PKI / "rogue.cert.pem")
    lenient = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem", require_trusted=False)
    result = lenient.verify(rogue.sign(package))
    assert result.trusted is False
    assert "not trusted" in result.xml.trust_note


def test_sender_must_match_certificate_when_required(package: EdxmlPackage) -> None:
    other = PackageSigner.from_files(PKI / f"{AGENCY_B}.key.pem", PKI / f"{AGENCY_B}.cert.pem")
    data = other.sign(package)  # says From 000.00.00.H47, signed by G22
    relaxed = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")
    assert relaxed.verify(data).sender_matches is False
    strict = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem", require_sender_match=True)
    with pytest.raises(SignatureError, match=r"signed by 000\.00\.00\.G22"):
        strict.verify(data)


def _default_namespace_signature(data: bytes) -> bytes:
    """Re-express a ds:-prefixed signature as <Signature xmlns="…xmldsig#"> and
    re-sign its SignedInfo, the way .NET/Java signers write it."""
    root = etree.fromstring(data)
    old = root.find(f".//{{{DSIG_NS}}}Signature")
    assert old is not None

    def rebuild(node: etree._Element, parent: etree._Element | None) -> etree._Element:
        tag = f"{{{DSIG_NS}}}{etree.QName(node).localname}"
        new = (
            etree.Element(tag, dict(node.attrib), nsmap={None: DSIG_NS})  # type: ignore[dict-item]
            if parent is None
            else etree.SubElement(parent, tag, dict(node.attrib))
        )
        new.text = node.text
        for child in node:
            rebuild(child, new)
        return new

    new = rebuild(old, None)
    old.getparent().replace(old, new)  # type: ignore[union-attr]
    signed_info = new.find(f"{{{DSIG_NS}}}SignedInfo")
    key = serialization.load_pem_private_key((PKI / f"{AGENCY_A}.key.pem").read_bytes(), None)
    # canonicalise SignedInfo as a root carrying its in-scope namespaces (what
    # inclusive C14N of the subset is; see govlink.core.xml._signxml._rooted)
    rooted = etree.fromstring(etree.tostring(signed_info, with_tail=False))  # type: ignore[arg-type]
    value = key.sign(  # type: ignore[union-attr,call-arg]
        etree.tostring(rooted, method="c14n"), padding.PKCS1v15(), hashes.SHA256()
    )
    new.find(f"{{{DSIG_NS}}}SignatureValue").text = base64.b64encode(value).decode()  # type: ignore[union-attr]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_signature_that_fell_into_the_edxml_namespace_still_verifies(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    proper = _default_namespace_signature(signer.sign(package))
    assert verifier.verify(proper).signature_found_as == "xmldsig"
    stripped = proper.replace(
        b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">', b"<Signature>"
    )
    assert stripped != proper
    result = verifier.verify(stripped)
    assert result.signature_found_as == "edxml-namespace"
    assert result.trusted
    assert result.package is not None


def test_status_message_signed_and_verified(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    status = StatusMessage.for_package(package, "03", sender=AGENCY_A, description="Đã vào sổ")
    result = verifier.verify(signer.sign(status))
    assert result.kind == "status"
    assert result.status is not None
    assert result.status.status_code is StatusCode.RECEIVED
    assert result.status.response_for is not None
    assert result.status.response_for.document_id == package.message_header.document_id


def test_a_package_whose_text_says_status_is_still_a_document_package(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    """Only the canonical bytes of a status message hold "Status" as a name; text that
    says it sends the verifier down the full check, with the same answer."""
    package.message_header.subject = "StatusCode 03: Status của văn bản"
    result = verifier.verify(signer.sign(package))
    assert result.kind == "edoc"
    assert result.status is None
    assert result.package is not None
    assert result.package.message_header.subject == "StatusCode 03: Status của văn bản"


def test_sign_existing_file_refuses_to_sign_twice(
    signer: PackageSigner, verifier: PackageVerifier, package: EdxmlPackage
) -> None:
    from govlink.documents import build_package

    out = io.BytesIO()
    signer.sign_document(build_package(package), out)
    signed = out.getvalue()
    assert verifier.verify(signed).trusted
    with pytest.raises(SignatureError, match="already signed"):
        signer.sign_document(signed, io.BytesIO())
    again = io.BytesIO()
    signer.sign_document(signed, again, replace=True)
    assert etree.fromstring(again.getvalue()).findall(f".//{{{DSIG_NS}}}Signature").__len__() == 1
    assert verifier.verify(again.getvalue()).trusted


def test_invalid_package_is_not_signed(signer: PackageSigner) -> None:
    from govlink.core.errors import ValidationError

    bad = EdxmlPackage.new(sender="000.00.00.H47", recipients=["nope"], subject="x")
    with pytest.raises(ValidationError, match="To/OrganId"):
        signer.sign(bad)


def test_streamed_verification_from_a_file_checks_the_attachments(
    signer: PackageSigner, verifier: PackageVerifier, tmp_path
) -> None:
    """Files and streams take the streaming path: attachment text is spooled out of
    the tree and streamed into the digest; a changed attachment is still caught."""
    package = sample_package(attachment=bytes(range(256)) * 400)
    path = tmp_path / "signed.edxml"
    with path.open("wb") as out:
        signer.write(package, out)
    result = verifier.verify(path)
    assert result.package is not None
    assert result.package.attachments[0].read_bytes() == bytes(range(256)) * 400
    result.close()
    assert verifier.verify(io.BytesIO(path.read_bytes())).trusted

    data = path.read_bytes()
    start = data.index(b"<ContentTransferEncoded>") + len(b"<ContentTransferEncoded>")
    flipped = b"B" if data[start + 10 : start + 11] != b"B" else b"C"
    tampered = tmp_path / "tampered.edxml"
    tampered.write_bytes(data[: start + 10] + flipped + data[start + 11 :])
    with pytest.raises(SignatureError, match="changed after signing"):
        verifier.verify(tampered)


@pytest.mark.parametrize("scope", ["document", "envelope"])
def test_attachments_in_the_tree_and_streamed_sign_to_the_same_bytes(
    scope: str, verifier: PackageVerifier, tmp_path
) -> None:
    """Small attachments are written into the tree, large ones streamed past it; a
    receiver must not be able to tell which path produced the package."""
    from govlink.documents import Attachment
    from govlink.documents.edxml._build import INLINE_MAX_BYTES

    scoped = PackageSigner.from_files(
        PKI / f"{AGENCY_A}.key.pem", PKI / f"{AGENCY_A}.cert.pem", scope=scope
    )
    for content in (b"%PDF-1.4 small & <odd>\r\n", bytes(range(256)) * (INLINE_MAX_BYTES // 200)):
        path = tmp_path / "attachment.bin"
        path.write_bytes(content)
        in_memory = sample_package(attachment=content)
        from_file = in_memory.model_copy(deep=True)
        original = in_memory.attachments[0]
        from_file.attachments = [
            Attachment.from_file(
                path,
                name=original.attachment_name,
                content_type=original.content_type,
                content_id=original.content_id,
            )
        ]
        signed = []
        for each in (in_memory, from_file):
            built = package_tree(each)
            built.envelope.set("Id", "edxml-fixed")  # else a random one per signature
            buffer = io.BytesIO()
            write(scoped.sign_tree(built, in_place=True), buffer)
            signed.append(buffer.getvalue())
        assert signed[0] == signed[1]
        result = verifier.verify(signed[0])
        assert result.package is not None
        assert result.package.attachments[0].read_bytes() == content


def test_receivers_configured_from_settings_require_the_sender_to_match(
    package: EdxmlPackage,
) -> None:
    from govlink.core.config import GovLinkSettings
    from govlink.documents._signing import verifier_from_settings

    other = PackageSigner.from_files(PKI / f"{AGENCY_B}.key.pem", PKI / f"{AGENCY_B}.cert.pem")
    data = other.sign(package)  # From 000.00.00.H47, signed by G22's valid certificate
    settings = GovLinkSettings.load(
        documents={"options": {"trust_store": str(PKI / "ca.cert.pem")}}
    )
    receiver = verifier_from_settings(settings)
    assert receiver is not None
    with pytest.raises(SignatureError, match=r"signed by 000\.00\.00\.G22"):
        receiver.verify(data)
    opted_out = GovLinkSettings.load(
        documents={
            "options": {"trust_store": str(PKI / "ca.cert.pem"), "require_sender_match": False}
        }
    )
    relaxed = verifier_from_settings(opted_out)
    assert relaxed is not None
    assert relaxed.verify(data).sender_matches is False


def test_unknown_elements_are_parsed_hardened_when_building() -> None:
    from govlink.core.xml import XmlRejectedError
    from govlink.documents.edxml._build import _append_unknown

    parent = etree.Element("x")
    evil = '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'
    with pytest.raises(XmlRejectedError):
        _append_unknown(parent, [evil])
