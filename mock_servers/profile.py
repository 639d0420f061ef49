"""The govlink settings that point at a running mock, as a dict, TOML or env vars.

Kept here (not imported from govlink) because ``mock_servers`` must not depend on
the SDK it tests. The shape is that of ``govlink.core.config.mock_profile`` and a
test compares the two, so they cannot drift apart silently. Credentials come from
the seed's ``clients`` section, so a replaced seed prints matching settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["build_profile", "profile_env", "profile_toml"]

_DEFAULTS: dict[str, dict[str, str | None]] = {
    "sso": {"client_id": "govlink-demo", "client_secret": "demo-secret"},
    "dvcqg": {
        "username": "govlink-demo",
        "password": "demo-password",
        "madonvi": "000.00.00.H47",
        "dstcode": "000.00.00.H47",
    },
    "payment": {"client_id": "GOVLINKDEMO", "client_secret": "demo-payment-secret"},
    "dancu": {"username": "govlink-demo", "client_secret": "demo-dancu-secret"},
    "vdxp": {"client_id": "000.00.00.H47", "client_secret": "demo-vdxp-secret"},
    "gateway": {"client_id": "govlink-demo", "client_secret": "demo-gateway-secret"},
}


def _client(clients: Any, kind: str) -> dict[str, Any]:
    found = dict(_DEFAULTS[kind])
    if isinstance(clients, list):
        for item in clients:
            if isinstance(item, dict) and item.get("kind") == kind:
                keys = ("client_id", "client_secret", "username", "password", "madonvi", "dstcode")
                for key in keys:
                    if key in found and item.get(key) is not None:
                        found[key] = item[key]
                break
    return found


def build_profile(urls: Mapping[str, str], clients: Any = None) -> dict[str, Any]:
    """Platform settings for ``urls`` (key → base URL) with the seed's credentials."""
    sso = _client(clients, "sso")
    dvcqg = _client(clients, "dvcqg")
    payment = _client(clients, "payment")
    dancu = _client(clients, "dancu")
    vdxp = _client(clients, "vdxp")
    gateway = _client(clients, "gateway")
    profile: dict[str, Any] = {
        "sso": {
            "base_url": urls.get("sso"),
            "auth": {
                "style": "client_secret_post",
                "client_id": sso["client_id"],
                "client_secret": sso["client_secret"],
            },
        },
        "dossiers": {
            "base_url": urls.get("dossiers"),
            "auth": {
                "style": "dvcqg_session",
                "username": dvcqg["username"],
                "password": dvcqg["password"],
                "extra": {"madonvi": dvcqg["madonvi"], "dstcode": dvcqg["dstcode"]},
            },
            # this mock drops repeated idempotency keys, so replaying a write is safe
            "options": {"portal_deduplicates": True},
        },
        "payments": {
            "base_url": urls.get("payments"),
            "auth": {
                "style": "none",
                "client_id": payment["client_id"],
                "client_secret": payment["client_secret"],
            },
        },
        "citizens": {
            "base_url": urls.get("citizens"),
            "auth": {
                "style": "hashed_basic",
                "username": dancu["username"],
                "client_secret": dancu["client_secret"],
            },
        },
        "documents": {
            "base_url": urls.get("documents"),
            "auth": {
                "style": "vdxp_hmac",
                "client_id": vdxp["client_id"],
                "client_secret": vdxp["client_secret"],
            },
            **_signing(vdxp["client_id"]),
        },
        "gateway": {
            "base_url": urls.get("gateway"),
            "auth": {
                "style": "client_credentials_basic",
                "token_url": f"{urls['gateway']}/token" if urls.get("gateway") else None,
                "client_id": gateway["client_id"],
                "client_secret": gateway["client_secret"],
            },
        },
    }
    return {name: section for name, section in profile.items() if section["base_url"]}


def _signing(agency_code: str | None) -> dict[str, Any]:
    """The test PKI's key and certificate of ``agency_code`` and its CA, as documents
    options (what the built-in profile signs and verifies with), when they exist."""
    from mock_servers.vdxp.pki import PKI_DIR

    if not agency_code:
        return {}
    key, cert = PKI_DIR / f"{agency_code}.key.pem", PKI_DIR / f"{agency_code}.cert.pem"
    ca = PKI_DIR / "ca.cert.pem"
    if not (key.is_file() and cert.is_file() and ca.is_file()):
        return {}
    options = {
        "agency_code": agency_code,
        "signing_key": str(key),
        "signing_cert": str(cert),
        "trust_store": str(ca),
    }
    return {"options": options}


def _toml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value).lower()


def profile_toml(profile: Mapping[str, Any], name: str = "mock") -> str:
    """``[profiles.NAME.<platform>]`` tables for a govlink profile file."""
    lines: list[str] = []

    def emit(table: str, values: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, Mapping) and v is not None}
        if scalars:
            lines.append(f"[{table}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in scalars.items())
            lines.append("")
        for key, value in values.items():
            if isinstance(value, Mapping) and value:
                emit(f"{table}.{key}", value)

    for platform, section in profile.items():
        emit(f"profiles.{name}.{platform}", section)
    return "\n".join(lines).rstrip() + "\n"


def profile_env(profile: Mapping[str, Any]) -> dict[str, str]:
    """``GOVLINK_…`` variables that point the built-in ``mock`` profile at this server.

    Only URLs: the built-in profile already carries the demo credentials, and
    printing secrets into shell history for nothing is a habit not worth teaching.
    """
    env = {"GOVLINK_PROFILE": "mock"}
    for platform, section in profile.items():
        env[f"GOVLINK_{platform.upper()}__BASE_URL"] = section["base_url"]
        token_url = section.get("auth", {}).get("token_url")
        if token_url:
            env[f"GOVLINK_{platform.upper()}__AUTH__TOKEN_URL"] = token_url
    return env
