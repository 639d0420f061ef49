"""``govlink documents`` as a user runs it (a separate process) against the mock axis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from govlink.testing import MockHandle

pytestmark = pytest.mark.e2e

PKI = Path(__file__).resolve().parents[2] / "mock_servers" / "vdxp" / "pki"
A, B = "000.00.00.H47", "000.00.00.G22"
SYSTEMS = {A: ("000.00.00.H47", "demo-vdxp-secret"), B: ("vpcp", "demo-g22-secret")}


def _govlink() -> list[str]:
    script = Path(sys.executable).parent / "govlink"
    return [str(script)] if script.exists() else [sys.executable, "-m", "govlink.cli.app"]


def _run(
    *args: str, cwd: Path, mock: MockHandle | None = None, agency: str = A, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    env["COLUMNS"] = "200"
    env |= extra
    if mock is not None:
        system_id, secret = SYSTEMS[agency]
        env |= {
            "GOVLINK_DOCUMENTS__BASE_URL": mock.url("documents"),
            "GOVLINK_DOCUMENTS__AUTH__CLIENT_ID": system_id,
            "GOVLINK_DOCUMENTS__AUTH__CLIENT_SECRET": secret,
            "GOVLINK_DOCUMENTS__OPTIONS__AGENCY_CODE": agency,
            "GOVLINK_DOCUMENTS__OPTIONS__SIGNING_KEY": str(PKI / f"{agency}.key.pem"),
            "GOVLINK_DOCUMENTS__OPTIONS__SIGNING_CERT": str(PKI / f"{agency}.cert.pem"),
            "GOVLINK_DOCUMENTS__OPTIONS__TRUST_STORE": str(PKI / "ca.cert.pem"),
        }
    return subprocess.run(
        [*_govlink(), "documents", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _build(tmp_path: Path, *extra: str) -> Path:
    attachment = tmp_path / "bao-cao.pdf"
    attachment.write_bytes(b"%PDF-1.4 cli " * 100)
    out = tmp_path / "package.edxml"
    result = _run(
        "build",
        "--out",
        str(out),
        "--from",
        A,
        "--to",
        B,
        "--subject",
        "Về việc thử dòng lệnh",
        "--number",
        "7",
        "--notation",
        "UBND-VP",
        "--date",
        "2026-04-05",
        "--attach",
        str(attachment),
        *extra,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_build_sign_verify_offline(tmp_path: Path) -> None:
    package = _build(tmp_path)
    signed = tmp_path / "signed.edxml"
    result = _run(
        "sign",
        str(package),
        "--out",
        str(signed),
        "--key",
        str(PKI / f"{A}.key.pem"),
        "--cert",
        str(PKI / f"{A}.cert.pem"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr

    trusted = _run("verify", str(signed), "--trust", str(PKI / "ca.cert.pem"), cwd=tmp_path)
    assert trusted.returncode == 0, trusted.stderr
    assert "UID=000.00.00.H47" in trusted.stdout
    assert "rsa-sha256" in trusted.stdout
    assert "trusted:    yes" in trusted.stdout

    # the built-in mock profile trusts the mock CA: empty its trust store for this call
    untrusted = _run(
        "verify", str(signed), "--json", cwd=tmp_path, GOVLINK_DOCUMENTS__OPTIONS__TRUST_STORE=""
    )
    assert untrusted.returncode == 1  # intact but nobody vouches for the signer
    assert "not trusted" in untrusted.stderr
    inspected = _run(
        "verify",
        str(signed),
        "--json",
        "--integrity-only",
        cwd=tmp_path,
        GOVLINK_DOCUMENTS__OPTIONS__TRUST_STORE="",
    )
    assert inspected.returncode == 0, inspected.stderr
    data = json.loads(inspected.stdout)
    assert data["trusted"] is False
    assert data["algorithm"] == "rsa-sha256"
    assert data["signer_agency_code"] == A
    assert data["attachments"] == ["bao-cao.pdf"]

    broken = tmp_path / "broken.edxml"
    broken.write_bytes(signed.read_bytes().replace("dòng lệnh".encode(), b"EVIL"))
    failed = _run("verify", str(broken), "--trust", str(PKI / "ca.cert.pem"), cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stderr.strip().startswith("error: the signed content was changed")
    assert len(failed.stderr.strip().splitlines()) == 1


def test_build_refuses_a_bad_agency_code_with_exit_2(tmp_path: Path) -> None:
    result = _run(
        "build",
        "--out",
        str(tmp_path / "x.edxml"),
        "--from",
        "H47",
        "--to",
        B,
        "--subject",
        "x",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: message_header.from_.organ_id")


def test_send_receive_status_through_the_mock(govlink_mock: MockHandle, tmp_path: Path) -> None:
    package = _build(tmp_path)
    sent = _run("send", str(package), "--json", cwd=tmp_path, mock=govlink_mock)
    assert sent.returncode == 0, sent.stderr
    doc_id = json.loads(sent.stdout)["doc_id"]

    listed = _run("receive", "--list", "--json", cwd=tmp_path, mock=govlink_mock, agency=B)
    assert [item["doc_id"] for item in json.loads(listed.stdout)] == [doc_id]

    no_store = _run("receive", cwd=tmp_path, mock=govlink_mock, agency=B)
    assert no_store.returncode == 2  # acknowledging what is not stored is refused
    assert "--out-dir" in no_store.stderr

    inbox = tmp_path / "inbox"
    received = _run("receive", "--out-dir", str(inbox), cwd=tmp_path, mock=govlink_mock, agency=B)
    assert received.returncode == 0, received.stderr
    assert f"received {doc_id}" in received.stdout
    assert "thử dòng lệnh" not in received.stdout  # the subject is masked like personal data
    folder = inbox / doc_id
    assert (folder / "attachments" / "bao-cao.pdf").read_bytes() == b"%PDF-1.4 cli " * 100
    original = (folder / "original.edxml").read_bytes()
    assert b"SignatureValue" in original
    report = json.loads((folder / "verification.json").read_text())
    assert report["trusted"] is True
    assert "thử dòng lệnh" in (folder / "message.json").read_text(encoding="utf-8")
    verified = _run("verify", str(folder / "original.edxml"), cwd=tmp_path, mock=govlink_mock)
    assert verified.returncode == 0, verified.stderr  # the stored original still verifies
    assert "thử dòng lệnh" not in verified.stdout  # subjects are masked here too

    refused = _run("status", doc_id, "07", cwd=tmp_path, mock=govlink_mock, agency=B)
    assert refused.returncode == 2
    assert "standard table" in refused.stderr
    reported = _run("status", doc_id, "03", cwd=tmp_path, mock=govlink_mock, agency=B)
    assert reported.returncode == 0, reported.stderr
    shown = _run("status", doc_id, "--json", cwd=tmp_path, mock=govlink_mock)
    assert shown.returncode == 0, shown.stderr
    assert [(r["to"], r["code"]) for r in json.loads(shown.stdout)["recipients"]] == [(B, "03")]


def test_receive_reports_rejections_with_exit_1(govlink_mock: MockHandle, tmp_path: Path) -> None:
    package = _build(tmp_path)
    assert _run("send", str(package), cwd=tmp_path, mock=govlink_mock).returncode == 0
    govlink_mock.switch("documents", deliver_expired_cert=True)
    result = _run("receive", "--no-ack", cwd=tmp_path, mock=govlink_mock, agency=B)
    assert result.returncode == 1
    assert "rejected" in result.stdout
    assert "expired" in result.stdout


def test_mock_issue_cert(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GOVLINK_")}
    result = subprocess.run(
        [*_govlink(), "mock", "issue-cert", "003.00.00.H47", "--out-dir", str(tmp_path), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    paths = json.loads(result.stdout)
    signed = tmp_path / "signed.edxml"
    package = _build(tmp_path)
    signing = _run(
        "sign",
        str(package),
        "--out",
        str(signed),
        "--key",
        paths["key"],
        "--cert",
        paths["certificate"],
        cwd=tmp_path,
    )
    assert signing.returncode == 0, signing.stderr
    verified = _run("verify", str(signed), "--trust", paths["ca"], "--json", cwd=tmp_path)
    assert json.loads(verified.stdout)["trusted"] is True


def _self_signed(tmp_path: Path, agency: str) -> tuple[Path, Path]:
    """An attacker's key and self-signed certificate that claim to be ``agency``."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, agency),
            x509.NameAttribute(NameOID.USER_ID, agency),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / "evil.key.pem", tmp_path / "evil.cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_verify_fails_for_a_signer_the_trust_store_does_not_vouch_for(tmp_path: Path) -> None:
    package = _build(tmp_path)
    key, cert = _self_signed(tmp_path, A)
    forged = tmp_path / "forged.edxml"
    signed = _run(
        "sign", str(package), "--out", str(forged), "--key", str(key), "--cert", str(cert),
        cwd=tmp_path,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    result = _run("verify", str(forged), "--trust", str(PKI / "ca.cert.pem"), cwd=tmp_path)
    assert result.returncode == 1  # a script doing `verify x && process x` stops here
    assert "not trusted" in result.stderr
    assert result.stdout.startswith("untrusted")
    assert "signature OK" not in result.stdout
