"""What the exchange (the axis, or a provincial gateway in front of it) answers.

Wire names vary between deployments (``docId`` / ``DocId`` / ``id``), so list
items accept the spellings seen in public integrations; unknown keys are kept in
``model_extra``. The edXML content itself is modelled in :mod:`.edxml`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from govlink.documents.edxml.models import StatusCode

__all__ = [
    "Agency",
    "AxisReply",
    "EdocSummary",
    "MessageType",
    "SendResult",
    "StatusEvent",
    "TransportState",
]

MessageType = Literal["edoc", "status"]
TransportState = Literal["processing", "done", "fail"]
"""Transport state of a received message at the axis: ``processing`` (waiting for
the receiver), ``done`` (fetched and acknowledged), ``fail`` (refused)."""


class _Wire(BaseModel):
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


class StatusEvent(_Wire):
    """A status a receiver reported about a sent document (as listed by the axis)."""

    from_: str | None = Field(default=None, validation_alias=AliasChoices("from", "from_"))
    code: StatusCode | None = None
    description: str | None = None
    time: str | None = None
    status_id: str | None = None


class EdocSummary(_Wire):
    """One entry of the received or sent list."""

    doc_id: str = Field(validation_alias=AliasChoices("docId", "DocId", "id", "doc_id"))
    from_: str | None = Field(default=None, validation_alias=AliasChoices("from", "from_"))
    to: list[str] = Field(default_factory=list)
    messagetype: str | None = Field(
        default=None, validation_alias=AliasChoices("messagetype", "messageType")
    )
    status: str | None = None
    """Our transport state of this message (received lists)."""
    subject: str | None = None
    code: str | None = None
    document_id: str | None = Field(
        default=None, validation_alias=AliasChoices("documentId", "document_id")
    )
    created_time: str | None = Field(
        default=None, validation_alias=AliasChoices("created_time", "createdTime", "created")
    )
    status_code: StatusCode | None = Field(
        default=None, validation_alias=AliasChoices("statusCode", "status_code")
    )
    """For status messages: the status reported."""
    about: str | None = None
    """For status messages: the axis id of the document the status is about."""
    statuses: list[StatusEvent] = Field(default_factory=list)
    """For sent documents: the statuses receivers reported so far."""
    states: dict[str, str] = Field(default_factory=dict)
    """For sent documents: each recipient's transport state."""

    @field_validator("to", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def latest_status(self) -> StatusCode | None:
        return self.statuses[-1].code if self.statuses else None


class Agency(_Wire):
    """An agency connected to the axis (``getAgenciesList`` / ``/donvilienthongs``)."""

    code: str = Field(validation_alias=AliasChoices("code", "id", "madinhdanh", "organId"))
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "ten"))
    parent: str | None = Field(default=None, validation_alias=AliasChoices("parent", "pid"))
    email: str | None = Field(default=None, validation_alias=AliasChoices("email", "mail"))


class SendResult(_Wire):
    """The axis's id for a message just sent."""

    doc_id: str
    messagetype: str = "edoc"
