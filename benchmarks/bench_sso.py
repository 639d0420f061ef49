"""ID-token verifications per second: govlink's verifier next to PyJWT alone.

Both sides check the same token against the same rules (RS256 signature, ``iss``,
``aud``, ``azp``, ``exp``/``iat`` with 60 s leeway, ``nonce``) in the same process.
govlink's side goes through the public client API, ``SsoClient.verify_id_token``,
with its JWKS cache warm (the keys were fetched once, from an in-memory provider),
which is what a web app pays per login or per request that re-checks a token.

The last line printed is one JSON object: ``{"verify_per_s": …, "baseline_verify_per_s": …}``.
Target: ≥ 5,000 verifications per second on a 2-core machine.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from govlink.core.config import GovLinkSettings
from govlink.sso import SsoClient

BASE = "https://sso.bench.invalid"
ISSUER = BASE + "/oauth2/token"
CLIENT_ID = "bench-client"
NONCE = "bench-nonce-0123456789"
ROUNDS = 5
SECONDS_PER_ROUND = 1.0


def _provider(jwks: dict[str, Any]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/jwks":
            return httpx.Response(200, json=jwks)
        return httpx.Response(404)

    return httpx.MockTransport(handler)


def _rate(fn: Callable[[], object]) -> float:
    """Calls per second over about one second (the batch size adapts)."""
    count, batch = 0, 200
    started = time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        count += batch
        elapsed = time.perf_counter() - started
        if elapsed >= SECONDS_PER_ROUND:
            return count / elapsed


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": "bench-1", "use": "sig", "alg": "RS256"})
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": ISSUER,
            "sub": "001085000001",
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "iat": now,
            "exp": now + 3600,
            "nonce": NONCE,
            "acr": "LoA2",
        },
        key,
        algorithm="RS256",
        headers={"kid": "bench-1"},
    )

    settings = GovLinkSettings.load(
        sso={
            "base_url": BASE,
            "auth": {"client_id": CLIENT_ID, "client_secret": "x"},
            "options": {"discovery": False},
        }
    )
    sso = SsoClient(settings, transport=_provider({"keys": [jwk]}))
    sso.verify_id_token(token, nonce=NONCE)  # warm: the one JWKS fetch happens here

    public_key = jwt.PyJWK(jwk).key  # the baseline gets its key ready-made as well

    def govlink_verify() -> object:
        return sso.verify_id_token(token, nonce=NONCE)

    def pyjwt_verify() -> object:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=CLIENT_ID,
            issuer=ISSUER,
            leeway=60,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        if not hmac.compare_digest(str(claims.get("nonce", "")), NONCE):
            raise ValueError("nonce")
        if claims.get("azp", CLIENT_ID) != CLIENT_ID:
            raise ValueError("azp")
        return claims

    assert govlink_verify() == pyjwt_verify()
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(ROUNDS):  # interleaved, so both see the same machine conditions
        ours.append(_rate(govlink_verify))
        theirs.append(_rate(pyjwt_verify))
    sso.close()

    best_ours, best_theirs = max(ours), max(theirs)
    print("ID-token verification (RS256, 2048-bit key, warm JWKS cache)")
    print(
        f"  govlink SsoClient.verify_id_token : {best_ours:10,.0f} /s  "
        f"({1e6 / best_ours:6.1f} µs per token; rounds: {', '.join(f'{r:,.0f}' for r in ours)})"
    )
    print(
        f"  PyJWT jwt.decode + nonce/azp     : {best_theirs:10,.0f} /s  "
        f"({1e6 / best_theirs:6.1f} µs per token; rounds: {', '.join(f'{r:,.0f}' for r in theirs)})"
    )
    print(f"  govlink / PyJWT               : {best_ours / best_theirs:10.2f}x (target ≥ 5,000/s)")
    print(
        json.dumps({"verify_per_s": round(best_ours), "baseline_verify_per_s": round(best_theirs)})
    )


if __name__ == "__main__":
    main()
