"""Read real-world edXML packages (and status messages) into the models.

Tolerant on purpose, because packages come from many vendors' software:

* elements match by local name in the edXML namespace *or* in no namespace, so
  ``edXML:``-prefixed, default-namespace and unprefixed elements mix freely;
* any element may be missing; elements in the wrong place or unknown are kept in
  ``unknown_elements`` (nothing is dropped silently, except comments);
* the XML signature is found in the xmldsig namespace or — as in a public sample —
  without a namespace declaration of its own (so in the edXML default namespace),
  and :attr:`ParsedEdxml.signature` says which;
* attachment contents are spooled (memory up to 1 MiB each, then a temporary file)
  and decoded only when read.

Parsing does *not* verify the signature: use :mod:`govlink.documents._signing`, and
after verification use only the package it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from lxml import etree

from govlink.core.xml import (
    DSIG_NS,
    SpooledText,
    StreamedXml,
    XmlRejectedError,
    parse_xml_streaming,
)
from govlink.documents.edxml._attachments import BytesSource, EncodedSource
from govlink.documents.edxml._fields import element_fields
from govlink.documents.edxml.models import (
    EDXML_NS,
    Attachment,
    EdxmlModel,
    EdxmlPackage,
    StatusMessage,
    canonical_xml,
)

__all__ = [
    "DEFAULT_PACKAGE_MAX_BYTES",
    "ParsedEdxml",
    "SignatureInfo",
    "edxml_child",
    "edxml_local",
    "kind_of",
    "package_from_tree",
    "parse_edxml",
    "parse_package",
    "parse_status",
    "read_model",
    "read_tree",
    "status_from_tree",
]

DEFAULT_PACKAGE_MAX_BYTES = 256 * 1024 * 1024
"""Packages larger than this (256 MiB) are refused unless the caller raises it."""


_EDXML_PREFIX = "{" + EDXML_NS + "}"


def edxml_local(element: Any) -> str | None:
    """The edXML local name of ``element`` (None for comments, other namespaces).

    Plain string work on the Clark-notation tag: called for every element of a
    package on each parse and verification, where building an ``etree.QName`` per
    element is a measurable part of the cost.
    """
    tag = element.tag
    if not isinstance(tag, str):
        return None
    if tag.startswith("{"):
        return tag[len(_EDXML_PREFIX) :] if tag.startswith(_EDXML_PREFIX) else None
    return tag


_local = edxml_local


def _is_signature(element: Any) -> bool:
    tag = element.tag
    return isinstance(tag, str) and (tag == "Signature" or tag.endswith("}Signature"))


@dataclass(frozen=True)
class SignatureInfo:
    """Where the parser found the package's XML signature, before verification."""

    found_as: Literal["xmldsig", "edxml-namespace", "no-namespace", "other-namespace"]
    namespace: str | None
    location: str
    """``header`` (inside ``edXMLHeader``, where the standard puts it) or ``elsewhere``."""

    @property
    def description(self) -> str:
        where = "in edXMLHeader" if self.location == "header" else "outside edXMLHeader"
        how = {
            "xmldsig": "in the xmldsig namespace",
            "edxml-namespace": "without its own namespace declaration (it fell into the "
            "edXML default namespace)",
            "no-namespace": "in no namespace",
            "other-namespace": f"in namespace {self.namespace}",
        }[self.found_as]
        return f"Signature {how}, {where}"


def _signature_info(root: etree._Element, header: etree._Element | None) -> SignatureInfo | None:
    found = None
    if header is not None:
        found = next((c for c in header if _is_signature(c)), None)
    location = "header"
    if found is None:
        found = next((e for e in root.iter() if _is_signature(e)), None)
        location = "elsewhere"
    if found is None:
        return None
    namespace = etree.QName(found).namespace
    kind: Literal["xmldsig", "edxml-namespace", "no-namespace", "other-namespace"]
    if namespace == DSIG_NS:
        kind = "xmldsig"
    elif namespace == EDXML_NS:
        kind = "edxml-namespace"
    elif namespace is None:
        kind = "no-namespace"
    else:
        kind = "other-namespace"
    return SignatureInfo(kind, namespace, location)


def _leaf_text(element: etree._Element) -> str:
    return element.text or ""


def read_model(element: etree._Element, cls: type[EdxmlModel]) -> Any:
    """Build ``cls`` from ``element``: known children by local name, the rest kept."""
    specs = {spec.wire: spec for spec in element_fields(cls)}
    values: dict[str, Any] = {}
    lists: dict[str, list[Any]] = {}
    unknown: list[str] = []
    for child in element:
        name = _local(child)
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions are not kept
        spec = specs.get(name) if name is not None else None
        if spec is None or _is_signature(child):
            unknown.append(canonical_xml(child))
            continue
        if spec.kind in ("text", "date", "datetime"):
            if spec.name in values or len(child):
                unknown.append(canonical_xml(child))
            else:
                values[spec.name] = _leaf_text(child)
        elif spec.kind == "model":
            if spec.name in values:
                unknown.append(canonical_xml(child))
            else:
                assert spec.model is not None
                values[spec.name] = read_model(child, spec.model)
        elif spec.kind == "models":
            assert spec.model is not None
            lists.setdefault(spec.name, []).append(read_model(child, spec.model))
        else:  # texts
            if len(child):
                unknown.append(canonical_xml(child))
            else:
                lists.setdefault(spec.name, []).append(_leaf_text(child))
    values.update(lists)
    attributes = {str(k): str(v) for k, v in element.attrib.items()}
    return cls.model_validate({**values, "unknown_elements": unknown, "attributes": attributes})


def _children(element: etree._Element | None, name: str) -> list[etree._Element]:
    if element is None:
        return []
    return [c for c in element if _local(c) == name]


def edxml_child(element: etree._Element | None, name: str) -> etree._Element | None:
    """The first child named ``name`` in the edXML namespace or in none (as
    :func:`edxml_local` matches).

    Plain tag comparison: this runs several times per verification, and the child
    wanted is usually the first or second one, where this loop beats both a call
    per child and lxml's tag-filtered iterators (which build a matcher each call).
    """
    if element is None:
        return None
    qualified = _EDXML_PREFIX + name
    for child in element:
        tag = child.tag
        if tag in (qualified, name):
            return child
    return None


_first = edxml_child


def _unknown_children(element: etree._Element | None, known: set[str]) -> list[str]:
    if element is None:
        return []
    return [
        canonical_xml(c)
        for c in element
        if isinstance(c.tag, str) and _local(c) not in known and not _is_signature(c)
    ]


def _envelope_and_root(root: etree._Element) -> tuple[etree._Element | None, etree._Element]:
    name = _local(root)
    if name == "edXMLEnvelope":
        return root, root
    if name != "edXML":
        raise XmlRejectedError(
            f"not an edXML document: the root element is {root.tag}",
            hint="expected <edXML> (or <edXMLEnvelope>) in namespace " + EDXML_NS,
        )
    return _first(root, "edXMLEnvelope"), root


def _attachment(
    element: etree._Element,
    index: int,
    external: Mapping[str, SpooledText],
    signed: bool,
) -> Attachment:
    values: dict[str, Any] = {}
    unknown: list[str] = []
    encoded: etree._Element | None = None
    wanted = {
        "ContentId": "content_id",
        "AttachmentName": "attachment_name",
        "Description": "description",
        "ContentType": "content_type",
    }
    for child in element:
        name = _local(child)
        if not isinstance(child.tag, str):
            continue
        if name == "ContentTransferEncoded" and encoded is None:
            encoded = child
        elif name in wanted and wanted[name] not in values and not len(child):
            values[wanted[name]] = _leaf_text(child)
        else:
            unknown.append(canonical_xml(child))
    attachment = Attachment.model_validate(
        {
            **values,
            "unknown_elements": unknown,
            "attributes": {str(k): str(v) for k, v in element.attrib.items()},
        },
    )
    field_name = f"attachments[{index}].content"
    text = (encoded.text or "") if encoded is not None else ""
    spool = external.get(text.strip())
    if spool is not None:
        attachment.with_source(EncodedSource(spool, field=field_name), signed=signed)
    elif text.strip():
        inline = SpooledText()
        inline.write(text)
        attachment.with_source(EncodedSource(inline, field=field_name), signed=signed)
    else:
        attachment.with_source(BytesSource(b""), signed=signed)
    return attachment


_ROOT_KNOWN = {"edXMLEnvelope", "AttachmentEncoded"}
_ENVELOPE_KNOWN = {"edXMLHeader", "edXMLBody"}
_HEADER_KNOWN = {"MessageHeader", "TraceHeaderList"}
_BODY_KNOWN = {"edXMLManifest"}


def package_from_tree(
    root: etree._Element,
    external: Mapping[str, SpooledText] | None = None,
    *,
    attachments_root: etree._Element | None = None,
    attachments_signed: bool = True,
) -> EdxmlPackage:
    """The package held by ``root`` (an ``edXML`` or ``edXMLEnvelope`` element).

    ``attachments_root`` takes the attachments from another tree (used when the
    signature covers only the envelope, so they come from outside the signed part).
    """
    external = external or {}
    envelope, doc_root = _envelope_and_root(root)
    header = _first(envelope, "edXMLHeader")
    body = _first(envelope, "edXMLBody")
    message = _first(header, "MessageHeader")
    trace = _first(header, "TraceHeaderList")
    manifest = _first(body, "edXMLManifest")
    from govlink.documents.edxml.models import (
        Manifest,
        MessageHeader,
        TraceHeaderList,
    )

    source_root = attachments_root if attachments_root is not None else doc_root
    attachments: list[Attachment] = []
    if source_root is not None and _local(source_root) == "edXML":
        for encoded in _children(source_root, "AttachmentEncoded"):
            for element in encoded:
                if _local(element) == "Attachment":
                    attachments.append(
                        _attachment(element, len(attachments), external, attachments_signed)
                    )
    root_unknown = _unknown_children(doc_root, _ROOT_KNOWN) if _local(doc_root) == "edXML" else []
    return EdxmlPackage.model_validate(
        {
            "message_header": read_model(message, MessageHeader)
            if message is not None
            else MessageHeader(),
            "trace_header_list": read_model(trace, TraceHeaderList) if trace is not None else None,
            "manifest": read_model(manifest, Manifest) if manifest is not None else None,
            "attachments": attachments,
            "unknown_elements": root_unknown,
            "attributes": {
                str(k): str(v) for k, v in doc_root.attrib.items() if _local(doc_root) == "edXML"
            },
            "envelope_unknown": _unknown_children(envelope, _ENVELOPE_KNOWN),
            "header_unknown": _unknown_children(header, _HEADER_KNOWN | {"Status"}),
            "body_unknown": _unknown_children(body, _BODY_KNOWN),
        },
    )


def _status_element(header: etree._Element | None) -> etree._Element | None:
    """Where the status fields sit: ``edXMLHeader/Status`` (the standard), or — as in
    a public Bkav sample — directly under ``edXMLHeader/MessageHeader`` (recognised
    by its ``StatusCode``)."""
    if header is None:
        return None
    message = None
    for child in header:  # one pass: this decides the kind of every verified message
        name = _local(child)
        if name == "Status":
            return child
        if name == "MessageHeader" and message is None:
            message = child
    # usually absent: lxml's tag filter scans the children faster than a loop here
    if message is None:
        return None
    found = next(message.iterchildren(_EDXML_PREFIX + "StatusCode", "StatusCode"), None)
    return message if found is not None else None


def status_from_tree(root: etree._Element) -> StatusMessage:
    """The status message held by ``root`` (fields under ``Status`` or under
    ``MessageHeader``)."""
    envelope, _ = _envelope_and_root(root)
    header = _first(envelope, "edXMLHeader")
    status = _status_element(header)
    if status is None:
        raise XmlRejectedError(
            "not an edXML status message: no edXMLHeader/Status element (nor a "
            "MessageHeader carrying a StatusCode)",
            hint="this looks like a document package; use parse_package",
        )
    message: StatusMessage = read_model(status, StatusMessage)
    message.envelope_unknown = _unknown_children(envelope, _ENVELOPE_KNOWN)
    message.header_unknown = _unknown_children(header, {_local(status) or "Status"})
    return message


@dataclass
class ParsedEdxml:
    """What :func:`parse_edxml` found: a package *or* a status message (unverified)."""

    kind: Literal["edoc", "status"]
    signature: SignatureInfo | None
    streamed: StreamedXml = field(repr=False)
    package: EdxmlPackage | None = None
    status: StatusMessage | None = None

    @property
    def root(self) -> etree._Element:
        return self.streamed.root

    def close(self) -> None:
        """Delete the temporary files holding attachment contents."""
        self.streamed.close()


def _divert(tag: str) -> bool:
    return tag.endswith("}ContentTransferEncoded") or tag == "ContentTransferEncoded"


def read_tree(
    source: bytes | BinaryIO | Path, *, max_bytes: int = DEFAULT_PACKAGE_MAX_BYTES
) -> StreamedXml:
    """Parse an edXML document with attachment contents spooled out of the tree."""
    return parse_xml_streaming(
        source, divert=_divert, max_bytes=max_bytes, what="the edXML package"
    )


def kind_of(root: etree._Element) -> Literal["edoc", "status"]:
    envelope, _ = _envelope_and_root(root)
    header = _first(envelope, "edXMLHeader")
    return "status" if _status_element(header) is not None else "edoc"


def parse_edxml(
    source: bytes | BinaryIO | Path, *, max_bytes: int = DEFAULT_PACKAGE_MAX_BYTES
) -> ParsedEdxml:
    """Parse a package or status message from bytes, a binary stream or a file path."""
    streamed = read_tree(source, max_bytes=max_bytes)
    try:
        root = streamed.root
        envelope, _ = _envelope_and_root(root)
        header = _first(envelope, "edXMLHeader")
        signature = _signature_info(root, header)
        if kind_of(root) == "status":
            return ParsedEdxml("status", signature, streamed, status=status_from_tree(root))
        package = package_from_tree(root, streamed.external)
        return ParsedEdxml("edoc", signature, streamed, package=package)
    except BaseException:
        streamed.close()
        raise


def parse_package(
    source: bytes | BinaryIO | Path, *, max_bytes: int = DEFAULT_PACKAGE_MAX_BYTES
) -> EdxmlPackage:
    """Parse a document package (unverified). Attachments stay readable until the
    package is garbage-collected (their spool files are temporary files)."""
    parsed = parse_edxml(source, max_bytes=max_bytes)
    if parsed.package is None:
        parsed.close()
        raise XmlRejectedError(
            "this edXML message is a status message, not a document package",
            hint="use parse_status for it",
        )
    return parsed.package


def parse_status(
    source: bytes | BinaryIO | Path, *, max_bytes: int = DEFAULT_PACKAGE_MAX_BYTES
) -> StatusMessage:
    """Parse a status message (unverified)."""
    parsed = parse_edxml(source, max_bytes=max_bytes)
    parsed.close()
    if parsed.status is None:
        raise XmlRejectedError(
            "this edXML message is a document package, not a status message",
            hint="use parse_package for it",
        )
    return parsed.status
