"""The SOAP face of the exchange: the same operations over ``wsdl/vdxp.wsdl``.

For deployments that expose the axis operations as a SOAP service. Each operation
takes the REST API's JSON request header (and ``content``, the base64 package, for
``sendEdoc``) and answers the REST reply's fields, so request building and reply
checking are shared with :mod:`.rest`; the signed HTTP headers are added by the same
:class:`~govlink.documents.rest.VdxpHmacAuth`. zeep (through
:mod:`govlink.core.soap`) does the XML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from govlink.core.errors import PlatformError
from govlink.documents.rest import (
    Operation,
    raise_for_reply,
    reply_from_json,
    results_for,
)

__all__ = ["SOAP_OPERATIONS", "WSDL_PATH", "SoapProtocol"]

WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "vdxp.wsdl"
SOAP_OPERATIONS: dict[str, str] = {
    "send": "sendEdoc",
    "received": "getReceivedEdocList",
    "sent": "getSentEdocList",
    "get": "getEdoc",
    "update_state": "updateStatus",
    "agencies": "getAgenciesList",
    "register": "registerAgency",
}


class SoapProtocol:
    """Maps operations to SOAP calls and SOAP results back to typed results."""

    variant = "soap"

    def call(self, operation: Operation) -> tuple[str, dict[str, Any]]:
        """The SOAP operation name and its parameters."""
        if operation.name not in SOAP_OPERATIONS:
            raise PlatformError(f"{operation.name} is not available over SOAP")
        header: dict[str, Any] = {"servicetype": "eDoc", "messagetype": operation.messagetype}
        if operation.name == "register":
            header = dict(operation.data or {})
        else:
            if operation.agency:
                header["from" if operation.name == "send" else "agency"] = operation.agency
            if operation.doc_id:
                header["docId"] = operation.doc_id
            if operation.state:
                header["status"] = operation.state
        params: dict[str, Any] = {"header": json.dumps(header, ensure_ascii=False)}
        if operation.name == "send":
            params["content"] = operation.content or b""
        return SOAP_OPERATIONS[operation.name], params

    def parse(self, operation: Operation, value: Any) -> Any:
        what = f"VDXP SOAP {SOAP_OPERATIONS.get(operation.name, operation.name)}"
        fields = {
            name: getattr(value, name, None)
            for name in ("status", "ErrorCode", "ErrorDesc", "data", "DocId")
        }
        data = fields.get("data")
        if isinstance(data, str) and data:
            try:
                fields["data"] = json.loads(data)
            except ValueError:
                raise PlatformError(f"{what}: data is not JSON", raw=data) from None
        reply = raise_for_reply(
            reply_from_json(fields, status_code=200, what=what), status_code=200, what=what
        )
        if operation.name == "get":
            content = getattr(value, "content", None)
            if not content:
                raise PlatformError(f"{what}: the reply carries no document content")
            return bytes(content)
        return results_for(operation, reply, what=what)
