"""govlink's use of signxml: the overridden methods are pinned, and only allow-listed
signature and digest algorithms are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import SignatureConstructionMethod

from govlink.core.errors import ConfigurationError, SignatureError
from govlink.core.xml import (
    DIGEST_ALGORITHMS,
    SIGNATURE_ALGORITHMS,
    XmlVerifier,
    _signxml,
    load_certificates,
    load_private_key,
)
from govlink.core.xml._algorithms import accepted_digests, accepted_signature_methods

PKI = Path(__file__).resolve().parents[3] / "mock_servers" / "vdxp" / "pki"
AGENCY = "000.00.00.H47"


def test_every_overridden_signxml_method_still_has_the_signature_govlink_expects() -> None:
    assert _signxml.signxml_changes() == []


def test_a_changed_signxml_method_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = {cls: dict(methods) for cls, methods in _signxml.OVERRIDDEN.items()}
    changed[_signxml._XMLSigner]["_c14n"] = ("self", "nodes", "algorithm")
    monkeypatch.setattr(_signxml, "OVERRIDDEN", changed)
    _signxml._check_signxml.cache_clear()
    try:
        assert _signxml.signxml_changes() == [
            "XMLSigner._c14n('self', 'nodes', 'algorithm', 'inclusive_ns_prefixes') "
            "(expected ('self', 'nodes', 'algorithm'))"
        ]
        with pytest.raises(ConfigurationError, match="signxml changed methods govlink extends"):
            _signxml._signer_class(False)
    finally:
        _signxml._check_signxml.cache_clear()


def test_the_allow_list_is_rsa_and_ecdsa_with_sha2_and_sha1_only_for_legacy() -> None:
    modern = {m.value for m in accepted_signature_methods(False)}
    assert modern == {uri for name, uri in SIGNATURE_ALGORITHMS.items() if name != "rsa-sha1"}
    assert all(("rsa-sha" in uri or "ecdsa-sha" in uri) and "sha1" not in uri for uri in modern)
    legacy = {m.value for m in accepted_signature_methods(True)}
    assert legacy - modern == {SIGNATURE_ALGORITHMS["rsa-sha1"]}
    assert {d.value for d in accepted_digests(False)} == {
        DIGEST_ALGORITHMS[name] for name in ("sha256", "sha384", "sha512")
    }
    assert {d.value for d in accepted_digests(True)} == set(DIGEST_ALGORITHMS.values())


def _signed_raw(signature_algorithm: str, digest_algorithm: str) -> bytes:
    """A document signed by plain signxml with algorithms govlink does not list."""
    root = etree.fromstring(b"<doc><a>noi dung</a></doc>")
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=signature_algorithm,
        digest_algorithm=digest_algorithm,
    )
    signed = signer.sign(
        root,
        key=load_private_key(PKI / f"{AGENCY}.key.pem"),
        cert=[(PKI / f"{AGENCY}.cert.pem").read_text()],
    )
    return etree.tostring(signed)


@pytest.mark.parametrize(
    ("method", "digest"),
    [("rsa-sha224", "sha256"), ("rsa-sha256", "sha224")],
)
def test_algorithms_outside_the_allow_list_are_refused(method: str, digest: str) -> None:
    cert = load_certificates(PKI / f"{AGENCY}.cert.pem")[0]
    verifier = XmlVerifier(pinned=[cert])
    data = _signed_raw(method, digest)
    with pytest.raises(SignatureError):
        verifier.verify(data)
    assert XmlVerifier(pinned=[cert]).verify(_signed_raw("rsa-sha256", "sha256")).trusted
