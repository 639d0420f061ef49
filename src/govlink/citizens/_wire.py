"""The population database on the wire: SOAP 1.1 envelopes, or the provincial gateway's JSON.

Sans-I/O. A request is an ordered list of wire fields (:data:`Fields`); a
:class:`WireFormat` turns it into an HTTP body and turns the HTTP reply back into the
element that holds the operation's answer. Two formats, chosen per profile
(``settings.citizens.options.transport``):

* ``soap`` (default): a document/literal envelope in ``http://dancuquocgia.bca``,
  field order as in the shipped XSD; the reply's ``Body`` holds either the
  ``…Response`` element or the answer's elements directly (both are read);
* ``gateway_json``: the provincial gateway of PLATFORMS.md §4 ([TD]). It takes the
  request as one flat JSON object (``HoVaTen, SoDinhDanh, SoCMND, NgayThangNam, Nam,
  MaTichHop, MaDVC, MaCanBo, MaYeuCau`` and an operation's own fields) and answers
  ``{"error_code": …, "message": "<the SOAP reply as text>"}``; the SOAP reply inside
  is then read exactly as a direct one.

Replies are parsed only by :func:`govlink.core.xml.parse_xml` (no DTD, no entities,
size-capped) after :mod:`govlink.core.http` read them with the same cap.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from govlink.citizens.options import WireName
from govlink.core.errors import GovLinkError, PlatformError
from govlink.core.soap import SoapFault, fault_from_element, not_soap_error
from govlink.core.xml import XmlRejectedError, parse_xml

__all__ = [
    "NS",
    "SOAP_ENV",
    "Encoded",
    "Fields",
    "GatewayJson",
    "SoapEnvelope",
    "WireFormat",
    "WireName",
    "wire_format",
]

NS = "http://dancuquocgia.bca"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

Fields = Sequence[tuple[str, "str | Mapping[str, str] | None"]]
"""A request's wire fields in schema order: text, a nested element of texts, or absent."""

FaultMapper = Callable[[SoapFault], GovLinkError]


@dataclass(frozen=True)
class Encoded:
    """An HTTP body ready to send."""

    content: bytes
    headers: Mapping[str, str]


class WireFormat(ABC):
    """How requests are written and replies unwrapped (one instance per client)."""

    name: WireName

    @abstractmethod
    def encode(self, operation: str, fields: Fields) -> Encoded:
        """The HTTP body and headers of one request."""

    @abstractmethod
    def decode(
        self,
        operation: str,
        content: bytes,
        status_code: int,
        *,
        max_bytes: int,
        correlation_id: str | None,
        map_fault: FaultMapper,
    ) -> etree._Element:
        """The element holding the answer; faults and gateway errors are raised."""


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def _soap_payload(
    operation: str,
    content: bytes,
    status_code: int,
    *,
    max_bytes: int,
    correlation_id: str | None,
    map_fault: FaultMapper,
) -> etree._Element:
    """The element holding the answer: the ``…Response`` element, or ``Body`` itself."""
    try:
        root = parse_xml(content, max_bytes=max_bytes, what=f"the {operation} reply")
    except XmlRejectedError as exc:
        raise _not_soap(operation, status_code, content, correlation_id, str(exc)) from None
    if _local(root.tag) != "Envelope":
        raise _not_soap(operation, status_code, content, correlation_id, "no SOAP Envelope")
    body = next((c for c in root if _local(c.tag) == "Body"), None)
    if body is None:
        raise _not_soap(operation, status_code, content, correlation_id, "no SOAP Body")
    children = [c for c in body if isinstance(c.tag, str)]
    for child in children:
        if _local(child.tag) == "Fault":
            fault = fault_from_element(
                child,
                status_code=status_code,
                raw=content,
                operation=operation,
                correlation_id=correlation_id,
            )
            error = map_fault(fault)
            if error.correlation_id is None:
                error.correlation_id = correlation_id
            raise error
    if status_code >= 300:
        raise _not_soap(operation, status_code, content, correlation_id, "an HTTP error")
    if len(children) == 1 and _local(children[0].tag).endswith("Response"):
        if _local(children[0].tag) == f"{operation}Response":
            return children[0]
        raise _not_soap(
            operation,
            status_code,
            content,
            correlation_id,
            f"the reply is {_local(children[0].tag)}, not {operation}Response",
        )
    return body


def _not_soap(
    operation: str, status: int, content: bytes, cid: str | None, why: str
) -> GovLinkError:
    return not_soap_error(operation, status, content, cid, why)


class SoapEnvelope(WireFormat):
    """SOAP 1.1 document/literal, as the national service takes it."""

    name: WireName = "soap"

    def encode(self, operation: str, fields: Fields) -> Encoded:
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "tns": NS})
        body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
        request = etree.SubElement(body, f"{{{NS}}}{operation}")
        for name, value in fields:
            if value is None:
                continue
            element = etree.SubElement(request, f"{{{NS}}}{name}")
            if isinstance(value, str):
                element.text = value
            else:
                for child, text in value.items():
                    etree.SubElement(element, f"{{{NS}}}{child}").text = text
        content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        return Encoded(
            content,
            {
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{NS}/{operation}"',
            },
        )

    def decode(
        self,
        operation: str,
        content: bytes,
        status_code: int,
        *,
        max_bytes: int,
        correlation_id: str | None,
        map_fault: FaultMapper,
    ) -> etree._Element:
        return _soap_payload(
            operation,
            content,
            status_code,
            max_bytes=max_bytes,
            correlation_id=correlation_id,
            map_fault=map_fault,
        )


_GATEWAY_OK = frozenset({"", "0", "00", "200"})


class GatewayJson(WireFormat):
    """The provincial gateway variant: flat JSON in, ``{error_code, message}`` out."""

    name: WireName = "gateway_json"

    def encode(self, operation: str, fields: Fields) -> Encoded:
        flat: dict[str, str] = {}
        for name, value in fields:
            if value is None:
                continue
            if isinstance(value, str):
                flat[name] = value
            else:
                flat.update(value)  # NgayThangNamSinh{NgayThangNam|Nam} travels flat
        content = json.dumps(flat, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return Encoded(content, {"Content-Type": "application/json; charset=utf-8"})

    def decode(
        self,
        operation: str,
        content: bytes,
        status_code: int,
        *,
        max_bytes: int,
        correlation_id: str | None,
        map_fault: FaultMapper,
    ) -> etree._Element:
        try:
            reply = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            reply = None
        if not isinstance(reply, dict) or not isinstance(reply.get("message"), str):
            raise _not_soap(
                operation,
                status_code,
                content,
                correlation_id,
                "the gateway's reply is not JSON {error_code, message}",
            )
        code = str(reply.get("error_code") if reply.get("error_code") is not None else "")
        message: str = reply["message"]
        if message.lstrip().startswith("<"):
            # the SOAP reply inside decides (a fault keeps its own code and detail)
            payload = _soap_payload(
                operation,
                message.encode("utf-8"),
                status_code if code in _GATEWAY_OK else max(status_code, 500),
                max_bytes=max_bytes,
                correlation_id=correlation_id,
                map_fault=map_fault,
            )
            if code in _GATEWAY_OK:
                return payload
        if status_code in (401, 403):
            raise _not_soap(operation, status_code, content, correlation_id, "refused")
        raise PlatformError(
            f"{operation}: the provincial gateway answered error_code {code or '(none)'}",
            code=code or None,
            raw=content,
            status_code=status_code,
            hint="the gateway refused or failed the call; its message is in the evidence",
            correlation_id=correlation_id,
        )


def wire_format(name: WireName) -> WireFormat:
    """The wire format named by the profile option ``transport``."""
    return GatewayJson() if name == "gateway_json" else SoapEnvelope()
