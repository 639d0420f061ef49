"""Write edXML packages in the standard's namespace and element order.

Layout written (as real packages have it: the root declares the edXML namespace as
default, the envelope re-declares it with the ``edXML:`` prefix, attachments after
the envelope are unprefixed)::

    <edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
      <edXML:edXMLEnvelope xmlns:edXML="…">
        <edXML:edXMLHeader> MessageHeader, TraceHeaderList, [ds:Signature] </edXML:edXMLHeader>
        <edXML:edXMLBody> <edXML:edXMLManifest> Reference… </edXML:edXMLManifest> </edXML:edXMLBody>
      </edXML:edXMLEnvelope>
      <AttachmentEncoded> <Attachment> ContentId, AttachmentName, Description,
        ContentType, ContentTransferEncoded (base64) </Attachment>… </AttachmentEncoded>
    </edXML>

The base64 text of large attachments never enters the tree: their
``ContentTransferEncoded`` holds a random marker and
:func:`govlink.core.xml.write_xml` streams the real text in its place (see
:mod:`govlink.core.xml`). That is what keeps building, signing and writing a 50 MB
attachment within a small multiple of the attachment's size. Small ones (up to
:data:`INLINE_MAX_BYTES`) are plain text in the tree: the bytes written are the same.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, BinaryIO, cast

from lxml import etree

from govlink.core.clock import format_slash_date, format_slash_datetime
from govlink.core.errors import ValidationError
from govlink.core.xml import ExternalText, TextSource, new_marker, parse_xml, write_xml
from govlink.documents.edxml._attachments import inline_base64
from govlink.documents.edxml._fields import element_fields
from govlink.documents.edxml.models import (
    EDXML_NS,
    EdxmlModel,
    EdxmlPackage,
    StatusMessage,
)

__all__ = [
    "INLINE_MAX_BYTES",
    "BuiltTree",
    "build_package",
    "build_status",
    "package_tree",
    "status_tree",
    "write",
]

INLINE_MAX_BYTES = 256 * 1024
"""Attachments up to this size go into the tree as text; larger ones as markers.

A marker costs a regex scan of the canonical form and of the output on every
signature and write, which for a small package is more than the text itself."""

_KNOWN_PREFIXES = {
    "http://www.w3.org/1999/xlink": "xlink",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/2001/XMLSchema": "xsd",
}


@cache
def _tag(name: str) -> str:
    return f"{{{EDXML_NS}}}{name}"


@dataclass
class BuiltTree:
    """A package as an lxml tree with markers, plus the texts the markers stand for."""

    root: etree._Element
    header: etree._Element
    envelope: etree._Element
    external: dict[str, TextSource] = field(default_factory=dict)


def _sub(parent: etree._Element, name: str, attributes: dict[str, str] | None = None) -> Any:
    if not attributes:
        return etree.SubElement(parent, _tag(name))
    nsmap: dict[str, str] = {}
    for key in attributes:
        if key.startswith("{"):
            uri = key[1:].split("}", 1)[0]
            prefix = _KNOWN_PREFIXES.get(uri)
            if prefix and parent.nsmap.get(prefix) != uri:
                nsmap[prefix] = uri
    return etree.SubElement(parent, _tag(name), attributes, nsmap=cast(Any, nsmap or None))


def _append_unknown(parent: etree._Element, unknown: Iterable[str]) -> None:
    for text in unknown:
        # Unknown elements are normally canonicalised on validation, but a model built
        # with model_construct() or assigned later skips that: parse them hardened.
        parent.append(parse_xml(text.encode("utf-8"), what="an unknown edXML element"))


def _text(value: object) -> str:
    if type(value) is str:
        return value
    if isinstance(value, datetime):
        return format_slash_datetime(value)
    if isinstance(value, date):
        return format_slash_date(value)
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)


def write_model(parent: etree._Element, name: str, model: EdxmlModel) -> etree._Element:
    """Append ``model`` as element ``name`` (fields in order, then unknown elements)."""
    element = _sub(parent, name, model.attributes)
    values = model.__dict__
    for spec in element_fields(type(model)):
        value = values[spec.name]
        if value is None:
            continue
        kind = spec.kind
        if kind == "text":
            etree.SubElement(element, spec.tag).text = _text(value)
        elif kind == "model":
            write_model(element, spec.wire, value)
        elif kind == "models":
            for item in value:
                write_model(element, spec.wire, item)
        elif kind == "texts":
            for item in value:
                etree.SubElement(element, spec.tag).text = item
        else:
            etree.SubElement(element, spec.tag).text = _text(value)
    if model.unknown_elements:
        _append_unknown(element, model.unknown_elements)
    built: etree._Element = element
    return built


def _skeleton() -> tuple[etree._Element, etree._Element, etree._Element]:
    nsmap: Any = {None: EDXML_NS}
    root = etree.Element(_tag("edXML"), nsmap=nsmap)
    envelope = etree.SubElement(root, _tag("edXMLEnvelope"), nsmap=cast(Any, {"edXML": EDXML_NS}))
    header = etree.SubElement(envelope, _tag("edXMLHeader"))
    return root, envelope, header


def package_tree(package: EdxmlPackage) -> BuiltTree:
    """The package as a tree (attachment contents replaced by markers)."""
    root, envelope, header = _skeleton()
    for attribute, attribute_value in package.attributes.items():
        root.set(attribute, attribute_value)
    write_model(header, "MessageHeader", package.message_header)
    if package.trace_header_list is not None:
        write_model(header, "TraceHeaderList", package.trace_header_list)
    _append_unknown(header, package.header_unknown)
    body = etree.SubElement(envelope, _tag("edXMLBody"))
    if package.manifest is not None:
        write_model(body, "edXMLManifest", package.manifest)
    _append_unknown(body, package.body_unknown)
    _append_unknown(envelope, package.envelope_unknown)
    built = BuiltTree(root, header, envelope)
    if package.attachments:
        encoded = etree.SubElement(root, _tag("AttachmentEncoded"))
        for index, attachment in enumerate(package.attachments):
            if not attachment.has_content:
                raise ValidationError(
                    f"attachments[{index}]",
                    "an attachment with content (Attachment.from_bytes / from_file)",
                    got=attachment.attachment_name,
                )
            element = _sub(encoded, "Attachment", attachment.attributes)
            for name, value in (
                ("ContentId", attachment.content_id),
                ("AttachmentName", attachment.attachment_name),
                ("Description", attachment.description),
                ("ContentType", attachment.content_type),
            ):
                if value is not None:
                    _sub(element, name).text = value
            source = attachment.source
            text = inline_base64(source, INLINE_MAX_BYTES)
            if text is None:
                text = new_marker()
                built.external[text] = source.base64_chunks
            _sub(element, "ContentTransferEncoded").text = text
            _append_unknown(element, attachment.unknown_elements)
    _append_unknown(root, package.unknown_elements)
    return built


def status_tree(status: StatusMessage) -> BuiltTree:
    """A status message as a tree: ``edXMLEnvelope/edXMLHeader/Status``."""
    root, envelope, header = _skeleton()
    write_model(header, "Status", status)
    _append_unknown(header, status.header_unknown)
    _append_unknown(envelope, status.envelope_unknown)
    return BuiltTree(root, header, envelope)


def write(
    tree: BuiltTree | etree._Element, out: BinaryIO, external: ExternalText | None = None
) -> int:
    """Serialise a built (possibly signed) tree to ``out``; returns bytes written."""
    if isinstance(tree, BuiltTree):
        return write_xml(tree.root, out, external=tree.external)
    return write_xml(tree, out, external=external or {})


def build_package(package: EdxmlPackage) -> bytes:
    """The unsigned package as bytes (use :func:`write` with a file for large ones)."""
    buffer = io.BytesIO()
    write(package_tree(package), buffer)
    return buffer.getvalue()


def build_status(status: StatusMessage) -> bytes:
    """The unsigned status message as bytes."""
    buffer = io.BytesIO()
    write(status_tree(status), buffer)
    return buffer.getvalue()
