"""Typed models of an edXML package (QCVN 102:2016/BTTTT, PLATFORMS.md §5).

Attribute names are English snake_case; aliases are the wire names, and the order
of the fields is the order :mod:`.build` writes the elements in. Everything is
optional unless the axis visibly rejects a package without it (checked by
:mod:`.validate`, not here), because real packages omit a lot.

Losslessness: elements govlink does not know are kept in ``unknown_elements`` (as
exclusive-canonical XML strings, so equal content compares equal) and written back;
attributes are kept in ``attributes`` (Clark-notation names). Dates in the standard
formats become :class:`~datetime.date` / aware :class:`~datetime.datetime`; a date
in any other form is kept as the string it was, never guessed.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from govlink.core.clock import VN_TZ
from govlink.core.codes import OpenStrEnum
from govlink.core.xml import parse_xml
from govlink.documents.edxml._attachments import (
    AttachmentSource,
    BytesSource,
    FileSource,
)

__all__ = [
    "EDXML_NS",
    "Appendixes",
    "Attachment",
    "Business",
    "Code",
    "DocumentType",
    "EdxmlModel",
    "EdxmlPackage",
    "Manifest",
    "ManifestReference",
    "MessageHeader",
    "Organization",
    "OtherInfo",
    "PromulgationInfo",
    "ResponseFor",
    "SignerInfo",
    "StaffInfo",
    "StatusCode",
    "StatusMessage",
    "ToPlaces",
    "TraceHeader",
    "TraceHeaderList",
    "canonical_xml",
    "normalize_content_id",
]

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


_KNOWN_ATTRIBUTE_PREFIXES = {
    "http://www.w3.org/1999/xlink": "xlink",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/XML/1998/namespace": "xml",
}
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"}
)


def canonical_xml(value: str | etree._Element) -> str:
    """A prefix-independent canonical form of one element, for ``unknown_elements``.

    Every element declares its own namespace as the default (so ``edXML:Note`` and
    ``<Note xmlns="…">`` are the same string), namespaced attributes get fixed
    prefixes, attributes are sorted, comments and processing instructions dropped.
    Equal content therefore compares equal however a sender spelled the prefixes,
    and re-parsing the string gives the same string back.
    """
    element = (
        parse_xml(value.encode("utf-8"), what="an unknown element")
        if isinstance(value, str)
        else value
    )
    parts: list[str] = []
    _canonical(element, None, parts)
    return "".join(parts)


def _canonical(element: etree._Element, default: str | None, out: list[str]) -> None:
    qname = etree.QName(element)
    namespace = qname.namespace
    out.append(f"<{qname.localname}")
    if namespace != default:
        out.append(f' xmlns="{(namespace or "").translate(_ATTR_ESCAPES)}"')
    prefixes: dict[str, str] = {}
    attributes: list[tuple[str, str, str]] = []
    for key, raw in element.attrib.items():
        attr_name = etree.QName(key)
        attributes.append((attr_name.namespace or "", attr_name.localname, str(raw)))
    attributes.sort()
    for attr_ns, _local, _value in attributes:
        if attr_ns and attr_ns not in prefixes:
            prefixes[attr_ns] = _KNOWN_ATTRIBUTE_PREFIXES.get(attr_ns, f"ns{len(prefixes)}")
    for attr_ns, prefix in sorted(prefixes.items(), key=lambda item: item[1]):
        if prefix != "xml":
            out.append(f' xmlns:{prefix}="{attr_ns.translate(_ATTR_ESCAPES)}"')
    for attr_ns, local, text in attributes:
        name = f"{prefixes[attr_ns]}:{local}" if attr_ns else local
        out.append(f' {name}="{text.translate(_ATTR_ESCAPES)}"')
    out.append(">")
    if element.text:
        out.append(element.text.translate(_TEXT_ESCAPES))
    for child in element:
        if isinstance(child.tag, str):
            _canonical(child, namespace, out)
        if child.tail:
            out.append(child.tail.translate(_TEXT_ESCAPES))
    out.append(f"</{qname.localname}>")


_SLASH_DATE_RE = re.compile(r"(\d{4})/(\d{2})/(\d{2})")
_SLASH_DATETIME_RE = re.compile(r"(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})")


def _slash_date(value: Any) -> Any:
    if isinstance(value, str):
        match = _SLASH_DATE_RE.fullmatch(value)
        if match is None:
            return value
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(VN_TZ).date() if value.tzinfo else value.date()
    return value


def _slash_datetime(value: Any) -> Any:
    if isinstance(value, str):
        match = _SLASH_DATETIME_RE.fullmatch(value)
        if match is None:
            return value
        try:
            year, month, day, hour, minute, second = (int(part) for part in match.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=VN_TZ)
    return value


class EdxmlModel(BaseModel):
    """Common base: wire-name aliases, unknown elements and attributes kept."""

    model_config = ConfigDict(populate_by_name=True, validate_assignment=True)

    unknown_elements: list[str] = Field(default_factory=list, exclude=False)
    """Child elements govlink does not model, as exclusive-canonical XML."""
    attributes: dict[str, str] = Field(default_factory=dict)
    """Attributes of this element (``{namespace}name`` for namespaced ones)."""

    NON_ELEMENT_FIELDS: ClassVar[frozenset[str]] = frozenset({"unknown_elements", "attributes"})

    @field_validator("unknown_elements", mode="before")
    @classmethod
    def _canonical_unknowns(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [canonical_xml(v) if isinstance(v, str | etree._Element) else v for v in value]
        return value


class Organization(EdxmlModel):
    """``From`` / ``To``: an agency by its code (``OrganId``) and contact data."""

    organ_id: str | None = Field(default=None, alias="OrganId")
    organization_in_charge: str | None = Field(default=None, alias="OrganizationInCharge")
    organ_name: str | None = Field(default=None, alias="OrganName")
    organ_add: str | None = Field(default=None, alias="OrganAdd")
    email: str | None = Field(default=None, alias="Email")
    telephone: str | None = Field(default=None, alias="Telephone")
    fax: str | None = Field(default=None, alias="Fax")
    website: str | None = Field(default=None, alias="Website")


class Code(EdxmlModel):
    """Document number (``CodeNumber``, e.g. ``7816``) and notation (``VPCP-TTĐT``)."""

    code_number: str | None = Field(default=None, alias="CodeNumber")
    code_notation: str | None = Field(default=None, alias="CodeNotation")


class PromulgationInfo(EdxmlModel):
    place: str | None = Field(default=None, alias="Place")
    promulgation_date: date | str | None = Field(default=None, alias="PromulgationDate")

    _date = field_validator("promulgation_date", mode="before")(_slash_date)


class DocumentType(EdxmlModel):
    type: str | None = Field(default=None, alias="Type")
    type_detail: str | None = Field(default=None, alias="TypeDetail")
    type_name: str | None = Field(default=None, alias="TypeName")


class SignerInfo(EdxmlModel):
    """Who signed the document on paper (not the XML signature's key holder)."""

    competence: str | None = Field(default=None, alias="Competence")
    position: str | None = Field(default=None, alias="Position")
    full_name: str | None = Field(default=None, alias="FullName")


class Appendixes(EdxmlModel):
    appendix: list[str] = Field(default_factory=list, alias="Appendix")


class OtherInfo(EdxmlModel):
    """Priority, distribution and page counts; numbers kept as the text sent."""

    priority: str | None = Field(default=None, alias="Priority")
    sphere_of_promulgation: str | None = Field(default=None, alias="SphereOfPromulgation")
    typer_notation: str | None = Field(default=None, alias="TyperNotation")
    promulgation_amount: str | None = Field(default=None, alias="PromulgationAmount")
    page_amount: str | None = Field(default=None, alias="PageAmount")
    direction: str | None = Field(default=None, alias="Direction")
    appendixes: Appendixes | None = Field(default=None, alias="Appendixes")


class ResponseFor(EdxmlModel):
    """The document a message answers: issuing agency, number, date and id."""

    organ_id: str | None = Field(default=None, alias="OrganId")
    code: str | None = Field(default=None, alias="Code")
    promulgation_date: date | str | None = Field(default=None, alias="PromulgationDate")
    document_id: str | None = Field(default=None, alias="DocumentId")

    _date = field_validator("promulgation_date", mode="before")(_slash_date)


class ToPlaces(EdxmlModel):
    place: list[str] = Field(default_factory=list, alias="Place")


class MessageHeader(EdxmlModel):
    """The document's metadata, in the standard's element order."""

    from_: Organization | None = Field(default=None, alias="From")
    to: list[Organization] = Field(default_factory=list, alias="To")
    document_id: str | None = Field(default=None, alias="DocumentId")
    code: Code | None = Field(default=None, alias="Code")
    promulgation_info: PromulgationInfo | None = Field(default=None, alias="PromulgationInfo")
    document_type: DocumentType | None = Field(default=None, alias="DocumentType")
    subject: str | None = Field(default=None, alias="Subject")
    content: str | None = Field(default=None, alias="Content")
    signer_info: SignerInfo | None = Field(default=None, alias="SignerInfo")
    due_date: date | str | None = Field(default=None, alias="DueDate")
    other_info: OtherInfo | None = Field(default=None, alias="OtherInfo")
    steering_type: str | None = Field(default=None, alias="SteeringType")
    to_places: ToPlaces | None = Field(default=None, alias="ToPlaces")
    response_for: list[ResponseFor] = Field(default_factory=list, alias="ResponseFor")

    _date = field_validator("due_date", mode="before")(_slash_date)


class TraceHeader(EdxmlModel):
    """One hop: which agency handled the package, and when (Vietnam time)."""

    organ_id: str | None = Field(default=None, alias="OrganId")
    timestamp: datetime | str | None = Field(default=None, alias="Timestamp")

    _ts = field_validator("timestamp", mode="before")(_slash_datetime)


class StaffInfo(EdxmlModel):
    department: str | None = Field(default=None, alias="Department")
    staff: str | None = Field(default=None, alias="Staff")
    email: str | None = Field(default=None, alias="Email")
    mobile: str | None = Field(default=None, alias="Mobile")


class Business(EdxmlModel):
    """``Bussiness`` (the standard's spelling): why the package was sent."""

    document_id: str | None = Field(default=None, alias="DocumentId")
    business_doc_type: str | None = Field(default=None, alias="BussinessDocType")
    business_doc_reason: str | None = Field(default=None, alias="BussinessDocReason")
    paper: str | None = Field(default=None, alias="Paper")
    staff_info: StaffInfo | None = Field(default=None, alias="StaffInfo")


class TraceHeaderList(EdxmlModel):
    """Hops (``TraceHeader``) and the business block; ``BussinessDocumentInfo`` and
    ``ReplacementInfoList`` stay in ``business.unknown_elements`` as XML."""

    trace_header: list[TraceHeader] = Field(default_factory=list, alias="TraceHeader")
    business: Business | None = Field(default=None, alias="Bussiness")


class ManifestReference(EdxmlModel):
    """One manifest entry: which attachment (``ContentId``), its type and name."""

    content_id: str | None = Field(default=None, alias="ContentId")
    content_type: str | None = Field(default=None, alias="ContentType")
    description: str | None = Field(default=None, alias="Description")
    attachment_name: str | None = Field(default=None, alias="AttachmentName")


class Manifest(EdxmlModel):
    reference: list[ManifestReference] = Field(default_factory=list, alias="Reference")


def normalize_content_id(value: str | None) -> str:
    """``cid:<x>``, ``<x>`` and ``x`` name the same attachment."""
    text = (value or "").strip()
    if text.lower().startswith("cid:"):
        text = text[4:]
    return text.strip().strip("<>").strip()


class Attachment(EdxmlModel):
    """An attachment: its description plus a content source (bytes, file, parsed).

    Create with :meth:`from_bytes` / :meth:`from_file`; read with :meth:`open`,
    :meth:`read_bytes` or :meth:`save`. The content is not part of the model's
    fields (so a repr or a dump never contains megabytes); compare contents with
    :meth:`read_bytes`.
    """

    content_id: str | None = Field(default=None, alias="ContentId")
    attachment_name: str | None = Field(default=None, alias="AttachmentName")
    description: str | None = Field(default=None, alias="Description")
    content_type: str | None = Field(default=None, alias="ContentType")

    _source: AttachmentSource | None = PrivateAttr(default=None)
    _signed: bool = PrivateAttr(default=True)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        name: str,
        content_type: str = "application/octet-stream",
        description: str | None = None,
        content_id: str | None = None,
    ) -> Attachment:
        return cls._with_source(BytesSource(data), name, content_type, description, content_id)

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        name: str | None = None,
        content_type: str | None = None,
        description: str | None = None,
        content_id: str | None = None,
    ) -> Attachment:
        """Content streamed from ``path`` when the package is written (never loaded)."""
        import mimetypes

        file = Path(path)
        guessed = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return cls._with_source(
            FileSource(file), name or file.name, content_type or guessed, description, content_id
        )

    @classmethod
    def _with_source(
        cls,
        source: AttachmentSource,
        name: str,
        content_type: str,
        description: str | None,
        content_id: str | None,
    ) -> Attachment:
        attachment = cls(
            content_id=content_id or str(uuid.uuid4()),
            attachment_name=name,
            description=description,
            content_type=content_type,
        )
        attachment._source = source
        return attachment

    def with_source(self, source: AttachmentSource, *, signed: bool = True) -> Attachment:
        """Attach ``source`` (used by the parser); returns ``self``."""
        self._source = source
        self._signed = signed
        return self

    @property
    def source(self) -> AttachmentSource:
        if self._source is None:
            raise ValueError(f"attachment {self.content_id!r} has no content")
        return self._source

    @property
    def has_content(self) -> bool:
        return self._source is not None

    @property
    def signed(self) -> bool:
        """False when the package's signature does not cover this content."""
        return self._signed

    @property
    def size(self) -> int | None:
        return self._source.size if self._source is not None else None

    def open(self) -> Any:
        """The decoded content as a binary stream (close it when done)."""
        return self.source.open()

    def read_bytes(self) -> bytes:
        with self.source.open() as stream:
            data: bytes = stream.read()
            return data

    def save(self, path: str | Path) -> Path:
        """Write the decoded content to ``path`` in chunks; returns the path."""
        import shutil

        target = Path(path)
        with self.source.open() as stream, target.open("wb") as out:
            shutil.copyfileobj(stream, out, 1 << 16)
        return target


class EdxmlPackage(EdxmlModel):
    """A whole edXML document package: header, trace, manifest and attachments.

    ``unknown_elements`` of the package itself holds unknown children of the root;
    ``envelope_unknown``, ``header_unknown`` and ``body_unknown`` those of
    ``edXMLEnvelope``, ``edXMLHeader`` and ``edXMLBody``.
    """

    message_header: MessageHeader = Field(default_factory=MessageHeader, alias="MessageHeader")
    trace_header_list: TraceHeaderList | None = Field(default=None, alias="TraceHeaderList")
    manifest: Manifest | None = Field(default=None, alias="edXMLManifest")
    attachments: list[Attachment] = Field(default_factory=list, alias="Attachment")
    envelope_unknown: list[str] = Field(default_factory=list)
    header_unknown: list[str] = Field(default_factory=list)
    body_unknown: list[str] = Field(default_factory=list)

    NON_ELEMENT_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"unknown_elements", "attributes", "envelope_unknown", "header_unknown", "body_unknown"}
    )

    @field_validator("envelope_unknown", "header_unknown", "body_unknown", mode="before")
    @classmethod
    def _canonical_more(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [canonical_xml(v) if isinstance(v, str | etree._Element) else v for v in value]
        return value

    @property
    def sender(self) -> str | None:
        """The sending agency's code (``From/OrganId``)."""
        header = self.message_header
        return header.from_.organ_id if header.from_ is not None else None

    @property
    def recipients(self) -> list[str]:
        """The receiving agencies' codes (``To/OrganId``)."""
        return [t.organ_id for t in self.message_header.to if t.organ_id]

    def add_attachment(self, attachment: Attachment) -> Attachment:
        """Add ``attachment`` and its manifest reference (kept consistent)."""
        self.attachments.append(attachment)
        if self.manifest is None:
            self.manifest = Manifest(attributes={"version": "1.0"})
        self.manifest.reference.append(
            ManifestReference(
                content_id=f"cid:{normalize_content_id(attachment.content_id)}",
                content_type=attachment.content_type,
                description=attachment.description,
                attachment_name=attachment.attachment_name,
            )
        )
        return attachment

    @classmethod
    def new(
        cls,
        *,
        sender: str | Organization,
        recipients: list[str | Organization],
        subject: str,
        document_id: str | None = None,
        code_number: str | None = None,
        code_notation: str | None = None,
        promulgation_date: date | None = None,
        place: str | None = None,
        content: str | None = None,
        signer_name: str | None = None,
        signer_position: str | None = None,
        document_type: str | None = None,
        document_type_name: str | None = None,
        due_date: date | None = None,
        timestamp: datetime | None = None,
    ) -> EdxmlPackage:
        """A new outgoing package with the fields a receiving office needs.

        ``document_id`` defaults to the standard's form
        ``<sender>,<yyyy/MM/dd>,<number>/<notation>`` when number and date are given.
        """
        from govlink.core.clock import format_slash_date

        sender_org = sender if isinstance(sender, Organization) else Organization(organ_id=sender)
        to = [r if isinstance(r, Organization) else Organization(organ_id=r) for r in recipients]
        day = promulgation_date or (timestamp or datetime.now(VN_TZ)).astimezone(VN_TZ).date()
        if document_id is None and code_number and sender_org.organ_id:
            number = f"{code_number}/{code_notation}" if code_notation else code_number
            document_id = f"{sender_org.organ_id},{format_slash_date(day)},{number}"
        header = MessageHeader(
            from_=sender_org,
            to=to,
            document_id=document_id,
            code=Code(code_number=code_number, code_notation=code_notation)
            if code_number or code_notation
            else None,
            promulgation_info=PromulgationInfo(place=place, promulgation_date=day),
            document_type=DocumentType(type=document_type, type_name=document_type_name)
            if document_type or document_type_name
            else None,
            subject=subject,
            content=content,
            signer_info=SignerInfo(full_name=signer_name, position=signer_position)
            if signer_name or signer_position
            else None,
            due_date=due_date,
        )
        trace = TraceHeaderList(
            trace_header=[
                TraceHeader(
                    organ_id=sender_org.organ_id,
                    timestamp=(timestamp or datetime.now(VN_TZ)).replace(microsecond=0),
                )
            ]
        )
        return cls(message_header=header, trace_header_list=trace)


class StatusCode(OpenStrEnum):
    """Processing status a receiver reports back (PLATFORMS.md §5). Open: an
    unknown code parses into a pseudo-member ``UNKNOWN_<code>`` and is kept."""

    ARRIVED = "01"
    REJECTED = "02"
    RECEIVED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    COMPLETED = "06"
    RECALL_REQUESTED = "13"
    RECALL_ACCEPTED = "15"
    RECALL_REJECTED = "16"

    @classmethod
    def _normalise(cls, value: object) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:02d}"  # 3 -> "03", as the axis spells codes
        return super()._normalise(value)

    @property
    def label(self) -> str:
        """What the code means (English, then Vietnamese)."""
        return _STATUS_LABELS.get(self.value, f"unknown status {self.value}")


_STATUS_LABELS: dict[str, str] = {
    "01": "arrived (Đã đến)",
    "02": "rejected, or recall rejected (Từ chối tiếp nhận)",
    "03": "received / registered, or recall accepted (Đã tiếp nhận)",
    "04": "assigned (Phân công)",
    "05": "being handled (Đang xử lý)",
    "06": "completed (Hoàn thành)",
    "13": "recall requested (Yêu cầu thu hồi)",
    "15": "recall / update accepted (Đồng ý thu hồi/cập nhật)",
    "16": "recall / update rejected (Từ chối thu hồi/cập nhật)",
}


class StatusMessage(EdxmlModel):
    """A status report about a received document (the ``Status`` edXML message)."""

    response_for: ResponseFor | None = Field(default=None, alias="ResponseFor")
    from_: Organization | None = Field(default=None, alias="From")
    status_code: StatusCode | None = Field(default=None, alias="StatusCode")
    description: str | None = Field(default=None, alias="Description")
    timestamp: datetime | str | None = Field(default=None, alias="Timestamp")
    staff_info: StaffInfo | None = Field(default=None, alias="StaffInfo")
    envelope_unknown: list[str] = Field(default_factory=list)
    header_unknown: list[str] = Field(default_factory=list)

    NON_ELEMENT_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"unknown_elements", "attributes", "envelope_unknown", "header_unknown"}
    )

    _ts = field_validator("timestamp", mode="before")(_slash_datetime)

    @field_validator("envelope_unknown", "header_unknown", mode="before")
    @classmethod
    def _canonical_more(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [canonical_xml(v) if isinstance(v, str | etree._Element) else v for v in value]
        return value

    @classmethod
    def for_package(
        cls,
        package: EdxmlPackage,
        code: StatusCode | str,
        *,
        sender: str | Organization,
        description: str | None = None,
        staff: StaffInfo | None = None,
        timestamp: datetime | None = None,
    ) -> StatusMessage:
        """The status ``sender`` reports about ``package`` (addressed to its sender)."""
        header = package.message_header
        info = header.promulgation_info
        code_text = None
        if header.code is not None and header.code.code_number:
            code_text = header.code.code_number + (
                f"/{header.code.code_notation}" if header.code.code_notation else ""
            )
        org = sender if isinstance(sender, Organization) else Organization(organ_id=sender)
        return cls(
            response_for=ResponseFor(
                organ_id=package.sender,
                code=code_text,
                promulgation_date=info.promulgation_date if info is not None else None,
                document_id=header.document_id,
            ),
            from_=org,
            status_code=StatusCode(code),
            description=description,
            timestamp=(timestamp or datetime.now(VN_TZ)).replace(microsecond=0),
            staff_info=staff,
        )
