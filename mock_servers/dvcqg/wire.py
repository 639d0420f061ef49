"""Replies of the DVCQG mock: JSON bodies with ``error_code`` and ``message``."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = ["error", "json_body", "missing_any", "reply"]


def reply(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        status_code=status,
        media_type="application/json",
    )


def error(code: str, message: str) -> Response:
    return reply({"error_code": code, "message": message, "result": []})


def json_body(raw: bytes, kind: type[dict[str, Any]] | type[list[Any]]) -> Any:
    """The decoded body when it is a JSON ``kind``, else the portal's ``04`` answer."""
    try:
        data = json.loads(raw)
    except ValueError:
        return error("04", "Dữ liệu gửi lên không phải JSON hợp lệ (body is not JSON)")
    if not isinstance(data, kind):
        shape = "một đối tượng JSON (expected an object)"
        if kind is list:
            shape = "một danh sách JSON (expected a JSON array)"
        return error("04", f"Dữ liệu gửi lên phải là {shape}")
    return data


def missing_any(item: dict[str, Any], names: tuple[str, ...]) -> Response | None:
    for name in names:
        if item.get(name) in (None, ""):
            return error("11", f"Thiếu trường bắt buộc {name} (missing required field)")
    return None
