"""The hardened parser refuses what attacks XML parsers; signatures stream large text."""

from __future__ import annotations

import dataclasses
import io
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from govlink.core.errors import SignatureError
from govlink.core.xml import (
    DSIG_NS,
    SpooledText,
    TrustStore,
    VerifiedXml,
    XmlRejectedError,
    XmlSigner,
    XmlVerifier,
    c14n_escape_text,
    load_certificates,
    new_marker,
    parse_xml,
    parse_xml_streaming,
    write_xml,
)

PKI = Path(__file__).resolve().parents[3] / "mock_servers" / "vdxp" / "pki"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def external_entity(target: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{target}">]><r>&xxe;</r>'
    ).encode()


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(XmlRejectedError, match="DOCTYPE"):
        parse_xml(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1.0


def test_external_entity_is_refused_and_file_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    with pytest.raises(XmlRejectedError) as caught:
        parse_xml(external_entity(secret))
    assert "TOP-SECRET" not in str(caught.value)


def test_plain_dtd_is_refused() -> None:
    with pytest.raises(XmlRejectedError, match="DOCTYPE"):
        parse_xml(b'<!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r/>')


def test_oversize_refused_before_parsing() -> None:
    data = b"<r>" + b"a" * 2000 + b"</r>"
    with pytest.raises(XmlRejectedError, match="limit"):
        parse_xml(data, max_bytes=1000)
    assert parse_xml(data, max_bytes=5000).tag == "r"


def test_malformed_xml_is_a_rejection_not_a_crash() -> None:
    with pytest.raises(XmlRejectedError, match="well-formed"):
        parse_xml(b"<r><unclosed></r>")


def test_comments_are_kept_for_signatures() -> None:
    root = parse_xml(b"<r><!-- signed comment --><a>1</a></r>")
    assert isinstance(root[0], etree._Comment)


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, b"<!DOCTYPE r []><r/>"])
def test_streaming_parser_refuses_doctype(attack: bytes) -> None:
    with pytest.raises(XmlRejectedError, match="DOCTYPE"):
        parse_xml_streaming(attack, divert=lambda tag: False, max_bytes=10_000)


def test_streaming_parser_counts_size_while_reading() -> None:
    stream = io.BytesIO(b"<r>" + b"a" * 200_000 + b"</r>")
    with pytest.raises(XmlRejectedError, match="limit"):
        parse_xml_streaming(stream, divert=lambda tag: False, max_bytes=100_000)


def test_streaming_parser_diverts_text_larger_than_libxml2_allows() -> None:
    # 12 MB in one text node: over libxml2's 10 MB cap without huge_tree
    big = b"QUJD" * 3_000_000
    parsed = parse_xml_streaming(
        b"<r><Big>" + big + b"</Big><small>x</small></r>",
        divert=lambda tag: tag == "Big",
        max_bytes=20_000_000,
    )
    try:
        (marker,) = parsed.external
        assert parsed.root[0].text == marker
        assert parsed.root[1].text == "x"
        assert sum(len(c) for c in parsed.external[marker]()) == len(big)
    finally:
        parsed.close()


def test_c14n_escaping_matches_lxml() -> None:
    text = "a & b < c > d \r e"
    element = etree.Element("t")
    element.text = text
    rendered = etree.tostring(element, method="c14n").decode()
    assert rendered == f"<t>{c14n_escape_text(text)}</t>"


def test_spooled_text_round_trips_multibyte_across_chunks() -> None:
    spool = SpooledText(max_memory=10)
    spool.write("Trục liên thông văn bản " * 100)
    assert "".join(spool.chunks(size=7)) == "Trục liên thông văn bản " * 100
    spool.close()


def _signer() -> XmlSigner:
    return XmlSigner.from_files(PKI / "000.00.00.H47.key.pem", PKI / "000.00.00.H47.cert.pem")


def test_signature_over_external_text_verifies_like_inline_text() -> None:
    root = etree.fromstring(b"<doc><head/><data>MARK</data></doc>")
    marker = new_marker()
    root[1].text = marker
    external = {marker: lambda: iter(["QUJD" * 50, "RUZH"])}
    signed = _signer().sign(root, parent=root[0], external=external)
    buffer = io.BytesIO()
    write_xml(signed, buffer, external=external)
    data = buffer.getvalue()
    assert b"QUJD" * 50 + b"RUZH" in data
    assert marker.encode() not in data
    verifier = XmlVerifier(trust=TrustStore.from_pem(PKI / "ca.cert.pem"))
    result = verifier.verify(data)
    assert result.trusted
    assert result.signed_xml.findtext("data") == "QUJD" * 50 + "RUZH"
    # the caller's tree is untouched by signing
    assert root[0].find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None


def test_verifier_without_trust_anchor_needs_explicit_integrity_mode() -> None:
    from govlink.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        XmlVerifier()
    root = etree.fromstring(b"<doc><a>1</a></doc>")
    data = etree.tostring(_signer().sign(root))
    result = XmlVerifier(require_trusted=False).verify(data)
    assert result.trusted is False
    assert "no trust store" in result.trust_note


def test_two_signatures_are_refused() -> None:
    root = etree.fromstring(b"<doc><a>1</a><b>2</b></doc>")
    signed = _signer().sign(root)
    twice = _signer().sign(signed, parent=signed[1])
    with pytest.raises(SignatureError, match="2 signatures"):
        XmlVerifier(trust=TrustStore.from_pem(PKI / "ca.cert.pem")).verify(etree.tostring(twice))


def test_the_signature_at_the_location_is_verified_when_another_comes_first() -> None:
    """signxml looks the signature up again: with another xmldsig Signature earlier
    in the document, the one at the location (a path or the element) is still the
    one checked, and the other stays part of the signed content."""
    root = etree.fromstring(b"<doc><body><p>1</p></body><head/></doc>")
    first = _signer().sign(root, parent=root[0])  # a signature inside body...
    both = _signer().sign(first, parent=first[1])  # ...then the one in head over it
    data = etree.tostring(both)
    verifier = XmlVerifier(trust=TrustStore.from_pem(PKI / "ca.cert.pem"))
    for location in ("./head/", lambda document: document[1]):
        result = verifier.verify(data, location=location)
        assert result.trusted
        assert result.signed_xml.find(f"body/{{{DSIG_NS}}}Signature") is not None
    with pytest.raises(SignatureError, match="2 signatures"):
        verifier.verify(data)  # anywhere: exactly one


def test_an_expired_pinned_certificate_is_refused_on_every_call() -> None:
    """Pinned certificates get no chain check; signxml checks their dates, at the
    current time (its configuration is reused between calls) or at ``at``."""
    expired = XmlSigner.from_files(PKI / "expired.key.pem", PKI / "expired.cert.pem")
    data = etree.tostring(expired.sign(etree.fromstring(b"<doc><a>1</a></doc>")))
    verifier = XmlVerifier(pinned=load_certificates(PKI / "expired.cert.pem"))
    for _ in range(2):
        with pytest.raises(SignatureError, match="not valid"):
            verifier.verify(data)
    assert verifier.verify(data, at=datetime(2025, 3, 1, tzinfo=UTC)).trusted


def test_verified_xml_is_a_complete_frozen_dataclass() -> None:
    root = etree.fromstring(b"<doc><a>1</a></doc>")
    data = etree.tostring(_signer().sign(root))
    result = XmlVerifier(trust=TrustStore.from_pem(PKI / "ca.cert.pem")).verify(data)
    values = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    assert values["algorithm"] == "rsa-sha256"
    assert values["digest_algorithm"] == "sha256"
    assert values["c14n"] == "c14n"
    assert values["reference_uri"] == ""
    assert dataclasses.replace(result, trusted=False).trusted is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.trusted = False  # type: ignore[misc]
    with pytest.raises(TypeError, match="exactly the fields"):
        VerifiedXml._of(trusted=True)


@pytest.mark.parametrize("reference", ["", "#body"])
def test_signing_in_place_equals_signing_a_copy(reference: str) -> None:
    """In place, the digest is taken with the signature being built detached (no
    copy of the document); the result must be the very bytes a copy would give."""
    source = (
        b'<doc xmlns="urn:doc"><body Id="body"><head/><p>1 &amp; 2</p></body><tail>t</tail></doc>'
    )
    signer = _signer()
    copy_root = etree.fromstring(source)
    by_copy = signer.sign(copy_root, parent=copy_root[0][0], reference_uri=reference)
    assert etree.tostring(copy_root) == etree.tostring(etree.fromstring(source))
    own_root = etree.fromstring(source)
    in_place = signer.sign(own_root, parent=own_root[0][0], reference_uri=reference, in_place=True)
    assert in_place is own_root
    assert etree.tostring(in_place) == etree.tostring(by_copy)
    verifier = XmlVerifier(trust=TrustStore.from_pem(PKI / "ca.cert.pem"))
    result = verifier.verify(etree.tostring(in_place))
    assert result.reference_uri == reference
    assert result.signed_xml.findtext(".//{urn:doc}p") == "1 & 2"


def test_a_huge_text_node_outside_the_attachments_is_refused_while_reading(
    tmp_path: Path,
) -> None:
    """A 40 MB <Subject> is refused before it is buffered (the cap is 10 Mi chars),
    not after the tree builder held it several times over."""
    import tracemalloc

    path = tmp_path / "huge-subject.xml"
    with path.open("wb") as out:
        out.write(b"<edXML><Subject>")
        for _ in range(40):
            out.write(b"a" * (1024 * 1024))
        out.write(b"</Subject><Content>ok</Content></edXML>")
    tracemalloc.start()
    try:
        with pytest.raises(XmlRejectedError, match="text node is longer than"):
            parse_xml_streaming(path, divert=lambda tag: tag == "Attachment", max_bytes=1 << 30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 30 * 1024 * 1024  # the cap (10 Mi chars) plus parser chunks, not 40+ MB


def test_large_diverted_text_is_still_accepted(tmp_path: Path) -> None:
    path = tmp_path / "big-attachment.xml"
    with path.open("wb") as out:
        out.write(b"<edXML><Subject>x</Subject><Attachment>")
        for _ in range(12):
            out.write(b"QUJD" * (256 * 1024))
        out.write(b"</Attachment></edXML>")
    streamed = parse_xml_streaming(path, divert=lambda tag: tag == "Attachment", max_bytes=1 << 30)
    try:
        (spool,) = streamed.external.values()
        assert spool.size == 12 * 1024 * 1024
    finally:
        streamed.close()
