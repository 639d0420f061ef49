"""Health checks of one deployment profile (``govlink doctor``, ``make demo``).

Why a library module: the CLI, the demo and a vendor's own health endpoint all want
the same answers ("can this machine talk to the portal, and will it still next
month?"), as data, not as printed text. :func:`run_doctor` returns a
:class:`DoctorReport`; rendering is the caller's business.

The checks, per configured endpoint:

* ``reachable``: one plain ``GET`` of the base URL, no retries. Any HTTP status
  counts (the base URL of an API often answers 404); a connection, TLS or proxy
  error, or no answer within the timeout, does not.
* ``clock``: the server's ``Date`` header against this machine's clock. Platforms
  reject stale timestamps, signatures and tokens, so more than ``max_skew_seconds``
  is a warning.
* ``token``: for endpoints whose auth style obtains a token (the gateway's client
  credentials, the header-JSON variant), a token is actually requested through
  :func:`govlink.core.auth.auth_for`.

* ``credentials``: one harmless authenticated call per platform
  (:func:`check_credentials`): the DVCQG login, a payment QUERY of a sentinel
  reference whose reply checksum verifies, a population ``GetRequestStatus``, a
  signed axis ``countReceiveEdoc``, and for SSO discovery, the JWKS and client
  authentication at the token endpoint. Never OK unless the platform answered past
  its authentication; SKIP (with the reason) when nothing could be tried.
* ``signing-key`` / ``chain`` (documents): :func:`check_signing_key`.

and once for the profile: the TLS client certificate and key (readable, key
unencrypted and matching, certificate valid for more than ``expiry_warning``) and
the custom CA bundle.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import os
import ssl
import stat
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from govlink.core.clock import Clock, SystemClock
from govlink.core.config import PLATFORMS, GovLinkSettings
from govlink.core.errors import (
    AuthenticationError,
    ConfigurationError,
    GovLinkError,
    NotFoundError,
    SignatureError,
)
from govlink.core.redact import redact_text

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "TARGETS",
    "Check",
    "DoctorReport",
    "Status",
    "check_ca_bundle",
    "check_client_certificate",
    "check_credentials",
    "check_signing_key",
    "run_doctor",
]

log = logging.getLogger("govlink.doctor")

TARGETS = (*PLATFORMS, "gateway")


class Status(StrEnum):
    """Outcome of one check; only ``FAIL`` makes the report (and ``govlink doctor``) fail."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One check's outcome, with a one-line reason a person can act on."""

    target: str
    """Platform name (``sso``, ``gateway``…) or ``tls`` for profile-wide checks."""
    name: str
    status: Status
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {
            "target": self.target,
            "check": self.name,
            "status": self.status.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DoctorReport:
    """All checks of one profile, in a stable order (profile-wide, then per target)."""

    profile: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings and skips are fine)."""
        return all(check.status is not Status.FAIL for check in self.checks)

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for c in self.checks if c.status is s) for s in Status}

    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status is Status.FAIL]

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "ok": self.ok,
            "counts": self.counts(),
            "checks": [check.to_dict() for check in self.checks],
        }


def _one_line(text: str) -> str:
    return redact_text(" ".join(str(text).split()))


def _describe_http_error(exc: Exception, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.ProxyError):
        return f"proxy refused or unreachable: {exc}"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return f"TLS handshake failed: {text}"
        return f"cannot connect: {text or type(exc).__name__}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"unsupported URL: {exc}"
    return f"{type(exc).__name__}: {exc}"


# --- profile-wide TLS checks -------------------------------------------------------


def _load_certificates(data: bytes) -> list[x509.Certificate]:
    from cryptography import x509

    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificates(data)
    return [x509.load_der_x509_certificate(data)]


def _subject(cert: x509.Certificate) -> str:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN={names[0].value!s}" if names else cert.subject.rfc4514_string() or "(no subject)"


def _read(path: Path, what: str) -> tuple[bytes | None, str]:
    try:
        return path.read_bytes(), ""
    except OSError as exc:
        return None, f"cannot read {what} {path}: {exc.strerror or exc}"


def check_client_certificate(
    cert_path: Path | None,
    key_path: Path | None,
    *,
    now: datetime,
    expiry_warning: timedelta = timedelta(days=30),
    key_password: str | None = None,
) -> list[Check]:
    """The mTLS client certificate and its key: readable, valid, matching, not expiring.

    ``key_password`` is ``GOVLINK_HTTP__CLIENT_KEY_PASSWORD`` for an encrypted key.
    """
    from cryptography.hazmat.primitives import serialization

    if cert_path is None:
        reason = "no client certificate configured (GOVLINK_HTTP__CLIENT_CERT); mTLS not used"
        return [Check("tls", "client-certificate", Status.SKIP, reason)]

    data, error = _read(cert_path, "client certificate")
    if data is None:
        return [Check("tls", "client-certificate", Status.FAIL, error)]
    try:
        certs = _load_certificates(data)
    except ValueError as exc:
        reason = f"{cert_path} holds no PEM or DER certificate ({_one_line(str(exc))})"
        return [Check("tls", "client-certificate", Status.FAIL, reason)]
    cert = certs[0]
    subject = _subject(cert)
    not_after = cert.not_valid_after_utc
    not_before = cert.not_valid_before_utc
    left = not_after - now
    if now < not_before:
        cert_check = Check(
            "tls",
            "client-certificate",
            Status.FAIL,
            f"{subject} is not valid before {not_before:%Y-%m-%d %H:%M} UTC (check the clock)",
        )
    elif left <= timedelta(0):
        cert_check = Check(
            "tls",
            "client-certificate",
            Status.FAIL,
            f"{subject} expired on {not_after:%Y-%m-%d}; renew it with the issuing CA",
        )
    elif left < expiry_warning:
        cert_check = Check(
            "tls",
            "client-certificate",
            Status.WARN,
            f"{subject} expires on {not_after:%Y-%m-%d} (in {left.days} days); renew it soon",
        )
    else:
        cert_check = Check(
            "tls",
            "client-certificate",
            Status.OK,
            f"{subject} valid until {not_after:%Y-%m-%d} ({left.days} days)",
        )

    # the key: its own file, or in the certificate file (combined PEM)
    key_file = key_path or cert_path
    key_data, error = (data, "") if key_path is None else _read(key_path, "client key")
    if key_data is None:
        return [cert_check, Check("tls", "client-key", Status.FAIL, error)]
    if b"PRIVATE KEY-----" not in key_data:
        reason = (
            f"no private key in {key_file}; set GOVLINK_HTTP__CLIENT_KEY to the key file"
            if key_path is None
            else f"{key_file} holds no PEM private key"
        )
        return [cert_check, Check("tls", "client-key", Status.FAIL, reason)]
    encrypted = b"ENCRYPTED" in key_data
    if encrypted and not key_password:
        reason = f"{key_file} is encrypted; set GOVLINK_HTTP__CLIENT_KEY_PASSWORD"
        return [cert_check, Check("tls", "client-key", Status.FAIL, reason)]
    try:
        password = key_password.encode() if encrypted and key_password else None
        key = serialization.load_pem_private_key(key_data, password=password)
    except (TypeError, ValueError) as exc:
        reason = (
            f"{key_file} cannot be decrypted with GOVLINK_HTTP__CLIENT_KEY_PASSWORD"
            if encrypted
            else f"{key_file} is not a usable private key ({_one_line(str(exc))})"
        )
        return [cert_check, Check("tls", "client-key", Status.FAIL, reason)]

    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        reason = f"{key_file} does not belong to {subject} in {cert_path}"
        return [cert_check, Check("tls", "client-key", Status.FAIL, reason)]
    mode = key_file.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        reason = f"{key_file} matches the certificate but others can read it (chmod 600)"
        return [cert_check, Check("tls", "client-key", Status.WARN, reason)]
    return [
        cert_check,
        Check("tls", "client-key", Status.OK, f"{key_file} matches the certificate"),
    ]


def check_ca_bundle(ca_bundle: Path | None, verify: bool) -> Check:
    """The custom CA bundle loads (a wrong path only shows up at the first request)."""
    if not verify:
        reason = "server certificates are NOT verified (GOVLINK_HTTP__VERIFY=false)"
        return Check("tls", "ca-bundle", Status.WARN, reason)
    if ca_bundle is None:
        return Check(
            "tls", "ca-bundle", Status.SKIP, "no custom CA bundle; system trust store used"
        )
    try:
        context = ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        reason = f"cannot load CA bundle {ca_bundle}: {getattr(exc, 'strerror', None) or exc}"
        return Check("tls", "ca-bundle", Status.FAIL, reason)
    count = len(context.get_ca_certs())
    return Check("tls", "ca-bundle", Status.OK, f"{ca_bundle}: {count} CA certificate(s)")


# --- per-endpoint checks -----------------------------------------------------------


def _clock_check(target: str, date_header: str | None, local: datetime, max_skew: float) -> Check:
    if not date_header:
        return Check(target, "clock", Status.SKIP, "the server sent no Date header")
    try:
        server = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return Check(target, "clock", Status.SKIP, f"unreadable Date header {date_header!r}")
    if server.tzinfo is None:
        server = server.replace(tzinfo=UTC)
    skew = (server - local).total_seconds()
    direction = "ahead of" if skew > 0 else "behind"
    if abs(skew) > max_skew:
        return Check(
            target,
            "clock",
            Status.WARN,
            f"server clock is {abs(skew):.0f} s {direction} this machine (over {max_skew:g} s: "
            "signed timestamps and tokens may be refused; check NTP)",
        )
    if abs(skew) < 1.5:  # the Date header has a one-second resolution
        return Check(target, "clock", Status.OK, "server clock agrees with this machine (±1 s)")
    return Check(
        target, "clock", Status.OK, f"server clock is {abs(skew):.0f} s {direction} this machine"
    )


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


def _token_check(
    settings: GovLinkSettings,
    target: str,
    transport: httpx.BaseTransport | None,
    timeout: float,
) -> Check:
    """Ask the token endpoint for a token, exactly as the API clients will."""
    from govlink.core.auth import TokenAuth, resolve_auth
    from govlink.core.http import build_client

    style = getattr(settings, target).auth.style
    try:
        resolved = resolve_auth(settings, target)
        auth = resolved.gateway if isinstance(resolved.gateway, TokenAuth) else resolved.own
        style = resolved.gateway_style if auth is resolved.gateway else style
        if not isinstance(auth, TokenAuth):
            return Check(target, "token", Status.SKIP, f"auth style {style!r} obtains no token")
        request = auth.build_token_request()
        request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        with build_client(settings, target, transport=transport) as client:
            response = client.send(request)
        token = auth.parse_token_reply(response, None)
    except GovLinkError as exc:
        return Check(target, "token", Status.FAIL, _one_line(str(exc)))
    except httpx.HTTPError as exc:
        url = exc.request.url if _has_request(exc) else "token endpoint"
        reason = f"{url}: {_describe_http_error(exc, timeout)}"
        return Check(target, "token", Status.FAIL, _one_line(reason))
    except (OSError, ssl.SSLError) as exc:
        reason = f"cannot set up the connection: {exc}"
        return Check(target, "token", Status.FAIL, _one_line(reason))
    lifetime = "" if token.expires_in is None else f", valid {token.expires_in:g} s"
    return Check(
        target, "token", Status.OK, f"token obtained from {auth.token_url} ({style}{lifetime})"
    )


# --- credentials: one harmless authenticated call per platform ---------------------

PROBE_REFERENCE = "GOVLINK-DOCTOR-PROBE"
"""The sentinel reference the payment and population probes ask about (never a real one)."""

_CREDENTIAL_SETTINGS = {
    "sso": "GOVLINK_SSO__AUTH__CLIENT_ID / __CLIENT_SECRET (or __PRIVATE_KEY_FILE)",
    "dossiers": "GOVLINK_DOSSIERS__AUTH__USERNAME / __PASSWORD",
    "payments": "GOVLINK_PAYMENTS__AUTH__CLIENT_ID (MaDoiTac) / __CLIENT_SECRET",
    "citizens": "GOVLINK_CITIZENS__AUTH__USERNAME / __CLIENT_SECRET",
    "documents": "GOVLINK_DOCUMENTS__AUTH__CLIENT_ID (system id) / __CLIENT_SECRET",
}


def _quiet(settings: GovLinkSettings, timeout: float) -> GovLinkSettings:
    """``settings`` with no retries and ``timeout``: a probe answers once, quickly."""
    http = settings.http.model_copy(update={"max_retries": 0, "timeout": timeout})
    return settings.model_copy(update={"http": http})


def _refused(target: str, exc: GovLinkError) -> Check:
    setting = _CREDENTIAL_SETTINGS[target]
    text = _one_line(exc.message)
    return Check(target, "credentials", Status.FAIL, f"refused: {text} — check {setting}")


def _probe_dossiers(settings: GovLinkSettings, transport: httpx.BaseTransport | None) -> Check:
    from govlink.core.auth import auth_for
    from govlink.core.http import build_client
    from govlink.dossiers._session import build_login_request, parse_login_reply

    login = build_login_request(settings.dossiers)
    auth = auth_for(settings, "dossiers")
    with build_client(settings, "dossiers", transport=transport, auth=auth) as client:
        reply = client.post(login.url, json=login.json, headers=login.headers)
    parse_login_reply(reply.status_code, reply.content)
    # the adapter publishes no logout: the session lapses on its own
    return Check(
        "dossiers",
        "credentials",
        Status.OK,
        f"login accepted for {settings.dossiers.auth.username} at {login.url} "
        "(session obtained; the adapter has no logout, it lapses on its own)",
    )


def _probe_payments(settings: GovLinkSettings, transport: httpx.BaseTransport | None) -> Check:
    from govlink.client import GovLink
    from govlink.payments.options import PaymentsOptions

    verified = PaymentsOptions.of(settings).verify_replies
    with GovLink(settings, transport=transport) as gl, contextlib.suppress(NotFoundError):
        gl.payments.query_payment(PROBE_REFERENCE)
    if not verified:
        return Check(
            "payments",
            "credentials",
            Status.WARN,
            f"QUERY {PROBE_REFERENCE} accepted, but replies are not verified "
            "(GOVLINK_PAYMENTS__OPTIONS__VERIFY_REPLIES=false): the secret is only half checked",
        )
    return Check(
        "payments",
        "credentials",
        Status.OK,
        f"QUERY {PROBE_REFERENCE} accepted and the reply's checksum verifies with the secret",
    )


def _probe_citizens(settings: GovLinkSettings, transport: httpx.BaseTransport | None) -> Check:
    from govlink.client import GovLink

    with GovLink(settings, transport=transport) as gl, contextlib.suppress(NotFoundError):
        gl.citizens.request_status(PROBE_REFERENCE)
    return Check(
        "citizens",
        "credentials",
        Status.OK,
        f"GetRequestStatus {PROBE_REFERENCE} answered past authentication (no personal data read)",
    )


def _probe_documents(settings: GovLinkSettings, transport: httpx.BaseTransport | None) -> Check:
    from govlink.client import GovLink

    with GovLink(settings, transport=transport) as gl:
        count = gl.documents.count()
    return Check(
        "documents",
        "credentials",
        Status.OK,
        f"signed countReceiveEdoc accepted ({count} document(s) waiting)",
    )


def _probe_sso(settings: GovLinkSettings, transport: httpx.BaseTransport | None) -> list[Check]:
    from govlink.client import GovLink
    from govlink.sso import SsoProviderError
    from govlink.sso.models import TokenSet

    with GovLink(settings, transport=transport) as gl:
        metadata = gl.sso.discover()
        checks = [
            Check("sso", "discovery", Status.OK, f"issuer {metadata.issuer}"),
        ]
        keys = gl.sso.signing_keys()
        count = len(list(getattr(keys, "keys", ()) or ()))
        if count == 0:
            checks.append(Check("sso", "jwks", Status.FAIL, "the JWKS holds no signing key"))
        else:
            checks.append(Check("sso", "jwks", Status.OK, f"{count} signing key(s)"))
        try:
            dummy = TokenSet(access_token="-", refresh_token=PROBE_REFERENCE)  # noqa: S106
            gl.sso.refresh(dummy)
        except SsoProviderError as exc:
            if exc.error == "invalid_grant":
                reason = (
                    f"the token endpoint authenticated the client ({exc.error} for a dummy "
                    "grant, as expected)"
                )
                checks.append(Check("sso", "credentials", Status.OK, reason))
                return checks
            raise
    checks.append(
        Check(
            "sso",
            "credentials",
            Status.FAIL,
            "the token endpoint accepted a dummy refresh token: it does not check grants",
        )
    )
    return checks


def check_credentials(
    settings: GovLinkSettings,
    target: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 5.0,
) -> list[Check]:
    """One harmless authenticated call to ``target`` with the configured credentials.

    ``dossiers``: the session login; ``payments``: a QUERY for
    :data:`PROBE_REFERENCE` whose reply checksum must verify; ``citizens``:
    GetRequestStatus of that reference; ``documents``: a signed countReceiveEdoc;
    ``sso``: discovery, the JWKS and client authentication at the token endpoint
    (``invalid_grant`` for a dummy grant means the client credentials are fine,
    ``invalid_client`` that they are not). A refusal is a FAIL naming the settings.
    """
    quiet = _quiet(settings, timeout)
    try:
        if target == "sso":
            return _probe_sso(quiet, transport)
        probe = {
            "dossiers": _probe_dossiers,
            "payments": _probe_payments,
            "citizens": _probe_citizens,
            "documents": _probe_documents,
        }[target]
        return [probe(quiet, transport)]
    except (AuthenticationError, SignatureError) as exc:
        return [_refused(target, exc)]
    except ConfigurationError as exc:
        return [Check(target, "credentials", Status.FAIL, _one_line(str(exc)))]
    except GovLinkError as exc:
        reason = f"the probe failed, so the credentials are unproven: {_one_line(str(exc))}"
        return [Check(target, "credentials", Status.FAIL, reason)]
    except httpx.HTTPError as exc:
        reason = f"the probe failed: {_describe_http_error(exc, timeout)}"
        return [Check(target, "credentials", Status.FAIL, _one_line(reason))]
    except (OSError, ssl.SSLError) as exc:
        reason = f"cannot set up the connection: {exc}"
        return [Check(target, "credentials", Status.FAIL, _one_line(reason))]
    except Exception as exc:  # a check reports, it never takes the whole report down
        log.debug("doctor: %s credentials probe crashed", target, exc_info=True)
        reason = f"the probe failed unexpectedly ({type(exc).__name__}: {exc})"
        return [Check(target, "credentials", Status.FAIL, _one_line(reason))]


# --- the document axis signing key -------------------------------------------------


def check_signing_key(
    settings: GovLinkSettings,
    *,
    now: datetime,
    expiry_warning: timedelta = timedelta(days=30),
) -> list[Check]:
    """The document-axis signing key and certificate: present, matching, chained to the
    trust store (or pinned), and not expiring within ``expiry_warning``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    from govlink.documents.options import DocumentsOptions

    options = DocumentsOptions.of(settings)
    key_setting = "GOVLINK_DOCUMENTS__OPTIONS__SIGNING_KEY"
    key_name = options.signing_key or settings.documents.auth.private_key_file
    if not key_name or not options.signing_cert:
        missing = key_setting if not key_name else "GOVLINK_DOCUMENTS__OPTIONS__SIGNING_CERT"
        reason = (
            f"no signing {'key' if not key_name else 'certificate'} configured ({missing}): "
            "documents cannot be sent; for the mock run 'govlink mock issue-cert "
            "AGENCY_CODE' and set the paths it prints"
        )
        return [Check("documents", "signing-key", Status.FAIL, reason)]
    key_path, cert_path = Path(str(key_name)), Path(options.signing_cert)
    data, error = _read(cert_path, "signing certificate")
    if data is None:
        return [Check("documents", "signing-key", Status.FAIL, error)]
    key_data, error = _read(key_path, "signing key")
    if key_data is None:
        return [Check("documents", "signing-key", Status.FAIL, error)]
    try:
        cert = _load_certificates(data)[0]
    except ValueError as exc:
        reason = f"{cert_path} holds no PEM or DER certificate ({_one_line(str(exc))})"
        return [Check("documents", "signing-key", Status.FAIL, reason)]
    password = options.signing_key_password
    try:
        key = serialization.load_pem_private_key(
            key_data, password=password.encode() if password else None
        )
    except (TypeError, ValueError) as exc:
        reason = (
            f"{key_path} is not a usable private key ({_one_line(str(exc))}); "
            f"check {key_setting} and __SIGNING_KEY_PASSWORD"
        )
        return [Check("documents", "signing-key", Status.FAIL, reason)]
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    subject = _subject(cert)
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        reason = f"{key_path} does not belong to {subject} in {cert_path} ({key_setting})"
        return [Check("documents", "signing-key", Status.FAIL, reason)]
    checks: list[Check] = []
    not_after, not_before = cert.not_valid_after_utc, cert.not_valid_before_utc
    left = not_after - now
    if now < not_before:
        checks.append(
            Check(
                "documents",
                "signing-key",
                Status.FAIL,
                f"{subject} is not valid before {not_before:%Y-%m-%d} (check the clock)",
            )
        )
    elif left <= timedelta(0):
        checks.append(
            Check(
                "documents",
                "signing-key",
                Status.FAIL,
                f"{subject} in {cert_path} expired on {not_after:%Y-%m-%d}; renew it",
            )
        )
    elif left < expiry_warning:
        checks.append(
            Check(
                "documents",
                "signing-key",
                Status.WARN,
                f"{subject} expires on {not_after:%Y-%m-%d} (in {left.days} days); renew it soon",
            )
        )
    else:
        checks.append(
            Check(
                "documents",
                "signing-key",
                Status.OK,
                f"key matches {subject}, valid until {not_after:%Y-%m-%d}",
            )
        )

    anchors: list[x509.Certificate] = []
    for name in options.trust_store or ():
        raw, error = _read(Path(name), "trust store")
        if raw is None:
            checks.append(Check("documents", "chain", Status.FAIL, error))
            return checks
        try:
            anchors.extend(_load_certificates(raw))
        except ValueError:
            reason = f"{name} holds no certificate (GOVLINK_DOCUMENTS__OPTIONS__TRUST_STORE)"
            checks.append(Check("documents", "chain", Status.FAIL, reason))
            return checks
    pinned = []
    for name in options.pinned_certs or ():
        raw, _ = _read(Path(name), "pinned certificate")
        if raw is not None:
            with contextlib.suppress(ValueError):
                pinned.extend(_load_certificates(raw))
    if cert in pinned:
        checks.append(Check("documents", "chain", Status.OK, f"{subject} is a pinned certificate"))
        return checks
    if not anchors:
        reason = (
            "no trust store configured (GOVLINK_DOCUMENTS__OPTIONS__TRUST_STORE): "
            "the chain is not checked"
        )
        checks.append(Check("documents", "chain", Status.SKIP, reason))
        return checks
    for anchor in anchors:
        try:
            cert.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, InvalidSignature):
            continue
        checks.append(
            Check(
                "documents",
                "chain",
                Status.OK,
                f"{subject} is issued by {_subject(anchor)} in the trust store",
            )
        )
        return checks
    reason = (
        f"{subject} is not issued by a CA in the trust store "
        "(GOVLINK_DOCUMENTS__OPTIONS__TRUST_STORE): receivers will refuse its signatures"
    )
    checks.append(Check("documents", "chain", Status.FAIL, reason))
    return checks


def _check_target(
    settings: GovLinkSettings,
    target: str,
    *,
    transport: httpx.BaseTransport | None,
    clock: Clock,
    timeout: float,
    max_skew: float,
    expiry_warning: timedelta = timedelta(days=30),
) -> list[Check]:
    from govlink.core.http import build_client

    platform = getattr(settings, target)
    if platform.base_url is None:
        variable = f"GOVLINK_{target.upper()}__BASE_URL"
        reason = f"not configured in profile '{settings.profile}' ({variable})"
        return [Check(target, "reachable", Status.SKIP, reason)]

    checks: list[Check] = []
    url = platform.base_url + "/"
    date_header: str | None = None
    local: datetime | None = None
    try:
        with build_client(settings, target, transport=transport) as client:
            started = time.perf_counter()
            before = clock.now()
            with client.stream("GET", url, timeout=timeout) as response:
                after = clock.now()
                elapsed_ms = (time.perf_counter() - started) * 1000
                date_header = response.headers.get("Date")
                status = response.status_code
        local = before + (after - before) / 2
        checks.append(
            Check(
                target,
                "reachable",
                Status.OK,
                f"HTTP {status} from GET {url} in {elapsed_ms:.0f} ms",
            )
        )
    except httpx.HTTPError as exc:
        reason = f"{url}: {_describe_http_error(exc, timeout)}"
        checks.append(Check(target, "reachable", Status.FAIL, _one_line(reason)))
    except (OSError, ssl.SSLError, GovLinkError) as exc:
        # building the client failed: unreadable certificate or CA file, bad proxy URL
        reason = f"cannot set up the connection: {exc}"
        checks.append(Check(target, "reachable", Status.FAIL, _one_line(reason)))

    if local is None:
        checks.append(Check(target, "clock", Status.SKIP, "endpoint not reachable"))
    else:
        checks.append(_clock_check(target, date_header, local, max_skew))

    from govlink.core.auth import auth_style

    blocks = (platform.auth, getattr(platform, "gateway", None))
    kinds = {getattr(auth_style(b.style), "kind", None) for b in blocks if b is not None}
    if "token" in kinds:
        checks.append(_token_check(settings, target, transport, timeout))
    if target in _CREDENTIAL_SETTINGS:
        auth = platform.auth
        given = (auth.client_id, auth.client_secret, auth.username, auth.password)
        if not any(given) and not auth.private_key_file:
            reason = f"no credentials configured ({_CREDENTIAL_SETTINGS[target]}): nothing to try"
            checks.append(Check(target, "credentials", Status.SKIP, reason))
        elif local is None:
            reason = "endpoint not reachable: the credentials were not tried"
            checks.append(Check(target, "credentials", Status.SKIP, reason))
        else:
            checks.extend(check_credentials(settings, target, transport=transport, timeout=timeout))
    if target == "documents":
        checks.extend(check_signing_key(settings, now=clock.now(), expiry_warning=expiry_warning))
    return checks


def run_doctor(
    settings: GovLinkSettings,
    *,
    targets: Sequence[str] | None = None,
    transport: httpx.BaseTransport | None = None,
    clock: Clock | None = None,
    timeout: float = 5.0,
    max_skew_seconds: float = 60.0,
    expiry_warning: timedelta = timedelta(days=30),
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Run every check for ``settings`` and return the report (never raises for a check).

    ``transport`` replaces the network (tests: ``httpx.MockTransport``, respx);
    ``targets`` limits the endpoints checked (default: every platform and the gateway).
    Endpoints are checked in parallel, so one dead host costs one timeout, not six.
    """
    chosen = list(targets) if targets is not None else list(TARGETS)
    unknown = [t for t in chosen if t not in TARGETS]
    if unknown:
        raise GovLinkError(
            f"unknown platform {unknown[0]!r}",
            hint=f"choose among {', '.join(TARGETS)}",
        )
    clock = clock or SystemClock()
    http = settings.http
    checks: list[Check] = [
        *check_client_certificate(
            http.client_cert,
            http.client_key,
            now=clock.now(),
            expiry_warning=expiry_warning,
            key_password=(
                http.client_key_password.get_secret_value() if http.client_key_password else None
            ),
        ),
        check_ca_bundle(http.ca_bundle, http.verify),
    ]
    if on_check is not None:
        for check in checks:
            on_check(check)

    def work(target: str) -> list[Check]:
        results = _check_target(
            settings,
            target,
            transport=transport,
            clock=clock,
            timeout=timeout,
            max_skew=max_skew_seconds,
            expiry_warning=expiry_warning,
        )
        if on_check is not None:
            for check in results:
                on_check(check)
        return results

    with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as pool:
        for results in pool.map(work, chosen):
            checks.extend(results)
    for check in checks:
        if check.status is Status.FAIL:
            log.info("doctor: %s %s failed: %s", check.target, check.name, check.reason)
    return DoctorReport(profile=settings.profile, checks=tuple(checks))
