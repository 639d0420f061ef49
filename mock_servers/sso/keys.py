"""The mock provider's RSA signing keys, generated once per process.

Generating a 2048-bit key takes a noticeable fraction of a second, and a test run
builds many mock servers, so keys are cached at module level: every mock in the
process signs with the same keys. The ``rotate_keys`` switch only changes *which*
cached key is current and which are listed, so a reset undoes it.

``kid`` is the RFC 7638 thumbprint of the public key: stable for a key, different
between keys, like a real provider's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = ["SigningKey", "b64url", "compact_jws", "published_or_known", "signing_key"]

_CACHE: dict[str, SigningKey] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class SigningKey:
    name: str
    kid: str
    private_key: rsa.RSAPrivateKey
    public_jwk: dict[str, str]
    public_pem: bytes

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """An RS256 JWS of ``claims`` with this key (``kid`` may be overridden to lie)."""
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_jws(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A JWS built by hand, for the broken tokens a library refuses to make:
    HS256 keyed with the public key's PEM (``secret``), or ``alg: none`` (no secret)."""
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def _thumbprint(jwk: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


def signing_key(name: str) -> SigningKey:
    """The cached key called ``name`` (``primary``, ``rotated``, ``rogue``…), made on demand."""
    with _LOCK:
        key = _CACHE.get(name)
        if key is None:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = private.public_key()
            jwk: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
            kid = _thumbprint(jwk)
            public_jwk = {
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": kid,
                "n": jwk["n"],
                "e": jwk["e"],
            }
            pem = public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            key = SigningKey(name, kid, private, public_jwk, pem)
            _CACHE[name] = key
        return key


def published_or_known() -> list[SigningKey]:
    """Every key this process has made for signing real tokens (never the rogue one)."""
    with _LOCK:
        return [k for name, k in _CACHE.items() if name != "rogue"]
