"""The mock axis's SOAP endpoint (``POST /vdxp/soap``), written with lxml only.

Same operations as the REST API, same signed HTTP headers, same store: a request's
body element names the operation and carries ``header`` (the JSON request header)
and, for ``sendEdoc``, ``content`` (the edXML package, base64). Replies carry the
REST reply's fields. Namespace ``urn:govlink:vdxp:soap`` (govlink's WSDL).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from lxml import etree
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_servers.vdxp.dsig import PackageRejected, parse

if TYPE_CHECKING:
    from mock_servers.vdxp.platform import VdxpPlatform

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "urn:govlink:vdxp:soap"
OPERATIONS = (
    "sendEdoc",
    "getReceivedEdocList",
    "getSentEdocList",
    "getEdoc",
    "updateStatus",
    "getAgenciesList",
    "registerAgency",
)


def _envelope(operation: str, fields: dict[str, str | None]) -> bytes:
    nsmap: Any = {"soap": SOAP_NS, "tns": SERVICE_NS}
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap=nsmap)
    body = etree.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    reply = etree.SubElement(body, f"{{{SERVICE_NS}}}{operation}Response")
    for name in ("status", "ErrorCode", "ErrorDesc", "data", "DocId", "content"):
        value = fields.get(name)
        if value is not None:
            etree.SubElement(reply, f"{{{SERVICE_NS}}}{name}").text = value
    out: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return out


def _fault(code: str, text: str, status: int = 500) -> Response:
    nsmap: Any = {"soap": SOAP_NS}
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap=nsmap)
    body = etree.SubElement(envelope, f"{{{SOAP_NS}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP_NS}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(fault, "faultstring").text = text
    return Response(
        etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"),
        status_code=status,
        media_type="text/xml; charset=utf-8",
    )


def soap_routes(platform: VdxpPlatform) -> list[Route]:
    from mock_servers.vdxp.platform import Refused

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            root = parse(raw)  # size cap, no entities, no DTD, no network
        except PackageRejected as exc:
            return _fault("Client", str(exc))
        body = root.find(f"{{{SOAP_NS}}}Body")
        call = body[0] if body is not None and len(body) else None
        if call is None or etree.QName(call).localname not in OPERATIONS:
            return _fault("Client", "unknown or missing operation")
        operation = etree.QName(call).localname
        header_text = call.findtext(f"{{{SERVICE_NS}}}header") or "{}"
        content_text = call.findtext(f"{{{SERVICE_NS}}}content")
        try:
            header = json.loads(header_text)
            if not isinstance(header, dict):
                raise ValueError("not an object")
        except ValueError:
            return _ok(
                operation,
                {
                    "status": "FAIL",
                    "ErrorCode": "E_HEADER",
                    "ErrorDesc": "header must be a JSON object",
                },
            )
        try:
            caller = platform._authenticate(request)
            fields = _dispatch(platform, caller, operation, header, content_text)
        except Refused as exc:
            fields = {"status": "FAIL", "ErrorCode": exc.code, "ErrorDesc": exc.message}
        return _ok(operation, fields)

    return [Route("/soap", endpoint, methods=["POST"])]


def _ok(operation: str, fields: dict[str, str | None]) -> Response:
    return Response(_envelope(operation, fields), media_type="text/xml; charset=utf-8")


def _dispatch(
    platform: VdxpPlatform,
    caller: dict[str, Any],
    operation: str,
    header: dict[str, Any],
    content: str | None,
) -> dict[str, str | None]:
    from mock_servers.vdxp.platform import Refused

    ok: dict[str, str | None] = {"status": "OK", "ErrorCode": "0", "ErrorDesc": ""}
    kind = header.get("messagetype", "edoc")
    if operation == "sendEdoc":
        try:
            package = base64.b64decode(content or "", validate=True)
        except binascii.Error:
            raise Refused("E_FORMAT", "content must be base64") from None
        doc_id = platform.receive(
            package,
            sender_ok=lambda code: platform._owned(caller, code),
            expected_type=header.get("messagetype"),
        )
        return {**ok, "DocId": doc_id}
    if operation == "getAgenciesList":
        agencies = [platform._public(a) for a in platform.agencies().values()]
        return {**ok, "data": json.dumps(agencies)}
    if operation == "registerAgency":
        return {**ok, "data": json.dumps(platform.register(caller, header))}
    agency = platform._acting_as(caller, header)
    if operation == "getReceivedEdocList":
        return {**ok, "data": json.dumps(platform.received_list(agency, kind))}
    if operation == "getSentEdocList":
        return {**ok, "data": json.dumps(platform.sent_list(agency, kind))}
    if operation == "getEdoc":
        doc_id = str(header.get("docId") or "")
        package = platform.fetch(doc_id, agency)
        return {**ok, "DocId": doc_id, "content": base64.b64encode(package).decode("ascii")}
    doc_id = str(header.get("docId") or "")
    platform.set_state(doc_id, agency, str(header.get("status", "")))
    return {**ok, "DocId": doc_id}
