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
import respx
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
    """An identity provider mocked with a respx router: discovery (optional) and JWKS.

    Tests add endpoints to ``router`` (paths under ``BASE``); a request no route matches
    fails the test. ``transport()`` hands the router to a client.
    """

    def __init__(self, jwks: dict[str, Any], *, discovery: bool = True) -> None:
        self.jwks = jwks
        self.router = respx.MockRouter(base_url=BASE, assert_all_called=False)
        not_found = {"error": "not_found"}
        document = self.router.get("/.well-known/openid-configuration")
        if discovery:
            document.respond(
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
        else:
            document.respond(404, json=not_found)
        # WSO2's second discovery location, below the issuer
        self.router.get("/oauth2/token/.well-known/openid-configuration").respond(
            404, json=not_found
        )
        self.router.get("/oauth2/jwks").mock(
            side_effect=lambda request: httpx.Response(200, content=json.dumps(self.jwks))
        )

    @property
    def calls(self) -> list[httpx.Request]:
        return [call.request for call in self.router.calls]

    def count(self, path: str) -> int:
        return sum(1 for r in self.calls if r.url.path == path)

    def transport(self) -> httpx.MockTransport:
        """The router as a client's transport, the way respx documents it."""
        return httpx.MockTransport(self.router.handler)
