"""The mock document axis: REST API, provincial-gateway API and SOAP, one store."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.parser
import email.policy
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_servers.context import MockContext
from mock_servers.platform import MockPlatform
from mock_servers.vdxp import dsig
from mock_servers.vdxp.pki import PKI_DIR

__all__ = [
    "DELIVERY_SWITCHES",
    "ERROR_CODES",
    "VdxpPlatform",
    "create_platform",
    "hash_file_forms",
    "hmac_signature",
    "multipart_part",
    "parse_timestamp",
    "read_capped",
]

MESSAGES = "documents.messages"
AGENCIES = "documents.agencies"
COUNTERS = "documents.counters"

DEFAULT_TOLERANCE = 300
DEFAULT_MAX_BODY_MB = 128
XROAD = "XroadVnpt-"
TRANSPORT_STATES = ("initial", "processing", "done", "fail")
GATEWAY_STATES = {
    "INITIAL": "initial",
    "PROCESSING": "processing",
    "DONE": "done",
    "FAIL": "fail",
}
DELIVERY_SWITCHES = (
    "deliver_tampered",
    "deliver_unsigned",
    "deliver_wrong_signer",
    "deliver_expired_cert",
    "deliver_sha1",
)
ERROR_CODES = {
    "0": "OK",
    "E_AUTH": "missing or wrong XroadVnpt-* signed headers (sign header, key list, HMAC)",
    "E_TIMESTAMP": "timestamp outside the tolerance window",
    "E_FORMAT": "body is not an edXML package or status message",
    "E_UNSIGNED": "package carries no XML signature",
    "E_SIGNATURE": "XML signature does not verify (altered or wrong key)",
    "E_CERT": "signing certificate not issued by the test CA, or expired",
    "E_SENDER": "From/OrganId is not an agency of the calling system",
    "E_RECIPIENT": "a recipient agency is not registered on the axis",
    "E_NOT_FOUND": "no such document for this agency",
    "E_STATUS": "unknown transport status",
    "E_AGENCY": "agency registration refused",
    "E_HEADER": "a signed request field is missing or malformed",
    "E_HASH": "hash-file does not match the SHA-256 of the file_doc part",
    "E_SIZE": "the request body is larger than the axis accepts",
}
_AGENCY_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
_TS_RE = re.compile(r"^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})(?:[+.](\d{1,4}))?$")
VN = dt.timezone(dt.timedelta(hours=7))


def hash_file_forms(content: bytes) -> tuple[str, str]:
    """``hash-file`` as the vendor SDK writes it (each byte in hex without zero
    padding) and as plain lowercase hex: the mock accepts either."""
    digest = hashlib.sha256(content).digest()
    return "".join(f"{b:x}" for b in digest), digest.hex()


async def read_capped(request: Request, max_bytes: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise Refused("E_SIZE", f"the body is larger than {max_bytes} bytes", 413)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_bytes:
            raise Refused("E_SIZE", f"the body is larger than {max_bytes} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def multipart_part(content_type: str, body: bytes, name: str) -> bytes | None:
    """The bytes of the form part ``name`` of a multipart/form-data body."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    return None


def hmac_signature(secret: str, sign_header: str) -> str:
    """Hex HMAC-SHA256 of the sign-header JSON, keyed by the system secret."""
    return hmac.new(secret.encode(), sign_header.encode(), hashlib.sha256).hexdigest()


def parse_timestamp(text: str) -> dt.datetime | None:
    """``ddMMyyyy'T'HHmmss+SSSS`` (Vietnam time; the digits after ``+`` are
    milliseconds, as Java's SimpleDateFormat writes that pattern)."""
    match = _TS_RE.match(text.strip())
    if match is None:
        return None
    day, month, year, hour, minute, second, millis = match.groups()
    try:
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(millis or 0) % 1000 * 1000,
            tzinfo=VN,
        )
    except ValueError:
        return None


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _reply(data: Any = None, doc_id: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "data": data, "DocId": doc_id}
    )


def _fail(exc: Refused) -> JSONResponse:
    return JSONResponse(
        {
            "status": "FAIL",
            "ErrorCode": exc.code,
            "ErrorDesc": exc.message,
            "data": None,
            "DocId": None,
        },
        status_code=exc.status,
    )


Handler = Callable[[Request], Awaitable[Response]]


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as exc:
            return _fail(exc)

    return wrapped


class VdxpPlatform(MockPlatform):
    """Document axis mock. Routes (all under ``/vdxp``):

    REST (HMAC-signed headers): ``/sendEdoc``, ``/getReceivedEdocList``,
    ``/getSentEdocList``, ``/getEdoc``, ``/downloadEdoc``, ``/updateStatus``,
    ``/countReceiveEdoc``, ``/getAgenciesList``, ``/registerAgency``, ``/deleteAgency``.
    Gateway (gateway bearer token): ``/vanbans``, ``/vanbans/{docId}``,
    ``/donvilienthongs``. SOAP: ``/soap`` (same operations, same HMAC headers).
    """

    name = "documents"
    prefix = "/vdxp"
    title = "Document axis (VDXP, edXML)"
    switch_names = (
        *DELIVERY_SWITCHES,
        "timestamp_tolerance",
        "verify_on_receipt",
        "max_body_mb",
    )

    def __init__(self, ctx: MockContext) -> None:
        super().__init__(ctx)
        rest = [
            Route(f"/{name}", _guard(handler), methods=["GET", "POST"])
            for name, handler in (
                ("sendEdoc", self.rest_send),
                ("getReceivedEdocList", self.rest_received),
                ("getSentEdocList", self.rest_sent),
                ("getEdoc", self.rest_get),
                ("downloadEdoc", self.rest_download),
                ("updateStatus", self.rest_update_status),
                ("countReceiveEdoc", self.rest_count),
                ("countReceiveStatus", self.rest_count_status),
                ("getAgenciesList", self.rest_agencies),
                ("registerAgency", self.rest_register),
                ("deleteAgency", self.rest_delete_agency),
                ("getSynchronizeUnit", self.rest_sync_units),
            )
        ]
        gateway = [
            Route("/vanbans", _guard(self.gw_list), methods=["GET"]),
            Route("/vanbans", _guard(self.gw_send), methods=["POST"]),
            Route("/vanbans/{doc_id}", _guard(self.gw_get), methods=["GET"]),
            Route("/vanbans/{doc_id}", _guard(self.gw_update), methods=["PUT"]),
            Route("/donvilienthongs", _guard(self.gw_agencies), methods=["GET"]),
        ]
        self._app = Starlette(routes=[*rest, *gateway])

    @property
    def app(self) -> Starlette:
        return self._app

    # ------------------------------------------------------------------ switches

    def apply_switches(self, switches: dict[str, Any]) -> None:
        unknown = sorted(set(switches) - set(self.switch_names))
        if unknown:
            raise ValueError(
                f"unknown switch {unknown[0]!r} for documents "
                f"(known: {', '.join(self.switch_names)})"
            )
        for name in DELIVERY_SWITCHES:
            if name in switches:
                value = switches[name]
                ok = isinstance(value, bool) or (
                    isinstance(value, str) and _AGENCY_RE.match(value) is not None
                )
                if not ok:
                    raise ValueError(f"switch {name!r} takes true/false or a receiving agency code")
        if "timestamp_tolerance" in switches:
            value = switches["timestamp_tolerance"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("switch 'timestamp_tolerance' must be whole seconds >= 0")
        if "max_body_mb" in switches:
            value = switches["max_body_mb"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError("switch 'max_body_mb' must be whole megabytes >= 1")
        if "verify_on_receipt" in switches and not isinstance(switches["verify_on_receipt"], bool):
            raise ValueError("switch 'verify_on_receipt' must be true or false")
        self.ctx.switches(self.name).update(switches)

    def _switch(self, name: str, default: Any = None) -> Any:
        return self.ctx.switches(self.name).get(name, default)

    # ------------------------------------------------------------------ agencies

    def agencies(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for agency in self.ctx.seed.section("agencies"):
            if isinstance(agency, dict) and agency.get("code"):
                found[str(agency["code"])] = agency
        for code, agency in self.ctx.store.items(AGENCIES):
            if agency is None:
                found.pop(code, None)
            else:
                found[code] = agency
        return found

    @staticmethod
    def _public(agency: dict[str, Any]) -> dict[str, Any]:
        """An agency as ``getAgenciesList`` lists it: ``code, id, mail, name, pid``."""
        return {
            "code": agency.get("code"),
            "id": agency.get("code"),
            "name": agency.get("name"),
            "pid": agency.get("parent"),
            "mail": agency.get("email"),
        }

    def _max_body(self) -> int:
        return int(self._switch("max_body_mb", DEFAULT_MAX_BODY_MB)) * 1024 * 1024

    def _system(self, system_id: str) -> dict[str, Any] | None:
        agencies = self.agencies()
        if system_id in agencies:
            return agencies[system_id]
        return next((a for a in agencies.values() if a.get("system_id") == system_id), None)

    def _owned(self, caller: dict[str, Any], code: str | None) -> bool:
        """Whether ``code`` is the caller's agency, a unit under it, or shares its system."""
        if not code:
            return False
        agencies = self.agencies()
        if code == caller.get("code"):
            return True
        agency = agencies.get(code)
        if agency is None:
            return False
        if agency.get("system_id") and agency.get("system_id") == caller.get("system_id"):
            return True
        seen: set[str] = set()
        parent = agency.get("parent")
        while parent and parent not in seen:
            if parent == caller.get("code"):
                return True
            seen.add(parent)
            parent = (agencies.get(parent) or {}).get("parent")
        return False

    # ------------------------------------------------------------------ auth

    def _authenticate(self, request: Request) -> tuple[dict[str, Any], dict[str, str]]:
        """Check the vendor SDK's call signature from the headers alone (before any
        body is read) and return the caller and its signed fields (bare names)."""
        headers = request.headers
        sign_header = headers.get(XROAD + "sign-header", "")
        key_list = headers.get(XROAD + "sign-header-key", "")
        digest = headers.get(XROAD + "hash-header", "")
        if not (sign_header and key_list and digest and headers.get(XROAD + "version")):
            raise Refused(
                "E_AUTH",
                "headers XroadVnpt-sign-header, XroadVnpt-sign-header-key, "
                "XroadVnpt-hash-header and XroadVnpt-version are required",
                401,
            )
        try:
            signed = json.loads(sign_header)
        except ValueError:
            raise Refused("E_AUTH", "XroadVnpt-sign-header is not JSON", 401) from None
        if not isinstance(signed, dict):
            raise Refused("E_AUTH", "XroadVnpt-sign-header must be a JSON object", 401)
        names = [name for name in key_list.split(";") if name]
        if set(signed) != {XROAD + name for name in names}:
            raise Refused(
                "E_AUTH", "XroadVnpt-sign-header-key does not list the sign header's fields", 401
            )
        fields: dict[str, str] = {}
        for name in names:
            value = signed[XROAD + name]
            value = value if isinstance(value, str) else json.dumps(value)
            if headers.get(XROAD + name) != value:
                raise Refused("E_AUTH", f"header {XROAD}{name} differs from its signed value", 401)
            fields[name] = value
        system_id = fields.get("systemid", "")
        timestamp = fields.get("timestamp", "")
        if not system_id or not timestamp:
            raise Refused("E_AUTH", "systemid and timestamp must be signed", 401)
        caller = self._system(system_id)
        if caller is None or not caller.get("secret"):
            raise Refused("E_AUTH", f"unknown system {system_id!r}", 401)
        expected = hmac_signature(str(caller["secret"]), sign_header)
        if not hmac.compare_digest(expected, digest.strip().lower()):
            raise Refused(
                "E_AUTH", "XroadVnpt-hash-header (HMAC-SHA256 of the sign header) is wrong", 401
            )
        when = parse_timestamp(timestamp)
        if when is None:
            raise Refused("E_TIMESTAMP", "timestamp must be ddMMyyyy'T'HHmmss+SSSS", 401)
        tolerance = int(self._switch("timestamp_tolerance", DEFAULT_TOLERANCE))
        skew = abs((self.ctx.clock.now() - when).total_seconds())
        if skew > tolerance:
            raise Refused(
                "E_TIMESTAMP",
                f"timestamp is {skew:.0f} s away from the axis clock (tolerance {tolerance} s)",
                401,
            )
        return caller, fields

    def _gateway_token(self, request: Request) -> None:
        from mock_servers.gateway import token_is_valid

        if not token_is_valid(self.ctx, request.headers.get("authorization")):
            raise Refused("E_AUTH", "a valid gateway bearer token is required", 401)

    async def _gateway_body(self, request: Request) -> dict[str, Any]:
        """The JSON body, read only after the token was checked, capped while read."""
        self._gateway_token(request)
        raw = await read_capped(request, self._max_body())
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise Refused("E_FORMAT", "the body must be JSON") from None
        if not isinstance(body, dict):
            raise Refused("E_FORMAT", "the body must be a JSON object")
        return body

    def _gateway_agency(self, request: Request, body: dict[str, Any] | None = None) -> str:
        self._gateway_token(request)
        code = request.query_params.get("madinhdanh") or (body or {}).get("madinhdanh")
        if not code or code not in self.agencies():
            raise Refused("E_AGENCY", f"madinhdanh {code!r} is not a registered agency", 400)
        return str(code)

    # ------------------------------------------------------------------ core operations

    def _next_seq(self) -> int:
        value = int(self.ctx.store.get(COUNTERS, "seq") or 0) + 1
        self.ctx.store.put(COUNTERS, "seq", value)
        return value

    def receive(
        self,
        content: bytes,
        *,
        sender_ok: Callable[[str | None], bool],
        expected_type: str | None = None,
    ) -> str:
        """Check, route and store one package or status message; returns its id."""
        try:
            root = dsig.parse(content)
        except dsig.PackageRejected as exc:
            raise Refused(exc.code, str(exc)) from None
        if dsig.local(root) not in ("edXML", "edXMLEnvelope"):
            raise Refused("E_FORMAT", "the body is not an edXML document")
        actual = "status" if _status_of(dsig.header_of(root)) is not None else "edoc"
        if expected_type and expected_type != actual:
            raise Refused(
                "E_HEADER",
                f"header messagetype {expected_type!r} does not match the body ({actual})",
            )
        if self._switch("verify_on_receipt", True):
            try:
                check = dsig.verify(content, self.ctx.clock.now())
            except dsig.PackageRejected as exc:
                raise Refused(exc.code, str(exc)) from None
            signer, algorithm = check.signer, check.algorithm
        else:
            signer, algorithm = "", ""
        header = dsig.header_of(root)
        status = _status_of(header)
        agencies = self.agencies()
        record: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "seq": self._next_seq(),
            "created": self.ctx.clock.now_vn().isoformat(timespec="seconds"),
            "signer": signer,
            "algorithm": algorithm,
            "size": len(content),
            "content": base64.b64encode(content).decode("ascii"),
        }
        if status is not None:
            sender = _text(dsig.child(dsig.child(status, "From"), "OrganId"))
            response = dsig.child(status, "ResponseFor")
            recipients = [_text(dsig.child(response, "OrganId"))]
            code = _text(dsig.child(status, "StatusCode"))
            document_id = _text(dsig.child(response, "DocumentId"))
            about = self._find_document(document_id, recipients[0])
            record.update(
                messagetype="status",
                status_code=code,
                description=_text(dsig.child(status, "Description")),
                document_id=document_id,
                about=about,
                subject=f"status {code}",
            )
        else:
            message = dsig.child(header, "MessageHeader")
            sender = _text(dsig.child(dsig.child(message, "From"), "OrganId"))
            recipients = [_text(dsig.child(to, "OrganId")) for to in dsig.children(message, "To")]
            code_el = dsig.child(message, "Code")
            record.update(
                messagetype="edoc",
                document_id=_text(dsig.child(message, "DocumentId")),
                subject=_text(dsig.child(message, "Subject")),
                code="/".join(
                    part
                    for part in (
                        _text(dsig.child(code_el, "CodeNumber")),
                        _text(dsig.child(code_el, "CodeNotation")),
                    )
                    if part
                ),
                statuses=[],
            )
        if not sender_ok(sender):
            raise Refused("E_SENDER", f"From/OrganId {sender!r} is not an agency of this system")
        recipients = [r for r in recipients if r]
        if not recipients:
            raise Refused("E_RECIPIENT", "the package names no recipient (To/OrganId)")
        missing = [r for r in recipients if r not in agencies]
        if missing:
            raise Refused("E_RECIPIENT", f"recipient {missing[0]} is not registered on the axis")
        record.update(sender=sender, to=recipients, states={r: "initial" for r in recipients})
        self.ctx.store.put(MESSAGES, record["id"], record)
        if record["messagetype"] == "status" and record.get("about"):
            original = self.ctx.store.get(MESSAGES, record["about"])
            if isinstance(original, dict):
                original.setdefault("statuses", []).append(
                    {
                        "from": sender,
                        "code": record["status_code"],
                        "description": record.get("description"),
                        "time": record["created"],
                        "status_id": record["id"],
                    }
                )
                self.ctx.store.put(MESSAGES, original["id"], original)
        return str(record["id"])

    def _find_document(self, document_id: str | None, sender: str | None) -> str | None:
        if not document_id:
            return None
        matches = [
            record
            for _key, record in self.ctx.store.items(MESSAGES)
            if record.get("messagetype") == "edoc"
            and record.get("document_id") == document_id
            and (sender is None or record.get("sender") == sender)
        ]
        if not matches:
            return None
        return str(max(matches, key=lambda r: r.get("seq", 0))["id"])

    def _messages(self) -> list[dict[str, Any]]:
        return sorted(
            (m for _k, m in self.ctx.store.items(MESSAGES)), key=lambda m: m.get("seq", 0)
        )

    def received_list(self, agency: str, messagetype: str | None) -> list[dict[str, Any]]:
        """``getReceivedEdocList`` items (vendor SDK ``Knobstick``): ``docId,
        serviceType, messageType, created_time, updated_time, from, to, status,
        status_desc`` — messages waiting for ``agency`` (``initial``/``processing``)."""
        return [
            {
                "docId": m["id"],
                "serviceType": "eDoc",
                "messageType": m.get("messagetype"),
                "created_time": m.get("created"),
                "updated_time": m.get("updated", m.get("created")),
                "from": m.get("sender"),
                "to": agency,
                "status": m.get("states", {}).get(agency),
                "status_desc": "waiting for the receiver",
            }
            for m in self._messages()
            if agency in m.get("to", [])
            and m.get("states", {}).get(agency) in ("initial", "processing")
            and (messagetype in (None, "", "all") or m.get("messagetype") == messagetype)
        ]

    def sent_list(self, agency: str, messagetype: str | None) -> list[dict[str, Any]]:
        """``getSentEdocList`` items (vendor SDK ``StatusResult``): one per document and
        recipient, **without** ``docId``."""
        items: list[dict[str, Any]] = []
        for m in self._messages():
            if m.get("sender") != agency or (
                messagetype not in (None, "", "all") and m.get("messagetype") != messagetype
            ):
                continue
            for receiver in m.get("to", []):
                latest = next(
                    (e for e in reversed(m.get("statuses", [])) if e.get("from") == receiver),
                    None,
                )
                state = m.get("states", {}).get(receiver)
                items.append(
                    {
                        "serviceType": "eDoc",
                        "messageType": m.get("messagetype"),
                        "senderDocId": m["id"],
                        "receiverDocId": m["id"],
                        "fromCode": agency,
                        "toCode": receiver,
                        "sendStatus": state,
                        "sendStatusDesc": f"transport state at the receiver: {state}",
                        "receiveStatus": latest.get("code") if latest else None,
                        "receiveStatusDesc": latest.get("description") if latest else None,
                        "receivedTime": latest.get("time") if latest else None,
                        "sentTime": m.get("created"),
                        "title": m.get("subject"),
                        "notation": m.get("code"),
                    }
                )
        return items

    def fetch(self, doc_id: str, agency: str) -> bytes:
        record = self.ctx.store.get(MESSAGES, doc_id)
        if not isinstance(record, dict) or (
            agency not in record.get("to", []) and agency != record.get("sender")
        ):
            raise Refused("E_NOT_FOUND", f"no document {doc_id!r} for agency {agency}", 404)
        content = base64.b64decode(record["content"])
        if agency in record.get("to", []):
            content = self._deliver(content, agency, record.get("sender"))
        return content

    def _applies(self, name: str, receiver: str) -> bool:
        value = self._switch(name, False)
        return value is True or value == receiver

    def _deliver(self, content: bytes, receiver: str, sender: str | None) -> bytes:
        """What the receiver gets: the stored package, or the forgery a switch asks for."""
        if self._applies("deliver_tampered", receiver):
            return dsig.tamper(content)
        if self._applies("deliver_unsigned", receiver):
            return dsig.unsign(content)
        if self._applies("deliver_wrong_signer", receiver):
            return dsig.resign(
                content, key_file=PKI_DIR / "rogue.key.pem", cert_file=PKI_DIR / "rogue.cert.pem"
            )
        if self._applies("deliver_expired_cert", receiver):
            return dsig.resign(
                content,
                key_file=PKI_DIR / "expired.key.pem",
                cert_file=PKI_DIR / "expired.cert.pem",
            )
        if self._applies("deliver_sha1", receiver):
            key_file, cert_file = dsig.sender_key(sender)
            return dsig.resign(content, key_file=key_file, cert_file=cert_file, sha1=True)
        return content

    def set_state(self, doc_id: str, agency: str, state: str) -> None:
        if state not in TRANSPORT_STATES:
            raise Refused("E_STATUS", f"status must be one of {', '.join(TRANSPORT_STATES)}")
        record = self.ctx.store.get(MESSAGES, doc_id)
        if not isinstance(record, dict) or agency not in record.get("to", []):
            raise Refused("E_NOT_FOUND", f"no document {doc_id!r} for agency {agency}", 404)
        record.setdefault("states", {})[agency] = state
        record["updated"] = self.ctx.clock.now_vn().isoformat(timespec="seconds")
        self.ctx.store.put(MESSAGES, doc_id, record)

    def register(self, caller: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
        code = str(data.get("code") or "")
        if not _AGENCY_RE.match(code):
            raise Refused("E_AGENCY", f"code {code!r} is not an agency code (NNN.NN.NN.XNN)")
        if code in self.agencies():
            raise Refused("E_AGENCY", f"agency {code} is already registered")
        if not data.get("name"):
            raise Refused("E_AGENCY", "name is required")
        agency = {
            "code": code,
            "name": str(data["name"]),
            "parent": data.get("pcode") or data.get("parent") or (caller or {}).get("code"),
            "email": data.get("mail") or data.get("email"),
            "system_id": (caller or {}).get("system_id"),
            "secret": (caller or {}).get("secret"),
        }
        self.ctx.store.put(AGENCIES, code, agency)
        return self._public(agency)

    # ------------------------------------------------------------------ REST handlers

    async def rest_send(self, request: Request) -> Response:
        caller, fields = self._authenticate(request)  # headers only: before the body
        body = await read_capped(request, self._max_body())
        content = multipart_part(request.headers.get("content-type", ""), body, "file_doc")
        del body
        if content is None:
            raise Refused("E_FORMAT", "sendEdoc takes a multipart body with the part file_doc")
        signed_hash = fields.get("hash-file", "").strip().lower()
        if not signed_hash:
            raise Refused("E_HEADER", "hash-file (SHA-256 of the package) must be signed")
        if signed_hash not in hash_file_forms(content):
            raise Refused("E_HASH", "hash-file does not match the SHA-256 of the file_doc part")
        doc_id = self.receive(
            content,
            sender_ok=lambda code: self._owned(caller, code),
            expected_type=fields.get("messagetype"),
        )
        return _reply(doc_id=doc_id)

    def _received_for(self, caller: dict[str, Any], messagetype: str | None) -> list[Any]:
        agencies = [code for code in self.agencies() if self._owned(caller, code)]
        return [item for code in agencies for item in self.received_list(code, messagetype)]

    async def rest_received(self, request: Request) -> Response:
        caller, fields = self._authenticate(request)
        return _reply(self._received_for(caller, fields.get("messagetype", "edoc")))

    async def rest_sent(self, request: Request) -> Response:
        caller, fields = self._authenticate(request)
        agencies = [code for code in self.agencies() if self._owned(caller, code)]
        kind = fields.get("messagetype", "edoc")
        return _reply([item for code in agencies for item in self.sent_list(code, kind)])

    async def rest_count(self, request: Request) -> Response:
        caller, fields = self._authenticate(request)
        count = len(self._received_for(caller, fields.get("messagetype", "edoc")))
        return JSONResponse({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "count": count})

    async def rest_count_status(self, request: Request) -> Response:
        caller, _fields = self._authenticate(request)
        count = len(self._received_for(caller, "status"))
        return JSONResponse({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "count": count})

    def _owned_recipient(self, caller: dict[str, Any], doc_id: str) -> str:
        record = self.ctx.store.get(MESSAGES, doc_id)
        if isinstance(record, dict):
            for code in [*record.get("to", []), record.get("sender")]:
                if code and self._owned(caller, code):
                    return str(code)
        raise Refused("E_NOT_FOUND", f"no document {doc_id!r} for this system", 404)

    def _doc_id(self, fields: dict[str, str]) -> str:
        doc_id = fields.get("docId") or fields.get("docid") or ""
        if not doc_id:
            raise Refused("E_HEADER", "docId must be signed")
        return doc_id

    async def rest_get(self, request: Request) -> Response:
        caller, fields = self._authenticate(request)
        doc_id = self._doc_id(fields)
        content = self.fetch(doc_id, self._owned_recipient(caller, doc_id))
        return _reply(base64.b64encode(content).decode("ascii"), doc_id=doc_id)

    async def rest_download(self, request: Request) -> Response:
        caller, fields = self._authenticate(request)
        doc_id = self._doc_id(fields)
        content = self.fetch(doc_id, self._owned_recipient(caller, doc_id))
        return Response(content, media_type="application/octet-stream", headers={"DocId": doc_id})

    async def rest_update_status(self, request: Request) -> Response:
        caller, fields = self._authenticate(request)
        doc_id = self._doc_id(fields)
        self.set_state(doc_id, self._owned_recipient(caller, doc_id), fields.get("status", ""))
        return _reply(doc_id=doc_id)

    async def rest_agencies(self, request: Request) -> Response:
        self._authenticate(request)
        return _reply([self._public(a) for a in self.agencies().values()])

    async def rest_sync_units(self, request: Request) -> Response:
        self._authenticate(request)
        return _reply(
            [
                {
                    **self._public(a),
                    "version": 1,
                    "centerCode": a.get("system_id"),
                    "deleted": False,
                    "isAgency": True,
                }
                for a in self.agencies().values()
            ]
        )

    async def rest_register(self, request: Request) -> Response:
        caller, _fields = self._authenticate(request)
        body = await read_capped(request, 64 * 1024)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise Refused("E_AGENCY", "the body must be a JSON object") from None
        if not isinstance(data, dict):
            raise Refused("E_AGENCY", "the body must be a JSON object")
        return _reply(self.register(caller, data))

    async def rest_delete_agency(self, request: Request) -> Response:
        caller, fields = self._authenticate(request)
        code = fields.get("AgencyCode", "")
        if code not in self.agencies() or not self._owned(caller, code):
            raise Refused("E_AGENCY", f"agency {code!r} is not one of this system's")
        self.ctx.store.put(AGENCIES, code, None)
        return _reply()

    # ------------------------------------------------------------------ gateway handlers

    async def gw_list(self, request: Request) -> Response:
        agency = self._gateway_agency(request)
        kind = request.query_params.get("type", "edoc")
        if request.query_params.get("sent") in ("1", "true"):
            return _reply(self.sent_list(agency, kind))
        return _reply(self.received_list(agency, kind))

    async def gw_send(self, request: Request) -> Response:
        body = await self._gateway_body(request)
        agency = self._gateway_agency(request, body)
        try:
            content = base64.b64decode(str(body.get("data", "")), validate=True)
        except binascii.Error:
            raise Refused("E_FORMAT", "data must be the base64 edXML package") from None
        doc_id = self.receive(content, sender_ok=lambda code: code == agency)
        return _reply(doc_id=doc_id)

    async def gw_get(self, request: Request) -> Response:
        agency = self._gateway_agency(request)
        doc_id = request.path_params["doc_id"]
        content = self.fetch(doc_id, agency)
        record = self.ctx.store.get(MESSAGES, doc_id) or {}
        return _reply(
            {
                "docId": doc_id,
                "messagetype": record.get("messagetype"),
                "content": base64.b64encode(content).decode("ascii"),
            },
            doc_id=doc_id,
        )

    async def gw_update(self, request: Request) -> Response:
        body = await self._gateway_body(request)
        agency = self._gateway_agency(request, body)
        status = str(body.get("status", "")).upper()
        if status not in GATEWAY_STATES:
            raise Refused("E_STATUS", f"status must be one of {', '.join(GATEWAY_STATES)}")
        doc_id = request.path_params["doc_id"]
        self.set_state(doc_id, agency, GATEWAY_STATES[status])
        return _reply(doc_id=doc_id)

    async def gw_agencies(self, request: Request) -> Response:
        self._gateway_token(request)
        return _reply([self._public(a) for a in self.agencies().values()])

    # ------------------------------------------------------------------ dashboard

    def summary(self) -> dict[str, Any]:
        messages = self._messages()
        pending: dict[str, int] = {}
        for message in messages:
            for agency, state in message.get("states", {}).items():
                if state in ("initial", "processing"):
                    pending[agency] = pending.get(agency, 0) + 1
        switches = {k: v for k, v in self.ctx.switches(self.name).items() if v not in (False, None)}
        return {
            "documents": sum(1 for m in messages if m.get("messagetype") == "edoc"),
            "status_messages": sum(1 for m in messages if m.get("messagetype") == "status"),
            "pending_by_agency": pending,
            "registered_agencies": len(self.agencies()),
            "active_switches": switches,
            "recent": [
                {
                    "docId": m["id"],
                    "type": m.get("messagetype"),
                    "from": m.get("sender"),
                    "to": m.get("to"),
                    "subject": m.get("subject"),
                    "states": m.get("states"),
                    "statuses": [s.get("code") for s in m.get("statuses", [])],
                    "algorithm": m.get("algorithm"),
                    "created": m.get("created"),
                }
                for m in reversed(messages[-10:])
            ],
        }


def _status_of(header: etree._Element | None) -> etree._Element | None:
    """The status fields: under ``Status``, or under ``MessageHeader`` when it carries a
    ``StatusCode`` (a public Bkav sample does that)."""
    status = dsig.child(header, "Status")
    if status is not None:
        return status
    message = dsig.child(header, "MessageHeader")
    if message is not None and dsig.child(message, "StatusCode") is not None:
        return message
    return None


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def create_platform(ctx: MockContext) -> VdxpPlatform:
    return VdxpPlatform(ctx)
