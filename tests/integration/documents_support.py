"""Settings for two demo agencies on the mock axis, signing with the mock's test PKI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mock_servers.vdxp.pki import PKI_DIR

AGENCY_A = "000.00.00.H47"
AGENCY_B = "000.00.00.G22"
SYSTEMS = {
    AGENCY_A: ("000.00.00.H47", "demo-vdxp-secret"),
    AGENCY_B: ("vpcp", "demo-g22-secret"),
}
CA = PKI_DIR / "ca.cert.pem"


def agency_options(code: str, **extra: Any) -> dict[str, Any]:
    return {
        "agency_code": code,
        "signing_key": str(PKI_DIR / f"{code}.key.pem"),
        "signing_cert": str(PKI_DIR / f"{code}.cert.pem"),
        "trust_store": str(CA),
        **extra,
    }


def agency_settings(mock: Any, code: str, *, variant: str = "rest", **options: Any) -> Any:
    """GovLinkSettings for ``code`` on the mock ``mock`` (a MockHandle)."""
    system_id, secret = SYSTEMS[code]
    return mock.settings(
        documents={
            "auth": {"style": "vdxp_hmac", "client_id": system_id, "client_secret": secret},
            "options": agency_options(code, variant=variant, **options),
        },
        http={"max_retries": 0},
    )


def pki(name: str) -> Path:
    return PKI_DIR / name
