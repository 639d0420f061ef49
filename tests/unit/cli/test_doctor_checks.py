"""The doctor's checks as data (``govlink.doctor``), with respx for HTTP and real files."""

from __future__ import annotations

import email.utils
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from govlink.core.clock import ManualClock
from govlink.core.config import GovLinkSettings, mock_profile
from govlink.doctor import (
    Check,
    Status,
    check_ca_bundle,
    check_client_certificate,
    run_doctor,
)

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _settings(**overrides: object) -> GovLinkSettings:
    return GovLinkSettings.load(profile="mock", **mock_profile(port=8799), **overrides)


def _by(report_checks: tuple[Check, ...], target: str, name: str) -> Check:
    matches = [c for c in report_checks if c.target == target and c.name == name]
    assert len(matches) == 1, report_checks
    return matches[0]


def _date(when: datetime) -> str:
    return email.utils.format_datetime(when, usegmt=True)


@pytest.fixture
def platforms() -> Iterator[respx.MockRouter]:
    """Every platform the doctor probes, mocked with respx: nothing leaves the process."""
    with respx.mock(assert_all_called=False) as router:
        yield router


def _serve(router: respx.MockRouter, handler: Callable[[httpx.Request], httpx.Response]) -> None:
    """Every platform (all on loopback in the mock profile) answers with ``handler``."""
    router.route(host="127.0.0.1").mock(side_effect=handler)


def _handler(
    *, date_offset: float | None = 0.0, token_status: int = 200
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        headers = {}
        if date_offset is not None:
            headers["Date"] = _date(NOW + timedelta(seconds=date_offset))
        if request.url.path.endswith("/token"):
            if token_status != 200:
                return httpx.Response(
                    token_status, json={"error": "invalid_client"}, headers=headers
                )
            body = {"access_token": "tok", "token_type": "Bearer", "expires_in": 300}
            return httpx.Response(200, json=body, headers=headers)
        return httpx.Response(404, json={"detail": "not found"}, headers=headers)

    return handle


def test_every_endpoint_reachable_with_any_status(platforms: respx.MockRouter) -> None:
    _serve(platforms, _handler())
    report = run_doctor(_settings(), clock=ManualClock(NOW))
    for target in ("sso", "dossiers", "payments", "citizens", "documents", "gateway"):
        reachable = _by(report.checks, target, "reachable")
        assert reachable.status is Status.OK
        assert "HTTP 404" in reachable.reason
        assert _by(report.checks, target, "clock").status is Status.OK
    token = _by(report.checks, "gateway", "token")
    assert token.status is Status.OK
    assert "/gateway/token" in token.reason
    # an endpoint answering 404 to everything proves no credential: never OK
    for target in ("sso", "dossiers", "payments", "citizens", "documents"):
        assert _by(report.checks, target, "credentials").status is Status.FAIL
    assert not report.ok


def test_clock_skew_over_a_minute_warns(platforms: respx.MockRouter) -> None:
    _serve(platforms, _handler(date_offset=-125))
    report = run_doctor(_settings(), targets=["sso"], clock=ManualClock(NOW))
    clock = _by(report.checks, "sso", "clock")
    assert clock.status is Status.WARN
    assert "125 s behind" in clock.reason
    assert clock.status is not Status.FAIL  # a warning does not fail the check


def test_small_skew_is_ok_and_missing_date_is_skipped(platforms: respx.MockRouter) -> None:
    _serve(platforms, _handler(date_offset=20))
    small = run_doctor(_settings(), targets=["sso"], clock=ManualClock(NOW))
    assert _by(small.checks, "sso", "clock").status is Status.OK
    assert "20 s ahead" in _by(small.checks, "sso", "clock").reason
    _serve(platforms, _handler(date_offset=None))
    none = run_doctor(_settings(), targets=["sso"], clock=ManualClock(NOW))
    assert _by(none.checks, "sso", "clock").status is Status.SKIP


def test_connection_error_fails_and_skips_the_clock(platforms: respx.MockRouter) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    _serve(platforms, refuse)
    report = run_doctor(_settings(), clock=ManualClock(NOW))
    assert not report.ok
    reachable = _by(report.checks, "dossiers", "reachable")
    assert reachable.status is Status.FAIL
    assert "Connection refused" in reachable.reason
    assert _by(report.checks, "dossiers", "clock").status is Status.SKIP
    assert _by(report.checks, "gateway", "token").status is Status.FAIL


def test_timeout_fails_with_the_limit(platforms: respx.MockRouter) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    _serve(platforms, slow)
    report = run_doctor(_settings(), targets=["citizens"], timeout=2.5)
    reachable = _by(report.checks, "citizens", "reachable")
    assert reachable.status is Status.FAIL
    assert "within 2.5 s" in reachable.reason


@pytest.mark.parametrize(("status", "words"), [(401, "refused"), (503, "HTTP 503")])
def test_token_refused_or_unavailable_fails(
    status: int, words: str, platforms: respx.MockRouter
) -> None:
    _serve(platforms, _handler(token_status=status))
    report = run_doctor(_settings(), targets=["gateway"], clock=ManualClock(NOW))
    token = _by(report.checks, "gateway", "token")
    assert token.status is Status.FAIL
    assert words in token.reason
    assert "demo-gateway-secret" not in token.reason


def test_unconfigured_endpoint_is_skipped_naming_the_variable(
    platforms: respx.MockRouter,
) -> None:
    _serve(platforms, _handler())
    settings = GovLinkSettings.load(profile="mock", sso={"base_url": None})
    report = run_doctor(settings, targets=["sso"])
    reachable = _by(report.checks, "sso", "reachable")
    assert reachable.status is Status.SKIP
    assert "GOVLINK_SSO__BASE_URL" in reachable.reason


def test_report_json_round_trip(platforms: respx.MockRouter) -> None:
    _serve(platforms, _handler())
    report = run_doctor(_settings(), targets=["payments"])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["profile"] == "mock"
    assert data["ok"] is False  # a 404 to the QUERY proves nothing about the secret
    assert {"target": "payments", "check": "reachable"}.items() <= data["checks"][2].items()
    assert sum(data["counts"].values()) == len(data["checks"])


def test_unknown_target_is_refused() -> None:
    from govlink.core.errors import GovLinkError

    with pytest.raises(GovLinkError, match="unknown platform 'tax'"):
        run_doctor(_settings(), targets=["tax"])


# --- TLS client certificate ----------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(key: ec.EllipticCurvePrivateKey, not_before: datetime, not_after: datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "motcua.h47.gov.vn")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def _cert_checks(cert: Path | None, key: Path | None) -> dict[str, Check]:
    checks = check_client_certificate(cert, key, now=NOW, expiry_warning=timedelta(days=30))
    return {check.name: check for check in checks}


def test_no_certificate_configured_is_skipped() -> None:
    assert _cert_checks(None, None)["client-certificate"].status is Status.SKIP


def test_valid_certificate_and_matching_key(tmp_path: Path) -> None:
    key = _key()
    cert = _write(
        tmp_path / "c.pem", _cert(key, NOW - timedelta(days=1), NOW + timedelta(days=400))
    )
    key_file = _write(tmp_path / "k.pem", _key_pem(key))
    checks = _cert_checks(cert, key_file)
    assert checks["client-certificate"].status is Status.OK
    assert "CN=motcua.h47.gov.vn" in checks["client-certificate"].reason
    assert "400 days" in checks["client-certificate"].reason
    assert checks["client-key"].status is Status.OK


def test_combined_pem_holds_the_key(tmp_path: Path) -> None:
    key = _key()
    pem = _cert(key, NOW - timedelta(days=1), NOW + timedelta(days=90)) + _key_pem(key)
    checks = _cert_checks(_write(tmp_path / "both.pem", pem), None)
    assert checks["client-key"].status is Status.OK


@pytest.mark.parametrize(
    ("days_left", "status", "words"),
    [(10, Status.WARN, "in 10 days"), (-3, Status.FAIL, "expired")],
)
def test_expiring_and_expired_certificates(
    tmp_path: Path, days_left: int, status: Status, words: str
) -> None:
    key = _key()
    pem = _cert(key, NOW - timedelta(days=300), NOW + timedelta(days=days_left, hours=1))
    checks = _cert_checks(
        _write(tmp_path / "c.pem", pem), _write(tmp_path / "k.pem", _key_pem(key))
    )
    assert checks["client-certificate"].status is status
    assert words in checks["client-certificate"].reason


def test_not_yet_valid_certificate_fails(tmp_path: Path) -> None:
    key = _key()
    pem = _cert(key, NOW + timedelta(days=2), NOW + timedelta(days=365))
    checks = _cert_checks(
        _write(tmp_path / "c.pem", pem), _write(tmp_path / "k.pem", _key_pem(key))
    )
    assert checks["client-certificate"].status is Status.FAIL
    assert "not valid before" in checks["client-certificate"].reason


def test_key_problems(tmp_path: Path) -> None:
    key, other = _key(), _key()
    cert = _write(tmp_path / "c.pem", _cert(key, NOW - timedelta(days=1), NOW + timedelta(days=90)))

    mismatch = _cert_checks(cert, _write(tmp_path / "other.pem", _key_pem(other)))["client-key"]
    assert mismatch.status is Status.FAIL
    assert "does not belong" in mismatch.reason

    encrypted = _write(tmp_path / "enc.pem", _key_pem(key, b"pw"))
    locked = _cert_checks(cert, encrypted)["client-key"]
    assert locked.status is Status.FAIL
    assert "GOVLINK_HTTP__CLIENT_KEY_PASSWORD" in locked.reason
    unlocked = check_client_certificate(cert, encrypted, now=NOW, key_password="pw")
    assert unlocked[1].status is Status.OK
    wrong = check_client_certificate(cert, encrypted, now=NOW, key_password="nope")
    assert wrong[1].status is Status.FAIL
    assert "cannot be decrypted" in wrong[1].reason

    missing = _cert_checks(cert, tmp_path / "absent.pem")["client-key"]
    assert missing.status is Status.FAIL
    assert "cannot read" in missing.reason

    alone = _cert_checks(cert, None)["client-key"]
    assert alone.status is Status.FAIL
    assert "GOVLINK_HTTP__CLIENT_KEY" in alone.reason

    if os.name == "posix":
        readable = _cert_checks(cert, _write(tmp_path / "open.pem", _key_pem(key), 0o644))
        assert readable["client-key"].status is Status.WARN
        assert "chmod 600" in readable["client-key"].reason


def test_unreadable_or_garbage_certificate_fails(tmp_path: Path) -> None:
    missing = _cert_checks(tmp_path / "nope.pem", None)["client-certificate"]
    assert missing.status is Status.FAIL
    assert "cannot read" in missing.reason
    garbage = _cert_checks(_write(tmp_path / "g.pem", b"not a certificate"), None)
    assert garbage["client-certificate"].status is Status.FAIL


def test_doctor_reports_certificate_from_settings(
    tmp_path: Path, platforms: respx.MockRouter
) -> None:
    key = _key()
    cert = _write(tmp_path / "c.pem", _cert(key, NOW - timedelta(days=1), NOW + timedelta(days=20)))
    key_file = _write(tmp_path / "k.pem", _key_pem(key))
    settings = _settings(http={"client_cert": cert, "client_key": key_file})
    report = run_doctor(settings, targets=[], clock=ManualClock(NOW))
    assert _by(report.checks, "tls", "client-certificate").status is Status.WARN


def test_ca_bundle(tmp_path: Path) -> None:
    assert check_ca_bundle(None, True).status is Status.SKIP
    assert check_ca_bundle(None, False).status is Status.WARN
    assert check_ca_bundle(tmp_path / "missing.pem", True).status is Status.FAIL
    key = _key()
    bundle = _write(
        tmp_path / "ca.pem", _cert(key, NOW - timedelta(days=1), NOW + timedelta(days=9))
    )
    ok = check_ca_bundle(bundle, True)
    assert ok.status is Status.OK
    assert "1 CA certificate" in ok.reason
