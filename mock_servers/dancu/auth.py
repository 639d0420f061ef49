"""Credential checks the population database (or the exchange in front of it) makes.

Three accepted forms, as in PLATFORMS.md §4 and §6:

* ``Authorization: Basic base64(user:sha256hex(url + user + Timestamp + secret))``
  with a ``Timestamp: yyyyMMddHHmmss`` header (Vietnam time) within
  ``timestamp_tolerance`` seconds (default 300) of the virtual clock; ``url`` is the
  full request URL; the user and secret are a ``kind: dancu`` client of the seed
  (``username`` or ``client_id``, and ``client_secret``);
* ``X-Road-Client: INSTANCE/CLASS/MEMBER/SUBSYSTEM`` whose MEMBER or SUBSYSTEM is the
  ``client_id`` of a ``dancu`` client (the exchange authenticated the caller);
* ``Authorization: Bearer <token>`` issued by the gateway mock (``/gateway/token``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mock_servers.context import VN_TZ, MockContext

__all__ = ["DEFAULT_TOLERANCE", "check_credentials"]

DEFAULT_TOLERANCE = 300.0


def _same(a: object, b: object) -> bool:
    return isinstance(a, str) and isinstance(b, str) and hmac.compare_digest(a.encode(), b.encode())


def _clients(ctx: MockContext) -> list[dict[str, Any]]:
    return [
        c for c in ctx.seed.section("clients") if isinstance(c, dict) and c.get("kind") == "dancu"
    ]


def _timestamp(text: str) -> datetime:
    """``yyyyMMddHHmmss`` (Vietnam time). The usual 14 digits are sliced (``strptime``
    costs ten times more, on every call); anything else gets ``strptime``'s checks."""
    if len(text) == 14 and text.isascii() and text.isdigit():
        parts = (text[:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:])
        year, month, day, hour, minute, second = (int(p) for p in parts)
        return datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=VN_TZ)


def _hashed_basic(
    ctx: MockContext, value: str, timestamp: str | None, url: str, tolerance: float
) -> str | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "the Basic credentials are not base64 of user:digest"
    user, sep, digest = decoded.partition(":")
    if not sep:
        return "the Basic credentials are not user:digest"
    if not timestamp:
        return "the Timestamp header is missing"
    try:
        sent = _timestamp(timestamp.strip())
    except ValueError:
        return "the Timestamp header is not yyyyMMddHHmmss"
    skew = abs((ctx.clock.now() - sent).total_seconds())
    if skew > tolerance:
        return f"the Timestamp is {skew:.0f} s away from the service clock (limit {tolerance:g})"
    for client in _clients(ctx):
        if not (_same(client.get("username"), user) or _same(client.get("client_id"), user)):
            continue
        secret = client.get("client_secret") or client.get("password") or ""
        expected = hashlib.sha256(f"{url}{user}{timestamp}{secret}".encode()).hexdigest()
        if _same(expected, digest.lower()):
            return None
    return "unknown user or wrong digest"


def _x_road(ctx: MockContext, value: str) -> str | None:
    parts = value.strip().split("/")
    if len(parts) != 4 or not all(parts):
        return "X-Road-Client must be INSTANCE/CLASS/MEMBER/SUBSYSTEM"
    known = [c.get("client_id") for c in _clients(ctx)]
    if any(_same(parts[2], k) or _same(parts[3], k) for k in known):
        return None
    return "the X-Road client is not registered for this service"


def _bearer(ctx: MockContext, token: str) -> str | None:
    try:
        from mock_servers.gateway import token_is_valid
    except ImportError:  # pragma: no cover - the gateway mock ships with the server
        return "no gateway is configured to check bearer tokens"
    return None if token_is_valid(ctx, token) else "the gateway token is invalid or expired"


def check_credentials(
    ctx: MockContext, headers: Mapping[str, str], url: str, tolerance: float = DEFAULT_TOLERANCE
) -> tuple[str | None, str | None]:
    """``(style, None)`` when accepted, ``(style or None, reason)`` when refused."""
    authorization = headers.get("authorization", "")
    scheme, _sep, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value:
        return "bearer", _bearer(ctx, value.strip())
    if scheme.lower() == "basic" and value:
        return "hashed_basic", _hashed_basic(ctx, value, headers.get("timestamp"), url, tolerance)
    x_road = headers.get("x-road-client")
    if x_road:
        return "x_road", _x_road(ctx, x_road)
    return None, "no credentials (Authorization or X-Road-Client header)"
