"""Fixtures for the documents unit tests (helpers live in documents_fixtures.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from documents_fixtures import AGENCY_A, PKI, sample_package

from govlink.documents import EdxmlPackage, PackageSigner, PackageVerifier


@pytest.fixture(autouse=True)
def _clean_settings_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GOVLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def signer() -> PackageSigner:
    return PackageSigner.from_files(PKI / f"{AGENCY_A}.key.pem", PKI / f"{AGENCY_A}.cert.pem")


@pytest.fixture(scope="session")
def verifier() -> PackageVerifier:
    return PackageVerifier.from_files(trust_store=PKI / "ca.cert.pem")


@pytest.fixture
def package() -> EdxmlPackage:
    return sample_package()
