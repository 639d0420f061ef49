"""The gateway mock's routes, token store and in-process token check."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import uuid
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_servers.context import MockContext
from mock_servers.platform import MockPlatform
from mock_servers.validation import Switch

__all__ = ["GatewayPlatform", "bearer_client", "create_platform", "token_is_valid"]

TOKENS = "gateway.tokens"
STATS = "gateway.stats"
DEFAULT_TTL = 3600
MAX_TTL = 90 * 86400
PARTNER_KEYS = ("AccessKey", "SecretKey", "AppName", "PartnerCode", "PartnerCodeCus")


def _token_record(ctx: MockContext, token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    value = token.strip()
    if value.lower().startswith("bearer "):
        value = value[7:].strip()
    return ctx.expiring(TOKENS).get(value)


def token_is_valid(ctx: MockContext, token: str | None) -> bool:
    """Whether ``token`` (bare, or an ``Authorization: Bearer …`` value) is a live
    gateway token: issued by this mock, not revoked, not expired on the virtual clock."""
    return _token_record(ctx, token) is not None


def bearer_client(ctx: MockContext, authorization: str | None) -> str | None:
    """The gateway client id behind a live bearer token, else None."""
    record = _token_record(ctx, authorization)
    return None if record is None else str(record["client_id"])


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"www-authenticate": 'Basic realm="govlink mock gateway"'} if status == 401 else None
    return JSONResponse(
        {"error_description": description, "error": error}, status_code=status, headers=headers
    )


def _form(body: bytes) -> dict[str, str]:
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


def _basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def _partner_document(header: str) -> dict[str, Any] | None:
    """The credentials JSON of the header variant (an optional ``Scheme `` prefix allowed)."""
    value = header.strip()
    if " " in value:
        value = value.split(" ", 1)[1].strip()
    try:
        document = json.loads(base64.b64decode(value + "=" * (-len(value) % 4)).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return document if isinstance(document, dict) and "AccessKey" in document else None


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and hmac.compare_digest(a.encode(), b.encode())


class GatewayPlatform(MockPlatform):
    name = "gateway"
    prefix = "/gateway"
    title = "Provincial gateway (LGSP, WSO2 API Manager style)"
    switch_names = ("token_ttl", "reject_all")
    switch_specs = MappingProxyType(
        {
            "token_ttl": Switch("int", minimum=1, maximum=MAX_TTL, help="token lifetime, s"),
            "reject_all": Switch("bool", help="refuse every client"),
        }
    )

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        self._app = Starlette(
            routes=[
                Route("/token", self.token, methods=["POST"]),
                Route("/token/partner", self.partner_token, methods=["POST"]),
                Route("/introspect", self.introspect, methods=["GET", "POST"]),
                Route("/revoke", self.revoke, methods=["POST"]),
                Route("/api/ping", self.ping, methods=["GET", "POST"]),
            ]
        )

    @property
    def app(self) -> Starlette:
        return self._app

    # --- switches -----------------------------------------------------------------------

    def _ttl(self) -> int:
        return int(self.ctx.switches(self.name).get("token_ttl", DEFAULT_TTL))

    # --- token issuing ------------------------------------------------------------------

    def _clients(self) -> list[dict[str, Any]]:
        return [
            c
            for c in self.ctx.seed.section("clients")
            if isinstance(c, dict) and c.get("kind") == "gateway"
        ]

    def _issue(self, client: dict[str, Any], scope: str | None, variant: str) -> JSONResponse:
        token = str(uuid.uuid4())
        ttl = self._ttl()
        granted = scope or str(client.get("scope") or "default")
        self.ctx.expiring(TOKENS).put(
            token,
            {
                "client_id": client["client_id"],
                "scope": granted,
                "issued_at": self.ctx.clock.timestamp(),
                "variant": variant,
            },
            ttl,
        )
        issued = self.ctx.store.get(STATS, "issued") or 0
        self.ctx.store.put(STATS, "issued", int(issued) + 1)
        return JSONResponse(
            {"access_token": token, "scope": granted, "token_type": "Bearer", "expires_in": ttl},
            headers={"cache-control": "no-store", "pragma": "no-cache"},
        )

    def _check(self, client_id: str | None, secret: str | None) -> dict[str, Any] | None:
        if self.ctx.switches(self.name).get("reject_all"):
            return None
        for client in self._clients():
            if _same(client.get("client_id"), client_id) and _same(
                client.get("client_secret"), secret
            ):
                return client
        return None

    async def token(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        form = _form(await request.body())
        if header and not header.lower().startswith("basic "):
            document = _partner_document(header)
            if document is not None:  # the header variant sent to the plain token URL
                return self._partner(document)
        grant = form.get("grant_type")
        if not grant:
            return _error(400, "invalid_request", "Missing grant_type parameter value")
        if grant != "client_credentials":
            return _error(400, "unsupported_grant_type", "Unsupported grant_type value")
        basic = _basic(header) if header else None
        if header and basic is None:
            return _error(401, "invalid_client", "Unsupported client authentication mechanism")
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if not client_id:
            return _error(401, "invalid_client", "Client Authentication failed.")
        client = self._check(client_id, secret)
        if client is None:
            return _error(
                401,
                "invalid_client",
                f"A valid OAuth client could not be found for client_id: {client_id}",
            )
        return self._issue(client, form.get("scope"), "client_credentials")

    async def partner_token(self, request: Request) -> Response:
        document = _partner_document(request.headers.get("authorization", ""))
        if document is None:
            return _error(
                401,
                "invalid_client",
                "Missing or unreadable credentials header: expected base64 JSON with "
                + ", ".join(PARTNER_KEYS),
            )
        return self._partner(document)

    def _partner(self, document: dict[str, Any]) -> Response:
        client = self._check(document.get("AccessKey"), document.get("SecretKey"))
        if client is None:
            access_key = document.get("AccessKey")
            return _error(
                401,
                "invalid_client",
                f"A valid OAuth client could not be found for AccessKey: {access_key}",
            )
        for key, field in (("AppName", "app_name"), ("PartnerCode", "partner_code")):
            expected = client.get(field)
            if expected and document.get(key) != expected:
                return _error(401, "invalid_client", f"{key} does not match the registered one")
        return self._issue(client, None, "partner_header")

    # --- token checks -------------------------------------------------------------------

    async def introspect(self, request: Request) -> Response:
        token = request.query_params.get("token") or _form(await request.body()).get("token")
        record = _token_record(self.ctx, token)
        if record is None:
            return JSONResponse({"active": False})
        return JSONResponse(
            {
                "active": True,
                "client_id": record["client_id"],
                "scope": record["scope"],
                "token_type": "Bearer",
                "exp": int(record["expires_at"]),
                "iat": int(record["issued_at"]),
            }
        )

    async def revoke(self, request: Request) -> Response:
        token = _form(await request.body()).get("token", "")
        self.ctx.expiring(TOKENS).delete(token)
        return Response(status_code=200)

    async def ping(self, request: Request) -> Response:
        """A protected resource: what an API behind the gateway answers."""
        client = bearer_client(self.ctx, request.headers.get("authorization"))
        if client is None:
            return JSONResponse(
                {
                    "code": "900901",
                    "message": "Invalid Credentials",
                    "description": "Invalid Credentials. Make sure you have provided the "
                    "correct security credentials",
                },
                status_code=401,
                headers={"www-authenticate": 'OAuth2 realm="govlink mock gateway"'},
            )
        return JSONResponse(
            {"ok": True, "client_id": client, "time": self.ctx.clock.now().isoformat()}
        )

    # --- dashboard ----------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        issued = int(self.ctx.store.get(STATS, "issued") or 0)
        live = self.ctx.expiring(TOKENS).count()  # counts only: never reads every token
        return {
            "tokens_issued": issued,
            "tokens_live": live,
            "clients": [c["client_id"] for c in self._clients()],
            "token_ttl": self._ttl(),
        }


def create_platform(ctx: MockContext) -> GatewayPlatform:
    return GatewayPlatform(ctx)
