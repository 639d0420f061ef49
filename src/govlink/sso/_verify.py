"""ID-token verification: keys from the provider's JWKS, then every OIDC rule.

Why this is not just ``jwt.decode``: an ID token must be checked against rules a
generic JWT library does not know (``azp`` with several audiences, the login's
``nonce``, ``at_hash``), each failure must say which rule broke, and the key set
must be refetched once when a token names a key we have not seen (the provider
rotated its keys). The cryptography itself is PyJWT's.

Keys are parsed once per JWKS fetch into ready public-key objects, and the
compact JWS is taken apart here (strict, canonical base64url; no ``crit``
extensions; no unencoded payloads) before PyJWT's algorithm objects check the
signature, so a warm verification costs two small base64/JSON decodes, one
signature check and a few comparisons. (PyJWT's own ``decode`` spends most of its
time validating base64 character by character in Python.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.algorithms import Algorithm, ECAlgorithm, RSAAlgorithm, get_default_algorithms

from govlink.sso._errors import TokenVerificationError

__all__ = ["IdTokenVerifier", "KeySet", "UnknownKeyError", "VerificationKey"]

log = logging.getLogger("govlink.sso")

_RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_ALGS_BY_CURVE = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_HASH_BY_SIZE = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}

_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_MIN_RSA_BITS = 2048


class UnknownKeyError(TokenVerificationError):
    """The token names a key (``kid``) the cached key set does not hold."""

    def __init__(
        self, kid: str | None, known: Iterable[str | None], *, hint: str | None = None
    ) -> None:
        self.kid = kid
        shown = ", ".join(sorted(str(k) for k in known)) or "none"
        super().__init__(
            "kid", f"no key {kid!r} in the provider's JWKS (keys there: {shown})", hint=hint
        )


@dataclass(frozen=True)
class VerificationKey:
    """One usable public key from a JWKS and the algorithms it may verify."""

    kid: str | None
    kty: str
    key: Any
    algorithms: frozenset[str]


class KeySet:
    """The provider's signing keys, parsed once (``fetched_at`` drives the cache TTL)."""

    def __init__(self, keys: Iterable[VerificationKey] = (), *, fetched_at: float = 0.0) -> None:
        self.keys = tuple(keys)
        self.fetched_at = fetched_at
        self._by_kid = {k.kid: k for k in self.keys}

    @classmethod
    def from_jwks(cls, document: Any, *, fetched_at: float) -> KeySet:
        """Keep the signature keys we can use; skip (and log) the rest."""
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise TokenVerificationError(
                "kid",
                "the provider's JWKS is not a JSON object with a 'keys' list",
                hint="check jwks_uri in the discovery document or GOVLINK_SSO__PATHS__JWKS",
            )
        keys: list[VerificationKey] = []
        for jwk in document["keys"]:
            parsed = _parse_jwk(jwk)
            if parsed is not None:
                keys.append(parsed)
        return cls(keys, fetched_at=fetched_at)

    def __len__(self) -> int:
        return len(self.keys)

    def kids(self) -> list[str | None]:
        return [k.kid for k in self.keys]

    def candidates(self, kid: str | None, alg: str) -> list[VerificationKey]:
        """Keys to try: the one named by ``kid``, or every key fit for ``alg`` if no kid."""
        if kid is not None:
            found = self._by_kid.get(kid)
            return [found] if found is not None else []
        return [k for k in self.keys if alg in k.algorithms]


def _parse_jwk(jwk: Any) -> VerificationKey | None:
    if not isinstance(jwk, Mapping):
        return None
    kid = jwk.get("kid")
    if jwk.get("use", "sig") != "sig":
        return None
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            key: Any = RSAAlgorithm.from_jwk(dict(jwk))
            algorithms = _RSA_ALGS
        elif kty == "EC":
            key = ECAlgorithm.from_jwk(dict(jwk))
            alg_for_curve = _EC_ALGS_BY_CURVE.get(str(jwk.get("crv")))
            algorithms = frozenset({alg_for_curve} if alg_for_curve else ())
        else:
            log.debug("skipping JWKS key %r of unsupported type %r", kid, kty)
            return None
    except (jwt.InvalidKeyError, ValueError, TypeError, KeyError) as exc:
        log.warning("skipping malformed JWKS key %r: %s", kid, exc)
        return None
    if hasattr(key, "public_key") and not hasattr(key, "verify"):
        key = key.public_key()  # a JWKS must hold public keys; never sign with what we fetch
    if kty == "RSA" and key.key_size < _MIN_RSA_BITS:
        log.warning("skipping JWKS key %r: RSA key of %d bits is too weak", kid, key.key_size)
        return None
    if isinstance(jwk.get("alg"), str):
        algorithms = algorithms & {jwk["alg"]}
    return VerificationKey(kid if isinstance(kid, str) else None, str(kty), key, algorithms)


def _b64url(segment: str, what: str) -> bytes:
    """Strict base64url: alphabet only, canonical (no stray bits), padding tolerated."""
    if not _B64URL.fullmatch(segment):
        raise TokenVerificationError("format", f"the {what} is not base64url")
    stripped = segment.rstrip("=")
    if (stripped != segment and len(segment) % 4) or len(stripped) % 4 == 1:
        raise TokenVerificationError("format", f"the {what} has a bad base64url length")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error:
        raise TokenVerificationError("format", f"the {what} is not base64url") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=") != stripped.encode("ascii"):
        raise TokenVerificationError("format", f"the {what} is not canonical base64url")
    return raw


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise TokenVerificationError("format", f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise TokenVerificationError("format", f"the {what} is not a JSON object")
    return value


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def token_hash(value: str, alg: str) -> str:
    """``at_hash``/``c_hash``: left half of the token's hash, base64url without padding."""
    digest = _HASH_BY_SIZE.get(alg[-3:], hashlib.sha256)(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


class IdTokenVerifier:
    """Checks one ID token against a :class:`KeySet` and the OIDC rules.

    Pure (no I/O): an unknown ``kid`` raises :class:`UnknownKeyError` so that the
    caller can refetch the JWKS once and try again.
    """

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        algorithms: Iterable[str] = ("RS256",),
        leeway: float = 60.0,
        clock: Callable[[], float] = time.time,
        trusted_audiences: Iterable[str] = (),
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.trusted_audiences = frozenset(trusted_audiences)
        self.algorithms = frozenset(algorithms)
        self._algorithm_list = sorted(self.algorithms)
        known = get_default_algorithms()
        self._algorithm_objects: dict[str, Algorithm] = {
            name: known[name] for name in self.algorithms if name in known
        }
        self.leeway = leeway
        self.clock = clock

    def verify(
        self,
        token: str,
        keys: KeySet,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        """The verified claims, or a :class:`TokenVerificationError` naming the rule."""
        header, claims = self._verify_signature(token, keys)
        self.check_claims(
            claims,
            nonce=nonce,
            access_token=access_token,
            alg=str(header["alg"]),
            now=self.clock() if now is None else now,
        )
        return claims

    def _verify_signature(self, token: str, keys: KeySet) -> tuple[dict[str, Any], dict[str, Any]]:
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise TokenVerificationError(
                "format", "expected a compact JWS (three dot-separated parts)"
            )
        header = _json_object(_b64url(parts[0], "header"), "header")
        alg = header.get("alg")
        algorithm = self._algorithm_objects.get(alg) if isinstance(alg, str) else None
        if algorithm is None or not isinstance(alg, str):
            raise TokenVerificationError("alg", self._alg_refusal(alg))
        if "crit" in header or "b64" in header:
            raise TokenVerificationError(
                "format", "the header asks for JWS extensions (crit/b64) that are not supported"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenVerificationError("format", "the header's kid is not a string")
        candidates = keys.candidates(kid, alg)
        if not candidates:
            raise UnknownKeyError(kid, keys.kids())
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        signature = _b64url(parts[2], "signature")
        for candidate in candidates:
            if alg not in candidate.algorithms:
                raise TokenVerificationError(
                    "alg", f"alg {alg} does not fit the provider's {candidate.kty} key {kid!r}"
                )
            if algorithm.verify(signing_input, candidate.key, signature):
                return header, _json_object(_b64url(parts[1], "payload"), "payload")
        which = f"key {kid!r}" if kid is not None else "any of the provider's keys"
        raise TokenVerificationError("signature", f"the signature does not verify with {which}")

    def _alg_refusal(self, alg: Any) -> str:
        allowed = ", ".join(self._algorithm_list)
        if not alg or str(alg).lower() == "none":
            return f"unsigned token (alg 'none') is never accepted (allowed: {allowed})"
        if str(alg).upper().startswith("HS"):
            return (
                f"HMAC alg {alg} is never accepted for ID tokens: anyone holding the "
                f"provider's public key could forge it (allowed: {allowed})"
            )
        return f"alg {alg!r} is not allowed (allowed: {allowed})"

    def check_claims(
        self,
        claims: Mapping[str, Any],
        *,
        nonce: str | None,
        access_token: str | None = None,
        alg: str = "RS256",
        now: float,
    ) -> None:
        """Every claim rule of OIDC Core §3.1.3.7, in the order a reader would check them."""
        iss = claims.get("iss")
        if iss != self.issuer:
            raise TokenVerificationError("iss", f"issuer {iss!r}, expected {self.issuer!r}")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenVerificationError("sub", "the token has no subject (sub)")
        self._check_audience(claims)
        leeway = self.leeway
        exp = _number_claim(claims, "exp", required=True)
        if exp is not None and now > exp + leeway:
            raise TokenVerificationError(
                "exp",
                f"expired at {_when(exp)} (now {_when(now)}, leeway {leeway:g} s)",
            )
        iat = _number_claim(claims, "iat", required=True)
        if iat is not None and iat > now + leeway:
            raise TokenVerificationError(
                "iat",
                f"issued at {_when(iat)}, in the future (now {_when(now)}, leeway {leeway:g} s)",
            )
        nbf = _number_claim(claims, "nbf", required=False)
        if nbf is not None and nbf > now + leeway:
            raise TokenVerificationError(
                "nbf", f"not valid before {_when(nbf)} (now {_when(now)}, leeway {leeway:g} s)"
            )
        if nonce is not None:
            got = claims.get("nonce")
            if not isinstance(got, str):
                raise TokenVerificationError("nonce", "the token has no nonce, the login sent one")
            if not hmac.compare_digest(got.encode(), nonce.encode()):
                raise TokenVerificationError("nonce", "the nonce differs from this login's nonce")
        at_hash = claims.get("at_hash")
        if access_token is not None and at_hash is not None:
            expected = token_hash(access_token, alg)
            if not isinstance(at_hash, str) or not hmac.compare_digest(at_hash, expected):
                raise TokenVerificationError("at_hash", "at_hash does not match the access token")

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not audiences:
            raise TokenVerificationError("aud", "the token has no audience (aud)")
        if self.client_id not in audiences:
            raise TokenVerificationError(
                "aud", f"audience {aud!r} does not include this client ({self.client_id!r})"
            )
        azp = claims.get("azp")
        if len(audiences) > 1 and azp is None:
            raise TokenVerificationError(
                "azp", f"several audiences {aud!r} but no azp naming the authorized party"
            )
        if azp is not None and azp != self.client_id:
            raise TokenVerificationError(
                "azp", f"authorized party {azp!r} is not this client ({self.client_id!r})"
            )
        untrusted = [
            a for a in audiences if a != self.client_id and a not in self.trusted_audiences
        ]
        if untrusted:
            raise TokenVerificationError(
                "aud",
                f"the token is also issued to {', '.join(repr(a) for a in untrusted)}, "
                "which this client does not trust (OIDC Core §3.1.3.7 rule 3)",
                hint="if those clients are yours, list them in "
                "GOVLINK_SSO__OPTIONS__TRUSTED_AUDIENCES; otherwise refuse the token",
            )


def _number_claim(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise TokenVerificationError(
                name,
                f"the token has no {name} claim",
                hint=f"OIDC Core §2 requires {name} in every ID token: the token is malformed "
                "(not expired); report it to the identity provider's operator",
            )
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenVerificationError(name, f"{name} is not a number of seconds ({value!r})")
    return float(value)
