"""SOAP 1.1 on the wire, written with lxml alone (independent of zeep and govlink).

Parsing is hardened: no DTD, no entities, no network, no huge trees, and a size cap.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

__all__ = [
    "MAX_BODY",
    "NS",
    "SOAP_ENV",
    "Malformed",
    "build_element",
    "build_fault",
    "build_response",
    "parse_request",
]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://dancuquocgia.bca"
EXT_NS = "http://dancuquocgia.bca/mo-rong"
"""Where elements the WSDL does not name go in WSDL-shaped replies (its ``xsd:any
namespace="##other"``); in the national service's own shape they share ``NS``."""
TD_COLLECTION_NS = "http://www.mic.gov.vn/dancu/1.0"
"""The namespace of ``CongdanCollection`` in replies seen from the national service."""
MAX_BODY = 256 * 1024

_local = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        _local.parser = parser
    return parser


class Malformed(ValueError):
    """The request is not a SOAP 1.1 envelope we can read (→ XML_KHONG_HOP_LE)."""


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _to_plain(element: etree._Element) -> Any:
    """An element → its text (leaf) or a dict of its children by local name."""
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return _text(element)
    out: dict[str, Any] = {}
    for child in children:
        out[etree.QName(child).localname] = _to_plain(child)
    return out


def parse_request(body: bytes) -> tuple[str, dict[str, Any]]:
    """``(operation, fields)`` of a document/literal request; fields by local name."""
    if len(body) > MAX_BODY:
        raise Malformed(f"request larger than {MAX_BODY} bytes")
    if not body.strip():
        raise Malformed("empty request body")
    try:
        root = etree.fromstring(body, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise Malformed(f"not well-formed XML: {exc.msg}") from None
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise Malformed("DOCTYPE is not allowed")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise Malformed("the root element is not a SOAP 1.1 Envelope")
    body_el = root.find(f"{{{SOAP_ENV}}}Body")
    if body_el is None:
        raise Malformed("the envelope has no Body")
    payload = [c for c in body_el if isinstance(c.tag, str)]
    if len(payload) != 1:
        raise Malformed("the Body must hold exactly one operation element")
    operation = etree.QName(payload[0])
    if operation.namespace != NS:
        raise Malformed(f"the operation element is not in namespace {NS}")
    fields = _to_plain(payload[0])
    return operation.localname, fields if isinstance(fields, dict) else {}


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    return envelope, body


def _add(
    parent: etree._Element,
    name: str,
    value: Any,
    ns: str = NS,
    extension: Mapping[str, str] | None = None,
) -> None:
    """Append ``value`` under ``parent`` as element(s) ``name`` in namespace ``ns`` (or
    ``extension[name]`` for the names it lists).

    A mapping or a list of pairs becomes a nested element (its items in order), a
    list repeats the element, None and empty mappings are skipped (every optional
    element may be absent), and an element made by :func:`build_element` is copied in
    as it is (``name`` unused).
    """
    if value is None:
        return
    if isinstance(value, list) and value and all(_is_pair(v) for v in value):
        value = dict(value)
    if isinstance(value, list | tuple):
        for item in value:
            _add(parent, name, item, ns, extension)
        return
    if isinstance(value, etree._Element):
        parent.append(copy.deepcopy(value))
        return
    if isinstance(value, Mapping) and all(v is None for v in value.values()):
        return
    where = (extension or {}).get(name, ns)
    child = etree.SubElement(parent, f"{{{where}}}{name}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _add(child, key, item, ns, extension)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    else:
        child.text = str(value)


def _is_pair(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)


def build_element(
    name: str, value: Any, ns: str = NS, extension: Mapping[str, str] | None = None
) -> etree._Element:
    """Element ``name`` holding ``value`` (as :func:`_add` writes it), to reuse in replies.

    The population database answers the same record many times; building its
    ``CongDan`` once and copying it in (a C-level copy) is a fifth of the work and
    gives the same bytes.
    """
    holder = etree.Element(f"{{{ns}}}_", nsmap={None: ns})  # type: ignore[dict-item]
    _add(holder, name, value, ns, extension)
    return holder[0]


def _serialize(envelope: etree._Element) -> bytes:
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def build_response(element: str | None, fields: Iterable[tuple[str, Any]]) -> bytes:
    """``<soap:Envelope><soap:Body><tns:element>…`` with ``fields`` in order; with
    ``element`` None the fields go straight into the Body (the national service's
    own shape for ``CongdanCollection``)."""
    envelope, body = _envelope()
    if element is None:
        response = body
    else:
        response = etree.SubElement(body, f"{{{NS}}}{element}", nsmap={None: NS})  # type: ignore[dict-item]
    for name, value in fields:
        _add(response, name, value)
    return _serialize(envelope)


def build_fault(
    faultcode: str, faultstring: str, code: str, description: str, request_id: str | None
) -> bytes:
    """A SOAP 1.1 fault whose detail is ``LoiDichVu{MaLoi, MoTaLoi, MaYeuCau}``."""
    envelope, body = _envelope()
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap:{faultcode}"
    etree.SubElement(fault, "faultstring").text = faultstring
    detail = etree.SubElement(fault, "detail")
    error = etree.SubElement(detail, f"{{{NS}}}LoiDichVu", nsmap={None: NS})  # type: ignore[dict-item]
    _add(error, "MaLoi", code)
    _add(error, "MoTaLoi", description)
    _add(error, "MaYeuCau", request_id or None)
    return _serialize(envelope)
