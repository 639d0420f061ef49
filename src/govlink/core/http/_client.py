"""httpx clients built from settings: pooling, timeouts, TLS and mTLS, proxy, base URL."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from govlink._version import __version__
from govlink.core.config import GovLinkSettings, HttpSettings
from govlink.core.errors import ConfigurationError
from govlink.core.redact import install_log_redaction

__all__ = ["build_async_client", "build_client"]

# httpx logs every URL at INFO (a lookup by ID number puts it in the query string);
# mask those records too, not only ours.
install_log_redaction(
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def _timeout(http: HttpSettings, override: float | None = None) -> httpx.Timeout:
    return httpx.Timeout(override or http.timeout, connect=http.connect_timeout)


def _ssl_verify(http: HttpSettings) -> ssl.SSLContext | bool:
    """What to pass as ``verify``: a context when a CA bundle or client cert is set.

    httpx 0.28 deprecates ``verify=<path>`` and ``cert=``; an explicit
    :class:`ssl.SSLContext` also lets a bad file surface as a
    :class:`ConfigurationError` naming the variable, at client creation.
    """
    if http.client_key is not None and http.client_cert is None:
        raise ConfigurationError(
            "a client key is set without a client certificate",
            setting="GOVLINK_HTTP__CLIENT_CERT",
            expected="the path of the PEM client certificate that goes with the key",
        )
    if http.ca_bundle is None and http.client_cert is None:
        return http.verify
    if http.ca_bundle is not None:
        cafile = str(http.ca_bundle)
        setting = "GOVLINK_HTTP__CA_BUNDLE"
    else:
        import certifi

        cafile = certifi.where()
        setting = "GOVLINK_HTTP__VERIFY"
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"the CA bundle {cafile} cannot be loaded ({_os_reason(exc)})",
            setting=setting,
            expected="the path of a readable PEM file of CA certificates",
        ) from None
    if not http.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if http.client_cert is not None:
        secret = http.client_key_password
        password = secret.get_secret_value() if secret is not None else ""
        try:
            context.load_cert_chain(
                str(http.client_cert),
                str(http.client_key) if http.client_key is not None else None,
                password=lambda: password,  # never prompt on a terminal
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"the client certificate {http.client_cert} / key {http.client_key} cannot be "
                f"loaded ({_os_reason(exc)})",
                setting="GOVLINK_HTTP__CLIENT_CERT",
                expected="readable PEM files for the certificate and GOVLINK_HTTP__CLIENT_KEY "
                "that match each other (GOVLINK_HTTP__CLIENT_KEY_PASSWORD if the key is "
                "encrypted)",
            ) from None
    return context


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _client_kwargs(
    settings: GovLinkSettings,
    platform: str | None,
    *,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    auth: httpx.Auth | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``httpx.Client`` / ``httpx.AsyncClient`` (no event hooks)."""
    http = settings.http
    platform_settings = settings.platform(platform) if platform is not None else None
    kwargs: dict[str, Any] = {
        "timeout": _timeout(http, platform_settings.timeout if platform_settings else None),
        "limits": httpx.Limits(
            max_connections=http.max_connections,
            max_keepalive_connections=http.max_keepalive_connections,
        ),
        "headers": {"User-Agent": http.user_agent or f"govlink/{__version__}"},
        "verify": _ssl_verify(http),
        "follow_redirects": False,
    }
    if http.proxy:
        kwargs["proxy"] = http.proxy
    if platform_settings is not None and platform_settings.base_url:
        kwargs["base_url"] = platform_settings.base_url
    if transport is not None:
        kwargs["transport"] = transport
    if auth is not None:
        kwargs["auth"] = auth
    return kwargs


def _give_timeout(request: httpx.Request, timeout: httpx.Timeout) -> None:
    """Give ``request`` the client's timeout when it has none of its own.

    httpx applies the client timeout only to requests the client builds; a request
    an ``httpx.Auth`` flow yields (a gateway token request) would otherwise wait
    forever on a stalled token endpoint, past the call's timeout and retry budget.
    """
    if "timeout" not in request.extensions:
        request.extensions["timeout"] = timeout.as_dict()


def build_client(
    settings: GovLinkSettings,
    platform: str | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.Client:
    """A pooled ``httpx.Client`` configured from settings (base URL of ``platform``)."""
    kwargs = _client_kwargs(settings, platform, transport=transport, auth=auth)
    timeout: httpx.Timeout = kwargs["timeout"]

    def default_timeout(request: httpx.Request) -> None:
        _give_timeout(request, timeout)

    return httpx.Client(**kwargs, event_hooks={"request": [default_timeout]})


def build_async_client(
    settings: GovLinkSettings,
    platform: str | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.AsyncClient:
    """The async twin of :func:`build_client`."""
    kwargs = _client_kwargs(settings, platform, transport=transport, auth=auth)
    timeout: httpx.Timeout = kwargs["timeout"]

    async def default_timeout(request: httpx.Request) -> None:
        _give_timeout(request, timeout)

    return httpx.AsyncClient(**kwargs, event_hooks={"request": [default_timeout]})
