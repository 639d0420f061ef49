"""Keys, token factories and a fake provider for the SSO unit tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from govlink.core.config import GovLinkSettings

ISSUER = "https://sso.example.gov.vn/oauth2/token"
CLIENT_ID = "portal-client"
BASE = "https://sso.example.gov.vn"


@dataclass
class Key:
    kid: str
    private: Any
    jwk: dict[str, Any]

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _rsa(kid: str) -> Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update({"kid": kid, "use": "sig"})  # no "alg", like many providers
    return Key(kid, private, jwk)


@pytest.fixture(scope="session")
def rsa_key() -> Key:
    return _rsa("key-1")


@pytest.fixture(scope="session")
def other_rsa_key() -> Key:
    return _rsa("key-2")


@pytest.fixture(scope="session")
def ec_key() -> Key:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update({"kid": "ec-1", "use": "sig"})
    return Key("ec-1", private, jwk)


def base_claims(now: float | None = None, **overrides: Any) -> dict[str, Any]:
    now = time.time() if now is None else now
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "001085000001",
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "iat": int(now),
        "exp": int(now) + 3600,
        "nonce": "n-0S6_WzA2Mj",
    }
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def sign(claims: dict[str, Any], key: Key, *, alg: str = "RS256", kid: str | None = "") -> str:
    headers = {} if kid is None else {"kid": kid or key.kid}
    token = jwt.encode(claims, key.private, algorithm=alg, headers=headers)
    if kid is None:  # PyJWT adds no kid unless asked; make sure none is there
        assert "kid" not in jwt.get_unverified_header(token)
    return token


@pytest.fixture
def make_token(rsa_key: Key) -> Callable[..., str]:
    def make(
        key: Key | None = None, alg: str = "RS256", kid: str | None = "", **claims: Any
    ) -> str:
        return sign(base_claims(**claims), key or rsa_key, alg=alg, kid=kid)

    return make


def sso_settings(**sso: Any) -> GovLinkSettings:
    section: dict[str, Any] = {
        "base_url": BASE,
        "auth": {
            "style": "client_secret_post",
            "client_id": CLIENT_ID,
            "client_secret": "s3cret",
        },
    }
    for key, value in sso.items():
        if isinstance(value, dict) and isinstance(section.get(key), dict):
            section[key] = {**section[key], **value}
        else:
            section[key] = value
    return GovLinkSettings.load(sso=section, http={"max_retries": 0})


class FakeProvider:
    """An ``httpx.MockTransport`` provider: discovery (optional), JWKS, counting calls."""

    def __init__(self, jwks: dict[str, Any], *, discovery: bool = True) -> None:
        self.jwks = jwks
        self.discovery = discovery
        self.calls: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}

    def count(self, path: str) -> int:
        return sum(1 for r in self.calls if r.url.path == path)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        path = request.url.path
        route = self.routes.get((request.method, path))
        if route is not None:
            return route(request)
        if path == "/.well-known/openid-configuration" and self.discovery:
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": BASE + "/oauth2/authorize",
                    "token_endpoint": BASE + "/oauth2/token",
                    "userinfo_endpoint": BASE + "/oauth2/userinfo",
                    "jwks_uri": BASE + "/oauth2/jwks",
                    "introspection_endpoint": BASE + "/oauth2/introspect",
                    "revocation_endpoint": BASE + "/oauth2/revoke",
                    "end_session_endpoint": BASE + "/oidc/logout",
                },
            )
        if path == "/oauth2/jwks":
            return httpx.Response(200, content=json.dumps(self.jwks))
        return httpx.Response(404, json={"error": "not_found"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)
