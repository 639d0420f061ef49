"""The complete province profile in the docs loads as written: every platform and the gateway."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from govlink.core.config import GovLinkSettings

DOC = Path(__file__).resolve().parents[3] / "docs" / "province-profile.md"
SECRETS = ("MOTCUA_KEY_PASSWORD", "LGSP_SECRET", "PAYMENT_SECRET", "VDXP_SECRET")


def test_the_province_profile_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert toml is not None
    path = tmp_path / "govlink.toml"
    path.write_text(toml.group(1), encoding="utf-8")
    for name in SECRETS:
        monkeypatch.setenv(name, f"test-{name.lower()}")
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    text = path.read_text(encoding="utf-8").replace("/run/secrets/sso_client_secret", str(secret))
    path.write_text(text.replace("/run/secrets/dvcqg_password", str(secret)), encoding="utf-8")
    settings = GovLinkSettings.from_profile("tinh-mau", path)
    for platform in ("sso", "dossiers", "payments", "citizens", "documents", "gateway"):
        assert getattr(settings, platform).base_url, platform
    assert settings.dossiers.gateway is not None
    assert settings.documents.options["signing_key"] == "/etc/govlink/agency.key.pem"
