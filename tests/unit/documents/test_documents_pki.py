"""The mock's test CA: shipped certificates are usable, issued ones chain to it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from documents_fixtures import PKI, sample_package

from govlink.core.errors import SignatureError
from govlink.documents import PackageSigner, PackageVerifier, signer_agency_code
from mock_servers.seed import load_default_seed
from mock_servers.vdxp.pki import issue_cert


def test_every_seeded_agency_has_a_certificate_naming_it() -> None:
    for agency in load_default_seed()["agencies"]:
        cert = x509.load_pem_x509_certificate((PKI / f"{agency['code']}.cert.pem").read_bytes())
        assert signer_agency_code(cert) == agency["code"]
        assert cert.not_valid_after_utc >= datetime(2045, 1, 1, tzinfo=UTC)
        assert (PKI / f"{agency['code']}.key.pem").is_file()


def test_issued_certificate_signs_trusted_packages(tmp_path: Path) -> None:
    paths = issue_cert("003.00.00.H47", tmp_path, name="Sở Y tế tỉnh Mẫu")
    signer = PackageSigner.from_files(paths.key, paths.cert)
    assert signer.agency_code == "003.00.00.H47"
    package = sample_package()
    package.message_header.from_.organ_id = "003.00.00.H47"  # type: ignore[union-attr]
    result = PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem").verify(
        signer.sign(package)
    )
    assert result.trusted
    assert result.sender_matches is True


def test_the_rogue_certificate_is_not_from_the_test_ca() -> None:
    signer = PackageSigner.from_files(PKI / "rogue.key.pem", PKI / "rogue.cert.pem")
    with pytest.raises(SignatureError, match="not trusted"):
        PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem").verify(
            signer.sign(sample_package())
        )
