"""Every ID-token rule: a bad token is refused with a GovLinkError naming the rule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sso_testkit import CLIENT_ID, ISSUER, FakeProvider, Key, base_claims, sign, sso_settings

from govlink.core.clock import ManualClock
from govlink.core.errors import GovLinkError, SignatureError
from govlink.sso import KeySet, SsoClient, TokenVerificationError
from govlink.sso._verify import IdTokenVerifier, UnknownKeyError, token_hash

NONCE = "n-0S6_WzA2Mj"


@pytest.fixture
def keys(rsa_key: Key) -> KeySet:
    return KeySet.from_jwks({"keys": [rsa_key.jwk]}, fetched_at=time.time())


@pytest.fixture
def verifier() -> IdTokenVerifier:
    return IdTokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, algorithms=["RS256"], leeway=60)


def rejected(
    verifier: IdTokenVerifier, token: str, keys: KeySet, **kw: Any
) -> TokenVerificationError:
    with pytest.raises(TokenVerificationError) as info:
        verifier.verify(token, keys, **kw)
    error = info.value
    assert isinstance(error, SignatureError)
    assert isinstance(error, GovLinkError)
    assert f"({error.rule})" in str(error)
    assert error.hint  # every rule tells the user what to do
    return error


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)


def test_a_good_token_gives_its_claims(verifier, keys, make_token):
    claims = verifier.verify(make_token(), keys, nonce=NONCE)
    assert claims["sub"] == "001085000001"
    assert claims["aud"] == CLIENT_ID


def test_signature_by_a_key_outside_the_jwks_is_refused(verifier, keys, other_rsa_key, rsa_key):
    token = sign(base_claims(), other_rsa_key, kid=rsa_key.kid)  # lies about its key
    error = rejected(verifier, token, keys, nonce=NONCE)
    assert error.rule == "signature"


def test_tampered_payload_is_refused(verifier, keys, make_token):
    header, payload, signature = make_token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "079099999999"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert rejected(verifier, forged, keys, nonce=NONCE).rule == "signature"


def test_algorithm_not_configured_is_refused(verifier, keys, make_token):
    error = rejected(verifier, make_token(alg="RS384"), keys, nonce=NONCE)
    assert error.rule == "alg"
    assert "RS384" in str(error)


def test_alg_none_is_never_accepted(verifier, keys, rsa_key):
    token = _hand_made({"alg": "none", "kid": rsa_key.kid}, base_claims(), None)
    error = rejected(verifier, token, keys, nonce=NONCE)
    assert error.rule == "alg"
    assert "'none'" in str(error)


def test_hmac_signed_with_the_public_key_is_refused(verifier, keys, rsa_key):
    # the classic algorithm-confusion forgery: HS256 keyed with the provider's public key
    token = _hand_made({"alg": "HS256", "kid": rsa_key.kid}, base_claims(), rsa_key.public_pem)
    error = rejected(verifier, token, keys, nonce=NONCE)
    assert error.rule == "alg"
    assert "HMAC" in str(error)


def test_hmac_cannot_even_be_configured():
    from govlink.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        SsoClient(sso_settings(options={"algorithms": ["RS256", "HS256"]}))
    assert "HS256" in str(info.value)
    with pytest.raises(ConfigurationError):
        SsoClient(sso_settings(options={"algorithms": "none"}))


def test_expired_token_is_refused(verifier, keys, make_token):
    now = time.time()
    token = make_token(iat=int(now) - 7200, exp=int(now) - 3600)
    error = rejected(verifier, token, keys, nonce=NONCE)
    assert error.rule == "exp"
    assert "expired at" in str(error)


def test_expiry_within_the_leeway_is_tolerated(verifier, keys, make_token):
    now = time.time()
    token = make_token(iat=int(now) - 600, exp=int(now) - 30)
    assert verifier.verify(token, keys, nonce=NONCE)["sub"]


def test_leeway_is_configurable(keys, make_token):
    strict = IdTokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, leeway=0)
    now = time.time()
    with pytest.raises(TokenVerificationError) as info:
        strict.verify(make_token(iat=int(now) - 600, exp=int(now) - 5), keys, nonce=NONCE)
    assert info.value.rule == "exp"


def test_nbf_in_the_future_is_refused(verifier, keys, make_token):
    token = make_token(nbf=int(time.time()) + 600)
    assert rejected(verifier, token, keys, nonce=NONCE).rule == "nbf"


def test_iat_in_the_future_beyond_leeway_is_refused(verifier, keys, make_token):
    now = int(time.time())
    token = make_token(iat=now + 600, exp=now + 4200)
    error = rejected(verifier, token, keys, nonce=NONCE)
    assert error.rule == "iat"
    assert "in the future" in str(error)


def test_iat_slightly_ahead_is_tolerated(verifier, keys, make_token):
    now = int(time.time())
    assert verifier.verify(make_token(iat=now + 20), keys, nonce=NONCE)


def test_wrong_issuer_is_refused(verifier, keys, make_token):
    error = rejected(verifier, make_token(iss="https://evil.example/oauth2/token"), keys)
    assert error.rule == "iss"
    assert "evil.example" in str(error)


def test_wrong_audience_is_refused(verifier, keys, make_token):
    error = rejected(verifier, make_token(aud="another-app", azp="another-app"), keys)
    assert error.rule == "aud"


def test_audience_list_with_azp_is_accepted_when_the_others_are_trusted(keys, make_token):
    trusting = IdTokenVerifier(
        issuer=ISSUER, client_id=CLIENT_ID, trusted_audiences=["api.example"]
    )
    token = make_token(aud=[CLIENT_ID, "api.example"], azp=CLIENT_ID)
    assert trusting.verify(token, keys, nonce=NONCE)["aud"] == [CLIENT_ID, "api.example"]


def test_an_audience_this_client_does_not_trust_is_refused(verifier, keys, make_token):
    token = make_token(aud=[CLIENT_ID, "api.example"], azp=CLIENT_ID)
    error = rejected(verifier, token, keys)
    assert error.rule == "aud"
    assert "'api.example'" in str(error)
    assert "TRUSTED_AUDIENCES" in str(error)


def test_a_missing_exp_is_not_called_expired(verifier, keys, make_token):
    error = rejected(verifier, make_token(exp=None), keys)
    assert error.rule == "exp"
    assert "no exp claim" in str(error)
    assert "malformed (not expired)" in str(error)


def test_several_audiences_without_azp_are_refused(verifier, keys, make_token):
    error = rejected(verifier, make_token(aud=[CLIENT_ID, "api.example"], azp=None), keys)
    assert error.rule == "azp"


def test_azp_naming_another_client_is_refused(verifier, keys, make_token):
    assert rejected(verifier, make_token(azp="another-app"), keys).rule == "azp"


def test_wrong_nonce_is_refused(verifier, keys, make_token):
    error = rejected(verifier, make_token(), keys, nonce="the-one-this-login-sent")
    assert error.rule == "nonce"


def test_missing_nonce_is_refused_when_the_login_sent_one(verifier, keys, make_token):
    assert rejected(verifier, make_token(nonce=None), keys, nonce=NONCE).rule == "nonce"


def test_at_hash_must_match_the_access_token(verifier, keys, make_token):
    access = "2YotnFZFEjr1zCsicMWpAA"
    good = make_token(at_hash=token_hash(access, "RS256"))
    assert verifier.verify(good, keys, nonce=NONCE, access_token=access)
    error = rejected(verifier, good, keys, nonce=NONCE, access_token="another-access-token")
    assert error.rule == "at_hash"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "aud", "iss"])
def test_required_claims_must_be_present(verifier, keys, make_token, claim):
    assert rejected(verifier, make_token(**{claim: None}), keys).rule == claim


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig"])
def test_malformed_tokens_are_refused(verifier, keys, token):
    assert rejected(verifier, token, keys).rule in {"format", "alg"}


def test_unknown_kid_is_reported_for_a_refetch(verifier, keys, other_rsa_key):
    with pytest.raises(UnknownKeyError) as info:
        verifier.verify(sign(base_claims(), other_rsa_key), keys)
    assert info.value.rule == "kid"
    assert "key-2" in str(info.value)


def test_token_without_kid_is_tried_against_fitting_keys(verifier, rsa_key, other_rsa_key):
    both = KeySet.from_jwks({"keys": [other_rsa_key.jwk, rsa_key.jwk]}, fetched_at=0)
    assert verifier.verify(sign(base_claims(), rsa_key, kid=None), both, nonce=NONCE)


def test_es256_works_when_configured(ec_key):
    keys = KeySet.from_jwks({"keys": [ec_key.jwk]}, fetched_at=0)
    verifier = IdTokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, algorithms=["ES256", "RS256"])
    token = sign(base_claims(), ec_key, alg="ES256")
    assert verifier.verify(token, keys, nonce=NONCE)["iss"] == ISSUER


def test_rsa_alg_on_an_ec_key_is_refused(ec_key, rsa_key):
    keys = KeySet.from_jwks({"keys": [ec_key.jwk]}, fetched_at=0)
    verifier = IdTokenVerifier(issuer=ISSUER, client_id=CLIENT_ID, algorithms=["ES256", "RS256"])
    token = sign(base_claims(), rsa_key, kid=ec_key.kid)
    with pytest.raises(TokenVerificationError) as info:
        verifier.verify(token, keys)
    assert info.value.rule == "alg"


def test_jwks_skips_keys_it_cannot_use(rsa_key):
    document = {
        "keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {**rsa_key.jwk, "kid": "enc", "use": "enc"},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            rsa_key.jwk,
        ]
    }
    assert KeySet.from_jwks(document, fetched_at=0).kids() == [rsa_key.kid]


# --- through the client: JWKS cache and the one refetch on an unknown kid ---------------------


@pytest.fixture
def provider(rsa_key: Key) -> FakeProvider:
    return FakeProvider({"keys": [rsa_key.jwk]})


def test_jwks_is_fetched_once_and_cached(provider, make_token):
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        for _ in range(3):
            sso.verify_id_token(make_token(), nonce=NONCE)
    assert provider.count("/oauth2/jwks") == 1


def test_key_rotation_triggers_exactly_one_refetch(provider, rsa_key, other_rsa_key):
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        sso.verify_id_token(sign(base_claims(), rsa_key))
        provider.jwks = {"keys": [other_rsa_key.jwk, rsa_key.jwk]}  # the provider rotates
        claims = sso.verify_id_token(sign(base_claims(), other_rsa_key))
    assert claims["sub"] == "001085000001"
    assert provider.count("/oauth2/jwks") == 2


def test_unknown_kid_fails_after_one_refetch(provider, make_token, other_rsa_key):
    clock = ManualClock(datetime.now(UTC))
    with SsoClient(sso_settings(), transport=provider.transport(), clock=clock) as sso:
        sso.verify_id_token(make_token())
        with pytest.raises(TokenVerificationError) as info:
            sso.verify_id_token(sign(base_claims(), other_rsa_key))
        assert info.value.rule == "kid"
        assert provider.count("/oauth2/jwks") == 2  # one refetch, not a loop
        for _ in range(20):  # a flood of made-up kids within the cooldown costs nothing
            with pytest.raises(TokenVerificationError):
                sso.verify_id_token(sign(base_claims(), other_rsa_key))
        assert provider.count("/oauth2/jwks") == 2
        clock.advance(61)  # after the cooldown, an unknown kid may mean a real rotation
        with pytest.raises(TokenVerificationError):
            sso.verify_id_token(sign(base_claims(), other_rsa_key))
    assert provider.count("/oauth2/jwks") == 3


def test_first_fetch_does_not_refetch(provider, other_rsa_key):
    sso = SsoClient(sso_settings(), transport=provider.transport())
    with pytest.raises(TokenVerificationError):
        sso.verify_id_token(sign(base_claims(), other_rsa_key))
    sso.close()
    assert provider.count("/oauth2/jwks") == 1


def test_jwks_cache_expires_after_its_ttl(provider, make_token):
    clock = ManualClock(datetime.now(UTC))
    settings = sso_settings(options={"jwks_ttl": 300})
    with SsoClient(settings, transport=provider.transport(), clock=clock) as sso:
        sso.verify_id_token(make_token())
        clock.advance(299)
        sso.verify_id_token(make_token())
        assert provider.count("/oauth2/jwks") == 1
        clock.advance(2)
        sso.verify_id_token(make_token())
    assert provider.count("/oauth2/jwks") == 2


def test_a_wall_clock_step_back_does_not_keep_rotated_keys_out(provider, make_token):
    clock = ManualClock(datetime.now(UTC))
    settings = sso_settings(options={"jwks_ttl": 300})
    with SsoClient(settings, transport=provider.transport(), clock=clock) as sso:
        sso.verify_id_token(make_token())
        clock.set(clock.now() - timedelta(days=1))  # NTP steps the wall clock back a day
        clock.advance(301)  # ... while 301 s really pass
        sso.verify_id_token(make_token(now=clock.now().timestamp()))
    assert provider.count("/oauth2/jwks") == 2


def test_a_skipped_refetch_says_why(provider, make_token, other_rsa_key):
    clock = ManualClock(datetime.now(UTC))
    with SsoClient(sso_settings(), transport=provider.transport(), clock=clock) as sso:
        sso.verify_id_token(make_token())
        with pytest.raises(TokenVerificationError):
            sso.verify_id_token(sign(base_claims(), other_rsa_key))
        clock.advance(10)
        with pytest.raises(TokenVerificationError) as info:
            sso.verify_id_token(sign(base_claims(), other_rsa_key))
    assert "refetched 10 s ago" in str(info.value)
    assert "retry in 50 s" in str(info.value)


def test_critical_header_extensions_are_refused(verifier, keys, rsa_key):
    token = jwt.encode(
        base_claims(),
        rsa_key.private,
        algorithm="RS256",
        headers={"kid": rsa_key.kid, "crit": ["exp"]},
    )
    assert rejected(verifier, token, keys).rule == "format"


def test_non_canonical_base64_is_refused(verifier, keys, make_token):
    header, payload, signature = make_token().split(".")
    # same bytes, different text: flip the unused low bits of the last character
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    forged = f"{header}.{payload}.{signature[:-1]}{twin}"
    assert rejected(verifier, forged, keys).rule in {"format", "signature"}


def test_padded_segments_are_tolerated(verifier, keys, make_token):
    header, payload, signature = make_token().split(".")
    padded = signature + "=" * (-len(signature) % 4)
    assert verifier.verify(f"{header}.{payload}.{padded}", keys, nonce=NONCE)


def test_weak_rsa_keys_in_the_jwks_are_ignored():
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    jwk = RSAAlgorithm.to_jwk(weak.public_key(), as_dict=True)
    assert KeySet.from_jwks({"keys": [{**jwk, "kid": "weak"}]}, fetched_at=0).kids() == []


def test_client_secret_is_not_in_the_config_repr(provider):
    with SsoClient(sso_settings(), transport=provider.transport()) as sso:
        assert "s3cret" not in repr(sso.protocol.config)
