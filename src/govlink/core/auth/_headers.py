"""Per-request header styles: computed for every call, no token exchange.

Hashed Basic (population database, PLATFORMS.md §4), the X-Road client header, a
fixed bearer token, and the Ho Chi Minh City gateway style (§6: base64 JSON
credentials sent *as* the ``Authorization`` header on every call). Each style
registers itself in :mod:`govlink.core.auth._registry` at the bottom.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Generator
from datetime import datetime
from urllib.parse import quote_plus

import httpx

from govlink.core.auth._registry import AuthContext, AuthStyle, register_auth_style
from govlink.core.clock import Clock, SystemClock, format_compact

__all__ = [
    "LGSP_CREDENTIAL_SETTINGS",
    "HashedBasicAuth",
    "HeaderJsonCredentialsAuth",
    "StaticBearerAuth",
    "XRoadClientAuth",
    "basic_authorization",
    "hashed_basic_credentials",
    "lgsp_credentials",
]


def basic_authorization(user: str, password: str, *, form_encode: bool = False) -> str:
    """The ``Authorization: Basic …`` value for ``user``/``password``.

    ``form_encode`` applies RFC 6749 §2.3.1 (OAuth clients URL-encode both parts
    first, so a ``:`` in a client id survives); WSO2 API-Manager gateways are observed
    to take the raw pair, which is the default here.
    """
    if form_encode:
        user, password = quote_plus(user), quote_plus(password)
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def hashed_basic_credentials(url: str, username: str, secret: str, timestamp: str) -> str:
    """``base64(user:sha256hex(url + user + timestamp + secret))`` (PLATFORMS.md §4)."""
    digest = hashlib.sha256(f"{url}{username}{timestamp}{secret}".encode()).hexdigest()
    return basic_authorization(username, digest).removeprefix("Basic ")


class HashedBasicAuth(httpx.Auth):
    """Population-database style Basic header, recomputed for every request.

    Sends ``Timestamp: <ts>`` and ``Authorization: Basic base64(user:sha256hex(url +
    user + ts + secret))`` where ``url`` is the full request URL. The timestamp form
    (``yyyyMMddHHmmss`` in Vietnam time) is an assumption: pass ``timestamp_format``
    to change it.
    """

    def __init__(
        self,
        username: str,
        secret: str,
        *,
        clock: Clock | None = None,
        timestamp_format: Callable[[datetime], str] = format_compact,
        timestamp_header: str = "Timestamp",
    ) -> None:
        if not username or not secret:
            raise ValueError("username and secret must not be empty")
        self.username = username
        self._secret = secret
        self.clock: Clock = clock or SystemClock()
        self.timestamp_format = timestamp_format
        self.timestamp_header = timestamp_header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = self.timestamp_format(self.clock.now())
        request.headers[self.timestamp_header] = timestamp
        credentials = hashed_basic_credentials(
            str(request.url), self.username, self._secret, timestamp
        )
        request.headers["Authorization"] = f"Basic {credentials}"
        yield request


class XRoadClientAuth(httpx.Auth):
    """Identify the calling subsystem to an X-Road style exchange (``X-Road-Client``)."""

    def __init__(self, client_id: str) -> None:
        if not client_id:
            raise ValueError("client_id must not be empty")
        self.client_id = client_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Road-Client"] = self.client_id
        yield request


class StaticBearerAuth(httpx.Auth):
    """A fixed bearer token (issued out of band, e.g. a long-lived gateway key)."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("token must not be empty")
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def lgsp_credentials(
    access_key: str,
    secret_key: str,
    app_name: str,
    partner_code: str,
    partner_code_cus: str | None = None,
) -> str:
    """base64 of ``{"AccessKey", "SecretKey", "AppName", "PartnerCode", "PartnerCodeCus"}``
    (the LGSP credential document, keys in the order public integrations send them)."""
    document = {
        "AccessKey": access_key,
        "SecretKey": secret_key,
        "AppName": app_name,
        "PartnerCode": partner_code,
        "PartnerCodeCus": partner_code_cus or "",
    }
    encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.b64encode(encoded).decode("ascii")


class HeaderJsonCredentialsAuth(httpx.Auth):
    """Ho Chi Minh City gateway style (PLATFORMS.md §6): the base64 JSON credential
    document is sent as ``header_name`` (default ``Authorization``) on every call;
    there is no token exchange."""

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        app_name: str,
        partner_code: str,
        partner_code_cus: str | None = None,
        *,
        header_name: str = "Authorization",
        header_prefix: str = "",
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError("access_key and secret_key must not be empty")
        self.access_key = access_key
        self.header_name = header_name
        self._value = header_prefix + lgsp_credentials(
            access_key, secret_key, app_name, partner_code, partner_code_cus
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header_name] = self._value
        yield request


# ------------------------------------------------------------------ registrations


def _hashed_basic(ctx: AuthContext) -> HashedBasicAuth:
    return HashedBasicAuth(ctx.username("the account name issued by the platform"), ctx.secret())


def _x_road(ctx: AuthContext) -> XRoadClientAuth:
    client = ctx.extra_value("x_road_client") or ctx.block.client_id
    return XRoadClientAuth(
        ctx.need(
            client, "EXTRA__X_ROAD_CLIENT", "the X-Road client id, e.g. VN/GOV/000.00.00.H47/SYS"
        )
    )


def _bearer(ctx: AuthContext) -> StaticBearerAuth:
    return StaticBearerAuth(ctx.need_extra("token", "the bearer token, or env:NAME / file:PATH"))


def _header_json(ctx: AuthContext) -> HeaderJsonCredentialsAuth:
    return HeaderJsonCredentialsAuth(
        ctx.client_id("the gateway AccessKey"),
        ctx.secret("the gateway SecretKey, or env:NAME / file:PATH"),
        ctx.need_extra("AppName", "the application name registered at the gateway"),
        ctx.need_extra("PartnerCode", "the partner code issued by the gateway"),
        ctx.extra_value("PartnerCodeCus"),
        header_name=ctx.extra_value("header_name") or "Authorization",
        header_prefix=ctx.extra_value("header_prefix") or "",
    )


LGSP_CREDENTIAL_SETTINGS = (
    "client_id (AccessKey)",
    "client_secret (SecretKey)",
    "extra.AppName",
    "extra.PartnerCode",
    "extra.PartnerCodeCus (optional)",
)

register_auth_style(
    AuthStyle(
        "hashed_basic",
        "header",
        _hashed_basic,
        ("username", "client_secret"),
        summary="Basic base64(user:sha256(url+user+timestamp+secret)) and Timestamp, per call",
    )
)
register_auth_style(
    AuthStyle(
        "x_road",
        "header",
        _x_road,
        ("extra.x_road_client (or client_id)",),
        authorization=False,
        summary="X-Road-Client header naming the calling subsystem",
    )
)
register_auth_style(
    AuthStyle(
        "bearer",
        "header",
        _bearer,
        ("extra.token",),
        summary="a fixed bearer token issued out of band",
    )
)
register_auth_style(
    AuthStyle(
        "header_json_credentials",
        "header",
        _header_json,
        (*LGSP_CREDENTIAL_SETTINGS, "extra.header_name (Authorization)", "extra.header_prefix"),
        summary="Ho Chi Minh City gateway: base64 JSON credentials as the Authorization "
        "header of every call, no token exchange",
    )
)
