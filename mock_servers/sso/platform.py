"""The mock identity provider: routes, state and error injection.

State lives in the store (namespaces ``sso.*``) and time comes from the virtual
clock, so ``/__admin/reset`` forgets every code, token and session and
``/__admin/clock`` can expire a code without sleeping. See the package docstring
for the endpoints, the headless login shortcut and the switches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mock_servers.context import MockContext
from mock_servers.platform import MockPlatform
from mock_servers.sso import pages
from mock_servers.sso.identities import (
    CUSTOM,
    Identity,
    claims_for,
    find_identity,
    identity_level,
    seeded_identities,
)
from mock_servers.sso.keys import SigningKey, compact_jws, published_or_known, signing_key

__all__ = ["SsoPlatform", "create_platform"]

REQUESTS = "sso.requests"
CODES = "sso.codes"
TOKENS = "sso.tokens"
SESSIONS = "sso.sessions"
JTIS = "sso.jtis"
STATS = "sso.stats"

CODE_TTL = 60
ACCESS_TTL = 3600
REFRESH_TTL = 86400
ID_TOKEN_TTL = 3600
REQUEST_TTL = 600
ASSERTION_LEEWAY = 60
SESSION_COOKIE = "mock_sso_session"
OTHER_AUDIENCE = "mock-other-client"
LOOPBACK_DEFAULT_CLIENTS = ("govlink-demo",)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]

_BOOL_SWITCHES = (
    "deny_access",
    "expired_token",
    "wrong_nonce",
    "userinfo_500",
    "require_pkce",
    "iss_parameter",
)
_CHOICE_SWITCHES: dict[str, tuple[str, ...]] = {
    "bad_signature": ("unknown_kid",),
    "issuer": ("root", "wso2"),
    "wrong_alg": ("HS256", "none"),
    "wrong_audience": ("multiple",),
    "rotate_keys": ("keep", "drop"),
}

# A stand-in when the seed has no SSO client, so the mock still works with a partial seed.
_FALLBACK_CLIENT = {
    "client_id": "govlink-demo",
    "client_secret": "demo-secret",
    "redirect_uris": [],
    "post_logout_redirect_uris": [],
    "kind": "sso",
    "name": "govlink demo",
}


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and hmac.compare_digest(a.encode(), b.encode())


def _pairs_to_dict(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], str | None]:
    """Parameters as a dict, and the first name given twice (OAuth forbids repeats)."""
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out:
            return out, key
        out[key] = value
    return out, None


def _form(body: bytes) -> tuple[dict[str, str], str | None]:
    return _pairs_to_dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = None
    if status == 401 and error == "invalid_client":
        headers = {"www-authenticate": 'Basic realm="govlink mock sso"'}
    elif status == 401:
        headers = {"www-authenticate": f'Bearer error="{error}"'}
    return JSONResponse(
        {"error_description": description, "error": error},
        status_code=status,
        headers=headers,
    )


def _with_params(uri: str, params: dict[str, str | None]) -> str:
    clean = {k: v for k, v in params.items() if v is not None}
    if not clean:
        return uri
    return uri + ("&" if "?" in uri else "?") + urlencode(clean)


def _root(request: Request) -> str:
    """This platform's external URL as the caller reached it (``…/sso``)."""
    return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"


def _level(value: str | None) -> int | None:
    digits = re.findall(r"\d+", value or "")
    return int(digits[-1]) if digits else None


def _no_discovery_here(issuer: str) -> Response:
    return JSONResponse(
        {
            "error": "not_found",
            "error_description": (
                f"no discovery document here: the issuer is {issuer}, "
                f"its document is {issuer}/.well-known/openid-configuration"
            ),
        },
        status_code=404,
    )


def _pkce_ok(verifier: str | None, challenge: str, method: str) -> bool:
    if not verifier or not 43 <= len(verifier) <= 128:
        return False
    if method == "plain":
        return _same(verifier, challenge)
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return _same(expected, challenge)


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


class SsoPlatform(MockPlatform):
    """WSO2-style OAuth 2.0 / OIDC provider for DVCQG/VNeID logins."""

    name = "sso"
    prefix = "/sso"
    title = "SSO — DVCQG / VNeID identity provider (OIDC, WSO2 style)"
    switch_names = (
        "deny_access",
        "bad_signature",
        "wrong_alg",
        "expired_token",
        "wrong_nonce",
        "wrong_audience",
        "userinfo_500",
        "rotate_keys",
        "client_jwks",
        "allow_loopback_redirects",
        "require_pkce",
        "iss_parameter",
        "issuer",
        "acr",
    )

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        signing_key("primary")  # generate (or reuse) the key now, not on the first login
        self._app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery, methods=["GET"]),
                Route(
                    "/oauth2/token/.well-known/openid-configuration",
                    self.discovery_wso2,
                    methods=["GET"],
                ),
                Route("/oauth2/jwks", self.jwks, methods=["GET"]),
                Route("/oauth2/authorize", self.authorize, methods=["GET", "POST"]),
                Route("/authenticationendpoint/login.do", self.login_page, methods=["GET"]),
                Route("/commonauth", self.commonauth, methods=["POST"]),
                Route(
                    "/authenticationendpoint/oauth2_consent.do",
                    self.consent_page,
                    methods=["GET"],
                ),
                Route("/oauth2/token", self.token, methods=["POST"]),
                Route("/oauth2/userinfo", self.userinfo, methods=["GET", "POST"]),
                Route("/oauth2/introspect", self.introspect, methods=["POST"]),
                Route("/oauth2/revoke", self.revoke, methods=["POST"]),
                Route("/oidc/logout", self.logout, methods=["GET", "POST"]),
            ]
        )

    @property
    def app(self) -> Starlette:
        return self._app

    # --- switches -------------------------------------------------------------------------

    def apply_switches(self, switches: dict[str, Any]) -> None:
        unknown = sorted(set(switches) - set(self.switch_names))
        if unknown:
            raise ValueError(
                f"unknown switch {unknown[0]!r} for sso (known: {', '.join(self.switch_names)})"
            )
        for name, value in switches.items():
            if name in _BOOL_SWITCHES and not isinstance(value, bool):
                raise ValueError(f"switch {name!r} must be true or false")
            if name == "acr":
                if value is not None and not (isinstance(value, str) and _level(value)):
                    raise ValueError("switch 'acr' must be a level such as 'LoA1' (or null)")
            elif name == "issuer":
                if value not in _CHOICE_SWITCHES[name]:
                    raise ValueError("switch 'issuer' must be 'root' or 'wso2'")
            elif name in _CHOICE_SWITCHES and not (
                isinstance(value, bool) or value in _CHOICE_SWITCHES[name]
            ):
                choices = ", ".join(repr(c) for c in _CHOICE_SWITCHES[name])
                raise ValueError(f"switch {name!r} must be true, false or one of {choices}")
        if "allow_loopback_redirects" in switches:
            value = switches["allow_loopback_redirects"]
            if not isinstance(value, bool) and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise ValueError(
                    "switch 'allow_loopback_redirects' must be true, false or a list of client ids"
                )
        if switches.get("client_jwks") is not None:
            _check_client_jwks(switches["client_jwks"])
        if switches.get("rotate_keys"):
            signing_key("rotated")  # pay for the key now, not inside a request
        self.ctx.switches(self.name).update(switches)

    def _switch(self, name: str) -> Any:
        return self.ctx.switches(self.name).get(name)

    def _rotation(self) -> str | None:
        value = self._switch("rotate_keys")
        if not value:
            return None
        return "keep" if value is True else str(value)

    def _current_key(self) -> SigningKey:
        return signing_key("rotated" if self._rotation() else "primary")

    def _published_keys(self) -> list[SigningKey]:
        rotation = self._rotation()
        if rotation is None:
            return [signing_key("primary")]
        if rotation == "drop":
            return [signing_key("rotated")]
        return [signing_key("rotated"), signing_key("primary")]

    # --- clients --------------------------------------------------------------------------

    def _clients(self) -> dict[str, dict[str, Any]]:
        found = {
            str(c["client_id"]): c
            for c in self.ctx.seed.section("clients")
            if isinstance(c, dict) and c.get("kind") == "sso" and c.get("client_id")
        }
        return found or {"govlink-demo": dict(_FALLBACK_CLIENT)}

    def _loopback_allowed(self, client_id: str) -> bool:
        value = self._switch("allow_loopback_redirects")
        if value is None or value is True:
            return client_id in LOOPBACK_DEFAULT_CLIENTS
        if value is False:
            return False
        return client_id in value

    def _uri_allowed(self, client: dict[str, Any], uri: str, registered_key: str) -> bool:
        registered = client.get(registered_key) or []
        if uri in registered:
            return True
        parts = urlsplit(uri)
        return (
            self._loopback_allowed(str(client["client_id"]))
            and parts.scheme == "http"
            and parts.hostname in LOOPBACK_HOSTS
            and parts.port is not None
            and not parts.fragment
        )

    def _client_jwks(self, client_id: str) -> dict[str, Any] | None:
        value = self._switch("client_jwks")
        if not isinstance(value, dict):
            return None
        if isinstance(value.get("keys"), list):
            return value
        chosen = value.get(client_id)
        return chosen if isinstance(chosen, dict) else None

    def _authenticate_client(
        self, request: Request, form: dict[str, str]
    ) -> tuple[dict[str, Any] | None, Response | None]:
        """RFC 6749 §2.3 / RFC 7523: exactly one of Basic, form secret or JWT assertion."""
        header = request.headers.get("authorization", "")
        methods = [
            name
            for name, present in (
                ("client_secret_basic", header.lower().startswith("basic ")),
                ("client_secret_post", "client_secret" in form),
                ("private_key_jwt", "client_assertion" in form),
            )
            if present
        ]
        if len(methods) > 1:
            return None, _oauth_error(
                400,
                "invalid_request",
                "More than one client authentication method used: " + ", ".join(methods),
            )
        clients = self._clients()
        failed = _oauth_error(401, "invalid_client", "Client Authentication failed.")
        if methods == ["client_secret_basic"]:
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None, failed
            raw_id, sep, raw_secret = decoded.partition(":")
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            client = clients.get(client_id)
            if not sep or client is None or not _same(client.get("client_secret"), secret):
                return None, failed
        elif methods == ["client_secret_post"]:
            client = clients.get(form.get("client_id", ""))
            if client is None or not _same(client.get("client_secret"), form["client_secret"]):
                return None, failed
        elif methods == ["private_key_jwt"]:
            client, problem = self._verify_assertion(request, form)
            if client is None:
                return None, _oauth_error(401, "invalid_client", problem)
        else:
            client = clients.get(form.get("client_id", ""))
            if client is None or client.get("client_secret"):
                return None, failed  # a confidential client must authenticate
        if form.get("client_id") and form["client_id"] != client["client_id"]:
            return None, _oauth_error(
                401, "invalid_client", "client_id does not match the authenticated client"
            )
        return client, None

    def _verify_assertion(
        self, request: Request, form: dict[str, str]
    ) -> tuple[dict[str, Any] | None, str]:
        if form.get("client_assertion_type") != JWT_BEARER:
            return None, f"client_assertion_type must be {JWT_BEARER}"
        assertion = form["client_assertion"]
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            kid = jwt.get_unverified_header(assertion).get("kid")
        except jwt.PyJWTError as exc:
            return None, f"Client assertion is not a JWT: {exc}"
        client_id = str(unverified.get("iss", ""))
        client = self._clients().get(client_id)
        if client is None:
            return None, f"A valid OAuth client could not be found for client_id: {client_id}"
        jwks = self._client_jwks(client_id)
        if jwks is None:
            return None, (
                f"No public key registered for {client_id} "
                "(set the mock's client_jwks switch for private_key_jwt)"
            )
        root = _root(request)
        audiences = [root + "/oauth2/token", self._issuer(request), str(request.url).split("?")[0]]
        claims: dict[str, Any] | None = None
        problem = "Signature or claims of the client assertion are invalid"
        for key in jwt.PyJWKSet.from_dict(jwks).keys:
            if kid is not None and key.key_id not in (None, kid):
                continue
            try:
                claims = jwt.decode(
                    assertion,
                    key.key,
                    algorithms=ASSERTION_ALGS,
                    audience=audiences,
                    issuer=client_id,
                    options={
                        "verify_exp": False,
                        "verify_iat": False,
                        "verify_nbf": False,
                        "require": ["exp", "iss", "sub", "aud", "jti"],
                    },
                )
                break
            except jwt.PyJWTError as exc:
                problem = f"Client assertion rejected: {exc}"
        if claims is None:
            return None, problem
        now = self.ctx.clock.timestamp()
        if claims.get("sub") != client_id:
            return None, "Client assertion sub must equal iss (the client_id)"
        if float(claims["exp"]) + ASSERTION_LEEWAY < now:
            return None, "Client assertion has expired"
        jti = str(claims["jti"])
        if self.ctx.store.get(JTIS, jti) is not None:
            return None, "Client assertion jti was already used"
        self.ctx.store.put(JTIS, jti, {"client_id": client_id, "exp": claims["exp"]})
        return client, ""

    # --- stats and sessions ---------------------------------------------------------------

    def _bump(self, name: str) -> None:
        self.ctx.store.put(STATS, name, int(self.ctx.store.get(STATS, name) or 0) + 1)

    def _session(self, request: Request) -> tuple[str, dict[str, Any]] | None:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        record = self.ctx.store.get(SESSIONS, sid)
        return (sid, record) if isinstance(record, dict) else None

    def _start_session(self, identity: Identity, client_id: str) -> str:
        sid = str(uuid.uuid4())
        self.ctx.store.put(
            SESSIONS,
            sid,
            {
                "identity": identity.key,
                "kind": identity.kind,
                "label": identity.label,
                "client_id": client_id,
                "since": self.ctx.clock.timestamp(),
            },
        )
        self._bump("logins")
        return sid

    @staticmethod
    def _set_cookie(response: Response, request: Request, sid: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            sid,
            path=request.scope.get("root_path") or "/",
            httponly=True,
            samesite="lax",
        )

    # --- discovery and keys ---------------------------------------------------------------

    def _issuer(self, request: Request) -> str:
        """The issuer identifier: ``…/sso`` (default) or WSO2's token endpoint URL.

        OpenID Connect Discovery §4.3: the document is served below the issuer and names
        exactly that issuer, so a strict relying party that discovers from the issuer
        URL accepts it. Only the document under the configured issuer is served.
        """
        root = _root(request)
        return root + "/oauth2/token" if self._switch("issuer") == "wso2" else root

    async def discovery(self, request: Request) -> Response:
        if self._switch("issuer") == "wso2":
            return _no_discovery_here(self._issuer(request))
        return self._discovery_document(request)

    async def discovery_wso2(self, request: Request) -> Response:
        if self._switch("issuer") != "wso2":
            return _no_discovery_here(self._issuer(request))
        return self._discovery_document(request)

    def _discovery_document(self, request: Request) -> Response:
        root = _root(request)
        document: dict[str, Any] = {
            "issuer": self._issuer(request),
            "authorization_endpoint": root + "/oauth2/authorize",
            "token_endpoint": root + "/oauth2/token",
            "userinfo_endpoint": root + "/oauth2/userinfo",
            "jwks_uri": root + "/oauth2/jwks",
            "introspection_endpoint": root + "/oauth2/introspect",
            "revocation_endpoint": root + "/oauth2/revoke",
            "end_session_endpoint": root + "/oidc/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "client_secret_basic",
                "private_key_jwt",
            ],
            "userinfo_signing_alg_values_supported": ["none"],
            "acr_values_supported": ["LoA1", "LoA2"],
            "claims_parameter_supported": False,
        }
        if self._switch("require_pkce"):
            document["code_challenge_methods_supported"] = ["S256"]
            document["require_pkce"] = True
        if self._switch("iss_parameter"):
            document["authorization_response_iss_parameter_supported"] = True
        return JSONResponse(document)

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [k.public_jwk for k in self._published_keys()]})

    # --- authorize and the login pages ------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        if request.method == "POST":
            form, repeated = _form(await request.body())
            if "sessionDataKeyConsent" in form:
                return self._consent_decision(request, form)
        else:
            form, repeated = _pairs_to_dict(request.query_params.multi_items())
        return self._authorize(request, form, repeated)

    def _authorize(
        self, request: Request, params: dict[str, str], repeated: str | None
    ) -> Response:
        client_id = params.get("client_id", "")
        client = self._clients().get(client_id)
        if client is None:
            return self._error_page(
                "invalid_client",
                "Cannot find an application associated with the given consumer key.",
                client_id=client_id,
            )
        redirect_uri = params.get("redirect_uri")
        registered = list(client.get("redirect_uris") or [])
        if not redirect_uri:
            if len(registered) != 1:
                return self._error_page("invalid_request", "redirect_uri is required.")
            redirect_uri = registered[0]
        if not self._uri_allowed(client, redirect_uri, "redirect_uris"):
            return self._error_page(
                "invalid_callback",
                "Registered callback does not match with the provided url.",
                redirect_uri=redirect_uri,
            )
        state = params.get("state")

        def back(error: str, description: str) -> Response:
            target = _with_params(
                redirect_uri,
                {
                    "error": error,
                    "error_description": description,
                    "state": state,
                    "iss": self._response_iss(request),
                },
            )
            return RedirectResponse(target, status_code=302)

        if repeated:
            return back("invalid_request", f"Parameter {repeated} is repeated")
        if params.get("response_type") != "code":
            return back(
                "unsupported_response_type",
                "Unsupported response_type value; only 'code' is enabled for this client",
            )
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method") or ("plain" if challenge else None)
        if challenge and method not in ("S256", "plain"):
            return back("invalid_request", "Unsupported PKCE Challenge Method")
        if challenge and not 43 <= len(challenge) <= 128:
            return back(
                "invalid_request", "Code challenge used is not up to RFC 7636 specifications."
            )
        if not challenge and params.get("code_challenge_method"):
            return back("invalid_request", "code_challenge_method without code_challenge")
        if self._switch("require_pkce") and (not challenge or method != "S256"):
            return back(
                "invalid_request",
                "PKCE is mandatory for this client: send code_challenge with "
                "code_challenge_method=S256",
            )
        if self._switch("deny_access"):
            return back("access_denied", "Access denied (mock switch deny_access)")
        auth = {
            "client_id": client_id,
            "client_name": str(client.get("name") or client_id),
            "redirect_uri": redirect_uri,
            "redirect_uri_sent": bool(params.get("redirect_uri")),
            "scope": params.get("scope", ""),
            "state": state,
            "nonce": params.get("nonce"),
            "acr_values": params.get("acr_values"),
            "code_challenge": challenge,
            "code_challenge_method": method,
            "login_hint": params.get("login_hint"),
            "created": self.ctx.clock.timestamp(),
        }
        prompts = params.get("prompt", "").split()
        header_login = request.headers.get("x-mock-login", "").strip()
        hint = (params.get("login_hint") or "").strip()
        if header_login or (hint and "none" in prompts):
            key = header_login or hint
            identity = find_identity(self.ctx, key)
            if identity is None:
                return back(
                    "login_required",
                    f"No test identity {key!r}: use a seeded so_dinh_danh or ma_so_doanh_nghiep",
                )
            sid = self._start_session(identity, client_id)
            return self._code_redirect(request, auth, identity, sid)
        session = self._session(request)
        if "none" in prompts:
            found = find_identity(self.ctx, session[1]["identity"]) if session else None
            if session is None or found is None:
                return back("login_required", "The user is not logged in (prompt=none)")
            return self._code_redirect(request, auth, found, session[0])
        key = secrets.token_urlsafe(24)
        root = _root(request)
        if session is not None and "login" not in prompts:
            found = find_identity(self.ctx, session[1]["identity"])
            if found is not None:
                auth["identity"] = found.key
                self.ctx.store.put(REQUESTS, key, auth)
                return RedirectResponse(
                    root
                    + "/authenticationendpoint/oauth2_consent.do?"
                    + urlencode({"sessionDataKeyConsent": key}),
                    status_code=302,
                )
        self.ctx.store.put(REQUESTS, key, auth)
        return RedirectResponse(
            root + "/authenticationendpoint/login.do?" + urlencode({"sessionDataKey": key}),
            status_code=302,
        )

    def _pending(self, key: str | None) -> dict[str, Any] | None:
        if not key:
            return None
        record = self.ctx.store.get(REQUESTS, key)
        if not isinstance(record, dict):
            return None
        if self.ctx.clock.timestamp() - float(record["created"]) > REQUEST_TTL:
            self.ctx.store.delete(REQUESTS, key)
            return None
        return record

    def _login_html(
        self, request: Request, key: str, auth: dict[str, Any], error: str | None = None
    ) -> str:
        return pages.login_page(
            action=_root(request) + "/commonauth",
            session_key=key,
            client_name=str(auth["client_name"]),
            acr_values=auth.get("acr_values"),
            identities=seeded_identities(self.ctx),
            login_hint=auth.get("login_hint"),
            error=error,
        )

    async def login_page(self, request: Request) -> Response:
        key = request.query_params.get("sessionDataKey", "")
        auth = self._pending(key)
        if auth is None:
            return self._expired_page()
        return HTMLResponse(self._login_html(request, key, auth))

    async def commonauth(self, request: Request) -> Response:
        form, _repeated = _form(await request.body())
        key = form.get("sessionDataKey", "")
        auth = self._pending(key)
        if auth is None:
            return self._expired_page()
        if form.get("custom"):
            identity, problem = self._custom_identity(form)
        else:
            identity = find_identity(self.ctx, form.get("identity", ""))
            problem = "Choose one of the listed identities."
        if identity is None:
            return HTMLResponse(self._login_html(request, key, auth, problem), status_code=400)
        auth["identity"] = identity.key
        self.ctx.store.put(REQUESTS, key, auth)
        return RedirectResponse(
            _root(request)
            + "/authenticationendpoint/oauth2_consent.do?"
            + urlencode({"sessionDataKeyConsent": key}),
            status_code=302,
        )

    def _custom_identity(self, form: dict[str, str]) -> tuple[Identity | None, str]:
        kind = form.get("loai", "citizen")
        person = form.get("so_dinh_danh", "").strip()
        if kind == "organisation":
            code = form.get("ma_so_doanh_nghiep", "").strip()
            name = form.get("ten_doanh_nghiep", "").strip()
            if not code or not name:
                return None, "An organisation needs a mã số doanh nghiệp and a name."
            record: dict[str, Any] = {
                "ma_so_doanh_nghiep": code,
                "ten_doanh_nghiep": name,
                "nguoi_dai_dien_so_dinh_danh": person or None,
                "tech_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "org:" + code)),
            }
            key = code
        else:
            name = form.get("ho_va_ten", "").strip()
            if not (len(person) == 12 and person.isdigit()):
                return None, "Số định danh cá nhân must be 12 digits."
            if not name:
                return None, "Họ và tên is required."
            record = {
                "so_dinh_danh": person,
                "ho_va_ten": name.upper(),
                "ngay_sinh": form.get("ngay_sinh", "").strip() or None,
                "gioi_tinh": form.get("gioi_tinh") or None,
                "quoc_tich": "Việt Nam",
                "loa": "LoA1",
                "tech_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "citizen:" + person)),
            }
            key = person
            kind = "citizen"
        self.ctx.store.put(CUSTOM, key, {"kind": kind, "record": record})
        return Identity(kind, key, record), ""

    async def consent_page(self, request: Request) -> Response:
        key = request.query_params.get("sessionDataKeyConsent", "")
        auth = self._pending(key)
        identity = find_identity(self.ctx, str(auth.get("identity") or "")) if auth else None
        if auth is None or identity is None:
            return self._expired_page()
        return HTMLResponse(
            pages.consent_page(
                action=_root(request) + "/oauth2/authorize",
                session_key=key,
                client_name=str(auth["client_name"]),
                identity=identity,
                scope=str(auth.get("scope") or ""),
            )
        )

    def _consent_decision(self, request: Request, form: dict[str, str]) -> Response:
        key = form.get("sessionDataKeyConsent", "")
        auth = self._pending(key)
        identity = find_identity(self.ctx, str(auth.get("identity") or "")) if auth else None
        if auth is None or identity is None:
            return self._expired_page()
        self.ctx.store.delete(REQUESTS, key)
        if form.get("consent") != "approve":
            target = _with_params(
                str(auth["redirect_uri"]),
                {
                    "error": "access_denied",
                    "error_description": "User denied the consent",
                    "state": auth.get("state"),
                    "iss": self._response_iss(request),
                },
            )
            return RedirectResponse(target, status_code=302)
        session = self._session(request)
        if session is not None and session[1].get("identity") == identity.key:
            sid = session[0]
        else:
            sid = self._start_session(identity, str(auth["client_id"]))
        return self._code_redirect(request, auth, identity, sid)

    def _code_redirect(
        self, request: Request, auth: dict[str, Any], identity: Identity, sid: str
    ) -> Response:
        code = str(uuid.uuid4())
        now = self.ctx.clock.timestamp()
        self.ctx.store.put(
            CODES,
            code,
            {
                "client_id": auth["client_id"],
                "redirect_uri": auth["redirect_uri"],
                "redirect_uri_sent": auth.get("redirect_uri_sent", True),
                "scope": auth.get("scope") or "",
                "nonce": auth.get("nonce"),
                "acr": self._granted_acr(auth.get("acr_values"), identity),
                "code_challenge": auth.get("code_challenge"),
                "code_challenge_method": auth.get("code_challenge_method"),
                "identity": identity.key,
                "sid": sid,
                "auth_time": int(now),
                "issued_at": now,
                "used": False,
                "tokens": [],
            },
        )
        self._bump("codes_issued")
        target = _with_params(
            str(auth["redirect_uri"]),
            {
                "code": code,
                "state": auth.get("state"),
                "session_state": hashlib.sha256(sid.encode()).hexdigest()[:32],
                "iss": self._response_iss(request),
            },
        )
        response = RedirectResponse(target, status_code=302)
        self._set_cookie(response, request, sid)
        return response

    def _granted_acr(self, requested: str | None, identity: Identity) -> str:
        """The level the login is authenticated at: what was asked, if the account has it.

        A provider cannot authenticate an account above the level its identity was
        verified at; asked for more, it answers with the account's own level (the
        client must then refuse the login). The switch ``acr`` forces a value.
        """
        forced = self._switch("acr")
        if isinstance(forced, str):
            return forced
        account = _level(identity_level(identity)) or 1
        asked = [v for v in (requested or "").split() if _level(v) is not None]
        met = [v for v in asked if (_level(v) or 0) <= account]
        if met:
            return max(met, key=lambda v: _level(v) or 0)
        return identity_level(identity) if asked else "LoA1"

    def _response_iss(self, request: Request) -> str | None:
        """RFC 9207 ``iss`` on authorization responses, when the switch advertises it."""
        return self._issuer(request) if self._switch("iss_parameter") else None

    def _error_page(self, error: str, description: str, **details: Any) -> Response:
        return HTMLResponse(pages.error_page(error, description, **details), status_code=400)

    def _expired_page(self) -> Response:
        return self._error_page(
            "session_expired",
            "This login page expired or was already used; start the login from the "
            "application again.",
        )

    # --- token endpoint -------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form, repeated = _form(await request.body())
        if repeated:
            return _oauth_error(400, "invalid_request", f"Parameter {repeated} is repeated")
        client, failure = self._authenticate_client(request, form)
        if failure is not None:
            return failure
        assert client is not None
        grant = form.get("grant_type")
        if not grant:
            return _oauth_error(400, "invalid_request", "Missing grant_type parameter value")
        if grant == "authorization_code":
            return self._redeem_code(request, client, form)
        if grant == "refresh_token":
            return self._refresh(request, client, form)
        return _oauth_error(400, "unsupported_grant_type", "Unsupported grant_type value")

    def _redeem_code(
        self, request: Request, client: dict[str, Any], form: dict[str, str]
    ) -> Response:
        code = form.get("code", "")
        if not code:
            return _oauth_error(400, "invalid_request", "Missing code parameter value")
        record = self.ctx.store.get(CODES, code)
        if not isinstance(record, dict) or record["client_id"] != client["client_id"]:
            return _oauth_error(
                400, "invalid_grant", "Invalid authorization code received from token request"
            )
        if record["used"]:
            # RFC 6749 §4.1.2: a replayed code revokes what it produced
            for token in record.get("tokens", []):
                self._deactivate(token)
            return _oauth_error(
                400, "invalid_grant", "Inactive authorization code received from token request"
            )
        if self.ctx.clock.timestamp() - float(record["issued_at"]) > CODE_TTL:
            return _oauth_error(
                400, "invalid_grant", "Expired authorization code received from token request"
            )
        sent = form.get("redirect_uri")
        if (sent or record.get("redirect_uri_sent")) and sent != record["redirect_uri"]:
            return _oauth_error(400, "invalid_grant", "Callback url mismatch")
        challenge = record.get("code_challenge")
        if challenge and not _pkce_ok(
            form.get("code_verifier"), challenge, str(record["code_challenge_method"])
        ):
            return _oauth_error(400, "invalid_grant", "PKCE validation failed")
        identity = find_identity(self.ctx, str(record["identity"]))
        if identity is None:
            return _oauth_error(400, "invalid_grant", "The user of this code no longer exists")
        record["used"] = True
        reply, access, refresh = self._issue_tokens(
            request,
            client_id=str(client["client_id"]),
            identity=identity,
            scope=str(record["scope"]),
            nonce=record.get("nonce"),
            acr=str(record["acr"]),
            sid=str(record["sid"]),
            auth_time=int(record["auth_time"]),
            code=code,
        )
        record["tokens"] = [access, refresh]
        self.ctx.store.put(CODES, code, record)
        return reply

    def _refresh(self, request: Request, client: dict[str, Any], form: dict[str, str]) -> Response:
        token = form.get("refresh_token", "")
        record = self._live_token(token, "refresh")
        if record is None or record["client_id"] != client["client_id"]:
            return _oauth_error(400, "invalid_grant", "Persisted access token data not found")
        identity = find_identity(self.ctx, str(record["identity"]))
        if identity is None:
            return _oauth_error(400, "invalid_grant", "Persisted access token data not found")
        self._deactivate(token)  # refresh tokens rotate, like WSO2's default
        reply, _access, _refresh = self._issue_tokens(
            request,
            client_id=str(client["client_id"]),
            identity=identity,
            scope=form.get("scope") or str(record["scope"]),
            nonce=None,
            acr=str(record.get("acr") or "LoA1"),
            sid=str(record.get("sid") or ""),
            auth_time=int(record.get("auth_time") or 0),
            code=None,
        )
        return reply

    def _issue_tokens(
        self,
        request: Request,
        *,
        client_id: str,
        identity: Identity,
        scope: str,
        nonce: str | None,
        acr: str,
        sid: str,
        auth_time: int,
        code: str | None,
    ) -> tuple[Response, str, str]:
        now = self.ctx.clock.timestamp()
        access, refresh = str(uuid.uuid4()), str(uuid.uuid4())
        common = {
            "client_id": client_id,
            "identity": identity.key,
            "sub": identity.key,
            "scope": scope,
            "acr": acr,
            "sid": sid,
            "auth_time": auth_time,
            "iat": int(now),
            "active": True,
            "code": code,
        }
        self.ctx.store.put(
            TOKENS,
            access,
            {**common, "kind": "access", "exp": int(now) + ACCESS_TTL, "pair": refresh},
        )
        self.ctx.store.put(
            TOKENS,
            refresh,
            {**common, "kind": "refresh", "exp": int(now) + REFRESH_TTL, "pair": access},
        )
        self._bump("tokens_issued")
        body: dict[str, Any] = {
            "access_token": access,
            "refresh_token": refresh,
            "scope": scope,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
        }
        if "openid" in scope.split():
            body["id_token"] = self._id_token(
                request,
                client_id=client_id,
                identity=identity,
                nonce=nonce,
                acr=acr,
                sid=sid,
                auth_time=auth_time,
                access_token=access,
            )
        headers = {"cache-control": "no-store", "pragma": "no-cache"}
        return JSONResponse(body, headers=headers), access, refresh

    def _id_token(
        self,
        request: Request,
        *,
        client_id: str,
        identity: Identity,
        nonce: str | None,
        acr: str,
        sid: str,
        auth_time: int,
        access_token: str,
    ) -> str:
        now = int(self.ctx.clock.timestamp())
        iat, exp = now, now + ID_TOKEN_TTL
        if self._switch("expired_token"):
            iat, exp = now - 2 * ID_TOKEN_TTL, now - ID_TOKEN_TTL
        claims: dict[str, Any] = {
            "iss": self._issuer(request),
            "sub": identity.key,
            "aud": client_id,
            "azp": client_id,
            "iat": iat,
            "exp": exp,
            "auth_time": auth_time or now,
            "acr": acr,
            "amr": ["BasicAuthenticator"],
            "sid": sid,
            "at_hash": _at_hash(access_token),
        }
        wrong_audience = self._switch("wrong_audience")
        if wrong_audience == "multiple":
            claims["aud"] = [client_id, OTHER_AUDIENCE]
            del claims["azp"]
        elif wrong_audience:
            claims["aud"] = OTHER_AUDIENCE
            claims["azp"] = OTHER_AUDIENCE
        if self._switch("wrong_nonce"):
            claims["nonce"] = (nonce or "") + "-not-the-one-you-sent"
        elif nonce is not None:
            claims["nonce"] = nonce
        current = self._current_key()
        wrong_alg = self._switch("wrong_alg")
        if wrong_alg == "none":
            return compact_jws({"alg": "none", "typ": "JWT"}, claims, None)
        if wrong_alg:
            header = {"alg": "HS256", "typ": "JWT", "kid": current.kid}
            return compact_jws(header, claims, current.public_pem)
        bad_signature = self._switch("bad_signature")
        if bad_signature == "unknown_kid":
            return signing_key("rogue").sign(claims)
        if bad_signature:
            return signing_key("rogue").sign(claims, kid=current.kid)
        return current.sign(claims)

    def _live_token(self, token: str | None, kind: str | None = None) -> dict[str, Any] | None:
        if not token:
            return None
        record = self.ctx.store.get(TOKENS, token)
        if not isinstance(record, dict) or not record.get("active"):
            return None
        if kind is not None and record.get("kind") != kind:
            return None
        if float(record["exp"]) <= self.ctx.clock.timestamp():
            return None
        return record

    def _deactivate(self, token: str) -> None:
        """Revoke a token and its pair (WSO2 revokes access and refresh together)."""
        for name in (token, (self.ctx.store.get(TOKENS, token) or {}).get("pair")):
            if not name:
                continue
            record = self.ctx.store.get(TOKENS, name)
            if isinstance(record, dict) and record.get("active"):
                record["active"] = False
                self.ctx.store.put(TOKENS, name, record)

    # --- userinfo, introspection, revocation -------------------------------------------------

    async def userinfo(self, request: Request) -> Response:
        if self._switch("userinfo_500"):
            return JSONResponse(
                {
                    "error_description": "Internal server error (mock switch userinfo_500)",
                    "error": "server_error",
                },
                status_code=500,
            )
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        if token is None and request.method == "POST":
            form, _repeated = _form(await request.body())
            token = form.get("access_token")
        record = self._live_token(token, "access")
        if record is None:
            return _oauth_error(401, "invalid_token", "Access token validation failed")
        if "openid" not in str(record["scope"]).split():
            return _oauth_error(403, "insufficient_scope", "Access token has no openid scope")
        identity = find_identity(self.ctx, str(record["identity"]))
        if identity is None:
            return _oauth_error(401, "invalid_token", "The user of this token no longer exists")
        return JSONResponse(claims_for(self.ctx, identity))

    async def introspect(self, request: Request) -> Response:
        form, _repeated = _form(await request.body())
        _client, failure = self._authenticate_client(request, form)
        if failure is not None:
            return failure
        token = form.get("token")
        if not token:
            return _oauth_error(400, "invalid_request", "Missing token parameter value")
        record = self._live_token(token)
        if record is None:
            return JSONResponse({"active": False})
        return JSONResponse(
            {
                "active": True,
                "client_id": record["client_id"],
                "sub": record["sub"],
                "username": record["sub"],
                "scope": record["scope"],
                "token_type": "Bearer" if record["kind"] == "access" else "Refresh",
                "exp": record["exp"],
                "iat": record["iat"],
                "nbf": record["iat"],
                "aut": "APPLICATION_USER",
            }
        )

    async def revoke(self, request: Request) -> Response:
        form, _repeated = _form(await request.body())
        client, failure = self._authenticate_client(request, form)
        if failure is not None:
            return failure
        assert client is not None
        token = form.get("token")
        if not token:
            return _oauth_error(400, "invalid_request", "Missing token parameter value")
        record = self.ctx.store.get(TOKENS, token)
        if isinstance(record, dict) and record.get("client_id") == client["client_id"]:
            self._deactivate(token)
            self._bump("revocations")
        return Response(status_code=200, headers={"revoked": "true"})

    # --- logout ---------------------------------------------------------------------------

    def _decode_own(self, token: str) -> dict[str, Any] | None:
        """Claims of an ID token this mock signed (expiry ignored, as for a hint)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        for key in published_or_known():
            if key.kid != kid:
                continue
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key.private_key.public_key(),
                    algorithms=["RS256"],
                    options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
                )
            except jwt.PyJWTError:
                return None
            return claims
        return None

    async def logout(self, request: Request) -> Response:
        if request.method == "POST":
            params, _repeated = _form(await request.body())
        else:
            params = dict(request.query_params)
        hint = params.get("id_token_hint")
        claims = self._decode_own(hint) if hint else None
        if hint and claims is None:
            return self._error_page(
                "invalid_request", "id_token_hint is not an ID token issued by this provider."
            )
        post_logout = params.get("post_logout_redirect_uri")
        if post_logout:
            client_id = params.get("client_id") or (claims or {}).get("azp")
            if client_id is None and claims is not None:
                aud = claims.get("aud")
                client_id = aud if isinstance(aud, str) else None
            client = self._clients().get(str(client_id or ""))
            if client is None:
                return self._error_page(
                    "invalid_request",
                    "post_logout_redirect_uri needs an id_token_hint or client_id naming "
                    "a registered client.",
                )
            if not self._uri_allowed(client, post_logout, "post_logout_redirect_uris"):
                return self._error_page(
                    "invalid_request",
                    "post_logout_redirect_uri is not registered for this client.",
                    post_logout_redirect_uri=post_logout,
                )
        ended = 0
        for sid in {request.cookies.get(SESSION_COOKIE), (claims or {}).get("sid")}:
            if sid and self.ctx.store.delete(SESSIONS, str(sid)):
                ended += 1
        self._bump("logouts")
        response: Response
        if post_logout:
            target = _with_params(post_logout, {"state": params.get("state")})
            response = RedirectResponse(target, status_code=302)
        else:
            response = HTMLResponse(pages.logged_out_page())
        response.delete_cookie(SESSION_COOKIE, path=request.scope.get("root_path") or "/")
        return response

    # --- dashboard ------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        now = self.ctx.clock.timestamp()
        store = self.ctx.store
        codes = [r for _k, r in store.items(CODES)]
        tokens = [r for _k, r in store.items(TOKENS)]

        def live(kind: str) -> int:
            return sum(
                1
                for r in tokens
                if r.get("kind") == kind and r.get("active") and float(r["exp"]) > now
            )

        return {
            "clients": sorted(self._clients()),
            "codes_issued": int(store.get(STATS, "codes_issued") or 0),
            "codes_pending": sum(
                1 for r in codes if not r["used"] and now - float(r["issued_at"]) <= CODE_TTL
            ),
            "tokens_issued": int(store.get(STATS, "tokens_issued") or 0),
            "access_tokens_active": live("access"),
            "refresh_tokens_active": live("refresh"),
            "logins": int(store.get(STATS, "logins") or 0),
            "logouts": int(store.get(STATS, "logouts") or 0),
            "sessions": [
                {
                    "sid": sid,
                    "identity": r.get("label"),
                    "kind": r.get("kind"),
                    "client_id": r.get("client_id"),
                    "since": datetime.fromtimestamp(float(r["since"]), UTC).isoformat(),
                }
                for sid, r in store.items(SESSIONS)
            ],
            "signing_kid": self._current_key().kid,
            "published_kids": [k.kid for k in self._published_keys()],
            "test_identities": len(seeded_identities(self.ctx)),
        }


def _check_client_jwks(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError("switch 'client_jwks' must be a JWKS or an object client_id -> JWKS")
    sets = [value] if "keys" in value else list(value.values())
    for jwks in sets:
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ValueError("switch 'client_jwks' needs JWKS objects with a 'keys' list")
        try:
            jwt.PyJWKSet.from_dict(jwks)
        except jwt.PyJWTError as exc:
            raise ValueError(f"switch 'client_jwks' holds an unusable JWKS: {exc}") from None


def create_platform(ctx: MockContext) -> SsoPlatform:
    return SsoPlatform(ctx)
