"""``govlink doctor`` against the mock platforms: a wrong credential is never OK.

Each platform's credential is spoiled in turn; doctor must fail (exit 1) naming the
platform and the setting, and must say OK for all of them with the mock's own
credentials (the built-in ``mock`` profile, documents signing included).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govlink.cli.app import run
from govlink.doctor import Status, check_signing_key, run_doctor
from govlink.testing import MockHandle

PKI = Path(__file__).resolve().parents[2] / "mock_servers" / "vdxp" / "pki"


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def _profile_file(tmp_path: Path, mock: MockHandle, overrides: dict[str, Any]) -> Path:
    """A TOML profile 'probe' equal to the mock profile with ``overrides`` merged in."""
    profile = mock.profile()
    for platform, sections in overrides.items():
        for section, values in sections.items():
            profile[platform].setdefault(section, {}).update(values)
    lines: list[str] = []
    for platform, body in profile.items():
        lines.append(f"[profiles.probe.{platform}]")
        lines.append(f"base_url = {json.dumps(body['base_url'])}")
        for section in ("auth", "options"):
            if section in body:
                lines.append(f"[profiles.probe.{platform}.{section}]")
                for key, value in body[section].items():
                    lines.append(f"{key} = {_toml(value)}")
    path = tmp_path / "govlink.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _doctor(
    capsys: pytest.CaptureFixture[str], path: Path, *targets: str
) -> tuple[int, dict[str, Any]]:
    args = ["doctor", "--json", "--profile", "probe", "--profile-file", str(path)]
    for target in targets:
        args += ["--platform", target]
    capsys.readouterr()
    code = run(args)
    return code, json.loads(capsys.readouterr().out)


def test_the_mock_profile_passes_every_check(
    govlink_mock: MockHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = _doctor(capsys, _profile_file(tmp_path, govlink_mock, {}))
    assert code == 0, report
    statuses = {(c["target"], c["check"]): c["status"] for c in report["checks"]}
    for target in ("sso", "dossiers", "payments", "citizens", "documents"):
        assert statuses[(target, "credentials")] == "ok", report
    assert statuses[("gateway", "token")] == "ok"
    assert statuses[("documents", "signing-key")] == "ok"
    assert statuses[("documents", "chain")] == "ok"
    assert statuses[("sso", "jwks")] == "ok"


@pytest.mark.parametrize(
    ("platform", "field", "setting"),
    [
        ("dossiers", "password", "GOVLINK_DOSSIERS__AUTH__USERNAME / __PASSWORD"),
        (
            "payments",
            "client_secret",
            "GOVLINK_PAYMENTS__AUTH__CLIENT_ID (MaDoiTac) / __CLIENT_SECRET",
        ),
        (
            "documents",
            "client_secret",
            "GOVLINK_DOCUMENTS__AUTH__CLIENT_ID (system id) / __CLIENT_SECRET",
        ),
        ("citizens", "client_secret", "GOVLINK_CITIZENS__AUTH__USERNAME / __CLIENT_SECRET"),
        ("sso", "client_secret", "GOVLINK_SSO__AUTH__CLIENT_ID"),
        ("gateway", "client_secret", "GOVLINK_GATEWAY"),
    ],
)
def test_a_wrong_credential_fails_naming_platform_and_setting(
    govlink_mock: MockHandle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    platform: str,
    field: str,
    setting: str,
) -> None:
    spoiled = {platform: {"auth": {field: "not-the-secret"}}}
    code, report = _doctor(capsys, _profile_file(tmp_path, govlink_mock, spoiled), platform)
    assert code == 1
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert failed, report
    assert all(c["target"] == platform for c in failed)
    assert any(setting.lower() in c["reason"].lower() for c in failed), failed
    assert "not-the-secret" not in json.dumps(report)


def test_a_missing_signing_key_fails_and_names_issue_cert(
    govlink_mock: MockHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spoiled = {"documents": {"options": {"signing_key": "", "signing_cert": ""}}}
    code, report = _doctor(capsys, _profile_file(tmp_path, govlink_mock, spoiled), "documents")
    assert code == 1
    check = next(c for c in report["checks"] if c["check"] == "signing-key")
    assert check["status"] == "fail"
    assert "govlink mock issue-cert" in check["reason"]


def test_an_expired_signing_key_fails(
    govlink_mock: MockHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expired = {
        "signing_key": str(PKI / "expired.key.pem"),
        "signing_cert": str(PKI / "expired.cert.pem"),
    }
    path = _profile_file(tmp_path, govlink_mock, {"documents": {"options": expired}})
    code, report = _doctor(capsys, path, "documents")
    assert code == 1
    check = next(c for c in report["checks"] if c["check"] == "signing-key")
    assert check["status"] == "fail"
    assert "expired on" in check["reason"]


def test_signing_key_mismatch_chain_and_expiry_warning(
    govlink_mock: MockHandle, tmp_path: Path
) -> None:
    shutil.copy(PKI / "rogue.key.pem", tmp_path / "rogue.key.pem")
    base = {"base_url": govlink_mock.url("documents")}
    good = {
        "signing_key": str(PKI / "000.00.00.H47.key.pem"),
        "signing_cert": str(PKI / "000.00.00.H47.cert.pem"),
        "trust_store": [str(PKI / "ca.cert.pem")],
    }

    def checks(options: dict[str, Any], now: datetime) -> dict[str, tuple[Status, str]]:
        settings = govlink_mock.settings(documents={**base, "options": {**good, **options}})
        return {c.name: (c.status, c.reason) for c in check_signing_key(settings, now=now)}

    now = datetime.now(UTC)
    mismatch = checks({"signing_key": str(tmp_path / "rogue.key.pem")}, now)
    assert mismatch["signing-key"][0] is Status.FAIL
    assert "does not belong" in mismatch["signing-key"][1]
    rogue = checks(
        {"signing_key": str(PKI / "rogue.key.pem"), "signing_cert": str(PKI / "rogue.cert.pem")},
        now,
    )
    assert rogue["chain"][0] is Status.FAIL
    soon = checks({}, datetime(2044, 12, 20, tzinfo=UTC))
    assert soon["signing-key"][0] is Status.WARN
    assert soon["chain"][0] is Status.OK
    assert checks({}, now + timedelta(days=1))["signing-key"][0] is Status.OK


def test_unreachable_platform_credentials_are_skipped_not_ok(govlink_mock: MockHandle) -> None:
    settings = govlink_mock.settings(payments={"base_url": "http://127.0.0.1:9/payment"})
    report = run_doctor(settings, targets=["payments"], timeout=1)
    check = next(c for c in report.checks if c.name == "credentials")
    assert check.status is Status.SKIP
    assert "not reachable" in check.reason


def test_the_builtin_mock_profile_sends_and_verifies_documents(govlink_mock: MockHandle) -> None:
    """No signing setting given: the mock profile's test certificate and CA are used."""
    from datetime import date

    from govlink.documents import DocumentClient, EdxmlPackage

    settings = govlink_mock.settings()
    package = EdxmlPackage.new(
        sender="000.00.00.H47",
        recipients=["000.00.00.H47"],
        subject="Thử nghiệm hồ sơ mặc định",
        code_number="1",
        code_notation="UBND-VP",
        promulgation_date=date(2026, 3, 4),
    )
    with DocumentClient(settings) as client:
        sent = client.send(package)
        verified = client.get(sent.doc_id)
    assert verified.trusted
    assert verified.signer_agency_code == "000.00.00.H47"


def test_sending_without_a_signing_key_names_issue_cert(govlink_mock: MockHandle) -> None:
    from datetime import date

    from govlink.core.errors import ConfigurationError
    from govlink.documents import DocumentClient, EdxmlPackage

    settings = govlink_mock.settings(documents={"options": {"signing_key": "", "signing_cert": ""}})
    package = EdxmlPackage.new(
        sender="000.00.00.H47",
        recipients=["000.00.00.H47"],
        subject="Không ký",
        code_number="2",
        code_notation="UBND-VP",
        promulgation_date=date(2026, 3, 4),
    )
    with DocumentClient(settings) as client, pytest.raises(ConfigurationError) as caught:
        client.send(package)
    assert "govlink mock issue-cert" in str(caught.value)
