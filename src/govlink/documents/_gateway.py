"""The provincial-gateway face of the exchange (PLATFORMS.md §5), sans-I/O.

Through an LGSP the same operations appear as REST resources behind the gateway's
bearer token (``govlink.core.auth``, ``settings.gateway.auth``):

* ``GET /vanbans?madinhdanh=<agency>&type=edoc|status`` — the received list
  (``&sent=true`` for the sent list: govlink's assumption, no public source);
* ``POST /vanbans`` with JSON ``{madinhdanh, messagetype, data: <base64 edXML>}``;
* ``GET /vanbans/{docId}?madinhdanh=…`` — ``data.content`` is the base64 package;
* ``PUT /vanbans/{docId}`` with ``{madinhdanh, status}``, status ``INITIAL`` /
  ``PROCESSING`` / ``DONE`` / ``FAIL`` (mapped from processing/done/fail);
* ``GET /donvilienthongs`` — connected agencies.

The agency (``madinhdanh``) is sent explicitly because a gateway token names the
calling application, not an agency. Replies use the axis's envelope
(``{status, ErrorCode, ErrorDesc, data, DocId}``); paths are configurable.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from govlink.core.errors import ConfigurationError, PlatformError
from govlink.documents._rest import (
    AxisRequest,
    Operation,
    content_from_reply,
    raise_for_reply,
    reply_from_json,
    results_for,
)

__all__ = ["GATEWAY_PATHS", "GATEWAY_STATES", "GatewayProtocol"]

GATEWAY_PATHS: dict[str, str] = {
    "documents": "/vanbans",
    "agencies": "/donvilienthongs",
}
GATEWAY_STATES: dict[str, str] = {
    "initial": "INITIAL",
    "processing": "PROCESSING",
    "done": "DONE",
    "fail": "FAIL",
}
_AXIS_ONLY = frozenset({"register", "delete_agency", "sync_units"})


class GatewayProtocol:
    """Builds gateway requests and parses their replies."""

    variant = "gateway"

    def __init__(self, *, paths: Mapping[str, str] | None = None) -> None:
        self.paths = {**GATEWAY_PATHS, **(paths or {})}

    @staticmethod
    def _agency(operation: Operation) -> str:
        if not operation.agency:
            raise ConfigurationError(
                "the provincial gateway needs the agency code (madinhdanh) of each call",
                setting="GOVLINK_DOCUMENTS__OPTIONS__AGENCY_CODE",
                expected="your agency code, e.g. 000.00.00.H47",
            )
        return operation.agency

    def build(self, operation: Operation) -> AxisRequest:
        documents = self.paths["documents"]
        name = operation.name
        if name == "agencies":
            return AxisRequest("GET", self.paths["agencies"])
        if name in _AXIS_ONLY:
            raise PlatformError(
                f"{name} is not available through the provincial gateway",
                hint="use the axis REST API for it (documents.options.variant=rest)",
            )
        agency = self._agency(operation)
        if name in ("received", "sent", "count", "count_status"):
            kind = "status" if name == "count_status" else operation.messagetype
            params = {"madinhdanh": agency, "type": kind}
            if name == "sent":
                params["sent"] = "true"
            return AxisRequest("GET", documents, params=params)
        if name == "send":
            body = {
                "madinhdanh": agency,
                "messagetype": operation.messagetype,
                "data": base64.b64encode(operation.content or b"").decode("ascii"),
            }
            return AxisRequest("POST", documents, json=body)
        doc_path = f"{documents}/{quote(operation.doc_id or '', safe='')}"
        if name in ("get", "download"):
            return AxisRequest("GET", doc_path, params={"madinhdanh": agency})
        if name == "update_state":
            state = GATEWAY_STATES.get(operation.state or "", (operation.state or "").upper())
            return AxisRequest(
                "PUT",
                doc_path,
                json={"madinhdanh": agency, "status": state},
            )
        raise ValueError(f"unknown operation {name!r}")  # pragma: no cover - programming error

    def parse(
        self, operation: Operation, status_code: int, headers: Mapping[str, str], body: bytes
    ) -> Any:
        what = f"gateway {operation.name}"
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise PlatformError(
                f"{what}: the gateway answered HTTP {status_code} with something that is not JSON",
                raw=body,
                status_code=status_code,
                hint="check documents.base_url and documents.paths for this gateway",
            ) from None
        reply = raise_for_reply(
            reply_from_json(data, status_code=status_code, what=what),
            status_code=status_code,
            what=what,
        )
        if operation.name in ("get", "download"):
            return content_from_reply(reply, what)
        if operation.name in ("count", "count_status"):
            return len(results_for(Operation("received"), reply, what=what))
        return results_for(operation, reply, what=what)
