"""Client certificate (mTLS), CA bundle and proxy reach httpx; bad files name the variable.

The mTLS test talks to a TLS server on 127.0.0.1 (a free port) that requires a
client certificate, so it proves the settings are really used, not only passed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from govlink.core.config import GovLinkSettings
from govlink.core.errors import ConfigurationError, TransportError
from govlink.core.http import HttpTransport, _client_kwargs, build_client


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_key_encrypted: Path
    other_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("govlink test CA"))
        .issuer_name(_name("govlink test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def issue(cn: str, key: ec.EllipticCurvePrivateKey, *, server: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [
                        x509.ExtendedKeyUsageOID.SERVER_AUTH
                        if server
                        else x509.ExtendedKeyUsageOID.CLIENT_AUTH
                    ]
                ),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256())

    def pem(path: Path, cert: x509.Certificate) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    server_key, client_key = _key(), _key()
    return Pki(
        ca=pem(root / "ca.pem", ca_cert),
        server_cert=pem(root / "server.pem", issue("127.0.0.1", server_key, server=True)),
        server_key=_write_key(root / "server.key", server_key),
        client_cert=pem(root / "client.pem", issue("motcua-h47", client_key, server=False)),
        client_key=_write_key(root / "client.key", client_key),
        client_key_encrypted=_write_key(root / "client-enc.key", client_key, b"k3y-pass"),
        other_key=_write_key(root / "other.key", _key()),
    )


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        peer = self.connection.getpeercert() or {}  # type: ignore[attr-defined]
        subject = dict(item[0] for item in peer.get("subject", ()))
        body = str(subject.get("commonName", "none")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mtls_server(pki: Pki) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _settings(**http: object) -> GovLinkSettings:
    return GovLinkSettings.load(http={"max_retries": 0, **http})


def test_client_certificate_and_ca_bundle_are_used(pki: Pki, mtls_server: str) -> None:
    settings = _settings(ca_bundle=pki.ca, client_cert=pki.client_cert, client_key=pki.client_key)
    with HttpTransport(build_client(settings), settings) as transport:
        reply = transport.request("GET", f"{mtls_server}/hello", safe=True)
    assert reply.status_code == 200
    assert reply.text == "motcua-h47"  # the server saw our client certificate


def test_encrypted_client_key_with_password_reference(
    pki: Pki, mtls_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MTLS_KEY_PASSWORD", "k3y-pass")
    settings = _settings(
        ca_bundle=pki.ca,
        client_cert=pki.client_cert,
        client_key=pki.client_key_encrypted,
        client_key_password="env:MTLS_KEY_PASSWORD",
    )
    with HttpTransport(build_client(settings), settings) as transport:
        assert transport.request("GET", f"{mtls_server}/", safe=True).text == "motcua-h47"


def test_without_client_certificate_the_server_refuses(pki: Pki, mtls_server: str) -> None:
    settings = _settings(ca_bundle=pki.ca)
    with (
        HttpTransport(build_client(settings), settings) as transport,
        pytest.raises(TransportError),
    ):
        transport.request("GET", f"{mtls_server}/", safe=True)


def test_untrusted_server_is_not_retried_and_says_which_variable(
    pki: Pki, mtls_server: str
) -> None:
    settings = _settings(client_cert=pki.client_cert, client_key=pki.client_key, max_retries=3)
    with (
        HttpTransport(build_client(settings), settings) as transport,
        pytest.raises(TransportError, match="not trusted") as caught,
    ):
        transport.request("GET", f"{mtls_server}/", safe=True)
    assert "GOVLINK_HTTP__CA_BUNDLE" in str(caught.value)
    assert caught.value.evidence.attempts == 1


def test_kwargs_carry_tls_context_proxy_timeouts_and_limits(pki: Pki) -> None:
    settings = GovLinkSettings.load(
        http={
            "ca_bundle": str(pki.ca),
            "client_cert": str(pki.client_cert),
            "client_key": str(pki.client_key),
            "proxy": "http://proxy.test:3128",
            "timeout": 12,
            "connect_timeout": 3,
            "max_connections": 7,
            "user_agent": "motcua/1.0",
        },
        citizens={"timeout": 45},
    )
    kwargs = _client_kwargs(settings, "citizens")
    context = kwargs["verify"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert [dict(c["subject"][0])["commonName"] for c in context.get_ca_certs()] == [
        "govlink test CA"
    ]
    assert kwargs["proxy"] == "http://proxy.test:3128"
    assert kwargs["timeout"] == httpx.Timeout(45, connect=3)  # the platform's own timeout
    assert kwargs["limits"].max_connections == 7
    assert kwargs["headers"]["User-Agent"] == "motcua/1.0"
    assert kwargs["base_url"] == "http://127.0.0.1:8700/dancu"
    build_client(settings, "citizens").close()  # httpx accepts them


def test_plain_settings_leave_httpx_defaults() -> None:
    kwargs = _client_kwargs(GovLinkSettings.load(), None)
    assert kwargs["verify"] is True
    assert "proxy" not in kwargs
    assert "base_url" not in kwargs
    assert _client_kwargs(GovLinkSettings.load(http={"verify": False}), None)["verify"] is False


@pytest.mark.parametrize(
    ("http", "variable"),
    [
        ({"ca_bundle": "/nonexistent/ca.pem"}, "GOVLINK_HTTP__CA_BUNDLE"),
        ({"client_cert": "/nonexistent/client.pem"}, "GOVLINK_HTTP__CLIENT_CERT"),
        ({"client_key": "/some/client.key"}, "GOVLINK_HTTP__CLIENT_CERT"),
    ],
)
def test_unreadable_tls_files_name_the_variable(http: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build_client(GovLinkSettings.load(http=http))
    assert caught.value.setting == variable


def test_mismatched_or_locked_key_names_the_variable(pki: Pki) -> None:
    for key in (pki.other_key, pki.client_key_encrypted):
        settings = GovLinkSettings.load(
            http={"client_cert": str(pki.client_cert), "client_key": str(key)}
        )
        with pytest.raises(ConfigurationError) as caught:
            build_client(settings)
        assert caught.value.setting == "GOVLINK_HTTP__CLIENT_CERT"
        assert "GOVLINK_HTTP__CLIENT_KEY_PASSWORD" in str(caught.value)
