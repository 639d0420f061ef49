"""What the exchange (the axis, or a provincial gateway in front of it) answers.

Wire names vary between deployments (``docId`` / ``DocId`` / ``id``), so list
items accept the spellings seen in public integrations; unknown keys are kept in
``model_extra``. The edXML content itself is modelled in :mod:`.edxml`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, ConfigDict, Field, field_validator

from govlink.core.driver import EvidenceModel
from govlink.documents.edxml.models import StatusCode

__all__ = [
    "Agency",
    "AxisReply",
    "EdocSummary",
    "MessageType",
    "SendResult",
    "SentEdoc",
    "SyncUnit",
    "TransportState",
]

MessageType = Literal["edoc", "status"]
TransportState = Literal["initial", "processing", "done", "fail"]
"""Transport state of a received message at the axis (the vendor SDK's ``updateStatus``
values): ``initial`` (not yet taken), ``processing`` (being taken), ``done`` (fetched
and acknowledged), ``fail`` (refused)."""


class _Wire(EvidenceModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class AxisReply(_Wire):
    """The axis's reply envelope: ``{status: OK|FAIL, ErrorCode, ErrorDesc, data, DocId}``."""

    status: str = "OK"
    error_code: str | None = Field(default=None, alias="ErrorCode")
    error_desc: str | None = Field(default=None, alias="ErrorDesc")
    data: Any = None
    doc_id: str | None = Field(default=None, alias="DocId")

    @field_validator("error_code", "doc_id", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        return None if value is None else str(value)

    @property
    def ok(self) -> bool:
        return str(self.status).upper() == "OK"


class EdocSummary(_Wire):
    """One entry of the received list (``getReceivedEdocList``): ``docId, serviceType,
    messageType, created_time, updated_time, from, to, status, status_desc``."""

    doc_id: str = Field(validation_alias=AliasChoices("docId", "DocId", "id", "doc_id"))
    from_: str | None = Field(default=None, validation_alias=AliasChoices("from", "from_"))
    to: list[str] = Field(default_factory=list)
    service_type: str | None = Field(
        default=None, validation_alias=AliasChoices("serviceType", "servicetype")
    )
    messagetype: str | None = Field(
        default=None, validation_alias=AliasChoices("messageType", "messagetype")
    )
    status: str | None = None
    """Our transport state of this message."""
    status_desc: str | None = Field(
        default=None, validation_alias=AliasChoices("status_desc", "statusDesc")
    )
    created_time: str | None = Field(
        default=None, validation_alias=AliasChoices("created_time", "createdTime", "created")
    )
    updated_time: str | None = Field(
        default=None, validation_alias=AliasChoices("updated_time", "updatedTime")
    )
    subject: str | None = Field(default=None, validation_alias=AliasChoices("subject", "title"))
    """Not in the axis's list; some gateways add it."""

    @field_validator("to", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class SentEdoc(_Wire):
    """One entry of the sent list (``getSentEdocList``): one per document and
    recipient. It has **no** ``docId``: the sender's id is ``senderDocId`` and the
    recipient's copy ``receiverDocId``."""

    sender_doc_id: str | None = Field(default=None, alias="senderDocId")
    receiver_doc_id: str | None = Field(default=None, alias="receiverDocId")
    from_code: str | None = Field(default=None, alias="fromCode")
    to_code: str | None = Field(default=None, alias="toCode")
    send_status: str | None = Field(default=None, alias="sendStatus")
    send_status_desc: str | None = Field(default=None, alias="sendStatusDesc")
    receive_status: str | None = Field(default=None, alias="receiveStatus")
    """The latest status the recipient reported (an edXML status code such as ``03``)."""
    receive_status_desc: str | None = Field(default=None, alias="receiveStatusDesc")
    notation: str | None = None
    title: str | None = None
    service_type: str | None = Field(default=None, alias="serviceType")
    messagetype: str | None = Field(
        default=None, validation_alias=AliasChoices("messageType", "messagetype")
    )
    sent_time: str | None = Field(default=None, alias="sentTime")
    received_time: str | None = Field(default=None, alias="receivedTime")

    @field_validator("receive_status", "send_status", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return None if value is None else str(value)

    @property
    def latest_status(self) -> StatusCode | None:
        """:attr:`receive_status` as a status code (None when none was reported)."""
        return StatusCode(self.receive_status) if self.receive_status else None


class SyncUnit(_Wire):
    """A unit of ``getSynchronizeUnit`` (the axis's agency directory changes)."""

    code: str | None = None
    id: str | None = None
    name: str | None = None
    mail: str | None = None
    pid: str | None = None
    version: int | None = None
    center_code: str | None = Field(default=None, alias="centerCode")
    deleted: bool | None = None
    modify_date: str | None = Field(default=None, alias="modifyDate")
    is_agency: bool | None = Field(default=None, alias="isAgency")


class Agency(_Wire):
    """An agency connected to the axis (``getAgenciesList`` / ``/donvilienthongs``)."""

    code: str = Field(validation_alias=AliasChoices("code", "madinhdanh", "organId"))
    id: str | None = None
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "ten"))
    parent: str | None = Field(
        default=None, validation_alias=AliasChoices("pid", "pcode", "parent")
    )
    email: str | None = Field(default=None, validation_alias=AliasChoices("mail", "email"))
    old_code: str | None = Field(default=None, alias="oldCode")


class SendResult(_Wire):
    """The axis's id for a message just sent."""

    doc_id: str
    messagetype: str = "edoc"
